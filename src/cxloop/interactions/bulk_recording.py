"""record_interaction for many timeline entries at once, for the paths that write them in batches.

A dispatch batch puts fifty sent messages on fifty timelines; through record_interaction that is a savepoint,
an ORM insert, a thread update and an audit insert per message, more than the sending itself costs. Here the
entries of a call are checked one by one exactly as record_interaction checks them, and the rows go in with
one statement per table. The callers have found each entry's conversation themselves (or it has none): an
entry that would need record_interaction's own thread lookup (a thread_ref and no thread) goes through
record_interaction, in order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from django.db import transaction

from cxloop.core import clock
from cxloop.core.actor import Actor
from cxloop.core.bulk import insert_rows, update_rows
from cxloop.core.errors import CxloopError
from cxloop.core.ids import new_public_id
from cxloop.core.permissions import Perm
from cxloop.customers.models import Customer
from cxloop.events.bus import publish_all
from cxloop.interactions.conversations import apply_inbound, apply_outbound
from cxloop.interactions.models import Direction, Interaction, Thread
from cxloop.interactions.services import (
    build_interaction,
    clean_interaction,
    record_interaction,
    recorded_audit,
    recorded_event,
)
from cxloop.interactions.types import InteractionInput
from cxloop.privacy.services import AuditRecord, record_audits


@dataclass(frozen=True)
class TimelineEntry:
    """One interaction to record: by whom, for whom, what, and in which conversation (None: none)."""

    actor: Actor
    customer: Customer
    data: InteractionInput
    thread: Thread | None = None


def _active(customer: Customer) -> Customer:
    """A merged profile's history lives on its target, and that target may have been merged onward since."""
    while not customer.is_active and customer.merged_into_id:
        customer = Customer.objects.get(pk=customer.merged_into_id)
    return customer


def _audit_key(actor: Actor) -> tuple[Any, ...]:
    fields = actor.audit_fields()
    user, token = fields["actor_user"], fields["actor_token"]
    user_pk, token_pk = (user.pk if user else None), (token.pk if token else None)
    return (user_pk, token_pk, fields["actor_label"], fields["via"], fields["ip_address"])


def _thread_fields(thread: Thread, direction: str, kind: str, at: Any) -> list[str]:
    """_note_activity of interactions.services, on the object: the fields to write afterwards."""
    if direction == Direction.INBOUND:
        return apply_inbound(thread, at, reopen=kind == "message")
    if direction == Direction.OUTBOUND:
        return apply_outbound(thread, at)
    return []


@transaction.atomic
def record_interactions(entries: Sequence[TimelineEntry]) -> list[Interaction | CxloopError]:
    """One result per entry, in order: the recorded interaction, or the error record_interaction would have
    raised for it (nothing of that entry stored). Audit entries and events as record_interaction writes them."""
    results: list[Interaction | CxloopError | None] = [None] * len(entries)
    built: list[tuple[int, TimelineEntry, Interaction]] = []
    touched: dict[int, tuple[Thread, set[str]]] = {}
    for index, entry in enumerate(entries):
        if entry.thread is None and entry.data.thread_ref:
            try:
                results[index] = record_interaction(entry.actor, entry.customer, entry.data)
            except CxloopError as exc:
                results[index] = exc
            continue
        try:
            entry.actor.require(Perm.INTERACTIONS_WRITE)
            data = clean_interaction(replace(entry.data))  # a copy: clean_interaction normalises in place
        except CxloopError as exc:
            results[index] = exc
            continue
        customer = _active(entry.customer)
        occurred_at = data.occurred_at or clock.now()
        interaction = build_interaction(
            entry.actor,
            customer,
            data,
            occurred_at,
            entry.thread,
            public_id=new_public_id(Interaction.PUBLIC_ID_PREFIX),
        )
        built.append((index, entry, interaction))
        if entry.thread is not None:
            kind = str(data.metadata.get("kind", "message"))
            fields = _thread_fields(entry.thread, data.direction, kind, occurred_at)
            _, changed = touched.setdefault(id(entry.thread), (entry.thread, set()))
            changed.update(fields)
    if built:
        insert_rows([interaction for _, _, interaction in built])
        by_fields: dict[tuple[str, ...], list[Thread]] = {}
        for thread, changed_fields in touched.values():
            if changed_fields:
                by_fields.setdefault(tuple(sorted(changed_fields)), []).append(thread)
        for names, threads in by_fields.items():
            update_rows(threads, names)
        _audit(built)
        publish_all([recorded_event(interaction) for _, _, interaction in built])
        for index, _, interaction in built:
            results[index] = interaction
    assert all(result is not None for result in results)
    return results  # type: ignore[return-value]


def _audit(built: list[tuple[int, TimelineEntry, Interaction]]) -> None:
    """One "interaction.recorded" entry each, written per actor (record_audits takes one actor a call)."""
    by_actor: dict[tuple[Any, ...], tuple[Actor, list[AuditRecord]]] = {}
    for _, entry, interaction in built:
        _, records = by_actor.setdefault(_audit_key(entry.actor), (entry.actor, []))
        records.append(recorded_audit(interaction))
    for actor, records in by_actor.values():
        record_audits(actor, records)
