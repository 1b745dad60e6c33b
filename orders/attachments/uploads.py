"""The upload handler that refuses a body past MAX_UPLOAD_MB while it streams in.

Django's TemporaryFileUploadHandler (next in FILE_UPLOAD_HANDLERS) writes each file chunk by
chunk to a temporary file; this one, first in line, counts the bytes and stops the request with
RequestDataTooBig (413 JSON, echo_site/errors.py) as soon as the declared or received size passes
the limit, before anything reaches storage.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.core.files.uploadhandler import FileUploadHandler


def max_upload_bytes() -> int:
    return int(settings.MAX_UPLOAD_MB) * 1024 * 1024


class SizeLimitUploadHandler(FileUploadHandler):
    # Some room over the file limit for the multipart framing and the other fields.
    SLACK = 64 * 1024

    def __init__(self, request: Any = None) -> None:
        super().__init__(request)
        self.received = 0

    def handle_raw_input(
        self,
        input_data: Any,
        META: Any,  # noqa: N803 - Django's name
        content_length: int,
        boundary: Any,
        encoding: Any = None,
    ) -> None:
        if content_length > max_upload_bytes() * 10 + self.SLACK:  # 10 files per delivery
            raise RequestDataTooBig(f"The upload is over {settings.MAX_UPLOAD_MB} MB a file.")
        return None

    def new_file(self, *args: Any, **kwargs: Any) -> None:
        super().new_file(*args, **kwargs)
        self.received = 0

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        self.received += len(raw_data)
        if self.received > max_upload_bytes():
            raise RequestDataTooBig(f"A file is over {settings.MAX_UPLOAD_MB} MB.")
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None
