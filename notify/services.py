"""Preferences, mutes, push subscriptions and the signed one-click unsubscribe."""

from __future__ import annotations

from typing import Any

from django.core import signing
from django.db import IntegrityError, transaction

from echo_site.errors import ErrorCode, ServiceError
from orders.models import Order

from .models import NotificationPreference, OrderMute, PushSubscription

UNSUBSCRIBE_SALT = "notify.unsubscribe"
MAX_DIGEST_DELAY_MINUTES = 7 * 24 * 60


def _invalid(field: str, message: str) -> ServiceError:
    return ServiceError(ErrorCode.INVALID, f"{field}: {message}", fields={field: [message]})


def preference_get(*, user: Any) -> NotificationPreference:
    """The user's preferences; the defaults (unsaved) when they never changed them."""
    found = NotificationPreference.objects.filter(user=user).first()
    return found or NotificationPreference(user=user)


def preference_update(
    *,
    user: Any,
    email_enabled: bool | None = None,
    push_enabled: bool | None = None,
    digest_delay_minutes: int | None = None,
    desk_email: bool | None = None,
    muted_order_ids: list[int] | None = None,
) -> NotificationPreference:
    """Change some preferences; `muted_order_ids` replaces the set of muted orders."""
    if (
        digest_delay_minutes is not None
        and not 0 <= digest_delay_minutes <= MAX_DIGEST_DELAY_MINUTES
    ):
        raise _invalid("digest_delay_minutes", f"Must be 0 to {MAX_DIGEST_DELAY_MINUTES}.")
    if desk_email and not user.is_staff:
        raise ServiceError(
            ErrorCode.PERMISSION_DENIED, "Only admins get the desk's dispute emails."
        )
    changes = {
        name: value
        for name, value in (
            ("email_enabled", email_enabled),
            ("push_enabled", push_enabled),
            ("digest_delay_minutes", digest_delay_minutes),
            ("desk_email", desk_email),
        )
        if value is not None
    }
    with transaction.atomic():
        pref, _ = NotificationPreference.objects.select_for_update().get_or_create(user=user)
        for name, value in changes.items():
            setattr(pref, name, value)
        if changes:
            pref.save()
        if muted_order_ids is not None:
            wanted = set(muted_order_ids)
            visible = set(
                Order.objects.filter(pk__in=wanted).filter(buyer=user).values_list("pk", flat=True)
            ) | set(Order.objects.filter(pk__in=wanted, creator=user).values_list("pk", flat=True))
            if wanted - visible:
                raise _invalid("muted_order_ids", "Only orders you are a party to can be muted.")
            OrderMute.objects.filter(user=user).exclude(order_id__in=wanted).delete()
            OrderMute.objects.bulk_create(
                [OrderMute(user=user, order_id=oid) for oid in sorted(wanted)],
                ignore_conflicts=True,
            )
    return pref


def muted_order_ids(*, user: Any) -> list[int]:
    return sorted(OrderMute.objects.filter(user=user).values_list("order_id", flat=True))


def push_subscription_add(*, user: Any, endpoint: str, p256dh: str, auth: str) -> PushSubscription:
    """Store a browser's subscription; the same endpoint again moves it to this user."""
    if not endpoint.startswith("https://") and not endpoint.startswith("http://"):
        raise _invalid("endpoint", "Must be an http(s) URL.")
    for name, value, limit in (("p256dh", p256dh, 200), ("auth", auth, 100)):
        if not value or len(value) > limit:
            raise _invalid(f"keys.{name}", f"Required, at most {limit} characters.")
    with transaction.atomic():
        try:
            with transaction.atomic():
                sub, _ = PushSubscription.objects.update_or_create(
                    endpoint=endpoint, defaults={"user": user, "p256dh": p256dh, "auth": auth}
                )
        except IntegrityError:  # a concurrent add of the same endpoint won
            sub = PushSubscription.objects.get(endpoint=endpoint)
            PushSubscription.objects.filter(pk=sub.pk).update(user=user, p256dh=p256dh, auth=auth)
    return sub


def push_subscription_remove(*, user: Any, endpoint: str) -> bool:
    deleted, _ = PushSubscription.objects.filter(user=user, endpoint=endpoint).delete()
    return deleted > 0


def push_subscription_expired(*, subscription_id: int) -> None:
    """The push service answered 404/410: the browser dropped the subscription."""
    PushSubscription.objects.filter(pk=subscription_id).delete()


def unsubscribe_token(*, user_id: int) -> str:
    return signing.dumps({"u": user_id}, salt=UNSUBSCRIBE_SALT, compress=True)


def unsubscribe_user_id(*, token: str) -> int | None:
    try:
        data = signing.loads(token, salt=UNSUBSCRIBE_SALT)
    except signing.BadSignature:
        return None
    user_id = data.get("u") if isinstance(data, dict) else None
    return user_id if isinstance(user_id, int) else None


def email_unsubscribe(*, token: str) -> bool:
    """Turn email off for the token's user (no login: the signature is the proof)."""
    user_id = unsubscribe_user_id(token=token)
    if user_id is None:
        raise ServiceError(ErrorCode.NOT_FOUND, "This unsubscribe link is not valid.")
    with transaction.atomic():
        pref, _ = NotificationPreference.objects.select_for_update().get_or_create(user_id=user_id)
        if pref.email_enabled:
            pref.email_enabled = False
            pref.save(update_fields=["email_enabled", "updated_at"])
    return True
