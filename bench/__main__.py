"""CLI: `python -m bench run --scenario all --quick` (see bench/__init__.py)."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from . import report
from .rest import render_rest, rest_violations, run_rest_scenario
from .scenarios import FULL, QUICK, SCENARIOS, TINY, Sizes
from .system import (
    ROOT,
    RedisServer,
    System,
    base_env,
    create_database,
    drop_database,
    log_dir,
    rest_sample,
    run_django,
    start_system,
    tutorial_env,
)
from .variants import cpu_per_delivery, parse_variants, render_ratios

ALL = ["paced", "maxrate", "fanout", "idle", "resume", "two", "shards"]
# Not part of "all" (the live rooms'): the REST API under concurrent clients (bench/rest.py).
REST = "rest"
# Run only when named (`--scenario churn`): its full size takes five minutes on its own.
EXTRA = ["churn"]
# Scenarios only ECHO runs: the baselines have no resume and no per-socket state to leak.
ECHO_ONLY = {"resume", "churn", "shards"}
TWO_PROCESS_SCENARIOS = ["paced", "maxrate", "fanout", "resume"]
# `two` also measures ECHO's CPU efficiency on each of these process counts (--processes).
EFFICIENCY_PROCESSES = "1,2,4"
# The systems --systems may name (echo also runs the --compare and --variant trees).
SYSTEMS = ("echo", "bare", "raw", "tutorial")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="start the systems, run scenarios, print the report")
    run.add_argument(
        "--scenario",
        default="all",
        help=f"comma list of {','.join([*ALL, *EXTRA, REST])} or all",
    )
    size = run.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="small sizes (a minute or two)")
    size.add_argument("--tiny", action="store_true", help="the CI size (seconds)")
    run.add_argument(
        "--two-scenarios",
        default=",".join(TWO_PROCESS_SCENARIOS),
        help="which scenarios 'two' runs on two processes (comma list; '' for none)",
    )
    run.add_argument(
        "--processes",
        default=EFFICIENCY_PROCESSES,
        help="'two' also runs the efficiency scenario (a paced load; CPU of daphne, PostgreSQL "
        "and Redis per 1,000 deliveries) on ECHO with these daphne process counts; counts over "
        "2 run at a lower rate, beside one process at that rate ('' for none)",
    )
    run.add_argument("--repeat", type=int, default=1, help="run everything N times; medians")
    run.add_argument(
        "--compare",
        action="append",
        default=[],
        metavar="NAME=PATH",
        help="also run ECHO from another work tree (e.g. a git worktree of the commit before an "
        "optimization), in the same run, on the same database and Redis",
    )
    run.add_argument(
        "--variant",
        action="append",
        default=[],
        metavar="NAME:KEY=VALUE",
        help="also run ECHO from this tree with KEY=VALUE in its environment (e.g. "
        "ECHO_PATCHES_OFF=eager_tcp_writes), interleaved with echo; repeat a NAME for more keys",
    )
    run.add_argument(
        "--systems",
        default="echo,bare,raw",
        help="which systems to run: echo (and --compare variants), bare, raw, tutorial",
    )
    run.add_argument(
        "--pg-url",
        default=os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432/postgres"),
    )
    run.add_argument("--db-name", default="echo_bench")
    run.add_argument("--keep-db", action="store_true")
    run.add_argument("--json", help="write every figure to this file")
    run.add_argument("--paced-seconds", type=float, help="override the paced scenario's duration")
    run.add_argument(
        "--idle-seconds",
        type=float,
        help="override how long idle holds its connections (its idle CPU per socket needs at "
        "least two heartbeat periods, LIVE_HEARTBEAT_SECONDS = 20)",
    )
    run.add_argument(
        "--paced-orders", type=int, help="override the paced scenario's orders (2 sockets each)"
    )
    run.add_argument(
        "--env", action="append", default=[], metavar="KEY=VALUE", help="extra server environment"
    )
    return parser.parse_args(argv)


def median_of(values: list[Any]) -> Any:
    first = values[0]
    if isinstance(first, bool) or first is None or isinstance(first, str):
        return first
    if isinstance(first, int | float):
        nums = [v for v in values if isinstance(v, int | float) and not math.isnan(v)]
        return statistics.median(nums) if nums else float("nan")
    if isinstance(first, dict):
        return {k: median_of([v.get(k) for v in values if isinstance(v, dict)]) for k in first}
    return first


def merge_runs(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians of repeated runs, field by field; integrity counts are summed (any loss counts)."""
    if len(runs) == 1:
        return runs[0]
    merged = median_of(runs)
    for key in ("lost", "duplicates", "out_of_order", "gaps", "replay_errors"):
        if key in runs[0]:
            merged[key] = sum(r.get(key, 0) or 0 for r in runs)
    merged["runs"] = len(runs)
    return merged


async def run_scenario(
    name: str, system: System, plan: dict[str, Any], sizes: Sizes, db_url: str
) -> dict[str, Any]:
    started = time.monotonic()
    result = await SCENARIOS[name](system, plan, sizes, db_url)
    result["wall_s"] = time.monotonic() - started
    return result


def versions() -> dict[str, str]:
    from importlib.metadata import version

    out = {"python": platform.python_version()}
    for pkg in (
        "django",
        "channels",
        "channels-redis",
        "daphne",
        "twisted",
        "redis",
        "websockets",
        "psycopg",
        "orjson",
    ):
        try:
            out[pkg] = version(pkg)
        except Exception:  # noqa: BLE001
            out[pkg] = "-"
    for cmd, key in (
        (["redis-server", "--version"], "redis-server"),
        (["psql", "--version"], "psql"),
    ):
        try:
            out[key] = subprocess.run(
                cmd, capture_output=True, text=True, timeout=10
            ).stdout.strip()
        except Exception:  # noqa: BLE001
            out[key] = "-"
    return out


def machine() -> dict[str, Any]:
    cpu = "-"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import psutil

    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "loadavg": os.getloadavg(),
    }


Job = tuple[str, str, str, int, Path]  # (scenario key, label, kind, processes, cwd)


def parse_processes(spec: str) -> list[int]:
    try:
        counts = sorted({int(s) for s in spec.split(",") if s.strip()})
    except ValueError:
        counts = [0]
    if any(n < 1 for n in counts):
        raise SystemExit(f"--processes wants positive counts, not {spec!r}")
    return counts


def efficiency_jobs(processes: list[int], variants: list[tuple[str, Path]]) -> list[Job]:
    """ECHO on each process count at the efficiency rate; counts over 2 at the lower rate (key
    suffix "low"), with one process at that rate too: each ratio compares one rate. For every
    count N over 1, one process also runs at 1/N of that rate (key suffix "perN"): the load each
    of the N processes carries, to tell what splitting costs from what a lighter load costs."""
    if not processes:
        return []
    full = [n for n in processes if n <= 2]
    low = [n for n in processes if n > 2]
    full = sorted({1, *full}) if full else []
    low = sorted({1, *low}) if low else []
    jobs: list[Job] = []
    for counts, suffix in ((full, ""), (low, " low")):
        for n in counts:
            for label, cwd in variants:
                jobs.append((f"efficiency x{n}{suffix}", f"{label} x{n}", "echo", n, cwd))
        for n in counts:
            if n > 1:
                for label, cwd in variants:
                    jobs.append((f"efficiency x1{suffix} per{n}", f"{label} x1", "echo", 1, cwd))
    return jobs


def efficiency_rate(key: str, sizes: Sizes) -> float:
    """The offered rate of an efficiency job: the lower rate for "low", 1/N of it for "perN"."""
    words = key.split()
    rate = sizes.eff_rate * (sizes.eff_low_fraction if "low" in words else 1.0)
    share = next((int(w[3:]) for w in words if w.startswith("per")), 1)
    return rate / share


def plan_jobs(
    chosen: list[str],
    two_process: list[str],
    variants: list[tuple[str, Path]],
    wanted: set[str],
    processes: list[int] | None = None,
) -> list[Job]:
    """Every (scenario, system) to run once per repeat, in order."""
    jobs: list[Job] = []
    baselines = [kind for kind in ("bare", "tutorial") if kind in wanted]
    for scenario in chosen:
        if scenario == "two":
            for inner in two_process:
                for label, cwd in variants:
                    jobs.append((f"{inner} x2", f"{label} x2", "echo", 2, cwd))
                if inner != "resume":
                    for kind in baselines:
                        jobs.append((f"{inner} x2", f"{kind} x2", kind, 2, ROOT))
            jobs += efficiency_jobs(processes or [], variants)
            continue
        if scenario == "shards":
            # Two daphne processes each: the channel layer on one redis-server, then on two.
            for label, cwd in variants:
                jobs.append(("shards", f"{label} 1 redis", "echo", 2, cwd))
                jobs.append(("shards", f"{label} 2 redis", "echo", 2, cwd))
            continue
        for label, cwd in variants:
            jobs.append((scenario, label, "echo", 1, cwd))
        if scenario not in ECHO_ONLY:
            for kind in baselines:
                jobs.append((scenario, kind, kind, 1, ROOT))
            if "raw" in wanted:
                jobs.append((scenario, "raw", "raw", 1, ROOT))
    return jobs


def seed_live_rooms(
    chosen: list[str], sizes: Sizes, env: dict[str, str], logs: Path
) -> dict[str, Any]:
    orders = max(
        sizes.paced_orders if "paced" in chosen or "two" in chosen else 0,
        sizes.eff_orders if "two" in chosen or "shards" in chosen else 0,
        sizes.rate_orders if "maxrate" in chosen or "two" in chosen else 0,
        sizes.idle_connections // 2 if "idle" in chosen else 0,
        sizes.churn_sockets // 2 if "churn" in chosen else 0,
    )
    plan_path = logs / "plan.json"
    seed_env = {k: v for k, v in env.items() if k != "REDIS_URL"}
    t0 = time.monotonic()
    sys.stderr.write(run_django(
        ["-m", "bench.seed", "--orders", str(orders),
         "--disputes", str(sizes.fan_rooms), "--admins", str(max(0, sizes.fan_members - 2)),
         "--resume", str(sizes.resume_clients // 2), "--behind", str(sizes.resume_behind),
         "--out", str(plan_path)],
        seed_env,
    ))  # fmt: skip
    sys.stderr.write(f"bench: seeded in {time.monotonic() - t0:.1f} s\n")
    plan = json.loads(plan_path.read_text())
    return plan


def run(args: argparse.Namespace) -> int:
    sizes = TINY if args.tiny else QUICK if args.quick else FULL
    if args.paced_seconds:
        sizes = dataclasses.replace(sizes, paced_duration=args.paced_seconds)
    if args.idle_seconds:
        sizes = dataclasses.replace(sizes, idle_hold_s=args.idle_seconds)
    if args.paced_orders:
        sizes = dataclasses.replace(sizes, paced_orders=args.paced_orders)
    chosen = ALL if args.scenario == "all" else [s.strip() for s in args.scenario.split(",")]
    two_process = [s.strip() for s in args.two_scenarios.split(",") if s.strip()]
    with_rest = REST in chosen
    chosen = [s for s in chosen if s != REST]
    unknown = set(chosen) - set(ALL + EXTRA) | set(two_process) - set(TWO_PROCESS_SCENARIOS)
    if unknown:
        raise SystemExit(f"unknown scenarios: {', '.join(sorted(unknown))}")
    processes = parse_processes(args.processes)
    wanted = {s.strip() for s in args.systems.split(",") if s.strip()}
    if wanted - set(SYSTEMS):
        raise SystemExit(f"unknown systems: {', '.join(sorted(wanted - set(SYSTEMS)))}")
    variants = [("echo", ROOT)] if "echo" in wanted else []
    for spec in args.compare:
        name, _, path = spec.partition("=")
        variants.append((f"echo@{name}", Path(path).resolve()))
    variant_env = parse_variants(args.variant)
    variants += [(label, ROOT) for label in variant_env]

    logs = log_dir()
    redis = RedisServer()
    # The shards scenario's second redis-server (the first is REDIS_URL's for every system).
    shard = RedisServer() if "shards" in chosen else None
    db_url = create_database(args.pg_url, args.db_name)
    tutorial_db = f"{args.db_name}_tutorial"
    tutorial_url = create_database(args.pg_url, tutorial_db) if "tutorial" in wanted else None
    env = base_env(DATABASE_URL=db_url, REDIS_URL=redis.url)
    for item in args.env:
        key, _, value = item.partition("=")
        env[key] = value
    results: dict[str, dict[str, list[dict[str, Any]]]] = {}
    rest: dict[str, Any] = {}
    rest_results: dict[str, Any] = {}
    pool_max = int(env.get("DB_POOL_MAX", "10"))
    try:
        sys.stderr.write(f"bench: logs in {logs}; migrating {args.db_name}\n")
        run_django(["manage.py", "migrate", "--no-input"], env)
        if tutorial_url is not None:
            run_django(["-m", "django", "migrate", "--no-input"], tutorial_env(env, tutorial_url))
        if with_rest:
            sys.stderr.write(f"bench: rest at {sizes.rest_clients} clients ...\n")
            rest_results = run_rest_scenario(
                env=env, pg_url=args.pg_url, db_name=args.db_name,
                concurrencies=sizes.rest_clients, seconds=sizes.rest_seconds,
                orders_per_client=sizes.rest_orders, logs=logs,
            )  # fmt: skip
        plan = seed_live_rooms(chosen, sizes, env, logs) if chosen else {}
        jobs = plan_jobs(chosen, two_process, variants, wanted, processes)

        for rep in range(args.repeat):
            # Each round starts one job later: no system is always first or last on the machine.
            turn = rep % len(jobs) if jobs else 0
            for key, label, kind, procs, cwd in jobs[turn:] + jobs[:turn]:
                job_env = {**env, **variant_env.get(label.split()[0], {})}
                servers = [redis]
                if label.endswith(" 2 redis") and shard is not None:
                    servers = [redis, shard]
                    job_env["CHANNEL_LAYER_REDIS_URLS"] = f"{redis.url},{shard.url}"
                job_sizes = sizes
                if key.startswith("efficiency"):
                    job_sizes = dataclasses.replace(sizes, eff_rate=efficiency_rate(key, sizes))
                system = start_system(
                    label=label, kind=kind, processes=procs, env=job_env, cwd=cwd, log_dir=logs,
                    redis=servers, tutorial_db_url=tutorial_url,
                )  # fmt: skip
                try:
                    if kind == "echo" and label not in rest:
                        rest[label] = rest_sample(system.servers[0].http, f"{len(rest)}")
                    sys.stderr.write(f"bench: [{rep + 1}/{args.repeat}] {key} on {label} ...\n")
                    result = asyncio.run(
                        run_scenario(key.split()[0], system, plan, job_sizes, db_url)
                    )
                finally:
                    system.stop()
                results.setdefault(key, {}).setdefault(label, []).append(result)
                cpu = cpu_per_delivery(key, result)
                sys.stderr.write(
                    f"bench:   {report.one_line(key, result)}; CPU us/deliv={report.fmt(cpu)}\n"
                )
    finally:
        redis.stop()
        if shard is not None:
            shard.stop()
        if not args.keep_db:
            drop_database(args.pg_url, args.db_name)
            if tutorial_url is not None:
                drop_database(args.pg_url, tutorial_db)

    merged = {
        k: {label: merge_runs(runs) for label, runs in by.items()} for k, by in results.items()
    }
    meta = {
        "machine": machine(),
        "versions": versions(),
        "sizes": sizes.__dict__,
        "repeat": args.repeat,
        "command": " ".join(["python -m bench", *sys.argv[1:]]),
        "rest_sample": rest,
        "logs": str(logs),
    }
    text = report.render(merged, meta) if merged else ""
    if rest_results:
        text += render_rest(rest_results, pool_max)
    if variant_env or args.compare:
        text += render_ratios(results)
    sys.stdout.write(text)
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {"meta": meta, "results": merged, "runs": results, "rest": rest_results},
                indent=1,
                default=str,
            )
        )
    # A baseline that loses or reorders under load is a measurement (how a stock consumer breaks
    # when it falls behind), not a failure of the run.
    echo_results, baseline_results = report.split_echo(merged)
    baseline = report.integrity_violations(baseline_results)
    violations = report.integrity_violations(echo_results)
    violations += rest_violations(rest_results, pool_max)
    if baseline:
        sys.stdout.write(
            "\nBASELINE LOSSES (measured; they do not fail the run):\n"
            + "\n".join(f"- {v}" for v in baseline)
            + "\n"
        )
    if violations:
        sys.stdout.write(
            "\nINTEGRITY VIOLATIONS:\n" + "\n".join(f"- {v}" for v in violations) + "\n"
        )
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.command == "run":
        return run(args)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
