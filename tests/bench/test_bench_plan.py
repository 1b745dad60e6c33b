"""Which (scenario, system) runs the bench plans: `two` runs the scenarios `--two-scenarios`
names on two processes, and an unknown name stops the run before anything starts."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.__main__ import ROOT, efficiency_rate, parse_args, parse_processes, plan_jobs, run
from bench.scenarios import FULL

OTHER = Path("elsewhere/echo-before")


def test_two_runs_only_the_chosen_scenarios_on_two_processes_for_every_variant():
    jobs = plan_jobs(
        ["maxrate", "two"],
        ["maxrate"],
        [("echo", ROOT), ("echo@before", OTHER)],
        {"echo", "bare"},
    )
    assert [(key, label, kind, procs) for key, label, kind, procs, _ in jobs] == [
        ("maxrate", "echo", "echo", 1),
        ("maxrate", "echo@before", "echo", 1),
        ("maxrate", "bare", "bare", 1),
        ("maxrate x2", "echo x2", "echo", 2),
        ("maxrate x2", "echo@before x2", "echo", 2),
        ("maxrate x2", "bare x2", "bare", 2),
    ]
    assert [cwd for *_, cwd in jobs] == [ROOT, OTHER, ROOT, ROOT, OTHER, ROOT]


def test_two_runs_all_four_by_default_and_bare_has_no_resume():
    args = parse_args(["run", "--scenario", "two", "--systems", "echo,bare"])
    jobs = plan_jobs(["two"], args.two_scenarios.split(","), [("echo", ROOT)], {"echo", "bare"})
    assert [label for _, label, *_ in jobs if label == "echo x2"] == ["echo x2"] * 4
    assert {key for key, label, *_ in jobs if label == "bare x2"} == {
        "paced x2",
        "maxrate x2",
        "fanout x2",
    }


@pytest.mark.parametrize(
    "argv",
    [
        ["--scenario", "maxrate,burst"],
        ["--scenario", "two", "--two-scenarios", "idle"],
    ],
)
def test_an_unknown_scenario_stops_the_run_before_anything_starts(argv):
    with pytest.raises(SystemExit, match="unknown scenarios"):
        run(parse_args(["run", *argv]))


def test_two_measures_efficiency_on_one_two_and_four_processes_four_at_the_lower_rate():
    args = parse_args(["run", "--scenario", "two", "--two-scenarios", "paced"])
    jobs = plan_jobs(
        ["two"], ["paced"], [("echo", ROOT)], {"echo"}, parse_processes(args.processes)
    )
    assert [(key, label, procs) for key, label, _, procs, _ in jobs] == [
        ("paced x2", "echo x2", 2),
        ("efficiency x1", "echo x1", 1),
        ("efficiency x2", "echo x2", 2),
        ("efficiency x1 per2", "echo x1", 1),
        ("efficiency x1 low", "echo x1", 1),
        ("efficiency x4 low", "echo x4", 4),
        ("efficiency x1 low per4", "echo x1", 1),
    ]
    sizes = FULL
    rates = {key: efficiency_rate(key, sizes) for key, *_ in jobs if key.startswith("eff")}
    assert rates == {
        "efficiency x1": 300.0,
        "efficiency x2": 300.0,
        "efficiency x1 per2": 150.0,
        "efficiency x1 low": 150.0,
        "efficiency x4 low": 150.0,
        "efficiency x1 low per4": 37.5,
    }


def test_processes_names_the_counts_and_one_is_always_the_reference():
    assert parse_processes("4") == [4]
    jobs = plan_jobs(["two"], [], [("echo", ROOT)], {"echo"}, parse_processes("4"))
    assert [(key, procs) for key, _, _, procs, _ in jobs] == [
        ("efficiency x1 low", 1),
        ("efficiency x4 low", 4),
        ("efficiency x1 low per4", 1),
    ]
    assert plan_jobs(["two"], [], [("echo", ROOT)], {"echo"}, parse_processes("")) == []
    for bad in ("0,2", "two"):
        with pytest.raises(SystemExit, match="positive"):
            parse_processes(bad)


def test_shards_runs_echo_on_one_and_two_redis_servers_with_two_processes_each():
    jobs = plan_jobs(["shards"], [], [("echo", ROOT)], {"echo", "bare", "tutorial"})
    assert [(key, label, kind, procs) for key, label, kind, procs, _ in jobs] == [
        ("shards", "echo 1 redis", "echo", 2),
        ("shards", "echo 2 redis", "echo", 2),
    ]


def test_the_tutorial_system_runs_where_bare_does_and_not_in_resume():
    jobs = plan_jobs(
        ["paced", "resume", "two"], ["maxrate", "resume"], [("echo", ROOT)], {"echo", "tutorial"}
    )
    assert [(key, label, kind, procs) for key, label, kind, procs, _ in jobs] == [
        ("paced", "echo", "echo", 1),
        ("paced", "tutorial", "tutorial", 1),
        ("resume", "echo", "echo", 1),
        ("maxrate x2", "echo x2", "echo", 2),
        ("maxrate x2", "tutorial x2", "tutorial", 2),
        ("resume x2", "echo x2", "echo", 2),
    ]


def test_an_unknown_system_stops_the_run_before_anything_starts():
    with pytest.raises(SystemExit, match="unknown systems: tutorail"):
        run(parse_args(["run", "--scenario", "paced", "--systems", "echo,tutorail"]))
