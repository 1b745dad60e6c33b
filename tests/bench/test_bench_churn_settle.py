"""The churn scenario reads the server's RSS once the server is quiet (issue 24): a round's
teardown outlasts the tiny round, and RSS read while it runs moved with how far it had got."""

from __future__ import annotations

from typing import Any

from bench import scenarios


class Server:
    """The server's CPU seconds, read before and after each window: it spends `per_window[i]`
    in window i (the last figure from then on)."""

    def __init__(self, per_window: list[float]) -> None:
        self.per_window = per_window
        self.reads = 0
        self.windows = 0
        self.total = 0.0

    def cpu(self) -> float:
        self.reads += 1
        if self.reads % 2 == 0:  # the end of a window
            self.total += self.per_window[min(self.windows, len(self.per_window) - 1)]
            self.windows += 1
        return self.total


async def test_churn_reads_rss_after_the_teardown_has_finished(monkeypatch: Any) -> None:
    monkeypatch.setattr(scenarios, "CHURN_QUIET_WINDOW_S", 0.01)
    server = Server([0.3, 0.3, 0.2, 0.0])  # tearing sockets down for three windows
    waited = await scenarios.settled(server)  # type: ignore[arg-type]
    assert server.windows == 4
    assert waited >= 0.04


async def test_churn_waits_for_a_busy_server_no_longer_than_its_cap(monkeypatch: Any) -> None:
    monkeypatch.setattr(scenarios, "CHURN_QUIET_WINDOW_S", 0.01)
    monkeypatch.setattr(scenarios, "CHURN_QUIET_MAX_S", 0.1)
    server = Server([0.3])  # never quiet
    waited = await scenarios.settled(server)  # type: ignore[arg-type]
    assert 0.1 <= waited < 1.0
    assert server.windows >= 5
