"""Every write on attachments: upload, claim (by a message, delivery or dispute message) and the
purge of uploads never claimed. Users never delete a file: attachments are evidence."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import IO, Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from echo_site.errors import ErrorCode, ServiceError

from ..models import Attachment, Order
from ..selectors import is_admin
from . import storage
from .sniff import safe_name, sniff_type
from .uploads import max_upload_bytes

logger = logging.getLogger(__name__)

MAX_PER_MESSAGE = 5
MAX_PER_DELIVERY = 10


def attachment_upload(*, order: Order, uploader: Any, stream: IO[bytes], name: str) -> Attachment:
    """Store an uploaded file for `order` (its parties only) and return its row.

    The type comes from the content (sniff.py) against ATTACHMENT_TYPES; the name is sanitised;
    the key is random. The file is written first and the row after: a failed write leaves no
    row, and a failed insert deletes the file again.
    """
    if not (order.is_party(uploader.pk) or is_admin(uploader)):
        # Admins too: a mediator may add evidence to a dispute's thread.
        raise ServiceError(ErrorCode.NOT_A_PARTY, "Only the order's parties may upload files.")
    stream.seek(0, 2)
    size = stream.tell()
    stream.seek(0)
    if size > max_upload_bytes():
        raise ServiceError(
            ErrorCode.PAYLOAD_TOO_LARGE, f"A file is over {settings.MAX_UPLOAD_MB} MB."
        )
    content_type = sniff_type(stream)
    key = storage.store(stream=stream, key=storage.new_key())
    preview_key = ""
    try:
        preview_key = storage.make_preview(stream=stream, content_type=content_type, key=key)
        with transaction.atomic():
            return Attachment.objects.create(
                order=order,
                uploader=uploader,
                key=key,
                preview_key=preview_key,
                original_name=safe_name(name),
                size=size,
                content_type=content_type,
            )
    except BaseException:
        storage.delete_quietly(key, preview_key)
        raise


def attachments_claim(
    *, order: Order, uploader: Any, ids: list[int], limit: int, **owner: Any
) -> list[Attachment]:
    """Attach the caller's unclaimed uploads on `order` to one owner (message=..., delivery=...,
    or nothing for an owner that holds the link itself: a dispute message). Runs inside the
    owner's transaction; any id that is not the caller's free upload on this order is 400."""
    ids = list(dict.fromkeys(ids))
    if not ids:
        return []
    if len(ids) > limit:
        raise ServiceError(
            ErrorCode.INVALID,
            f"attachment_ids: At most {limit} files.",
            fields={"attachment_ids": [f"At most {limit} files."]},
        )
    now = timezone.now()
    claimed = Attachment.objects.filter(
        pk__in=ids, order_id=order.pk, uploader_id=uploader.pk, claimed_at__isnull=True
    ).update(claimed_at=now, **owner)
    if claimed != len(ids):
        raise ServiceError(
            ErrorCode.INVALID,
            "attachment_ids: Each id must be a file you uploaded to this order and not yet sent.",
            fields={"attachment_ids": ["Unknown, someone else's, or already sent."]},
        )
    return list(Attachment.objects.filter(pk__in=ids).order_by("id"))


def attachment_purge_orphans(*, older_than: timedelta | None = None) -> int:
    """Delete uploads never claimed by a message or delivery within `older_than` (default
    ATTACHMENT_ORPHAN_HOURS): the row (only while still unclaimed), then the file. Idempotent;
    returns how many."""
    if older_than is None:
        older_than = timedelta(hours=settings.ATTACHMENT_ORPHAN_HOURS)
    cutoff = timezone.now() - older_than
    purged = 0
    stale = Attachment.objects.filter(claimed_at__isnull=True, created_at__lt=cutoff)
    for attachment in stale.iterator(chunk_size=200):
        with transaction.atomic():
            # Claimed meanwhile: kept, file and all.
            gone = Attachment.objects.filter(pk=attachment.pk, claimed_at__isnull=True).delete()[0]
        if gone:
            storage.delete_quietly(attachment.key, attachment.preview_key)
            purged += 1
    if purged:
        logger.info("purged %d orphaned attachments", purged)
    return purged
