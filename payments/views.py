"""Payments REST endpoints: authenticate, call a service or selector, render."""

from __future__ import annotations

import logging

from django.core.exceptions import RequestDataTooBig
from django.utils.decorators import method_decorator
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from echo_site.errors import ErrorCode, ServiceError, error_body, request_too_big
from orders import selectors as order_selectors
from orders.serializers import ErrorSerializer

from . import selectors, services
from .serializers import (
    ConnectSerializer,
    PaymentSerializer,
    PaymentStartSerializer,
    WebhookResultSerializer,
)

logger = logging.getLogger(__name__)


class OrderPaymentView(APIView):
    extra_error_statuses = (502,)  # Stripe failed

    @extend_schema(
        request=None,
        responses={201: PaymentStartSerializer, 200: PaymentStartSerializer},
        description="The buyer starts paying a PENDING order (idempotent: the same payment "
        "comes back). Confirm client_secret with Stripe.js; with simulated payments the "
        "payment has already succeeded.",
    )
    def post(self, request: Request, order_id: int) -> Response:
        order = order_selectors.order_get_for_user(order_id=order_id, user=request.user)
        payment, created = services.payment_start(order=order, actor=request.user)
        payment = selectors.payment_for_order(order=order) or payment
        return Response(
            PaymentStartSerializer(payment).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )

    @extend_schema(responses=PaymentSerializer)
    def get(self, request: Request, order_id: int) -> Response:
        payment = selectors.payment_get_for_user(order_id=order_id, user=request.user)
        return Response(PaymentSerializer(payment).data)


class ConnectView(APIView):
    extra_error_statuses = (502,)  # Stripe failed

    @extend_schema(
        request=None,
        responses=ConnectSerializer,
        description="Create the caller's Stripe Express account (once) and return an "
        "onboarding link.",
    )
    def post(self, request: Request) -> Response:
        account, url = services.account_connect(
            user=request.user,
            refresh_url=request.build_absolute_uri("/?payments=connect-refresh"),
            return_url=request.build_absolute_uri("/?payments=connect-return"),
        )
        return Response(
            ConnectSerializer(
                {
                    "account_id": account.stripe_account_id,
                    "payouts_enabled": account.payouts_enabled,
                    "onboarding_url": url,
                    "simulated": selectors.payments_simulated(),
                }
            ).data
        )


@method_decorator(csrf_exempt, name="dispatch")
class WebhookView(APIView):
    """Stripe's deliveries: verified by signature on the raw body, not by a session."""

    authentication_classes: list[type] = []
    permission_classes = [AllowAny]

    @extend_schema(
        request=None,
        parameters=[
            OpenApiParameter(
                "Stripe-Signature",
                str,
                location=OpenApiParameter.HEADER,
                required=True,
                description="t=<timestamp>,v1=<HMAC-SHA256 of the raw body>",
            )
        ],
        responses={
            200: WebhookResultSerializer,
            400: OpenApiResponse(
                ErrorSerializer,
                description="Missing or bad signature, stale timestamp, not a Stripe event",
            ),
            413: OpenApiResponse(
                ErrorSerializer, description="Body over DATA_UPLOAD_MAX_MEMORY_SIZE"
            ),
            500: OpenApiResponse(
                ErrorSerializer, description="A handler failed; Stripe delivers again"
            ),
        },
    )
    def post(self, request: Request) -> Response:
        # Refused before the body is read: too big for any Stripe event (413), or unsigned.
        if request_too_big(request):
            raise RequestDataTooBig()
        signature = request.headers.get("Stripe-Signature")
        if not signature:
            raise ServiceError(
                ErrorCode.WEBHOOK_SIGNATURE_INVALID, "The Stripe-Signature header is missing."
            )
        payload = request.body  # the raw bytes Stripe signed; never request.data
        try:
            result = services.webhook_handle(payload=payload, signature=signature)
        except ServiceError:
            raise
        except Exception:
            logger.exception("stripe webhook handler failed; Stripe will deliver again")
            return Response(
                error_body(ErrorCode.SERVER_ERROR, "The event could not be processed."),
                status=status.HTTP_500_INTERNAL_SERVER_ERROR,
            )
        return Response({"received": True, "result": result})
