"""POST /api/ws-ticket and POST /api/auth/logout."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from echo_site.throttling import TicketThrottle
from orders.serializers import StrictCharField
from orders.views import parse

from .auth import TICKET_TTL_SECONDS, ticket_issue
from .services import user_logout


class TicketView(APIView):
    """A single-use websocket ticket, valid 30 s, for browser code that holds only a JWT.

    Throttled per user (WS_TICKET_RATE); 503 while the shared ticket store is unreachable.
    """

    throttle_classes = [TicketThrottle]

    @extend_schema(
        request=None,
        responses=inline_serializer(
            "WsTicket",
            {"ticket": serializers.CharField(), "expires_in": serializers.IntegerField()},
        ),
    )
    def post(self, request: Request) -> Response:
        expires_at: datetime | None = None
        issued_at: datetime | None = None
        session_key: str | None = None
        token: Any = request.auth
        if token is not None and hasattr(token, "get") and token.get("exp"):
            expires_at = datetime.fromtimestamp(int(token["exp"]), tz=UTC)
            if token.get("iat") is not None:
                # The ticket is as old as the token that bought it: a logout since revokes both.
                issued_at = datetime.fromtimestamp(int(token["iat"]), tz=UTC)
        else:
            session_key = request.session.session_key
        user_id = request.user.pk
        assert user_id is not None  # noqa: S101 - IsAuthenticated let us in
        ticket = ticket_issue(
            user_id=user_id, expires_at=expires_at, issued_at=issued_at, session_key=session_key
        )
        return Response({"ticket": ticket, "expires_in": TICKET_TTL_SECONDS})


class LogoutInputSerializer(serializers.Serializer):
    refresh = StrictCharField(required=False, help_text="The refresh token to revoke.")


class LogoutView(APIView):
    """End the session, blacklist the refresh token if given, and close the caller's sockets."""

    @extend_schema(
        request=LogoutInputSerializer,
        responses={204: None},
    )
    def post(self, request: Request) -> Response:
        data = parse(LogoutInputSerializer, request.data)
        user_logout(request=request._request, user=request.user, refresh=data.get("refresh"))
        return Response(status=204)
