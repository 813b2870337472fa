"""Feedback for the demo business: three surveys (a relationship NPS with a "what should we improve first?"
question, a CSAT after resolved cases, a CES) and six months of invitations and answers from the demo's
customers, so that the scores, verbatims and drivers pages have something true-looking to show.

The open answers are real customer texts: a sample of BANKING77 (PolyAI, CC BY 4.0; data/feedback_comments.csv,
drawn as docs/demo-data.md says), complaints for the unhappy, plain statements for the passives, wishes for
some promoters. They are scored by text analytics on import, like live answers. Surveys go through the survey
services; the history through feedback.services.history (bulk inserts: about a second for ~6,000 invitations).
"""

from __future__ import annotations

import csv
import io
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from importlib import resources

from cxloop.accounts import queries as account_queries
from cxloop.cases.queries import cases as case_queries
from cxloop.core.actor import Actor
from cxloop.customers.models import Customer
from cxloop.feedback.definitions import standard_definition
from cxloop.feedback.models import LoopOutcome, Response, Survey
from cxloop.feedback.services import history, loops, surveys

DAYS = 182
REASONS = (
    ("fees", "Fees and exchange rates"),
    ("card", "Card delivery and card problems"),
    ("app", "The app"),
    ("waiting", "Waiting for an answer"),
    ("staff", "How our staff treated you"),
)
# What unhappy and lukewarm customers pick first (weights in REASONS' order).
_REASON_WEIGHTS = {"detractor": (40, 25, 10, 20, 5), "passive": (20, 15, 35, 20, 10)}
# Where each lifecycle stage's NPS answers sit: P(score) for 0..10.
_NPS_WEIGHTS = {
    "loyal": (1, 0, 1, 1, 1, 2, 3, 8, 15, 27, 41),
    "customer": (3, 1, 2, 3, 4, 6, 8, 14, 18, 18, 23),
    "at_risk": (10, 5, 8, 9, 9, 11, 11, 12, 10, 8, 7),
}
_TEAMS = ("Customer Care", "Cards & Payments", "Online Shop")
_AGENTS = ("alice", "dmitri", "farah", "lucas", "bob", "grace")


@dataclass(frozen=True)
class FeedbackDemoSummary:
    surveys: int
    invitations: int
    answers: int
    follow_ups: int = 0


@dataclass(frozen=True)
class _Comment:
    text: str
    mood: str  # negative | neutral | wish


@cache
def comments() -> tuple[_Comment, ...]:
    text = resources.files("cxloop.demo").joinpath("data/feedback_comments.csv").read_text(encoding="utf-8")
    return tuple(_Comment(r["text"], r["mood"]) for r in csv.DictReader(io.StringIO(text, newline="")))


def _survey(actor: Actor, key: str, name: str, kind: str, extra: list[dict[str, object]] | None = None) -> Survey:
    found = Survey.objects.filter(key=key).first()
    if found is not None:
        return found
    definition = standard_definition(kind, subject="Fernhill")
    if extra:
        questions = definition["questions"]
        definition["questions"] = [questions[0], *extra, *questions[1:]]
    survey = surveys.create_survey(actor, surveys.SurveyInput(key=key, name=name, kind=kind, definition=definition))
    return surveys.activate_survey(actor, survey)


def _surveys(actor: Actor) -> tuple[Survey, Survey, Survey]:
    reason: dict[str, object] = {
        "id": "reason",
        "type": "single",
        "text": "What should we improve first?",
        "choices": [{"value": value, "label": label} for value, label in REASONS],
        "show_if": {"question": "score", "at_most": 8},
    }
    return (
        _survey(actor, "relationship-nps", "Relationship NPS", "nps", [reason]),
        _survey(actor, "after-case-csat", "After your case (CSAT)", "csat"),
        _survey(actor, "effort-ces", "Customer effort (CES)", "ces"),
    )


class _Planner:
    def __init__(self, rng: random.Random, now: datetime) -> None:
        self.rng = rng
        self.now = now
        self.moods = {mood: [c.text for c in comments() if c.mood == mood] for mood in ("negative", "neutral", "wish")}
        self.teams = [t.pk for t in (account_queries.find_team(n) for n in _TEAMS) if t is not None]
        self.agents = [u.pk for u in (account_queries.find_user(n) for n in _AGENTS) if u is not None]

    def when(self) -> datetime:
        return self.now - timedelta(days=DAYS * self.rng.random() ** 1.15, minutes=self.rng.randint(0, 600))

    def nps_score(self, stage: str, sent_at: datetime) -> int:
        weights = [float(w) for w in _NPS_WEIGHTS.get(stage, _NPS_WEIGHTS["customer"])]
        recent = 1 - (self.now - sent_at).days / DAYS  # things got better over the six months
        weights[9] += 12 * recent
        weights[10] += 8 * recent
        return self.rng.choices(range(11), weights)[0]

    def comment(self, band: str) -> str:
        rng = self.rng
        if band == "unhappy":
            return rng.choice(self.moods["negative"] if rng.random() < 0.8 else self.moods["neutral"])
        if band == "middle":
            if rng.random() >= 0.7:
                return ""
            return rng.choice(self.moods["neutral"] if rng.random() < 0.6 else self.moods["negative"])
        return rng.choice(self.moods["wish"]) if rng.random() < 0.35 else ""

    def nps(self, survey: Survey, customer: Customer) -> history.PastInvitation:
        sent_at = self.when()
        channel = self.rng.choice(("email", "email", "email", "sms"))
        if self.rng.random() > 0.42:  # about four in ten answer
            return history.PastInvitation(survey=survey, customer_id=customer.pk, sent_at=sent_at, channel=channel)
        score = self.nps_score(customer.lifecycle_stage, sent_at)
        band = "detractor" if score <= 6 else "passive" if score <= 8 else "promoter"
        answers: dict[str, object] = {"score": score}
        if band != "promoter" and self.rng.random() < 0.85:
            answers["reason"] = self.rng.choices([v for v, _ in REASONS], _REASON_WEIGHTS[band])[0]
        comment = self.comment({"detractor": "unhappy", "passive": "middle"}.get(band, "happy"))
        if comment:
            answers["comment"] = comment
        answer = history.PastAnswer(
            score=score,
            submitted_at=min(self.now, sent_at + timedelta(hours=self.rng.uniform(0.2, 60))),
            comment=comment,
            answers=answers,
            segment=customer.lifecycle_stage,
        )
        return history.PastInvitation(
            survey=survey, customer_id=customer.pk, sent_at=sent_at, channel=channel, answer=answer
        )

    def after_contact(self, survey: Survey, customer: Customer, case_ref: str = "") -> history.PastInvitation:
        """A CSAT or CES invitation after a contact, sent in the channel the customer used, for the agent's team
        (after one of the demo's resolved cases, which are all recent, when `case_ref` names it)."""
        sent_at = self.now - timedelta(hours=self.rng.uniform(2, 48)) if case_ref else self.when()
        channel = self.rng.choice(("email", "chat", "chat", "sms", "whatsapp"))
        team = self.rng.choice(self.teams) if self.teams else None
        agent = self.rng.choice(self.agents) if self.agents else None
        base = {"survey": survey, "customer_id": customer.pk, "sent_at": sent_at, "channel": channel}
        context = {"team_id": team, "agent_id": agent, "goal_key": "care", "case_ref": case_ref}
        if self.rng.random() > 0.55:
            return history.PastInvitation(**base, **context)  # type: ignore[arg-type]
        low, high = (1, 5) if survey.kind == "csat" else (1, 7)
        # Chats get better marks than emails; the "Online Shop" team lags (something for the breakdown to show).
        mood = self.rng.random() + (0.15 if channel == "chat" else 0) - (0.2 if team == (self.teams or [0])[-1] else 0)
        mood = min(max(mood, 0.0), 0.999)
        score = max(low, min(high, round(low + (high - low) * mood**0.6 + self.rng.uniform(-0.6, 0.6))))
        unhappy = score <= 3
        comment = self.comment("unhappy" if unhappy else "happy")
        answers: dict[str, object] = {"score": score, **({"comment": comment} if comment else {})}
        answer = history.PastAnswer(
            score=score,
            submitted_at=min(self.now, sent_at + timedelta(minutes=self.rng.randint(2, 600))),
            comment=comment,
            answers=answers,
            segment=customer.lifecycle_stage,
        )
        return history.PastInvitation(**base, **context, answer=answer)  # type: ignore[arg-type]


def build_feedback(
    actor: Actor, now: datetime, rng: random.Random, customers: Sequence[Customer]
) -> FeedbackDemoSummary:
    nps, csat, ces = _surveys(actor)
    planner = _Planner(rng, now)
    people = [c for c in customers if c.lifecycle_stage in ("customer", "loyal", "at_risk")]
    items: list[history.PastInvitation] = []
    for customer in people:
        items += [planner.nps(nps, customer) for _ in range(rng.choice((1, 1, 2, 2, 3)))]
        items += [planner.after_contact(csat, customer) for _ in range(rng.choice((0, 1, 1, 2)))]
        if rng.random() < 0.5:
            items.append(planner.after_contact(ces, customer))
    resolved = case_queries.list_cases(actor, case_queries.CaseFilters(statuses=("resolved", "closed")), limit=200)
    items += [planner.after_contact(csat, case.customer, case.public_id) for case in resolved.items]
    invitations, answers = history.import_history(actor, items, source="cxloop demo")
    follow_ups = _follow_ups(actor, now, rng)
    return FeedbackDemoSummary(surveys=3, invitations=invitations, answers=answers, follow_ups=follow_ups)


FOLLOW_UP_DAYS = 10
_OUTCOMES = (LoopOutcome.RECOVERED, LoopOutcome.RECOVERED, LoopOutcome.PARTLY, LoopOutcome.NOT_RECOVERED)


def _follow_ups(actor: Actor, now: datetime, rng: random.Random) -> int:
    """The unhappy answers of the last days opened follow-ups as live ones would (the imported history publishes
    no events); those older than two days were called back and most closed, the newest are still open."""
    recent = Response.objects.filter(submitted_at__gte=now - timedelta(days=FOLLOW_UP_DAYS)).order_by("submitted_at")
    opened = 0
    for response in recent:
        opened_at = response.submitted_at + timedelta(minutes=rng.randint(1, 5))
        loop = loops.open_loop(actor, response, at=opened_at)
        if loop is None:
            continue
        opened += 1
        age = now - opened_at
        if age > timedelta(days=2) or (age > timedelta(hours=6) and rng.random() < 0.5):
            contacted = opened_at + timedelta(hours=rng.uniform(1, min(40.0, age.total_seconds() / 3600 - 0.5)))
            loops.mark_contacted(actor, loop, at=contacted)
            if age > timedelta(days=2) and rng.random() < 0.8:
                closed = contacted + timedelta(hours=rng.uniform(0.5, 30))
                if closed < now:
                    loops.close_loop(actor, loop, outcome=rng.choice(_OUTCOMES), note="", at=closed)
    return opened
