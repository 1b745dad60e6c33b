"""`--variant NAME:KEY=VALUE`: ECHO from this tree with other environment, in the same run, and
the same-run ratios of CPU per delivery the bench prints for it."""

from __future__ import annotations

import pytest

from bench.variants import parse_variants, render_ratios


def test_variants_collect_their_environment_by_name():
    assert parse_variants(
        [
            "no-eager:ECHO_PATCHES_OFF=eager_tcp_writes,small_frame_masker",
            "asyncio:ECHO_EVENT_LOOP=asyncio",
            "asyncio:LOG_LEVEL=INFO",
        ]
    ) == {
        "echo@no-eager": {"ECHO_PATCHES_OFF": "eager_tcp_writes,small_frame_masker"},
        "echo@asyncio": {"ECHO_EVENT_LOOP": "asyncio", "LOG_LEVEL": "INFO"},
    }


@pytest.mark.parametrize("spec", ["no-eager", "no-eager:ECHO_PATCHES_OFF", ":A=1"])
def test_a_malformed_variant_stops_the_run(spec):
    with pytest.raises(SystemExit, match="NAME:KEY=VALUE"):
        parse_variants([spec])


def test_ratios_are_medians_of_the_rounds_against_echo():
    results = {
        "paced": {
            "echo": [{"cpu_us_per_delivery": v} for v in (400.0, 500.0, 420.0)],
            "echo@no-eager": [{"cpu_us_per_delivery": v} for v in (480.0, 520.0, 470.0)],
        },
        "maxrate": {
            "echo": [{"sustained_cpu_us_per_delivery": 300.0}],
            "echo@asyncio": [{"sustained_cpu_us_per_delivery": 330.0}],
        },
    }
    text = render_ratios(results)
    assert "| echo | 400, 500, 420 | 420 | 1.000 | - | 1.000 | - |" in text
    # medians 480 / 420 = 1.143: the patch saves 1 - 420/480 = 12.5% of what it costs without
    # it; round by round 1.2, 1.04 and 1.119, median 1.119 (10.6%)
    assert "| echo@no-eager | 480, 520, 470 | 480 | 1.143 | +12.5% | 1.119 | +10.6% |" in text
    assert "| echo@asyncio | 330 | 330 | 1.100 | +9.1% | 1.100 | +9.1% |" in text
