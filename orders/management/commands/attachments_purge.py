"""manage.py attachments_purge: delete uploads never sent with a message or delivery."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from orders.attachments.services import attachment_purge_orphans


class Command(BaseCommand):
    help = "Delete uploaded files that no message or delivery claimed within --hours."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--hours",
            type=float,
            default=float(settings.ATTACHMENT_ORPHAN_HOURS),
            help="Age after which an unclaimed upload goes (default ATTACHMENT_ORPHAN_HOURS).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        purged = attachment_purge_orphans(older_than=timedelta(hours=options["hours"]))
        self.stdout.write(f"purged {purged} orphaned attachment(s)")
