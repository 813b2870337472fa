"""The hand-over summary: what the receiver of a case needs so the customer is never asked again.

It is built from the record, not typed by the sender: who the customer is (and what we already know about
them), the history of the case, what was promised, and what was already asked and answered. The sender's note
adds what the record cannot say. The summary is stored with the hand-over, so it reads the same later.
"""

from __future__ import annotations

import re
from typing import Any

from cxloop.accounts.models import User
from cxloop.cases.models import Case, CaseTask, Handover, Promise, PromiseStatus, TaskStatus
from cxloop.core.actor import Actor
from cxloop.core.permissions import Perm
from cxloop.interactions.models import Direction, Interaction

HISTORY_LIMIT = 12
QA_LIMIT = 8
_QUESTION = re.compile(r"[^.!?\n]*\?")


def _case_messages(case: Case) -> list[Interaction]:
    """The case's messages, oldest first (linked conversations tag their messages with the case)."""
    rows = (
        Interaction.objects.filter(case_ref=case.public_id)
        .exclude(direction=Direction.INTERNAL, channel="event")
        .order_by("-occurred_at", "-id")[:200]
    )
    return list(reversed(list(rows)))


def asked_and_answered(messages: list[Interaction]) -> list[dict[str, str]]:
    """Questions we asked the customer, each with the customer's next message as the answer."""
    pairs: list[dict[str, str]] = []
    for index, message in enumerate(messages):
        if message.direction != Direction.OUTBOUND:
            continue
        questions = [q.strip() for q in _QUESTION.findall(message.body or message.summary) if len(q.strip()) > 3]
        if not questions:
            continue
        answer = next((m for m in messages[index + 1 :] if m.direction == Direction.INBOUND), None)
        pairs.append(
            {
                "asked": " ".join(questions)[:400],
                "asked_at": message.occurred_at.isoformat(),
                "answer": (answer.summary or answer.body[:300]) if answer else "",
                "answered_at": answer.occurred_at.isoformat() if answer else "",
            }
        )
    return pairs[-QA_LIMIT:]


def _known_about(case: Case) -> dict[str, Any]:
    customer = case.customer
    identities = [
        {"kind": i.kind, "value": i.value, "verified": i.is_verified}
        for i in customer.identities.order_by("kind", "id")
    ]
    return {
        "id": customer.public_id,
        "name": customer.name,
        "lifecycle_stage": customer.lifecycle_stage,
        "locale": customer.locale,
        "time_zone": customer.time_zone,
        "identities": identities[:20],
        "attributes": dict(customer.attributes),
        "tags": sorted(t.name for t in customer.tags.all()),
        "earlier_cases": [
            {"id": c.public_id, "subject": c.subject, "status": c.status, "opened_at": c.opened_at.isoformat()}
            for c in Case.objects.filter(customer_id=customer.pk).exclude(pk=case.pk).order_by("-opened_at")[:5]
        ],
    }


def build_handover_summary(case: Case, *, note: str, from_user: User | None) -> dict[str, Any]:
    messages = _case_messages(case)
    promises = Promise.objects.filter(case_id=case.pk).order_by("due_at")
    tasks = CaseTask.objects.filter(case_id=case.pk).order_by("position", "id")
    return {
        "note": note,
        "from": from_user.username if from_user is not None else "",
        "case": {
            "subject": case.subject,
            "description": case.description[:2000],
            "goal": case.goal.name,
            "category": case.category.name if case.category else "",
            "priority": case.priority,
            "status": case.status,
            "opened_at": case.opened_at.isoformat(),
            "handover_count": case.handover_count,
            "custom_fields": dict(case.custom_fields),
        },
        "customer": _known_about(case),
        "history": [
            {
                "at": m.occurred_at.isoformat(),
                "channel": m.channel,
                "direction": m.direction,
                "summary": m.summary or m.body[:200],
            }
            for m in messages[-HISTORY_LIMIT:]
        ],
        "promises": [
            {
                "id": p.public_id,
                "description": p.description,
                "due_at": p.due_at.isoformat(),
                "status": p.status,
                "owner": p.owner.username if p.owner else "",
            }
            for p in promises
            if p.status in (PromiseStatus.OPEN, PromiseStatus.MISSED)
        ],
        "asked_and_answered": asked_and_answered(messages),
        "plan": [
            {"title": t.title, "status": t.status, "due_at": t.due_at.isoformat() if t.due_at else ""}
            for t in tasks
            if t.status == TaskStatus.TODO
        ],
    }


def handovers_of(actor: Actor, case: Case) -> list[Handover]:
    actor.require(Perm.CASES_VIEW)
    return list(
        Handover.objects.filter(case=case).select_related("from_user", "to_user", "from_team", "to_team", "created_by")
    )


def unread_handovers(actor: Actor) -> list[Handover]:
    """Hand-overs the actor received and has not opened yet (newest first)."""
    actor.require(Perm.CASES_VIEW)
    if actor.user is None:
        return []
    return list(
        Handover.objects.filter(to_user=actor.user, acknowledged_at__isnull=True)
        .select_related("case", "from_user")
        .order_by("-created_at")[:50]
    )
