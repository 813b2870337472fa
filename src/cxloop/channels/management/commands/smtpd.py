"""`cxloop smtpd`: the built-in inbound SMTP server."""

from __future__ import annotations

import signal
import threading
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from cxloop.channels.email.smtp import make_controller


class Command(BaseCommand):
    help = "Receive email over SMTP for the configured addresses (CXLOOP_EMAIL_INBOUND_ADDRESSES)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default=settings.CXLOOP_SMTPD_HOST)
        parser.add_argument("--port", type=int, default=settings.CXLOOP_SMTPD_PORT)

    def handle(self, *args: Any, **options: Any) -> None:
        controller = make_controller(options["host"], options["port"])
        controller.start()
        allowed = ", ".join(settings.CXLOOP_EMAIL_INBOUND_ADDRESSES) or "any recipient"
        self.stdout.write(f"SMTP server on {options['host']}:{options['port']} accepting mail for {allowed}")
        stop = threading.Event()
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        stop.wait()
        controller.stop()
        controller.handler.close()  # keeps what the sessions handed over before the stop
