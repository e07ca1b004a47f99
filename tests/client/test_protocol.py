"""_protocol: every request built and every reply parsed, with plain bytes (no server, no httpx)."""

from __future__ import annotations

import hashlib
import json

import pytest

from pynacos.client import (
    BadRequest,
    Conflict,
    Forbidden,
    Instance,
    NotFound,
    ServerError,
    Unauthenticated,
)
from pynacos.client import _protocol as p

SPRING_403 = b'{"timestamp":"2025-03-11T16:00:00.000+08:00","status":403,"error":"Forbidden","message":"token expired!","path":"/nacos/v1/cs/configs"}'


def reply(status: int, body: bytes | str = b"", **headers: str) -> p.Reply:
    raw = body.encode() if isinstance(body, str) else body
    return p.Reply(status, {k.replace("_", "-").lower(): v for k, v in headers.items()}, raw)


def test_config_get_names_the_tenant_only_outside_the_public_namespace() -> None:
    assert p.config_get("", "app.yaml", "DEFAULT_GROUP") == p.Request(
        "GET", "/v1/cs/configs", {"dataId": "app.yaml", "group": "DEFAULT_GROUP"}
    )
    assert p.config_get("dev", "a", "g").params == {"dataId": "a", "group": "g", "tenant": "dev"}


@pytest.mark.parametrize(("data_id", "group"), [("", "g"), ("a", "")])
def test_empty_data_id_or_group_is_refused_before_sending(data_id: str, group: str) -> None:
    with pytest.raises(BadRequest):
        p.config_get("", data_id, group)


def test_config_get_reads_content_md5_and_type_from_the_reply() -> None:
    value = p.parse_config_get(reply(200, "k: v", content_md5="abc", config_type="yaml"))
    assert value == p.ConfigValue("k: v", "abc", "yaml")


def test_config_get_computes_the_md5_when_the_server_sends_none() -> None:
    value = p.parse_config_get(reply(200, "héllo"))
    assert value is not None
    assert value.md5 == hashlib.md5("héllo".encode()).hexdigest()
    assert value.type == "text"


def test_config_get_404_means_absent() -> None:
    assert p.parse_config_get(reply(404, "config data not exist\n")) is None


def test_spring_error_json_gives_its_message() -> None:
    assert p.message_of(reply(403, SPRING_403)) == "token expired!"
    assert p.message_of(reply(403, "user not found!")) == "user not found!"
    assert p.message_of(reply(500, "{not json")) == "{not json"


@pytest.mark.parametrize(
    ("status", "body", "kind"),
    [
        (403, SPRING_403, Unauthenticated),
        (401, "session expired!", Unauthenticated),
        (403, '{"status":403,"message":"authorization failed!"}', Forbidden),
        (400, "caused: invalid dataId : a b;", BadRequest),
        (404, "no ips found", NotFound),
        (409, "busy", Conflict),
        (500, "caused: Cas publish fail, server md5 may have changed.;", Conflict),
        (500, "caused: boom;", ServerError),
        (502, "", ServerError),
    ],
)
def test_error_replies_map_onto_the_exception_tree(status: int, body: str | bytes, kind: type[Exception]) -> None:
    error = p.error_for(reply(status, body))
    assert type(error) is kind
    assert error.code == status


def test_forbidden_says_what_to_do() -> None:
    error = p.error_for(reply(403, '{"message":"authorization failed!"}'))
    assert "permission" in str(error)


def test_an_error_without_a_body_names_the_status() -> None:
    assert str(p.error_for(reply(502))) == "HTTP 502"


def test_config_get_raises_for_errors() -> None:
    with pytest.raises(Unauthenticated, match="token expired!"):
        p.parse_config_get(reply(403, SPRING_403))


def test_publish_is_form_encoded_with_type_and_cas_header() -> None:
    request = p.config_publish("dev", "a", "g", "x=1", type="properties", cas_md5="m5")
    assert request.method == "POST" and request.path == "/v1/cs/configs"
    assert request.data == {"dataId": "a", "group": "g", "tenant": "dev", "content": "x=1", "type": "properties"}
    assert request.headers == {"casMd5": "m5"}
    assert request.params == {}


def test_publish_without_type_or_cas_sends_neither() -> None:
    request = p.config_publish("", "a", "g", "x")
    assert request.data is not None and "type" not in request.data
    assert request.headers == {}


def test_publish_and_delete_answer_true() -> None:
    assert p.parse_true(reply(200, "true")) is True
    assert p.parse_true(reply(200, "false")) is False
    with pytest.raises(Conflict):
        p.parse_true(reply(500, "caused: Cas publish fail, server md5 may have changed.;"))


def test_remove_uses_query_parameters() -> None:
    request = p.config_remove("", "a", "g")
    assert (request.method, request.params, request.data) == ("DELETE", {"dataId": "a", "group": "g"}, None)


def test_listener_request_holds_for_the_long_poll_timeout() -> None:
    request = p.config_listen("a\x02g\x02\x02\x01", 30000)
    assert request.data == {"Listening-Configs": "a\x02g\x02\x02\x01"}
    assert request.headers == {"Long-Pulling-Timeout": "30000"}
    assert request.extra_timeout == 30.0
    no_hangup = p.config_listen("x", 30000, no_hangup=True)
    assert no_hangup.headers["Long-Pulling-Timeout-No-Hangup"] == "true"


def test_fail_over_on_5xx_but_not_on_answers() -> None:
    assert p.fails_over(reply(500, "caused: boom;"))
    assert p.fails_over(reply(503, "server is STARTING now"))
    assert not p.fails_over(reply(500, "caused: Cas publish fail, server md5 may have changed.;"))
    assert not p.fails_over(reply(403, SPRING_403))
    assert not p.fails_over(reply(404))
    assert p.retries_later(reply(503)) and not p.retries_later(reply(500))


def test_token_goes_in_a_bearer_header_never_the_url() -> None:
    request = p.config_get("", "a", "g").with_token("t0k")
    assert request.headers == {"Authorization": "Bearer t0k"}
    assert "accessToken" not in request.params
    assert p.config_get("", "a", "g").with_token(None).headers == {}


def test_url_joins_address_context_and_path() -> None:
    assert p.url("10.0.0.1:8848", "/nacos", "/v1/cs/configs") == "http://10.0.0.1:8848/nacos/v1/cs/configs"
    assert p.url("https://n.example:443", "", "/v1/x") == "https://n.example:443/v1/x"


def test_register_sends_every_field_form_encoded() -> None:
    instance = Instance(
        "10.0.0.5", 8080, 2.5, ephemeral=False, cluster_name="c1", service_name="demo", metadata={"k": "v"}
    )
    request = p.register("dev", "G", instance)
    assert request.method == "POST" and request.path == "/v1/ns/instance"
    assert request.data == {
        "serviceName": "demo",
        "groupName": "G",
        "namespaceId": "dev",
        "ip": "10.0.0.5",
        "port": "8080",
        "weight": "2.5",
        "clusterName": "c1",
        "ephemeral": "false",
        "enabled": "true",
        "enable": "true",
        "healthy": "true",
        "metadata": '{"k":"v"}',
    }


def test_deregister_and_list_use_query_parameters() -> None:
    request = p.deregister("", "DEFAULT_GROUP", "demo", "10.0.0.5", 8080, "DEFAULT", True)
    assert request.method == "DELETE"
    assert request.params == {
        "serviceName": "demo",
        "groupName": "DEFAULT_GROUP",
        "ip": "10.0.0.5",
        "port": "8080",
        "clusterName": "DEFAULT",
        "ephemeral": "true",
    }
    listing = p.instance_list("ns", "G", "demo", "c1,c2", healthy_only=True)
    assert listing.params == {
        "serviceName": "demo",
        "groupName": "G",
        "namespaceId": "ns",
        "healthyOnly": "true",
        "clusters": "c1,c2",
    }
    with pytest.raises(BadRequest):
        p.instance_list("", "G", "")


LIST_BODY = {
    "name": "DEFAULT_GROUP@@demo",
    "groupName": "DEFAULT_GROUP",
    "clusters": "",
    "cacheMillis": 10000,
    "hosts": [
        {
            "instanceId": "10.0.0.5#8080#DEFAULT#DEFAULT_GROUP@@demo",
            "ip": "10.0.0.5",
            "port": 8080,
            "weight": 1.0,
            "healthy": True,
            "enabled": True,
            "ephemeral": True,
            "clusterName": "DEFAULT",
            "serviceName": "DEFAULT_GROUP@@demo",
            "metadata": {"k": "v"},
            "instanceHeartBeatInterval": 5000,
        },
        {"ip": "10.0.0.6", "port": 9090, "healthy": False, "metadata": None},
        "junk",
    ],
    "lastRefTime": 1700000000000,
    "checksum": "",
    "allIPs": False,
    "reachProtectionThreshold": True,
    "valid": True,
}


def test_instance_list_json_becomes_typed_instances() -> None:
    result = p.parse_instance_list(reply(200, json.dumps(LIST_BODY)))
    assert result.name == "DEFAULT_GROUP@@demo" and result.group_name == "DEFAULT_GROUP"
    assert result.last_ref_time == 1700000000000 and result.reach_protection_threshold
    first, second = result.hosts
    assert first == Instance(
        "10.0.0.5",
        8080,
        1.0,
        True,
        True,
        True,
        "DEFAULT",
        "DEFAULT_GROUP@@demo",
        "10.0.0.5#8080#DEFAULT#DEFAULT_GROUP@@demo",
        {"k": "v"},
    )
    assert first.address == "10.0.0.5:8080"
    assert (second.healthy, second.cluster_name, second.metadata, second.instance_id) == (False, "DEFAULT", {}, "")


@pytest.mark.parametrize("body", [b"ok", b"[1, 2]"])
def test_a_list_reply_that_is_not_a_json_object_is_a_server_error(body: bytes) -> None:
    with pytest.raises(ServerError, match="expected"):
        p.parse_instance_list(reply(200, body))


def test_beat_carries_the_beat_json_and_the_grouped_name() -> None:
    instance = Instance("10.0.0.5", 8080, 3.0, cluster_name="c1", service_name="demo", metadata={"a": "b"})
    request = p.beat("dev", "G", instance)
    assert request.method == "PUT" and request.path == "/v1/ns/instance/beat"
    assert request.params == {
        "serviceName": "G@@demo",
        "groupName": "G",
        "namespaceId": "dev",
        "clusterName": "c1",
        "ip": "10.0.0.5",
        "port": "8080",
    }
    assert request.data is not None
    assert json.loads(request.data["beat"]) == {
        "serviceName": "G@@demo",
        "ip": "10.0.0.5",
        "port": 8080,
        "cluster": "c1",
        "weight": 3.0,
        "ephemeral": True,
        "metadata": {"a": "b"},
    }


def test_beat_reply_codes() -> None:
    known = p.parse_beat(reply(200, '{"clientBeatInterval":5000,"code":10200,"lightBeatEnabled":true}'))
    assert (known.interval_ms, known.found, known.light_beat) == (5000, True, True)
    lost = p.parse_beat(reply(200, '{"clientBeatInterval":500,"code":20404,"lightBeatEnabled":false}'))
    assert (lost.interval_ms, lost.found) == (500, False)
    assert p.parse_beat(reply(200, "{}")).interval_ms == 5000
    assert p.parse_beat(reply(200, '{"clientBeatInterval":1}')).interval_ms == 100


def test_register_and_deregister_answer_ok() -> None:
    assert p.parse_ok(reply(200, "ok"))
    assert not p.parse_ok(reply(200, "nope"))
    with pytest.raises(BadRequest):
        p.parse_ok(reply(400, "Param 'ip' is required."))


def test_json_without_a_message_is_shown_as_is() -> None:
    assert p.message_of(reply(500, '{"code":500}')) == '{"code":500}'


def test_instance_list_without_clusters_asks_for_all() -> None:
    assert "clusters" not in p.instance_list("", "G", "demo").params


def test_a_404_in_springs_json_is_a_wrong_path_not_a_deleted_config() -> None:
    assert p.parse_config_get(reply(404, "config data not exist\n")) is None
    with pytest.raises(NotFound):
        p.parse_config_get(reply(404, b'{"status":404,"error":"Not Found","path":"/x"}'))


def test_a_blank_cas_md5_is_refused_not_sent() -> None:
    with pytest.raises(ValueError, match="cas_md5 is blank"):
        p.config_publish("", "d", "g", "c", cas_md5=" ")
