"""The scenarios of issue 7, each run against one started system (ECHO, bare Channels, raw)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

from . import load
from .load import Client, Ledger, Room
from .meter import Meter, per_thousand
from .system import ProcStats, System, count_rows


@dataclass(frozen=True)
class Sizes:
    paced_orders: int
    paced_interval: float
    paced_duration: float
    rate_orders: int
    rate_steps: tuple[int, ...]
    rate_step_s: float
    fan_rooms: int
    fan_members: int
    fan_senders: int
    fan_per_sender: int
    idle_connections: int
    idle_hold_s: float
    resume_clients: int
    resume_behind: int
    # churn: every round opens churn_sockets sockets (two parties of churn_sockets / 2 orders),
    # drops them (half with a close frame, half by cutting the TCP connection) and waits out
    # churn_round_s; RSS is read at the end of each round.
    churn_sockets: int
    churn_round_s: float
    churn_rounds: int
    rest_clients: tuple[int, ...] = (8, 32, 64)
    rest_seconds: float = 30.0
    rest_orders: int = 60  # per client: a full page of 50 to list
    # efficiency (`two`, per process count) and shards: a paced load of eff_rate messages/s over
    # eff_orders 2-party orders for eff_duration s; more than two processes run at
    # eff_rate * eff_low_fraction (and one process again at that rate, to compare with).
    eff_orders: int = 1000
    eff_rate: float = 300.0
    eff_duration: float = 30.0
    eff_low_fraction: float = 0.5
    # before the load: every socket connected and quiet for this long, its CPU measured alike
    # (what the processes, PostgreSQL and Redis spend with nothing to deliver)
    eff_idle_s: float = 5.0


FULL = Sizes(
    paced_orders=500, paced_interval=2.0, paced_duration=60.0,
    rate_orders=1000,
    rate_steps=(100, 200, 300, 500, 750, 1000, 1250, 1500, 1750, 2000, 2500, 3000),
    rate_step_s=6.0,
    fan_rooms=10, fan_members=50, fan_senders=5, fan_per_sender=20,
    idle_connections=5000, idle_hold_s=5.0,
    resume_clients=500, resume_behind=50,
    churn_sockets=2000, churn_round_s=20.0, churn_rounds=15,
    eff_orders=1000, eff_rate=300.0, eff_duration=30.0,
)  # fmt: skip
QUICK = Sizes(
    paced_orders=50, paced_interval=2.0, paced_duration=10.0,
    rate_orders=200, rate_steps=(100, 200, 300, 400, 600), rate_step_s=4.0,
    fan_rooms=3, fan_members=12, fan_senders=4, fan_per_sender=10,
    idle_connections=400, idle_hold_s=2.0,
    resume_clients=100, resume_behind=50,
    rest_clients=(8, 32), rest_seconds=10.0,
    churn_sockets=1000, churn_round_s=10.0, churn_rounds=6,
    eff_orders=200, eff_rate=100.0, eff_duration=10.0, eff_idle_s=3.0,
)  # fmt: skip
TINY = Sizes(
    paced_orders=10, paced_interval=1.0, paced_duration=4.0,
    rate_orders=10, rate_steps=(20,), rate_step_s=2.0,
    fan_rooms=2, fan_members=6, fan_senders=3, fan_per_sender=5,
    idle_connections=40, idle_hold_s=0.5,
    resume_clients=10, resume_behind=20,
    rest_clients=(4, 32), rest_seconds=3.0,
    churn_sockets=800, churn_round_s=2.0, churn_rounds=6,
    eff_orders=8, eff_rate=8.0, eff_duration=3.0, eff_idle_s=1.0,
)  # fmt: skip

# Churn: the process's RSS at the end of the last round may exceed its RSS at the end of the
# first by at most this fraction (issue 24: "settles within 10% of its level after the first").
CHURN_SETTLE_FRACTION = 0.10

# ECHO allows 20 messages per 10 s per user (over all of the user's sockets); each paced sender
# is a user of its own and stays under it.
ECHO_MAX_RATE_PER_CONNECTION = 1.6
P99_LIMIT_MS = 100.0


def order_rooms(plan: dict[str, Any], count: int, system: System) -> list[Room]:
    orders = plan["orders"][:count]
    if len(orders) < count:
        raise RuntimeError(f"the plan has {len(plan['orders'])} orders, the scenario needs {count}")
    rooms = []
    for i, order in enumerate(orders):
        if system.kind == "echo":
            rooms.append(
                Room(f"o{order['id']}", f"/ws/orders/{order['id']}/", order["tokens"], [0, 1])
            )
        else:
            rooms.append(Room(f"r{i}", f"/ws/room/{i}/", [None, None], [0, 1]))
    return rooms


def dispute_rooms(plan: dict[str, Any], sizes: Sizes, system: System) -> list[Room]:
    rooms = []
    for i, dispute in enumerate(plan["disputes"][: sizes.fan_rooms]):
        tokens = dispute["tokens"][: sizes.fan_members]
        senders = dispute_senders(i, len(tokens), sizes)
        if system.kind == "echo":
            rooms.append(
                Room(f"d{dispute['id']}", f"/ws/disputes/{dispute['id']}/", tokens, senders)
            )
        else:
            rooms.append(Room(f"f{i}", f"/ws/room/{100000 + i}/", [None] * len(tokens), senders))
    return rooms


def dispute_senders(room: int, members: int, sizes: Sizes) -> list[int]:
    """The buyer and the creator (members 0 and 1), then admins, other ones in each room while
    there are enough: the admins are members of every room, and ECHO's message limit is per user,
    so an admin sending in every room would share one allowance among them."""
    count = min(sizes.fan_senders, members)
    admins = members - 2
    extra = count - 2
    if extra <= 0 or admins < extra * sizes.fan_rooms:
        return list(range(count))
    return [0, 1, *(2 + (room * extra + j) % admins for j in range(extra))]


def make_clients(rooms: list[Room], system: System, ledger: Ledger) -> list[Client]:
    """The members of a room connect to consecutive processes, each room starting where the one
    before left off: the parties of a room are split across processes (member k of an even-sized
    room on process k mod 2 when there are two), and with four processes every process gets as
    many sockets as the others."""
    clients = []
    for r, room in enumerate(rooms):
        for k, token in enumerate(room.tokens):
            client = Client(
                ledger=ledger,
                room=room,
                url=system.url(r * len(room.tokens) + k, room.path),
                token=token,
                echo=system.kind == "echo",
            )
            room.members.append(client)
            clients.append(client)
    return clients


def senders_of(rooms: list[Room]) -> list[Client]:
    return [room.members[i] for room in rooms for i in room.senders if room.members[i].ws]


def stored(system: System, db_url: str) -> dict[str, int] | None:
    if system.kind == "tutorial" and system.db_url:
        return count_rows(system.db_url, "tutorial")
    return count_rows(db_url) if system.kind == "echo" else None


def stored_delta(before: dict[str, int] | None, after: dict[str, int] | None) -> int | None:
    if before is None or after is None:
        return None
    return sum(after.values()) - sum(before.values())


async def scenario_paced(
    system: System, plan: dict[str, Any], sizes: Sizes, db_url: str
) -> dict[str, Any]:
    """(1) N orders x 2 parties, each party sending one message every interval, for a duration."""
    ledger = Ledger()
    rooms = order_rooms(plan, sizes.paced_orders, system)
    clients = make_clients(rooms, system, ledger)
    connect = await load.connect_all(clients)
    rows0 = stored(system, db_url)
    step = ledger.step("paced")
    senders = senders_of(rooms)
    rate = len(senders) / sizes.paced_interval
    stats = ProcStats(system.pids())
    await load.paced(senders, step, rate=rate, duration=sizes.paced_duration)
    await load.drain(step, timeout=120)  # a system that falls behind gets to catch up
    proc = stats.sample()
    await load.close_all(clients)
    rows1 = stored(system, db_url)
    result = step.summary()
    result.update(
        offered_messages_per_s=rate,
        offered_deliveries_per_s=rate * 2,
        # A system that falls behind delivers the offered load over a longer span.
        deliveries_per_s=result["received"] / max(sizes.paced_duration, result["span_s"]),
        connect=connect,
        server=proc,
        cpu_us_per_delivery=1e6 * proc["cpu_s"] / max(1, result["received"]),
        stored=stored_delta(rows0, rows1),
    )
    return result


async def scenario_maxrate(
    system: System, plan: dict[str, Any], sizes: Sizes, db_url: str
) -> dict[str, Any]:
    """(2) Raise the offered rate step by step over many 2-party orders until p99 passes 100 ms
    (or anything is lost, or less than 90% of the offered deliveries arrive)."""
    ledger = Ledger()
    rooms = order_rooms(plan, sizes.rate_orders, system)
    clients = make_clients(rooms, system, ledger)
    connect = await load.connect_all(clients)
    senders = senders_of(rooms)
    cap = len(senders) * ECHO_MAX_RATE_PER_CONNECTION if system.kind == "echo" else None
    steps = []
    best: dict[str, Any] | None = None
    rows0 = stored(system, db_url)
    stats = ProcStats(system.pids())
    for rate in sizes.rate_steps:
        if cap is not None and rate > cap:
            steps.append(
                {
                    "offered_messages_per_s": rate,
                    "skipped": "over the per-connection rate limit x connections",
                }
            )
            break
        step = ledger.step(f"rate{rate}")
        stats.restart()
        t0 = time.monotonic()
        await load.paced(senders, step, rate=rate, duration=sizes.rate_step_s)
        send_s = time.monotonic() - t0
        await load.drain(step, timeout=30)
        proc = stats.sample()
        summary = step.summary()
        delivered = summary["received"] / max(send_s, summary["span_s"])
        summary.update(
            offered_messages_per_s=rate,
            offered_deliveries_per_s=2 * rate,
            deliveries_per_s=delivered,
            messages_per_s=delivered / 2,
            server=proc,
            cpu_us_per_delivery=1e6 * proc["cpu_s"] / max(1, summary["received"]),
        )
        summary.pop("latencies_ms", None)
        ok = (
            summary["p99_ms"] <= P99_LIMIT_MS
            and summary["lost"] == 0
            and summary["duplicates"] == 0
            and summary["out_of_order"] == 0
            and delivered >= 0.9 * 2 * rate
        )
        summary["sustained"] = ok
        steps.append(summary)
        if not ok:
            break
        best = summary
        await asyncio.sleep(1.0)
    await load.close_all(clients)
    rows1 = stored(system, db_url)
    measured = [s for s in steps if "sent" in s]
    return {
        "connect": connect,
        "steps": steps,
        "sustained_messages_per_s": best["messages_per_s"] if best else 0.0,
        "sustained_deliveries_per_s": best["deliveries_per_s"] if best else 0.0,
        "sustained_p99_ms": best["p99_ms"] if best else float("nan"),
        "sustained_cpu_us_per_delivery": best["cpu_us_per_delivery"] if best else float("nan"),
        "lost": sum(s["lost"] for s in measured),
        "duplicates": sum(s["duplicates"] for s in measured),
        "out_of_order": sum(s["out_of_order"] for s in measured),
        "gaps": sum(s["gaps"] for s in measured),
        "sent": sum(s["sent"] for s in measured),
        "rejected": sum(s["rejected"] for s in measured),
        "stored": stored_delta(rows0, rows1),
        "capped_by_rate_limit": bool(steps and "skipped" in steps[-1]),
    }


async def scenario_fanout(
    system: System, plan: dict[str, Any], sizes: Sizes, db_url: str
) -> dict[str, Any]:
    """(3) Dispute rooms of 2 parties + admins; a few members send a burst back to back."""
    ledger = Ledger()
    rooms = dispute_rooms(plan, sizes, system)
    clients = make_clients(rooms, system, ledger)
    connect = await load.connect_all(clients)
    rows0 = stored(system, db_url)
    step = ledger.step("burst")
    stats = ProcStats(system.pids())
    await load.burst(senders_of(rooms), step, per_sender=sizes.fan_per_sender)
    await load.drain(step, timeout=90)
    proc = stats.sample()
    await load.close_all(clients)
    rows1 = stored(system, db_url)
    result = step.summary()
    result.update(
        rooms=len(rooms),
        members=sizes.fan_members,
        connect=connect,
        server=proc,
        cpu_us_per_delivery=1e6 * proc["cpu_s"] / max(1, result["received"]),
        stored=stored_delta(rows0, rows1),
    )
    return result


async def scenario_idle(
    system: System, plan: dict[str, Any], sizes: Sizes, db_url: str
) -> dict[str, Any]:
    """(4) Many idle connections: memory per connection and connect time."""
    ledger = Ledger()
    rooms = order_rooms(plan, sizes.idle_connections // 2, system)
    clients = make_clients(rooms, system, ledger)
    stats = ProcStats(system.pids())
    await asyncio.sleep(1.0)
    rss0 = stats.rss()
    connect = await load.connect_all(clients, concurrency=100)
    # What a connection costs (handshake, authentication, hello) and what an idle one costs per
    # second (heartbeats, presence refreshes): the per-socket terms of docs/scaling.md.
    connect_proc = stats.sample()
    stats.restart()
    await asyncio.sleep(sizes.idle_hold_s)
    rss1 = stats.rss()
    proc = stats.sample()
    open_now = sum(1 for c in clients if c.ws is not None and c.closed_code is None)
    await load.close_all(clients)
    held = max(1, connect["connections"] - connect["failed"])
    return {
        "connect": connect,
        "held": open_now,
        "rss_before_mb": rss0 / 2**20,
        "rss_after_mb": rss1 / 2**20,
        "kb_per_connection": (rss1 - rss0) / 1024 / held,
        "cpu_ms_per_connect": 1e3 * connect_proc["cpu_s"] / held,
        "idle_cpu_us_per_socket_s": 1e6 * proc["cpu_s"] / held / sizes.idle_hold_s,
        "server": proc,
    }


async def scenario_resume(
    system: System, plan: dict[str, Any], sizes: Sizes, db_url: str
) -> dict[str, Any]:
    """(5) Every client reconnects at once with ?after_seq=, `behind` messages behind."""
    if system.kind != "echo":
        return {"skipped": "no resume in a broadcast-only baseline"}
    ledger = Ledger()
    orders = plan["resume"][: sizes.resume_clients // 2]
    rooms = [Room(f"r{o['id']}", f"/ws/orders/{o['id']}/", o["tokens"], []) for o in orders]
    clients = make_clients(rooms, system, ledger)
    queries = {}
    expected: dict[int, list[int]] = {}
    index = 0
    for room, order in zip(rooms, orders, strict=True):
        for client in room.members:
            queries[index] = f"?after_seq={order['after_seq']}"
            client.resume_from = order["after_seq"]
            expected[id(client)] = list(range(order["after_seq"] + 1, order["last_seq"] + 1))
            index += 1
    stats = ProcStats(system.pids())
    t0 = time.perf_counter()
    caught_at: dict[int, float] = {}

    async def watch(client: Client) -> None:
        await client.sync_done.wait()
        caught_at[id(client)] = time.perf_counter() - t0

    watchers = [asyncio.create_task(watch(c)) for c in clients]
    connect = await load.connect_all(clients, concurrency=len(clients), query=queries)
    with_timeout = asyncio.wait_for(asyncio.gather(*watchers, return_exceptions=True), 60)
    try:
        await with_timeout
    except TimeoutError:
        pass
    proc = stats.sample()
    complete = sum(1 for c in clients if c.replayed == expected[id(c)])
    times = sorted(caught_at.values())
    await load.close_all(clients)
    return {
        "clients": len(clients),
        "behind": sizes.resume_behind,
        "caught_up": len(times),
        "gap_free_complete": complete,
        "replay_errors": sum(c.replay_gaps for c in clients),
        "all_caught_up_s": times[-1] if len(times) == len(clients) else float("inf"),
        "p50_s": load.percentile(times, 50),
        "p99_s": load.percentile(times, 99),
        "connect": connect,
        "server": proc,
        "lost": sum(len(expected[id(c)]) for c in clients) - sum(len(c.replayed) for c in clients),
    }


# Churn reads RSS once the server has finished tearing the round's sockets down: when its CPU
# over a CHURN_QUIET_WINDOW_S window is under CHURN_QUIET_CPU_S, waiting CHURN_QUIET_MAX_S at
# most. Busy time exceeds churn_round_s at the tiny size, and RSS read mid-teardown moved with
# how far the teardown had got (round 1 read up to 1.2 MB below its settled level).
CHURN_QUIET_WINDOW_S = 0.5
CHURN_QUIET_CPU_S = 0.02
CHURN_QUIET_MAX_S = 15.0


async def settled(stats: ProcStats) -> float:
    """Wait until the processes are quiet (or CHURN_QUIET_MAX_S has passed); the time waited."""
    started = time.monotonic()
    while time.monotonic() - started < CHURN_QUIET_MAX_S:
        before = stats.cpu()
        await asyncio.sleep(CHURN_QUIET_WINDOW_S)
        if stats.cpu() - before < CHURN_QUIET_CPU_S:
            break
    return time.monotonic() - started


async def scenario_churn(
    system: System, plan: dict[str, Any], sizes: Sizes, db_url: str
) -> dict[str, Any]:
    """(6) Connection churn: rounds of many sockets opened and dropped, half of them with a
    close frame and half by cutting the TCP connection (a phone losing its network). A process
    that keeps something of every socket grows round after round; one that does not settles
    after the first round (its pools and caches warm). RSS at the end of every round, once the
    server is quiet."""
    rooms = order_rooms(plan, sizes.churn_sockets // 2, system)
    stats = ProcStats(system.pids())
    await asyncio.sleep(1.0)
    rss_start = stats.rss()
    rounds: list[dict[str, Any]] = []
    failed = 0
    for _ in range(sizes.churn_rounds):
        started = time.monotonic()
        for room in rooms:
            room.members.clear()
        clients = make_clients(rooms, system, Ledger())
        connect = await load.connect_all(clients, concurrency=100)
        failed += connect["failed"]
        await asyncio.gather(*(c.abort() for c in clients[1::2]))
        await load.close_all(clients[0::2])
        busy = time.monotonic() - started
        await asyncio.sleep(max(0.0, sizes.churn_round_s - busy))
        settle = await settled(stats)
        rounds.append(
            {
                "rss_mb": stats.rss() / 2**20,
                "busy_s": busy,
                "settle_s": settle,
                "connects_per_s": connect["per_s"],
                "failed": connect["failed"],
            }
        )
    proc = stats.sample()
    rss = [r["rss_mb"] for r in rounds]
    first, last = rss[0], rss[-1]
    return {
        "rounds": len(rounds),
        "sockets_per_round": len(rooms) * 2,
        "round_s": sizes.churn_round_s,
        "rss_start_mb": rss_start / 2**20,
        "rss_first_mb": first,
        "rss_last_mb": last,
        "rss_max_mb": max(rss),
        "growth_after_first_pct": 100.0 * (last - first) / first,
        "settled": last <= first * (1 + CHURN_SETTLE_FRACTION),
        "rss_per_round_mb": rss,
        "round_details": rounds,
        "connect_failed": failed,
        "server": proc,
    }


async def scenario_metered(
    system: System, plan: dict[str, Any], sizes: Sizes, db_url: str
) -> dict[str, Any]:
    """efficiency and shards: a paced load (eff_rate messages/s over eff_orders 2-party orders,
    the parties of each order on two different processes) and the CPU it costs per service:
    every server process, the PostgreSQL backends of the database, each redis-server."""
    ledger = Ledger()
    rooms = order_rooms(plan, sizes.eff_orders, system)
    clients = make_clients(rooms, system, ledger)
    connect = await load.connect_all(clients)
    rows0 = stored(system, db_url)
    step = ledger.step("metered")
    senders = senders_of(rooms)
    await asyncio.sleep(0.5)  # the connects' own work settles before the period starts
    idle_meter = Meter(system, db_url)
    await asyncio.sleep(sizes.eff_idle_s)
    idle = idle_meter.finish()
    meter = Meter(system, db_url)
    t0 = time.monotonic()
    await load.paced(senders, step, rate=sizes.eff_rate, duration=sizes.eff_duration)
    send_s = time.monotonic() - t0
    await load.drain(step, timeout=60)
    cpu = meter.finish()
    await load.close_all(clients)
    rows1 = stored(system, db_url)
    result = step.summary()
    per_k = per_thousand(cpu, result["received"])
    result.update(
        processes=len(system.servers),
        redis_servers=len(system.redis),
        offered_messages_per_s=sizes.eff_rate,
        offered_deliveries_per_s=2 * sizes.eff_rate,
        deliveries_per_s=result["received"] / max(send_s, result["span_s"]),
        connect=connect,
        cpu=cpu,
        idle_cpu_pct=idle_percent(idle),
        cpu_s_per_1000=per_k,
        cpu_us_per_delivery=1e3 * per_k["daphne"],
        stored=stored_delta(rows0, rows1),
    )
    return result


def idle_percent(cpu: dict[str, Any]) -> dict[str, float]:
    """CPU % of each service over an idle period (100% = one core)."""
    scale = 100.0 / cpu["elapsed_s"]
    return {
        "daphne": cpu["server_cpu_s"] * scale,
        "postgres": cpu["pg_cpu_s"] * scale,
        "redis": sum(cpu["redis_cpu_s"].values()) * scale,
    }


SCENARIOS = {
    "paced": scenario_paced,
    "maxrate": scenario_maxrate,
    "fanout": scenario_fanout,
    "idle": scenario_idle,
    "resume": scenario_resume,
    "churn": scenario_churn,
    "efficiency": scenario_metered,
    "shards": scenario_metered,
}
