"""REST endpoints for disputes, on ECHO's documented paths."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from echo_site.errors import ErrorCode, ServiceError
from orders.selectors import is_admin, order_get_for_user
from orders.serializers import page_of
from orders.views import paginate, parse

from . import selectors, services
from .models import Dispute
from .serializers import (
    DisputeCloseInputSerializer,
    DisputeDetailSerializer,
    DisputeListFilterSerializer,
    DisputeMessageInputSerializer,
    DisputeMessageSerializer,
    DisputeOpenInputSerializer,
    DisputeSerializer,
)


def _detail(dispute_id: int) -> dict:
    dispute = (
        Dispute.objects.select_related("opened_by")
        .prefetch_related("messages__sender", "messages__attachments")
        .get(pk=dispute_id)
    )
    return dict(DisputeDetailSerializer(dispute).data)


class DisputeListView(APIView):
    @extend_schema(
        operation_id="disputes_list",
        parameters=[DisputeListFilterSerializer, OpenApiParameter("page", int)],
        responses=page_of(DisputeSerializer),
    )
    def get(self, request: Request) -> Response:
        filters = parse(DisputeListFilterSerializer, request.query_params)
        disputes = selectors.dispute_list_for_user(user=request.user, status=filters.get("status"))
        return paginate(self, request, disputes, DisputeSerializer)

    @extend_schema(request=DisputeOpenInputSerializer, responses={201: DisputeSerializer})
    def post(self, request: Request) -> Response:
        data = parse(DisputeOpenInputSerializer, request.data)
        order = order_get_for_user(order_id=data["order_id"], user=request.user)
        dispute = services.dispute_open(order=order, opened_by=request.user, reason=data["reason"])
        return Response(DisputeSerializer(dispute).data, status=status.HTTP_201_CREATED)


class DisputeDetailView(APIView):
    @extend_schema(responses=DisputeDetailSerializer)
    def get(self, request: Request, dispute_id: int) -> Response:
        dispute = selectors.dispute_get_for_user(dispute_id=dispute_id, user=request.user)
        return Response(_detail(dispute.pk))


class OrderDisputesView(APIView):
    @extend_schema(responses=DisputeSerializer(many=True))
    def get(self, request: Request, order_id: int) -> Response:
        order = order_get_for_user(order_id=order_id, user=request.user)
        disputes = selectors.dispute_list_for_user(user=request.user).filter(order=order)
        return Response(DisputeSerializer(disputes, many=True).data)


class MyDisputesView(APIView):
    @extend_schema(
        operation_id="disputes_mine",
        parameters=[OpenApiParameter("page", int)],
        responses=page_of(DisputeSerializer),
    )
    def get(self, request: Request) -> Response:
        return paginate(
            self, request, selectors.dispute_list_mine(user=request.user), DisputeSerializer
        )


class OpenDisputesView(APIView):
    @extend_schema(
        operation_id="disputes_open",
        parameters=[OpenApiParameter("page", int)],
        responses=page_of(DisputeSerializer),
    )
    def get(self, request: Request) -> Response:
        if not is_admin(request.user):
            raise ServiceError(ErrorCode.PERMISSION_DENIED, "Only admins see the open queue.")
        return paginate(self, request, selectors.dispute_list_open(), DisputeSerializer)


class DisputeMessagesView(APIView):
    @extend_schema(
        request=DisputeMessageInputSerializer,
        responses={201: DisputeMessageSerializer, 200: DisputeMessageSerializer},
    )
    def post(self, request: Request, dispute_id: int) -> Response:
        data = parse(DisputeMessageInputSerializer, request.data)
        dispute = selectors.dispute_get_for_user(dispute_id=dispute_id, user=request.user)
        message, created = services.dispute_message_post(
            dispute=dispute,
            sender=request.user,
            content=data["content"],
            client_id=data.get("client_id"),
            attachment_ids=data.get("attachment_ids"),
        )
        return Response(
            DisputeMessageSerializer(message).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class DisputeCloseView(APIView):
    @extend_schema(request=DisputeCloseInputSerializer, responses=DisputeSerializer)
    def patch(self, request: Request, dispute_id: int) -> Response:
        dispute = selectors.dispute_get_for_user(dispute_id=dispute_id, user=request.user)
        if not is_admin(request.user):
            raise ServiceError(ErrorCode.PERMISSION_DENIED, "Only admins close disputes.")
        data = parse(DisputeCloseInputSerializer, request.data)
        closed = services.dispute_close(
            dispute=dispute,
            actor=request.user,
            resolution=data["resolution"],
            outcome=data["outcome"],
            refund_amount=data.get("refund_amount"),
        )
        return Response(DisputeSerializer(closed).data)
