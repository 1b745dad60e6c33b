"""`--variant NAME:KEY=VALUE`: ECHO from this tree run again with other server environment, in
the same run, interleaved with the plain `echo` (e.g. one speed patch switched off with
ECHO_PATCHES_OFF, or ECHO_EVENT_LOOP=asyncio), and the same-run ratios of CPU per delivery.

    python -m bench run --scenario paced --systems echo --repeat 3 --paced-seconds 15 \\
        --variant no-eager:ECHO_PATCHES_OFF=eager_tcp_writes \\
        --variant asyncio:ECHO_EVENT_LOOP=asyncio
"""

from __future__ import annotations

import statistics
from typing import Any

# The figure each scenario's CPU per delivery is read from.
CPU_FIELD = {"maxrate": "sustained_cpu_us_per_delivery"}


def parse_variants(specs: list[str]) -> dict[str, dict[str, str]]:
    """`NAME:KEY=VALUE` (repeat a NAME for more keys) -> {label: env}."""
    out: dict[str, dict[str, str]] = {}
    for spec in specs:
        name, sep, assignment = spec.partition(":")
        key, eq, value = assignment.partition("=")
        if not (sep and eq and name and key):
            raise SystemExit(f"--variant wants NAME:KEY=VALUE, not {spec!r}")
        out.setdefault(f"echo@{name}", {})[key] = value
    return out


def cpu_per_delivery(key: str, result: dict[str, Any]) -> float | None:
    value = result.get(CPU_FIELD.get(key.split()[0], "cpu_us_per_delivery"))
    return float(value) if isinstance(value, int | float) else None


def render_ratios(results: dict[str, dict[str, list[dict[str, Any]]]], base: str = "echo") -> str:
    """Per scenario: each label's CPU per delivery in every round and its median, and the
    median's ratio to `base`'s (a variant with a speed patch off at 1.05 means the patch saves
    1 - 1/1.05 = 4.8% of the CPU per delivery it would cost without it)."""
    out = ["\n## CPU per delivery, same run (us; rounds interleaved)\n"]
    for key, by_label in results.items():
        figures = {
            label: [v for r in runs if (v := cpu_per_delivery(key, r)) is not None]
            for label, runs in by_label.items()
        }
        base_values = figures.get(base) or []
        base_median = statistics.median(base_values) if base_values else None
        out.append(f"\n### {key}\n")
        out.append("| system | rounds | median | ratio to echo | saved by what differs |")
        out.append("|---|---|---|---|---|")
        for label, values in figures.items():
            if not values:
                continue
            median = statistics.median(values)
            rounds = ", ".join(f"{v:,.0f}" for v in values)
            if base_median and label != base:
                ratio = median / base_median
                note = f"{ratio:.3f} | {100 * (1 - 1 / ratio):+.1f}%"
            else:
                note = "1.000 | -"
            out.append(f"| {label} | {rounds} | {median:,.0f} | {note} |")
    return "\n".join(out) + "\n"
