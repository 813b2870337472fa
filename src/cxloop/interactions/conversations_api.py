"""/api/v1/conversations: the inbox for integrations (lists, assignment, status, internal notes).

Replies are sent through the distribution service: `POST /api/v1/messages` with `thread_id`.
"""

from __future__ import annotations

from datetime import datetime

from django.http import HttpRequest
from ninja import Query, Router, Schema, Status
from pydantic import Field

from cxloop.accounts.models import Team, User
from cxloop.api.auth import actor_of
from cxloop.core.errors import ValidationError
from cxloop.interactions import conversations, inbox
from cxloop.interactions.models import Thread, ThreadStatus
from cxloop.interactions.schemas import InteractionOut, TimelinePage
from cxloop.interactions.services import record_interaction
from cxloop.interactions.types import InteractionInput

router = Router(tags=["conversations"])


class ConversationOut(Schema):
    id: str
    customer: str
    customer_name: str
    channel: str
    subject: str
    status: str
    assignee: str | None
    team: int | None
    last_activity_at: datetime
    last_inbound_at: datetime | None
    last_outbound_at: datetime | None
    awaiting_reply: bool
    preview: str = ""

    @staticmethod
    def of(thread: Thread, preview: str = "") -> ConversationOut:
        inbound, outbound = thread.last_inbound_at, thread.last_outbound_at
        return ConversationOut(
            id=thread.public_id,
            customer=thread.customer.public_id,
            customer_name=thread.customer.name,
            channel=thread.channel,
            subject=thread.subject,
            status=thread.status,
            assignee=thread.assigned_to.username if thread.assigned_to else None,
            team=thread.team_id,
            last_activity_at=thread.last_activity_at,
            last_inbound_at=inbound,
            last_outbound_at=outbound,
            awaiting_reply=inbound is not None and (outbound is None or inbound > outbound),
            preview=preview,
        )


class ConversationPageOut(Schema):
    items: list[ConversationOut]
    next_cursor: str | None


class ConversationFilter(Schema):
    channel: str = ""
    status: str = Field(default="open,waiting", description="One status or several, comma-separated")
    assigned: str = Field(default="anyone", description="mine, unassigned, anyone or a username")
    team: int | None = None
    q: str = Field(default="", max_length=200)
    cursor: str | None = None
    limit: int = Field(default=25, ge=1, le=200)


class AssignIn(Schema):
    assignee: str | None = Field(default=None, description="Username; null to unassign")
    team: int | None = None


class StatusIn(Schema):
    status: str = Field(description=f"One of {', '.join(ThreadStatus.values)}")


class NoteIn(Schema):
    body: str = Field(min_length=1, max_length=50_000)


class MessagesFilter(Schema):
    cursor: str | None = None
    limit: int = Field(default=50, ge=1, le=200)


@router.get("/conversations", response=ConversationPageOut, summary="The inbox: conversations across channels")
def list_conversations(request: HttpRequest, filters: Query[ConversationFilter]) -> ConversationPageOut:
    statuses = tuple(s.strip() for s in filters.status.split(",") if s.strip()) or inbox.DEFAULT_STATUSES
    page = inbox.list_conversations(
        actor_of(request),
        inbox.InboxFilters(
            channel=filters.channel, statuses=statuses, assigned=filters.assigned, team=filters.team, text=filters.q
        ),
        cursor=filters.cursor,
        limit=filters.limit,
    )
    return ConversationPageOut(
        items=[ConversationOut.of(row.thread, row.preview) for row in page.items], next_cursor=page.next_cursor
    )


@router.get("/conversations/{conversation_id}", response=ConversationOut, summary="One conversation")
def get_conversation(request: HttpRequest, conversation_id: str) -> ConversationOut:
    return ConversationOut.of(inbox.get_conversation(actor_of(request), conversation_id))


@router.get(
    "/conversations/{conversation_id}/messages", response=TimelinePage, summary="Its messages and notes, oldest first"
)
def conversation_messages(request: HttpRequest, conversation_id: str, filters: Query[MessagesFilter]) -> TimelinePage:
    actor = actor_of(request)
    thread = inbox.get_conversation(actor, conversation_id)
    page = inbox.conversation_messages(actor, thread, cursor=filters.cursor, limit=filters.limit)
    return TimelinePage(items=[InteractionOut.from_model(i) for i in page.items], next_cursor=page.next_cursor)


def _user(username: str | None) -> User | None:
    if not username:
        return None
    user = User.objects.filter(username=username).first()
    if user is None:
        raise ValidationError("No such user.", fields={"assignee": "unknown username"})
    return user


def _team(team_id: int | None) -> Team | None:
    if team_id is None:
        return None
    team = Team.objects.filter(pk=team_id).first()
    if team is None:
        raise ValidationError("No such team.", fields={"team": "unknown team"})
    return team


@router.post("/conversations/{conversation_id}/assign", response=ConversationOut, summary="Assign it")
def assign(request: HttpRequest, conversation_id: str, payload: AssignIn) -> ConversationOut:
    actor = actor_of(request)
    thread = inbox.get_conversation(actor, conversation_id)
    thread = conversations.assign_thread(actor, thread, user=_user(payload.assignee), team=_team(payload.team))
    return ConversationOut.of(thread)


@router.post("/conversations/{conversation_id}/status", response=ConversationOut, summary="Open, wait or close it")
def set_status(request: HttpRequest, conversation_id: str, payload: StatusIn) -> ConversationOut:
    actor = actor_of(request)
    thread = conversations.set_thread_status(actor, inbox.get_conversation(actor, conversation_id), payload.status)
    return ConversationOut.of(thread)


@router.post("/conversations/{conversation_id}/notes", response={201: InteractionOut}, summary="Add an internal note")
def add_note(request: HttpRequest, conversation_id: str, payload: NoteIn) -> Status[InteractionOut]:
    actor = actor_of(request)
    thread = inbox.get_conversation(actor, conversation_id)
    note = record_interaction(
        actor, thread.customer, InteractionInput(channel="note", direction="internal", body=payload.body), thread=thread
    )
    return Status(201, InteractionOut.from_model(note))
