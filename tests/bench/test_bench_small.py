"""The bench tool end to end at its tiny size: fails on any lost, duplicated or reordered
message, never on time."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.services


@pytest.mark.timeout(180)
def test_a_tiny_bench_run_loses_duplicates_and_reorders_nothing(tmp_path: Path) -> None:
    database_url = os.environ.get("DATABASE_URL", "")
    if not database_url.startswith("postgres") or shutil.which("redis-server") is None:
        pytest.skip("needs PostgreSQL (DATABASE_URL) and redis-server")
    out = tmp_path / "bench.json"
    name = f"echo_bench_ci_{uuid.uuid4().hex[:8]}"
    run = subprocess.run(
        [sys.executable, "-m", "bench", "run", "--tiny", "--scenario", "paced,fanout,resume,two",
         "--processes", "", "--systems", "echo", "--pg-url", database_url, "--db-name", name,
         "--json", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=170,
    )  # fmt: skip
    report = run.stdout + run.stderr
    assert out.exists(), report
    results = json.loads(out.read_text())["results"]
    assert set(results) >= {"paced", "fanout", "resume", "paced x2", "fanout x2", "resume x2"}
    for scenario, by_system in results.items():
        for system, result in by_system.items():
            where = f"{scenario} on {system}"
            if "received" in result:
                assert result["received"] > 0, where
                assert result["stored"] == result["sent"] - result["rejected"], where
            for field in ("lost", "duplicates", "out_of_order", "gaps", "replay_errors"):
                assert not result.get(field), f"{where}: {field}={result.get(field)}\n{report}"
            if "clients" in result:
                assert result["gap_free_complete"] == result["clients"], where
    assert run.returncode == 0, report


@pytest.mark.timeout(180)
def test_the_tiny_rest_scenario_answers_no_5xx_within_the_pool(tmp_path: Path) -> None:
    """`python -m bench run --tiny --scenario rest`: any 5xx, unexpected answer or more
    PostgreSQL backends than DB_POOL_MAX fails the run (never its timings)."""
    database_url = os.environ.get("DATABASE_URL", "")
    if not database_url.startswith("postgres"):
        pytest.skip("needs PostgreSQL (DATABASE_URL)")
    out = tmp_path / "bench.json"
    name = f"echo_bench_ci_{uuid.uuid4().hex[:8]}"
    run = subprocess.run(
        [sys.executable, "-m", "bench", "run", "--tiny", "--scenario", "rest", "--systems", "echo",
         "--pg-url", database_url, "--db-name", name, "--json", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=170,
    )  # fmt: skip
    report = run.stdout + run.stderr
    assert run.returncode == 0, report
    rest = json.loads(out.read_text())["rest"]
    assert set(rest) == {"c=4", "c=32"}
    for row in rest.values():
        for summary in row.values():
            assert summary["requests"] > 0, report
            assert summary["server_errors"] == 0, report
            assert 1 <= summary["max_backends"] <= 10, report
    assert "| 32 | echo |" in run.stdout


@pytest.mark.timeout(300)
def test_tiny_shards_four_processes_and_the_tutorial_baseline_lose_nothing(tmp_path: Path) -> None:
    """Issue 23: `shards` (the layer on two redis-servers against one), `two`'s efficiency run
    on four processes (and one, its reference) and the `tutorial` baseline in paced and
    maxrate, at the tiny size: any lost, duplicated, reordered or gapped delivery, a stored-row
    count (ECHO's or the tutorial's own table) other than the accepted sends, or a failed
    connection fails it; never the timings."""
    database_url = os.environ.get("DATABASE_URL", "")
    if not database_url.startswith("postgres") or shutil.which("redis-server") is None:
        pytest.skip("needs PostgreSQL (DATABASE_URL) and redis-server")
    out = tmp_path / "bench.json"
    name = f"echo_bench_ci_{uuid.uuid4().hex[:8]}"
    run = subprocess.run(
        [sys.executable, "-m", "bench", "run", "--tiny", "--scenario", "paced,maxrate,two,shards",
         "--two-scenarios", "", "--processes", "4", "--systems", "echo,tutorial",
         "--pg-url", database_url, "--db-name", name, "--json", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=290,
    )  # fmt: skip
    report = run.stdout + run.stderr
    assert out.exists(), report
    results = json.loads(out.read_text())["results"]
    assert set(results["paced"]) == {"echo", "tutorial"}, report
    assert set(results["maxrate"]) == {"echo", "tutorial"}, report
    assert set(results["efficiency x4 low"]) == {"echo x4"}, report
    assert set(results["efficiency x1 low"]) == {"echo x1"}, report
    assert set(results["shards"]) == {"echo 1 redis", "echo 2 redis"}, report
    assert results["efficiency x4 low"]["echo x4"]["processes"] == 4
    assert results["shards"]["echo 2 redis"]["redis_servers"] == 2
    # The second shard carried part of the layer's traffic (its only clients are the layer's).
    assert results["shards"]["echo 2 redis"]["cpu"]["redis_commands"]["redis1"] > 0, report
    assert results["shards"]["echo 1 redis"]["cpu"]["redis_commands"].keys() == {"redis0"}
    for scenario, by_system in results.items():
        for system, result in by_system.items():
            where = f"{scenario} on {system}"
            assert result["sent"] > 0, where
            assert result["stored"] == result["sent"] - result["rejected"], where
            assert not result["connect"]["failed"], where
            for field in ("lost", "duplicates", "out_of_order", "gaps"):
                assert not result.get(field), f"{where}: {field}={result.get(field)}\n{report}"
    assert "echo / tutorial" in run.stdout
    assert "| echo x4 | 4 |" in run.stdout
    assert "echo 2 redis / 1 redis" in run.stdout
    assert run.returncode == 0, report
