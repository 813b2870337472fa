"""The web chat's operations: start a session, take the visitor's lines, learn who they are, add agent lines.

A visitor's line is stored on the session first (so their widget shows it at once) and then handed to the
channel pipeline (`channels.services.receive`), which keeps the raw payload, resolves the anonymous
identity to a customer and records the interaction in the session's thread: the thread is the transcript.
`post_visitor_message` is therefore not one transaction: the pipeline commits the raw payload on its own,
so that nothing is lost if a later step fails.

Visitors are not staff: their actions are not audit entries (the timeline and the kept raw payloads are
their record); what changes a customer profile (identities) is audited by identity resolution itself.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core import signing
from django.db import IntegrityError, transaction

from cxloop.channels import services as channel_services
from cxloop.channels.base import RawPayload, SendFailed
from cxloop.channels.models import InboundMessage
from cxloop.channels.webchat.adapter import CHANNEL, ChatLine, encode_line
from cxloop.channels.webchat.events import ChatMessageAdded, ChatStarted, ChatVisitorIdentified
from cxloop.channels.webchat.models import ChatMessage, ChatSession, Direction, SessionStatus
from cxloop.core import clock
from cxloop.core.actor import Actor
from cxloop.core.errors import ConflictError, NotFoundError, PermissionDeniedError, ValidationError
from cxloop.core.ids import new_public_id
from cxloop.customers import services as customer_services
from cxloop.customers.normalization import normalize_email, normalize_phone
from cxloop.customers.types import IdentityInput
from cxloop.events.bus import publish
from cxloop.interactions import queries as interaction_queries

_STREAM_SALT = "cxloop.webchat.stream"
MAX_NAME = 200


def _actor() -> Actor:
    return Actor.system(f"channel:{CHANNEL}")


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def stream_key(session: ChatSession) -> str:
    """A read-only key for the event stream: EventSource cannot send headers, so this one goes in the URL
    (and into access logs) instead of the token, which could also post as the visitor."""
    return signing.Signer(salt=_STREAM_SALT).signature(session.public_id)


@dataclass(frozen=True)
class StartedSession:
    session: ChatSession
    token: str


@transaction.atomic
def start_session(*, origin: str = "", user_agent: str = "") -> StartedSession:
    """A new conversation; the token is returned once and only its hash is kept."""
    token = secrets.token_urlsafe(32)
    session = ChatSession.objects.create(
        token_hash=hash_token(token),
        anonymous_id=new_public_id("anon"),
        last_seen_at=clock.now(),
        origin=origin[:200],
        user_agent=user_agent[:300],
    )
    publish(ChatStarted(session_id=session.public_id, origin=session.origin))
    return StartedSession(session=session, token=token)


def find_session(public_id: str) -> ChatSession:
    session = ChatSession.objects.filter(public_id=public_id[:32]).select_related("customer").first()
    if session is None:
        raise NotFoundError("No such chat session.")
    return session


def authenticate(public_id: str, *, token: str = "", key: str = "") -> ChatSession:
    """The session, when `token` (read and write) or `key` (the stream only) belongs to it; 403 otherwise."""
    session = find_session(public_id)
    if token and hmac.compare_digest(session.token_hash, hash_token(token)):
        return session
    if key and hmac.compare_digest(stream_key(session), key):
        return session
    raise PermissionDeniedError("The chat token does not belong to this session.", code="invalid_token")


def touch(session: ChatSession) -> None:
    """Remember the visitor was here, at most once a minute (polls must not each cost a write)."""
    now = clock.now()
    if (now - session.last_seen_at).total_seconds() >= 60:
        ChatSession.objects.filter(pk=session.pk).update(last_seen_at=now)
        session.last_seen_at = now


# --- appending lines -------------------------------------------------------------------------------
def _append(session: ChatSession, direction: str, text: str, **refs: str) -> ChatMessage:
    """Number and store one line; the session row lock makes concurrent appends take consecutive numbers."""
    now = clock.now()
    with transaction.atomic():
        locked = ChatSession.objects.select_for_update().get(pk=session.pk)
        seq = locked.last_seq + 1
        changes: dict[str, Any] = {"last_seq": seq}
        if direction == Direction.VISITOR:
            changes["last_seen_at"] = now
        ChatSession.objects.filter(pk=session.pk).update(**changes)
        message = ChatMessage.objects.create(
            session=locked,
            seq=seq,
            direction=direction,
            text=text,
            created_at=now,
            thread_ref=locked.thread_ref,
            **refs,
        )
        publish(
            ChatMessageAdded(session_id=locked.public_id, seq=seq, direction=direction, thread_id=locked.thread_ref)
        )
    session.last_seq = seq
    return message


def clean_text(text: object, *, field: str = "text") -> str:
    if not isinstance(text, str):
        raise ValidationError("The message must be text.", fields={field: "must be a string"})
    cleaned = text.replace("\r\n", "\n").strip()
    if not cleaned:
        raise ValidationError("The message is empty.", fields={field: "must not be empty"})
    limit = int(settings.CXLOOP_CHAT_MAX_MESSAGE_CHARS)
    if len(cleaned) > limit:
        raise ValidationError(
            f"The message is longer than {limit} characters.", fields={field: f"must be at most {limit} characters"}
        )
    return cleaned


def _by_client_ref(session: ChatSession, client_ref: str) -> ChatMessage | None:
    if not client_ref:
        return None
    return ChatMessage.objects.filter(session=session, client_ref=client_ref).first()


def post_visitor_message(session: ChatSession, text: object, *, client_ref: str = "") -> ChatMessage:
    """The visitor said something: on the session at once, then through the channel pipeline onto the timeline.

    A retried send with the same `client_ref` returns the first message instead of adding it again.
    """
    cleaned = clean_text(text)
    client_ref = client_ref[:64]
    if session.status == SessionStatus.CLOSED:
        raise ConflictError("This chat has ended; start a new one.", code="chat_closed")
    earlier = _by_client_ref(session, client_ref)
    if earlier is not None:
        return earlier
    try:
        message = _append(session, Direction.VISITOR, cleaned, client_ref=client_ref)
    except IntegrityError:
        earlier = _by_client_ref(session, client_ref)  # the same retry, a moment earlier on another thread
        if earlier is None:
            raise
        return earlier
    line = ChatLine(
        session=session.public_id,
        anonymous_id=session.anonymous_id,
        seq=message.seq,
        text=cleaned,
        sent_at=message.created_at,
        origin=session.origin,
    )
    inbound = channel_services.receive(
        RawPayload(
            channel=CHANNEL,
            data=encode_line(line),
            content_type="application/json",
            source="webchat",
            received_at=message.created_at,
            meta={"session": session.public_id, "seq": message.seq, "origin": session.origin},
        )
    )
    _note_recorded(session, message, inbound)
    return message


@transaction.atomic
def _note_recorded(session: ChatSession, message: ChatMessage, inbound: InboundMessage) -> None:
    """Link the line to its interaction and the session to the customer and thread the pipeline chose."""
    if not inbound.interaction_refs:
        return  # quarantined: an admin sees it with the reason; the visitor's widget still shows the line
    interaction = interaction_queries.get_interaction(_actor(), inbound.interaction_refs[0])
    thread_ref = interaction.thread.public_id if interaction.thread else ""
    message.interaction_ref, message.thread_ref = interaction.public_id, thread_ref
    message.save(update_fields=["interaction_ref", "thread_ref"])
    session.customer_id, session.thread_ref = interaction.customer_id, thread_ref
    session.save(update_fields=["customer", "thread_ref", "updated_at"])


def _session_for_address(to: str) -> ChatSession:
    lookup = {"public_id": to} if to.startswith(f"{ChatSession.PUBLIC_ID_PREFIX}_") else {"anonymous_id": to}
    session = ChatSession.objects.filter(**lookup).first()
    if session is None:
        raise SendFailed(f"No chat session for {to!r}.", permanent=True, code="no_session")
    return session


def append_agent_message(to: str, text: str, *, outbound_ref: str = "") -> ChatMessage:
    """Deliver an agent's message (called by the chat sender only, i.e. by the distribution service).

    `outbound_ref` (messaging's message id) makes a retried delivery return the line already added.
    """
    session = _session_for_address(to.strip())
    if not text.strip():
        raise SendFailed("An empty chat message cannot be sent.", permanent=True, code="empty")
    outbound_ref = outbound_ref[:32]
    earlier = ChatMessage.objects.filter(session=session, outbound_ref=outbound_ref).first() if outbound_ref else None
    if earlier is not None:
        return earlier
    try:
        return _append(session, Direction.AGENT, text.strip(), outbound_ref=outbound_ref)
    except IntegrityError:
        earlier = ChatMessage.objects.filter(session=session, outbound_ref=outbound_ref).first()
        if earlier is None or not outbound_ref:
            raise
        return earlier


# --- identifying the visitor -----------------------------------------------------------------------
@dataclass(frozen=True)
class Contact:
    name: str = ""
    email: str = ""
    phone: str = ""


def clean_contact(data: dict[str, object]) -> Contact:
    """Every field checked at once, so the widget can mark each wrong field with its own reason."""
    fields: dict[str, str] = {}
    values = {key: data.get(key, "") for key in ("name", "email", "phone")}
    for key, value in values.items():
        if value is None:
            values[key] = ""
        elif not isinstance(value, str):
            fields[key] = "must be a string"
    if fields:
        raise ValidationError("Some details are not valid.", fields=fields)
    name, email, phone = (" ".join(str(values[k]).split()) for k in ("name", "email", "phone"))
    if len(name) > MAX_NAME:
        fields["name"] = f"must be at most {MAX_NAME} characters"
    if not email and not phone:
        fields["email"] = "give an email address or a phone number"
    if email:
        try:
            email = normalize_email(email, field="email")[0]
        except ValidationError as exc:
            fields.update(exc.fields or {"email": exc.message})
    if phone:
        try:
            phone = normalize_phone(phone, region=str(settings.CXLOOP_DEFAULT_REGION), field="phone")
        except ValidationError as exc:
            fields.update(exc.fields or {"phone": exc.message})
    if fields:
        raise ValidationError("Some details are not valid.", fields=fields)
    return Contact(name=name, email=email, phone=phone)


def _confirmation(contact: Contact) -> str:
    how = "by email" if contact.email else "by text message"
    greeting = f"Thank you, {contact.name}." if contact.name else "Thank you."
    return f"{greeting} If we miss you here, we will reply {how}."


def identify(session: ChatSession, data: dict[str, object]) -> ChatMessage:
    """The visitor gave an email or phone: resolve again with it beside their anonymous identity.

    The anonymous profile is made first (if their first act is this form), so a typed address that already
    belongs to a customer never attaches the visitor to that customer silently: identity resolution sees two
    profiles and records a merge suggestion for staff (a typed address is not verified, so it never merges
    on its own). A new address is simply added to the visitor's profile. The answer is the same either
    way, so the form cannot be used to find out whether an address is known.
    """
    contact = clean_contact(data)
    if session.status == SessionStatus.CLOSED:
        raise ConflictError("This chat has ended; start a new one.", code="chat_closed")
    actor = _actor()
    anonymous = IdentityInput(kind="anonymous", value=session.anonymous_id, source=CHANNEL)
    given = [IdentityInput(kind="email", value=contact.email, source=CHANNEL)] if contact.email else []
    if contact.phone:
        given.append(IdentityInput(kind="phone", value=contact.phone, source=CHANNEL))
    with transaction.atomic():
        visitor = customer_services.resolve_customer(actor, [anonymous], name=contact.name, source=CHANNEL).customer
        together = customer_services.resolve_customer(actor, [anonymous, *given], name=contact.name, source=CHANNEL)
        session.customer, session.identified_at = visitor, clock.now()
        session.save(update_fields=["customer", "identified_at", "updated_at"])
        publish(
            ChatVisitorIdentified(
                session_id=session.public_id,
                customer_id=visitor.public_id,
                kinds=tuple(identity.kind for identity in given),
                merge_suggested=bool(together.suggestions),
            )
        )
        return _append(session, Direction.SYSTEM, _confirmation(contact))


@transaction.atomic
def close_session(session: ChatSession) -> ChatSession:
    """The visitor ended the chat: the widget starts a new one next time; agents' messages still arrive."""
    if session.status != SessionStatus.CLOSED:
        session.status = SessionStatus.CLOSED
        session.save(update_fields=["status", "updated_at"])
    return session


# --- merge support (registered in apps.py) ---------------------------------------------------
def move_customer_sessions(from_customer_id: int, to_customer_id: int) -> list[int]:
    ids = list(ChatSession.objects.filter(customer_id=from_customer_id).values_list("pk", flat=True))
    ChatSession.objects.filter(pk__in=ids).update(customer_id=to_customer_id)
    return ids


def restore_customer_sessions(ids: list[int], to_customer_id: int) -> None:
    ChatSession.objects.filter(pk__in=ids).update(customer_id=to_customer_id)


def export_customer_sessions(customer_id: int) -> list[dict[str, object]]:
    """Chat sessions with every line, for a personal-data export."""
    sessions = ChatSession.objects.filter(customer_id=customer_id).prefetch_related("messages").order_by("id")
    return [
        {
            "id": session.public_id,
            "started_at": session.created_at.isoformat(),
            "origin": session.origin,
            "user_agent": session.user_agent,
            "messages": [
                {"seq": m.seq, "direction": m.direction, "text": m.text, "at": m.created_at.isoformat()}
                for m in sorted(session.messages.all(), key=lambda m: m.seq)
            ],
        }
        for session in sessions
    ]
