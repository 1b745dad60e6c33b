"""Retry payouts and refunds whose gateway call failed (or never ran).

Run it from cron or a scheduler, e.g. every 5 minutes: `python manage.py payments_retry`.
It calls the same services as the first attempt, under the same idempotency keys.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from payments import services


class Command(BaseCommand):
    help = "Retry failed or unfinished payouts, refunds and transfer reversals."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--min-age",
            type=int,
            default=None,
            help="Only rows untouched for this many seconds (default: "
            "PAYMENTS_RETRY_MIN_AGE_SECONDS).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        counts = services.payments_retry(min_age_seconds=options["min_age"])
        self.stdout.write(
            f"payouts retried: {counts['payouts']}, refunds retried: {counts['refunds']}, "
            f"waiting payouts released: {counts['released']}"
        )
