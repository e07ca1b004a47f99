"""Nacos's gRPC envelope: a `Payload` whose `metadata.type` names the JSON schema of `body.value`.

The protobuf (protocol.md E.1) has two messages and no package:

    message Metadata { string type = 3; string clientIp = 8; map<string,string> headers = 7; }
    message Payload  { Metadata metadata = 2; google.protobuf.Any body = 3; }

The message classes are built here from that description at import time, so there is no generated
module to keep in step with a protoc version. JSON follows Jackson's rules as clients expect them:
null properties are left out, `body.type_url` is ignored on input and sent empty.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson
from google.protobuf import any_pb2, descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.message import DecodeError, Message

from pynacos.server.errors import BadRequest

_FIELD = descriptor_pb2.FieldDescriptorProto


def _build_classes() -> tuple[type[Message], type[Message]]:
    pool = descriptor_pool.DescriptorPool()
    pool.AddSerializedFile(any_pb2.DESCRIPTOR.serialized_pb)
    proto = descriptor_pb2.FileDescriptorProto(
        name="nacos_grpc_service.proto", syntax="proto3", dependency=["google/protobuf/any.proto"]
    )
    metadata = proto.message_type.add(name="Metadata")
    metadata.field.add(name="type", number=3, type=_FIELD.TYPE_STRING, label=_FIELD.LABEL_OPTIONAL)
    metadata.field.add(name="clientIp", number=8, type=_FIELD.TYPE_STRING, label=_FIELD.LABEL_OPTIONAL)
    entry = metadata.nested_type.add(name="HeadersEntry", options=descriptor_pb2.MessageOptions(map_entry=True))
    entry.field.add(name="key", number=1, type=_FIELD.TYPE_STRING, label=_FIELD.LABEL_OPTIONAL)
    entry.field.add(name="value", number=2, type=_FIELD.TYPE_STRING, label=_FIELD.LABEL_OPTIONAL)
    metadata.field.add(
        name="headers",
        number=7,
        type=_FIELD.TYPE_MESSAGE,
        label=_FIELD.LABEL_REPEATED,
        type_name=".Metadata.HeadersEntry",
    )
    payload = proto.message_type.add(name="Payload")
    payload.field.add(
        name="metadata", number=2, type=_FIELD.TYPE_MESSAGE, label=_FIELD.LABEL_OPTIONAL, type_name=".Metadata"
    )
    payload.field.add(
        name="body", number=3, type=_FIELD.TYPE_MESSAGE, label=_FIELD.LABEL_OPTIONAL, type_name=".google.protobuf.Any"
    )
    pool.Add(proto)
    get = message_factory.GetMessageClass
    return get(pool.FindMessageTypeByName("Metadata")), get(pool.FindMessageTypeByName("Payload"))


Metadata, Payload = _build_classes()


class BadPayload(Exception):
    """Not a Payload, or a body that is not a JSON object (answered with errorCode 502)."""


@dataclass
class Incoming:
    """A decoded payload: its type name, JSON body, headers (body's, then metadata's) and self-reported IP."""

    type: str
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)
    client_ip: str = ""


def decode(raw: bytes) -> Incoming:
    try:
        payload: Any = Payload.FromString(raw)
    except DecodeError as exc:
        raise BadPayload(f"not a Payload: {exc}") from None
    return parse(payload)


def parse(payload: Any) -> Incoming:
    """The body's `headers` (Java sends `{}`, Python a copy) merged under the metadata's, which win."""
    kind = payload.metadata.type
    try:
        body = orjson.loads(payload.body.value) if payload.body.value else {}
    except orjson.JSONDecodeError as exc:
        raise BadPayload(str(exc)) from None
    if not isinstance(body, dict):
        raise BadPayload("Invalid request")
    headers = {str(k): str(v) for k, v in (body.get("headers") or {}).items() if v is not None}
    headers.update(payload.metadata.headers)
    return Incoming(kind, body, headers, payload.metadata.clientIp)


def encode(kind: str, body: dict[str, Any], client_ip: str = "") -> Any:
    """A Payload of `kind` with `body` as JSON, null properties dropped (clients reject `null`)."""
    payload: Any = Payload()
    payload.metadata.type = kind
    if client_ip:
        payload.metadata.clientIp = client_ip
    payload.body.value = orjson.dumps({k: v for k, v in body.items() if v is not None})
    return payload


def serialize(payload: Any) -> bytes:
    data: bytes = payload.SerializeToString()
    return data


def text(value: Any) -> str:
    """A JSON string field; Jackson coerces numbers and booleans, and `null` is absent."""
    if value is None:
        return ""
    if isinstance(value, dict | list):
        raise BadRequest("expected a string, not an object or list")
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def flag(value: Any, default: bool) -> bool:
    """A JSON boolean field as Jackson reads one: true/false, their strings in any case, 0/1; `null` is absent."""
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value != 0
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise BadRequest(f"expected true or false, not {str(value)[:32]!r}")
