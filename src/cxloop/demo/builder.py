"""`cxloop demo`: Fernhill Bank & Shop, a believable business to try cxloop on.

Fernhill is a digital bank with an online shop for its cardholders, serving customers in nine
countries. The demo gives it staff in three teams (one user per role, with known passwords), custom
profile fields and tags, customers with the identities real customers collect, a year of conversations
on every channel, and a few percent of customers with a second profile (a typo, a nickname, a WhatsApp
profile with only a first name...) that the Splink scan at the end turns into merge suggestions.

Everything is written through the owning modules' services as the system actor "demo", so the data is
canonical (E.164 phones, normalised e-mails), validated and in the audit trail like any other. The
content depends only on the seed (and on the day it runs, since the year of history ends today).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Protocol

from django.conf import settings
from django.db import transaction

from cxloop.accounts import queries as account_queries
from cxloop.accounts import services as account_services
from cxloop.accounts.models import Team
from cxloop.core import clock
from cxloop.core.actor import Actor
from cxloop.customers import duplicates
from cxloop.customers import queries as customer_queries
from cxloop.customers import services as customer_services
from cxloop.customers.models import Customer
from cxloop.customers.types import CustomerInput, IdentityInput
from cxloop.demo import automation as demo_automation
from cxloop.demo import cases as demo_cases
from cxloop.demo import channels as demo_channels
from cxloop.demo import feedback as demo_feedback
from cxloop.demo import journeys as demo_journeys
from cxloop.demo.conversations import ConversationPlanner, PlannedInteraction
from cxloop.demo.people import PeopleGenerator, Person
from cxloop.demo.texts import BUSINESS
from cxloop.interactions import services as interaction_services
from cxloop.interactions.types import InboundItem, InteractionInput
from cxloop.textanalytics import services as textanalytics_services

DUPLICATE_SHARE = 0.06
CHUNK = 50  # customers per transaction: progress stays visible, commits stay few


class Progress(Protocol):
    def advance(self, count: int = 1) -> None: ...
    def close(self) -> None: ...


ProgressFactory = Callable[[str, int], Progress]


class _Silent:
    def advance(self, count: int = 1) -> None:
        return None

    def close(self) -> None:
        return None


@dataclass(frozen=True)
class StaffMember:
    username: str
    role: str
    team: str | None
    first_name: str
    last_name: str

    @property
    def password(self) -> str:
        return f"{self.username}-demo"


STAFF = (
    StaffMember("ada", "admin", None, "Ada", "Lovelace"),
    StaffMember("bob", "supervisor", "Customer Care", "Bob", "Okafor"),
    StaffMember("alice", "agent", "Customer Care", "Alice", "Martin"),
    StaffMember("dmitri", "agent", "Customer Care", "Dmitri", "Ivanov"),
    StaffMember("grace", "supervisor", "Cards & Payments", "Grace", "Mensah"),
    StaffMember("farah", "agent", "Cards & Payments", "Farah", "Haddad"),
    StaffMember("lucas", "agent", "Online Shop", "Lucas", "Girard"),
    StaffMember("charlie", "analyst", "Insights", "Charlie", "Nguyen"),
)

ATTRIBUTES: tuple[dict[str, Any], ...] = (
    {"key": "tier", "label": "Plan (tier)", "type": "choice", "choices": ["Everyday", "Plus", "Premium", "Business"]},
    {"key": "lifetime_value", "label": "Lifetime value", "type": "number", "description": "In the home currency."},
    {"key": "newsletter", "label": "Newsletter", "type": "boolean"},
    {"key": "customer_since", "label": "Customer since", "type": "date"},
    {"key": "account_manager", "label": "Account manager", "type": "text"},
)
TAGS = ("vip", "student", "small-business", "frequent-traveller", "shop-customer", "beta-tester", "complaint")
_STAGES = (("lead", 10), ("prospect", 8), ("customer", 50), ("loyal", 17), ("at_risk", 9), ("churned", 6))


@dataclass
class DemoSummary:
    users_created: list[str] = field(default_factory=list)
    users_kept: list[str] = field(default_factory=list)
    customers: int = 0
    duplicates_planted: int = 0
    planted_pairs: list[tuple[str, str]] = field(default_factory=list)  # (original, second profile) public ids
    interactions: int = 0
    conversations: dict[str, int] = field(default_factory=dict)
    templates: int = 0
    consents: int = 0
    fresh_emails: int = 0
    suggestions: int = 0
    cases: demo_cases.CaseDemoSummary | None = None
    feedback: demo_feedback.FeedbackDemoSummary | None = None
    journeys: demo_journeys.JourneyDemoSummary | None = None
    automation_rules: int = 0
    seconds: float = 0.0
    login_file: Path | None = None
    logins: list[str] = field(default_factory=list)


class DemoBuilder:
    def __init__(self, *, customers: int, seed: int, progress: ProgressFactory | None = None) -> None:
        self.total = customers
        self.seed = seed
        self.rng = random.Random(seed)  # noqa: S311 - demo data must be reproducible, not secret
        self.people = PeopleGenerator(seed)
        self.actor = Actor.system("demo")
        self.now = clock.now()
        self.progress: ProgressFactory = progress or (lambda label, total: _Silent())
        self.summary = DemoSummary()

    def build(self) -> DemoSummary:
        started = time.perf_counter()
        self._staff()
        self._attributes()
        planned = self._people()
        customers = self._customers(planned)
        self._interactions(planned, customers)
        demo_cases.configure(self.actor)  # before the fresh emails, so they open cases as real ones would
        self._channels(customers)
        self._cases()
        self.summary.feedback = demo_feedback.build_feedback(self.actor, self.now, self.rng, customers)
        self.summary.journeys = demo_journeys.build_journeys(self.actor, self.now, self.rng, customers)
        self.summary.automation_rules = demo_automation.build_rules(self.actor)
        # The worker would score the customers' words within minutes; the demo shows them scored at once.
        textanalytics_services.backfill()
        run = duplicates.find_duplicates(self.actor)
        self.summary.suggestions = run.suggestions_created
        self.summary.seconds = time.perf_counter() - started
        return self.summary

    # --- staff --------------------------------------------------------------------------------
    def _staff(self) -> None:
        teams: dict[str, Team] = {}
        for member in STAFF:
            if member.team and member.team not in teams:
                teams[member.team] = self._team(member.team)
            if account_queries.find_user(member.username) is not None:
                self.summary.users_kept.append(member.username)
                continue
            account_services.create_user(
                self.actor,
                username=member.username,
                password=member.password,
                role=member.role,
                team=teams.get(member.team or ""),
                first_name=member.first_name,
                last_name=member.last_name,
                email=f"{member.username}@fernhill.example",
            )
            self.summary.users_created.append(member.username)
        self._write_logins()

    def _team(self, name: str) -> Team:
        return account_queries.find_team(name) or account_services.create_team(self.actor, name=name)

    def _write_logins(self) -> None:
        lines = [f"Demo logins for {BUSINESS} (created by `cxloop demo`):"]
        for member in STAFF:
            if member.username in self.summary.users_created:
                lines.append(f"  {member.role:<11} {member.username} / {member.password}")
        if self.summary.users_kept:
            lines.append(f"  (kept existing users with their own passwords: {', '.join(self.summary.users_kept)})")
        path = Path(settings.VAR_DIR) / "demo_login.txt"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        self.summary.login_file, self.summary.logins = path, lines

    def _attributes(self) -> None:
        known = set(customer_queries.attribute_definitions(self.actor).values_list("key", flat=True))
        for definition in ATTRIBUTES:
            if definition["key"] not in known:
                customer_services.define_attribute(self.actor, **definition)

    # --- customers ----------------------------------------------------------------------------
    def _people(self) -> list[Person]:
        """Originals first, then the planted second profiles, shuffled so they do not sit together."""
        planted = int(round(self.total * DUPLICATE_SHARE)) if self.total >= 20 else 0
        originals = [self.people.person() for _ in range(self.total - planted)]
        people = originals + [self.people.duplicate_of(p) for p in self.rng.sample(originals, planted)]
        self.rng.shuffle(people)
        self.summary.duplicates_planted = planted
        return people

    def _customers(self, people: list[Person]) -> list[Customer]:
        bar = self.progress("customers", len(people))
        created: list[Customer] = []
        for start in range(0, len(people), CHUNK):
            with transaction.atomic():
                for person in people[start : start + CHUNK]:
                    created.append(customer_services.create_customer(self.actor, self._customer_input(person)))
                    bar.advance()
        bar.close()
        self.summary.customers = len(created)
        originals = {p.key: c.public_id for p, c in zip(people, created, strict=True) if not p.variant}
        self.summary.planted_pairs = sorted(
            (originals[p.key], c.public_id) for p, c in zip(people, created, strict=True) if p.variant
        )
        return created

    def _customer_input(self, person: Person) -> CustomerInput:
        identities = [
            IdentityInput(
                kind=i.kind,
                value=i.value,
                network=i.network or None,
                region=i.region or None,
                is_verified=i.kind == "email" and self.rng.random() < 0.6,
            )
            for i in person.identities
        ]
        if person.variant:  # a second profile, made by a channel from what it saw: a new lead
            return CustomerInput(
                name=person.name,
                country=person.country,
                locale=person.locale,
                time_zone=person.time_zone,
                lifecycle_stage="lead",
                identities=identities,
                source=self.rng.choice(["whatsapp", "email", "chat", "import"]),
            )
        stage = self.rng.choices([s for s, _ in _STAGES], weights=[w for _, w in _STAGES])[0]
        return CustomerInput(
            name=person.name,
            country=person.country,
            locale=person.locale,
            time_zone=person.time_zone,
            lifecycle_stage=stage,
            identities=identities,
            attributes=self._attributes_for(stage, person),
            tags=self._tags_for(stage, person),
            source=self.rng.choice(["staff", "import", "shop", "api"]),
        )

    def _attributes_for(self, stage: str, person: Person) -> dict[str, Any]:
        rng = self.rng
        values: dict[str, Any] = {"newsletter": rng.random() < 0.45}
        if stage in ("lead", "prospect"):
            return values
        works = any("@" in i.value and "-" in i.value.split("@")[1] for i in person.identities_of("email"))
        plan = (
            "Business" if works and rng.random() < 0.4 else rng.choices(["Everyday", "Plus", "Premium"], [6, 3, 1])[0]
        )
        values["tier"] = plan  # the SLA policies and routing rules read the tier attribute
        factor = {"Everyday": 1, "Plus": 2.5, "Premium": 8, "Business": 12}[plan]
        values["lifetime_value"] = round(rng.lognormvariate(5.5, 0.8) * factor, 2)
        since = date(2016, 1, 1) + timedelta(days=rng.randint(0, (self.now.date() - date(2016, 1, 1)).days - 30))
        values["customer_since"] = since.isoformat()
        if plan in ("Premium", "Business"):
            managers = [m for m in STAFF if m.role in ("agent", "supervisor")]
            manager = rng.choice(managers)
            values["account_manager"] = f"{manager.first_name} {manager.last_name}"
        return values

    def _tags_for(self, stage: str, person: Person) -> list[str]:
        rng = self.rng
        tags = set(rng.sample(TAGS, k=rng.choice([0, 0, 1, 1, 2])))
        if person.identities_of("external"):
            tags.add("shop-customer")
        if stage == "loyal" and rng.random() < 0.3:
            tags.add("vip")
        return sorted(tags)

    # --- interactions -------------------------------------------------------------------------
    def _interactions(self, people: list[Person], customers: list[Customer]) -> None:
        """A year of history, imported as a channel backfill would be: interactions.services.ingest_batch.

        Each item names the identity it was sent from or to; resolution finds the customer made above
        (nothing new is created), and the batch writes the interactions, threads and audit entries with
        bulk inserts: about five times faster than record_interaction item by item.
        """
        agents = [m.username for m in STAFF if m.role in ("agent", "supervisor")]
        planner = ConversationPlanner(self.rng, self.now, agents)
        items: list[InboundItem] = []
        for index, (person, customer) in enumerate(zip(people, customers, strict=True)):
            conversations = self._conversation_count(person, customer)
            for planned in planner.plan(f"{self.seed}:{index}", person, conversations):
                identity = _identity_for(planned.channel, person)
                items.append(
                    InboundItem(identities=[identity], interaction=self._input(planned), country=person.country)
                )
        bar = self.progress("interactions", len(items))
        for start in range(0, len(items), interaction_services.BATCH_MAX_ITEMS):
            chunk = items[start : start + interaction_services.BATCH_MAX_ITEMS]
            result = interaction_services.ingest_batch(self.actor, chunk)
            failed = [item.error for item in result.items if item.error is not None]
            if failed:
                raise failed[0]
            bar.advance(len(chunk))
        bar.close()
        self.summary.interactions = len(items)

    def _channels(self, customers: list[Customer]) -> None:
        """Settle the inbox, add canned replies and consents, and take today's emails through the pipeline."""
        self.summary.conversations = demo_channels.settle_conversations(self.actor, self.now, self.rng)
        self.summary.templates = demo_channels.canned_replies(self.actor)
        self.summary.consents = demo_channels.consents(self.actor, customers, self.rng)
        self.summary.fresh_emails = demo_channels.fresh_emails(customers, self.rng)
        self.summary.interactions += self.summary.fresh_emails

    def _cases(self) -> None:
        """Cases from the inbox's open conversations, with promises, hand-overs and outcomes, and one repeat
        contact through the real email pipeline."""
        result = demo_cases.build_cases(self.actor, self.now, self.rng)
        self.summary.interactions += int(demo_cases.repeat_contact(self.rng))  # its email is on the timeline too
        result.repeat_contacts = demo_cases.repeat_contact_count()
        self.summary.cases = result

    def _conversation_count(self, person: Person, customer: Customer) -> int:
        if person.variant:
            return self.rng.randint(1, 2)
        base = {"lead": 1, "prospect": 2, "customer": 5, "loyal": 7, "at_risk": 5, "churned": 2}
        return max(1, int(self.rng.expovariate(1 / base[customer.lifecycle_stage])) + 1)

    @staticmethod
    def _input(item: PlannedInteraction) -> InteractionInput:
        return InteractionInput(
            channel=item.channel,
            direction=item.direction,
            occurred_at=item.occurred_at,
            summary=item.summary,
            body=item.body,
            subject=item.subject,
            thread_ref=item.thread_ref,
            metadata={**item.metadata, "demo": True},
        )


_CHANNEL_IDENTITY = {"email": "email", "sms": "phone", "phone": "phone", "whatsapp": "whatsapp", "social": "social"}


def _identity_for(channel: str, person: Person) -> IdentityInput:
    """The identity an item on `channel` is addressed with; the person's first one for notes, events, surveys."""
    wanted = _CHANNEL_IDENTITY.get(channel, "anonymous" if channel == "chat" else "")
    found = person.identities_of(wanted) or list(person.identities)
    identity = found[0]
    return IdentityInput(
        kind=identity.kind, value=identity.value, network=identity.network or None, region=identity.region or None
    )


def count_customers(actor: Actor) -> int:
    """How many customers the database holds, merged ones included (the --if-empty check)."""
    return customer_queries.search_customers(actor, include_merged=True).count()
