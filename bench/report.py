"""Render results: one markdown table per scenario, absolute figures and ratios to the baselines."""

from __future__ import annotations

import math
from typing import Any


def fmt(value: Any, digits: int = 1) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if math.isnan(value):
            return "-"
        if math.isinf(value):
            return "inf"
        return f"{value:,.{digits}f}"
    return str(value)


def finite(value: Any) -> bool:
    return isinstance(value, int | float) and math.isfinite(value)


def digits(path: str) -> int:
    """Decimals of a column: CPU seconds per 1,000 deliveries need three."""
    return 3 if path.startswith("cpu_s_per_1000") else 1


def get(result: dict[str, Any], path: str) -> Any:
    value: Any = result
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


# (column title, path in the result, ratio wanted)
COLUMNS: dict[str, list[tuple[str, str, bool]]] = {
    "paced": [
        ("sent", "sent", False), ("stored", "stored", False), ("expected", "expected", False),
        ("received", "received", False), ("lost", "lost", False), ("dup", "duplicates", False),
        ("ooo", "out_of_order", False), ("gaps", "gaps", False),
        ("deliv/s", "deliveries_per_s", True), ("p50 ms", "p50_ms", True),
        ("p90 ms", "p90_ms", True), ("p99 ms", "p99_ms", True), ("max ms", "max_ms", True),
        ("CPU %", "server.cpu_pct", True), ("CPU us/deliv", "cpu_us_per_delivery", True),
        ("RSS MB", "server.rss_mb", True), ("connect p50 ms", "connect.p50_ms", True),
    ],
    "maxrate": [
        ("sustained msg/s", "sustained_messages_per_s", True),
        ("sustained deliv/s", "sustained_deliveries_per_s", True),
        ("p99 ms at it", "sustained_p99_ms", True),
        ("CPU us/deliv", "sustained_cpu_us_per_delivery", True),
        ("capped by rate limit", "capped_by_rate_limit", False),
        ("sent", "sent", False), ("stored", "stored", False), ("lost", "lost", False),
        ("dup", "duplicates", False), ("ooo", "out_of_order", False), ("gaps", "gaps", False),
    ],
    "fanout": [
        ("sent", "sent", False), ("stored", "stored", False), ("expected", "expected", False),
        ("received", "received", False), ("lost", "lost", False), ("dup", "duplicates", False),
        ("ooo", "out_of_order", False), ("gaps", "gaps", False),
        ("deliv/s", "deliveries_per_s", True), ("p50 ms", "p50_ms", True),
        ("p99 ms", "p99_ms", True), ("max ms", "max_ms", True),
        ("CPU us/deliv", "cpu_us_per_delivery", True), ("connect p50 ms", "connect.p50_ms", True),
    ],
    "idle": [
        ("connections", "connect.connections", False), ("failed", "connect.failed", False),
        ("held", "held", False), ("KB/conn", "kb_per_connection", True),
        ("RSS after MB", "rss_after_mb", True), ("connects/s", "connect.per_s", True),
        ("connect p50 ms", "connect.p50_ms", True), ("connect p99 ms", "connect.p99_ms", True),
        ("CPU ms/connect", "cpu_ms_per_connect", True),
        ("idle CPU us/socket/s", "idle_cpu_us_per_socket_s", True),
    ],
    "resume": [
        ("clients", "clients", False), ("behind", "behind", False),
        ("caught up", "caught_up", False), ("gap-free", "gap_free_complete", False),
        ("replay errors", "replay_errors", False), ("lost", "lost", False),
        ("all caught up s", "all_caught_up_s", False), ("p50 s", "p50_s", False),
        ("p99 s", "p99_s", False), ("connect p99 ms", "connect.p99_ms", False),
    ],
    "efficiency": [
        ("processes", "processes", False), ("offered msg/s", "offered_messages_per_s", False),
        ("sent", "sent", False), ("stored", "stored", False), ("received", "received", False),
        ("lost", "lost", False), ("dup", "duplicates", False), ("ooo", "out_of_order", False),
        ("gaps", "gaps", False), ("deliv/s", "deliveries_per_s", True),
        ("p50 ms", "p50_ms", True), ("p99 ms", "p99_ms", True),
        ("daphne CPU s/1k", "cpu_s_per_1000.daphne", True),
        ("PostgreSQL CPU s/1k", "cpu_s_per_1000.postgres", True),
        ("Redis CPU s/1k", "cpu_s_per_1000.redis", True),
        ("PG backends", "cpu.pg.backends", False),
    ],
    "shards": [
        ("redis servers", "redis_servers", False), ("sent", "sent", False),
        ("stored", "stored", False), ("received", "received", False), ("lost", "lost", False),
        ("dup", "duplicates", False), ("ooo", "out_of_order", False), ("gaps", "gaps", False),
        ("deliv/s", "deliveries_per_s", True), ("p50 ms", "p50_ms", True),
        ("p99 ms", "p99_ms", True), ("daphne CPU s/1k", "cpu_s_per_1000.daphne", True),
        ("redis0 CPU s/1k", "cpu_s_per_1000.redis_each.redis0", True),
        ("redis1 CPU s/1k", "cpu_s_per_1000.redis_each.redis1", True),
        ("redis0 commands", "cpu.redis_commands.redis0", False),
        ("redis1 commands", "cpu.redis_commands.redis1", False),
        ("PostgreSQL CPU s/1k", "cpu_s_per_1000.postgres", True),
    ],
    "churn": [
        ("rounds", "rounds", False), ("sockets/round", "sockets_per_round", False),
        ("round s", "round_s", False), ("failed", "connect_failed", False),
        ("RSS start MB", "rss_start_mb", False), ("RSS round 1 MB", "rss_first_mb", False),
        ("RSS last MB", "rss_last_mb", False), ("RSS max MB", "rss_max_mb", False),
        ("growth after round 1 %", "growth_after_first_pct", False),
        ("settled", "settled", False), ("CPU %", "server.cpu_pct", False),
    ],
}  # fmt: skip


def one_line(key: str, result: dict[str, Any]) -> str:
    base = key.split()[0]
    cols = COLUMNS.get(base, [])
    return "; ".join(f"{t}={fmt(get(result, p))}" for t, p, _ in cols[:12])


def render(merged: dict[str, dict[str, dict[str, Any]]], meta: dict[str, Any]) -> str:
    out = [f"# ECHO live-room bench\n\n`{meta['command']}`\n"]
    m = meta["machine"]
    out.append(
        f"Machine: {m['nproc']} cores, {m['cpu']}, {m['memory_gb']} GB; load average at the end "
        f"{', '.join(f'{x:.2f}' for x in m['loadavg'])}. Repeats: {meta['repeat']} (medians).\n"
    )
    out.append("Versions: " + ", ".join(f"{k} {v}" for k, v in meta["versions"].items()) + "\n")
    for key, by_label in merged.items():
        base = key.split()[0]
        if base == "efficiency":  # one table for every process count: render_efficiency
            continue
        cols = COLUMNS[base]
        suffix = " x2" if key.endswith("x2") else ""
        bare = by_label.get(f"bare{suffix}")
        tutorial = by_label.get(f"tutorial{suffix}")
        raw = by_label.get("raw")
        out.append(f"\n## {key}\n")
        header = ["system"] + [t for t, _, _ in cols]
        out.append("| " + " | ".join(header) + " |")
        out.append("|" + "---|" * len(header))
        for label, result in by_label.items():
            if "skipped" in result:
                out.append(f"| {label} | {result['skipped']} |")
                continue
            cells = [label] + [fmt(get(result, p), digits(p)) for _, p, _ in cols]
            out.append("| " + " | ".join(cells) + " |")
        refs = (("bare Channels", bare), ("tutorial", tutorial), ("raw websockets", raw))
        for ref_name, ref in refs:
            if ref is None:
                continue
            for label, result in by_label.items():
                if not label.startswith("echo") or "skipped" in result:
                    continue
                cells = [f"{label} / {ref_name}"]
                for _, path, ratio in cols:
                    a, b = get(result, path), get(ref, path)
                    if ratio and finite(a) and finite(b) and b:
                        cells.append(f"{a / b:.2f}x")
                    else:
                        cells.append("")
                out.append("| " + " | ".join(cells) + " |")
        if base == "maxrate":
            for label, result in by_label.items():
                steps = result.get("steps") or []
                line = ", ".join(
                    f"{s['offered_messages_per_s']}/s: "
                    + (
                        s["skipped"]
                        if "skipped" in s
                        else f"{fmt(s['messages_per_s'], 0)} msg/s p99 {fmt(s['p99_ms'])} ms"
                        f"{'' if s['sustained'] else ' (fails)'}"
                    )
                    for s in steps
                )
                out.append(f"\n- {label} steps: {line}")
        if base == "churn":
            for label, result in by_label.items():
                per_round = ", ".join(fmt(v) for v in result.get("rss_per_round_mb") or [])
                out.append(f"\n- {label} RSS MB at the end of each round: {per_round}")
    out.append(render_efficiency(merged))
    out.append(render_shards(merged))
    out.append("")
    return "\n".join(out) + "\n"


EFFICIENCY_SERVICES = (("daphne", "daphne"), ("PostgreSQL", "postgres"), ("Redis", "redis"))
EFFICIENCY_TARGET = 1.1


def ratio(a: Any, b: Any) -> str:
    if finite(a) and finite(b) and b:
        return f"{a / b:.2f}x"
    return "-"


def render_efficiency(merged: dict[str, dict[str, dict[str, Any]]]) -> str:
    """`two`'s efficiency table: CPU seconds per 1,000 deliveries of every daphne process
    together, of the database's PostgreSQL backends and of Redis, and each against one process
    of the same tree at the same rate (target <= 1.1x), with the throughput sustained."""
    keys = [k for k in merged if k.split()[0] == "efficiency"]
    if not keys:
        return ""
    out = [
        "\n## two: CPU efficiency across processes (CPU seconds per 1,000 deliveries)\n",
        "Each row against one process of the same tree at the same offered rate; target: "
        f"daphne <= {EFFICIENCY_TARGET}x. The last column sets N processes against one process "
        "at 1/N of their rate (the load each of the N carries; its rows are marked perN). CPU "
        "is summed over every daphne process; PostgreSQL's "
        "over the backends of the bench database (pg_stat_activity); Redis's is the "
        "redis-server's. Idle CPU: every socket connected, nothing sent, before the load "
        "(100% = one core).\n",
    ]
    header = ["system", "processes", "offered msg/s", "deliv/s", "lost/dup/ooo", "p99 ms"]
    header += [name for name, _ in EFFICIENCY_SERVICES] + ["total"]
    header += [f"{name} vs x1" for name, _ in EFFICIENCY_SERVICES] + ["total vs x1"]
    header += ["deliv/s vs x1", "PG backends (new, gone)", "idle CPU % daphne/PG/Redis"]
    header += ["daphne vs x1 at 1/N"]
    out.append("| " + " | ".join(header) + " |")
    out.append("|" + "---|" * len(header))
    for key in keys:
        low = " low" if "low" in key.split() else ""
        one_key = key.split()[0] + " x1" + low
        for label, result in merged[key].items():
            one_label = label.rsplit(" ", 1)[0] + " x1"
            base = merged.get(one_key, {}).get(one_label, {})
            # N processes against one process carrying what each of the N carries (rate / N).
            n = int(result.get("processes") or 1)  # a median of runs is a float
            share = merged.get(f"{one_key} per{n}", {}).get(one_label, {}) if n > 1 else {}
            per_k = result.get("cpu_s_per_1000") or {}
            base_k = base.get("cpu_s_per_1000") or {}
            pg = get(result, "cpu.pg") or {}
            per = [w for w in key.split() if w.startswith("per")]
            cells = [
                " ".join([label, *per]),
                fmt(result.get("processes")),
                fmt(result.get("offered_messages_per_s"), 0),
                fmt(result.get("deliveries_per_s"), 0),
                "/".join(fmt(result.get(f)) for f in ("lost", "duplicates", "out_of_order")),
                fmt(result.get("p99_ms")),
            ]
            cells += [fmt(per_k.get(field), 3) for _, field in EFFICIENCY_SERVICES]
            cells.append(fmt(per_k.get("total"), 3))
            cells += [ratio(per_k.get(f), base_k.get(f)) for _, f in EFFICIENCY_SERVICES]
            cells.append(ratio(per_k.get("total"), base_k.get("total")))
            cells.append(ratio(result.get("deliveries_per_s"), base.get("deliveries_per_s")))
            cells.append(
                f"{fmt(pg.get('backends'))} ({fmt(pg.get('backends_new'))}, "
                f"{fmt(pg.get('backends_gone'))})"
            )
            idle = result.get("idle_cpu_pct") or {}
            cells.append("/".join(fmt(idle.get(f)) for _, f in EFFICIENCY_SERVICES))
            share_k = share.get("cpu_s_per_1000") or {}
            cells.append(ratio(per_k.get("daphne"), share_k.get("daphne")) if share else "-")
            out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out) + "\n"


def render_shards(merged: dict[str, dict[str, dict[str, Any]]]) -> str:
    """The shards scenario: the layer over two redis-servers against one, same run, two daphne
    processes each; CPU per 1,000 deliveries of daphne, each Redis and PostgreSQL."""
    by_label = merged.get("shards")
    if not by_label:
        return ""
    out = ["\n## shards: the channel layer on two redis-servers against one (ratios)\n"]
    out.append("| system | daphne | Redis, all | PostgreSQL | deliv/s | p99 ms |")
    out.append("|---|---|---|---|---|---|")
    for label, result in by_label.items():
        if not label.endswith(" 2 redis"):
            continue
        one = by_label.get(label.removesuffix(" 2 redis") + " 1 redis")
        if one is None:
            continue
        a, b = result.get("cpu_s_per_1000") or {}, one.get("cpu_s_per_1000") or {}
        cells = [f"{label} / 1 redis"]
        cells += [ratio(a.get(f), b.get(f)) for f in ("daphne", "redis", "postgres")]
        cells += [ratio(result.get(f), one.get(f)) for f in ("deliveries_per_s", "p99_ms")]
        out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out) + "\n"


Results = dict[str, dict[str, dict[str, Any]]]


def split_echo(merged: Results) -> tuple[Results, Results]:
    """The results of ECHO's systems (this tree, --compare and --variant trees) and the
    baselines' (bare, raw, tutorial), scenario by scenario."""
    echo = {k: {lb: r for lb, r in by.items() if lb.startswith("echo")} for k, by in merged.items()}
    rest = {
        k: {lb: r for lb, r in by.items() if not lb.startswith("echo")} for k, by in merged.items()
    }
    return echo, rest


def integrity_violations(merged: dict[str, dict[str, dict[str, Any]]]) -> list[str]:
    """Any lost, duplicated, reordered or gapped delivery, any stored count that does not match
    what was accepted, any resume client that did not catch up gap-free."""
    found = []
    for key, by_label in merged.items():
        for label, result in by_label.items():
            if "skipped" in result:
                continue
            for field in ("lost", "duplicates", "out_of_order", "gaps", "replay_errors"):
                value = result.get(field)
                if value:
                    found.append(f"{key} on {label}: {field}={value}")
            accepted = (result.get("sent") or 0) - (result.get("rejected") or 0)
            stored = result.get("stored")
            if stored is not None and result.get("sent") is not None and stored != accepted:
                found.append(
                    f"{key} on {label}: stored {stored} rows for {accepted} accepted sends"
                )
            if "clients" in result and result.get("gap_free_complete") != result["clients"]:
                found.append(
                    f"{key} on {label}: {result.get('gap_free_complete')}/{result['clients']} "
                    "clients caught up gap-free"
                )
            if result.get("settled") is False:
                found.append(
                    f"{key} on {label}: RSS did not settle under churn "
                    f"(+{result['growth_after_first_pct']:.1f}% after the first round)"
                )
            if result.get("connect_failed"):
                found.append(f"{key} on {label}: {result['connect_failed']} connections failed")
            if result.get("connect", {}).get("failed"):
                found.append(f"{key} on {label}: {result['connect']['failed']} connections failed")
    return found
