"""`cxloop demo [--if-empty] [--customers N] [--seed S]`: fill an empty database with Fernhill Bank & Shop."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser, OutputWrapper

from cxloop.core.actor import Actor
from cxloop.core.errors import CxloopError
from cxloop.core.progress import ProgressBar
from cxloop.demo.builder import DemoBuilder, Progress, count_customers


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


class Command(BaseCommand):
    help = (
        "Load demo data: staff users with known passwords, customers with identities, a year of interactions "
        "on every channel, and duplicate suggestions. Refuses a database that already has customers."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--if-empty", action="store_true", help="Do nothing (successfully) when customers exist already."
        )
        parser.add_argument("--customers", type=int, default=600, help="How many customer profiles (default 600).")
        parser.add_argument("--seed", type=int, default=42, help="The same seed gives the same data (default 42).")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["customers"] < 1:
            raise CommandError("--customers must be at least 1.")
        existing = count_customers(Actor.system("demo"))
        if existing:
            message = f"The database already has {existing:,} customers; the demo data goes into an empty one only."
            if options["if_empty"]:
                self.stdout.write(f"{message} Nothing to do.")
                return
            raise CommandError(f"{message} Use a fresh database (or --if-empty to skip quietly).")

        def bar(label: str, total: int) -> Progress:
            return ProgressBar(_Stream(self.stderr), label, total)

        builder = DemoBuilder(customers=options["customers"], seed=options["seed"], progress=bar)
        self.stderr.write(f"Building Fernhill Bank & Shop: {options['customers']:,} customers, seed {options['seed']}")
        try:
            summary = builder.build()
        except CxloopError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo ready in {summary.seconds:.1f} s: {summary.customers:,} customers "
                f"({summary.duplicates_planted} planted duplicates), {summary.interactions:,} interactions, "
                f"{summary.suggestions} merge suggestions, {len(summary.users_created)} staff users; "
                f"inbox: {summary.conversations.get('open', 0)} open conversations "
                f"({summary.conversations.get('assigned', 0)} assigned), {summary.fresh_emails} fresh emails, "
                f"{summary.templates} canned replies, {summary.consents} customers' consents."
                + (
                    f" Cases: {summary.cases.cases} opened from conversations, {summary.cases.promises} promises"
                    f" ({summary.cases.missed_promises} missed), {summary.cases.handovers} hand-overs,"
                    f" {summary.cases.resolved} resolved, {summary.cases.repeat_contacts} repeat contact."
                    if summary.cases
                    else ""
                )
                + (
                    f" Feedback: {summary.feedback.surveys} surveys, {summary.feedback.invitations:,} invitations,"
                    f" {summary.feedback.answers:,} answers, {summary.feedback.follow_ups} follow-ups."
                    if summary.feedback
                    else ""
                )
                + (
                    f" Journeys: {summary.journeys.journeys} (onboarding active), {summary.journeys.enrolments:,}"
                    f" onboarding enrolments ({summary.journeys.running:,} still running)."
                    if summary.journeys
                    else ""
                )
            )
        )
        self.stdout.write("\n".join(summary.logins))
        self.stdout.write(f"(saved in {summary.login_file})")
