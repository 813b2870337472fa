"""`cxloop imap_poll`: read new mail from the configured IMAP mailbox now (the worker does it every minute)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from cxloop.channels.email.imap import MailboxConfig, poll_mailbox


class Command(BaseCommand):
    help = "Fetch new messages from the IMAP mailbox in CXLOOP_IMAP_* settings."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--limit", type=int, default=500)

    def handle(self, *args: Any, **options: Any) -> None:
        config = MailboxConfig.from_settings()
        if config is None:
            raise CommandError(
                "No mailbox is configured: set CXLOOP_IMAP_HOST, CXLOOP_IMAP_USER and CXLOOP_IMAP_PASSWORD."
            )
        result = poll_mailbox(config, limit=options["limit"])
        self.stdout.write(
            f"{config.key}: {result.fetched} fetched, {result.duplicates} duplicates, "
            f"{result.quarantined} quarantined" + (" (UIDVALIDITY changed: read again)" if result.reset else "")
        )
