"""The timeline: one customer's interactions, newest first, filtered and paginated by cursor."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Q, QuerySet

from cxloop.core import clock
from cxloop.core.actor import Actor
from cxloop.core.errors import NotFoundError, ValidationError
from cxloop.core.pagination import Page, paginate
from cxloop.core.permissions import Perm
from cxloop.customers.models import Customer
from cxloop.interactions.models import Channel, Direction, Interaction

TIMELINE_ORDER = ("-occurred_at", "-id")


def timeline(
    actor: Actor,
    customer: Customer,
    *,
    channel: str = "",
    direction: str = "",
    since: datetime | None = None,
    until: datetime | None = None,
    text: str = "",
    cursor: str | None = None,
    limit: int = 25,
) -> Page[Interaction]:
    actor.require(Perm.INTERACTIONS_VIEW)
    since, until = clock.storable_utc(since, "since"), clock.storable_utc(until, "until")
    qs: QuerySet[Interaction] = Interaction.objects.filter(customer=customer).select_related("thread", "customer")
    if channel:
        channels = [c for c in channel.split(",") if c]
        unknown = [c for c in channels if c not in Channel.values]
        if unknown:
            raise ValidationError("Unknown channel.", fields={"channel": f"must be among {', '.join(Channel.values)}"})
        qs = qs.filter(channel__in=channels)
    if direction:
        if direction not in Direction.values:
            raise ValidationError("Unknown direction.", fields={"direction": f"one of {', '.join(Direction.values)}"})
        qs = qs.filter(direction=direction)
    if since:
        qs = qs.filter(occurred_at__gte=since)
    if until:
        qs = qs.filter(occurred_at__lt=until)
    if text:
        qs = qs.filter(Q(summary__icontains=text) | Q(body__icontains=text))
    return paginate(qs, TIMELINE_ORDER, cursor, limit)


def get_interaction(actor: Actor, public_id: str) -> Interaction:
    actor.require(Perm.INTERACTIONS_VIEW)
    try:
        return Interaction.objects.select_related("customer", "thread").get(public_id=public_id)
    except Interaction.DoesNotExist:
        raise NotFoundError(f"No interaction {public_id}.") from None


def channel_counts(actor: Actor, customer: Customer) -> dict[str, int]:
    from django.db.models import Count

    actor.require(Perm.INTERACTIONS_VIEW)
    rows = Interaction.objects.filter(customer=customer).values("channel").annotate(n=Count("id"))
    return {row["channel"]: row["n"] for row in rows}


def count_interactions(actor: Actor, *, since: datetime | None = None) -> int:
    """How many interactions were recorded (since a moment, if given): a dashboard figure."""
    actor.require(Perm.INTERACTIONS_VIEW)
    qs = Interaction.objects.all()
    if since is not None:
        qs = qs.filter(occurred_at__gte=since)
    return qs.count()


def case_timeline(actor: Actor, case_ref: str, *, cursor: str | None = None, limit: int = 25) -> Page[Interaction]:
    """The messages and notes of one case (interactions whose case_ref is the case's public id), newest first.

    Case management owns the case; this module owns the rows, so the case page reads its timeline here.
    """
    actor.require(Perm.INTERACTIONS_VIEW)
    if not case_ref:
        raise ValidationError("A case is required.", fields={"case": "must not be empty"})
    qs = Interaction.objects.filter(case_ref=case_ref).select_related("thread", "customer")
    return paginate(qs, TIMELINE_ORDER, cursor, limit)


# --- text analytics: the customer's words still to score ------------------------------------------------------------


@dataclass(frozen=True)
class CustomerText:
    """What text analytics needs of one row: where the text came from, the text, and the metadata (its kind and
    any language a channel already knew)."""

    id: int
    channel: str
    direction: str
    summary: str
    body: str
    metadata: dict[str, Any]


def _texts(since: datetime | None) -> QuerySet[Interaction]:
    # The condition of the partial index interactions_text_pending: every row not looked at yet, customer's words
    # or not (text analytics marks the others done); a narrower condition would keep SQLite off the index.
    qs = Interaction.objects.filter(text_analysed_at=None)
    if since is not None:
        qs = qs.filter(occurred_at__gte=clock.storable_utc(since, "since"))
    return qs


def texts_to_analyse(
    actor: Actor,
    *,
    limit: int,
    since: datetime | None = None,
    newest_first: bool = False,
    before_id: int | None = None,
    after_id: int | None = None,
) -> list[CustomerText]:
    """Up to `limit` rows text analytics has not looked at yet, in id order (newest first if asked), past the given
    id. Not all hold the customer's words: the caller tells (an answer, a note) and marks those done unscored."""
    actor.require(Perm.INTERACTIONS_VIEW)
    qs = _texts(since)
    if after_id is not None:
        qs = qs.filter(id__gt=after_id)
    if before_id is not None:
        qs = qs.filter(id__lt=before_id)
    rows = qs.order_by("-id" if newest_first else "id").values_list(
        "id", "channel", "direction", "summary", "body", "metadata"
    )[:limit]
    return [
        CustomerText(pk, channel, direction, summary, body, metadata if isinstance(metadata, dict) else {})
        for pk, channel, direction, summary, body, metadata in rows
    ]


def count_texts_to_analyse(actor: Actor, *, since: datetime | None = None) -> int:
    actor.require(Perm.INTERACTIONS_VIEW)
    return _texts(since).count()
