"""Kept inbound messages processed in batches by the worker (CXLOOP_SMTP_PROCESSING = "queued").

The SMTP server answers 250 once the raw message and its record are stored (`services.keep_raw` with status
QUEUED): that is the durable step, so nothing acknowledged is ever lost. The worker then claims queued rows
and processes them here with the outcome `services.process_inbound` would give each, in order, but with
set-based reads and bulk writes: parsing per message (a failure quarantines that one with its reason), the
duplicate check by Message-ID in one query (and against the messages before it in the batch), customers
through `customers.services.resolve_batch`, threading as `interactions.conversations.find_thread` /
`open_thread` do, in two reads for the whole batch, then the interactions, threads, audit entries,
attachments, events and the inbound records written in bulk. Bounces, delivery reports, other channels and
an item that may merge two customers go the single way (`services.record_parsed`) at their place in the
order. When a run fails with an unexpected error it is rolled back and its messages are processed one by one
through `process_inbound`, so one bad message is quarantined alone.

Claiming: a conditional UPDATE that counts the attempt and stamps `updated_at`, committed before the work
(with SKIP LOCKED on PostgreSQL), so two workers never take the same row. A worker killed mid-batch leaves
its rows queued; they are claimed again once CLAIM_TIMEOUT has passed (the periodic sweep), and a message
whose processing was interrupted MAX_ATTEMPTS times is quarantined with that reason. A message kept by the
inline path (status RECEIVED) that was never finished (a crash between keeping and recording) is queued by
the sweep after STALE_AFTER.
"""

from __future__ import annotations

import functools
import logging
import time
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, transaction

from cxloop.channels import services
from cxloop.channels.base import ParsedInbound, ParsedPayload
from cxloop.channels.events import InboundReceived
from cxloop.channels.models import Attachment, InboundMessage, InboundStatus
from cxloop.core import clock
from cxloop.core.actor import Actor
from cxloop.core.bulk import collector_paused, insert_groups, insert_rows, new_object, update_rows
from cxloop.core.errors import CxloopError
from cxloop.core.ids import new_public_id
from cxloop.customers import services as customer_services
from cxloop.customers.models import Customer
from cxloop.events.bus import DomainEvent, publish_all
from cxloop.interactions.conversations import SUBJECT_WINDOW
from cxloop.interactions.models import Interaction, Thread, ThreadStatus
from cxloop.interactions.services import build_interaction, clean_interaction, recorded_audit, recorded_event
from cxloop.privacy.services import AuditRecord, record_audits

logger = logging.getLogger(__name__)

BATCH_SIZE = 200  # messages claimed and written together
CLAIM_TIMEOUT = timedelta(minutes=10)  # a claimed row not finished by then is claimed again (its worker died)
STALE_AFTER = timedelta(minutes=10)  # a RECEIVED row this old was never finished inline: the sweep queues it
MAX_ATTEMPTS = 5  # claims of one message before it is quarantined instead of tried again

_THREAD_STATE = ["last_inbound_at", "last_activity_at", "status", "updated_at"]


class _Fallback(Exception):  # noqa: N818 - a signal, not an error
    """Something the batch path does not reproduce exactly: roll the run back and go one by one."""


# --- claiming ---------------------------------------------------------------------------------------------
@functools.cache
def _claim_sql(vendor: str) -> str:
    quote, meta = connection.ops.quote_name, InboundMessage._meta
    table = quote(meta.db_table)
    column = {f.attname: quote(str(f.column)) for f in meta.concrete_fields}
    lock = " FOR UPDATE SKIP LOCKED" if vendor == "postgresql" else ""
    # Only identifiers from the model's own metadata go into the text; every value is a parameter.
    return (
        f"UPDATE {table} SET {column['attempts']} = {column['attempts']} + 1, {column['updated_at']} = %s"  # noqa: S608
        f" WHERE {column['id']} IN (SELECT {column['id']} FROM {table} WHERE {column['status']} = %s"
        f" AND ({column['attempts']} = 0 OR {column['updated_at']} < %s) ORDER BY {column['id']} LIMIT %s{lock})"
        f" RETURNING {column['id']}"
    )


def claim(limit: int = BATCH_SIZE) -> list[InboundMessage]:
    """Take up to `limit` queued messages for this worker, oldest first; committed before any work on them."""
    now = clock.now()
    adapt = connection.ops.adapt_datetimefield_value
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            _claim_sql(connection.vendor), [adapt(now), InboundStatus.QUEUED, adapt(now - CLAIM_TIMEOUT), limit]
        )
        ids = [row[0] for row in cursor.fetchall()]
    if not ids:
        return []
    return list(InboundMessage.objects.filter(pk__in=ids).order_by("pk"))


def queue_stale(now: datetime | None = None) -> int:
    """RECEIVED rows older than STALE_AFTER were never finished inline (a crash after keeping): queue them."""
    cutoff = (now or clock.now()) - STALE_AFTER
    stale = InboundMessage.objects.filter(status=InboundStatus.RECEIVED, updated_at__lt=cutoff)
    return stale.update(status=InboundStatus.QUEUED)


def process_received(limit: int = BATCH_SIZE) -> int:
    """Claim up to `limit` queued messages and process them; returns how many were claimed (0: none waiting)."""
    rows = claim(limit)
    if rows:
        process_claimed(rows)
    return len(rows)


def drain(*, limit: int = BATCH_SIZE, max_seconds: float = 50.0) -> int:
    """process_received until a batch comes back short of `limit` (the queue was empty when it was claimed) or
    `max_seconds` have passed; returns how many were taken. Mail kept meanwhile has woken the worker again, so
    it is taken by the next run, in a fuller batch, instead of a trickle of small ones now."""
    deadline = time.monotonic() + max_seconds
    total = 0
    while time.monotonic() < deadline:
        taken = process_received(limit)
        total += taken
        if taken < limit:
            break
    return total


# --- processing ---------------------------------------------------------------------------------------------
@dataclass(eq=False)  # entries are found by identity (list.index), never compared field by field
class _Entry:
    """One claimed message on the batch way: its record, what it carried, and what the batch made of it."""

    inbound: InboundMessage
    item: ParsedInbound
    data: Any = None  # the InteractionInput to record (metadata and raw_ref added), once checked
    prepared: customer_services.PreparedResolution | None = None
    duplicate_of: tuple[str, str] | _Entry | None = None
    reason: str = ""  # quarantined with this
    interaction: Interaction | None = None
    customer: Customer | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _batchable(inbound: InboundMessage, parsed: ParsedPayload) -> bool:
    if inbound.channel != "email" or parsed.statuses or len(parsed.messages) != 1:
        return False
    item = parsed.messages[0]
    return item.kind != "bounce" and not item.thread.conversation_key and item.interaction.direction == "inbound"


def process_claimed(rows: list[InboundMessage]) -> None:
    """Process claimed rows in order: runs of ordinary e-mail the batch way, anything else the single way."""
    run: list[_Entry] = []
    for inbound in rows:
        if inbound.attempts > MAX_ATTEMPTS:
            _flush(run)
            services.quarantine(inbound, f"Processing was interrupted {inbound.attempts - 1} times; not tried again.")
            continue
        try:
            data = services.read_raw(inbound)
        except Exception:
            # Left queued: claimed again after CLAIM_TIMEOUT, quarantined after MAX_ATTEMPTS; the record stays.
            logger.exception("the raw bytes of %s could not be read", inbound.public_id)
            continue
        payload = services._payload_of(inbound, data)
        parsed = services.parse_kept(inbound, payload)
        if isinstance(parsed, str):
            services.quarantine(inbound, parsed)
        elif _batchable(inbound, parsed):
            run.append(_Entry(inbound, parsed.messages[0]))
        else:
            _flush(run)
            services.record_parsed(inbound, parsed)
    _flush(run)


def _flush(run: list[_Entry]) -> None:
    """Record a run of entries in one transaction; on an unexpected error, one by one instead."""
    if not run:
        return
    entries = list(run)
    run.clear()
    try:
        with collector_paused(), transaction.atomic():
            _record_run(entries)
    except Exception as exc:
        if not isinstance(exc, _Fallback):
            logger.exception("a batch of %d inbound messages failed; processing them one by one", len(entries))
        for entry in entries:
            # The rolled-back run left the objects as they were loaded (status QUEUED, attempts as claimed).
            entry.inbound.status = InboundStatus.QUEUED
            services.process_inbound(entry.inbound, claimed=True)


def _record_run(entries: list[_Entry]) -> None:
    actor = Actor.system("channel:email")
    while entries:
        done = _record_segment(actor, entries)
        entries = entries[done:]
        if entries:  # resolve_batch stopped before an item that may merge customers: the single way, in place
            entry = entries.pop(0)
            services.record_parsed(entry.inbound, ParsedPayload(messages=[entry.item]))


def _existing_many(external_ids: list[str]) -> dict[str, tuple[str, str]]:
    """services._existing for many ids: (interaction, customer) public ids of the first inbound e-mail of each."""
    found: dict[str, tuple[str, str]] = {}
    unique = sorted(set(external_ids))
    for start in range(0, len(unique), 500):
        chunk = unique[start : start + 500]
        rows = (
            Interaction.objects.filter(channel="email", direction="inbound", external_id__in=chunk)
            .order_by("pk")
            .values_list("external_id", "public_id", "customer__public_id")
        )
        for external_id, interaction_id, customer_id in rows:
            found.setdefault(external_id, (interaction_id, customer_id))
    return found


def _record_segment(actor: Actor, entries: list[_Entry]) -> int:
    """Record entries from the start until resolve_batch stops (or all); returns how many were handled."""
    keys = [e.item.interaction.external_id[:255] for e in entries]
    existing = _existing_many([k for k in keys if k])
    first: dict[str, _Entry] = {}  # external id -> the entry of this segment that records it
    fresh: list[_Entry] = []
    for entry, key in zip(entries, keys, strict=True):
        entry.duplicate_of, entry.reason, entry.prepared, entry.data = None, "", None, None
        if key and key in existing:
            entry.duplicate_of = existing[key]
            continue
        if key and key in first:
            entry.duplicate_of = first[key]
            continue
        item, data = entry.item, entry.item.interaction
        try:
            entry.prepared = customer_services.prepare_resolution(
                item.identities, name=item.name, country=item.country, source=data.channel
            )
            # As record_interaction: the address needs the customer's country, added once resolved.
            entry.data = clean_interaction(replace(data, raw_ref=entry.inbound.public_id))
        except CxloopError as exc:
            entry.reason = services.failure_reason(exc)
            continue
        if key:
            first[key] = entry
        fresh.append(entry)
    outcomes = customer_services.resolve_batch(actor, [e.prepared for e in fresh if e.prepared is not None])
    handled = len(entries)
    if len(outcomes) < len(fresh):
        handled = entries.index(fresh[len(outcomes)])
        fresh = fresh[: len(outcomes)]
    entries = entries[:handled]
    failed: set[int] = set()
    for entry, outcome in zip(fresh, outcomes, strict=True):
        if isinstance(outcome, CxloopError):
            entry.reason = services.failure_reason(outcome)
            failed.add(id(entry))
        elif not outcome.customer.is_active:
            raise _Fallback("resolution gave a merged-away customer")
        else:
            entry.customer = outcome.customer
    if failed and any(isinstance(e.duplicate_of, _Entry) and id(e.duplicate_of) in failed for e in entries):
        raise _Fallback("a duplicate of a message that failed")  # it would have been recorded one by one
    recorded = [e for e in fresh if e.customer is not None]
    _write(actor, entries, recorded)
    return handled


def _at(entry: _Entry) -> datetime:
    """When the message counts as sent: the time it reached us (the adapter sets it; record_interaction's rule)."""
    return entry.data.occurred_at or entry.inbound.received_at


def _thread_pool(recorded: list[_Entry]) -> tuple[dict[int, list[Thread]], dict[int, set[str]]]:
    """Every existing thread find_thread could return for these entries, by customer, with the ids of the
    messages they hold among the reply ids asked for: two reads for the whole segment."""
    customer_ids = sorted({e.customer.pk for e in recorded if e.customer is not None})
    reply_ids = sorted({r for e in recorded for r in e.item.thread.reply_to_ids[:50]})
    subjects = sorted({e.item.thread.subject[:300] for e in recorded if e.item.thread.subject})
    threads: dict[int, Thread] = {}
    holds: dict[int, set[str]] = {}
    if reply_ids:
        for start in range(0, len(reply_ids), 500):
            pairs = Interaction.objects.filter(
                thread__customer_id__in=customer_ids, external_id__in=reply_ids[start : start + 500]
            ).values_list("thread_id", "external_id")
            for thread_id, external_id in pairs:
                holds.setdefault(thread_id, set()).add(external_id)
        missing = [pk for pk in holds if pk not in threads]
        threads.update({t.pk: t for t in Thread.objects.filter(pk__in=missing)})
    if subjects:
        since = min(_at(e) for e in recorded) - SUBJECT_WINDOW
        by_subject = Thread.objects.filter(
            customer_id__in=customer_ids, channel="email", normalized_subject__in=subjects, last_activity_at__gte=since
        )
        for thread in by_subject:
            threads.setdefault(thread.pk, thread)
    pool: dict[int, list[Thread]] = {}
    for thread in threads.values():
        pool.setdefault(thread.customer_id, []).append(thread)
    return pool, holds


def _write(actor: Actor, entries: list[_Entry], recorded: list[_Entry]) -> None:
    pool, holds = _thread_pool(recorded)
    order: dict[int, int] = {}  # id(thread) -> its place in ORDER BY id for new threads (after every saved one)
    new_threads: list[Thread] = []
    held_new: dict[int, set[str]] = {}  # id(thread) -> external ids of the messages the batch put in it
    touched: dict[int, Thread] = {}
    interactions: list[Interaction] = []
    events: list[DomainEvent] = []
    audits: list[AuditRecord] = []

    def newest(candidates: list[Thread]) -> Thread | None:
        if not candidates:
            return None
        return max(candidates, key=lambda t: (t.last_activity_at, t.pk if t.pk is not None else order[id(t)]))

    def holding(thread: Thread) -> set[str]:
        return holds.get(thread.pk, set()) if thread.pk is not None else held_new.get(id(thread), set())

    for entry in recorded:
        customer, item, data = entry.customer, entry.item, entry.data
        assert customer is not None
        hint = item.thread
        at = _at(entry)
        mine = pool.setdefault(customer.pk, [])
        thread = None
        if hint.reply_to_ids:
            wanted = set(hint.reply_to_ids[:50])
            thread = newest([t for t in mine if holding(t) & wanted])
        if thread is None and hint.subject:
            subject, since = hint.subject[:300], at - SUBJECT_WINDOW
            thread = newest(
                [
                    t
                    for t in mine
                    if t.channel == data.channel and t.normalized_subject == subject and t.last_activity_at >= since
                ]
            )
        if thread is None:
            thread = new_object(
                Thread,
                public_id=new_public_id(Thread.PUBLIC_ID_PREFIX),
                customer=customer,
                channel=data.channel,
                subject=(data.subject or data.summary or data.body[:120])[:300],
                normalized_subject=hint.subject[:300],
                external_ref=(data.external_id or new_public_id("conv"))[:255],
                last_activity_at=at,
                last_inbound_at=at,
                status=ThreadStatus.OPEN,
            )
            order[id(thread)] = 2**62 + len(new_threads)
            new_threads.append(thread)
            mine.append(thread)
        elif _note_inbound(thread, at, reopen=item.kind == "message"):
            touched[thread.pk] = thread
        address = services._address_of(item.identities, customer.country)
        metadata = {**data.metadata, "inbound": entry.inbound.public_id, "kind": item.kind, "address": address}
        interaction = build_interaction(
            actor,
            customer,
            replace(data, metadata=metadata),
            at,
            thread,
            public_id=new_public_id(Interaction.PUBLIC_ID_PREFIX),
        )
        if data.external_id:
            if thread.pk is not None:
                holds.setdefault(thread.pk, set()).add(data.external_id)
            else:
                held_new.setdefault(id(thread), set()).add(data.external_id)
        entry.interaction = interaction
        interactions.append(interaction)
        audits.append(recorded_audit(interaction))  # record_interaction's entry and event, one definition
        events.append(recorded_event(interaction))
        events.append(
            InboundReceived(
                inbound_id=entry.inbound.public_id,
                interaction_id=interaction.public_id,
                customer_id=customer.public_id,
                thread_id=thread.public_id,
                channel=data.channel,
                kind=item.kind,
                address=address,
                keyword=services.keyword_of(data.channel, data.body),
            )
        )
    insert_groups([new_threads, interactions])  # threads first: interactions of new threads point at them
    update_rows(list(touched.values()), _THREAD_STATE)
    insert_rows(_attachments(recorded))
    record_audits(actor, audits)
    _finish(entries)
    publish_all(events)


def _note_inbound(thread: Thread, at: datetime, *, reopen: bool) -> bool:
    """conversations.note_inbound on the object only (written later in bulk); False when nothing changed."""
    last_inbound = max(thread.last_inbound_at or at, at)
    last_activity = max(thread.last_activity_at, at)
    reopens = reopen and thread.status != ThreadStatus.OPEN
    if last_inbound == thread.last_inbound_at and last_activity == thread.last_activity_at and not reopens:
        return False
    thread.last_inbound_at, thread.last_activity_at = last_inbound, last_activity
    if reopens:
        thread.status = ThreadStatus.OPEN
    return True


def _attachments(recorded: list[_Entry]) -> list[Attachment]:
    """As services._store_attachments: each file in storage, a row for each (the rows inserted together)."""
    rows = []
    for entry in recorded:
        assert entry.interaction is not None
        rows += services.stored_attachments(entry.inbound, entry.interaction, entry.item.attachments)
    return rows


def _finish(entries: list[_Entry]) -> None:
    """The inbound records as services._record / quarantine leave them, in one statement for the processed."""
    now = clock.now()
    done: list[InboundMessage] = []
    quarantined: list[_Entry] = []
    for entry in entries:
        inbound = entry.inbound
        if entry.reason:
            quarantined.append(entry)
            continue
        if entry.duplicate_of is not None:
            target = entry.duplicate_of
            if isinstance(target, _Entry):
                assert target.interaction is not None
                assert target.customer is not None
                refs = (target.interaction.public_id, target.customer.public_id)
            else:
                refs = target
            inbound.status, inbound.interaction_refs, inbound.customer_ref = InboundStatus.DUPLICATE, [refs[0]], refs[1]
        else:
            assert entry.interaction is not None
            assert entry.customer is not None
            inbound.status = InboundStatus.PROCESSED
            inbound.interaction_refs = [entry.interaction.public_id]
            inbound.customer_ref = entry.customer.public_id
        inbound.processed_at, inbound.reason = now, ""
        done.append(inbound)
    update_rows(done, services.PROCESSED_FIELDS)
    for entry in quarantined:
        services.quarantine(entry.inbound, entry.reason)
