"""Journeys for the demo business: both shipped examples installed and active (win-back runs from the customers'
real activity), with the event types, templates and survey they name, and six weeks of onboarding history.

The history follows the onboarding document step by step for each new customer: most use the product within a
week (some only after the nudge, some never), then wait a day and until ten in the morning for the check-in, two
weeks to settle in, and the satisfaction survey. Where "now" falls in that path is where the enrolment is: a
waiting one has its timer, so the worker carries on from there. It is written through journeys.history (bulk
inserts, a fraction of a second for a few hundred customers), not run live, so the demo stays fast and sends
nothing.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from cxloop.core.actor import Actor
from cxloop.customers.models import Customer
from cxloop.events.models import EventType
from cxloop.events.services import create_event_type
from cxloop.events.types import EventTypeInput
from cxloop.feedback.models import Survey
from cxloop.feedback.services import surveys
from cxloop.journeys import history, services
from cxloop.journeys.history import PastEnrolment, PastStep
from cxloop.journeys.models import Journey
from cxloop.journeys.steps import customer_zone
from cxloop.journeys.subscribers import sweep_date_triggers
from cxloop.messaging import queries as messaging_queries
from cxloop.messaging import services as messaging_services
from cxloop.messaging.types import TemplateContent

DAYS = 42
MAX_ENROLMENTS = 400
FIRST_USE = 0.62  # use the product within the first week
AFTER_NUDGE = 0.35  # of the others, use it within the week after the nudge
FAILED = 0.015  # the check-in cannot be sent (a bounced address, say)

EVENT_TYPES = (
    ("account.created", "Account created", "A customer opened an account (starts onboarding).", True),
    ("product.used", "Product used", "The customer used the card or the shop for the first time.", True),
    ("session.started", "Session started", "The customer signed in to the app or the website.", False),
)
TEMPLATES = (
    ("onboarding-welcome", "Onboarding: welcome", "service", "Welcome to Fernhill, {{ customer.first_name }}",
     "Hello {{ customer.first_name }},\n\nyour account is ready. Your card is on its way; the app shows where.\n"),
    ("onboarding-getting-started", "Onboarding: getting started", "service", "Getting started with your card",
     "Hello {{ customer.first_name }},\n\nhave you tried your card yet? Three things to do in the first week…\n"),
    ("onboarding-check-in", "Onboarding: check-in", "service", "How is it going?",
     "Hello {{ customer.first_name }},\n\nyou have used your card: how is it going? Reply to this email.\n"),
    ("win-back-we-miss-you", "Win-back: we miss you", "marketing", "We miss you",
     "Hello {{ customer.first_name }},\n\nit has been a while. Here is what is new at Fernhill…\n"),
)  # fmt: skip


@dataclass(frozen=True)
class JourneyDemoSummary:
    journeys: int
    enrolments: int
    running: int


@dataclass
class _Path:
    """One customer's walk through the onboarding document, up to now."""

    now: datetime
    steps: list[PastStep] = field(default_factory=list)
    state: str = "active"
    step: str = "welcome"
    finished_at: datetime | None = None
    exit_reason: str = ""
    waiting_for: str = ""
    waiting_since: datetime | None = None
    timer_due_at: datetime | None = None
    timer_is_timeout: bool = False

    def done(self, step: str, kind: str, outcome: str, at: datetime, why: str, due: datetime | None = None) -> None:
        self.steps.append(PastStep(step, kind, outcome, at, due, {"why": why}))

    def wait(self, step: str, at: datetime, due: datetime, why: str, *, event: str = "") -> None:
        self.step, self.waiting_for, self.waiting_since = step, event, at
        self.timer_due_at, self.timer_is_timeout = due, bool(event)
        self.steps.append(PastStep(step, "wait", "waiting", at, due, {"why": why}))

    def end(self, step: str, state: str, reason: str, at: datetime) -> None:
        self.step, self.state, self.exit_reason, self.finished_at = step, state, reason, at
        self.steps.append(PastStep(step, "exit", state, at, None, {"why": reason}))

    def item(self, customer: Customer, entered_at: datetime) -> PastEnrolment:
        return PastEnrolment(
            customer_id=customer.pk,
            trigger_ref=f"event:demo-account-created-{customer.public_id}",
            entered_at=entered_at,
            state=self.state,
            step=self.step,
            history=tuple(self.steps),
            finished_at=self.finished_at,
            exit_reason=self.exit_reason,
            waiting_for=self.waiting_for,
            waiting_since=self.waiting_since,
            timer_due_at=self.timer_due_at,
            timer_is_timeout=self.timer_is_timeout,
            context={"event": {"type": "account.created", "properties": {}}},
        )


def _ten_next(at: datetime, zone: ZoneInfo) -> datetime:
    """The next 10:00 in the customer's time zone, as the runtime's "until 10:00 their time" wait ends."""
    local = at.astimezone(zone)
    ten = datetime.combine(local.date(), time(10), tzinfo=zone)
    if ten <= local:
        ten = datetime.combine(local.date() + timedelta(days=1), time(10), tzinfo=zone)
    return ten.astimezone(at.tzinfo)


def _event_wait(path: _Path, rng: random.Random, step: str, at: datetime, chance: float) -> tuple[datetime, bool]:
    """A wait for product.used with a 7-day timeout: (when it ended, whether the event came); the path stops
    here when now falls inside the wait."""
    due = at + timedelta(days=7)
    used = at + timedelta(days=rng.uniform(0.05, 6.9)) if rng.random() < chance else None
    ends = used or due
    if ends > path.now:
        path.wait(step, at, due, f"waits for product.used until {due:%d %b %H:%M}", event="product.used")
        return ends, False
    if used is not None:
        path.done(step, "wait", "woken", used, f"product.used arrived after {(used - at).days} days", due)
        return used, True
    path.done(step, "wait", "timeout", due, "no product.used within 7 days", due)
    return due, False


def _timed_wait(path: _Path, step: str, at: datetime, due: datetime, why: str) -> bool:
    if due > path.now:
        path.wait(step, at, due, f"{why}: due {due:%d %b %H:%M}")
        return False
    path.done(step, "wait", "waited", due, why, due)
    return True


def _onboarding_path(rng: random.Random, entered_at: datetime, now: datetime, zone: ZoneInfo) -> _Path:
    path = _Path(now=now)
    path.done("welcome", "send_message", "sent", entered_at, "sent onboarding-welcome by email")
    at, used = _event_wait(path, rng, "wait_first_use", entered_at, FIRST_USE)
    if path.timer_due_at is not None:
        return path
    if not used:
        path.done("nudge", "send_message", "sent", at, "sent onboarding-getting-started by email")
        at, used = _event_wait(path, rng, "wait_after_nudge", at, AFTER_NUDGE)
        if path.timer_due_at is not None:
            return path
        if not used:
            path.end("not_started", "exited", "never used the product", at)
            return path
    if not _timed_wait(path, "pause_a_day", at, at + timedelta(days=1), "1 day"):
        return path
    at += timedelta(days=1)
    if not _timed_wait(path, "morning", at, _ten_next(at, zone), "until 10:00 their time"):
        return path
    at = _ten_next(at, zone)
    if rng.random() < FAILED:
        path.steps.append(PastStep("check_in", "send_message", "failed", at, None, {"error": "the address bounced"}))
        path.step, path.state, path.finished_at, path.exit_reason = "check_in", "failed", at, "the address bounced"
        return path
    path.done("check_in", "send_message", "sent", at, "sent onboarding-check-in by email")
    if not _timed_wait(path, "settle_in", at, at + timedelta(days=14), "14 days"):
        return path
    at += timedelta(days=14)
    path.done("satisfaction", "send_survey", "sent", at, "invited to onboarding-csat by email")
    path.end("done", "exited", "onboarded", at)
    return path


def _setup(actor: Actor) -> None:
    """What the examples name: event types, templates, the satisfaction survey."""
    known_types = set(EventType.objects.values_list("key", flat=True))
    for key, name, description, on_timeline in EVENT_TYPES:
        if key not in known_types:
            create_event_type(
                actor, EventTypeInput(key=key, name=name, description=description, show_on_timeline=on_timeline)
            )
    known = {t.key for t in messaging_queries.list_templates(actor, include_archived=True)}
    for key, name, purpose, subject, body in TEMPLATES:
        if key not in known:
            content = TemplateContent(locale="en", subject=subject, body_text=body)
            messaging_services.create_template(
                actor, key=key, name=name, channel="email", purpose=purpose, content=content
            )
    if not Survey.objects.filter(key="onboarding-csat").exists():
        survey = surveys.create_survey(
            actor, surveys.SurveyInput(key="onboarding-csat", name="How was your start? (CSAT)", kind="csat")
        )
        surveys.activate_survey(actor, survey)


def _journey(actor: Actor, name: str) -> Journey:
    found = Journey.objects.filter(key=name).first()
    return found or services.install_example(actor, name)


def build_journeys(
    actor: Actor, now: datetime, rng: random.Random, customers: Sequence[Customer]
) -> JourneyDemoSummary:
    _setup(actor)
    onboarding = _journey(actor, "onboarding")
    win_back = _journey(actor, "win_back")
    if onboarding.status == "draft":
        onboarding = services.activate_journey(actor, onboarding)
    if win_back.status == "draft":
        # Runs from what cxloop sees (activity.last): the sweep enrols the customers silent for 30 days today.
        services.activate_journey(actor, win_back)
        sweep_date_triggers(now=now)
    if onboarding.enrolments.exists() or onboarding.current_version is None:
        return JourneyDemoSummary(journeys=2, enrolments=0, running=0)
    newcomers = [c for c in customers if c.merged_into_id is None]
    chosen = rng.sample(newcomers, min(len(newcomers), MAX_ENROLMENTS, max(len(newcomers) // 3, 1)))
    items = []
    for customer in chosen:
        entered_at = now - timedelta(days=DAYS * rng.random() ** 1.3, minutes=rng.randint(0, 720))
        path = _onboarding_path(rng, entered_at, now, customer_zone(customer))
        items.append(path.item(customer, entered_at))
    written = history.import_history(actor, onboarding, onboarding.current_version, items, source="cxloop demo")
    running = sum(1 for item in items if item.state == "active")
    return JourneyDemoSummary(journeys=2, enrolments=written, running=running)
