"""What cluster mode (cluster/distro.py) asks of NamingService: instances held for other nodes, and durable
state re-read from the database another node wrote. Two services on one SQLite database stand for two nodes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from pynacos.server.naming.models import Instance, Service, ServiceKey
from pynacos.server.naming.service import Beat, NamingService
from pynacos.server.settings import Settings
from pynacos.server.storage.engine import open_engine
from pynacos.server.storage.naming import NamingStore

KEY = ServiceKey("public", "DEFAULT_GROUP", "web")
B, C = "node:10.0.0.2:8848", "node:10.0.0.3:8848"


def instance(ip: str, port: int = 80, ephemeral: bool = True, weight: float = 1.0) -> Instance:
    return Instance(ip, port, weight=weight, ephemeral=ephemeral)


@pytest.fixture
async def nodes(tmp_path: Path) -> AsyncIterator[tuple[NamingService, NamingService]]:
    engine = await open_engine(Settings(home=str(tmp_path)))
    one, two = NamingService(NamingStore(engine)), NamingService(NamingStore(engine))
    await one.load()
    await two.load()
    yield one, two
    await engine.dispose()


def addresses(naming: NamingService, key: ServiceKey = KEY) -> dict[str, str | None]:
    service = naming.services.get(key)
    return {} if service is None else {f"{i.ip}:{i.port}": i.owner for i in service.instances.values()}


async def test_a_local_instance_wins_over_a_copy_and_the_first_copy_keeps_its_address(
    nodes: tuple[NamingService, NamingService],
) -> None:
    naming, _ = nodes
    await naming.register(KEY, instance("10.1.0.1"))
    assert await naming.replicate(KEY, B, [instance("10.1.0.1"), instance("10.1.0.2")])
    assert addresses(naming) == {"10.1.0.1:80": None, "10.1.0.2:80": B}
    assert not await naming.replicate(KEY, C, [instance("10.1.0.2")])  # B's copy stays
    assert addresses(naming)["10.1.0.2:80"] == B
    naming.release(B)
    assert addresses(naming) == {"10.1.0.1:80": None}
    assert await naming.replicate(KEY, C, [instance("10.1.0.2")])
    assert addresses(naming)["10.1.0.2:80"] == C
    assert naming.owned_services(C) == {KEY}


async def test_the_same_copy_again_tells_nobody(nodes: tuple[NamingService, NamingService]) -> None:
    naming, _ = nodes
    told: list[ServiceKey] = []
    naming.on_change.append(told.append)
    assert await naming.replicate(KEY, B, [instance("10.1.0.2")])
    assert not await naming.replicate(KEY, B, [instance("10.1.0.2")])
    assert told == [KEY]
    assert await naming.replicate(KEY, B, [instance("10.1.0.2", weight=2.0)])
    assert await naming.replicate(KEY, B, [])
    assert told == [KEY, KEY, KEY] and addresses(naming) == {}


async def test_durable_writes_are_announced_and_ephemeral_ones_are_not(
    nodes: tuple[NamingService, NamingService],
) -> None:
    naming, _ = nodes
    stored: list[ServiceKey] = []
    naming.on_stored.append(stored.append)
    await naming.register(KEY, instance("10.1.0.1"))
    assert stored == []
    db = ServiceKey("public", "DEFAULT_GROUP", "db")
    await naming.register(db, instance("10.2.0.1", 3306, ephemeral=False))
    await naming.update_service(db, 0.5, {"team": "x"}, {"type": "none"})
    await naming.deregister(db, "10.2.0.1", 3306, ephemeral=False)
    assert stored == [db, db, db]


async def test_ephemeral_deregistrations_are_announced_unless_they_are_announcements(
    nodes: tuple[NamingService, NamingService],
) -> None:
    naming, _ = nodes
    announced: list[tuple[ServiceKey, str, int]] = []
    naming.on_deregistered.append(lambda key, ip, port: announced.append((key, ip, port)))
    await naming.register(KEY, instance("10.1.0.1"))
    await naming.deregister(KEY, "10.1.0.1", 80, ephemeral=True)
    await naming.deregister(KEY, "10.1.0.2", 80, ephemeral=True)  # unknown here, maybe known elsewhere
    await naming.deregister(KEY, "10.1.0.3", 80, ephemeral=True, announce=False)
    await naming.deregister(KEY, "10.1.0.4", 80, ephemeral=False)
    assert announced == [(KEY, "10.1.0.1", 80), (KEY, "10.1.0.2", 80)]


async def test_a_reload_takes_what_the_other_node_stored_and_keeps_ephemeral_instances(
    nodes: tuple[NamingService, NamingService],
) -> None:
    one, two = nodes
    await two.register(KEY, instance("10.1.0.9"))
    await one.create_service(Service(KEY, ephemeral=True, protect_threshold=0.3, metadata={"team": "x"}))
    told: list[ServiceKey] = []
    two.on_change.append(told.append)
    assert await two.reload(KEY)
    assert two.services[KEY].metadata == {"team": "x"} and two.services[KEY].protect_threshold == 0.3
    assert addresses(two) == {"10.1.0.9:80": None}
    assert not await two.reload(KEY)  # nothing new: nobody told again
    assert told == [KEY]
    db = ServiceKey("public", "DEFAULT_GROUP", "db")
    await one.register(db, instance("10.2.0.1", 3306, ephemeral=False))
    assert await two.reload(db)
    assert addresses(two, db) == {"10.2.0.1:3306": None}
    await one.deregister(db, "10.2.0.1", 3306, ephemeral=False)
    await one.delete_service(db)
    assert await two.reload_all() == [db]
    assert db not in two.services and KEY in two.services


async def test_a_reload_read_before_a_local_write_does_not_undo_it(
    nodes: tuple[NamingService, NamingService],
) -> None:
    _, two = nodes
    db = ServiceKey("public", "DEFAULT_GROUP", "db")
    load = two.store.load

    async def load_then_write_here() -> list[Service]:
        read = await load()
        await two.register(db, instance("10.2.0.1", 3306, ephemeral=False))  # commits after the read
        return read

    two.store.load = load_then_write_here  # type: ignore[method-assign]
    await two.reload_all()
    assert addresses(two, db) == {"10.2.0.1:3306": None}


async def test_a_beat_on_a_copy_is_passed_on_and_leaves_the_copy_alone(
    nodes: tuple[NamingService, NamingService],
) -> None:
    naming, _ = nodes
    passed: list[tuple[ServiceKey, str | None]] = []
    naming.on_replica_beat.append(lambda key, copy: passed.append((key, copy.owner)))
    await naming.replicate(KEY, B, [Instance("10.1.0.2", 80, healthy=False)])
    assert await naming.beat(KEY, Beat("10.1.0.2", 80, "DEFAULT", None), lambda: instance("x")) == 10200
    assert passed == [(KEY, B)]
    assert not naming.services[KEY].instances[("10.1.0.2", 80, True)].healthy  # the origin decides
