"""`python -m echo_site.serve [daphne options] echo_site.asgi:application` — daphne, as in the
Procfile, with one change: a frame over the size limit is answered with a close frame carrying
1009 (message too big), where autobahn's default drops the TCP connection (the client sees 1006).
"""

from __future__ import annotations

from typing import Any

from daphne import server as daphne_server
from daphne.cli import CommandLineInterface


class ClosingWebSocketFactory(daphne_server.WebSocketFactory):  # type: ignore[misc]
    def setProtocolOptions(self, **options: Any) -> None:  # noqa: N802 - autobahn's name
        options.setdefault("failByDrop", False)
        super().setProtocolOptions(**options)


def main() -> None:
    daphne_server.WebSocketFactory = ClosingWebSocketFactory
    CommandLineInterface.entrypoint()


if __name__ == "__main__":
    main()
