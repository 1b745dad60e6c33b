"""Which (scenario, system) runs the bench plans: `two` runs the scenarios `--two-scenarios`
names on two processes, and an unknown name stops the run before anything starts."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.__main__ import ROOT, parse_args, plan_jobs, run

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
