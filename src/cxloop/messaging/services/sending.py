"""send_message: the one door every outbound message goes through.

Order of the checks, each with its reason: the request must make sense (422, nothing stored); then the
governance rules, whose refusal is itself recorded as a blocked message so staff and journeys can see why
a customer heard nothing: the suppression list, consent, the marketing cap, and last quiet hours, which
delay rather than refuse.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Count
from django_tasks_db import DatabaseBackend

from cxloop.channels import registry
from cxloop.core import clock
from cxloop.core.actor import Actor
from cxloop.core.errors import CxloopError, NotFoundError, ValidationError
from cxloop.core.permissions import Perm
from cxloop.customers.models import Customer
from cxloop.events.bus import DomainEvent, publish
from cxloop.interactions.models import Interaction, Thread
from cxloop.messaging import governance
from cxloop.messaging.events import MessageBlocked, MessageQueued
from cxloop.messaging.models import DeliveryEvent, MessageStatus, OutboundMessage, Purpose, Template, TemplateVersion
from cxloop.messaging.rendering import Rendered
from cxloop.messaging.services import templates
from cxloop.messaging.services.addresses import CHANNEL_KINDS, chosen_address
from cxloop.messaging.services.judging import Verdict, judge
from cxloop.messaging.services.links import customer_links
from cxloop.messaging.types import SendRequest
from cxloop.privacy.services import AuditRecord, record_audit

MAX_TEXT = 100_000
# Counted against the marketing cap: everything that was or will be sent.
CAP_STATUSES = (
    MessageStatus.QUEUED,
    MessageStatus.SCHEDULED,
    MessageStatus.SENDING,
    MessageStatus.SENT,
    MessageStatus.DELIVERED,
    MessageStatus.READ,
)


def idempotency_scope(actor: Actor) -> str:
    if actor.token is not None:
        return f"token:{actor.token.pk}"
    if actor.user is not None:
        return f"user:{actor.user.pk}"
    return f"system:{actor.via}"[:64]


def _fingerprint(request: SendRequest) -> str:
    data = asdict(request)
    data.pop("idempotency_key")
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


def replay_of(request: SendRequest, existing: OutboundMessage | None) -> OutboundMessage | None:
    """`existing` (the message stored under the request's key) when it was made for the same request."""
    if existing is not None and existing.request_fingerprint != _fingerprint(request):
        raise ValidationError(
            "This idempotency key was used for a different message; use a new key.",
            fields={"idempotency_key": "already used for a different message"},
            code="idempotency_key_reused",
        )
    return existing


def replayed(scope: str, request: SendRequest) -> OutboundMessage | None:
    if not request.idempotency_key:
        return None
    existing = OutboundMessage.objects.filter(idempotency_scope=scope, idempotency_key=request.idempotency_key).first()
    return replay_of(request, existing)


def _customer(public_id: str) -> Customer:
    return usable_customer(
        public_id, Customer.objects.prefetch_related("identities").filter(public_id=public_id).first()
    )


def usable_customer(public_id: str, customer: Customer | None) -> Customer:
    """The customer a message may go to (loaded with their identities), or why not."""
    if customer is None:
        raise NotFoundError(f"No customer {public_id}.", code="customer_not_found")
    if not customer.is_active:
        target = customer.merged_into.public_id if customer.merged_into else "another customer"
        raise ValidationError("The customer was merged.", fields={"customer": f"merged into {target}; send there"})
    return customer


def check_request(request: SendRequest) -> None:
    errors: dict[str, str] = {}
    if request.channel not in CHANNEL_KINDS:
        errors["channel"] = f"must be one of {', '.join(CHANNEL_KINDS)}"
    if request.purpose is not None and request.purpose not in Purpose.values:
        errors["purpose"] = "must be service or marketing"
    if bool(request.template) == bool(request.text.strip()):
        errors["template" if not request.template else "text"] = "give either a template or a text"
    if request.template and (request.subject or request.html):
        errors["subject" if request.subject else "html"] = "comes from the template; leave it out"
    if len(request.text) > MAX_TEXT or len(request.html) > MAX_TEXT:
        errors["text" if len(request.text) > MAX_TEXT else "html"] = f"must be at most {MAX_TEXT} characters"
    if len(request.subject) > 300:
        errors["subject"] = "must be at most 300 characters"
    if len(request.idempotency_key) > 255:
        errors["idempotency_key"] = "must be at most 255 characters"
    if request.html and request.channel != "email":
        errors["html"] = "only email has an HTML body"
    if errors:
        raise ValidationError("The message is not valid.", fields=errors)
    registry.sender_for(request.channel)  # 422 on channel when nothing can send on it


class TemplateLookup:
    """Where `_content` finds templates and versions: read each time for one message; for a batch
    (`remember=True`) each key and (template, locale) is read once, a refusal kept and raised again."""

    def __init__(self, *, remember: bool = False) -> None:
        self.remember = remember
        self._seen: dict[tuple[Any, ...], Template | TemplateVersion | Exception] = {}

    def _once(self, key: tuple[Any, ...], read: Callable[[], Template | TemplateVersion]) -> Any:
        if not self.remember:
            return read()
        if key not in self._seen:
            try:
                self._seen[key] = read()
            except CxloopError as exc:
                self._seen[key] = exc
        found = self._seen[key]
        if isinstance(found, CxloopError):  # a copy each time: every request gets an error of its own
            raise type(found)(found.message, fields=dict(found.fields), code=found.code)
        return found

    def template(self, key: str) -> Template:
        found: Template = self._once(("template", key), lambda: templates.get_template_by_key(key))
        return found

    def version(self, template: Template, locale: str) -> TemplateVersion:
        found: TemplateVersion = self._once(
            ("version", template.pk, locale), lambda: templates.resolve_version(template, locale)
        )
        return found


def _content(
    actor: Actor, customer: Customer, request: SendRequest, lookup: TemplateLookup
) -> tuple[Rendered, TemplateVersion | None, str]:
    """The rendered words, the template version used (None for free text) and the purpose."""
    if not request.template:
        return (
            Rendered(subject=request.subject, text=request.text, html=request.html),
            None,
            request.purpose or "service",
        )
    template = lookup.template(request.template)
    if not template.is_active:
        raise ValidationError("The template is archived.", fields={"template": "archived"})
    if template.channel != request.channel:
        raise ValidationError("The template is for another channel.", fields={"template": f"is for {template.channel}"})
    if request.purpose is not None and request.purpose != template.purpose:
        raise ValidationError(
            "The purpose differs from the template's.", fields={"purpose": f"the template is {template.purpose}"}
        )
    version = lookup.version(template, request.locale or customer.locale)
    preference_url, unsubscribe_url = customer_links(customer)
    context = templates.build_context(
        actor, customer, request.variables, preference_url=preference_url, unsubscribe_url=unsubscribe_url
    )
    return templates.render_version(version, context), version, template.purpose


def _thread_address(customer: Customer, thread: Thread | None, channel: str) -> str:
    """The address the customer last wrote from in this conversation on `channel` (their chat, their
    work email), when it is still theirs; empty to let the default address apply."""
    if thread is None:
        return ""
    latest = (
        Interaction.objects.filter(thread=thread, channel=channel, direction="inbound")
        .order_by("-occurred_at", "-id")
        .values_list("metadata", flat=True)
        .first()
    )
    address = latest.get("address", "") if isinstance(latest, dict) else ""
    if not isinstance(address, str) or not address:
        return ""
    try:
        chosen_address(customer, channel, address)
    except ValidationError:
        return ""
    return address


def _reply_context(customer: Customer, thread_id: str, channel: str) -> tuple[Thread | None, dict[str, object]]:
    if not thread_id:
        return None, {}
    thread = Thread.objects.filter(public_id=thread_id, customer=customer).first()
    if thread is None:
        raise ValidationError(
            "No such thread for this customer.", fields={"thread_id": "not a thread of this customer"}
        )
    newest_first = (
        Interaction.objects.filter(thread=thread)
        .exclude(external_id="")
        .order_by("-occurred_at", "-id")
        .values_list("external_id", flat=True)[:100]
    )
    ids = list(reversed(newest_first))
    subject = thread.subject
    if channel == "email" and subject and not subject.lower().startswith("re:"):
        subject = f"Re: {subject}"
    return thread, {
        "subject": subject[:300],
        "in_reply_to": ids[-1] if ids else "",
        "references": ids,
        "conversation_key": thread.external_ref,
    }


def cap_counts(customer_ids: Iterable[int]) -> dict[int, int]:
    """{customer: marketing messages counted against the cap now} for those with any (none when the cap is off)."""
    cap = governance.marketing_cap()
    ids = set(customer_ids)
    if cap is None or not ids:
        return {}
    rows = (
        OutboundMessage.objects.filter(
            customer_id__in=ids,
            purpose=Purpose.MARKETING,
            status__in=CAP_STATUSES,
            created_at__gte=clock.now() - cap.period,
        )
        .values_list("customer_id")
        .annotate(count=Count("id"))
        .order_by()
    )
    return dict(rows)


def lock_customers(customer_ids: Iterable[int]) -> None:
    """Serialise marketing sends per customer, so two at once cannot both slip under the cap (in key order,
    so two batches locking overlapping customers wait for each other rather than deadlock)."""
    list(Customer.objects.select_for_update().filter(pk__in=set(customer_ids)).order_by("pk").values_list("pk"))


def over_cap(count: int) -> Verdict | None:
    """The refusal of a marketing message to a customer who already has `count` counted against the cap."""
    cap = governance.marketing_cap()
    if cap is None or count < cap.limit:
        return None
    return Verdict(
        MessageStatus.BLOCKED, "frequency_cap", f"{count} marketing messages already within the cap of {cap.text}"
    )


def quiet_for(purpose: str, request: SendRequest) -> bool:
    return purpose == Purpose.MARKETING or request.quiet_hours


def _verdict(customer: Customer, channel: str, address: str, purpose: str, request: SendRequest) -> Verdict:
    verdict = judge(customer, channel, address, purpose, quiet=quiet_for(purpose, request))
    if verdict.status != MessageStatus.BLOCKED and purpose == Purpose.MARKETING:
        lock_customers([customer.pk])
        return over_cap(cap_counts([customer.pk]).get(customer.pk, 0)) or verdict
    return verdict


@dataclass
class Draft:
    """A request made concrete: where it goes and what it says, before governance judges it."""

    request: SendRequest
    customer: Customer
    thread: Thread | None
    reply: dict[str, object]
    address: str
    rendered: Rendered
    version: TemplateVersion | None
    purpose: str


def draft(actor: Actor, request: SendRequest, customer: Customer, lookup: TemplateLookup) -> Draft:
    """The thread replied in, the address and the rendered content; raises what makes the request unsendable."""
    thread, reply = _reply_context(customer, request.thread_id, request.channel)
    address = chosen_address(
        customer, request.channel, request.to or _thread_address(customer, thread, request.channel)
    )
    rendered, version, purpose = _content(actor, customer, request, lookup)
    return Draft(request, customer, thread, reply, address, rendered, version, purpose)


def new_message(actor: Actor, scope: str, drafted: Draft, verdict: Verdict) -> OutboundMessage:
    """The message row (not saved yet) for a judged draft."""
    request, rendered, thread = drafted.request, drafted.rendered, drafted.thread
    return OutboundMessage(
        customer=drafted.customer,
        channel=request.channel,
        purpose=drafted.purpose,
        to_address=drafted.address,
        template_version=drafted.version,
        subject=(rendered.subject or str(drafted.reply.get("subject", "")))[:300],
        body_text=rendered.text,
        body_html=rendered.html,
        status=verdict.status,
        reason=verdict.reason[:300],
        reason_code=verdict.reason_code,
        next_attempt_at=verdict.not_before,
        idempotency_scope=scope if request.idempotency_key else "",
        idempotency_key=request.idempotency_key,
        request_fingerprint=_fingerprint(request) if request.idempotency_key else "",
        thread_ref=thread.public_id if thread else "",
        reply_context=drafted.reply,
        respect_quiet_hours=quiet_for(drafted.purpose, request),
        automated=request.automated,
        created_by=actor.user,
        created_by_label=actor.label[:200],
    )


def audit_record(message: OutboundMessage) -> AuditRecord:
    return AuditRecord(
        action=f"message.{message.status}",
        object_type="customer",
        object_id=message.customer.public_id,
        summary=f"{message.purpose} {message.channel} {message.public_id}"
        + (f": {message.reason}" if message.reason else ""),
        after={
            "message": message.public_id,
            "channel": message.channel,
            "purpose": message.purpose,
            "status": message.status,
            "to": message.to_address,
        },
    )


def domain_event(message: OutboundMessage) -> DomainEvent:
    if message.status == MessageStatus.BLOCKED:
        return MessageBlocked(
            message_id=message.public_id,
            customer_id=message.customer.public_id,
            channel=message.channel,
            purpose=message.purpose,
            reason_code=message.reason_code,
            reason=message.reason,
        )
    return MessageQueued(
        message_id=message.public_id,
        customer_id=message.customer.public_id,
        channel=message.channel,
        purpose=message.purpose,
        scheduled_for=message.next_attempt_at.isoformat() if message.next_attempt_at else "",
    )


def _announce(actor: Actor, message: OutboundMessage) -> None:
    audit = audit_record(message)
    record_audit(
        actor,
        audit.action,
        object_type=audit.object_type,
        object_id=audit.object_id,
        summary=audit.summary,
        after=audit.after,
    )
    publish(domain_event(message))
    if message.status == MessageStatus.QUEUED:
        _enqueue_dispatch(message.pk)


def _enqueue_dispatch(message_pk: int) -> None:
    """A queue kept in this database takes the task row in this transaction: it commits (or vanishes) with the
    message, a commit less than writing it afterwards. Any other queue is handed the task once we commit, so
    a worker never looks for a message that is not there yet."""
    from cxloop.messaging.tasks import dispatch_message

    if isinstance(dispatch_message.get_backend(), DatabaseBackend):
        dispatch_message.enqueue(message_pk)
    else:
        transaction.on_commit(lambda: dispatch_message.enqueue(message_pk))


@transaction.atomic
def send_message(actor: Actor, request: SendRequest) -> OutboundMessage:
    """Validate, render and judge one message; store it queued, scheduled or blocked, and dispatch on commit.

    Refusals of the request itself raise (422/404) and store nothing; a governance refusal returns the
    message with status "blocked" and the reason. With an idempotency key, a repeat returns the first message.
    """
    actor.require(Perm.INTERACTIONS_WRITE)
    scope = idempotency_scope(actor)
    replay = replayed(scope, request)
    if replay is not None:
        return replay
    check_request(request)
    customer = _customer(request.customer_id)
    drafted = draft(actor, request, customer, TemplateLookup())
    verdict = _verdict(customer, request.channel, drafted.address, drafted.purpose, request)
    message = new_message(actor, scope, drafted, verdict)
    if not request.idempotency_key:
        message.save()  # nothing unique to collide on: no savepoint needed
    else:
        try:
            with transaction.atomic():
                message.save()
        except IntegrityError:
            replay = replayed(scope, request)  # a concurrent call with the same key stored it first
            if replay is None:
                raise
            return replay
    DeliveryEvent.objects.create(
        message=message, state=verdict.status, occurred_at=clock.now(), detail=verdict.reason[:500]
    )
    _announce(actor, message)
    return message
