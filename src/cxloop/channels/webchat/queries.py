"""Reads of chat sessions: the lines after a number, and the session behind a conversation thread."""

from __future__ import annotations

from typing import Any

from django.db.models import Q

from cxloop.channels.webchat.models import ChatMessage, ChatSession
from cxloop.core.actor import Actor
from cxloop.core.errors import NotFoundError
from cxloop.core.permissions import Perm

PAGE = 200


def messages_after(session: ChatSession, after: int, *, limit: int = PAGE) -> list[ChatMessage]:
    """The session's lines numbered above `after`, oldest first (the visitor's own session: no actor)."""
    return list(ChatMessage.objects.filter(session=session, seq__gt=after).order_by("seq")[:limit])


def message_data(message: ChatMessage) -> dict[str, Any]:
    """A line as both the widget and the agent stream see it."""
    return {
        "seq": message.seq,
        "direction": message.direction,
        "text": message.text,
        "created_at": message.created_at.isoformat(),
    }


def session_status(session_id: int) -> str:
    return ChatSession.objects.filter(pk=session_id).values_list("status", flat=True).first() or ""


def find_session_for_thread(thread_public_id: str) -> ChatSession | None:
    """The chat session whose lines were recorded in this thread (after a merge it may be the latest of two)."""
    thread_ref = thread_public_id[:32]
    return (
        ChatSession.objects.filter(Q(thread_ref=thread_ref) | Q(messages__thread_ref=thread_ref))
        .order_by("-last_seen_at", "-pk")
        .first()
    )


def session_for_thread(actor: Actor, thread_public_id: str) -> ChatSession:
    """For the agent's stream: the chat behind a conversation of the inbox."""
    actor.require(Perm.INTERACTIONS_VIEW)
    session = find_session_for_thread(thread_public_id)
    if session is None:
        raise NotFoundError("No chat session is linked to this conversation.")
    return session


def address_for_thread(thread_public_id: str) -> str:
    """The `to` that reaches the visitor of this conversation's chat: the session's anonymous id ("" if none)."""
    session = find_session_for_thread(thread_public_id)
    return session.anonymous_id if session else ""
