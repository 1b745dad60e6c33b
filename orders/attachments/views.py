"""REST endpoints of attachments: upload, links, and the signed file links ECHO serves itself."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import signing
from django.http import FileResponse, HttpResponseBase, HttpResponseRedirect
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from echo_site.errors import ErrorCode, ServiceError

from .. import selectors
from ..models import Attachment
from ..selectors import is_admin
from ..serializers import AttachmentLinkSerializer, AttachmentSerializer, ErrorSerializer
from . import services, storage

# A served file may not run anything, frame anything or be read as another type.
FILE_CSP = "sandbox; default-src 'none'; img-src 'self'; style-src 'unsafe-inline'"


def uploaded_files(request: Request, field: str) -> list[Any]:
    return list(request.FILES.getlist(field)) if hasattr(request, "FILES") else []


def upload_all(*, order: Any, user: Any, files: list[Any]) -> list[Attachment]:
    return [
        services.attachment_upload(order=order, uploader=user, stream=f, name=f.name) for f in files
    ]


class OrderAttachmentUploadView(APIView):
    parser_classes = [MultiPartParser]

    @extend_schema(
        request=inline_serializer(
            name="AttachmentUpload", fields={"file": serializers.FileField()}
        ),
        responses={
            201: AttachmentSerializer,
            400: ErrorSerializer,
            403: ErrorSerializer,
            404: ErrorSerializer,
            413: ErrorSerializer,
            415: ErrorSerializer,
        },
        operation_id="orders_attachments_create",
    )
    def post(self, request: Request, order_id: int) -> Response:
        order = selectors.order_get_for_user(order_id=order_id, user=request.user)
        files = uploaded_files(request, "file")
        if len(files) != 1:
            raise ServiceError(
                ErrorCode.INVALID,
                "file: Send exactly one file in the multipart field 'file'.",
                fields={"file": ["Exactly one file."]},
            )
        (attachment,) = upload_all(order=order, user=request.user, files=files)
        return Response(AttachmentSerializer(attachment).data, status=status.HTTP_201_CREATED)


def _links(attachment: Attachment, user: Any) -> dict[str, Any]:
    """The file's and its preview's short-lived links for `user`."""
    return {
        "url": storage.download_url(attachment=attachment, user_id=user.pk),
        "preview_url": storage.download_url(attachment=attachment, user_id=user.pk, preview=True)
        if attachment.preview_key
        else None,
        "expires_in": settings.ATTACHMENT_URL_SECONDS,
    }


class AttachmentLinkView(APIView):
    @extend_schema(
        responses={200: AttachmentLinkSerializer, 403: ErrorSerializer, 404: ErrorSerializer}
    )
    def get(self, request: Request, attachment_id: int) -> Response:
        attachment = selectors.attachment_get_for_user(
            attachment_id=attachment_id, user=request.user
        )
        return Response(_links(attachment, request.user))


class AttachmentDownloadView(APIView):
    """302 to a short-lived link of the file (preview=1: of its preview)."""

    @extend_schema(
        responses={
            302: OpenApiResponse(description="To the file's short-lived signed URL."),
            403: ErrorSerializer,
            404: ErrorSerializer,
        }
    )
    def get(self, request: Request, attachment_id: int) -> HttpResponseBase:
        attachment = selectors.attachment_get_for_user(
            attachment_id=attachment_id, user=request.user
        )
        preview = request.query_params.get("preview") in ("1", "true")
        if preview and not attachment.preview_key:
            raise ServiceError(ErrorCode.NOT_FOUND, "This file has no preview.")
        user: Any = request.user
        url = storage.download_url(attachment=attachment, user_id=user.pk, preview=preview)
        return HttpResponseRedirect(url)


class AttachmentFileView(APIView):
    """The file behind a signed local link: anyone holding an unexpired link (it names the user
    it was made for, who must still be allowed), as a download that nothing renders."""

    permission_classes = [AllowAny]
    authentication_classes: list[type] = []

    @extend_schema(exclude=True)
    def get(self, request: Request, token: str) -> HttpResponseBase:
        try:
            link = storage.read_link(token)
        except signing.SignatureExpired as exc:
            raise ServiceError(ErrorCode.LINK_EXPIRED, "This link has expired.") from exc
        except (signing.BadSignature, KeyError, TypeError, ValueError) as exc:
            raise ServiceError(ErrorCode.NOT_FOUND, "No such file.") from exc
        attachment = Attachment.objects.select_related("order").filter(pk=link["a"]).first()
        if attachment is None or not storage.is_local():
            raise ServiceError(ErrorCode.NOT_FOUND, "No such file.")
        viewer = get_user_model().objects.filter(pk=link["u"], is_active=True).first()
        if viewer is None or not (attachment.order.is_party(viewer.pk) or is_admin(viewer)):
            raise ServiceError(ErrorCode.NOT_A_PARTY, "You may not see this file.")
        name = attachment.preview_key if link["p"] else attachment.key
        if not name:
            raise ServiceError(ErrorCode.NOT_FOUND, "No such file.")
        stream = storage.attachment_storage().open(name, "rb")
        if link["p"]:
            response = FileResponse(stream, content_type="image/png")
        else:
            response = FileResponse(
                stream,
                as_attachment=True,
                filename=attachment.original_name,
                content_type=attachment.content_type,
            )
        response["X-Content-Type-Options"] = "nosniff"
        response["Content-Security-Policy"] = FILE_CSP
        response["Cache-Control"] = "private, no-store"
        response["Cross-Origin-Resource-Policy"] = "same-origin"
        return response
