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
        cols = COLUMNS[base]
        bare = by_label.get("bare x2" if key.endswith("x2") else "bare")
        raw = by_label.get("raw")
        out.append(f"\n## {key}\n")
        header = ["system"] + [t for t, _, _ in cols]
        out.append("| " + " | ".join(header) + " |")
        out.append("|" + "---|" * len(header))
        for label, result in by_label.items():
            if "skipped" in result:
                out.append(f"| {label} | {result['skipped']} |")
                continue
            cells = [label] + [fmt(get(result, p)) for _, p, _ in cols]
            out.append("| " + " | ".join(cells) + " |")
        for ref_name, ref in (("bare Channels", bare), ("raw websockets", raw)):
            if ref is None:
                continue
            for label, result in by_label.items():
                if not label.startswith("echo") or "skipped" in result:
                    continue
                cells = [f"{label} / {ref_name}"]
                for _, path, ratio in cols:
                    a, b = get(result, path), get(ref, path)
                    if ratio and isinstance(a, int | float) and isinstance(b, int | float) and b:
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
    out.append("")
    return "\n".join(out) + "\n"


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
