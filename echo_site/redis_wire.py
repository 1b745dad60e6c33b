"""The channel layer's own Redis connections (echo_site/channel_layer.py): one that publishes,
one that subscribes and receives.

redis-py's pipeline costs about 125 microseconds of event-loop time for a batch of three
PUBLISHes (its retry wrapper, the pool checkout, packing each command through its encoder, one
awaited parse per reply, the reset); every chat message is such a batch, and under load that was
a fifth of the server's busy time (docs/benchmarks.md). Here a batch is packed into one buffer,
written straight to the socket, and its replies are parsed by hiredis as they arrive: one future
per batch, settled by `data_received`. About 20 microseconds for the same batch. Receiving was
the same story (redis-py's `get_message`, polled with a timeout, once per message): here each
published message is handed to a callback the moment hiredis has parsed it.

The URL is read by redis-py's own `parse_url` (redis://, rediss:// with its ssl_* options,
unix://), so the publisher connects where the rest of the layer does; a password is sent with
AUTH. Pub/sub channels are global to the server, so the URL's database number does not matter.
"""

from __future__ import annotations

import asyncio
import ssl
from collections import deque
from collections.abc import Callable
from typing import Any

import hiredis
from redis.asyncio.connection import RedisSSLContext, SSLConnection, parse_url
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError


def pack_command(*args: bytes) -> bytes:
    """One command in RESP, as Redis reads it (binary-safe)."""
    parts = [b"*%d\r\n" % len(args)]
    for arg in args:
        parts.append(b"$%d\r\n%s\r\n" % (len(arg), arg))
    return b"".join(parts)


OnMessage = Callable[[bytes, bytes], None]
OnLost = Callable[[], None]


class RedisConnection(asyncio.Protocol):
    """One connection to Redis. `send` writes packed commands and returns a future for all of
    their replies; replies come back in order, so the oldest waiting batch owns the next
    reply. On a subscribed connection, a published message (["message", channel, data]) is
    no reply: it goes to `on_message`. A lost connection fails every waiting batch and calls
    `on_lost`; the connection is then done (`closed`) and the owner opens a new one."""

    def __init__(self, on_message: OnMessage | None = None, on_lost: OnLost | None = None) -> None:
        self._on_message = on_message
        self._on_lost = on_lost
        self._parser = hiredis.Reader()
        # [replies still expected, the replies so far, the batch's future]
        self._waiting: deque[tuple[list[int], list[Any], asyncio.Future[list[Any]]]] = deque()
        self._transport: asyncio.Transport | None = None
        self.closed = False

    @classmethod
    async def open(
        cls, url: str, *, on_message: OnMessage | None = None, on_lost: OnLost | None = None
    ) -> RedisConnection:
        """Connect and authenticate; the caller bounds the time."""
        kwargs: dict[str, Any] = dict(parse_url(url))
        loop = asyncio.get_running_loop()

        def protocol() -> RedisConnection:
            return cls(on_message=on_message, on_lost=on_lost)

        try:
            if "path" in kwargs:
                _, connection = await loop.create_unix_connection(protocol, kwargs["path"])
            else:
                _, connection = await loop.create_connection(
                    protocol,
                    kwargs.get("host", "localhost"),
                    int(kwargs.get("port", 6379)),
                    ssl=_ssl_context(kwargs),
                )
        except OSError as error:
            raise RedisConnectionError(f"Error connecting to Redis: {error}") from error
        if kwargs.get("password") is not None:
            credentials = [kwargs["password"]]
            if kwargs.get("username"):
                credentials.insert(0, kwargs["username"])
            try:
                await connection.send(
                    pack_command(b"AUTH", *(c.encode() for c in credentials)), replies=1
                )
            except BaseException:
                connection.close()
                raise
        return connection

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self._parser.feed(data)
        while (reply := self._parser.gets()) is not False:
            if (
                self._on_message is not None
                and type(reply) is list
                and len(reply) == 3
                and reply[0] == b"message"
            ):
                self._on_message(reply[1], reply[2])
                continue
            if not self._waiting:  # nothing asked for it: the stream is out of step
                self.lose(RedisConnectionError("Redis sent a reply nobody asked for."))
                return
            left, replies, done = self._waiting[0]
            replies.append(reply)
            left[0] -= 1
            if left[0] == 0:
                self._waiting.popleft()
                if not done.done():
                    errors = [r for r in replies if isinstance(r, hiredis.ReplyError)]
                    if errors:
                        done.set_exception(ResponseError(str(errors[0])))
                    else:
                        done.set_result(replies)

    def connection_lost(self, exc: Exception | None) -> None:
        self.lose(RedisConnectionError(f"Connection to Redis lost: {exc or 'closed'}"))

    def send(self, packed: bytes, *, replies: int) -> asyncio.Future[list[Any]]:
        """Write `packed` (`replies` commands); the future gets their replies in order."""
        done: asyncio.Future[list[Any]] = asyncio.get_running_loop().create_future()
        if self.closed or self._transport is None:
            done.set_exception(RedisConnectionError("Connection to Redis closed."))
            return done
        self._waiting.append(([replies], [], done))
        self._transport.write(packed)
        return done

    def close(self) -> None:
        """The owner is done with it: waiting batches fail, `on_lost` is not called."""
        self._on_lost = None
        self.lose(RedisConnectionError("Connection to Redis closed."))

    def lose(self, error: Exception) -> None:
        """Drop the connection (lost, or out of step after a timeout): waiting batches get
        `error`, then `on_lost` is called once."""
        if self.closed:
            return
        self.closed = True
        if self._transport is not None:
            self._transport.abort()
        while self._waiting:
            _, _, done = self._waiting.popleft()
            if not done.done():
                done.set_exception(error)
        if self._on_lost is not None:
            self._on_lost()


def _ssl_context(kwargs: dict[str, Any]) -> ssl.SSLContext | None:
    if kwargs.get("connection_class") is not SSLConnection:
        return None
    return RedisSSLContext(
        keyfile=kwargs.get("ssl_keyfile"),
        certfile=kwargs.get("ssl_certfile"),
        cert_reqs=kwargs.get("ssl_cert_reqs", "required"),
        ca_certs=kwargs.get("ssl_ca_certs"),
        ca_path=kwargs.get("ssl_ca_path"),
        check_hostname=bool(kwargs.get("ssl_check_hostname", False)),
    ).get()
