"""Batch identity resolution: many inbound items resolved with a few set-based reads and bulk writes.

`resolve_customer` costs several queries per item, which is right for one message and too slow for a
bulk import or a channel catching up on a backlog. `resolve_batch` gives the same answers as calling
`resolve_customer` on each request in order (a new customer or identity created for one request is
found by the requests after it), but it reads every identity key of the batch in a few queries and
writes the new customers, identities and audit entries with bulk inserts.

The rules are those of `resolve_customer`: no match creates a customer, one match attaches the identities
it did not know yet, and identities pointing at two or more customers make a merge suggestion with its
evidence (or raise a pending one's probability), exactly as `suggest_merge` decides, using the
suggestions loaded for the customers involved. The equivalence is pinned by tests that run the same
items both ways. Two cases go through `resolve_customer` itself instead: a match on a customer already
merged away (which merges make impossible; handled for safety, after writing what the batch has so far
and reading back what it changed), and, with CXLOOP_AUTO_MERGE_VERIFIED on, a request matching several
customers, which may merge them and so move rows of other modules (interactions) that the caller has not
written yet for the requests before it; then `resolve_batch` stops before that request and leaves it,
and the rest, to the caller.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import IntegrityError, router, transaction

from cxloop.core import clock
from cxloop.core.actor import Actor
from cxloop.core.bulk import (
    collector_paused,
    insert_groups,
    loaded_objects,
    new_object,
    select_values,
    select_with_related,
    update_rows,
)
from cxloop.core.errors import CxloopError, ValidationError
from cxloop.core.ids import new_public_id
from cxloop.core.permissions import Perm
from cxloop.customers import events
from cxloop.customers.models import Customer, Identity, IdentityKind, MergeSuggestion, SuggestionStatus
from cxloop.customers.normalization import CanonicalIdentity
from cxloop.customers.services.identities import canonicalize_one, note_seen
from cxloop.customers.services.profiles import clean_profile
from cxloop.customers.services.resolution import Resolution, resolve_customer
from cxloop.customers.services.snapshots import customer_snapshot, identity_snapshot, search_key
from cxloop.customers.types import IdentityInput
from cxloop.events.bus import DomainEvent, publish_all
from cxloop.privacy.services import AuditRecord, record_audits

_ATTEMPTS = 3
_CHUNK = 500  # rows per IN (...) list and per bulk insert; well under SQLite's parameter limit

Key = tuple[str, str, str]


@dataclass(frozen=True)
class PreparedResolution:
    """A request checked and canonicalised once, so a batch can be retried or resumed without redoing it."""

    identities: list[IdentityInput]
    canonical: list[CanonicalIdentity]
    name: str
    country: str
    source: str


def prepare_resolution(
    identities: Sequence[IdentityInput], *, name: str = "", country: str = "", source: str = "inbound"
) -> PreparedResolution:
    """Validate and canonicalise as `resolve_customer` does, raising the same ValidationError for bad input."""
    if not identities:
        raise ValidationError("At least one identity is needed.", fields={"identities": "must not be empty"})
    if country:  # as resolve_customer: a profile edit's check (which leaves "" as it is)
        country = clean_profile({"country": country})["country"]
    default_region = settings.CXLOOP_DEFAULT_REGION  # read once: a lazy setting costs a call each time
    canonical = [_canonical(identity, country, index, default_region) for index, identity in enumerate(identities)]
    return PreparedResolution(
        identities=list(identities),
        canonical=canonical,
        name=" ".join(name.split())[:200],
        country=country,
        source=source,
    )


def _canonical(identity: IdentityInput, country: str, index: int, default_region: str) -> CanonicalIdentity:
    """canonicalize_all's answer for one identity, remembered: a backlog repeats the same senders, spelled
    the same way, and e-mail and phone validation cost 60 to 140 µs each."""
    try:
        return _remembered(identity.kind, identity.value, identity.network, identity.region, country, default_region)
    except ValidationError:
        # Compute it again for the error: its fields name the identity's position in this request.
        return canonicalize_one(identity, customer_country=country, field_prefix=f"identities[{index}].")


@functools.lru_cache(maxsize=100_000)
def _remembered(
    kind: str, value: str, network: str | None, region: str | None, country: str, default_region: str
) -> CanonicalIdentity:
    # default_region is part of the key because canonicalize reads it from the settings.
    return canonicalize_one(
        IdentityInput(kind=kind, value=value, network=network, region=region), customer_country=country
    )


class _Slot:
    """A customer as the batch sees it: a row in the database (`saved`) or one created by an earlier request."""

    __slots__ = ("customer", "name_filled", "order", "saved")

    def __init__(self, customer: Customer, *, saved: bool, order: tuple[int, int]) -> None:
        self.customer = customer
        self.saved = saved
        self.name_filled = False
        # The order of primary keys: rows created in this batch will get higher keys, in creation order.
        self.order = order


class _Seen:
    """An identity as the batch sees it, with the slot of the customer that owns it."""

    __slots__ = ("identity", "slot")

    def __init__(self, identity: Identity, slot: _Slot) -> None:
        self.identity = identity
        self.slot = slot


# What resolution reads of the rows it matches. The objects go back to the caller (Resolution.customer,
# Resolution.matched) with the other fields deferred, as QuerySet.only() leaves them: read on access. Reading
# and converting every column (timestamps, attributes) of thousands of rows cost more than resolving them.
_IDENTITY_FIELDS = [
    "id",
    "public_id",
    "customer_id",
    "kind",
    "network",
    "value",
    "match_value",
    "is_verified",
    "source",
]
_KIND, _NETWORK, _VALUE = (_IDENTITY_FIELDS.index(name) for name in ("kind", "network", "value"))
_CUSTOMER_FIELDS = ["id", "public_id", "name", "search_name", "country", "status", "merged_into_id"]


_SUGGESTION_FIELDS = [f.attname for f in MergeSuggestion._meta.concrete_fields]


def _with_customers(**lookup: Any) -> list[tuple[tuple[Any, ...], tuple[Any, ...]]]:
    """Rows of _IDENTITY_FIELDS, each with its customer's _CUSTOMER_FIELDS, in one read."""
    return select_with_related(Identity, _IDENTITY_FIELDS, "customer", _CUSTOMER_FIELDS, **lookup)


def _key(item: CanonicalIdentity) -> Key:
    return (item.kind, item.network, item.value)


def _chunks(values: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


class _Batch:
    """One attempt at a batch: load what the requests can match, place them in order, write in bulk."""

    def __init__(self, actor: Actor) -> None:
        self.actor = actor
        self.now = clock.now()
        self.exact: dict[Key, _Seen] = {}
        self.loose: dict[str, list[_Seen]] = {}  # e-mail match_value -> identities, oldest first
        self.slots: dict[int, _Slot] = {}  # saved customers by pk
        self.indexed: set[int] = set()
        self.new_slots: list[_Slot] = []
        self.new_identities: list[Identity] = []
        self.touched: set[int] = set()
        self.suggestions: dict[tuple[_Slot, _Slot], list[MergeSuggestion]] = {}  # not merged, oldest first
        self.new_suggestions: list[MergeSuggestion] = []
        self.raised: dict[int, MergeSuggestion] = {}  # saved pending suggestions whose probability went up
        self.audits: list[AuditRecord] = []
        self.events: list[DomainEvent] = []

    # --- reading ---------------------------------------------------------------------------
    def load(self, requests: Sequence[PreparedResolution]) -> None:
        """Every identity the requests can match: exact keys, and e-mail sub-address keys where needed.

        Called again after a request went through resolve_customer, it refreshes what that request changed
        (identities attached, a name filled) in the customers already known, keeping their objects.
        """
        wanted = {_key(item) for request in requests for item in request.canonical}
        rows: dict[int, Identity] = {}
        customer_rows: dict[int, tuple[Any, ...]] = {}
        using = router.db_for_read(Identity)

        def take(selected: list[tuple[tuple[Any, ...], tuple[Any, ...]]]) -> None:
            identities = loaded_objects(Identity, _IDENTITY_FIELDS, [row for row, _ in selected], using=using)
            rows.update((i.pk, i) for i in identities)
            customer_rows.update((customer[0], customer) for _, customer in selected)

        # One IN list over the values of every kind and network (the value index), not one per (kind, network),
        # each row read with its customer's (a join, not a second read by an IN list of customer keys): fewer
        # round trips, which is most of this read's cost on PostgreSQL. A row of another kind or network
        # holding the same value is dropped here, so `rows` is exactly the identities of the wanted keys.
        for chunk in _chunks(sorted({value for _, _, value in wanted})):
            selected = _with_customers(value__in=chunk)
            take([(row, customer) for row, customer in selected if (row[_KIND], row[_NETWORK], row[_VALUE]) in wanted])
        found = {(i.kind, i.network, i.value) for i in rows.values()}
        loose_keys = sorted(
            {
                item.match_value
                for request in requests
                for item in request.canonical
                if item.kind == IdentityKind.EMAIL and _key(item) not in found
            }
        )
        for chunk in _chunks(loose_keys):
            take(_with_customers(kind=IdentityKind.EMAIL, match_value__in=chunk))
        ordered = [customer_rows[pk] for pk in sorted(customer_rows)]
        customers = loaded_objects(Customer, _CUSTOMER_FIELDS, ordered, using=router.db_for_read(Customer))
        for customer in customers:
            known = self.slots.get(customer.pk)
            if known is None:
                self.slots[customer.pk] = _Slot(customer, saved=True, order=(0, customer.pk))
            else:
                for field in _CUSTOMER_FIELDS[1:]:
                    setattr(known.customer, field, getattr(customer, field))
                known.customer.__dict__.pop("updated_at", None)  # deferred: read again if asked for
        for pk in sorted(rows.keys() - self.indexed):
            identity = rows[pk]
            self._index(_Seen(identity, self.slots[identity.customer_id]))
        self._load_suggestions(sorted({i.customer_id for i in rows.values()}))

    def _load_suggestions(self, customer_ids: list[int]) -> None:
        """Suggestions not merged between customers the requests can match, for the rules of suggest_merge."""
        using = router.db_for_read(MergeSuggestion)
        for chunk in _chunks(customer_ids):
            rows = select_values(MergeSuggestion, _SUGGESTION_FIELDS, order_by_pk=True, customer_a_id__in=chunk)
            for row in rows:
                suggestion = MergeSuggestion.from_db(using, _SUGGESTION_FIELDS, row)
                if suggestion.status == SuggestionStatus.MERGED:
                    continue
                a, b = self.slots.get(suggestion.customer_a_id), self.slots.get(suggestion.customer_b_id)
                if a is None or b is None:
                    continue
                known = self.suggestions.setdefault((a, b), [])
                if all(s.pk != suggestion.pk for s in known):
                    known.append(suggestion)

    def _index(self, seen: _Seen) -> None:
        identity = seen.identity
        self.exact[(identity.kind, identity.network, identity.value)] = seen
        if identity.kind == IdentityKind.EMAIL:
            self.loose.setdefault(identity.match_value, []).append(seen)
        if identity.pk is not None:
            self.indexed.add(identity.pk)

    def _matches(self, canonical: list[CanonicalIdentity]) -> dict[_Slot, list[_Seen]]:
        """As resolution._matches: exact keys first, then up to five e-mail sub-address matches."""
        by_slot: dict[_Slot, list[_Seen]] = {}
        for item in canonical:
            hit = self.exact.get(_key(item))
            if hit is not None:
                found = [hit]
            elif item.kind == IdentityKind.EMAIL:
                found = self.loose.get(item.match_value, [])[:5]
            else:
                found = []
            for seen in found:
                by_slot.setdefault(seen.slot, []).append(seen)
        return by_slot

    # --- placing ---------------------------------------------------------------------------
    def place(self, request: PreparedResolution) -> Resolution | CxloopError | None:
        """The request's resolution (or the error resolve_customer raised for it); None to stop the batch."""
        usual = self._place_known(request)
        if usual is not None:
            return usual
        by_slot = self._matches(request.canonical)
        if not by_slot:
            return self._create(request)
        if any(not slot.customer.is_active for slot in by_slot):
            return self._resolve_one(request)  # cannot happen while merges move identities; to be safe
        if len(by_slot) > 1 and settings.CXLOOP_AUTO_MERGE_VERIFIED:
            return None  # it may merge, moving rows the caller has not written yet
        # As resolution._pick_primary: matched on verified identities, then on most identities, then oldest.
        slot = min(by_slot, key=lambda s: (-sum(x.identity.is_verified for x in by_slot[s]), -len(by_slot[s]), s.order))
        others = sorted((s for s in by_slot if s is not slot), key=lambda s: s.order)
        suggestions = [
            suggestion
            for other in others
            if (suggestion := self._suggest(slot, other, by_slot, source=request.source)) is not None
        ]
        matched = [seen for seens in by_slot.values() for seen in seens]
        known = {(s.identity.kind, s.identity.network, s.identity.value) for s in matched}
        fresh = [(c, i) for c, i in zip(request.canonical, request.identities, strict=True) if _key(c) not in known]
        for identity in self._attach(slot, fresh, source=request.source):
            self._record_added(slot.customer, identity)
        self.touched.update(s.identity.pk for s in matched if s.identity.pk is not None)
        self._fill_name(slot, request)
        return Resolution(
            customer=slot.customer, created=False, matched=[s.identity for s in matched], suggestions=suggestions
        )

    def _place_known(self, request: PreparedResolution) -> Resolution | None:
        """The usual request, placed without the general path's bookkeeping; None when it is not that case.

        That case: every identity of the request is a key the batch knows exactly (a row read or one made by an
        earlier request), and all of them belong to one active customer. The general path answers it the same
        way: exact hits leave the sub-address keys unread, one customer matched leaves no primary to pick and
        nothing to suggest, every key known leaves nothing to attach; the identities matched are the hits in
        the request's order (a key given twice, twice), their last_seen_at is written, an empty name filled.
        """
        exact = self.exact
        hits: list[_Seen] = []
        for item in request.canonical:
            seen = exact.get((item.kind, item.network, item.value))
            if seen is None or (hits and seen.slot is not hits[0].slot):
                return None
            hits.append(seen)
        slot = hits[0].slot  # prepare_resolution refuses a request without identities
        if not slot.customer.is_active:
            return None
        self.touched.update(s.identity.pk for s in hits if s.identity.pk is not None)
        self._fill_name(slot, request)
        return Resolution(customer=slot.customer, created=False, matched=[s.identity for s in hits])

    @staticmethod
    def _fill_name(slot: _Slot, request: PreparedResolution) -> None:
        """As resolve_customer: a customer without a name takes the request's."""
        customer = slot.customer
        if not customer.name and request.name:
            customer.name, customer.search_name = request.name, search_key(request.name)
            slot.name_filled = slot.saved

    def _suggest(
        self, primary: _Slot, other: _Slot, by_slot: dict[_Slot, list[_Seen]], *, source: str
    ) -> MergeSuggestion | None:
        """As resolution._reconcile and merging.suggest_merge, for one pair, on the batch's view of the data."""
        primary_verified = any(s.identity.is_verified for s in by_slot[primary])
        other_verified = any(s.identity.is_verified for s in by_slot[other])
        evidence = {
            "rule": "identities seen together on one inbound item",
            "source": source,
            "identities": {
                primary.customer.public_id: [str(s.identity) for s in by_slot[primary]],
                other.customer.public_id: [str(s.identity) for s in by_slot[other]],
            },
        }
        probability = 0.99 if primary_verified and other_verified else 0.95
        a, b = sorted((primary, other), key=lambda s: s.order)
        known = self.suggestions.setdefault((a, b), [])
        pending = next((s for s in known if s.status == SuggestionStatus.PENDING), None)
        if pending is not None:
            if probability > pending.probability:
                pending.probability, pending.evidence = probability, evidence
                if pending.pk is not None:
                    self.raised[pending.pk] = pending
            return None
        if any(s.status == SuggestionStatus.DISMISSED for s in known):
            return None
        suggestion = new_object(
            MergeSuggestion,
            public_id=new_public_id(MergeSuggestion.PUBLIC_ID_PREFIX),
            customer_a=a.customer,
            customer_b=b.customer,
            probability=round(probability, 4),
            source="resolution",
            evidence=evidence,
        )
        known.append(suggestion)
        self.new_suggestions.append(suggestion)
        self.events.append(
            events.MergeSuggested(
                suggestion_id=suggestion.public_id,
                customer_a_id=a.customer.public_id,
                customer_b_id=b.customer.public_id,
                probability=suggestion.probability,
            )
        )
        return suggestion

    def _resolve_one(self, request: PreparedResolution) -> Resolution | CxloopError:
        """resolve_customer decides, on the rows written so far; then the batch reads back what it changed."""
        self.write()
        try:
            resolution = resolve_customer(
                self.actor, request.identities, name=request.name, country=request.country, source=request.source
            )
        except CxloopError as exc:  # resolve_customer rolled back to its savepoint; the batch goes on
            return exc
        self.load([request])
        return resolution

    def _record_added(self, customer: Customer, identity: Identity) -> None:
        """As resolution._record_added: an identity learnt from an inbound item is audited and announced."""
        self.audits.append(
            AuditRecord(
                "identity.added",
                object_type="customer",
                object_id=customer.public_id,
                summary=f"Added {identity.kind} {identity.value} (seen on {identity.source})",
                after=identity_snapshot(identity),
            )
        )
        self.events.append(
            events.IdentityAdded(customer_id=customer.public_id, identity_id=identity.public_id, kind=identity.kind)
        )

    def _create(self, request: PreparedResolution) -> Resolution:
        customer = new_object(
            Customer,
            public_id=new_public_id(Customer.PUBLIC_ID_PREFIX),
            name=request.name,
            search_name=search_key(request.name),
            country=request.country,
        )
        slot = _Slot(customer, saved=False, order=(1, len(self.new_slots)))
        self.new_slots.append(slot)
        created = self._attach(
            slot, list(zip(request.canonical, request.identities, strict=True)), source=request.source
        )
        self.audits.append(
            AuditRecord(
                "customer.created",
                object_type="customer",
                object_id=customer.public_id,
                summary=f"Created from {request.source}",
                after=customer_snapshot(customer, identities=created, tags=[]),
            )
        )
        self.events.append(events.CustomerCreated(customer_id=customer.public_id, source=request.source))
        return Resolution(customer=customer, created=True)

    def _attach(
        self, slot: _Slot, pairs: list[tuple[CanonicalIdentity, IdentityInput]], *, source: str
    ) -> list[Identity]:
        """As attach_identities; every key here is unknown to the batch, so none can belong to another customer."""
        created: list[Identity] = []
        seen: set[Key] = set()
        for item, given in pairs:
            if _key(item) in seen:
                continue
            seen.add(_key(item))
            identity = new_object(
                Identity,
                public_id=new_public_id(Identity.PUBLIC_ID_PREFIX),
                customer=slot.customer,
                kind=item.kind,
                network=item.network,
                value=item.value,
                match_value=item.match_value,
                is_verified=given.is_verified,
                source=given.source or source,
                last_seen_at=self.now,
            )
            created.append(identity)
            self.new_identities.append(identity)
            self._index(_Seen(identity, slot))
        return created

    # --- writing ---------------------------------------------------------------------------
    def write(self) -> None:
        """Insert and update what the requests placed so far; may run several times in one batch."""
        # Suggestions may point at customers of this batch: written after them, keys taken in one round trip.
        insert_groups([[slot.customer for slot in self.new_slots], self.new_identities, self.new_suggestions])
        self.indexed.update(i.pk for i in self.new_identities)
        note_seen(sorted(self.touched), self.now)
        filled = [slot.customer for slot in self.slots.values() if slot.name_filled]
        update_rows(filled, ["name", "search_name", "updated_at"])
        update_rows(list(self.raised.values()), ["probability", "evidence", "updated_at"])
        record_audits(self.actor, self.audits)
        publish_all(self.events)
        for slot in self.slots.values():
            slot.name_filled = False
        for slot in self.new_slots:
            slot.saved = True
            slot.order = (0, slot.customer.pk)
            self.slots[slot.customer.pk] = slot
        self.new_slots, self.new_identities, self.touched, self.audits, self.events = [], [], set(), [], []
        self.new_suggestions, self.raised = [], {}


def resolve_batch(actor: Actor, requests: Sequence[PreparedResolution]) -> list[Resolution | CxloopError]:
    """Resolve `requests` in order, as `resolve_customer` would one by one; see the module docstring.

    Returns one result per request: its resolution, or the business error resolve_customer raised for it.
    With CXLOOP_AUTO_MERGE_VERIFIED on, the list stops before the first request whose identities point at
    two or more customers; that request and the ones after it are left to the caller.
    """
    actor.require(Perm.CUSTOMERS_EDIT)
    for attempt in range(_ATTEMPTS):
        try:
            with collector_paused(), transaction.atomic():
                batch = _Batch(actor)
                batch.load(requests)
                resolutions: list[Resolution | CxloopError] = []
                for request in requests:
                    resolution = batch.place(request)
                    if resolution is None:
                        break
                    resolutions.append(resolution)
                batch.write()
                return resolutions
        except IntegrityError:
            # Another request created one of these identities between our read and our insert: read again.
            if attempt == _ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")
