"""Reads of the inbox: conversations across channels, filtered and paginated, and one conversation's messages.

Every staff member who may read interactions sees every conversation (there is no per-team wall); the
filters only narrow the view. A conversation "awaits us" when it is open: the customer spoke last, or staff
reopened it (an answer moves it to waiting, a new customer message moves it back to open).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.db.models.fields.json import KT

from cxloop.accounts.models import Team, User
from cxloop.core.actor import Actor
from cxloop.core.errors import NotFoundError, ValidationError
from cxloop.core.pagination import Page, paginate
from cxloop.core.permissions import Perm, Role
from cxloop.customers.models import Customer
from cxloop.interactions.models import Channel, Direction, Interaction, Thread, ThreadStatus

INBOX_ORDER = ("-last_activity_at", "-id")
# Newest first, so the first page of a long conversation is its end; the page shows it oldest-first.
MESSAGES_ORDER = ("-occurred_at", "-id")
DEFAULT_STATUSES = (ThreadStatus.OPEN.value, ThreadStatus.WAITING.value)
ASSIGNED_CHOICES = ("mine", "unassigned", "anyone")
# Roles that answer customers, and so may be given a conversation.
ASSIGNABLE_ROLES = (Role.AGENT.value, Role.SUPERVISOR.value, Role.ADMIN.value)
# What text analytics calls the customer's latest message (metadata "sentiment_label"); the inbox filters on it.
SENTIMENTS = ("negative", "neutral", "positive")


@dataclass(frozen=True)
class InboxFilters:
    """What the inbox shows. `assigned` is mine, unassigned, anyone or a username; `team` a team id."""

    channel: str = ""
    statuses: tuple[str, ...] = DEFAULT_STATUSES
    assigned: str = "anyone"
    team: int | None = None
    text: str = ""
    sentiment: str = ""  # negative, neutral or positive: that of the customer's latest message


@dataclass
class ConversationRow:
    """One line of the inbox: the conversation, the newest thing said in it, and what text analytics read in
    the customer's latest message (empty until it is scored)."""

    thread: Thread
    preview: str
    preview_direction: str
    preview_at: datetime | None
    customer_sentiment: str = ""
    customer_emotion: str = ""

    @property
    def awaiting_reply(self) -> bool:
        """The customer spoke after our last answer (or we never answered)."""
        inbound, outbound = self.thread.last_inbound_at, self.thread.last_outbound_at
        return inbound is not None and (outbound is None or inbound > outbound)


@dataclass
class ConversationPage:
    items: list[ConversationRow]
    next_cursor: str | None


@dataclass
class InboxCounts:
    mine: int = 0
    unassigned: int = 0
    waiting: int = 0
    open: int = 0
    by_channel: dict[str, int] = field(default_factory=dict)


def _check(filters: InboxFilters) -> None:
    errors: dict[str, str] = {}
    if filters.channel and filters.channel not in Channel.values:
        errors["channel"] = f"must be one of {', '.join(Channel.values)}"
    unknown = [s for s in filters.statuses if s not in ThreadStatus.values]
    if unknown or not filters.statuses:
        errors["status"] = f"must be among {', '.join(ThreadStatus.values)}"
    if len(filters.text) > 200:
        errors["q"] = "must be at most 200 characters"
    if filters.sentiment and filters.sentiment not in SENTIMENTS:
        errors["sentiment"] = f"must be one of {', '.join(SENTIMENTS)}"
    if errors:
        raise ValidationError("The inbox filters are not valid.", fields=errors)


def _assigned(actor: Actor, qs: QuerySet[Thread], assigned: str) -> QuerySet[Thread]:
    if assigned in ("", "anyone"):
        return qs
    if assigned == "unassigned":
        return qs.filter(assigned_to__isnull=True)
    if assigned == "mine":
        return qs.filter(assigned_to=actor.user) if actor.user is not None else qs.none()
    user = User.objects.filter(username=assigned).first()
    if user is None:
        raise ValidationError("No such user.", fields={"assigned": "mine, unassigned, anyone or a username"})
    return qs.filter(assigned_to=user)


def _previews(qs: QuerySet[Thread]) -> QuerySet[Thread]:
    """The newest customer-visible message of each conversation (internal notes are not a preview)."""
    newest = (
        Interaction.objects.filter(thread=OuterRef("pk"))
        .exclude(direction=Direction.INTERNAL)
        .order_by("-occurred_at", "-id")
    )
    return qs.annotate(
        preview=Subquery(newest.values("summary")[:1]),
        preview_direction=Subquery(newest.values("direction")[:1]),
        preview_at=Subquery(newest.values("occurred_at")[:1]),
        customer_emotion=Subquery(_latest_from_customer().values("emotion")[:1]),
    )


def _latest_from_customer() -> QuerySet[Interaction]:
    """The customer's newest message in each conversation, as text analytics scored it."""
    return Interaction.objects.filter(thread=OuterRef("pk"), direction=Direction.INBOUND).order_by(
        "-occurred_at", "-id"
    )


def _customer_sentiment(qs: QuerySet[Thread]) -> QuerySet[Thread]:
    label = _latest_from_customer().annotate(label=KT("metadata__sentiment_label")).values("label")[:1]
    return qs.annotate(customer_sentiment=Subquery(label))


def conversations(actor: Actor, filters: InboxFilters) -> QuerySet[Thread]:
    """The filtered conversations, not yet ordered or paginated (also what the counts are taken from)."""
    actor.require(Perm.INTERACTIONS_VIEW)
    _check(filters)
    qs: QuerySet[Thread] = Thread.objects.filter(status__in=filters.statuses, customer__status="active")
    if filters.channel:
        qs = qs.filter(channel=filters.channel)
    qs = _assigned(actor, qs, filters.assigned)
    if filters.team is not None:
        qs = qs.filter(team_id=filters.team)
    text = filters.text.strip()
    if text:
        qs = qs.filter(Q(subject__icontains=text) | Q(customer__name__icontains=text))
    if filters.sentiment:
        qs = _customer_sentiment(qs).filter(Q(customer_sentiment=filters.sentiment))
    return qs


def list_conversations(
    actor: Actor, filters: InboxFilters, *, cursor: str | None = None, limit: int = 25
) -> ConversationPage:
    qs = _previews(conversations(actor, filters)).select_related("customer", "assigned_to", "team")
    if not filters.sentiment:
        qs = _customer_sentiment(qs)
    page = paginate(qs, INBOX_ORDER, cursor, limit)
    rows = [
        ConversationRow(
            thread=thread,
            preview=getattr(thread, "preview", None) or "",
            preview_direction=getattr(thread, "preview_direction", None) or "",
            preview_at=getattr(thread, "preview_at", None),
            customer_sentiment=getattr(thread, "customer_sentiment", None) or "",
            customer_emotion=getattr(thread, "customer_emotion", None) or "",
        )
        for thread in page.items
    ]
    return ConversationPage(items=rows, next_cursor=page.next_cursor)


def inbox_counts(actor: Actor) -> InboxCounts:
    """The sidebar's figures, over conversations that are not closed."""
    actor.require(Perm.INTERACTIONS_VIEW)
    live = Thread.objects.filter(status__in=DEFAULT_STATUSES, customer__status="active")
    mine = Q(assigned_to=actor.user) if actor.user is not None else Q(pk__in=[])
    totals = live.aggregate(
        mine=Count("pk", filter=mine),
        unassigned=Count("pk", filter=Q(assigned_to__isnull=True)),
        waiting=Count("pk", filter=Q(status=ThreadStatus.WAITING)),
        open=Count("pk", filter=Q(status=ThreadStatus.OPEN)),
    )
    by_channel = {row["channel"]: row["n"] for row in live.values("channel").annotate(n=Count("pk")).order_by()}
    return InboxCounts(**totals, by_channel=by_channel)


def awaiting_me(actor: Actor) -> int:
    """Open conversations assigned to the actor: the ones waiting for their answer."""
    if actor.user is None or not actor.can(Perm.INTERACTIONS_VIEW):
        return 0
    return Thread.objects.filter(assigned_to=actor.user, status=ThreadStatus.OPEN, customer__status="active").count()


def get_conversation(actor: Actor, public_id: str) -> Thread:
    actor.require(Perm.INTERACTIONS_VIEW)
    thread = Thread.objects.select_related("customer", "assigned_to", "team").filter(public_id=public_id).first()
    if thread is None:
        raise NotFoundError(f"No conversation {public_id}.")
    return thread


def conversation_messages(
    actor: Actor, thread: Thread, *, cursor: str | None = None, limit: int = 50
) -> Page[Interaction]:
    """A page of the conversation's messages and notes, oldest first; the cursor goes back in time."""
    actor.require(Perm.INTERACTIONS_VIEW)
    qs = Interaction.objects.filter(thread=thread).select_related("created_by")
    page = paginate(qs, MESSAGES_ORDER, cursor, limit)
    return Page(items=list(reversed(page.items)), next_cursor=page.next_cursor)


def other_open_conversations(actor: Actor, thread: Thread, *, limit: int = 10) -> list[Thread]:
    actor.require(Perm.INTERACTIONS_VIEW)
    qs = (
        Thread.objects.filter(customer_id=thread.customer_id, status__in=DEFAULT_STATUSES)
        .exclude(pk=thread.pk)
        .order_by(*INBOX_ORDER)
    )
    return list(qs[:limit])


def customer_conversations(actor: Actor, customer: Customer, *, limit: int = 10) -> list[Thread]:
    """The customer's conversations, newest activity first (the customer page's panel)."""
    actor.require(Perm.INTERACTIONS_VIEW)
    return list(Thread.objects.filter(customer=customer).select_related("assigned_to").order_by(*INBOX_ORDER)[:limit])


def assignable_users(actor: Actor) -> QuerySet[User]:
    """Active staff who answer customers, for the "assign to" choice."""
    actor.require(Perm.INTERACTIONS_VIEW)
    return User.objects.filter(is_active=True, role__in=ASSIGNABLE_ROLES).order_by("username")


def teams(actor: Actor) -> QuerySet[Team]:
    actor.require(Perm.INTERACTIONS_VIEW)
    return Team.objects.order_by("name")
