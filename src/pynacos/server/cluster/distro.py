"""Naming across nodes: ephemeral instances replicated from the node that keeps them alive, persistent
naming data re-read from the database (protocol.md F.2.5, F.2.8 items 3-4).

Theory of operation
- A node *originates* its ephemeral instances that no other node sent it: those of its gRPC connections
  and those its HTTP clients beat. Every other node holds a copy under the owner `node:<origin address>`
  (NamingService.replicate), which the beat check leaves alone: the copy lives as long as its origin says.
- A local change (NamingService.on_change) marks the service dirty; after DEBOUNCE the origin's current
  instances of each dirty service go to every reachable peer (`POST /v1/ns/distro/service`), unless they
  equal what was sent last. Changes made by applying another node's data leave the originated set as it
  was, so they are never sent on: no flag is needed to tell them apart.
- Every SNAPSHOT_INTERVAL each node sends all it originates (`POST /v1/ns/distro/snapshot`); the receiver
  replaces that origin's whole set (a service missing from the snapshot is emptied for that origin). So a
  lost message, a peer that restarted, or a copy that lost to a local instance heals within 5 s.
- Each message carries a stamp (origin start time, sequence number); a receiver applies, per origin and
  service, only stamps newer than the last applied, so a late message never overwrites a newer one. A
  start time other than the last one seen means the origin restarted: its stamps start afresh (whichever
  way its clock moved), and its first snapshot replaces what the previous process sent.
- An origin is dropped at once (`release`) when the member list turns it DOWN (a refused connection does
  that within one report round, about 2 s), and when nothing came from it for SILENCE_LIMIT (20 s): a
  partitioned node's instances leave the other side within about 25 s. A peer turning UP again gets this
  node's snapshot at once.
- Persistent instances, services, clusters and overrides are in the database. After a durable write
  commits (NamingService.on_stored) the peers get the service key (`POST /v1/ns/distro/persistent`, retried
  as peers.py retries) and re-read that service; every RELOAD_INTERVAL (10 s) every node re-reads all of
  them, so a lost notice heals within 10 s.

Choices, and why
- No proxying of HTTP writes to a "responsible" node (Nacos's DistroFilter, F.2.6): the node that takes
  the registration originates the instance. A client registered on two nodes is originated by both: each
  of them shows its own (a local instance wins over a copy), a third node shows the first copy it got and
  keeps it until that origin lets go (no ping-pong between copies), then takes the other claim at once. So
  the address is listed once per service on every node.
- A beat that reaches a node holding only a copy is passed to the copy's origin (`POST
  /v1/ns/distro/beat`) instead of refreshing the copy: the origin alone decides when the instance turns
  unhealthy or expires, with every beat counted wherever it landed. Without this a client spreading its
  beats over three nodes would have its origin see a third of them and flap.
- A client's ephemeral deregistration goes to every node (`POST /v1/ns/distro/deregister`, not retried):
  each drops the instance it keeps alive at that address, so a client that beats and deregisters on
  different nodes (the Java 1.x client picks a node per request) is gone everywhere at once, not after the
  30 s beat timeout on the others. A register on another node racing with it may be dropped too; the
  client's next beat (with its beat info) registers it again. Other changes to an instance are replicated
  from its origin only: an ephemeral `PUT /instance` on a node holding a copy changes that copy until the
  origin's next snapshot.
- Messages are POSTed forms with the instances as one JSON field (peers.py sends forms, with per-peer
  coalescing: only the newest message per service is pending); the snapshot, sent by this module, is a
  JSON body. Service messages are not retried: the next snapshot carries the same data. POST everywhere,
  as every node-to-node route here (Nacos has no HTTP equivalent to match: its Distro speaks gRPC).
- Only listed members may send data (the route is Internal: the server identity is checked first).
- A replicated instance is not listed among this node's naming clients (`/v2/ns/client/*`): those show
  the clients connected here.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import json
import logging
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import httpx
from starlette.responses import Response

from pynacos.server import http
from pynacos.server.cluster.members import DOWN, UP, Member
from pynacos.server.errors import BadRequest
from pynacos.server.http import Call, Params
from pynacos.server.naming.models import DEFAULT_CLUSTER, Instance, NamingConflict, ServiceKey
from pynacos.server.naming.service import REPLICA, Beat, NamingService, is_replica
from pynacos.server.storage.outage import report

if TYPE_CHECKING:
    from pynacos.server.cluster import Cluster

log = logging.getLogger("pynacos.cluster")

SERVICE_PATH = "/v1/ns/distro/service"
SNAPSHOT_PATH = "/v1/ns/distro/snapshot"
PERSISTENT_PATH = "/v1/ns/distro/persistent"
DEREGISTER_PATH = "/v1/ns/distro/deregister"
BEAT_PATH = "/v1/ns/distro/beat"
DEBOUNCE = 0.15
SNAPSHOT_INTERVAL = 5.0
SILENCE_LIMIT = 20.0
RELOAD_INTERVAL = 10.0
Stamp = tuple[int, int]
Wire = list[dict[str, Any]]
BeatSlot = tuple[str, ServiceKey, str, int]


def owner_of(origin: str) -> str:
    return REPLICA + origin


def wire(instance: Instance) -> dict[str, Any]:
    """An instance as it travels: every field a receiver needs to rebuild it."""
    return {
        "ip": instance.ip,
        "port": instance.port,
        "clusterName": instance.cluster,
        "weight": instance.weight,
        "healthy": instance.healthy,
        "enabled": instance.enabled,
        "metadata": instance.metadata,
        "instanceId": instance.instance_id,
    }


def unwire(raw: Any) -> Instance:
    """An Instance from `wire` output; BadRequest naming the field when it is malformed."""
    if not isinstance(raw, dict):
        raise BadRequest("every instance must be a JSON object")
    ip, port, cluster = raw.get("ip"), raw.get("port"), raw.get("clusterName")
    weight, metadata, instance_id = raw.get("weight"), raw.get("metadata"), raw.get("instanceId")
    healthy, enabled = raw.get("healthy"), raw.get("enabled")
    if not (isinstance(ip, str) and ip):
        raise _malformed("ip")
    if not (isinstance(port, int) and not isinstance(port, bool) and 0 <= port < 65536):
        raise _malformed("port")
    if not (isinstance(cluster, str) and cluster):
        raise _malformed("clusterName")
    if not (isinstance(weight, int | float) and not isinstance(weight, bool)):
        raise _malformed("weight")
    if not (isinstance(healthy, bool) and isinstance(enabled, bool)):
        raise _malformed("healthy/enabled")
    if not (isinstance(metadata, dict) and all(isinstance(v, str) for v in metadata.values())):
        raise _malformed("metadata")
    if not (instance_id is None or isinstance(instance_id, str)):
        raise _malformed("instanceId")
    return Instance(ip, port, cluster, float(weight), healthy, enabled, True, dict(metadata), instance_id)


def _malformed(field: str) -> BadRequest:
    return BadRequest(f"instance field '{field}' is missing or malformed")


def _instances(raw: Any) -> list[Instance]:
    if not isinstance(raw, list):
        raise BadRequest("instances must be a JSON array")
    return [unwire(item) for item in raw]


def _key_of(source: Params | dict[str, Any]) -> ServiceKey:
    parts = [source.get(name) for name in ("namespaceId", "groupName", "serviceName")]
    if not all(isinstance(part, str) and part for part in parts):
        raise BadRequest("namespaceId, groupName and serviceName are required")
    return ServiceKey(*(str(part) for part in parts))


def _stamp(epoch: Any, seq: Any) -> Stamp:
    try:
        return int(epoch), int(seq)
    except (TypeError, ValueError):
        raise BadRequest("epoch and seq must be integers") from None


class Distro:
    """This node's side of naming replication: what it sends, what it applies, when it lets go."""

    def __init__(self, naming: NamingService, cluster: Cluster) -> None:
        self.naming = naming
        self.members = cluster.members
        self.peers = cluster.peers
        self.origin = self.members.self_address
        self.epoch = self.members.started_ms
        self._seq = itertools.count(1)
        self._dirty: set[ServiceKey] = set()
        self._flush_at: asyncio.TimerHandle | None = None
        #: what was last sent per service (so an unchanged set is not sent again)
        self._sent: dict[ServiceKey, Wire] = {}
        #: per origin: the stamp last applied and the instances it claims, per service
        self._stamps: dict[str, dict[ServiceKey, Stamp]] = {}
        self._claims: dict[str, dict[ServiceKey, Wire]] = {}
        #: per origin: how many times it was let go (a message that arrived before a release is not applied)
        self._generations: dict[str, int] = {}
        #: per origin: the start time (epoch) of its last message
        self._epochs: dict[str, int] = {}
        #: per origin: when its last message came (monotonic seconds)
        self._heard: dict[str, float] = {}
        self.clock = time.monotonic
        self._tasks: set[asyncio.Task[Any]] = set()
        #: beats being passed on: (origin, service, ip, port)
        self._forwarding: set[BeatSlot] = set()
        #: snapshots on their way, by member address
        self._snapshots: dict[str, asyncio.Task[None]] = {}
        naming.on_change.append(self.changed)
        naming.on_stored.append(self.stored)
        naming.on_deregistered.append(self.deregistered)
        naming.on_replica_beat.append(self.replica_beaten)
        self.members.on_state_change(self.member_changed)
        cluster.internal_route(SERVICE_PATH, self.receive_service)
        cluster.internal_route(SNAPSHOT_PATH, self.receive_snapshot)
        cluster.internal_route(PERSISTENT_PATH, self.receive_persistent)
        cluster.internal_route(DEREGISTER_PATH, self.receive_deregister)
        cluster.internal_route(BEAT_PATH, self.receive_beat)

    # -- sending ------------------------------------------------------------------------------------

    def changed(self, key: ServiceKey) -> None:
        """`NamingService.on_change`: send the service's originated set after DEBOUNCE."""
        self._dirty.add(key)
        if self._flush_at is None:
            self._flush_at = asyncio.get_running_loop().call_later(DEBOUNCE, self.flush)

    def flush(self) -> None:
        self._flush_at = None
        dirty, self._dirty = self._dirty, set()
        for key in dirty:
            instances = self.originated(key)
            if instances == self._sent.get(key, []):
                continue
            form = {**self._stamp_form(), **_key_form(key), "instances": json.dumps(instances)}
            self.peers.send(SERVICE_PATH, form, key=f"distro {_key_text(key)}", retry=False)
            if instances:
                self._sent[key] = instances
            else:
                self._sent.pop(key, None)

    def originated(self, key: ServiceKey) -> Wire:
        """The service's ephemeral instances this node keeps alive, as clients see them (overrides in)."""
        service = self.naming.services.get(key)
        if service is None:
            return []
        mine = [i for i in service.instances.values() if i.ephemeral and not is_replica(i.owner)]
        return sorted((wire(self.naming.effective(service, i)) for i in mine), key=lambda w: (w["ip"], w["port"]))

    def snapshot(self) -> dict[str, Any]:
        services = []
        for key in list(self.naming.services):
            instances = self.originated(key)
            if instances:
                services.append({**_key_form(key), "instances": instances})
        return {**self._stamp_form(), "services": services}

    def _stamp_form(self) -> dict[str, str]:
        return {"origin": self.origin, "epoch": str(self.epoch), "seq": str(next(self._seq))}

    def send_snapshot(self, members: Iterable[Member]) -> None:
        """This node's snapshot to each of `members` in the background; a member whose previous snapshot is
        still on its way (a slow peer: up to the 3 s answer timeout) is skipped this round."""
        body: dict[str, Any] | None = None
        for member in members:
            if member.address in self._snapshots:
                continue
            body = body or self.snapshot()
            task = asyncio.get_running_loop().create_task(self._post_snapshot(member, body))
            self._snapshots[member.address] = task
            task.add_done_callback(functools.partial(self._snapshot_done, member.address))

    def _snapshot_done(self, address: str, task: asyncio.Task[None]) -> None:
        if self._snapshots.get(address) is task:
            del self._snapshots[address]

    async def _post_snapshot(self, member: Member, body: dict[str, Any]) -> None:
        try:
            response = await self.peers.post(member, SNAPSHOT_PATH, body=body)
        except httpx.HTTPError as exc:
            log.debug("naming snapshot to %s failed: %s", member.address, exc.__class__.__name__)
            return
        if response.status_code != 200:
            self.peers.problems.log(
                logging.WARNING,
                (member.address, SNAPSHOT_PATH, response.status_code),
                "member %s answered %d to the naming snapshot",
                member.address,
                response.status_code,
            )

    def stored(self, key: ServiceKey) -> None:
        """`NamingService.on_stored`: a durable write committed here; the peers re-read the service."""
        self.peers.send(PERSISTENT_PATH, _key_form(key), key=f"naming {_key_text(key)}")

    def deregistered(self, key: ServiceKey, ip: str, port: int) -> None:
        """`NamingService.on_deregistered`: every node drops its own instance at the address."""
        form = {"origin": self.origin, **_key_form(key), "ip": ip, "port": str(port)}
        self.peers.send(DEREGISTER_PATH, form, key=f"deregister {_key_text(key)} {ip}:{port}", retry=False)

    def replica_beaten(self, key: ServiceKey, copy: Instance) -> None:
        """`NamingService.on_replica_beat`: a client beat the copy held here; its origin gets the beat (one
        at a time per instance: beats come every 5 s, so one lost or skipped changes nothing)."""
        origin = (copy.owner or "")[len(REPLICA) :]
        member = self.members.get(origin)
        slot = (origin, key, copy.ip, copy.port)
        if member is None or member.state == DOWN or slot in self._forwarding:
            return
        self._forwarding.add(slot)
        form = {"origin": self.origin, **_key_form(key), "ip": copy.ip, "port": str(copy.port)}
        form["clusterName"] = copy.cluster
        self._spawn(self._forward_beat(member, form, slot))

    async def _forward_beat(self, member: Member, form: dict[str, str], slot: BeatSlot) -> None:
        try:
            await self.peers.post(member, BEAT_PATH, data=form)
        except httpx.HTTPError as exc:
            log.debug("passing a beat on to %s failed: %s", member.address, exc.__class__.__name__)
        finally:
            self._forwarding.discard(slot)

    # -- receiving ----------------------------------------------------------------------------------

    async def receive_service(self, call: Call) -> Response:
        params = call.params
        origin = self._sender(params.required("origin"))
        stamp = _stamp(params.required("epoch"), params.required("seq"))
        key = _key_of(params)
        instances = _parse_json(params.required("instances"))
        _instances(instances)  # checked whole before anything is applied
        generation = self._heard_from(origin, stamp)
        await self._apply(origin, generation, key, stamp, instances)
        return http.text("true")

    async def receive_snapshot(self, call: Call) -> Response:
        body = _parse_json((await call.http_request.body()).decode("utf-8", "replace"))
        if not isinstance(body, dict) or not isinstance(body.get("services"), list):
            raise BadRequest("a snapshot is a JSON object with a `services` array")
        origin = self._sender(body.get("origin"))
        stamp = _stamp(body.get("epoch"), body.get("seq"))
        claimed: dict[ServiceKey, Wire] = {}
        for item in body["services"]:
            if not isinstance(item, dict):
                raise BadRequest("every service of a snapshot must be a JSON object")
            _instances(item.get("instances"))
            claimed[_key_of(item)] = item["instances"]
        generation = self._heard_from(origin, stamp)
        held = self.naming.owned_services(owner_of(origin)) | self._claims.get(origin, {}).keys()
        for key in sorted(claimed.keys() | held):
            await self._apply(origin, generation, key, stamp, claimed.get(key, []))
        return http.text("true")

    async def receive_persistent(self, call: Call) -> Response:
        await self.naming.reload(_key_of(call.params))
        return http.text("true")

    async def receive_deregister(self, call: Call) -> Response:
        """A client deregistered on another node: the instance this node keeps alive at the address goes
        (a copy stays: its origin got the same message and will say so)."""
        params = call.params
        self._sender(params.required("origin"))
        key, ip = _key_of(params), params.required("ip")
        port = params.integer("port")
        service = self.naming.services.get(key)
        holder = service.instances.get((ip, port, True)) if service is not None else None
        if holder is not None and not is_replica(holder.owner):
            await self.naming.deregister(key, ip, port, ephemeral=True, announce=False)
        return http.text("true")

    async def receive_beat(self, call: Call) -> Response:
        """A client beat this node's instance on another node (which holds a copy): as if it beat here."""
        params = call.params
        self._sender(params.required("origin"))
        key, ip, port = _key_of(params), params.required("ip"), params.integer("port")
        beat = Beat(ip, port, params.text("clusterName", DEFAULT_CLUSTER), None)
        code = await self.naming.beat(key, beat, _no_instance)
        return http.text("true" if code == 10200 else "unknown")

    def _sender(self, origin: Any) -> str:
        member = self.members.get(origin) if isinstance(origin, str) else None
        if member is None or origin == self.origin:
            raise BadRequest(f"origin '{str(origin)[:80]}' is not another member of this node's cluster")
        return str(origin)

    def _heard_from(self, origin: str, stamp: Stamp) -> int:
        """Note that `origin` is alive; a new start time means it restarted: its old stamps no longer count.
        Returns the origin's generation: a message is applied only while no release came after it arrived."""
        self._heard[origin] = self.clock()
        if self._epochs.get(origin) != stamp[0]:
            self._epochs[origin] = stamp[0]
            self._stamps.pop(origin, None)
        return self._generations.get(origin, 0)

    async def _apply(self, origin: str, generation: int, key: ServiceKey, stamp: Stamp, instances: Wire) -> None:
        """Apply one origin's instances of one service unless a newer stamp was applied already, or the
        origin was let go since the message arrived (it died while its snapshot was being applied)."""
        if self._generations.get(origin, 0) != generation:
            return
        stamps = self._stamps.setdefault(origin, {})
        if stamps.get(key, (0, 0)) >= stamp:
            return
        stamps[key] = stamp
        claims = self._claims.setdefault(origin, {})
        if instances:
            claims[key] = instances
        else:
            claims.pop(key, None)
        await self._replicate(origin, generation, key, instances)

    async def _replicate(self, origin: str, generation: int, key: ServiceKey, instances: Wire) -> None:
        try:
            await self.naming.replicate(key, owner_of(origin), _instances(instances))
        except NamingConflict:
            self.peers.problems.log(
                logging.WARNING,
                ("distro conflict", origin, key),
                "member %s has ephemeral instances in %s, which is persistent here: not shown on this node",
                origin,
                _key_text(key),
            )
        if self._generations.get(origin, 0) != generation:  # let go of while this waited for the lock
            self.naming.release(owner_of(origin))

    # -- letting go ---------------------------------------------------------------------------------

    def member_changed(self, member: Member, old: str, new: str) -> None:
        """DOWN: its instances go at once. UP again after DOWN: it gets this node's snapshot at once."""
        if new == DOWN:
            self.release(member.address, "it is DOWN")
        elif new == UP and old == DOWN:
            self.send_snapshot([member])

    def release(self, origin: str, why: str) -> None:
        """Drop every instance `origin` sent; addresses another origin also claims go to that one."""
        keys = self.naming.owned_services(owner_of(origin))
        self.naming.release(owner_of(origin))
        self._generations[origin] = self._generations.get(origin, 0) + 1
        self._stamps.pop(origin, None)
        self._claims.pop(origin, None)
        self._heard.pop(origin, None)
        self._epochs.pop(origin, None)
        if keys:
            log.warning("instances from member %s removed from %d services: %s", origin, len(keys), why)
            self._spawn(self._reclaim(keys))

    async def _reclaim(self, keys: set[ServiceKey]) -> None:
        for origin, claims in list(self._claims.items()):
            for key in keys & claims.keys():
                await self._replicate(origin, self._generations.get(origin, 0), key, claims[key])

    def release_silent(self) -> None:
        now = self.clock()
        for origin, heard in list(self._heard.items()):
            if now - heard > SILENCE_LIMIT:
                self.release(origin, f"nothing came from it for {SILENCE_LIMIT:.0f} s")

    # -- the loops ----------------------------------------------------------------------------------

    async def run_forever(self) -> None:
        """Snapshots, the silence check and the database reload, until cancelled."""
        self._spawn(self.reload_forever())
        try:
            while True:
                self.send_snapshot(self.members.reachable_peers())
                self.release_silent()
                await asyncio.sleep(SNAPSHOT_INTERVAL)
        finally:
            for task in [*self._tasks, *self._snapshots.values()]:
                task.cancel()
            if self._flush_at is not None:
                self._flush_at.cancel()

    async def reload_forever(self) -> None:
        while True:
            await asyncio.sleep(RELOAD_INTERVAL)
            try:
                changed = await self.naming.reload_all()
            except Exception as exc:
                if not report(self.naming.store.engine, exc, "re-reading naming data other nodes stored"):
                    log.exception("re-reading naming data other nodes stored failed")
                continue
            if changed:
                log.info("the periodic naming reload found %d services changed by other nodes", len(changed))

    def _spawn(self, work: Any) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


def _no_instance() -> Instance:
    raise AssertionError("a beat without beat info never registers")


def _key_form(key: ServiceKey) -> dict[str, str]:
    return {"namespaceId": key.namespace, "groupName": key.group, "serviceName": key.name}


def _key_text(key: ServiceKey) -> str:
    return f"{key.namespace}/{key.grouped}"


def _parse_json(raw: str) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        raise BadRequest("the body is not valid JSON") from None
