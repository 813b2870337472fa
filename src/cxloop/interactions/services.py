"""Recording interactions on a customer's timeline: the one writer every channel calls."""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from django.db import connection, transaction

from cxloop.core import clock
from cxloop.core.actor import Actor
from cxloop.core.bulk import collector_paused, insert_groups, load_objects, new_object, update_rows
from cxloop.core.errors import CxloopError, ValidationError
from cxloop.core.ids import new_public_id
from cxloop.core.permissions import Perm
from cxloop.customers import services as customer_services
from cxloop.customers.models import Customer
from cxloop.customers.types import IdentityInput
from cxloop.events.bus import publish, publish_all
from cxloop.interactions.conversations import note_inbound, note_outbound
from cxloop.interactions.events import InteractionRecorded
from cxloop.interactions.models import (
    Channel,
    Direction,
    Interaction,
    Thread,
    ThreadStatus,
    customer_text_condition,
)
from cxloop.interactions.types import InboundItem, InteractionInput
from cxloop.privacy.services import AuditRecord, record_audit_entry, record_audits
from cxloop.textanalytics import TextAnalysis

MAX_BODY = 200_000
_FUTURE_TOLERANCE = timedelta(hours=24)
T = TypeVar("T")


def summarize(body: str, limit: int = 200) -> str:
    text = " ".join(body.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


# Channel.values builds a new list on every access; batch ingest checks thousands of items.
_CHANNELS = frozenset(Channel.values)
_DIRECTIONS = frozenset(Direction.values)


def _is_plain_json(value: object) -> bool:
    """JSONField cannot store NaN or ±Infinity (which Python's json reads from "NaN" or 1e999)."""
    if type(value) is dict and not value:  # the usual metadata: dumping it cost more than the other checks
        return True
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError):
        return False
    return True


# Longest text each field may hold (the columns' sizes; the body is capped to keep rows sane).
_TEXT_LIMITS = {
    "body": MAX_BODY,
    "summary": 500,
    "subject": 300,
    "thread_ref": 255,
    "external_id": 255,
    "raw_ref": 500,
}


def clean_interaction(data: InteractionInput) -> InteractionInput:
    """Check `data`, refusing it whole with every reason; normalises occurred_at to UTC in place."""
    errors: dict[str, str] = {}
    if data.channel not in _CHANNELS:
        errors["channel"] = f"must be one of {', '.join(Channel.values)}"
    if data.direction not in _DIRECTIONS:
        errors["direction"] = f"must be one of {', '.join(Direction.values)}"
    if data.occurred_at is not None:
        if data.occurred_at.tzinfo is None:
            errors["occurred_at"] = "must include a time zone offset (e.g. 2026-01-31T09:00:00Z)"
        elif not clock.is_storable(data.occurred_at):
            errors["occurred_at"] = clock.OUT_OF_RANGE
        elif data.occurred_at > clock.now() + _FUTURE_TOLERANCE:
            errors["occurred_at"] = "must not be in the future"
        else:
            # Stored in UTC: PostgreSQL refuses offsets beyond ±15:59 that ISO 8601 (and pydantic) allow.
            data.occurred_at = clock.storable_utc(data.occurred_at, "occurred_at")
    for field, limit in _TEXT_LIMITS.items():
        if len(getattr(data, field)) > limit:
            errors[field] = f"must be at most {limit} characters"
    if not (data.summary.strip() or data.body.strip()):
        errors["body"] = "give a body or a summary"
    if not _is_plain_json(data.metadata):
        errors["metadata"] = "must be plain JSON: finite numbers only (no NaN or Infinity)"
    if errors:
        raise ValidationError("The interaction is not valid.", fields=errors)
    return data


def _thread_for(customer: Customer, data: InteractionInput, occurred_at: datetime) -> Thread | None:
    if not data.thread_ref:
        return None
    key = {"customer": customer, "channel": data.channel, "external_ref": data.thread_ref[:255]}
    # After a merge the customer may hold two threads of one conversation (one from each profile):
    # continue the oldest rather than fail on get_or_create's MultipleObjectsReturned.
    thread = Thread.objects.filter(**key).order_by("pk").first()
    created = thread is None
    if thread is None:
        thread = Thread.objects.create(**key, subject=data.subject[:300], last_activity_at=occurred_at)
    if not created and thread.last_activity_at < occurred_at:
        thread.last_activity_at = occurred_at
        thread.save(update_fields=["last_activity_at", "updated_at"])
    return thread


def build_interaction(
    actor: Actor,
    customer: Customer,
    data: InteractionInput,
    occurred_at: datetime,
    thread: Thread | None,
    *,
    public_id: str = "",
) -> Interaction:
    """The unsaved row for checked `data`: one definition for the single and the batch path."""
    return new_object(  # Interaction(...) without Model.__init__'s cost, which batch ingest pays per item
        Interaction,
        public_id=public_id,
        customer=customer,
        thread=thread,
        channel=data.channel,
        direction=data.direction,
        occurred_at=occurred_at,
        summary=data.summary.strip() or summarize(data.body),
        body=data.body,
        raw_ref=data.raw_ref,
        external_id=data.external_id,
        case_ref=(thread.case_ref if thread is not None else "") or data.case_ref,
        metadata=data.metadata,
        created_by=actor.user,
    )


def _reopens(data: InteractionInput) -> bool:
    """A customer's own message reopens the conversation; an auto-reply or a bounce does not."""
    return bool(data.metadata.get("kind", "message") == "message")


def _note_activity(thread: Thread, data: InteractionInput, occurred_at: datetime) -> None:
    """Keep the inbox state: who spoke last, and so whether the conversation waits on us or on them."""
    if data.direction == Direction.INBOUND:
        note_inbound(thread, occurred_at, reopen=_reopens(data))
    elif data.direction == Direction.OUTBOUND:
        # Whatever channel the answer went out on, the conversation now waits on the customer.
        note_outbound(thread, occurred_at)


@transaction.atomic
def record_interaction(
    actor: Actor, customer: Customer, data: InteractionInput, *, thread: Thread | None = None
) -> Interaction:
    """Put `data` on the customer's timeline, in `thread` when the caller found the conversation itself."""
    actor.require(Perm.INTERACTIONS_WRITE)
    # A merged profile's history lives on its target, and that target may have been merged onward since.
    while not customer.is_active and customer.merged_into_id:
        customer = Customer.objects.get(pk=customer.merged_into_id)
    data = clean_interaction(data)
    occurred_at = data.occurred_at or clock.now()
    if thread is None:
        thread = _thread_for(customer, data, occurred_at)
    interaction = build_interaction(actor, customer, data, occurred_at, thread)
    interaction.save()
    if thread is not None:
        _note_activity(thread, data, occurred_at)
    record_audit_entry(actor, recorded_audit(interaction))
    publish(recorded_event(interaction))
    return interaction


def recorded_audit(interaction: Interaction) -> AuditRecord:
    """The audit entry of an interaction put on a timeline: one definition for the single and the batch paths."""
    i = interaction
    return AuditRecord(
        "interaction.recorded",
        object_type="customer",
        object_id=i.customer.public_id,
        summary=f"{i.direction} {i.channel}: {i.summary[:120]}",
        after={"interaction": i.public_id, "channel": i.channel, "direction": i.direction},
    )


def recorded_event(interaction: Interaction) -> InteractionRecorded:
    """The "interaction.recorded" event of an interaction put on a timeline (single and batch paths)."""
    return InteractionRecorded(
        interaction_id=interaction.public_id,
        customer_id=interaction.customer.public_id,
        channel=interaction.channel,
        direction=interaction.direction,
        case_id=interaction.case_ref,
        kind=str(interaction.metadata.get("kind", "message")),
    )


@transaction.atomic
def ingest_interaction(
    actor: Actor, identities: list[IdentityInput], data: InteractionInput, *, name: str = "", country: str = ""
) -> tuple[Interaction, customer_services.Resolution]:
    """An inbound item: resolve who it is from, then put it on their timeline."""
    clean_interaction(data)
    resolution = customer_services.resolve_customer(actor, identities, name=name, country=country, source=data.channel)
    return record_interaction(actor, resolution.customer, data), resolution


# --- merge support (registered in apps.py) ---------------------------------------------------
def move_customer_interactions(from_customer_id: int, to_customer_id: int) -> list[int]:
    ids = list(Interaction.objects.filter(customer_id=from_customer_id).values_list("pk", flat=True))
    Interaction.objects.filter(pk__in=ids).update(customer_id=to_customer_id)
    return ids


def restore_customer_interactions(ids: list[int], to_customer_id: int) -> None:
    Interaction.objects.filter(pk__in=ids).update(customer_id=to_customer_id)


def export_customer_interactions(customer_id: int) -> list[dict[str, object]]:
    """Every interaction of a customer as plain data, oldest first, for a personal-data export."""
    rows = Interaction.objects.filter(customer_id=customer_id).select_related("thread").order_by("occurred_at", "id")
    return [
        {
            "id": i.public_id,
            "channel": i.channel,
            "direction": i.direction,
            "occurred_at": i.occurred_at.isoformat(),
            "subject": i.thread.subject if i.thread else "",
            "summary": i.summary,
            "body": i.body,
        }
        for i in rows.iterator(chunk_size=1000)
    ]


def move_customer_threads(from_customer_id: int, to_customer_id: int) -> list[int]:
    ids = list(Thread.objects.filter(customer_id=from_customer_id).values_list("pk", flat=True))
    Thread.objects.filter(pk__in=ids).update(customer_id=to_customer_id)
    return ids


def restore_customer_threads(ids: list[int], to_customer_id: int) -> None:
    """Give the threads back; a conversation continued on the merged profile is split in two.

    Interactions are restored first, so messages still in one of these threads but on another customer
    were recorded on the merge target after the merge, and stay there: they get a copy of the thread
    (same channel, subject and reference), so no message sits in another customer's thread.
    """
    Thread.objects.filter(pk__in=ids).update(customer_id=to_customer_id)
    continued = Interaction.objects.filter(thread_id__in=ids).exclude(customer_id=to_customer_id)
    for thread_id, customer_id in set(continued.values_list("thread_id", "customer_id")):
        thread = Thread.objects.get(pk=thread_id)
        theirs = continued.filter(thread_id=thread_id, customer_id=customer_id)
        copy = Thread.objects.create(
            customer_id=customer_id,
            channel=thread.channel,
            subject=thread.subject,
            external_ref=thread.external_ref,
            last_activity_at=max(theirs.values_list("occurred_at", flat=True)),
        )
        theirs.update(thread=copy)
        remaining = Interaction.objects.filter(thread_id=thread_id).values_list("occurred_at", flat=True)
        thread.last_activity_at = max(remaining, default=thread.last_activity_at)
        thread.save(update_fields=["last_activity_at", "updated_at"])


# --- batch ingest ------------------------------------------------------------------------------
BATCH_MAX_ITEMS = 1000  # the most items POST /interactions/batch takes; callers batch by it
_CHUNK = 500  # customer ids per IN (...) list when looking up threads
ThreadKey = tuple[int, str, str]
# What batch ingest reads of existing threads; the objects reach the caller as interaction.thread with the
# other fields deferred (read on access), as QuerySet.only() leaves them.
_THREAD_FIELDS = (
    "id",
    "public_id",
    "customer_id",
    "channel",
    "subject",
    "external_ref",
    "last_activity_at",
    "last_inbound_at",
    "last_outbound_at",
    "status",
)


@dataclass
class ItemResult:
    """The outcome of one item of a batch: stored (interaction, resolution) or refused (error)."""

    index: int
    interaction: Interaction | None = None
    resolution: customer_services.Resolution | None = None
    error: CxloopError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and self.interaction is not None


@dataclass
class BatchResult:
    items: list[ItemResult]

    @property
    def stored(self) -> int:
        return sum(item.ok for item in self.items)

    @property
    def failed(self) -> int:
        return sum(item.error is not None for item in self.items)


@dataclass
class _Pending:
    result: ItemResult
    item: InboundItem
    prepared: customer_services.PreparedResolution


def _prepare_item(item: InboundItem) -> customer_services.PreparedResolution:
    """The checks ingest_interaction makes, in its order, plus the column lengths the database would refuse."""
    data = clean_interaction(item.interaction)
    errors: dict[str, str] = {}
    if len(data.external_id) > 255:
        errors["external_id"] = "must be at most 255 characters"
    if len(data.raw_ref) > 500:
        errors["raw_ref"] = "must be at most 500 characters"
    if errors:
        raise ValidationError("The interaction is not valid.", fields=errors)
    return customer_services.prepare_resolution(
        item.identities, name=item.name, country=item.country, source=data.channel
    )


def _chunked(values: Sequence[T]) -> Iterator[Sequence[T]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


def _advance(
    thread: Thread, key: ThreadKey, newest: dict[ThreadKey, datetime], spoke: dict[str, dict[ThreadKey, datetime]]
) -> bool:
    """Move a thread's activity and inbox state forward to what a batch brought; False when nothing changed."""
    changed = False
    if thread.last_activity_at is None or thread.last_activity_at < newest[key]:
        thread.last_activity_at, changed = newest[key], True
    inbound, outbound = spoke[Direction.INBOUND].get(key), spoke[Direction.OUTBOUND].get(key)
    if inbound is not None and (thread.last_inbound_at is None or thread.last_inbound_at < inbound):
        thread.last_inbound_at, changed = inbound, True
    if outbound is not None and (thread.last_outbound_at is None or thread.last_outbound_at < outbound):
        thread.last_outbound_at, changed = outbound, True
    if inbound is not None or outbound is not None:
        last_in, last_out = thread.last_inbound_at, thread.last_outbound_at
        waiting = last_out is not None and (last_in is None or last_out >= last_in)
        status = ThreadStatus.WAITING if waiting else ThreadStatus.OPEN
        if thread.status != status:
            thread.status, changed = status, True
    return changed


def _threads_for_batch(
    entries: list[tuple[Customer, InteractionInput, datetime]], now: datetime
) -> tuple[dict[ThreadKey, Thread], list[Thread]]:
    """As _thread_for for many items: each (customer, channel, thread_ref) thread is found or created once.

    A new thread takes the subject of its first item; last_activity_at ends at the newest item's time, which
    is where the item-by-item updates would leave it. Returns the threads by key and the new ones, which the
    caller inserts (with the interactions, keys taken in one round trip).
    """
    first_subject: dict[ThreadKey, str] = {}
    newest: dict[ThreadKey, datetime] = {}
    spoke: dict[str, dict[ThreadKey, datetime]] = {Direction.INBOUND: {}, Direction.OUTBOUND: {}}
    for customer, data, occurred_at in entries:
        if data.thread_ref:
            key = (customer.pk, data.channel, data.thread_ref[:255])
            first_subject.setdefault(key, data.subject[:300])
            newest[key] = max(newest.get(key, occurred_at), occurred_at)
            side = spoke.get(data.direction)
            if side is not None and (data.direction == Direction.OUTBOUND or _reopens(data)):
                side[key] = max(side.get(key, occurred_at), occurred_at)
    threads: dict[ThreadKey, Thread] = {}
    for chunk in _chunked(sorted({key[0] for key in first_subject})):
        customer_ids = set(chunk)
        refs = sorted({key[2] for key in first_subject if key[0] in customer_ids})
        found = load_objects(Thread, _THREAD_FIELDS, order_by_pk=True, customer_id__in=chunk, external_ref__in=refs)
        for thread in found:
            threads.setdefault((thread.customer_id, thread.channel, thread.external_ref), thread)
    stale = [thread for key, thread in threads.items() if key in newest and _advance(thread, key, newest, spoke)]
    update_rows(stale, ["last_activity_at", "last_inbound_at", "last_outbound_at", "status", "updated_at"])
    created = []
    for key, subject in first_subject.items():
        if key in threads:
            continue
        thread = new_object(
            Thread,
            public_id=new_public_id(Thread.PUBLIC_ID_PREFIX),
            customer_id=key[0],
            channel=key[1],
            external_ref=key[2],
            subject=subject,
            last_activity_at=newest[key],
            last_inbound_at=None,
            last_outbound_at=None,
            status=ThreadStatus.OPEN,
        )
        _advance(thread, key, newest, spoke)
        created.append(thread)
    threads.update({(t.customer_id, t.channel, t.external_ref): t for t in created})
    return threads, created


def _record_resolved(actor: Actor, resolved: list[tuple[_Pending, customer_services.Resolution]]) -> None:
    """As record_interaction for items whose customers are resolved: bulk inserts, one audit entry per item."""
    if not resolved:
        return
    now = clock.now()
    entries = [
        (resolution.customer, p.item.interaction, p.item.interaction.occurred_at or now) for p, resolution in resolved
    ]
    threads, new_threads = _threads_for_batch(entries, now)
    interactions = [
        build_interaction(
            actor,
            customer,
            data,
            occurred_at,
            threads.get((customer.pk, data.channel, data.thread_ref[:255])) if data.thread_ref else None,
            public_id=new_public_id(Interaction.PUBLIC_ID_PREFIX),
        )
        for customer, data, occurred_at in entries
    ]
    insert_groups([new_threads, interactions])  # threads first: interactions of new threads point at them
    record_audits(actor, [recorded_audit(i) for i in interactions])
    for (p, resolution), interaction in zip(resolved, interactions, strict=True):
        p.result.interaction, p.result.resolution = interaction, resolution
    publish_all([recorded_event(i) for i in interactions])


def _reported(exc: CxloopError) -> CxloopError:
    """`exc` to keep in an ItemResult: a report of what was wrong (code, message, fields), without tracebacks.

    A traceback holds the frames it passed through, and each frame its caller's: the batch's frame, whose
    results hold `exc`. That reference cycle kept every object of a batch alive until the cyclic garbage
    collector's full pass, which then took about 15% of batch ingest's time. The chained errors (`from exc`)
    lead there too, so theirs go as well.
    """
    chain: list[BaseException | None] = [exc]
    seen: set[int] = set()
    while chain:
        error = chain.pop()
        if error is not None and id(error) not in seen:
            seen.add(id(error))
            error.__traceback__ = None
            chain += [error.__cause__, error.__context__]
    return exc


def _ingest_single(actor: Actor, pending: _Pending) -> None:
    """An item that may merge two customers goes the item-by-item way, after the items before it are written."""
    item = pending.item
    try:
        interaction, resolution = ingest_interaction(
            actor, item.identities, item.interaction, name=item.name, country=item.country
        )
    except CxloopError as exc:  # rolled back to ingest_interaction's savepoint; the batch goes on
        pending.result.error = _reported(exc)
    else:
        pending.result.interaction, pending.result.resolution = interaction, resolution


@transaction.atomic
def ingest_batch(actor: Actor, items: Sequence[InboundItem]) -> BatchResult:
    """Many inbound items in one transaction, with the outcome of ingest_interaction on each, in order.

    A backlog or an import of thousands of items would cost several queries per item through
    ingest_interaction; here the items are checked and canonicalised first, then resolved and recorded
    with set-based reads and bulk inserts (customers.services.batch explains the resolution). An item
    that fails validation is reported in its ItemResult with the error and stored nothing; the others are
    stored. Audit entries and events are the ones ingest_interaction would write, item for item. The cyclic
    garbage collector pauses meanwhile (core.bulk.collector_paused says why).
    """
    actor.require(Perm.CUSTOMERS_EDIT)
    actor.require(Perm.INTERACTIONS_WRITE)
    with collector_paused():
        return _ingest_all(actor, items)


def _ingest_all(actor: Actor, items: Sequence[InboundItem]) -> BatchResult:
    results = [ItemResult(index=index) for index in range(len(items))]
    pending: list[_Pending] = []
    for result, item in zip(results, items, strict=True):
        try:
            pending.append(_Pending(result, item, _prepare_item(item)))
        except CxloopError as exc:
            result.error = _reported(exc)
    while pending:
        outcomes = customer_services.resolve_batch(actor, [p.prepared for p in pending])
        resolved: list[tuple[_Pending, customer_services.Resolution]] = []
        for p, outcome in zip(pending, outcomes, strict=False):
            if isinstance(outcome, CxloopError):
                p.result.error = outcome
            else:
                resolved.append((p, outcome))
        _record_resolved(actor, resolved)
        pending = pending[len(outcomes) :]
        if pending:  # resolve_batch stopped before an item that may merge customers: the item-by-item way
            _ingest_single(actor, pending.pop(0))
    return BatchResult(results)


# --- text analytics: scores stored with the interaction ------------------------------------------------------------
# Scores are derived data, written by the system (the worker, the backfill command) without an audit entry per row:
# they change nothing a person said or did, and re-scoring history would flood the trail.


def _columns() -> dict[str, str]:
    quote = connection.ops.quote_name
    return {f.name: quote(str(f.column)) for f in Interaction._meta.concrete_fields}


@functools.cache
def _score_sql_sqlite() -> str:
    """One row's scores (run with executemany): the four metadata keys are replaced, never merged into old
    values (json_patch would merge the old emotions into the new), the rest of the metadata is kept."""
    c = _columns()
    merged = f"json_patch(json_remove({c['metadata']}, '$.emotions', '$.key_phrases'), %s)"
    return (
        f"UPDATE {connection.ops.quote_name(Interaction._meta.db_table)} SET {c['sentiment']} = %s,"  # noqa: S608
        f" {c['emotion']} = %s, {c['metadata']} = {merged}, {c['text_analysed_at']} = %s WHERE {c['id']} = %s"
    )


@functools.lru_cache(maxsize=4)  # the batch size, and the odd last batch
def _score_sql_postgresql(count: int) -> str:
    """`count` rows' scores in one statement (UPDATE ... FROM VALUES): half the time of as many single-row
    updates, even pipelined. `||` on jsonb replaces the keys given and keeps the others."""
    c = _columns()
    values = ", ".join(["(%s::bigint, %s::double precision, %s::text, %s::jsonb)"] * count)
    return (
        f"UPDATE {connection.ops.quote_name(Interaction._meta.db_table)} AS i"  # noqa: S608
        f" SET {c['sentiment']} = v.sentiment, {c['emotion']} = v.emotion,"
        f" {c['metadata']} = i.{c['metadata']} || v.scores, {c['text_analysed_at']} = %s"
        f" FROM (VALUES {values}) AS v(id, sentiment, emotion, scores) WHERE i.{c['id']} = v.id"
    )


def _score_metadata(analysis: TextAnalysis) -> str:
    data: dict[str, Any] = {
        "sentiment_label": analysis.sentiment_label,
        "emotions": {name: round(float(value), 4) for name, value in analysis.emotions.items()},
        "key_phrases": list(analysis.key_phrases),
    }
    if analysis.language:  # an unknown language leaves what the channel knew (routing reads it)
        data["language"] = analysis.language
    return json.dumps(data, allow_nan=False)


@transaction.atomic
def store_text_analyses(
    actor: Actor, results: Sequence[tuple[int, TextAnalysis | None]], *, at: datetime | None = None
) -> int:
    """Store text analytics' results on interactions (by primary key) in one statement per kind of row.

    A result of None marks a row that holds none of the customer's words (an auto-reply, an empty message) as
    done without scores. Returns how many rows were written.
    """
    actor.require(Perm.INTERACTIONS_WRITE)
    stamp = at or clock.now()
    written_at = connection.ops.adapt_datetimefield_value(stamp)  # the raw statement below needs the column's form
    scored = [(pk, a) for pk, a in results if a is not None]
    empty = [pk for pk, a in results if a is None]
    written = 0
    if scored:
        limit = int(Interaction._meta.get_field("emotion").max_length or 30)
        rows = [(pk, float(a.sentiment), a.emotion[:limit], _score_metadata(a)) for pk, a in scored]
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute(_score_sql_postgresql(len(rows)), [written_at, *(v for row in rows for v in row)])
            else:
                cursor.executemany(_score_sql_sqlite(), [[s, e, m, written_at, pk] for pk, s, e, m in rows])
        written += len(scored)
    if empty:
        written += Interaction.objects.filter(pk__in=empty).update(text_analysed_at=stamp)
    return written


def mark_texts_for_rescoring(actor: Actor, *, since: datetime | None = None, batch: int = 20_000) -> int:
    """Put the customer's texts already scored back among those to score (the scores stay until replaced), in
    id-range batches of their own transactions, so a re-score of all history never holds one huge write."""
    actor.require(Perm.INTERACTIONS_WRITE)
    scored = Interaction.objects.filter(customer_text_condition(), text_analysed_at__isnull=False)
    if since is not None:
        scored = scored.filter(occurred_at__gte=clock.storable_utc(since, "since"))
    total, after = 0, 0
    while True:
        ids = list(scored.filter(pk__gt=after).order_by("pk").values_list("pk", flat=True)[:batch])
        if not ids:
            return total
        with transaction.atomic():
            total += Interaction.objects.filter(pk__in=ids).update(text_analysed_at=None)
        after = ids[-1]
