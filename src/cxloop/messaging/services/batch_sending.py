"""send_messages: send_message for many requests at once, for journeys and campaigns.

Each request gets what send_message would have given it, in request order: the message (queued, scheduled or
blocked), the message an earlier call made under its idempotency key, or the CxloopError send_message would
have raised; one bad request does not stop the others. The rules are send_message's own functions (the
request checks, `draft`, `judge`, the cap); what changes is how the database is reached: the replays, the
customers with their identities, the templates and the governance facts are read once per chunk, and the
messages, delivery events, audit entries and dispatch tasks are written with one statement per table, all in
one transaction for the whole call.

Two requests of one call with the same idempotency key behave as two calls one after the other: the second
is answered with the first one's message (or refused if it asked for something else), unless the first was
refused, in which case the second is judged on its own (a chunk ends before such a repeat).

Queued messages are handed to the worker as `messaging.dispatch_messages` tasks of up to
dispatching.BATCH_SIZE messages (one claim and one provider session per task) rather than one
`dispatch_message` task each; each message is claimed, judged again and sent exactly as it would be alone.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.db import IntegrityError, connections, router, transaction
from django_tasks_db import DatabaseBackend

from cxloop.core import clock
from cxloop.core.actor import Actor
from cxloop.core.bulk import collector_paused, insert_rows, insert_values, loaded_objects
from cxloop.core.errors import CxloopError
from cxloop.core.permissions import Perm
from cxloop.customers.models import Customer, Identity
from cxloop.events.bus import publish_all
from cxloop.messaging.models import DeliveryEvent, MessageStatus, OutboundMessage, Purpose
from cxloop.messaging.services import sending
from cxloop.messaging.services.dispatching import BATCH_SIZE
from cxloop.messaging.services.judging import Subject, Verdict, judge, read_facts
from cxloop.messaging.types import SendRequest
from cxloop.privacy.services import record_audits

Result = OutboundMessage | CxloopError
# Requests read and written together: the replay, customer and consent reads take IN lists of this size.
CHUNK = 500


@dataclass
class _Batch:
    """What one call keeps across its chunks: the results so far, and the messages it made per idempotency key."""

    actor: Actor
    scope: str
    results: list[Result | None]
    lookup: sending.TemplateLookup = field(default_factory=lambda: sending.TemplateLookup(remember=True))
    made: dict[str, OutboundMessage] = field(default_factory=dict)


@transaction.atomic
def send_messages(actor: Actor, requests: Sequence[SendRequest]) -> list[OutboundMessage | CxloopError]:
    """send_message for each request, in one transaction, with set-based reads and bulk writes.

    Returns one result per request, in order: the message, or the error send_message would have raised for
    it. Only the actor's permission is checked for the call as a whole (PermissionDeniedError, nothing stored).
    """
    actor.require(Perm.INTERACTIONS_WRITE)
    batch = _Batch(actor, sending.idempotency_scope(actor), [None] * len(requests))
    _lock_keys(batch.scope, requests)
    with collector_paused():
        # Requests go in request order, a chunk at a time; a chunk also ends before a key it already holds, so
        # that request sees what the earlier one left (its message, or nothing if it was refused), and each
        # request is judged after every earlier one is stored, as one by one (the cap counts in that order).
        chunk: list[tuple[int, SendRequest]] = []
        keys: set[str] = set()
        for index, request in enumerate(requests):
            key = request.idempotency_key
            if len(chunk) == CHUNK or (key and key in keys):
                _send_chunk(batch, chunk)
                chunk, keys = [], set()
            chunk.append((index, request))
            if key:
                keys.add(key)
        if chunk:
            _send_chunk(batch, chunk)
    results = batch.results
    assert all(result is not None for result in results)
    return results  # type: ignore[return-value]


# Advisory locks of this module's idempotency keys are (_KEY_LOCKS, hash of scope and key).
_KEY_LOCKS = 0x6D736773
# Each lock takes a slot of PostgreSQL's shared lock table (max_locks_per_transaction x max_connections: 6,400
# by default) until the commit; a call with more keys than this takes none (see _lock_keys).
MAX_KEY_LOCKS = 2000


def _lock_keys(scope: str, requests: Sequence[SendRequest]) -> None:
    """PostgreSQL: hold a lock on each idempotency key of the call until it commits, all taken at once in one
    order. Two calls storing the same keys (a retried journey step beside the first) would otherwise block on
    each other's rows in the unique index, each in its own order, and could deadlock: PostgreSQL then fails one
    call as a whole (nothing of it is stored; a retry answers with replays). With the locks the second waits
    for the first, then reads its messages as replays. A call with more than MAX_KEY_LOCKS keys goes without,
    rather than fill the lock table. (SQLite has one writer at a time.)
    """
    keys = sorted({request.idempotency_key for request in requests if request.idempotency_key})
    connection = connections[router.db_for_write(OutboundMessage)]
    if not keys or len(keys) > MAX_KEY_LOCKS or connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(%s, h) FROM (SELECT DISTINCT hashtext(%s || k) AS h"
            " FROM unnest(%s::text[]) AS k ORDER BY h) AS wanted",
            [_KEY_LOCKS, f"{scope}\x1f", keys],
        )


def _send_chunk(batch: _Batch, items: list[tuple[int, SendRequest]]) -> None:
    results = batch.results
    stored = _stored_under_keys(batch.scope, [r.idempotency_key for _, r in items if r.idempotency_key])
    fresh: list[tuple[int, SendRequest]] = []
    for index, request in items:
        try:
            if request.idempotency_key:
                existing = batch.made.get(request.idempotency_key) or stored.get(request.idempotency_key)
                replay = sending.replay_of(request, existing)
                if replay is not None:
                    results[index] = replay
                    continue
            sending.check_request(request)
        except CxloopError as exc:
            results[index] = exc
            continue
        fresh.append((index, request))
    customers = _customers({request.customer_id for _, request in fresh})
    drafts: list[tuple[int, sending.Draft]] = []
    for index, request in fresh:
        try:
            customer = sending.usable_customer(request.customer_id, customers.get(request.customer_id))
            drafts.append((index, sending.draft(batch.actor, request, customer, batch.lookup)))
        except CxloopError as exc:
            results[index] = exc
    verdicts = _verdicts([drafted for _, drafted in drafts])
    made = [
        (index, drafted.request, sending.new_message(batch.actor, batch.scope, drafted, verdict))
        for (index, drafted), verdict in zip(drafts, verdicts, strict=True)
    ]
    messages = _store(batch, made)
    if not messages:
        return
    now = clock.now()
    insert_values(
        DeliveryEvent,
        ["message_id", "state", "occurred_at", "detail"],
        [(m.pk, m.status, now, m.reason[:500]) for m in messages],
    )
    record_audits(batch.actor, [sending.audit_record(m) for m in messages])
    publish_all([sending.domain_event(m) for m in messages])
    _enqueue_dispatch([m.pk for m in messages if m.status == MessageStatus.QUEUED])
    for message in messages:
        if message.idempotency_key:
            batch.made[message.idempotency_key] = message


def _stored_under_keys(scope: str, keys: list[str]) -> dict[str, OutboundMessage]:
    if not keys:
        return {}
    found = OutboundMessage.objects.filter(idempotency_scope=scope, idempotency_key__in=set(keys))
    return {message.idempotency_key: message for message in found}


_CUSTOMER = tuple(f.attname for f in Customer._meta.concrete_fields)
_IDENTITY = tuple(f.attname for f in Identity._meta.concrete_fields)


def _customers(public_ids: set[str]) -> dict[str, Customer]:
    """The customers with their identities from one statement (a LEFT JOIN: a customer without any still
    comes back, to be refused for having no address), as prefetch_related("identities") would leave them."""
    if not public_ids:
        return {}
    alias = router.db_for_read(Customer)
    rows = (
        Customer.objects.using(alias)
        .filter(public_id__in=public_ids)
        .order_by("pk", "identities__pk")
        .values_list(*_CUSTOMER, *(f"identities__{name}" for name in _IDENTITY))
    )
    width = len(_CUSTOMER)
    customers: dict[int, Customer] = {}
    identities: dict[int, list[Identity]] = {}
    for row in rows:
        pk = row[0]
        if pk not in customers:
            (customers[pk],) = loaded_objects(Customer, _CUSTOMER, [row[:width]], using=alias)
            identities[pk] = []
        if row[width] is not None:
            (identity,) = loaded_objects(Identity, _IDENTITY, [row[width:]], using=alias)
            identities[pk].append(identity)
    for pk, customer in customers.items():
        queryset = customer.identities.get_queryset()  # what prefetch_related leaves in the cache
        queryset._result_cache = identities[pk]
        queryset._prefetch_done = True  # type: ignore[attr-defined]
        customer._prefetched_objects_cache = {"identities": queryset}  # type: ignore[attr-defined]
    return {customer.public_id: customer for customer in customers.values()}


def _verdicts(drafts: list[sending.Draft]) -> list[Verdict]:
    """send_message's verdict for each draft, from one read of the facts: `judge` on each, then the cap in
    request order, each message that passes counting against the next one to the same customer."""
    facts = read_facts([Subject(d.customer.pk, d.request.channel, d.address, d.purpose) for d in drafts])
    verdicts = [
        judge(
            d.customer, d.request.channel, d.address, d.purpose, quiet=sending.quiet_for(d.purpose, d.request), facts=f
        )
        for d, f in zip(drafts, facts, strict=True)
    ]
    capped = [
        i
        for i, (d, v) in enumerate(zip(drafts, verdicts, strict=True))
        if v.status != MessageStatus.BLOCKED and d.purpose == Purpose.MARKETING
    ]
    if not capped:
        return verdicts
    customer_ids = {drafts[i].customer.pk for i in capped}
    sending.lock_customers(customer_ids)
    counts = Counter(sending.cap_counts(customer_ids))
    for i in capped:
        customer_id = drafts[i].customer.pk
        refusal = sending.over_cap(counts[customer_id])
        if refusal is not None:
            verdicts[i] = refusal
        else:
            counts[customer_id] += 1
    return verdicts


def _store(batch: _Batch, made: list[tuple[int, SendRequest, OutboundMessage]]) -> list[OutboundMessage]:
    """Insert the messages in one statement and put them in the results; returns those stored.

    With idempotency keys a concurrent call may have stored one of them first: then each is inserted in a
    savepoint of its own, as send_message does, and one that collides is answered with the message stored
    under its key (not among those returned).
    """
    messages = [message for _, _, message in made]
    for index, _, message in made:
        batch.results[index] = message
    if not any(message.idempotency_key for message in messages):
        insert_rows(messages)
        return messages
    driver = getattr(connections[router.db_for_write(OutboundMessage)], "Database", None)
    try:
        with transaction.atomic():
            insert_rows(messages)
        return messages
    except Exception as exc:
        # COPY on PostgreSQL raises the driver's own error, not Django's wrapper of it.
        if not isinstance(exc, IntegrityError) and not (driver and isinstance(exc, driver.IntegrityError)):
            raise
    stored = []
    for index, request, message in made:
        message.pk = None  # back to unsaved: the rolled-back bulk insert had set the keys
        message._state.adding = True
        try:
            with transaction.atomic():
                message.save()
        except IntegrityError:
            replay = sending.replayed(batch.scope, request)
            if replay is None:
                raise
            batch.results[index] = replay
            continue
        stored.append(message)
    return stored


def _enqueue_dispatch(message_ids: list[int]) -> None:
    """One dispatch_messages task per BATCH_SIZE queued messages: in this transaction for a queue kept in this
    database (as send_message's task row), else handed over on commit."""
    from cxloop.messaging.tasks import dispatch_messages

    groups = [message_ids[start : start + BATCH_SIZE] for start in range(0, len(message_ids), BATCH_SIZE)]
    if isinstance(dispatch_messages.get_backend(), DatabaseBackend):
        for group in groups:
            dispatch_messages.enqueue(group)
        return
    for group in groups:
        transaction.on_commit(lambda group=group: dispatch_messages.enqueue(group))  # type: ignore[misc]
