"""Case management for the demo business: how Fernhill works (categories, plans, SLAs, queues, macros), and a
case load to try it on: open cases from the inbox's conversations, promises (some due today, two already
missed), hand-overs, resolved cases with their outcomes, and a customer who wrote twice about one matter.

Configuration goes through the setup, SLA and routing services; cases through the case services, as the
system actor "demo", so everything is validated, audited and raises the same events as in real use.
"""

from __future__ import annotations

import dataclasses
import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from cxloop.accounts import queries as account_queries
from cxloop.accounts.models import Team, User
from cxloop.cases.models import Case, CaseStatus, Category, Goal, Queue, RepeatContact
from cxloop.cases.services import cases as case_services
from cxloop.cases.services import plans, promises, routing, setup, sla, sla_config
from cxloop.channels import services as channel_services
from cxloop.channels.base import RawPayload
from cxloop.core import clock
from cxloop.core.actor import Actor
from cxloop.demo import channels as demo_channels
from cxloop.interactions.models import Direction, Interaction, Thread, ThreadStatus

# (key, name, goal, team, routing keywords)
CATEGORIES = (
    ("card-problem", "Card problem", "care", "Cards & Payments", ["card", "pin", "contactless", "atm"]),
    ("payments", "Payments and transfers", "care", "Cards & Payments", ["payment", "transfer", "charged", "refund"]),
    ("delivery", "Shop order or delivery", "care", "Online Shop", ["order", "delivery", "parcel", "courier"]),
    ("account-access", "Account access", "care", "Customer Care", ["login", "password", "locked", "app"]),
    ("complaint", "Complaint", "retain", "Customer Care", ["complaint", "unacceptable", "disappointed"]),
    ("upgrade", "Plan upgrade", "grow", "Customer Care", ["upgrade", "premium", "plus"]),
)
TEMPLATES = (
    (
        "Complaint",
        "retain",
        "complaint",
        (
            ("Acknowledge the complaint", ("Thank the customer", "Say when they will hear from us"), 4),
            ("Find the root cause", ("Read the whole history", "Ask the team that owns the fault"), 24),
            ("Call the customer back", ("Explain what happened", "Agree the remedy"), 48),
            ("Confirm the remedy was delivered", (), 120),
        ),
    ),
    (
        "Card problem",
        "care",
        "card-problem",
        (
            ("Check the card's status and recent declines", ("Blocked?", "Fraud flags?"), 2),
            ("Order a replacement if needed", (), 8),
            ("Confirm the new card works", (), 96),
        ),
    ),
    (
        "Shop delivery",
        "care",
        "delivery",
        (
            ("Track the parcel with the courier", (), 4),
            ("Reship or refund", ("Stock available?", "Refund to the original payment"), 24),
        ),
    ),
)
FIELDS: tuple[tuple[str, str, str, list[str], bool], ...] = (
    ("order_number", "Order number", "text", [], False),
    ("refund_amount", "Refund amount", "number", [], False),
    ("root_cause", "Root cause", "choice", ["Courier", "Card issuer", "Our app", "Our process", "Customer"], True),
)
MACROS = (
    (
        "Waiting for documents",
        "Ask for documents and wait on the customer.",
        [
            {"type": "add_note", "body": "Asked the customer for the documents we need."},
            {"type": "set_status", "value": "waiting_on_customer"},
        ],
    ),
    ("Escalate to urgent", "Raise to urgent priority.", [{"type": "set_priority", "value": "urgent"}]),
)
QUEUES = (
    ("care", "Customer Care", "Customer Care", "load_balanced", True),
    ("cards", "Cards & Payments", "Cards & Payments", "round_robin", False),
    ("shop", "Online Shop", "Online Shop", "manual", False),
)
PROMISES = (
    "We'll call you back once the card issuer answers",
    "Refund within 5 working days",
    "A replacement card will be with you by Friday",
    "We'll confirm the courier's new delivery date tomorrow",
    "I'll check the charge with our payments team and email you today",
)
HANDOVER_NOTES = (
    "Customer has already sent the card's last four digits and the decline times; the issuer ticket is open. "
    "Please chase the issuer, do not ask for the details again.",
    "Courier confirmed the parcel is lost. Customer prefers a reship over a refund. Needs the stock check.",
)


@dataclass
class CaseDemoSummary:
    cases: int = 0
    resolved: int = 0
    promises: int = 0
    missed_promises: int = 0
    handovers: int = 0
    repeat_contacts: int = 0
    by_status: dict[str, int] = field(default_factory=dict)


def _team(name: str) -> Team | None:
    return account_queries.find_team(name)


def _user(username: str) -> User | None:
    return account_queries.find_user(username)


def configure(actor: Actor) -> None:
    """Categories, fields, templates, the business calendar and SLA policies, queues and rules, macros; and email
    and web chat conversations open cases by themselves."""
    goals = {g.key: g for g in Goal.objects.all()}
    categories: dict[str, Category] = {}
    for key, name, goal, _team_name, _words in CATEGORIES:
        categories[key] = Category.objects.filter(key=key).first() or setup.create_category(
            actor, key=key, name=name, goal=goals.get(goal)
        )
    for key, label, type_, choices, required in FIELDS:
        setup.define_case_field(actor, key=key, label=label, type=type_, choices=choices, required_to_resolve=required)
    for name, goal, category, tasks in TEMPLATES:
        setup.create_template(
            actor,
            setup.TemplateInput(
                name=name,
                goal=goals.get(goal),
                category=categories[category],
                tasks=tuple(
                    setup.TemplateTaskInput(title=title, checklist=checklist, due_after_hours=hours)
                    for title, checklist, hours in tasks
                ),
            ),
        )
    _service_levels(actor, categories)
    _routing(actor)
    for name, description, actions in MACROS:
        setup.create_macro(actor, name=name, description=description, actions=actions)
    for channel in ("email", "chat"):
        setup.set_channel_case_setting(actor, channel, opens_cases=True, goal=goals.get("care"))


def _service_levels(actor: Actor, categories: dict[str, Category]) -> None:
    """A London office calendar (Saturday mornings too, bank holidays off) and four policies, most specific first."""
    today = clock.now().date()
    calendar = sla_config.create_calendar(
        actor,
        sla_config.CalendarInput(
            name="Fernhill office (London)",
            time_zone="Europe/London",
            hours={day: [["08:00", "18:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}
            | {"sat": [["09:00", "13:00"]], "sun": []},
            is_default=True,
        ),
    )
    for month, day, name in ((12, 25, "Christmas Day"), (12, 26, "Boxing Day"), (1, 1, "New Year's Day")):
        year = today.year if (month, day) >= (today.month, today.day) else today.year + 1
        sla_config.add_holiday(actor, calendar, day=date(year, month, day), name=name)
    del categories  # policies name categories by key
    for position, policy in enumerate(
        (
            sla_config.PolicyInput(
                name="Urgent",
                priorities=("urgent",),
                first_response_minutes=30,
                next_response_minutes=60,
                resolution_minutes=8 * 60,
                warn_before_minutes=10,
            ),
            sla_config.PolicyInput(
                name="Premium customers",
                customer_tiers=("Premium", "Business"),
                first_response_minutes=60,
                next_response_minutes=120,
                resolution_minutes=16 * 60,
            ),
            sla_config.PolicyInput(
                name="Card problems",
                categories=("card-problem",),
                first_response_minutes=120,
                next_response_minutes=240,
                resolution_minutes=20 * 60,
            ),
            sla_config.PolicyInput(
                name="Standard",
                first_response_minutes=240,
                next_response_minutes=480,
                resolution_minutes=30 * 60,
                warn_before_minutes=60,
            ),
        )
    ):
        sla_config.create_policy(actor, dataclasses.replace(policy, position=position))


def _routing(actor: Actor) -> None:
    staff = list(User.objects.filter(is_active=True, role__in=("agent", "supervisor")))
    for key, name, team_name, mode, is_default in QUEUES:
        team = _team(team_name)
        routing.create_queue(
            actor,
            key=key,
            name=name,
            team=team,
            assignment_mode=mode,
            is_default=is_default,
            members=[u for u in staff if team is not None and u.team_id == team.pk],
        )
    queues = {q.key: q for q in Queue.objects.all()}
    for _key, name, _goal, team_name, words in CATEGORIES:
        queue = next((q for q in queues.values() if q.name == team_name), None)
        if queue is None or queue.is_default:
            continue
        routing.create_rule(actor, name=f"{name} to {team_name}", queue=queue, conditions={"keywords": words})
    routing.create_rule(
        actor,
        name="Angry customers to Customer Care",
        queue=queues["care"],
        conditions={"sentiment_below": -0.5},
    )


def _recent_threads(rng: random.Random, count: int) -> list[Thread]:
    threads = list(
        Thread.objects.filter(status=ThreadStatus.OPEN, case_ref="")
        .exclude(last_inbound_at__isnull=True)
        .select_related("customer")
        .order_by("-last_activity_at")[: count * 2]
    )
    rng.shuffle(threads)
    return threads[:count]


def _category_for(text: str) -> Category | None:
    lowered = text.lower()
    for key, _name, _goal, _team_name, words in CATEGORIES:
        if any(word in lowered for word in words):
            return Category.objects.filter(key=key).first()
    return None


def _first_words(thread: Thread) -> str:
    first = Interaction.objects.filter(thread=thread, direction=Direction.INBOUND).order_by("occurred_at", "id").first()
    return f"{thread.subject}\n{first.body if first else ''}"


def build_cases(actor: Actor, now: datetime, rng: random.Random, *, count: int = 30) -> CaseDemoSummary:
    """Open cases from recent conversations and give them a life: plans worked, promises, hand-overs, outcomes."""
    summary = CaseDemoSummary()
    agents = {u.username: u for u in User.objects.filter(is_active=True, role__in=("agent", "supervisor"))}
    for index, thread in enumerate(_recent_threads(rng, count)):
        text = _first_words(thread)
        case = case_services.open_case(
            actor,
            case_services.CaseInput(
                customer=thread.customer,
                subject=thread.subject or text.strip().split("\n")[-1][:120] or "Customer enquiry",
                category=_category_for(text),
                priority=rng.choice(("normal", "normal", "normal", "high", "urgent", "low")),
                source_channel=thread.channel,
                thread=thread,
            ),
            at=now - timedelta(hours=rng.randint(1, 72)),
        )
        summary.cases += 1
        _live(actor, case, index, now, rng, agents, summary)
    summary.missed_promises = promises.sweep_promises(now + timedelta(minutes=5)).missed
    sla.sweep(now)
    summary.by_status = {status: Case.objects.filter(status=status).count() for status in CaseStatus.values}
    return summary


def _live(
    actor: Actor,
    case: Case,
    index: int,
    now: datetime,
    rng: random.Random,
    agents: dict[str, User],
    summary: CaseDemoSummary,
) -> None:
    """One case's story so far, chosen by its place in the list so every kind of state is on show."""
    if case.owner is None and agents:
        case = case_services.assign_case(actor, case, owner=rng.choice(list(agents.values())))
    tasks = list(case.tasks.order_by("position", "id"))
    if tasks and index % 2 == 0:
        plans.set_task_status(actor, tasks[0], "done")
    kind = index % 6
    if kind in (0, 1):  # a promise that is still open: due later today or tomorrow
        due = now + timedelta(hours=rng.choice((3, 6, 26)))
        promises.make_promise(
            actor,
            customer=case.customer,
            description=rng.choice(PROMISES),
            due_at=due,
            owner=case.owner,
            channel=case.source_channel or "phone",
            case=case,
        )
        summary.promises += 1
    elif kind == 2:  # a promise about to be missed (the sweep at the end marks it)
        promises.make_promise(
            actor,
            customer=case.customer,
            description=rng.choice(PROMISES),
            due_at=now + timedelta(minutes=2),
            owner=case.owner,
            channel="phone",
            case=case,
        )
        summary.promises += 1
    elif kind == 3 and case.owner is not None:  # handed over with a note
        others = [u for u in agents.values() if u.pk != case.owner_id and u.role == "agent"]
        if others:
            case_services.assign_case(actor, case, owner=rng.choice(others), note=HANDOVER_NOTES[index % 2])
            summary.handovers += 1
    elif kind == 4:  # resolved, with its outcome
        case_services.update_case(actor, case, case_services.CaseChanges(custom_fields={"root_cause": "Courier"}))
        case_services.change_status(
            actor,
            case,
            CaseStatus.RESOLVED,
            goal_achieved=rng.random() < 0.8,
            outcome="Explained the cause and fixed it; the customer confirmed by phone.",
        )
        summary.resolved += 1
    else:  # waiting on the customer
        case_services.change_status(actor, case, CaseStatus.WAITING_ON_CUSTOMER)


def repeat_contact(rng: random.Random) -> bool:
    """A customer whose case was just resolved writes again about the same thing, by email, through the real
    pipeline: the new message is folded into that case, which reopens, flagged as a repeat contact. Returns
    whether the email was sent."""
    resolved = Case.objects.filter(status=CaseStatus.RESOLVED).select_related("customer").order_by("id").first()
    if resolved is None:
        return False
    customer = resolved.customer
    address = demo_channels._email_of(customer)
    if not address:
        return False
    # As customers do: the same words again (their first message), with a line on top.
    first = (
        Interaction.objects.filter(case_ref=resolved.public_id, direction=Direction.INBOUND)
        .order_by("occurred_at", "id")
        .first()
    )
    said = first.body.strip() if first is not None and first.body.strip() else resolved.subject
    text = f"This is still not sorted.\n\n{said}"
    raw = demo_channels._message(customer, address, text, f"Still not sorted: {resolved.subject}", 1000, rng)
    channel_services.receive(RawPayload(channel="email", data=raw, content_type="message/rfc822", source="demo"))
    return True


def repeat_contact_count() -> int:
    return RepeatContact.objects.count()
