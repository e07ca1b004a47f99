"""Config writes and publish-to-listener latency on a 3-node cluster, beside one node, same database, same run.

Both setups use a fresh database of their own on the same MariaDB (or PostgreSQL with --db postgresql) on
127.0.0.1, auth off. One node: `nacos.standalone=true` on that database. Cluster: three nodes on free
ports with one cluster.conf, the server identity and token secret set as cluster mode requires.

- Write throughput: --writes publishes of distinct configs from --concurrency concurrent clients; on the
  cluster the clients send to the three nodes in turn. Every write is committed before it is answered.
- Push latency: one held long poll (`Long-Pulling-Timeout: 30000`) on the last node; --publishes changes to
  its config, one at a time, sent to the first node (on one node: the same node); time from the publish
  sent to the long poll answered. The poll re-arms with the new md5 at once, as a Nacos client does.

Run: .venv/bin/python bench/cluster_config.py [--db mysql|postgresql] [--writes 2000] [--concurrency 16]
     [--publishes 100]
Prints writes/s and p50/p99 of both figures for one node and for the cluster.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import secrets
import time
import warnings
from collections.abc import Sequence
from pathlib import Path

import httpx
from common import CONTEXT, Server, free_port, md5_hex, median, percentile, temp_home

DB = f"pynacos_bench_cluster_{os.getpid()}"


async def recreate(kind: str, name: str, drop_only: bool = False) -> None:
    if kind == "mysql":
        import asyncmy

        conn = await asyncmy.connect(host="127.0.0.1", port=3306, user="root", password="")
        async with conn.cursor() as cursor:
            with warnings.catch_warnings():  # MariaDB notes a missing database even with IF EXISTS
                warnings.simplefilter("ignore")
                await cursor.execute(f"DROP DATABASE IF EXISTS {name}")
            if not drop_only:
                await cursor.execute(f"CREATE DATABASE {name} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")
        conn.close()
        return
    import asyncpg

    pg = await asyncpg.connect(host="127.0.0.1", port=5432, user="postgres", database="postgres")
    await pg.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    if not drop_only:
        await pg.execute(f"CREATE DATABASE {name}")
    await pg.close()


def database(kind: str, name: str) -> dict[str, str]:
    if kind == "mysql":
        return {
            "spring.sql.init.platform": "mysql",
            "db.url.0": f"jdbc:mysql://127.0.0.1:3306/{name}",
            "db.user.0": "root",
        }
    return {
        "spring.sql.init.platform": "postgresql",
        "db.url.0": f"jdbc:postgresql://127.0.0.1:5432/{name}",
        "db.user.0": "postgres",
    }


def cluster_nodes(root: Path, kind: str, name: str) -> list[Server]:
    ports = [free_port() for _ in range(3)]
    shared = {
        **database(kind, name),
        "nacos.standalone": "false",
        "nacos.inetutils.ip-address": "127.0.0.1",
        "nacos.core.auth.server.identity.key": "X-Bench-Node",
        "nacos.core.auth.server.identity.value": secrets.token_urlsafe(32),
        "nacos.core.auth.plugin.nacos.token.secret.key": base64.b64encode(secrets.token_bytes(32)).decode(),
    }
    nodes = []
    for port in ports:
        home = root / f"node-{port}"
        (home / "conf").mkdir(parents=True)
        (home / "conf" / "cluster.conf").write_text("".join(f"127.0.0.1:{p}\n" for p in ports))
        nodes.append(Server("pynacos", port=port, home=home, properties=shared))
    return nodes


def url(node: Server) -> str:
    return f"http://127.0.0.1:{node.port}{CONTEXT}/v1/cs/configs"


async def writes_per_second(nodes: Sequence[Server], writes: int, concurrency: int) -> float:
    counter = iter(range(writes))

    async def writer(client: httpx.AsyncClient) -> None:
        for i in counter:
            form = {"dataId": f"w-{i}", "group": "DEFAULT_GROUP", "content": f"v{i}"}
            reply = await client.post(url(nodes[i % len(nodes)]), data=form)
            assert reply.text == "true", reply.text

    async with httpx.AsyncClient(timeout=30) as client:
        started = time.perf_counter()
        await asyncio.gather(*(writer(client) for _ in range(concurrency)))
        return writes / (time.perf_counter() - started)


async def push_latencies(publisher: Server, listener: Server, publishes: int) -> list[float]:
    data_id = "pushed"
    async with httpx.AsyncClient(timeout=40) as client:
        content = "v0"
        await client.post(url(publisher), data={"dataId": data_id, "group": "DEFAULT_GROUP", "content": content})
        await asyncio.sleep(3)  # the listener's node has it (at once by notice; 2 s at worst by repair)
        found = []
        for i in range(1, publishes + 1):
            body = {"Listening-Configs": f"{data_id}\x02DEFAULT_GROUP\x02{md5_hex(content)}\x01"}
            poll = asyncio.create_task(
                client.post(url(listener) + "/listener", data=body, headers={"Long-Pulling-Timeout": "30000"})
            )
            await asyncio.sleep(0.05)  # held by then
            content = f"v{i}"
            sent = time.perf_counter()
            await client.post(url(publisher), data={"dataId": data_id, "group": "DEFAULT_GROUP", "content": content})
            answer = await poll
            found.append(time.perf_counter() - sent)
            assert data_id in answer.text, answer.text
    return found


async def measure(nodes: list[Server], args: argparse.Namespace) -> tuple[float, list[float]]:
    rate = await writes_per_second(nodes, args.writes, args.concurrency)
    return rate, await push_latencies(nodes[0], nodes[-1], args.publishes)


def run(label: str, nodes: list[Server], args: argparse.Namespace, name: str) -> None:
    asyncio.run(recreate(args.db, name))
    try:
        for node in nodes:
            node.start(60)
        rate, latencies = asyncio.run(measure(nodes, args))
    finally:
        for node in nodes:
            node.cleanup()
        asyncio.run(recreate(args.db, name, drop_only=True))
    ms = [x * 1000 for x in latencies]
    print(
        f"{label:<10} writes {rate:7.0f}/s   push p50 {median(ms):6.1f} ms  p99 {percentile(ms, 99):6.1f} ms  "
        f"max {max(ms):6.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=("mysql", "postgresql"), default="mysql")
    parser.add_argument("--writes", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--publishes", type=int, default=100)
    args = parser.parse_args()
    print(f"{args.db}, {args.writes} writes from {args.concurrency} clients, {args.publishes} pushes")
    single = Server("pynacos", properties={**database(args.db, DB + "_one"), "nacos.standalone": "true"})
    run("one node", [single], args, DB + "_one")
    with temp_home("bench-cluster-") as root:
        run("3 nodes", cluster_nodes(root, args.db, DB), args, DB)


if __name__ == "__main__":
    main()
