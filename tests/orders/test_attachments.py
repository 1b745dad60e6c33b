"""Attachments: content-sniffed types against the allow-list, sanitised names, unguessable keys,
the size limit (413 JSON), previews, signed downloads for the parties only, no half-written rows,
and the purge of uploads nobody sent."""

from __future__ import annotations

import io
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.files.storage import storages
from django.core.files.uploadedfile import TemporaryUploadedFile
from django.core.management import call_command
from django.utils import timezone
from PIL import Image

from echo_site.background import enqueue
from orders import services
from orders.attachments import services as attachment_services
from orders.attachments import storage as attachment_storage
from orders.attachments.services import attachment_purge_orphans
from orders.models import Attachment, Message

from .files import EXE_BYTES, pdf_bytes, png_bytes, upload

pytestmark = pytest.mark.django_db


def post_file(api: Any, user: Any, order: Any, name: str, content: bytes) -> Any:
    return api(user).post(
        f"/api/orders/{order.pk}/attachments", {"file": upload(name, content)}, format="multipart"
    )


def fetch(client: Any, url: str) -> Any:
    response = client.get(url)
    return response, b"".join(response.streaming_content) if response.status_code == 200 else b""


def test_upload_is_typed_by_content_not_name(api: Any, order: Any, buyer: Any) -> None:
    response = post_file(api, buyer, order, "holiday.png", pdf_bytes())
    assert response.status_code == 201, response.content
    assert response.json()["content_type"] == "application/pdf"
    assert response.json()["name"] == "holiday.png"
    assert response.json()["has_preview"] is False


@pytest.mark.parametrize("content", [EXE_BYTES, b"\x00\x01\x02\x03" * 100])
def test_types_outside_the_allow_list_are_415(
    api: Any, order: Any, buyer: Any, content: bytes
) -> None:
    response = post_file(api, buyer, order, "report.pdf", content)
    assert (response.status_code, response.json()["code"]) == (415, "file_type_not_allowed")
    assert not Attachment.objects.exists()


def test_the_allow_list_is_configurable(api: Any, order: Any, buyer: Any, settings: Any) -> None:
    settings.ATTACHMENT_TYPES = ["image/png"]
    assert post_file(api, buyer, order, "a.pdf", pdf_bytes()).status_code == 415
    assert post_file(api, buyer, order, "a.png", png_bytes()).status_code == 201


def test_plain_text_is_accepted(api: Any, order: Any, buyer: Any) -> None:
    response = post_file(api, buyer, order, "notes.txt", "Grüße, notes\n".encode())
    assert response.status_code == 201
    assert response.json()["content_type"] == "text/plain"


def test_names_are_sanitised_and_keys_unguessable(api: Any, order: Any, buyer: Any) -> None:
    response = post_file(api, buyer, order, '..\\..\\evil<script>"\x07.pdf', pdf_bytes())
    assert response.status_code == 201
    stored = Attachment.objects.get(pk=response.json()["id"])
    assert stored.original_name == "evil_script_.pdf"
    assert "evil" not in stored.key and len(stored.key) >= 30
    other = post_file(api, buyer, order, "evil.pdf", pdf_bytes())
    assert Attachment.objects.get(pk=other.json()["id"]).key != stored.key


def test_a_file_over_max_upload_mb_is_413_json(
    api: Any, order: Any, buyer: Any, settings: Any
) -> None:
    settings.MAX_UPLOAD_MB = 1
    big = pdf_bytes() + b"0" * (1024 * 1024 + 10)
    response = post_file(api, buyer, order, "big.pdf", big)
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"
    assert not Attachment.objects.exists()


def test_only_parties_upload(api: Any, order: Any, outsider: Any) -> None:
    assert post_file(api, outsider, order, "a.pdf", pdf_bytes()).status_code == 403


def test_a_failed_storage_write_leaves_no_row(
    api: Any, order: Any, buyer: Any, monkeypatch: Any
) -> None:
    def broken(*args: Any, **kwargs: Any) -> str:
        raise OSError("disk full")

    monkeypatch.setattr(type(storages["attachments"]), "save", broken)
    with pytest.raises(OSError, match="disk full"):
        attachment_services.attachment_upload(
            order=order, uploader=buyer, stream=io.BytesIO(pdf_bytes()), name="a.pdf"
        )
    assert not Attachment.objects.exists()


def test_a_failed_row_insert_deletes_the_file(order: Any, buyer: Any, monkeypatch: Any) -> None:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("insert failed")

    monkeypatch.setattr(Attachment.objects, "create", refuse)
    with pytest.raises(RuntimeError):
        attachment_services.attachment_upload(
            order=order, uploader=buyer, stream=io.BytesIO(png_bytes()), name="a.png"
        )
    folder = storages["attachments"].location  # type: ignore[attr-defined]
    assert [p for p in Path(folder).rglob("*") if p.is_file()] == []


def test_image_previews_are_made_once_and_bounded(
    api: Any, order: Any, buyer: Any, client: Any
) -> None:
    response = post_file(api, buyer, order, "big.png", png_bytes((2000, 1000)))
    assert response.json()["has_preview"] is True
    stored = Attachment.objects.get(pk=response.json()["id"])
    with storages["attachments"].open(stored.preview_key) as handle:
        preview = Image.open(handle)
        assert max(preview.size) <= 480


def test_no_preview_past_the_pixel_limit(
    api: Any, order: Any, buyer: Any, monkeypatch: Any
) -> None:
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    response = post_file(api, buyer, order, "bomb.png", png_bytes((100, 100)))
    assert response.status_code == 201
    assert response.json()["has_preview"] is False


def test_parties_download_the_same_bytes_through_a_signed_link(
    api: Any, order: Any, buyer: Any, creator: Any, client: Any
) -> None:
    content = pdf_bytes("the real thing")
    attachment_id = post_file(api, buyer, order, "contract.pdf", content).json()["id"]
    services.message_post(
        order=order, sender=buyer, content="See attached", attachment_ids=[attachment_id]
    )
    redirect = api(creator).get(f"/api/attachments/{attachment_id}/download")
    assert redirect.status_code == 302
    response, body = fetch(client, redirect["Location"])
    assert response.status_code == 200
    assert body == content
    assert response["Content-Disposition"].startswith("attachment;")
    assert "contract.pdf" in response["Content-Disposition"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response["Content-Security-Policy"]
    assert response["Content-Type"] == "application/pdf"


def test_admins_download_outsiders_do_not(
    api: Any, order: Any, buyer: Any, outsider: Any, admin_user: Any
) -> None:
    attachment_id = post_file(api, buyer, order, "a.pdf", pdf_bytes()).json()["id"]
    services.message_post(order=order, sender=buyer, content="x", attachment_ids=[attachment_id])
    assert api(admin_user).get(f"/api/attachments/{attachment_id}/download").status_code == 302
    refused = api(outsider).get(f"/api/attachments/{attachment_id}/download")
    assert (refused.status_code, refused.json()["code"]) == (403, "not_a_party")
    assert api(outsider).get(f"/api/attachments/{attachment_id}").status_code == 403
    assert api(buyer).get("/api/attachments/999999/download").status_code == 404


def test_an_unsent_upload_is_only_its_uploaders(
    api: Any, order: Any, buyer: Any, creator: Any
) -> None:
    attachment_id = post_file(api, buyer, order, "a.pdf", pdf_bytes()).json()["id"]
    assert api(buyer).get(f"/api/attachments/{attachment_id}").status_code == 200
    assert api(creator).get(f"/api/attachments/{attachment_id}").status_code == 403


def test_expired_and_forged_links_are_refused_as_json(
    api: Any, order: Any, buyer: Any, client: Any, monkeypatch: Any
) -> None:
    attachment_id = post_file(api, buyer, order, "a.pdf", pdf_bytes()).json()["id"]
    url = api(buyer).get(f"/api/attachments/{attachment_id}").json()["url"]
    assert client.get(url).status_code == 200

    forged = client.get(url[:-3] + "abc")
    assert (forged.status_code, forged.json()["code"]) == (404, "not_found")

    later = time.time() + 301
    monkeypatch.setattr("django.core.signing.time.time", lambda: later)
    expired = client.get(url)
    assert (expired.status_code, expired.json()["code"]) == (403, "link_expired")


def test_a_link_stops_working_for_someone_no_longer_allowed(
    api: Any, order: Any, buyer: Any, client: Any
) -> None:
    attachment_id = post_file(api, buyer, order, "a.pdf", pdf_bytes()).json()["id"]
    url = attachment_storage.download_url(
        attachment=Attachment.objects.get(pk=attachment_id), user_id=buyer.pk + 999
    )
    assert client.get(url).status_code in (403, 404)


def test_messages_carry_up_to_five_of_the_senders_unsent_files(
    api: Any, order: Any, buyer: Any, creator: Any
) -> None:
    ids = [
        post_file(api, buyer, order, f"{i}.pdf", pdf_bytes(str(i))).json()["id"] for i in range(6)
    ]
    too_many = api(buyer).post(
        f"/api/orders/{order.pk}/messages", {"content": "files", "attachment_ids": ids}
    )
    assert too_many.status_code == 400
    sent = api(buyer).post(
        f"/api/orders/{order.pk}/messages", {"content": "files", "attachment_ids": ids[:2]}
    )
    assert sent.status_code == 201, sent.content
    assert [f["id"] for f in sent.json()["attachments"]] == ids[:2]
    again = api(buyer).post(
        f"/api/orders/{order.pk}/messages", {"content": "again", "attachment_ids": ids[:1]}
    )
    assert again.status_code == 400  # sent already
    theirs = api(creator).post(
        f"/api/orders/{order.pk}/messages", {"content": "mine?", "attachment_ids": [ids[2]]}
    )
    assert theirs.status_code == 400  # someone else's upload
    listed = api(creator).get(f"/api/orders/{order.pk}/messages").json()["results"]
    assert [len(m["attachments"]) for m in listed if m["content"] == "files"] == [2]
    assert Message.objects.filter(order=order).count() == 1


def test_orphans_are_purged_and_sent_files_kept(api: Any, order: Any, buyer: Any) -> None:
    kept = post_file(api, buyer, order, "kept.pdf", pdf_bytes()).json()["id"]
    orphan = post_file(api, buyer, order, "orphan.png", png_bytes()).json()["id"]
    fresh = post_file(api, buyer, order, "fresh.pdf", pdf_bytes()).json()["id"]
    services.message_post(order=order, sender=buyer, content="x", attachment_ids=[kept])
    old = timezone.now() - timedelta(hours=25)
    Attachment.objects.filter(pk__in=[kept, orphan]).update(created_at=old)
    orphan_row = Attachment.objects.get(pk=orphan)
    store = storages["attachments"]
    assert store.exists(orphan_row.key) and store.exists(orphan_row.preview_key)

    assert attachment_purge_orphans(older_than=timedelta(hours=24)) == 1
    assert set(Attachment.objects.values_list("pk", flat=True)) == {kept, fresh}
    assert not store.exists(orphan_row.key) and not store.exists(orphan_row.preview_key)
    assert attachment_purge_orphans(older_than=timedelta(hours=24)) == 0


def test_the_purge_command(api: Any, order: Any, buyer: Any) -> None:
    orphan = post_file(api, buyer, order, "orphan.pdf", pdf_bytes()).json()["id"]
    Attachment.objects.filter(pk=orphan).update(created_at=timezone.now() - timedelta(days=2))
    out = io.StringIO()
    call_command("attachments_purge", stdout=out)
    assert "purged 1" in out.getvalue()
    assert not Attachment.objects.exists()


def test_the_worker_purges_orphans_on_its_schedule(
    api: Any, order: Any, buyer: Any, settings: Any
) -> None:
    entry = settings.CELERY_BEAT_SCHEDULE["orders-purge-orphan-uploads"]
    assert entry["schedule"] <= 3600
    orphan = post_file(api, buyer, order, "orphan.pdf", pdf_bytes()).json()["id"]
    fresh = post_file(api, buyer, order, "fresh.pdf", pdf_bytes()).json()["id"]
    Attachment.objects.filter(pk=orphan).update(created_at=timezone.now() - timedelta(days=2))
    enqueue(entry["task"])  # as beat sends it (tasks run eagerly in the test settings)
    assert list(Attachment.objects.values_list("pk", flat=True)) == [fresh]


def test_there_is_no_delete_endpoint(api: Any, order: Any, buyer: Any) -> None:
    attachment_id = post_file(api, buyer, order, "a.pdf", pdf_bytes()).json()["id"]
    assert api(buyer).delete(f"/api/attachments/{attachment_id}").status_code == 405
    assert Attachment.objects.filter(pk=attachment_id).exists()


def test_files_past_django_memory_limit_stream_through_a_temporary_file(
    api: Any, order: Any, buyer: Any, monkeypatch: Any
) -> None:
    seen: list[type] = []
    real = attachment_services.attachment_upload

    def spy(**kwargs: Any) -> Any:
        seen.append(type(kwargs["stream"]))
        return real(**kwargs)

    monkeypatch.setattr("orders.attachments.views.services.attachment_upload", spy)
    big = pdf_bytes() + b"0" * (5 * 1024 * 1024)  # over DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB)
    response = post_file(api, buyer, order, "big.pdf", big)
    assert response.status_code == 201, response.content
    assert response.json()["size"] == len(big)
    assert seen == [TemporaryUploadedFile]  # on disk, never whole in memory
