"""The inbox: conversations across channels, and one conversation with its reply box, notes and assignment."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.core.files.storage import default_storage
from django.db.models import Max, prefetch_related_objects
from django.http import FileResponse, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from cxloop.accounts.models import User
from cxloop.channels import queries as channel_queries
from cxloop.channels import registry
from cxloop.core.actor import Actor
from cxloop.core.errors import NotFoundError, ValidationError
from cxloop.core.permissions import Perm
from cxloop.customers.models import Customer
from cxloop.interactions import conversations
from cxloop.interactions import inbox as inbox_queries
from cxloop.interactions import services as interaction_services
from cxloop.interactions.models import Channel, Interaction, Thread, ThreadStatus
from cxloop.interactions.types import InteractionInput
from cxloop.messaging import queries as messaging_queries
from cxloop.messaging import services as messaging_services
from cxloop.messaging.models import MessageStatus, OutboundMessage, Purpose
from cxloop.messaging.services.addresses import CHANNEL_KINDS, default_address
from cxloop.messaging.types import SendRequest
from cxloop.web.actor import web_actor
from cxloop.web.forms import attempt
from cxloop.web.inbox_forms import AssignForm, InboxFilterForm, NoteForm, ReplyForm, StatusForm
from cxloop.web.responses import is_htmx, staff_view
from cxloop.web.views import conversation_display as display
from cxloop.web.views.cases import conversation_case
from cxloop.web.views.timeline import DRAFT_SESSION_KEY

INBOX_PAGE = 25
MESSAGES_PAGE = 50


# --- the list ------------------------------------------------------------------------------------
def _team_choices(actor: Actor) -> list[tuple[int, str]]:
    return [(team.pk, team.name) for team in inbox_queries.teams(actor)]


def _list_context(request: HttpRequest, actor: Actor) -> tuple[dict[str, Any], int]:
    form = InboxFilterForm(request.GET or None, team_choices=_team_choices(actor))
    page, error = None, ""
    if not request.GET or form.is_valid():
        filters = form.filters() if request.GET else inbox_queries.InboxFilters()
        try:
            page = inbox_queries.list_conversations(
                actor, filters, cursor=request.GET.get("cursor") or None, limit=INBOX_PAGE
            )
        except ValidationError as exc:
            error = exc.message + "".join(f" {field}: {reason}." for field, reason in exc.fields.items())
    query = {k: v for k, v in request.GET.items() if k != "cursor" and v}
    context = {
        "form": form,
        "page": page,
        "error": error,
        "query": urlencode(query),
        "current": {**query},
        "list_url": reverse("web:inbox") + ("?" + request.GET.urlencode() if request.GET else ""),
        "next_url": reverse("web:inbox") + "?" + urlencode({**query, "cursor": page.next_cursor})
        if page is not None and page.next_cursor
        else "",
    }
    status = 200 if page is not None else 422
    return context, status


def _view_of(query: dict[str, str]) -> str:
    """Which sidebar entry the filters are exactly (for aria-current); "" when they are a custom mix."""
    if not query:
        return "active"
    if len(query) != 1:
        return ""
    ((key, value),) = query.items()
    if key == "assigned" and value in ("mine", "unassigned"):
        return value
    if key == "status" and value in ("open", "waiting"):
        return value
    return value if key == "channel" else ""


@staff_view
@require_GET
def inbox(request: HttpRequest) -> HttpResponse:
    """The page; an htmx request (the 15-second refresh, a filter change) gets the list alone."""
    actor = web_actor(request)
    context, status = _list_context(request, actor)
    if is_htmx(request) and request.headers.get("HX-Target") == "inbox-list":
        return render(request, "web/inbox/_list.html", context, status=status)
    counts = inbox_queries.inbox_counts(actor)
    context["counts"] = counts
    context["channels"] = [(c.value, c.label) for c in Channel if c.value in counts.by_channel]
    context["assignable"] = inbox_queries.assignable_users(actor)
    context["view"] = _view_of(context["current"])
    return render(request, "web/inbox/list.html", context, status=status)


# --- one conversation ----------------------------------------------------------------------------
def draft_key(thread: Thread) -> str:
    return f"cx-draft:reply:{thread.public_id}"


def reply_channels(customer: Customer, thread: Thread) -> list[tuple[str, str]]:
    """Channels the customer has an address on and cxloop can send on: the conversation's own first."""
    prefetch_related_objects([customer], "identities")  # read once, then by every default_address below
    kinds = {identity.kind for identity in customer.identities.all()}
    sendable = set(registry.sendable_channels())
    found = [
        (channel, f"{Channel(channel).label} · {default_address(customer, channel)}")
        for channel, wanted in CHANNEL_KINDS.items()
        if channel in sendable and kinds & set(wanted)
    ]
    return sorted(found, key=lambda choice: choice[0] != thread.channel)


def _assign_form(actor: Actor, thread: Thread, data: Any = None) -> AssignForm:
    users = [(user.username, user.display_name) for user in inbox_queries.assignable_users(actor)]
    initial = {"assignee": thread.assigned_to.username if thread.assigned_to else "", "team": thread.team_id}
    return AssignForm(data, users=users, team_choices=_team_choices(actor), initial=initial)


def _canned(actor: Actor, channels: list[tuple[str, str]]) -> list[tuple[str, list[Any]]]:
    """Service templates for the channels a reply may go on, grouped by channel."""
    wanted = [channel for channel, _ in channels]
    templates = messaging_queries.list_templates(actor).filter(purpose=Purpose.SERVICE, channel__in=wanted)
    groups: dict[str, list[Any]] = {}
    for template in templates:
        groups.setdefault(template.channel, []).append(template)
    return [(Channel(channel).label, groups[channel]) for channel in wanted if channel in groups]


def _reply_form(thread: Thread, channels: list[tuple[str, str]], **initial: str) -> ReplyForm:
    channel = thread.channel if any(c == thread.channel for c, _ in channels) else (channels[0][0] if channels else "")
    return ReplyForm(channels=channels, initial={"channel": channel, **initial})


def messages_context(actor: Actor, thread: Thread, cursor: str | None) -> dict[str, Any]:
    page = inbox_queries.conversation_messages(actor, thread, cursor=cursor, limit=MESSAGES_PAGE)
    earlier = ""
    if page.next_cursor:
        earlier = "?" + urlencode({"cursor": page.next_cursor})
    return {
        "thread": thread,
        "bubbles": display.bubbles(actor, thread, page.items, newest_page=cursor is None),
        "earlier_query": earlier,
        "cursor": cursor or "",
        "live_version": live_version(thread),
    }


def live_version(thread: Thread) -> str:
    """Changes when a message arrives or a reply's delivery status moves: what the open page polls for."""
    newest = Interaction.objects.filter(thread=thread).aggregate(newest=Max("pk"))["newest"] or 0
    status = OutboundMessage.objects.filter(thread_ref=thread.public_id).aggregate(at=Max("updated_at"))["at"]
    return f"{newest}-{int(status.timestamp() * 1000) if status else 0}"


def conversation_context(
    request: HttpRequest,
    actor: Actor,
    thread: Thread,
    *,
    reply_form: ReplyForm | None = None,
    note_form: NoteForm | None = None,
) -> dict[str, Any]:
    customer = thread.customer
    channels = reply_channels(customer, thread)
    if reply_form is None:
        reply_form = _reply_form(thread, channels, **_canned_initial(request, actor, thread))
    # Only this conversation's draft: the flag may be the customer page's, which must not lose it here.
    cleared = request.session.get(DRAFT_SESSION_KEY) == draft_key(thread)
    if cleared:
        del request.session[DRAFT_SESSION_KEY]
    return {
        "customer": customer,
        "identities": list(customer.identities.all()),
        "others": inbox_queries.other_open_conversations(actor, thread),
        "reply_form": reply_form,
        "note_form": note_form or NoteForm(),
        "assign_form": _assign_form(actor, thread),
        "canned": _canned(actor, channels),
        "draft_key": draft_key(thread),
        "draft_clear": cleared,
        "statuses": ThreadStatus.choices,
        "can_write": actor.can(Perm.INTERACTIONS_WRITE),
        "can_assign": actor.can(Perm.CONVERSATIONS_ASSIGN),
        **conversation_case(actor, thread),
        **messages_context(actor, thread, request.GET.get("cursor") or None),
    }


def _canned_initial(request: HttpRequest, actor: Actor, thread: Thread) -> dict[str, str]:
    """Without JavaScript the picker reloads the page with ?canned=<key>: the reply starts with that text."""
    key = request.GET.get("canned", "")
    if not key or not actor.can(Perm.INTERACTIONS_WRITE):
        return {}
    template = messaging_queries.get_template(actor, key)
    preview = messaging_queries.preview_template(actor, template, thread.customer)
    return {"body": preview.rendered.text, "channel": template.channel}


@staff_view
@require_GET
def conversation(request: HttpRequest, public_id: str) -> HttpResponse:
    actor = web_actor(request)
    thread = inbox_queries.get_conversation(actor, public_id)
    return render(request, "web/inbox/conversation.html", conversation_context(request, actor, thread))


@staff_view
@require_GET
def conversation_messages(request: HttpRequest, public_id: str) -> HttpResponse:
    """Earlier messages (htmx "load earlier"); without htmx, the page at that point of the conversation."""
    if not is_htmx(request):
        query = request.GET.urlencode()
        return redirect(reverse("web:conversation", args=[public_id]) + (f"?{query}" if query else ""))
    actor = web_actor(request)
    thread = inbox_queries.get_conversation(actor, public_id)
    context = messages_context(actor, thread, request.GET.get("cursor") or None)
    return render(request, "web/inbox/_message_items.html", context)


@staff_view
@require_GET
def conversation_live(request: HttpRequest, public_id: str) -> HttpResponse:
    """The messages section again when something changed since version `v` (htmx polling); else 204."""
    actor = web_actor(request)
    thread = inbox_queries.get_conversation(actor, public_id)
    if request.GET.get("v", "") == live_version(thread):
        return HttpResponse(status=204)
    return render(request, "web/inbox/_messages.html", messages_context(actor, thread, None))


def _back(request: HttpRequest, thread: Thread, anchor: str = "") -> HttpResponse:
    return redirect(reverse("web:conversation", args=[thread.public_id]) + anchor)


def _controls(request: HttpRequest, actor: Actor, thread: Thread, notice: str = "") -> HttpResponse:
    context = {
        "thread": thread,
        "assign_form": _assign_form(actor, thread),
        "statuses": ThreadStatus.choices,
        "can_write": actor.can(Perm.INTERACTIONS_WRITE),
        "can_assign": actor.can(Perm.CONVERSATIONS_ASSIGN),
        "notice": notice,
    }
    return render(request, "web/inbox/_controls.html", context)


@staff_view
@require_POST
def conversation_status(request: HttpRequest, public_id: str) -> HttpResponse:
    actor = web_actor(request)
    thread = inbox_queries.get_conversation(actor, public_id)
    form = StatusForm(request.POST)
    if not form.is_valid():
        raise ValidationError("Choose open, waiting or closed.", fields={"status": "unknown status"})
    conversations.set_thread_status(actor, thread, form.cleaned_data["status"])
    notice = f"Marked {thread.get_status_display().lower()}."
    if is_htmx(request):
        return _controls(request, actor, thread, notice)
    messages.success(request, notice)
    return _back(request, thread)


def _assignee(form: AssignForm, actor: Actor) -> tuple[User | None, Any]:
    if form.data.get("me"):
        return actor.user, None
    username = form.cleaned_data["assignee"]
    user = inbox_queries.assignable_users(actor).filter(username=username).first() if username else None
    team_id = form.cleaned_data["team"]
    team = inbox_queries.teams(actor).filter(pk=team_id).first() if team_id else None
    return user, team


@staff_view
@require_POST
def conversation_assign(request: HttpRequest, public_id: str) -> HttpResponse:
    """Assign to someone (needs conversations.assign), or "take it" (the acting agent, any agent may)."""
    actor = web_actor(request)
    thread = inbox_queries.get_conversation(actor, public_id)
    form = _assign_form(actor, thread, request.POST)
    if not form.is_valid():
        raise ValidationError("Choose someone who may answer customers.", fields={"assignee": "not assignable"})
    user, team = _assignee(form, actor)
    conversations.assign_thread(actor, thread, user=user, team=team)
    notice = f"Assigned to {user.display_name}." if user else "Unassigned."
    if is_htmx(request):
        return _controls(request, actor, thread, notice)
    messages.success(request, notice)
    return _back(request, thread)


@staff_view
@require_POST
def conversation_note(request: HttpRequest, public_id: str) -> HttpResponse:
    actor = web_actor(request)
    actor.require(Perm.INTERACTIONS_WRITE)
    thread = inbox_queries.get_conversation(actor, public_id)
    form = NoteForm(request.POST)
    note = None
    if form.is_valid():
        data = InteractionInput(channel=Channel.NOTE, direction="internal", body=form.cleaned_data["body"])
        note = attempt(
            form, lambda: interaction_services.record_interaction(actor, thread.customer, data, thread=thread)
        )
    if note is None:
        context = {"thread": thread, "note_form": form}
        return render(request, "web/inbox/_note.html", context, status=422)
    if not is_htmx(request):
        messages.success(request, "Note added.")
        return _back(request, thread, "#messages")
    context = {"thread": thread, "note_form": NoteForm(), "noted": True}
    context.update(messages_context(actor, thread, None))
    return render(request, "web/inbox/_note.html", {**context, "refresh_messages": True})


def _send(actor: Actor, thread: Thread, form: ReplyForm) -> Any:
    data = form.cleaned_data
    request = SendRequest(
        customer_id=thread.customer.public_id,
        channel=data["channel"],
        purpose=Purpose.SERVICE,
        text=data["body"],
        thread_id=thread.public_id,
        idempotency_key=f"inbox:{data['idempotency_key']}",
    )
    return attempt(
        form,
        lambda: messaging_services.send_message(actor, request),
        aliases={"text": "body", "to": "channel", "thread_id": "channel"},
    )


@staff_view
@require_POST
def conversation_reply(request: HttpRequest, public_id: str) -> HttpResponse:
    """Send through messaging (consent, suppression and the audit trail apply); a blocked reply keeps its text."""
    actor = web_actor(request)
    actor.require(Perm.INTERACTIONS_WRITE)
    thread = inbox_queries.get_conversation(actor, public_id)
    channels = reply_channels(thread.customer, thread)
    form = ReplyForm(request.POST, channels=channels)
    message = _send(actor, thread, form) if form.is_valid() else None
    if message is None:
        if not is_htmx(request):
            context = conversation_context(request, actor, thread, reply_form=form)
            return render(request, "web/inbox/conversation.html", context, status=422)
        context = {"thread": thread, "reply_form": form, "draft_key": draft_key(thread)}
        return render(request, "web/inbox/_reply.html", {**context, "canned": _canned(actor, channels)}, status=422)
    blocked = message.status == MessageStatus.BLOCKED
    if not is_htmx(request):
        if blocked:
            messages.error(request, f"Not sent: {message.reason}.")
        else:
            request.session[DRAFT_SESSION_KEY] = draft_key(thread)
            messages.success(request, f"Reply {message.get_status_display().lower()}.")
        return _back(request, thread, "#reply")
    thread.refresh_from_db()
    keep = {"body": form.cleaned_data["body"], "channel": form.cleaned_data["channel"]} if blocked else {}
    context = {
        "thread": thread,
        "reply_form": _reply_form(thread, channels, **keep),
        "draft_key": draft_key(thread),
        "draft_clear": not blocked,
        "canned": _canned(actor, channels),
        "sent_message": message,
        "refresh_messages": True,
        **messages_context(actor, thread, None),
    }
    return render(request, "web/inbox/_reply.html", context)


@staff_view
@require_GET
def conversation_canned(request: HttpRequest, public_id: str) -> HttpResponse:
    """A template rendered for this conversation's customer, for the reply box to insert (JSON)."""
    actor = web_actor(request)
    actor.require(Perm.INTERACTIONS_WRITE)
    thread = inbox_queries.get_conversation(actor, public_id)
    template = messaging_queries.get_template(actor, request.GET.get("template", ""))
    preview = messaging_queries.preview_template(actor, template, thread.customer)
    rendered = preview.rendered
    return JsonResponse(
        {"text": rendered.text, "subject": rendered.subject, "channel": template.channel, "warnings": rendered.warnings}
    )


def panel_context(actor: Actor, customer: Customer) -> dict[str, Any] | None:
    """The customer page's "Conversations" panel."""
    if not actor.can(Perm.INTERACTIONS_VIEW):
        return None
    return {"conversations": inbox_queries.customer_conversations(actor, customer)}


# --- attachments ---------------------------------------------------------------------------------
@staff_view
@require_GET
def attachment(request: HttpRequest, public_id: str) -> HttpResponse:
    """The file as a download, never rendered inline: its declared (and detected) type may lie."""
    actor = web_actor(request)
    item = channel_queries.get_attachment(actor, public_id)
    if not item.storage_path or not default_storage.exists(item.storage_path):
        raise NotFoundError("This attachment was too large to keep, or its file is gone.")
    response = FileResponse(
        default_storage.open(item.storage_path, "rb"),
        as_attachment=True,
        filename=item.filename or f"{item.public_id}.bin",
        content_type="application/octet-stream",
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response  # type: ignore[return-value]  # a FileResponse streams; staff_view passes it through
