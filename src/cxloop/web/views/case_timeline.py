"""What the case page reads from other parts: the case's timeline (messages of its conversations and its notes,
as the inbox shows them), the channels a reply may go on, the SLA clock and the promises panel.

The timeline is read once, newest first, and shown newest last; replies that a channel has not taken yet are
shown from their messaging record at the end, as on the conversation page.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Max
from django.http import HttpRequest

from cxloop.cases.models import Case, CaseConversation
from cxloop.cases.queries import cases as case_queries
from cxloop.cases.queries import sla as sla_queries
from cxloop.channels import queries as channel_queries
from cxloop.channels import registry
from cxloop.core.actor import Actor
from cxloop.core.permissions import Perm
from cxloop.customers.models import Customer
from cxloop.interactions import queries as interaction_queries
from cxloop.interactions.models import Channel, Interaction
from cxloop.messaging import queries as messaging_queries
from cxloop.messaging.models import OutboundMessage
from cxloop.messaging.services.addresses import CHANNEL_KINDS, default_address
from cxloop.web.inbox_forms import ReplyForm
from cxloop.web.views import conversation_display as display
from cxloop.web.views.timeline import DRAFT_SESSION_KEY

TIMELINE_LIMIT = 50
MESSAGES_LOOKBACK = 100


def reply_draft_key(case: Case) -> str:
    return f"cx-draft:case-reply:{case.public_id}"


def note_draft_key(case: Case) -> str:
    return f"cx-draft:case-note:{case.public_id}"


def reply_channels(customer: Customer, preferred: str = "") -> list[tuple[str, str]]:
    """Channels the customer has an address on and cxloop can send on, `preferred` first."""
    kinds = {identity.kind for identity in customer.identities.all()}
    sendable = set(registry.sendable_channels())
    found = [
        (channel, f"{Channel(channel).label} · {default_address(customer, channel)}")
        for channel, wanted in CHANNEL_KINDS.items()
        if channel in sendable and kinds & set(wanted)
    ]
    return sorted(found, key=lambda choice: choice[0] != preferred)


def reply_form(case: Case, channels: list[tuple[str, str]], data: Any = None, **initial: str) -> ReplyForm:
    preferred = case.source_channel if any(c == case.source_channel for c, _ in channels) else ""
    channel = preferred or (channels[0][0] if channels else "")
    return ReplyForm(data, channels=channels, initial={"channel": channel, **initial})


def timeline_version(case: Case, thread_refs: list[str]) -> str:
    """Changes when a message or note arrives on the case, or a reply's delivery moves (what the page polls)."""
    newest = Interaction.objects.filter(case_ref=case.public_id).aggregate(newest=Max("pk"))["newest"] or 0
    status = None
    if thread_refs:
        status = OutboundMessage.objects.filter(thread_ref__in=thread_refs).aggregate(at=Max("updated_at"))["at"]
    return f"{newest}-{int(status.timestamp() * 1000) if status else 0}"


def bubbles(actor: Actor, case: Case, threads: list[str]) -> tuple[list[display.Bubble], bool]:
    """The case's newest messages and notes as bubbles, oldest of them first, then pending replies."""
    page = interaction_queries.case_timeline(actor, case.public_id, limit=TIMELINE_LIMIT)
    items = list(reversed(page.items))
    outbound = messaging_queries.list_messages(actor, customer=case.customer.public_id, limit=MESSAGES_LOOKBACK).items
    ours = [m for m in outbound if m.thread_ref in threads]
    by_interaction = {m.interaction_ref: m for m in ours if m.interaction_ref}
    by_id = {m.public_id: m for m in ours}
    files = channel_queries.attachments_of(actor, [i.pk for i in items])
    shown: list[display.Bubble] = []
    for item in items:
        ref = item.metadata.get("message", "") if isinstance(item.metadata, dict) else ""
        message = by_interaction.get(item.public_id) or by_id.get(str(ref))
        shown.append(display.interaction_bubble(item, files.get(item.pk, []), message))
    pending = [m for m in ours if not m.interaction_ref and m.status in display._NOT_YET_ON_TIMELINE]
    shown += [display.pending_bubble(m) for m in sorted(pending, key=lambda m: (m.created_at, m.pk))]
    return shown, page.next_cursor is not None


def timeline_context(request: HttpRequest, actor: Actor, case: Case) -> dict[str, Any]:
    conversations: list[CaseConversation] = case_queries.conversations_of(actor, case)
    threads = [link.thread.public_id for link in conversations]
    context: dict[str, Any] = {
        "conversations": conversations,
        "timeline_version": timeline_version(case, threads),
        "reply_draft_key": reply_draft_key(case),
        "note_draft_key": note_draft_key(case),
    }
    if actor.can(Perm.INTERACTIONS_VIEW):
        context["bubbles"], context["has_earlier"] = bubbles(actor, case, threads)
    channels = reply_channels(case.customer, case.source_channel)
    context["reply_form"] = reply_form(case, channels)
    # Only this case's draft flag: another page's must survive until that page is shown.
    cleared = request.session.get(DRAFT_SESSION_KEY) == reply_draft_key(case)
    if cleared:
        del request.session[DRAFT_SESSION_KEY]
    context["reply_draft_clear"] = cleared
    return context


def sla_clocks(actor: Actor, case: Case) -> list[Any]:
    """Each SLA target of the case with its state, due time and the working time left (or over)."""
    return list(sla_queries.sla_clocks_for(actor, case))


def promises_context(request: HttpRequest, actor: Actor, case: Case) -> dict[str, Any]:
    """The case's promises with the promises UI's panel (make, keep, cancel), which reads them once."""
    from cxloop.web.views import promises as promise_views

    panel = promise_views.case_promises_context(request, actor, case)
    return {"items": panel["items"], "panel": panel}
