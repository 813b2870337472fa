"""Survey invitations, answers and follow-up loops follow their customer through merges (and back on unmerge),
and into the personal-data export.

The customers module cannot import feedback; these functions are registered with core.customer_refs from
FeedbackConfig.ready(). Each runs inside the merge's (or unmerge's) transaction.

One invitation per survey and trigger per customer is a constraint (`feedback_inv_once_per_ref`). When both
profiles were invited by the same trigger (the same case, the same purchase event), the source's invitation and
its answer stay with the merged-away profile rather than break the constraint; they come back with it on unmerge.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Exists, OuterRef

from cxloop.feedback.models import Invitation, Loop, Response


def _clashing(from_customer_id: int, to_customer_id: int) -> list[int]:
    """The source's invitations whose survey and trigger the target already has."""
    same = Invitation.objects.filter(
        customer_id=to_customer_id, survey_id=OuterRef("survey_id"), trigger_ref=OuterRef("trigger_ref")
    )
    rows = Invitation.objects.filter(customer_id=from_customer_id).exclude(trigger_ref="").filter(Exists(same))
    return list(rows.values_list("pk", flat=True))


def move_customer_invitations(from_customer_id: int, to_customer_id: int) -> list[int]:
    clashing = _clashing(from_customer_id, to_customer_id)
    rows = Invitation.objects.filter(customer_id=from_customer_id).exclude(pk__in=clashing)
    ids = list(rows.values_list("pk", flat=True))
    Invitation.objects.filter(pk__in=ids).update(customer_id=to_customer_id)
    return ids


def restore_customer_invitations(ids: list[int], to_customer_id: int) -> None:
    Invitation.objects.filter(pk__in=ids).update(customer_id=to_customer_id)


def move_customer_responses(from_customer_id: int, to_customer_id: int) -> list[int]:
    """Answers go where their invitation went (invitations move first: they are registered first)."""
    rows = Response.objects.filter(customer_id=from_customer_id).exclude(invitation__customer_id=from_customer_id)
    ids = list(rows.values_list("pk", flat=True))
    Response.objects.filter(pk__in=ids).update(customer_id=to_customer_id)
    return ids


def restore_customer_responses(ids: list[int], to_customer_id: int) -> None:
    Response.objects.filter(pk__in=ids).update(customer_id=to_customer_id)


def move_customer_loops(from_customer_id: int, to_customer_id: int) -> list[int]:
    ids = list(Loop.objects.filter(customer_id=from_customer_id).values_list("pk", flat=True))
    Loop.objects.filter(pk__in=ids).update(customer_id=to_customer_id)
    return ids


def restore_customer_loops(ids: list[int], to_customer_id: int) -> None:
    Loop.objects.filter(pk__in=ids).update(customer_id=to_customer_id)


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def export_customer_invitations(customer_id: int) -> list[dict[str, Any]]:
    """Which surveys we asked the customer, when and how (the answers are under survey_responses)."""
    rows = Invitation.objects.filter(customer_id=customer_id).select_related("survey").order_by("created_at", "id")
    return [
        {
            "id": i.public_id,
            "survey": i.survey.name,
            "channel": i.channel,
            "status": i.status,
            "sent_at": _iso(i.sent_at),
            "answered_at": _iso(i.answered_at),
            "partial_answers": i.partial_answers,
        }
        for i in rows.iterator(chunk_size=500)
    ]


def export_customer_responses(customer_id: int) -> list[dict[str, Any]]:
    """The customer's own answers, and what text analytics read in them."""
    rows = Response.objects.filter(customer_id=customer_id).select_related("survey").order_by("submitted_at", "id")
    return [
        {
            "id": r.public_id,
            "survey": r.survey.name,
            "kind": r.kind,
            "score": r.score,
            "comment": r.comment,
            "answers": r.answers,
            "submitted_at": r.submitted_at.isoformat(),
            "sentiment": r.sentiment,
            "sentiment_label": r.sentiment_label,
            "emotion": r.emotion,
            "key_phrases": r.key_phrases,
        }
        for r in rows.iterator(chunk_size=500)
    ]


def export_customer_loops(customer_id: int) -> list[dict[str, Any]]:
    """How we followed up the customer's unhappy answers, and how each follow-up ended."""
    rows = Loop.objects.filter(customer_id=customer_id).select_related("response").order_by("opened_at", "id")
    return [
        {
            "id": loop.public_id,
            "response": loop.response.public_id,
            "case": loop.case_ref,
            "state": loop.state,
            "outcome": loop.outcome,
            "outcome_note": loop.outcome_note,
            "opened_at": loop.opened_at.isoformat(),
            "contacted_at": _iso(loop.contacted_at),
            "closed_at": _iso(loop.closed_at),
        }
        for loop in rows.iterator(chunk_size=500)
    ]
