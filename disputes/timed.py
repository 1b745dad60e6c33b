"""The disputes' time-based rule: an open dispute no admin has joined for DISPUTE_ADMIN_SLA_HOURS
is flagged on the mediation desk (live), once. The flag is a conditional update on the dispute's
row (OPEN, not yet flagged), so two workers or sweeps flag it once."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from . import live
from .models import Dispute, DisputeStatus


def _sla_cutoff(now: datetime) -> datetime:
    return now - timedelta(hours=settings.DISPUTE_ADMIN_SLA_HOURS)


def dispute_flag_sla(*, dispute_id: int) -> bool:
    now = timezone.now()
    with transaction.atomic():
        flagged = Dispute.objects.filter(
            pk=dispute_id,
            status=DisputeStatus.OPEN,
            sla_flagged_at__isnull=True,
            created_at__lte=_sla_cutoff(now),
        ).update(sla_flagged_at=now)
        if not flagged:
            return False
        live.dispute_sla_flagged(dispute=Dispute.objects.select_related("order").get(pk=dispute_id))
    return True


def disputes_due_sla(*, now: datetime | None = None, limit: int = 500) -> list[int]:
    now = now or timezone.now()
    return list(
        Dispute.objects.filter(
            status=DisputeStatus.OPEN,
            sla_flagged_at__isnull=True,
            created_at__lte=_sla_cutoff(now),
        )
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )
