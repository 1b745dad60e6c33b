"""Creators' Stripe Express connected accounts: onboarding and whether payouts can go out."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from echo_site.errors import ErrorCode, ServiceError

from ..gateway import GatewayError, get_gateway
from ..models import CreatorAccount
from ._common import logger
from .payouts import _release_waiting_payouts


def account_connect(*, user: Any, refresh_url: str, return_url: str) -> tuple[CreatorAccount, str]:
    """Create the user's Stripe Express account (once) and an onboarding link for it."""
    gateway = get_gateway()
    try:
        with transaction.atomic():
            account, _ = CreatorAccount.objects.get_or_create(user=user)
    except IntegrityError:
        account = CreatorAccount.objects.get(user=user)
    try:
        if not account.stripe_account_id:
            info = gateway.create_account(
                email=getattr(user, "email", "") or "",
                metadata={"user_id": str(user.pk)},
                idempotency_key=f"account-user-{user.pk}",
            )
            CreatorAccount.objects.filter(pk=account.pk, stripe_account_id=None).update(
                stripe_account_id=info.id, updated_at=timezone.now()
            )
            account.refresh_from_db()
            if info.payouts_enabled and account.stripe_account_id == info.id:
                account_sync(stripe_account_id=info.id, payouts_enabled=True)
                account.refresh_from_db()
        url = gateway.create_account_link(
            account_id=account.stripe_account_id or "",
            refresh_url=refresh_url,
            return_url=return_url,
        )
    except GatewayError as exc:
        logger.warning("account_connect user=%s failed: %s", user.pk, exc)
        raise ServiceError(
            ErrorCode.PAYMENT_PROVIDER_ERROR,
            "The payment provider could not be reached; try again.",
        ) from exc
    return account, url


def account_sync(*, stripe_account_id: str, payouts_enabled: bool) -> CreatorAccount | None:
    """Record whether a connected account can receive payouts; release waiting payouts."""
    with transaction.atomic():
        account = (
            CreatorAccount.objects.select_for_update()
            .filter(stripe_account_id=stripe_account_id)
            .first()
        )
        if account is None:
            return None
        if account.payouts_enabled != payouts_enabled:
            account.payouts_enabled = payouts_enabled
            account.save(update_fields=["payouts_enabled", "updated_at"])
        if payouts_enabled:
            _release_waiting_payouts(user_id=account.user_id)
    return account
