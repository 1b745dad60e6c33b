"""The publisher's own Redis connection (echo_site/redis_wire.py): what it writes is what Redis
reads, replies are matched to batches however they arrive, failures reach the batch, and it
connects wherever the rest of the layer does (password, ACL user, TLS, unix socket)."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from django.conf import settings
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError

from echo_site.channel_layer import BatchingPubSubChannelLayer
from echo_site.redis_wire import RedisConnection, pack_command
from tests.live.servers import RedisServer, free_port

pytestmark = [pytest.mark.services, pytest.mark.asyncio]


class FakeTransport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.written: list[bytes] = []
        self.aborted = False

    def write(self, data: bytes) -> None:  # type: ignore[override]
        self.written.append(bytes(data))

    def abort(self) -> None:
        self.aborted = True


def connected() -> tuple[RedisConnection, FakeTransport]:
    connection = RedisConnection()
    transport = FakeTransport()
    connection.connection_made(transport)
    return connection, transport


async def test_a_publish_is_packed_as_redis_reads_it_binary_payloads_included():
    packed = pack_command(b"PUBLISH", b"ch", b"a\r\nb")
    assert packed == b"*3\r\n$7\r\nPUBLISH\r\n$2\r\nch\r\n$4\r\na\r\nb\r\n"

    channel = f"wire-{uuid.uuid4().hex}".encode()
    payloads = [b"plain", b"\x00\xff\r\n*3\r\n$", "ünïcode".encode(), b"x" * 70_000]
    subscriber = aioredis.Redis.from_url(settings.REDIS_URL)
    pubsub = subscriber.pubsub()
    await pubsub.subscribe(channel)
    connection = await RedisConnection.open(settings.REDIS_URL)
    try:
        packed = b"".join(pack_command(b"PUBLISH", channel, payload) for payload in payloads)
        assert await connection.send(packed, replies=len(payloads)) == [1] * len(payloads)
        got = []
        while len(got) < len(payloads):
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=5)
            if message is not None:
                got.append(message["data"])
        assert got == payloads
    finally:
        connection.close()
        await pubsub.aclose()
        await subscriber.aclose()


async def test_replies_are_matched_to_batches_however_the_bytes_arrive():
    connection, transport = connected()
    first = connection.send(b"..", replies=2)
    second = connection.send(b"..", replies=1)
    for byte in b":1\r\n:0\r\n:7\r\n":  # one byte per read
        connection.data_received(bytes([byte]))
    assert first.result() == [1, 0]
    assert second.result() == [7]
    assert transport.written == [b"..", b".."]


async def test_an_error_reply_fails_its_batch_only():
    connection, _ = connected()
    failing = connection.send(b"..", replies=2)
    fine = connection.send(b"..", replies=1)
    connection.data_received(b":1\r\n-ERR wrong number of arguments\r\n:2\r\n")
    with pytest.raises(ResponseError, match="wrong number of arguments"):
        failing.result()
    assert fine.result() == [2]
    assert not connection.closed


async def test_a_lost_connection_fails_every_waiting_batch_and_the_connection_is_done():
    connection, transport = connected()
    batches = [connection.send(b"..", replies=1) for _ in range(3)]
    connection.data_received(b":1\r\n")
    connection.connection_lost(ConnectionResetError("reset by peer"))
    assert batches[0].result() == [1]
    for batch in batches[1:]:
        with pytest.raises(RedisConnectionError, match="reset by peer"):
            batch.result()
    assert connection.closed
    later = connection.send(b"..", replies=1)
    with pytest.raises(RedisConnectionError):
        later.result()
    assert transport.written == [b".."] * 3  # nothing written after the loss


async def test_a_reply_nobody_asked_for_closes_the_connection():
    connection, transport = connected()
    connection.data_received(b":1\r\n")
    assert connection.closed
    assert transport.aborted


async def test_nothing_listening_is_a_connection_error():
    with pytest.raises(RedisConnectionError):
        await RedisConnection.open(f"redis://127.0.0.1:{free_port()}")


@pytest.fixture
def tls_files(tmp_path: Path) -> tuple[Path, Path]:
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is not installed (needed to make a certificate for the TLS test)")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=localhost", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


@pytest.fixture
def locked_redis(tmp_path: Path, tls_files: tuple[Path, Path]):
    """A private redis-server with a password, an ACL user, TLS on a second port and a unix
    socket."""
    cert, key = tls_files
    tls_port = free_port()
    socket_path = tmp_path / "redis.sock"
    server = RedisServer(
        args=[
            "--requirepass", "s3cret",
            "--user", "alice", "on", ">wonderland", "~*", "&*", "+@all",
            "--tls-port", str(tls_port),
            "--tls-cert-file", str(cert), "--tls-key-file", str(key),
            "--tls-ca-cert-file", str(cert), "--tls-auth-clients", "no",
            "--unixsocket", str(socket_path), "--unixsocketperm", "700",
        ]
    )  # fmt: skip
    server.start()
    yield server, tls_port, socket_path, cert
    server.stop()


async def test_the_whole_layer_works_with_a_password_an_acl_user_tls_and_a_unix_socket(
    locked_redis,
):
    server, tls_port, socket_path, cert = locked_redis
    urls = [
        f"redis://:s3cret@127.0.0.1:{server.port}/0",
        f"redis://alice:wonderland@127.0.0.1:{server.port}/3",
        f"rediss://:s3cret@localhost:{tls_port}/0?ssl_ca_certs={cert}",
        f"rediss://alice:wonderland@127.0.0.1:{tls_port}/0?ssl_cert_reqs=none",
        f"unix://:s3cret@{socket_path}?db=0",
    ]
    for url in urls:
        layer = BatchingPubSubChannelLayer(hosts=[url], prefix=f"t{uuid.uuid4().hex[:8]}")
        channel = await layer.new_channel()
        await layer.group_add("room", channel)
        await asyncio.sleep(0.1)  # the subscription is live
        await layer.group_send("room", {"type": "x", "url": url})
        assert (await asyncio.wait_for(layer.receive(channel), 5))["url"] == url
        await layer.flush()


async def test_a_wrong_password_fails_the_publish_with_redis_own_error(locked_redis):
    server, *_ = locked_redis
    with pytest.raises(ResponseError, match="WRONGPASS"):
        await RedisConnection.open(f"redis://:wrong@127.0.0.1:{server.port}/0")
    unauthenticated = await RedisConnection.open(f"redis://127.0.0.1:{server.port}/0")
    with pytest.raises(ResponseError, match="NOAUTH"):
        await unauthenticated.send(pack_command(b"PUBLISH", b"ch", b"x"), replies=1)
    unauthenticated.close()


async def test_a_certificate_the_client_cannot_verify_is_refused(locked_redis):
    _, tls_port, _, _ = locked_redis
    with pytest.raises(RedisConnectionError, match="CERTIFICATE_VERIFY_FAILED"):
        await RedisConnection.open(f"rediss://:s3cret@localhost:{tls_port}/0")
