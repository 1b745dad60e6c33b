"""No HTTP views: the tutorial baseline is its websocket route alone."""

from __future__ import annotations

from typing import Any

urlpatterns: list[Any] = []
