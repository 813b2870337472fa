"""send_message: the one door every outbound message goes through.

Order of the checks, each with its reason: the request must make sense (422, nothing stored); then the
governance rules, whose refusal is itself recorded as a blocked message so staff and journeys can see why
a customer heard nothing: the suppression list, consent, the marketing cap, and last quiet hours, which
delay rather than refuse.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict

from django.db import IntegrityError, transaction
from django_tasks_db import DatabaseBackend

from cxloop.channels import registry
from cxloop.core import clock
from cxloop.core.actor import Actor
from cxloop.core.errors import NotFoundError, ValidationError
from cxloop.core.permissions import Perm
from cxloop.customers.models import Customer
from cxloop.events.bus import publish
from cxloop.interactions.models import Interaction, Thread
from cxloop.messaging import governance
from cxloop.messaging.events import MessageBlocked, MessageQueued
from cxloop.messaging.models import DeliveryEvent, MessageStatus, OutboundMessage, Purpose, TemplateVersion
from cxloop.messaging.rendering import Rendered
from cxloop.messaging.services import templates
from cxloop.messaging.services.addresses import CHANNEL_KINDS, chosen_address
from cxloop.messaging.services.judging import Verdict, judge
from cxloop.messaging.services.links import preference_link, unsubscribe_link
from cxloop.messaging.types import SendRequest
from cxloop.privacy.services import record_audit

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


def _replayed(scope: str, request: SendRequest) -> OutboundMessage | None:
    if not request.idempotency_key:
        return None
    existing = OutboundMessage.objects.filter(idempotency_scope=scope, idempotency_key=request.idempotency_key).first()
    if existing is not None and existing.request_fingerprint != _fingerprint(request):
        raise ValidationError(
            "This idempotency key was used for a different message; use a new key.",
            fields={"idempotency_key": "already used for a different message"},
            code="idempotency_key_reused",
        )
    return existing


def _customer(public_id: str) -> Customer:
    customer = Customer.objects.prefetch_related("identities").filter(public_id=public_id).first()
    if customer is None:
        raise NotFoundError(f"No customer {public_id}.", code="customer_not_found")
    if not customer.is_active:
        target = customer.merged_into.public_id if customer.merged_into else "another customer"
        raise ValidationError("The customer was merged.", fields={"customer": f"merged into {target}; send there"})
    return customer


def _check_request(request: SendRequest) -> None:
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


def _content(actor: Actor, customer: Customer, request: SendRequest) -> tuple[Rendered, TemplateVersion | None, str]:
    """The rendered words, the template version used (None for free text) and the purpose."""
    if not request.template:
        return (
            Rendered(subject=request.subject, text=request.text, html=request.html),
            None,
            request.purpose or "service",
        )
    template = templates.get_template_by_key(request.template)
    if not template.is_active:
        raise ValidationError("The template is archived.", fields={"template": "archived"})
    if template.channel != request.channel:
        raise ValidationError("The template is for another channel.", fields={"template": f"is for {template.channel}"})
    if request.purpose is not None and request.purpose != template.purpose:
        raise ValidationError(
            "The purpose differs from the template's.", fields={"purpose": f"the template is {template.purpose}"}
        )
    version = templates.resolve_version(template, request.locale or customer.locale)
    context = templates.build_context(
        actor,
        customer,
        request.variables,
        preference_url=preference_link(customer),
        unsubscribe_url=unsubscribe_link(customer),
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


def _over_cap(customer: Customer) -> str:
    cap = governance.marketing_cap()
    if cap is None:
        return ""
    since = clock.now() - cap.period
    count = OutboundMessage.objects.filter(
        customer=customer, purpose=Purpose.MARKETING, status__in=CAP_STATUSES, created_at__gte=since
    ).count()
    return f"{count} marketing messages already within the cap of {cap.text}" if count >= cap.limit else ""


def _verdict(customer: Customer, channel: str, address: str, purpose: str, request: SendRequest) -> Verdict:
    quiet = purpose == Purpose.MARKETING or request.quiet_hours
    verdict = judge(customer, channel, address, purpose, quiet=quiet)
    if verdict.status != MessageStatus.BLOCKED and purpose == Purpose.MARKETING:
        # Serialise marketing sends per customer, so two at once cannot both slip under the cap.
        Customer.objects.select_for_update().filter(pk=customer.pk).first()
        over = _over_cap(customer)
        if over:
            return Verdict(MessageStatus.BLOCKED, "frequency_cap", over)
    return verdict


def _announce(actor: Actor, message: OutboundMessage) -> None:
    record_audit(
        actor,
        f"message.{message.status}",
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
    if message.status == MessageStatus.BLOCKED:
        publish(
            MessageBlocked(
                message_id=message.public_id,
                customer_id=message.customer.public_id,
                channel=message.channel,
                purpose=message.purpose,
                reason_code=message.reason_code,
                reason=message.reason,
            )
        )
        return
    publish(
        MessageQueued(
            message_id=message.public_id,
            customer_id=message.customer.public_id,
            channel=message.channel,
            purpose=message.purpose,
            scheduled_for=message.next_attempt_at.isoformat() if message.next_attempt_at else "",
        )
    )
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
    replay = _replayed(scope, request)
    if replay is not None:
        return replay
    _check_request(request)
    customer = _customer(request.customer_id)
    thread, reply = _reply_context(customer, request.thread_id, request.channel)
    address = chosen_address(
        customer, request.channel, request.to or _thread_address(customer, thread, request.channel)
    )
    rendered, version, purpose = _content(actor, customer, request)
    verdict = _verdict(customer, request.channel, address, purpose, request)
    message = OutboundMessage(
        customer=customer,
        channel=request.channel,
        purpose=purpose,
        to_address=address,
        template_version=version,
        subject=(rendered.subject or str(reply.get("subject", "")))[:300],
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
        reply_context=reply,
        respect_quiet_hours=purpose == Purpose.MARKETING or request.quiet_hours,
        automated=request.automated,
        created_by=actor.user,
        created_by_label=actor.label[:200],
    )
    if not request.idempotency_key:
        message.save()  # nothing unique to collide on: no savepoint needed
    else:
        try:
            with transaction.atomic():
                message.save()
        except IntegrityError:
            replay = _replayed(scope, request)  # a concurrent call with the same key stored it first
            if replay is None:
                raise
            return replay
    DeliveryEvent.objects.create(
        message=message, state=verdict.status, occurred_at=clock.now(), detail=verdict.reason[:500]
    )
    _announce(actor, message)
    return message
