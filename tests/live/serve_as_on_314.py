"""`python -W error::DeprecationWarning -m tests.live.serve_as_on_314 [daphne options]`:
echo_site.serve with the event-loop-policy API deprecated as Python 3.14 deprecates it, so that
a launcher still relying on it fails here, on the Python the tests run on (3.11)."""

from __future__ import annotations

import asyncio
import runpy
import warnings
from collections.abc import Callable
from typing import Any

DEPRECATED_IN_314 = ("get_event_loop_policy", "set_event_loop_policy")


def deprecated(name: str, original: Callable[..., Any]) -> Callable[..., Any]:
    def call(*args: Any, **kwargs: Any) -> Any:
        warnings.warn(
            f"asyncio.{name} is deprecated since Python 3.14", DeprecationWarning, stacklevel=2
        )
        return original(*args, **kwargs)

    return call


for _name in DEPRECATED_IN_314:
    setattr(asyncio, _name, deprecated(_name, getattr(asyncio, _name)))

runpy.run_module("echo_site.serve", run_name="__main__", alter_sys=True)
