"""A file's type from its content (puremagic's signatures), never from its name, and its name
made safe to show and to send back in Content-Disposition."""

from __future__ import annotations

import re
import unicodedata
from typing import IO

import puremagic
from django.conf import settings

from echo_site.errors import ErrorCode, ServiceError

HEAD_BYTES = 64 * 1024
# What puremagic names differently from the allow-list's usual names.
_ALIASES = {
    "audio/x-wav": "audio/wav",
    "audio/wave": "audio/wav",
    "audio/x-flac": "audio/flac",
    "application/x-zip-compressed": "application/zip",
    "application/x-gzip": "application/gzip",
    "image/jpg": "image/jpeg",
    "image/pjpeg": "image/jpeg",
    "audio/mp3": "audio/mpeg",
    "audio/x-mpeg": "audio/mpeg",
    "application/x-rar-compressed": "application/vnd.rar",
    "application/x-pdf": "application/pdf",
}
_UNSAFE_NAME_CHARS = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*;]+')


def _looks_like_text(head: bytes) -> bool:
    if b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut by the end of the head is still text.
        return exc.start >= len(head) - 3 and len(head) == HEAD_BYTES
    return True


def sniff_type(stream: IO[bytes]) -> str:
    """The MIME type the content says it is, if the allow-list (ATTACHMENT_TYPES) admits it;
    otherwise 415 file_type_not_allowed."""
    stream.seek(0)
    head = stream.read(HEAD_BYTES)
    stream.seek(0)
    if not head:
        raise ServiceError(
            ErrorCode.INVALID, "file: The file is empty.", fields={"file": ["Empty."]}
        )
    mime = ""
    try:
        mime = puremagic.from_string(head, mime=True) or ""
    except puremagic.PureError:
        mime = ""
    mime = _ALIASES.get(mime, mime)
    if not mime and _looks_like_text(head):
        mime = "text/plain"
    allowed = set(settings.ATTACHMENT_TYPES)
    if mime == "text/plain" and "text/csv" in allowed and "text/plain" not in allowed:
        mime = "text/csv"
    if not mime or mime not in allowed:
        raise ServiceError(
            ErrorCode.FILE_TYPE_NOT_ALLOWED,
            f"This kind of file ({mime or 'unknown'}) is not accepted.",
            extra={"content_type": mime or None},
        )
    return mime


def safe_name(name: str) -> str:
    """The file's own name without any path, control or shell-special characters, at most
    150 characters (the extension kept)."""
    name = unicodedata.normalize("NFC", name or "")
    name = re.split(r"[/\\]", name)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch) not in ("Cc", "Cf", "Zl", "Zp"))
    name = _UNSAFE_NAME_CHARS.sub("_", name).strip(" .")
    if len(name) > 150:
        stem, dot, ext = name.rpartition(".")
        ext = ext[:20] if dot else ""
        name = (stem if dot else name)[: 150 - len(ext) - 1] + ("." + ext if ext else "")
    return name or "file"
