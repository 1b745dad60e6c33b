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
    """Per scenario: each label's CPU per delivery in every round, its median and that median's
    ratio to `base`'s, and the median of the per-round ratios (round i of a label against round
    i of `base`: run minutes apart, so less of the machine's drift is in it). A variant with a
    speed patch off at 1.05 means the patch saves 1 - 1/1.05 = 4.8% of the CPU per delivery."""
    out = ["\n## CPU per delivery, same run (us; rounds interleaved)\n"]
    for key, by_label in results.items():
        figures = {
            label: [cpu_per_delivery(key, r) for r in runs] for label, runs in by_label.items()
        }
        base_values = figures.get(base) or []
        base_median = median([v for v in base_values if v is not None])
        out.append(f"\n### {key}\n")
        out.append(
            "| system | rounds | median | ratio of medians | saved | median of round ratios "
            "| saved |"
        )
        out.append("|---|---|---|---|---|---|---|")
        for label, values in figures.items():
            known = [v for v in values if v is not None]
            if not known:
                continue
            rounds = ", ".join("-" if v is None else f"{v:,.0f}" for v in values)
            own = median(known)
            paired = median([v / b for v, b in zip(values, base_values, strict=False) if v and b])
            cells = [saved(own / base_median if own and base_median else None), saved(paired)]
            if label == base:
                cells = ["1.000 | -", "1.000 | -"]
            out.append(f"| {label} | {rounds} | {own:,.0f} | {cells[0]} | {cells[1]} |")
    return "\n".join(out) + "\n"


def median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def saved(ratio: float | None) -> str:
    if not ratio:
        return "- | -"
    return f"{ratio:.3f} | {100 * (1 - 1 / ratio):+.1f}%"
