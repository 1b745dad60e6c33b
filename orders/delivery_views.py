"""REST endpoints of deliveries and revision rounds: authenticate, parse, call a service."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from echo_site.errors import ErrorCode, ServiceError
from echo_site.parsers import DecimalJSONParser

from . import deliveries, selectors
from .attachments.services import MAX_PER_DELIVERY
from .attachments.views import upload_all, uploaded_files
from .serializers import (
    DeliveryInputSerializer,
    DeliverySerializer,
    ErrorSerializer,
    OrderEventSerializer,
    OrderSerializer,
    RevisionGrantInputSerializer,
    RevisionRequestInputSerializer,
)
from .views import ERR_WRITE, order_response, parse


def _form_ids(value: Any) -> list[Any]:
    ids: list[Any] = []
    for part in value:
        for piece in str(part).split(","):
            piece = piece.strip()
            if piece:
                ids.append(int(piece) if piece.isascii() and piece.isdigit() else piece)
    return ids


class OrderDeliveriesView(APIView):
    parser_classes = [DecimalJSONParser, MultiPartParser]

    @extend_schema(responses={200: DeliverySerializer(many=True), 403: ErrorSerializer})
    def get(self, request: Request, order_id: int) -> Response:
        order = selectors.order_get_for_user(order_id=order_id, user=request.user)
        rows = selectors.delivery_list(order=order)
        context = {"revisions_allowed": order.revisions_allowed}
        return Response(DeliverySerializer(rows, many=True, context=context).data)

    @extend_schema(
        request={
            "application/json": DeliveryInputSerializer,
            "multipart/form-data": inline_serializer(
                name="DeliveryMultipart",
                fields={
                    "message": serializers.CharField(),
                    "files": serializers.ListField(child=serializers.FileField(), max_length=10),
                },
            ),
        },
        responses={201: DeliverySerializer, **ERR_WRITE, 413: ErrorSerializer},
    )
    def post(self, request: Request, order_id: int) -> Response:
        """Deliver: JSON with attachment_ids uploaded before, or multipart with the files."""
        order = selectors.order_get_for_user(order_id=order_id, user=request.user)
        files = uploaded_files(request, "files")
        body: Any
        form: Any = request.data
        if hasattr(form, "getlist"):  # multipart
            body = {
                "message": form.get("message", ""),
                "attachment_ids": _form_ids(form.getlist("attachment_ids")),
            }
        else:
            body = request.data
        data = parse(DeliveryInputSerializer, body)
        ids = list(data.get("attachment_ids") or [])
        if len(ids) + len(files) > MAX_PER_DELIVERY:
            raise ServiceError(
                ErrorCode.INVALID,
                f"files: At most {MAX_PER_DELIVERY} files in a delivery.",
                fields={"files": [f"At most {MAX_PER_DELIVERY} files."]},
            )
        if order.creator_id == request.user.pk and order.status == "IN_PROGRESS":
            # Uploads only for a delivery that can be made; a later refusal leaves them
            # unclaimed for the purge.
            ids += [a.pk for a in upload_all(order=order, user=request.user, files=files)]
        delivery = deliveries.delivery_submit(
            order=order, creator=request.user, message=data["message"], attachment_ids=ids
        )
        delivery.order = order
        return Response(
            DeliverySerializer(
                delivery, context={"revisions_allowed": order.revisions_allowed}
            ).data,
            status=status.HTTP_201_CREATED,
        )


class DeliveryAcceptView(APIView):
    @extend_schema(request=None, responses={200: OrderSerializer, **ERR_WRITE})
    def post(self, request: Request, order_id: int, delivery_id: int) -> Response:
        order = selectors.order_get_for_user(order_id=order_id, user=request.user)
        deliveries.delivery_accept(order=order, buyer=request.user, delivery_id=delivery_id)
        return order_response(order, request)


class DeliveryRevisionView(APIView):
    @extend_schema(
        request=RevisionRequestInputSerializer, responses={200: OrderSerializer, **ERR_WRITE}
    )
    def post(self, request: Request, order_id: int, delivery_id: int) -> Response:
        data = parse(RevisionRequestInputSerializer, request.data)
        order = selectors.order_get_for_user(order_id=order_id, user=request.user)
        deliveries.delivery_request_revision(
            order=order, buyer=request.user, delivery_id=delivery_id, reason=data["reason"]
        )
        return order_response(order, request)


class RevisionGrantView(APIView):
    @extend_schema(
        request=RevisionGrantInputSerializer,
        responses={201: OrderEventSerializer, **ERR_WRITE},
    )
    def post(self, request: Request, order_id: int) -> Response:
        data = parse(RevisionGrantInputSerializer, request.data)
        order = selectors.order_get_for_user(order_id=order_id, user=request.user)
        event = deliveries.revisions_grant(
            order=order, creator=request.user, count=data["count"], note=data["note"]
        )
        return Response(OrderEventSerializer(event).data, status=status.HTTP_201_CREATED)
