"""`cxloop find_duplicates [--threshold P]`: run the Splink duplicate scan now, with progress."""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from cxloop.core.actor import Actor
from cxloop.core.errors import CxloopError
from cxloop.customers import duplicates


class Command(BaseCommand):
    help = "Find likely duplicate customers with Splink and record them as merge suggestions for review."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--threshold",
            type=float,
            default=None,
            help=f"Match probability needed for a suggestion (default {settings.CXLOOP_DUPLICATE_THRESHOLD}).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.perf_counter()

        def step(message: str) -> None:
            self.stderr.write(f"[{time.perf_counter() - started:6.1f}s] {message}")

        try:
            run = duplicates.find_duplicates(Actor.system("duplicates"), threshold=options["threshold"], progress=step)
        except CxloopError as exc:
            raise CommandError(exc.message) from exc
        if run.skipped:
            self.stdout.write(f"Nothing to do: {run.skipped} ({run.customers_scanned} found).")
            return
        self.stdout.write(
            self.style.SUCCESS(
                f"Scanned {run.customers_scanned:,} customers, scored {run.pairs_scored:,} pairs "
                f"({run.trained_with}); {run.pairs_above_threshold:,} at p ≥ {run.threshold:g}, "
                f"{run.suggestions_created:,} new suggestions, in {run.seconds:.1f} s."
            )
        )
