"""The report: the `two` efficiency table compares each process count with one process of the
same tree at the same offered rate, per service; the shards table compares two redis-servers with
one; a baseline's loss is reported apart from ECHO's (which alone fail the run); a ratio to a
baseline that measured nothing is left blank."""

from __future__ import annotations

from typing import Any

from bench.report import (
    integrity_violations,
    render,
    render_efficiency,
    render_shards,
    split_echo,
)


def result(processes: int, rate: float, daphne: float, pg: float, redis: float) -> dict[str, Any]:
    return {
        "processes": processes,
        "offered_messages_per_s": rate,
        "deliveries_per_s": 2 * rate,
        "lost": 0,
        "duplicates": 0,
        "out_of_order": 0,
        "p99_ms": 5.0,
        "cpu_s_per_1000": {
            "daphne": daphne,
            "postgres": pg,
            "redis": redis,
            "total": daphne + pg + redis,
        },
        "cpu": {"pg": {"backends": 4 * processes, "backends_new": 0, "backends_gone": 0}},
        "idle_cpu_pct": {"daphne": 1.0, "postgres": 0.0, "redis": 0.5},
    }


def rows(text: str) -> dict[str, list[str]]:
    out = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if line.startswith("| echo"):
            out[f"{cells[0]} @{cells[2]}"] = cells
    return out


def test_each_process_count_is_compared_with_one_process_at_its_own_rate():
    merged = {
        "efficiency x1": {"echo x1": result(1, 300, 1.0, 0.5, 0.2)},
        "efficiency x2": {"echo x2": result(2, 300, 1.1, 0.5, 0.3)},
        "efficiency x1 per2": {"echo x1": result(1, 150, 1.05, 0.5, 0.2)},
        "efficiency x1 low": {"echo x1": result(1, 150, 2.0, 1.0, 0.4)},
        # as merged from several runs: each figure a median, the process count a float
        "efficiency x4 low": {"echo x4": {**result(4, 150, 2.4, 1.0, 0.4), "processes": 4.0}},
        "efficiency x1 low per4": {"echo x1": result(1, 37.5, 3.0, 1.0, 0.4)},
    }
    text = render_efficiency(merged)
    table = rows(text)
    header_line = next(x for x in text.splitlines() if x.startswith("| system"))
    header = [c.strip() for c in header_line.strip("|").split("|")]
    col = {name: header.index(name) for name in header}
    x2, x4 = table["echo x2 @300"], table["echo x4 @150"]
    assert x2[col["daphne vs x1"]] == "1.10x"
    assert x2[col["Redis vs x1"]] == "1.50x"
    assert x4[col["daphne vs x1"]] == "1.20x"  # 2.4 against 2.0 at 150/s, not 1.0 at 300/s
    assert x4[col["PostgreSQL vs x1"]] == "1.00x"
    assert x4[col["total vs x1"]] == "1.12x"
    assert x4[col["PG backends (new, gone)"]] == "16 (0, 0)"
    assert table["echo x1 @150"][col["deliv/s vs x1"]] == "1.00x"
    # against one process at 1/N of the rate: what each of the N carries
    assert x2[col["daphne vs x1 at 1/N"]] == "1.05x"  # 1.1 against 1.05 at 150/s
    assert x4[col["daphne vs x1 at 1/N"]] == "0.80x"  # 2.4 against 3.0 at 37.5/s
    assert table["echo x1 @300"][col["daphne vs x1 at 1/N"]] == "-"
    per2, per4 = table["echo x1 per2 @150"], table["echo x1 per4 @38"]
    assert per2[col["daphne vs x1"]] == "1.05x"  # one process at 150/s against one at 300/s
    assert per4[col["daphne vs x1"]] == "1.50x"  # at 37.5/s against one at the low rate, 150/s


def test_two_redis_servers_are_compared_with_one_per_service():
    merged = {
        "shards": {
            "echo 1 redis": result(2, 300, 1.0, 0.5, 0.2),
            "echo 2 redis": result(2, 300, 1.05, 0.5, 0.3),
        }
    }
    line = next(x for x in render_shards(merged).splitlines() if x.startswith("| echo 2 redis"))
    assert [c.strip() for c in line.strip("|").split("|")] == [
        "echo 2 redis / 1 redis",
        "1.05x",
        "1.50x",
        "1.00x",
        "1.00x",
        "1.00x",
    ]


def test_a_baselines_loss_is_reported_apart_and_an_echo_loss_fails_the_run():
    merged = {
        "maxrate": {
            "echo": {"sent": 10, "rejected": 0, "stored": 10, "lost": 0},
            "tutorial": {"sent": 10, "rejected": 0, "stored": 10, "lost": 3},
        },
        "maxrate x2": {"echo@before x2": {"sent": 10, "rejected": 0, "stored": 10, "lost": 2}},
    }
    echo, baselines = split_echo(merged)
    assert integrity_violations(echo) == ["maxrate x2 on echo@before x2: lost=2"]
    assert integrity_violations(baselines) == ["maxrate on tutorial: lost=3"]


def test_a_ratio_to_a_baseline_that_measured_nothing_is_left_blank():
    merged = {
        "maxrate": {
            "echo": {"sustained_messages_per_s": 100.0, "sustained_p99_ms": 20.0},
            "tutorial": {"sustained_messages_per_s": 0.0, "sustained_p99_ms": float("nan")},
        }
    }
    meta = {
        "command": "python -m bench run",
        "machine": {"nproc": 2, "cpu": "-", "memory_gb": 1, "loadavg": (0.0, 0.0, 0.0)},
        "repeat": 1,
        "versions": {},
    }
    line = next(x for x in render(merged, meta).splitlines() if x.startswith("| echo / tutorial"))
    assert "nan" not in line
