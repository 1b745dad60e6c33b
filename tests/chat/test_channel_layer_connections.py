"""The layer connects wherever redis-py does, exactly as redis-py does (its pools come from
`ConnectionPool.from_url`): password, ACL user, TLS with hostname verification, unix socket;
binary payloads arrive as published (echo_site/channel_layer.py, echo_site/redis_shard.py)."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from django.conf import settings
from redis.exceptions import AuthenticationError
from redis.exceptions import ConnectionError as RedisConnectionError

from echo_site.channel_layer import BatchingPubSubChannelLayer
from tests.live.servers import RedisServer, free_port

pytestmark = [pytest.mark.services, pytest.mark.asyncio]


def fresh_layer(url: str) -> BatchingPubSubChannelLayer:
    return BatchingPubSubChannelLayer(hosts=[url], prefix=f"t{uuid.uuid4().hex[:8]}")


async def test_binary_payloads_are_published_as_they_are():
    channel = f"wire-{uuid.uuid4().hex}"
    payloads = [b"plain", b"\x00\xff\r\n*3\r\n$", "ünïcode".encode(), b"x" * 70_000]
    subscriber = aioredis.Redis.from_url(settings.REDIS_URL)
    pubsub = subscriber.pubsub()
    await pubsub.subscribe(channel)
    layer = fresh_layer(settings.REDIS_URL)
    shard = layer._get_layer().shards[0]
    try:
        done = asyncio.get_running_loop().create_future()
        for n, payload in enumerate(payloads):
            shard.enqueue_with(channel, payload, done, settles=n == len(payloads) - 1)
        await asyncio.wait_for(done, 5)
        got = []
        while len(got) < len(payloads):
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=5)
            if message is not None:
                got.append(message["data"])
        assert got == payloads
    finally:
        await layer.flush()
        await pubsub.aclose()
        await subscriber.aclose()


async def test_nothing_listening_is_a_connection_error():
    layer = fresh_layer(f"redis://127.0.0.1:{free_port()}")
    with pytest.raises(RedisConnectionError):
        await asyncio.wait_for(layer.group_send("room", {"type": "x"}), 10)
    await layer.flush()


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
        await layer.group_add("room", channel)  # returns once Redis confirmed it
        await layer.group_send("room", {"type": "x", "url": url})
        assert (await asyncio.wait_for(layer.receive(channel), 5))["url"] == url
        await layer.flush()


async def test_a_wrong_password_fails_the_publish_with_redis_own_error(locked_redis):
    server, *_ = locked_redis
    layer = fresh_layer(f"redis://:wrong@127.0.0.1:{server.port}/0")
    with pytest.raises(AuthenticationError):
        await asyncio.wait_for(layer.group_send("room", {"type": "x"}), 10)
    await layer.flush()


async def publish_over(url: str) -> None:
    layer = fresh_layer(url)
    try:
        await asyncio.wait_for(layer.group_send("room", {"type": "x"}), 10)
    finally:
        await layer.flush()


async def test_a_certificate_the_client_cannot_verify_is_refused(locked_redis):
    _, tls_port, _, _ = locked_redis
    with pytest.raises(RedisConnectionError, match="CERTIFICATE_VERIFY_FAILED"):
        await publish_over(f"rediss://:s3cret@localhost:{tls_port}/0")


async def test_a_certificate_for_another_host_name_is_refused_unless_hostname_checks_are_off(
    locked_redis,
):
    """The certificate is valid (its CA is given) but names `localhost`: reaching the server as
    127.0.0.1 fails the hostname check, as with any redis-py client, unless the URL turns the
    check off with redis-py's own option."""
    _, tls_port, _, cert = locked_redis
    url = f"rediss://:s3cret@127.0.0.1:{tls_port}/0?ssl_ca_certs={cert}"
    with pytest.raises(RedisConnectionError, match="IP address mismatch"):
        await publish_over(url)
    await publish_over(url + "&ssl_check_hostname=false")
    await publish_over(f"rediss://:s3cret@localhost:{tls_port}/0?ssl_ca_certs={cert}")
