"""The S3 path, against a real S3-compatible server process on 127.0.0.1 (moto's standalone
server) through django-storages and boto3's real HTTP stack: uploads land in the bucket under
their random key, downloads are presigned GETs that return the same bytes as an attachment."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import boto3
import pytest
from django.core.files.storage import storages
from django.utils import timezone

from orders import services
from orders.attachments.services import attachment_purge_orphans
from orders.models import Attachment

from .files import pdf_bytes, png_bytes, upload

pytestmark = [pytest.mark.services, pytest.mark.django_db]

BUCKET = "echo-attachments-test"
CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    port = _free_port()
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("moto's S3 server did not start") from None
                time.sleep(0.1)
        client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", **CREDENTIALS)
        client.create_bucket(Bucket=BUCKET)
        yield endpoint
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def s3_storage(settings: Any, s3_endpoint: str) -> Any:
    settings.STORAGES = {
        **settings.STORAGES,
        "attachments": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": BUCKET,
                "endpoint_url": s3_endpoint,
                "region_name": "us-east-1",
                "access_key": "testing",
                "secret_key": "testing",
                "default_acl": None,
                "querystring_auth": True,
                "querystring_expire": 300,
                "file_overwrite": False,
                "addressing_style": "path",
            },
        },
    }
    return boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1", **CREDENTIALS)


def test_upload_goes_to_the_bucket_and_downloads_by_presigned_url(
    api: Any, order: Any, buyer: Any, creator: Any, s3_storage: Any
) -> None:
    content = pdf_bytes("stored in S3") + b"x" * 300_000
    response = api(buyer).post(
        f"/api/orders/{order.pk}/attachments",
        {"file": upload("contract.pdf", content)},
        format="multipart",
    )
    assert response.status_code == 201, response.content
    stored = Attachment.objects.get(pk=response.json()["id"])
    head = s3_storage.head_object(Bucket=BUCKET, Key=stored.key)
    assert head["ContentLength"] == len(content)

    services.message_post(order=order, sender=buyer, content="x", attachment_ids=[stored.pk])
    redirect = api(creator).get(f"/api/attachments/{stored.pk}/download")
    assert redirect.status_code == 302
    url = redirect["Location"]
    assert url.startswith("http://127.0.0.1:") and "Signature=" in url
    with urllib.request.urlopen(url, timeout=10) as got:  # noqa: S310 - our local server
        assert got.read() == content
        assert got.headers["Content-Disposition"].startswith("attachment;")


def test_image_preview_is_stored_beside_the_file(
    api: Any, order: Any, buyer: Any, s3_storage: Any
) -> None:
    response = api(buyer).post(
        f"/api/orders/{order.pk}/attachments",
        {"file": upload("p.png", png_bytes((800, 600)))},
        format="multipart",
    )
    assert response.status_code == 201, response.content
    stored = Attachment.objects.get(pk=response.json()["id"])
    assert stored.preview_key
    assert storages["attachments"].exists(stored.preview_key)
    links = api(buyer).get(f"/api/attachments/{stored.pk}").json()
    with urllib.request.urlopen(links["preview_url"], timeout=10) as got:  # noqa: S310
        assert got.read().startswith(b"\x89PNG")


def test_purging_an_orphan_removes_its_object(
    api: Any, order: Any, buyer: Any, s3_storage: Any
) -> None:
    response = api(buyer).post(
        f"/api/orders/{order.pk}/attachments",
        {"file": upload("o.pdf", pdf_bytes())},
        format="multipart",
    )
    stored = Attachment.objects.get(pk=response.json()["id"])
    Attachment.objects.filter(pk=stored.pk).update(created_at=timezone.now() - timedelta(days=2))
    assert attachment_purge_orphans() == 1
    listed = s3_storage.list_objects_v2(Bucket=BUCKET, Prefix=stored.key)
    assert listed.get("KeyCount", 0) == 0
