"""REST endpoints: authenticate, parse, call a service or selector, serialize."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.contrib.auth import get_user_model
from django.http import QueryDict
from django.utils.decorators import method_decorator
from django.views.decorators.csrf import ensure_csrf_cookie
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import BaseThrottle
from rest_framework.views import APIView
from rest_framework_simplejwt.views import TokenObtainPairView, TokenRefreshView

from echo_site.errors import ErrorCode, ServiceError
from echo_site.throttling import AuthAddressThrottle, AuthUsernameThrottle

from . import selectors, services
from .models import Order
from .serializers import (
    ErrorSerializer,
    EventPageQuerySerializer,
    EventPageSerializer,
    ItemFilterSerializer,
    ItemInputSerializer,
    ItemPatchSerializer,
    ItemSerializer,
    MessageInputSerializer,
    MessagePageSerializer,
    MessageSerializer,
    OrderCreateInputSerializer,
    OrderEventSerializer,
    OrderListFilterSerializer,
    OrderMessageInputSerializer,
    OrderMoveInputSerializer,
    OrderSerializer,
    RegisterInputSerializer,
    ReviewAverageSerializer,
    ReviewInputSerializer,
    ReviewSerializer,
    SeqPageQuerySerializer,
    UserSerializer,
    page_of,
)

# Documented error responses: every one renders as ErrorSerializer.
ERR_400 = {400: ErrorSerializer}
ERR_READ = {403: ErrorSerializer, 404: ErrorSerializer}
ERR_WRITE = {**ERR_400, **ERR_READ, 409: ErrorSerializer}


class Pagination(PageNumberPagination):
    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100

    def paginate_queryset(self, queryset: Any, request: Any, view: Any = None) -> Any:
        # A page that is not a number is bad input (400); a page past the end stays a 404.
        page = request.query_params.get(self.page_query_param)
        if page is not None and not (page.isascii() and page.isdigit() and int(page) >= 1):
            raise ValidationError({"page": ["A page number: an integer from 1."]})
        return super().paginate_queryset(queryset, request, view=view)


def parse(serializer_class: type, data: Any) -> dict[str, Any]:
    if isinstance(data, QueryDict):
        # Query parameters as plain values: `?creator=` is an empty string (400 for a number),
        # not a parameter left out, as DRF would read a form; and each one given once.
        repeated = sorted(key for key, values in data.lists() if len(values) > 1)
        if repeated:
            raise ValidationError({key: ["Give this parameter once."] for key in repeated})
        data = data.dict()
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def paginate(view: APIView, request: Request, queryset: Any, serializer_class: type) -> Response:
    paginator = Pagination()
    page: Any = paginator.paginate_queryset(queryset, request, view=view)
    data = serializer_class(page, many=True, context={"request": request}).data
    return paginator.get_paginated_response(data)


# --- Auth -------------------------------------------------------------------------------------


class AuthThrottleMixin:
    # One limit per client address, shared with the sign-in and register pages and the admin
    # login (echo_site/throttling.py).
    throttle_classes: Sequence[type[BaseThrottle]] = [AuthAddressThrottle]


class RegisterView(AuthThrottleMixin, APIView):
    permission_classes = [AllowAny]
    authentication_classes: list[type] = []

    @extend_schema(request=RegisterInputSerializer, responses={201: UserSerializer})
    def post(self, request: Request) -> Response:
        data = parse(RegisterInputSerializer, request.data)
        user = services.user_register(
            username=data["username"], email=data["email"], password=data["password"]
        )
        return Response(UserSerializer(user).data, status=status.HTTP_201_CREATED)


class TokenView(AuthThrottleMixin, TokenObtainPairView):
    # ...and a username with too many failed sign-ins is refused, from any address.
    throttle_classes: Sequence[type[BaseThrottle]] = [AuthAddressThrottle, AuthUsernameThrottle]
    extra_error_statuses = (401,)  # wrong username or password


class TokenRefresh(AuthThrottleMixin, TokenRefreshView):
    extra_error_statuses = (401,)  # bad, expired or blacklisted refresh token


class MeView(APIView):
    # A browser client reads its CSRF token from this cookie before its first unsafe request.
    @method_decorator(ensure_csrf_cookie)
    @extend_schema(responses=UserSerializer)
    def get(self, request: Request) -> Response:
        return Response(UserSerializer(request.user).data)


# --- Listings ---------------------------------------------------------------------------------


class ItemListView(APIView):
    def get_permissions(self) -> Sequence[Any]:
        return [AllowAny()] if self.request.method == "GET" else super().get_permissions()

    @extend_schema(
        parameters=[ItemFilterSerializer, OpenApiParameter("page", int)],
        responses={200: page_of(ItemSerializer), **ERR_400},
        operation_id="items_list",
    )
    def get(self, request: Request) -> Response:
        filters = parse(ItemFilterSerializer, request.query_params)
        items = selectors.item_list(
            item_type=filters.get("item_type"), creator_id=filters.get("creator")
        )
        return paginate(self, request, items, ItemSerializer)

    @extend_schema(request=ItemInputSerializer, responses={201: ItemSerializer})
    def post(self, request: Request) -> Response:
        data = parse(ItemInputSerializer, request.data)
        item = services.item_create(creator=request.user, **data)
        return Response(ItemSerializer(item).data, status=status.HTTP_201_CREATED)


class ItemDetailView(APIView):
    def get_permissions(self) -> Sequence[Any]:
        return [AllowAny()] if self.request.method == "GET" else super().get_permissions()

    @extend_schema(responses=ItemSerializer)
    def get(self, request: Request, item_id: int) -> Response:
        return Response(ItemSerializer(selectors.item_get(item_id=item_id)).data)

    @extend_schema(request=ItemPatchSerializer, responses=ItemSerializer)
    def patch(self, request: Request, item_id: int) -> Response:
        item = selectors.item_get(item_id=item_id)
        serializer = ItemPatchSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        item = services.item_update(
            item=item, actor=request.user, changes=dict(serializer.validated_data)
        )
        return Response(ItemSerializer(item).data)

    @extend_schema(responses={204: None})
    def delete(self, request: Request, item_id: int) -> Response:
        item = selectors.item_get(item_id=item_id)
        services.item_archive(item=item, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Orders -----------------------------------------------------------------------------------


def order_response(order: Order, request: Request, code: int = 200) -> Response:
    return Response(OrderSerializer(order, context={"request": request}).data, status=code)


class OrderListView(APIView):
    @extend_schema(
        parameters=[OrderListFilterSerializer, OpenApiParameter("page", int)],
        responses={200: page_of(OrderSerializer), **ERR_400},
        operation_id="orders_list",
    )
    def get(self, request: Request) -> Response:
        filters = parse(OrderListFilterSerializer, request.query_params)
        orders = selectors.order_list_for_user(
            user=request.user, status=filters.get("status"), role=filters.get("role")
        )
        return paginate(self, request, orders, OrderSerializer)

    @extend_schema(
        request=OrderCreateInputSerializer,
        responses={201: OrderSerializer, **ERR_400, 404: ErrorSerializer},
    )
    def post(self, request: Request) -> Response:
        data = parse(OrderCreateInputSerializer, request.data)
        item = selectors.item_get(item_id=data["item_id"])
        order = services.order_place(
            buyer=request.user, item=item, final_price=data.get("final_price")
        )
        return order_response(order, request, status.HTTP_201_CREATED)


class OrderDetailView(APIView):
    @extend_schema(responses={200: OrderSerializer, **ERR_READ})
    def get(self, request: Request, order_id: int) -> Response:
        return order_response(
            selectors.order_get_for_user(order_id=order_id, user=request.user), request
        )


class OrderStatusView(APIView):
    @extend_schema(
        request=OrderMoveInputSerializer,
        parameters=[
            OpenApiParameter(
                "status", str, description="ECHO's legacy form: the new status as a query parameter"
            )
        ],
        responses={
            200: OrderSerializer,
            **ERR_WRITE,
            409: OpenApiResponse(
                ErrorSerializer, description="Move not allowed now; lists allowed_moves"
            ),
        },
    )
    def patch(self, request: Request, order_id: int) -> Response:
        body = dict(request.data.items()) if hasattr(request.data, "items") else request.data
        if isinstance(body, dict) and "status" not in body and "status" in request.query_params:
            body["status"] = request.query_params["status"]
        data = parse(OrderMoveInputSerializer, body)
        order = selectors.order_get_for_user(order_id=order_id, user=request.user)
        services.order_move(
            order=order, actor=request.user, to_status=data["status"], note=data["note"]
        )
        return order_response(order, request)


class OrderEventsView(APIView):
    @extend_schema(parameters=[EventPageQuerySerializer], responses=EventPageSerializer)
    def get(self, request: Request, order_id: int) -> Response:
        query = parse(EventPageQuerySerializer, request.query_params)
        order = selectors.order_get_for_user(order_id=order_id, user=request.user)
        events, has_more = selectors.event_page(
            order=order, after=query["after"], limit=query["limit"]
        )
        return Response(
            {
                "results": OrderEventSerializer(events, many=True).data,
                "has_more": has_more,
                "last_seq": order.last_seq,
            }
        )


def _post_message(request: Request, order_id: int, data: dict[str, Any]) -> Response:
    order = selectors.order_get_for_user(order_id=order_id, user=request.user)
    message, created = services.message_post(
        order=order,
        sender=request.user,
        content=data["content"],
        client_id=data.get("client_id"),
        attachment_ids=data.get("attachment_ids"),
    )
    return Response(
        MessageSerializer(message).data,
        status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
    )


class OrderMessagesView(APIView):
    @extend_schema(parameters=[SeqPageQuerySerializer], responses=MessagePageSerializer)
    def get(self, request: Request, order_id: int) -> Response:
        query = parse(SeqPageQuerySerializer, request.query_params)
        order = selectors.order_get_for_user(order_id=order_id, user=request.user)
        messages, has_more = selectors.message_page(
            order=order, after=query["after"], before=query.get("before"), limit=query["limit"]
        )
        return Response(
            {
                "results": MessageSerializer(messages, many=True).data,
                "has_more": has_more,
                "last_seq": order.last_seq,
            }
        )

    @extend_schema(
        request=MessageInputSerializer,
        responses={201: MessageSerializer, 200: MessageSerializer, **ERR_WRITE},
    )
    def post(self, request: Request, order_id: int) -> Response:
        data = parse(MessageInputSerializer, request.data)
        return _post_message(request, order_id, data)


class OrderMessageCreateView(APIView):
    """ECHO's documented POST /order-messages."""

    @extend_schema(
        request=OrderMessageInputSerializer,
        responses={201: MessageSerializer, 200: MessageSerializer, **ERR_WRITE},
    )
    def post(self, request: Request) -> Response:
        data = parse(OrderMessageInputSerializer, request.data)
        return _post_message(request, data["order_id"], data)


# --- Reviews ----------------------------------------------------------------------------------


class ReviewCreateView(APIView):
    @extend_schema(request=ReviewInputSerializer, responses={201: ReviewSerializer, **ERR_WRITE})
    def post(self, request: Request) -> Response:
        data = parse(ReviewInputSerializer, request.data)
        order = selectors.order_get_for_user(order_id=data["order_id"], user=request.user)
        review = services.review_leave(
            order=order, author=request.user, score=data["score"], comment=data["comment"]
        )
        return Response(ReviewSerializer(review).data, status=status.HTTP_201_CREATED)


def _require_user(user_id: int) -> None:
    if not get_user_model().objects.filter(pk=user_id).exists():
        raise ServiceError(ErrorCode.NOT_FOUND, f"User {user_id} does not exist.")


class UserReviewsView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        parameters=[OpenApiParameter("page", int)],
        responses={200: page_of(ReviewSerializer), 404: ErrorSerializer},
        operation_id="reviews_user_list",
    )
    def get(self, request: Request, user_id: int) -> Response:
        _require_user(user_id)
        return paginate(
            self, request, selectors.review_list_for_creator(creator_id=user_id), ReviewSerializer
        )


class UserReviewAverageView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(responses=ReviewAverageSerializer)
    def get(self, request: Request, user_id: int) -> Response:
        _require_user(user_id)
        return Response(selectors.review_average_for_creator(creator_id=user_id))


class OrderReviewView(APIView):
    @extend_schema(responses=ReviewSerializer(many=True))
    def get(self, request: Request, order_id: int) -> Response:
        order = selectors.order_get_for_user(order_id=order_id, user=request.user)
        reviews = list(
            selectors.review_list_for_creator(creator_id=order.creator_id).filter(order=order)
        )
        return Response(ReviewSerializer(reviews, many=True).data)
