"""The attachments' storage (Django's storage API), keys, previews and download links."""

from __future__ import annotations

import io
import secrets
import warnings
from typing import IO, Any
from urllib.parse import quote

from django.conf import settings
from django.core import signing
from django.core.files.base import ContentFile, File
from django.core.files.storage import FileSystemStorage, Storage, storages
from django.urls import reverse
from PIL import Image

# Previews decode only these formats, each with a size bound: nothing Pillow parses loosely.
PREVIEW_FORMATS = {
    "image/png": "PNG",
    "image/jpeg": "JPEG",
    "image/gif": "GIF",
    "image/webp": "WEBP",
}
PREVIEW_SIZE = (480, 480)
# Over this many pixels an image is a decompression bomb: no preview (Pillow warns at this and
# refuses at twice it; the warning is an error here).
Image.MAX_IMAGE_PIXELS = 40_000_000

LINK_SALT = "echo.attachments.link"


def attachment_storage() -> Storage:
    return storages["attachments"]


def is_local(storage: Storage | None = None) -> bool:
    """Files served by the app itself (signed links), not by the object store."""
    return isinstance(storage or attachment_storage(), FileSystemStorage)


def new_key() -> str:
    """An unguessable storage key: 192 random bits, nothing from the user."""
    return f"a/{secrets.token_urlsafe(24)}"


def store(*, stream: IO[bytes], key: str) -> str:
    """Write `stream` to storage under `key` (streamed in chunks); the name storage used."""
    stream.seek(0)
    return attachment_storage().save(key, File(stream, name=key))


def delete_quietly(*names: str) -> None:
    storage = attachment_storage()
    for name in names:
        if name:
            try:
                storage.delete(name)
            except Exception:  # noqa: BLE001, S110 - the purge retries what is left
                pass


def make_preview(*, stream: IO[bytes], content_type: str, key: str) -> str:
    """A small PNG preview of an image, stored beside it; "" when the image is not one of the
    decoded formats, too large in pixels, or broken."""
    fmt = PREVIEW_FORMATS.get(content_type)
    if fmt is None:
        return ""
    stream.seek(0)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(stream, formats=[fmt]) as image:
                image.draft("RGB", PREVIEW_SIZE)
                image.thumbnail(PREVIEW_SIZE)
                small = image if image.mode in ("RGB", "RGBA") else image.convert("RGBA")
                out = io.BytesIO()
                small.save(out, format="PNG")
    except (Image.DecompressionBombError, Image.DecompressionBombWarning, OSError, ValueError):
        return ""
    finally:
        stream.seek(0)
    return attachment_storage().save(f"{key}.preview.png", ContentFile(out.getvalue()))


def download_url(*, attachment: Any, user_id: int, preview: bool = False) -> str:
    """A short-lived URL of the file (or its preview): S3 presigned, or locally a signed,
    expiring link the app serves (orders.attachments.views.FileView)."""
    storage = attachment_storage()
    name = attachment.preview_key if preview else attachment.key
    if not is_local(storage):
        params: dict[str, str] = {"ResponseContentType": attachment.content_type}
        if preview:
            params["ResponseContentType"] = "image/png"
        else:
            params["ResponseContentDisposition"] = _disposition(attachment.original_name)
        return str(
            storage.url(  # type: ignore[call-arg]
                name, parameters=params, expire=settings.ATTACHMENT_URL_SECONDS
            )
        )
    token = signing.dumps(
        {"a": attachment.pk, "u": user_id, "p": int(preview)}, salt=LINK_SALT, compress=True
    )
    return reverse("attachment-file", kwargs={"token": token})


def read_link(token: str) -> dict[str, int]:
    """The link's payload; raises signing.SignatureExpired or signing.BadSignature."""
    data = signing.loads(token, salt=LINK_SALT, max_age=settings.ATTACHMENT_URL_SECONDS)
    return {"a": int(data["a"]), "u": int(data["u"]), "p": int(data["p"])}


def _disposition(name: str) -> str:
    ascii_name = name.encode("ascii", "replace").decode().replace('"', "_")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"
