"""The inbound pipeline every channel shares: keep → parse → resolve → thread → record → publish.

The raw payload is stored in its own transaction before anything else, so a parser bug, a bad payload
or a crash later on never loses a message: it stays as `received` or `quarantined` with the reason,
and an admin can look at the raw bytes, reprocess it after a fix, or discard it.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage, default_storage
from django.db import connection, models, transaction

from cxloop.channels import registry
from cxloop.channels.base import AttachmentInput, ParsedInbound, ParsedPayload, PayloadRejected, RawPayload
from cxloop.channels.events import AddressBounced, DeliveryStatusReported, InboundQuarantined, InboundReceived
from cxloop.channels.models import Attachment, InboundMessage, InboundStatus
from cxloop.core import clock
from cxloop.core.actor import Actor
from cxloop.core.bulk import insert_rows, new_object, update_rows
from cxloop.core.errors import CxloopError, ValidationError
from cxloop.core.ids import new_public_id
from cxloop.core.permissions import Perm
from cxloop.customers import queries as customer_queries
from cxloop.customers import services as customer_services
from cxloop.customers.models import Customer
from cxloop.customers.normalization import canonicalize
from cxloop.customers.types import IdentityInput
from cxloop.events.bus import publish
from cxloop.interactions import conversations
from cxloop.interactions.models import Interaction, Thread
from cxloop.interactions.services import record_interaction
from cxloop.privacy.services import record_audit

logger = logging.getLogger(__name__)

# The carriers' reserved words (Twilio, CTIA): a message that is only one of them changes consent.
OPT_OUT_WORDS = frozenset({"STOP", "STOPALL", "STOP ALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "OPTOUT"})
OPT_IN_WORDS = frozenset({"START", "UNSTOP", "SUBSCRIBE"})
_KEYWORD_CHANNELS = frozenset({"sms", "whatsapp"})


def _raw_path(channel: str, public_id: str, at: datetime) -> str:
    return f"inbound/{channel}/{at:%Y/%m/%d}/{public_id}.raw"


def keep_raw(raw: RawPayload, *, status: str = InboundStatus.RECEIVED) -> InboundMessage:
    """Store the bytes and their record first, committed on their own, before any parsing.

    `status` QUEUED: the message is acknowledged now and processed later, in a batch, by the worker
    (channels.batch.process_received); RECEIVED: the caller processes it at once (receive).
    """
    inbound = _kept(raw, status)
    try:
        _insert_inbound(inbound)
    except BaseException:
        _remove_quietly(inbound.raw_path)  # no record points at it: the caller was told, nothing was kept
        raise
    return inbound


def keep_raw_many(raws: Sequence[RawPayload], *, status: str = InboundStatus.QUEUED) -> list[InboundMessage]:
    """keep_raw for payloads that arrived together: each file written, then all their records in one transaction.

    The SMTP server keeps what its sessions delivered while the previous group was being committed this way
    (group commit): one commit per group, and no session waiting on another's write lock, instead of a commit
    and a lock per message. All or nothing: when the records cannot be written, the files just written are
    removed again and the error is raised, so the caller can keep each payload on its own.
    """
    kept = [_kept(raw, status) for raw in raws]
    try:
        with transaction.atomic():
            insert_rows(kept)
    except BaseException:
        for inbound in kept:
            _remove_quietly(inbound.raw_path)
        raise
    return kept


def _kept(raw: RawPayload, status: str) -> InboundMessage:
    """The raw file written and the (unsaved) record that points at it."""
    at = raw.received_at or clock.now()
    public_id = new_public_id(InboundMessage.PUBLIC_ID_PREFIX)
    path = _save_raw(_raw_path(raw.channel, public_id, at), raw.data)
    now = clock.now()
    return new_object(
        InboundMessage,
        public_id=public_id,
        created_at=now,
        updated_at=now,
        channel=raw.channel[:16],
        source=raw.source[:100],
        received_at=at,
        content_type=raw.content_type[:100],
        raw_path=path,
        size=len(raw.data),
        sha256=hashlib.sha256(raw.data).hexdigest(),
        meta=raw.meta,
        status=status,
    )


def _remove_quietly(path: str) -> None:
    try:
        default_storage.delete(path)
    except Exception:  # the record was not written: an orphan file loses nothing
        logger.warning("could not remove %s after its record failed", path, exc_info=True)


# Directories of the raw files known to exist (one per channel and day): no makedirs call per message.
_RAW_DIRS: set[str] = set()


def _save_raw(name: str, data: bytes) -> str:
    """default_storage.save(name, data) for a name that is unique already (it holds a new public id).

    On the file system the file is created directly with O_EXCL: Storage.save checks and rewrites the name,
    looks for a free one and creates directories on every call, which cost more than writing a small message.
    Any other storage (object storage), or a name taken after all, goes through Storage.save.
    """
    if not isinstance(default_storage, FileSystemStorage):
        return str(default_storage.save(name, ContentFile(data)))
    full = default_storage.path(name)
    folder = os.path.dirname(full)
    if folder not in _RAW_DIRS:
        os.makedirs(folder, exist_ok=True)
        _RAW_DIRS.add(folder)
    try:
        handle = os.open(full, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    except FileExistsError:
        return str(default_storage.save(name, ContentFile(data)))
    try:
        view = memoryview(data)
        while view:  # os.write may write less than it was given
            view = view[os.write(handle, view) :]
    finally:
        os.close(handle)
    if default_storage.file_permissions_mode is not None:
        os.chmod(full, default_storage.file_permissions_mode)
    return name


def _insert_inbound(inbound: InboundMessage) -> None:
    """InboundMessage.objects.create() for an object made by new_object: the same INSERT … RETURNING, written
    once from the model's metadata instead of compiled per message (the compiler cost more than the insert).
    A single statement: it commits at once, or with the caller's transaction if any."""
    sql, fields = _insert_inbound_sql(connection.vendor)
    values = []
    for field in fields:
        value = getattr(inbound, field.attname)
        if isinstance(field, models.DateTimeField):
            value = connection.ops.adapt_datetimefield_value(value)
        elif isinstance(field, models.JSONField):
            value = connection.ops.adapt_json_value(value, field.encoder)
        values.append(value)
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
        (inbound.pk,) = cursor.fetchone()
    inbound._state.adding, inbound._state.db = False, connection.alias


@functools.cache
def _insert_inbound_sql(vendor: str) -> tuple[str, list[models.Field[Any, Any]]]:
    quote, meta = connection.ops.quote_name, InboundMessage._meta
    fields = [f for f in meta.concrete_fields if not f.primary_key]
    pk = meta.pk
    assert pk is not None
    columns = ", ".join(quote(str(f.column)) for f in fields)
    # Only identifiers from the model's own metadata go into the text; every value is a parameter.
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES ({', '.join(['%s'] * len(fields))})"  # noqa: S608
        f" RETURNING {quote(str(pk.column))}"
    )
    return sql, fields


def read_raw(inbound: InboundMessage) -> bytes:
    with default_storage.open(inbound.raw_path, "rb") as handle:
        data: bytes = handle.read()
    return data


def _payload_of(inbound: InboundMessage, data: bytes) -> RawPayload:
    return RawPayload(
        channel=inbound.channel,
        data=data,
        content_type=inbound.content_type,
        source=inbound.source,
        received_at=inbound.received_at,
        meta=inbound.meta,
    )


def receive(raw: RawPayload) -> InboundMessage:
    """Take one payload from a channel's transport (SMTP, IMAP, webhook, upload) all the way in."""
    inbound = keep_raw(raw)
    return process_inbound(inbound, raw.data)


def process_inbound(inbound: InboundMessage, data: bytes | None = None, *, claimed: bool = False) -> InboundMessage:
    """Parse and record a kept payload; on any failure it ends quarantined with the reason, never lost.

    `claimed`: the attempt was already counted when the worker claimed the row (channels.batch).
    """
    payload = _payload_of(inbound, read_raw(inbound) if data is None else data)
    if not claimed:
        inbound.attempts += 1
    parsed = parse_kept(inbound, payload)
    if isinstance(parsed, str):
        return quarantine(inbound, parsed)
    return record_parsed(inbound, parsed)


def parse_kept(inbound: InboundMessage, payload: RawPayload) -> ParsedPayload | str:
    """The channel adapter's reading of a kept payload, or the reason to quarantine it."""
    try:
        return registry.adapter_for(inbound.channel).parse(payload)
    except PayloadRejected as exc:
        return exc.reason
    except CxloopError as exc:
        return exc.message
    except Exception as exc:
        logger.exception("the %s parser failed on %s", inbound.channel, inbound.public_id)
        return f"The parser failed ({type(exc).__name__}: {exc})."


def failure_reason(exc: CxloopError) -> str:
    """What a quarantined message says about the business error that stopped it."""
    if isinstance(exc, ValidationError):
        details = "; ".join(f"{field}: {reason}" for field, reason in exc.fields.items())
        return f"{exc.message} {details}".strip()
    return exc.message


def record_parsed(inbound: InboundMessage, parsed: ParsedPayload) -> InboundMessage:
    """Resolve, thread and record what a payload carried (one transaction); quarantined on any failure."""
    try:
        return _record(inbound, parsed)
    except CxloopError as exc:
        return quarantine(inbound, failure_reason(exc))
    except Exception as exc:
        logger.exception("recording inbound %s failed", inbound.public_id)
        return quarantine(inbound, f"Recording failed ({type(exc).__name__}: {exc}).")


def quarantine(inbound: InboundMessage, reason: str) -> InboundMessage:
    inbound.status = InboundStatus.QUARANTINED
    inbound.reason = reason[:2000]
    inbound.processed_at = clock.now()
    with transaction.atomic():
        inbound.save(update_fields=["status", "reason", "attempts", "processed_at", "updated_at"])
        publish(InboundQuarantined(inbound_id=inbound.public_id, channel=inbound.channel, reason=inbound.reason))
    logger.warning("quarantined %s (%s): %s", inbound.public_id, inbound.channel, inbound.reason)
    return inbound


@dataclass
class _Recorded:
    interaction_ref: str
    customer_ref: str
    duplicate: bool = False


@transaction.atomic
def _record(inbound: InboundMessage, parsed: ParsedPayload) -> InboundMessage:
    actor = Actor.system(f"channel:{inbound.channel}")
    recorded = [_record_item(actor, inbound, item) for item in parsed.messages]
    for status in parsed.statuses:
        publish(
            DeliveryStatusReported(
                channel=status.channel,
                provider_message_id=status.provider_message_id,
                state=status.state,
                occurred_at=(status.occurred_at or inbound.received_at).isoformat(),
                error_code=status.error_code,
                error_message=status.error_message,
            )
        )
    fresh = [r for r in recorded if not r.duplicate]
    inbound.status = InboundStatus.DUPLICATE if recorded and not fresh else InboundStatus.PROCESSED
    inbound.interaction_refs = [r.interaction_ref for r in recorded if r.interaction_ref]
    inbound.customer_ref = next((r.customer_ref for r in recorded if r.customer_ref), "")
    inbound.processed_at = clock.now()
    inbound.reason = ""
    update_rows([inbound], PROCESSED_FIELDS)  # save(update_fields=…) without compiling the UPDATE each time
    return inbound


# What processing changes on the kept record (the rest was written by keep_raw and stays as it is).
PROCESSED_FIELDS = ["status", "interaction_refs", "customer_ref", "processed_at", "reason", "attempts", "updated_at"]


def _existing(channel: str, external_id: str) -> tuple[str, str] | None:
    """(interaction, customer) public ids of the message already recorded under this id, if any.

    Written out rather than built with the ORM: every message asks it, and compiling the query cost ten times
    what running it does (0.2 ms against 15 µs). It is the query the ORM would send for
    `Interaction.objects.filter(channel=, external_id=, direction="inbound").values_list(…).first()`.
    """
    if not external_id:
        return None
    with connection.cursor() as cursor:
        cursor.execute(_existing_sql(connection.vendor), [channel, external_id[:255], "inbound"])
        row = cursor.fetchone()
    return (str(row[0]), str(row[1])) if row else None


@functools.cache
def _existing_sql(vendor: str) -> str:
    quote, interaction, customer = connection.ops.quote_name, Interaction._meta, Customer._meta
    i, c = quote(interaction.db_table), quote(customer.db_table)
    column = {f.name: quote(str(f.column)) for f in interaction.concrete_fields}
    # Only identifiers from the models' own metadata go into the text; every value is a parameter.
    return (
        f"SELECT {i}.{column['public_id']}, {c}.{quote('public_id')} FROM {i}"  # noqa: S608
        f" INNER JOIN {c} ON ({i}.{column['customer']} = {c}.{quote(str(customer.pk.column))})"
        f" WHERE {i}.{column['channel']} = %s AND {i}.{column['external_id']} = %s AND {i}.{column['direction']} = %s"
        f" ORDER BY {i}.{quote(str(interaction.pk.column))} ASC LIMIT 1"
    )


def _record_item(actor: Actor, inbound: InboundMessage, item: ParsedInbound) -> _Recorded:
    data = item.interaction
    duplicate = _existing(data.channel, data.external_id)
    if duplicate is not None:
        return _Recorded(*duplicate, duplicate=True)
    if item.kind == "bounce":
        return _record_bounce(actor, inbound, item)
    resolution = customer_services.resolve_customer(
        actor, item.identities, name=item.name, country=item.country, source=data.channel
    )
    customer = resolution.customer
    occurred_at = data.occurred_at or inbound.received_at
    thread = _thread_for(customer, item, occurred_at)
    address = _address_of(item.identities, customer.country)
    # The address it came from: a reply in this conversation goes back to it (messaging reads it).
    metadata = {**data.metadata, "inbound": inbound.public_id, "kind": item.kind, "address": address}
    interaction = record_interaction(
        actor, customer, replace(data, metadata=metadata, raw_ref=inbound.public_id), thread=thread
    )
    _store_attachments(inbound, interaction, item.attachments)
    publish(
        InboundReceived(
            inbound_id=inbound.public_id,
            interaction_id=interaction.public_id,
            customer_id=customer.public_id,
            thread_id=thread.public_id,
            channel=data.channel,
            kind=item.kind,
            address=address,
            keyword=keyword_of(data.channel, data.body),
        )
    )
    return _Recorded(interaction.public_id, customer.public_id)


def _thread_for(customer: Customer, item: ParsedInbound, at: datetime) -> Thread:
    hint, data = item.thread, item.interaction
    thread = conversations.find_thread(
        customer,
        data.channel,
        reply_to_ids=hint.reply_to_ids,
        conversation_key=hint.conversation_key,
        normalized_subject=hint.subject,
        at=at,
    )
    if thread is None:
        thread = conversations.open_thread(
            customer,
            data.channel,
            subject=data.subject or data.summary or data.body[:120],
            normalized_subject=hint.subject,
            external_ref=hint.conversation_key or data.external_id or new_public_id("conv"),
            at=at,
            inbound=data.direction == "inbound",
        )
    return thread


def stored_attachments(
    inbound: InboundMessage, interaction: Interaction, files: list[AttachmentInput]
) -> list[Attachment]:
    """Each file in storage (an oversized one by name and size only) and its unsaved row: one definition for the
    single path, which inserts them at once, and the batch path, which inserts a whole batch's together."""
    rows = []
    for index, file in enumerate(files):
        path = ""
        if not file.oversized:
            name = f"attachments/{interaction.public_id}/{index}-{file.filename or 'attachment'}"
            path = default_storage.save(name[:250], ContentFile(file.content))
        rows.append(
            new_object(
                Attachment,
                public_id=new_public_id(Attachment.PUBLIC_ID_PREFIX),
                interaction=interaction,
                inbound=inbound,
                filename=file.filename[:255],
                content_type=file.content_type[:100],
                detected_type=file.detected_type[:100],
                size=file.size,
                storage_path=path,
                sha256=hashlib.sha256(file.content).hexdigest() if path else "",
                content_id=file.content_id[:255],
                inline=file.inline,
                oversized=file.oversized,
            )
        )
    return rows


def _store_attachments(inbound: InboundMessage, interaction: Interaction, files: list[AttachmentInput]) -> None:
    if files:
        insert_rows(stored_attachments(inbound, interaction, files))


def _address_of(identities: list[IdentityInput], country: str) -> str:
    """The canonical address the item came from: the one a reply or an opt-out applies to."""
    for identity in identities:
        try:
            return canonicalize(
                identity.kind,
                identity.value,
                network=identity.network,
                region=identity.region,
                customer_country=country,
            ).value
        except ValidationError:
            continue
    return ""


def keyword_of(channel: str, text: str) -> str:
    """ "opt_out" / "opt_in" when a text message is nothing but a carrier keyword (any case, any punctuation)."""
    if channel not in _KEYWORD_CHANNELS:
        return ""
    word = " ".join("".join(ch for ch in text.upper() if ch.isalnum() or ch.isspace()).split())
    if word in OPT_OUT_WORDS:
        return "opt_out"
    if word in OPT_IN_WORDS:
        return "opt_in"
    return ""


def _bounced_customer(addresses: tuple[str, ...]) -> Customer | None:
    actor = Actor.system("channel:email")
    for address in addresses:
        try:
            return customer_queries.lookup_customer(actor, email=address)
        except CxloopError:
            continue
    return None


def _record_bounce(actor: Actor, inbound: InboundMessage, item: ParsedInbound) -> _Recorded:
    """A bounce speaks about the customer it failed to reach, not about the mailer daemon that sent it."""
    bounce = item.bounce
    addresses = bounce.addresses if bounce else ()
    publish(
        AddressBounced(
            inbound_id=inbound.public_id,
            channel=item.interaction.channel,
            addresses=addresses,
            permanent=bool(bounce and bounce.permanent),
            reason=bounce.reason if bounce else "",
            original_message_id=bounce.original_message_id if bounce else "",
        )
    )
    customer = _bounced_customer(addresses)
    if customer is None:
        return _Recorded("", "")
    data = item.interaction
    occurred_at = data.occurred_at or inbound.received_at
    reply_ids = (bounce.original_message_id,) if bounce and bounce.original_message_id else ()
    thread = conversations.find_thread(customer, data.channel, reply_to_ids=reply_ids, at=occurred_at)
    metadata = {**data.metadata, "inbound": inbound.public_id, "kind": "bounce", "addresses": list(addresses)}
    interaction = record_interaction(
        actor, customer, replace(data, metadata=metadata, raw_ref=inbound.public_id), thread=thread
    )
    return _Recorded(interaction.public_id, customer.public_id)


# --- quarantine review -------------------------------------------------------------------------
def reprocess(actor: Actor, inbound: InboundMessage) -> InboundMessage:
    """Run a kept payload through its parser again (after a fix, or after a missing setting was added)."""
    actor.require(Perm.CHANNELS_MANAGE)
    if inbound.status in (InboundStatus.PROCESSED, InboundStatus.DUPLICATE):
        raise ValidationError("This message was already processed.", fields={"status": inbound.status})
    if inbound.status == InboundStatus.QUEUED:
        # The worker may be processing it right now; reprocessing beside it could record it twice.
        raise ValidationError("This message is waiting for the worker.", fields={"status": inbound.status})
    before = inbound.status
    result = process_inbound(inbound)
    record_audit(
        actor,
        "inbound.reprocessed",
        object_type="inbound",
        object_id=inbound.public_id,
        summary=f"{before} → {result.status}",
        before={"status": before},
        after={"status": result.status, "reason": result.reason},
    )
    return result


@transaction.atomic
def discard(actor: Actor, inbound: InboundMessage, *, note: str = "") -> InboundMessage:
    """Mark a quarantined payload as seen and not worth keeping on a timeline; the bytes stay for audit."""
    actor.require(Perm.CHANNELS_MANAGE)
    if inbound.status != InboundStatus.QUARANTINED:
        raise ValidationError("Only quarantined messages can be discarded.", fields={"status": inbound.status})
    inbound.status = InboundStatus.DISCARDED
    inbound.save(update_fields=["status", "updated_at"])
    record_audit(
        actor,
        "inbound.discarded",
        object_type="inbound",
        object_id=inbound.public_id,
        summary=note[:200] or "discarded",
        before={"status": InboundStatus.QUARANTINED},
        after={"status": InboundStatus.DISCARDED, "note": note[:500]},
    )
    return inbound
