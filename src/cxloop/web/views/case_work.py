"""Working a case from its page: the plan (add, complete, skip with a reason, reopen, move up and down, tick the
checklist), internal notes, replies on any channel the customer has, links to other cases, and the live
refresh of the timeline.

A reply goes through the messaging service like the inbox's (consent, suppression, quiet hours and the audit
trail apply): in the case's conversation on that channel, else in its latest conversation (a conversation may
switch channel), else in a new conversation that is linked to the case first.
"""

from __future__ import annotations

from datetime import datetime

from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from cxloop.cases.models import Case, CaseTask, TaskStatus
from cxloop.cases.queries import cases as case_queries
from cxloop.cases.queries import details as case_details
from cxloop.cases.services import cases as case_services
from cxloop.cases.services import macros as macro_services
from cxloop.cases.services import merging, plans
from cxloop.core import clock
from cxloop.core.actor import Actor
from cxloop.core.errors import NotFoundError, ValidationError
from cxloop.core.permissions import Perm
from cxloop.interactions import conversations
from cxloop.interactions import inbox as inbox_queries
from cxloop.interactions.models import Thread
from cxloop.messaging import services as messaging_services
from cxloop.messaging.models import MessageStatus, OutboundMessage, Purpose
from cxloop.messaging.types import SendRequest
from cxloop.web.actor import web_actor
from cxloop.web.inbox_forms import NoteForm, ReplyForm
from cxloop.web.responses import staff_view
from cxloop.web.views import case_timeline
from cxloop.web.views.case_forms import ChecklistForm, LinkForm, MergeForm, ReorderForm, SkipForm, TaskForm
from cxloop.web.views.case_page import back, failed, run
from cxloop.web.views.timeline import DRAFT_SESSION_KEY


def _case(request: HttpRequest, case_id: str, perm: Perm = Perm.CASES_WORK) -> tuple[Actor, Case]:
    actor = web_actor(request)
    actor.require(perm)
    return actor, case_queries.get_case(actor, case_id)


def _task(actor: Actor, case: Case, task_id: int) -> CaseTask:
    task = next((t for t in case_queries.tasks_of(actor, case) if t.pk == task_id), None)
    if task is None:
        raise NotFoundError("No such task on this case.")
    task.case = case
    return task


# --- the plan ------------------------------------------------------------------------------------------------
@staff_view
@require_POST
def task_add(request: HttpRequest, case_id: str) -> HttpResponse:
    actor, case = _case(request, case_id)
    users = [(u.username, u.display_name) for u in inbox_queries.assignable_users(actor)]
    form = TaskForm(request.POST, users=users)
    task = None
    if form.is_valid():
        data = form.cleaned_data
        owner = inbox_queries.assignable_users(actor).filter(username=data["owner"]).first() if data["owner"] else None
        task_input = plans.TaskInput(
            title=data["title"], owner=owner, due_at=data["due_at"], checklist=form.checklist_items()
        )
        task = run(form, lambda: plans.add_task(actor, case, task_input))
    if task is None:
        return failed(request, actor, case, "task_form", form)
    messages.success(request, f"Task added: {task.title}.")
    return back(case, "#plan")


@staff_view
@require_POST
def task_edit(request: HttpRequest, case_id: str, task_id: int) -> HttpResponse:
    """Rename a task, give it to someone else (empty: nobody) or move its due time (empty: none)."""
    actor, case = _case(request, case_id)
    task = _task(actor, case, task_id)
    username = request.POST.get("owner", "").strip()
    owner = inbox_queries.assignable_users(actor).filter(username=username).first() if username else None
    due_text = request.POST.get("due_at", "").strip()
    try:
        if username and owner is None:
            raise ValidationError("No such member of staff.", fields={"owner": f"{username!r} is not a staff member"})
        due = _local_datetime(due_text) if due_text else None
        plans.update_task(
            actor,
            task,
            title=request.POST.get("title", ""),
            owner=owner,
            clear_owner=owner is None,
            due_at=due,
            clear_due=due is None,
        )
    except ValidationError as exc:
        reasons = "; ".join(f"{field}: {reason}" for field, reason in exc.fields.items()) or exc.message
        messages.error(request, f"The task was not changed ({reasons}).")
        return back(case, f"#task-{task.pk}")
    messages.success(request, f"Task saved: {task.title}.")
    return back(case, f"#task-{task.pk}")


def _local_datetime(text: str) -> datetime:
    """A datetime-local field's value in the staff member's (the site's) time zone."""
    for pattern in ("%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"):
        try:
            return timezone.make_aware(datetime.strptime(text, pattern))  # noqa: DTZ007 - made aware here
        except ValueError:
            continue
    raise ValidationError("That is not a date and time.", fields={"due_at": "use the date picker (YYYY-MM-DDTHH:MM)"})


@staff_view
@require_POST
def task_status(request: HttpRequest, case_id: str, task_id: int) -> HttpResponse:
    """Done, back to do, or skipped with the reason (a skip without one is refused with the field named)."""
    actor, case = _case(request, case_id)
    task = _task(actor, case, task_id)
    status = request.POST.get("status", "")
    if status not in TaskStatus.values:
        raise ValidationError("Choose done, to do or skipped.", fields={"status": "unknown task status"})
    reason = ""
    if status == TaskStatus.SKIPPED:
        form = SkipForm(request.POST)
        if not form.is_valid():
            raise ValidationError("Say why the task is skipped.", fields={"reason": "required when skipping"})
        reason = form.cleaned_data["reason"]
    plans.set_task_status(actor, task, status, reason=reason)
    messages.success(request, f"{task.title}: {task.get_status_display().lower()}.")
    return back(case, f"#task-{task.pk}")


@staff_view
@require_POST
def task_move(request: HttpRequest, case_id: str, task_id: int) -> HttpResponse:
    """Move a task one place up or down (buttons, so the order changes from the keyboard too)."""
    actor, case = _case(request, case_id)
    form = ReorderForm(request.POST)
    if not form.is_valid():
        raise ValidationError("Move a task up or down.", fields={"direction": "must be up or down"})
    order = [t.pk for t in case_queries.tasks_of(actor, case)]
    if task_id not in order:
        raise NotFoundError("No such task on this case.")
    index = order.index(task_id)
    target = index - 1 if form.cleaned_data["direction"] == "up" else index + 1
    if 0 <= target < len(order):
        order[index], order[target] = order[target], order[index]
        plans.reorder_tasks(actor, case, order)
    return back(case, f"#task-{task_id}")


@staff_view
@require_POST
def task_checklist(request: HttpRequest, case_id: str, task_id: int) -> HttpResponse:
    actor, case = _case(request, case_id)
    task = _task(actor, case, task_id)
    items = list(task.checklist)
    form = ChecklistForm(request.POST, size=len(items))
    if not form.is_valid():
        raise ValidationError("Tick items of this task's checklist.", fields={"done": "unknown item"})
    ticked = set(form.cleaned_data["done"])
    checklist: list[dict[str, object]] = [
        {"text": str(item.get("text", "")), "done": index in ticked} for index, item in enumerate(items)
    ]
    plans.update_task(actor, task, checklist=checklist)
    messages.success(request, "Checklist saved.")
    return back(case, f"#task-{task.pk}")


# --- notes and replies ------------------------------------------------------------------------------------------
@staff_view
@require_POST
def case_note(request: HttpRequest, case_id: str) -> HttpResponse:
    actor, case = _case(request, case_id)
    form = NoteForm(request.POST)
    note = (
        run(form, lambda: macro_services.add_case_note(actor, case, form.cleaned_data["body"]))
        if (form.is_valid())
        else None
    )
    if note is None:
        return failed(request, actor, case, "note_form", form)
    request.session[DRAFT_SESSION_KEY] = case_timeline.note_draft_key(case)
    messages.success(request, "Note added.")
    return back(case, "#timeline")


def reply_thread(actor: Actor, case: Case, channel: str) -> Thread:
    """The conversation a reply on `channel` continues; a new one, linked to the case, when it has none."""
    links = case_queries.conversations_of(actor, case)
    same = [link.thread for link in links if link.thread.channel == channel]
    if same:
        return max(same, key=lambda thread: thread.last_activity_at)
    if links:
        return max((link.thread for link in links), key=lambda thread: thread.last_activity_at)
    thread = conversations.open_thread(
        case.customer,
        channel,
        subject=case.subject,
        normalized_subject=case.subject.lower(),
        external_ref="",
        at=clock.now(),
    )
    case_services.link_conversation(actor, case, thread)
    return thread


def _send(actor: Actor, case: Case, form: ReplyForm) -> OutboundMessage | None:
    data = form.cleaned_data

    def send() -> OutboundMessage:
        with transaction.atomic():  # a refused request leaves no new conversation behind
            thread = reply_thread(actor, case, data["channel"])
            request = SendRequest(
                customer_id=case.customer.public_id,
                channel=data["channel"],
                purpose=Purpose.SERVICE,
                text=data["body"],
                thread_id=thread.public_id,
                idempotency_key=f"case:{data['idempotency_key']}",
            )
            return messaging_services.send_message(actor, request)

    return run(form, send, aliases={"text": "body", "to": "channel", "thread_id": "channel"})


@staff_view
@require_POST
def case_reply(request: HttpRequest, case_id: str) -> HttpResponse:
    """A blocked or refused reply comes back with its text kept (and stays in the browser's draft)."""
    actor, case = _case(request, case_id)
    actor.require(Perm.INTERACTIONS_WRITE)
    channels = case_timeline.reply_channels(case.customer, case.source_channel)
    form = case_timeline.reply_form(case, channels, request.POST)
    message = _send(actor, case, form) if form.is_valid() else None
    if message is None:
        return failed(request, actor, case, "reply_form", form)
    if message.status == MessageStatus.BLOCKED:
        form.add_error(None, f"Not sent: {message.reason}. The text is kept: change the channel or the words.")
        return failed(request, actor, case, "reply_form", form)
    request.session[DRAFT_SESSION_KEY] = case_timeline.reply_draft_key(case)
    messages.success(request, f"Reply {message.get_status_display().lower()}.")
    return back(case, "#timeline")


@staff_view
@require_GET
def case_timeline_live(request: HttpRequest, case_id: str) -> HttpResponse:
    """The timeline again when something changed since version `v` (htmx polling); else 204."""
    actor, case = _case(request, case_id, Perm.CASES_VIEW)
    actor.require(Perm.INTERACTIONS_VIEW)
    threads = [link.thread.public_id for link in case_queries.conversations_of(actor, case)]
    version = case_timeline.timeline_version(case, threads)
    if request.GET.get("v", "") == version:
        return HttpResponse(status=204)
    bubbles, has_earlier = case_timeline.bubbles(actor, case, threads)
    context = {"case": case, "bubbles": bubbles, "has_earlier": has_earlier, "timeline_version": version}
    return render(request, "web/cases/_timeline.html", context)


# --- links ------------------------------------------------------------------------------------------------------
@staff_view
@require_POST
def case_link(request: HttpRequest, case_id: str) -> HttpResponse:
    actor, case = _case(request, case_id)
    form = LinkForm(request.POST)
    link = None
    if form.is_valid():
        try:
            other = case_queries.get_case(actor, form.cleaned_data["other"].strip())
        except NotFoundError:
            form.add_error("other", "No case with that number or id.")
        else:
            link = run(form, lambda: case_services.link_cases(actor, case, other, form.cleaned_data["kind"]))
    if link is None:
        return failed(request, actor, case, "link_form", form)
    messages.success(request, "Cases linked.")
    return back(case, "#links")


@staff_view
@require_POST
def case_unlink(request: HttpRequest, case_id: str, link_id: int) -> HttpResponse:
    actor, case = _case(request, case_id)
    case_services.unlink_cases(actor, case_details.get_link(actor, case, link_id))
    messages.success(request, "Link removed.")
    return back(case, "#links")


@staff_view
@require_POST
def case_unlink_conversation(request: HttpRequest, case_id: str, conversation_id: str) -> HttpResponse:
    """The conversation stops serving this case (it goes back to the inbox on its own)."""
    actor, case = _case(request, case_id)
    thread = inbox_queries.get_conversation(actor, conversation_id)
    case_services.unlink_conversation(actor, case, thread)
    messages.success(request, "The conversation no longer belongs to this case.")
    return back(case, "#links")


@staff_view
@require_POST
def case_merge(request: HttpRequest, case_id: str) -> HttpResponse:
    """Merge this case (a duplicate) into another case of the same customer, which goes on."""
    actor, case = _case(request, case_id)
    form = MergeForm(request.POST)
    survivor = None
    if form.is_valid():
        try:
            into = case_queries.get_case(actor, form.cleaned_data["into"].strip())
        except NotFoundError:
            form.add_error("into", "No case with that number or id.")
        else:
            survivor = run(form, lambda: merging.merge_cases(actor, case, into), {"into": "into", "case": "into"})
    if survivor is None:
        return failed(request, actor, case, "merge_form", form)
    messages.success(request, f"Case #{case.pk} was merged into this case.")
    return back(survivor)
