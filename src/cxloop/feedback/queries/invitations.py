"""Reads of invitations: of a survey or a customer, newest first, with filters; one invitation."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet

from cxloop.core.actor import Actor
from cxloop.core.errors import NotFoundError, ValidationError
from cxloop.core.pagination import Page, paginate
from cxloop.core.permissions import Perm
from cxloop.feedback.models import Invitation, InvitationStatus, TriggerKind


@dataclass(frozen=True)
class InvitationFilters:
    survey: str = ""  # survey key
    customer: str = ""  # customer public id
    status: str = ""
    channel: str = ""
    trigger: str = ""


def _check(filters: InvitationFilters) -> None:
    errors: dict[str, str] = {}
    if filters.status and filters.status not in InvitationStatus.values:
        errors["status"] = f"must be one of {', '.join(InvitationStatus.values)}"
    if filters.trigger and filters.trigger not in TriggerKind.values:
        errors["trigger"] = f"must be one of {', '.join(TriggerKind.values)}"
    if errors:
        raise ValidationError("Invalid filter.", fields=errors)


def _base() -> QuerySet[Invitation]:
    return Invitation.objects.select_related("survey", "customer", "team", "agent")


def list_invitations(
    actor: Actor, filters: InvitationFilters, *, cursor: str | None = None, limit: int = 25
) -> Page[Invitation]:
    actor.require(Perm.FEEDBACK_VIEW)
    _check(filters)
    qs = _base()
    for value, lookup in (
        (filters.survey, "survey__key"),
        (filters.customer, "customer__public_id"),
        (filters.status, "status"),
        (filters.channel, "channel"),
        (filters.trigger, "trigger"),
    ):
        if value:
            qs = qs.filter(**{lookup: value})
    return paginate(qs, ("-id",), cursor, limit)


def customer_invitations(actor: Actor, customer_id: int, *, limit: int = 10) -> list[Invitation]:
    actor.require(Perm.FEEDBACK_VIEW)
    return list(_base().filter(customer_id=customer_id).order_by("-id")[:limit])


def case_invitations(actor: Actor, case_ref: str, *, limit: int = 5) -> list[Invitation]:
    """The invitations sent about one case, newest first (the case page shows whether it was asked already)."""
    actor.require(Perm.FEEDBACK_VIEW)
    return list(_base().filter(case_ref=case_ref).order_by("-id")[:limit])


def get_invitation(actor: Actor, public_id: str) -> Invitation:
    actor.require(Perm.FEEDBACK_VIEW)
    invitation = _base().filter(public_id=public_id).first()
    if invitation is None:
        raise NotFoundError(f"No invitation {public_id}.", code="invitation_not_found")
    return invitation
