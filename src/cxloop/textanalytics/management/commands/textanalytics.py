"""`cxloop textanalytics backfill [--batch N] [--since DATE] [--all]`: score the customer's words of history."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser, OutputWrapper

from cxloop.core.errors import CxloopError
from cxloop.core.progress import ProgressBar
from cxloop.textanalytics import services

BATCH_MAX = 5000


class _Stream:
    """The command's stderr as a plain stream: OutputWrapper would end every write with a newline."""

    def __init__(self, wrapper: OutputWrapper) -> None:
        self.wrapper = wrapper

    def write(self, text: str) -> None:
        self.wrapper.write(text, ending="")

    def flush(self) -> None:
        self.wrapper.flush()

    def isatty(self) -> bool:
        return self.wrapper.isatty()


def _since(value: str | None) -> datetime | None:
    """A date (midnight UTC) or an ISO 8601 time with its offset."""
    if not value:
        return None
    try:
        if len(value) == 10:
            return datetime.combine(date.fromisoformat(value), datetime.min.time(), tzinfo=UTC)
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"--since {value!r}: give a date (2026-01-31) or a time (2026-01-31T09:00:00Z).") from exc
    if moment.tzinfo is None:
        raise CommandError(f"--since {value!r}: a time needs its offset (e.g. Z or +01:00).")
    return moment


class Command(BaseCommand):
    help = "Text analytics: score the customer's messages and call notes that have no scores yet, or re-score them."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        backfill = sub.add_parser(
            "backfill",
            help="Score history in batches with a progress bar. Resumable: run it again after an interruption.",
        )
        backfill.add_argument(
            "--batch", type=int, default=services.BATCH, help=f"Rows per batch (default {services.BATCH})."
        )
        backfill.add_argument("--since", help="Only interactions from this date (2026-01-31) or time on.")
        backfill.add_argument(
            "--all",
            action="store_true",
            dest="rescore_all",
            help="Also re-score what was scored before (after an upgrade of the analysis).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        batch = options["batch"]
        if not 1 <= batch <= BATCH_MAX:
            raise CommandError(f"--batch must be from 1 to {BATCH_MAX}.")
        since = _since(options["since"])
        try:
            plan = services.plan_backfill(since=since, rescore_all=options["rescore_all"])
            if plan.marked:
                self.stderr.write(
                    f"{plan.marked:,} texts scored before will be scored again (their scores stay until then)."
                )
            bar = ProgressBar(_Stream(self.stderr), "Scoring texts", plan.pending)
            seen = [0]

            def advance(count: int) -> None:
                seen[0] += count
                bar.advance(count)

            scored = services.backfill(batch=batch, since=since, progress=advance)
            bar.close()
        except CxloopError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(self.style.SUCCESS(f"Scored {scored:,} texts ({seen[0]:,} interactions looked at)."))
