"""`python -m echo_site.serve [daphne options] echo_site.asgi:application` — daphne, as in the
Procfile, with:
- the event loop under Twisted chosen by ECHO_EVENT_LOOP: uvloop (the default; less CPU per
  delivery, docs/benchmarks.md) or asyncio's own;
- the run-time patches of Twisted, autobahn and daphne applied, each checked against the
  versions it was written for (echo_site/patches/); one line names the active ones;
- daphne's websocket frame and message limits defaulting to settings.LIVE_MAX_FRAME_BYTES
  (over it: close 1009) unless given on the command line.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import Any

EVENT_LOOPS = ("uvloop", "asyncio")

logger = logging.getLogger("echo_site.serve")


def install_event_loop(name: str) -> asyncio.AbstractEventLoop:
    """Create the loop and install Twisted's asyncio reactor on it, before daphne.server is
    imported: that import keeps an asyncio reactor already installed (and otherwise installs one
    on `asyncio.new_event_loop()`). No event loop policy is set: policies are deprecated from
    Python 3.14 on."""
    if name not in EVENT_LOOPS:
        raise SystemExit(f"ECHO_EVENT_LOOP must be one of {', '.join(EVENT_LOOPS)}, not {name!r}")
    if "twisted.internet.reactor" in sys.modules:
        raise SystemExit("echo_site.serve: a Twisted reactor was installed before the event loop")
    if name == "uvloop":
        import uvloop

        loop: asyncio.AbstractEventLoop = uvloop.new_event_loop()
    else:
        loop = asyncio.new_event_loop()
    if "ASGI_THREADS" in os.environ:  # what daphne.server does for the loop it would create
        loop.set_default_executor(ThreadPoolExecutor(max_workers=int(os.environ["ASGI_THREADS"])))
    asyncio.set_event_loop(loop)
    from twisted.internet import asyncioreactor

    asyncioreactor.install(loop)
    return loop


def loop_name(loop: asyncio.AbstractEventLoop) -> str:
    return "uvloop" if type(loop).__module__.startswith("uvloop") else "asyncio"


def with_frame_limit(argv: list[str], limit: int) -> list[str]:
    """daphne's options, with the frame and message limits set to `limit` where not given."""
    out = list(argv)
    for option in ("--websocket-max-message-size", "--websocket-max-frame-size"):
        if not any(a == option or a.startswith(option + "=") for a in argv):
            out[:0] = [option, str(limit)]
    return out


def main(argv: list[str] | None = None) -> None:
    loop = install_event_loop(os.environ.get("ECHO_EVENT_LOOP", "uvloop"))

    from daphne import server as daphne_server
    from daphne.cli import CommandLineInterface

    # daphne.server's import made a loop of its own for a reactor it then found installed on
    # ours: nothing runs that loop, and nothing in daphne reads it again. Closed, not replaced.
    spare: asyncio.AbstractEventLoop = daphne_server.twisted_loop
    if spare is not loop:
        spare.close()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "echo_site.settings")
    from django.conf import settings

    # Patched before the app is imported, as the launcher always did: applied after it (or after
    # an early django.setup()), the server kept ~0.6 MB more after a dropped slow reader
    # (tests/live/test_slow_consumer.py, 7 of 7 runs; cause not found). A skipped speed patch's
    # warning goes to stderr at once: Django's logging is not set up yet.
    from echo_site import patches

    active = patches.apply_all()
    off = os.environ.get(patches.OFF_ENV, "").strip()
    line = f"active patches: {', '.join(active) or '-'}; loop={loop_name(loop)}"
    if off:
        line += f"; switched off by {patches.OFF_ENV}: {off}"

    class EchoCommandLine(CommandLineInterface):  # type: ignore[misc]
        def load_asgi_app(self, asgi_app_path: str) -> Any:
            application = super().load_asgi_app(asgi_app_path)
            # The app's import set Django's logging up: the line goes where every line goes.
            logger.info("%s", line)
            return application

    args = sys.argv[1:] if argv is None else argv
    EchoCommandLine().run(with_frame_limit(args, settings.LIVE_MAX_FRAME_BYTES))


if __name__ == "__main__":
    main()
