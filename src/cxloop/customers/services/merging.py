"""Merging two profiles of one person, undoing it exactly, and the suggestions staff review.

A merge moves every identity and every row that other modules registered (core.customer_refs) from the
source to the target and marks the source as merged. The Merge row records precisely what moved and
which blanks of the target were filled, so an unmerge puts back exactly that and nothing a person
changed since.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from cxloop.core import clock
from cxloop.core.actor import Actor
from cxloop.core.customer_refs import customer_references
from cxloop.core.permissions import Perm
from cxloop.customers import events
from cxloop.customers.errors import MergeConflictError
from cxloop.customers.models import (
    Customer,
    Identity,
    Merge,
    MergeSuggestion,
    SuggestionStatus,
    Tag,
)
from cxloop.customers.services.snapshots import customer_snapshot
from cxloop.events.bus import publish
from cxloop.privacy.services import record_audit

_FILLABLE = ("name", "country", "locale", "time_zone")


def _lock_pair(first: Customer, second: Customer) -> tuple[Customer, Customer]:
    """Lock both rows in id order, so two merges of the same pair cannot deadlock."""
    pair = Customer.objects.select_for_update().filter(pk__in=[first.pk, second.pk]).order_by("pk")
    locked = {c.pk: c for c in pair}
    if first.pk not in locked or second.pk not in locked:
        raise MergeConflictError("One of the customers no longer exists.")
    return locked[first.pk], locked[second.pk]


def _check_mergeable(target: Customer, source: Customer) -> None:
    if target.pk == source.pk:
        raise MergeConflictError("A customer cannot be merged into itself.", fields={"source": "same as target"})
    for role, customer in (("target", target), ("source", source)):
        if not customer.is_active:
            raise MergeConflictError(
                f"The {role} customer {customer.public_id} was already merged into another.",
                fields={role: "already merged"},
            )


def _fill_target(target: Customer, source: Customer) -> dict[str, Any]:
    """Give the target what only the source knew; return what was added, for the unmerge."""
    filled = {f: getattr(source, f) for f in _FILLABLE if not getattr(target, f) and getattr(source, f)}
    for field, value in filled.items():
        setattr(target, field, value)
    if "name" in filled:
        target.search_name = source.search_name
    added_attributes = {k: v for k, v in source.attributes.items() if k not in target.attributes}
    target.attributes = {**target.attributes, **added_attributes}
    target_tags = set(target.tags.values_list("name", flat=True))
    added_tags = sorted(set(source.tags.values_list("name", flat=True)) - target_tags)
    if added_tags:
        target.tags.add(*Tag.objects.filter(name__in=added_tags))
    return {"filled": filled, "attributes": added_attributes, "tags": added_tags}


@transaction.atomic
def merge_customers(
    actor: Actor,
    target: Customer,
    source: Customer,
    *,
    suggestion: MergeSuggestion | None = None,
    reason: str = "",
) -> Merge:
    """Fold `source` into `target`. The source stays, marked merged, so the merge can be undone."""
    actor.require(Perm.CUSTOMERS_MERGE)
    target, source = _lock_pair(target, source)
    _check_mergeable(target, source)
    before_target, before_source = customer_snapshot(target), customer_snapshot(source)
    identity_ids = list(source.identities.values_list("pk", flat=True))
    Identity.objects.filter(pk__in=identity_ids).update(customer=target)
    moved: dict[str, list[int]] = {"identities": identity_ids}
    for reference in customer_references():
        # Only what actually moved is recorded: unmerge restores by label, and the audit stays readable.
        if ids := reference.move(source.pk, target.pk):
            moved[reference.label] = ids
    target_before = _fill_target(target, source)
    target.save()
    source.status = "merged"
    source.merged_into = target
    source.save(update_fields=["status", "merged_into", "updated_at"])
    merge = Merge.objects.create(
        target=target,
        source=source,
        suggestion=suggestion,
        performed_by=actor.user,
        reason=reason[:300],
        target_before=target_before,
        moved=moved,
    )
    if suggestion is not None:
        _decide(actor, suggestion, SuggestionStatus.MERGED)
    record_audit(
        actor,
        "customer.merged",
        object_type="customer",
        object_id=target.public_id,
        summary=f"Merged {source.public_id} into {target.public_id} ({merge.public_id})",
        before={"target": before_target, "source": before_source},
        after={"target": customer_snapshot(target), "moved": {k: len(v) for k, v in moved.items()}},
    )
    publish(events.CustomerMerged(merge_id=merge.public_id, target_id=target.public_id, source_id=source.public_id))
    return merge


def _undo_fill(target: Customer, source: Customer, target_before: dict[str, Any]) -> None:
    """Take back from the target only what the merge gave it and nobody changed since."""
    for field, value in target_before.get("filled", {}).items():
        if getattr(target, field) == value:
            setattr(target, field, "")
            if field == "name":
                target.search_name = ""
    for key, value in target_before.get("attributes", {}).items():
        if target.attributes.get(key) == value:
            target.attributes.pop(key, None)
    added_tags = target_before.get("tags", [])
    if added_tags:
        target.tags.remove(*Tag.objects.filter(name__in=added_tags))


@transaction.atomic
def unmerge(actor: Actor, merge: Merge, *, reason: str = "") -> Merge:
    """Undo `merge`: the source comes back with exactly the rows that were moved from it."""
    actor.require(Perm.CUSTOMERS_MERGE)
    merge = Merge.objects.select_for_update().select_related("target", "source").get(pk=merge.pk)
    if merge.is_undone:
        raise MergeConflictError("This merge was undone already.")
    target, source = _lock_pair(merge.target, merge.source)
    if not target.is_active:
        raise MergeConflictError(
            f"{target.public_id} was itself merged into another customer since; undo that merge first."
        )
    if source.merged_into_id != target.pk:
        raise MergeConflictError("The source customer is no longer merged into the target.")
    before_target = customer_snapshot(target)
    Identity.objects.filter(pk__in=merge.moved.get("identities", []), customer=target).update(customer=source)
    for reference in customer_references():
        reference.restore(merge.moved.get(reference.label, []), source.pk)
    _undo_fill(target, source, merge.target_before)
    target.save()
    source.status = "active"
    source.merged_into = None
    source.save(update_fields=["status", "merged_into", "updated_at"])
    merge.undone_at = clock.now()
    merge.undone_by = actor.user
    merge.save(update_fields=["undone_at", "undone_by", "updated_at"])
    if merge.suggestion is not None:
        # Staff have now decided these are two people; do not suggest the pair again.
        merge.suggestion.status = SuggestionStatus.DISMISSED
        merge.suggestion.save(update_fields=["status", "updated_at"])
    record_audit(
        actor,
        "customer.unmerged",
        object_type="customer",
        object_id=target.public_id,
        summary=f"Undid merge {merge.public_id}: {source.public_id} restored" + (f" ({reason})" if reason else ""),
        before={"target": before_target},
        after={"target": customer_snapshot(target), "source": customer_snapshot(source)},
    )
    publish(events.CustomerUnmerged(merge_id=merge.public_id, target_id=target.public_id, source_id=source.public_id))
    return merge


def suggest_merge(
    actor: Actor,
    first: Customer,
    second: Customer,
    *,
    probability: float,
    source: str,
    evidence: dict[str, Any],
) -> MergeSuggestion | None:
    """Record that two profiles may be one person; None if the pair was already decided or is pending."""
    if first.pk == second.pk:
        return None
    a, b = (first, second) if first.pk < second.pk else (second, first)
    existing = MergeSuggestion.objects.filter(customer_a=a, customer_b=b).exclude(status=SuggestionStatus.MERGED)
    pending = existing.filter(status=SuggestionStatus.PENDING).first()
    if pending is not None:
        if probability > pending.probability:
            pending.probability = probability
            pending.evidence = evidence
            pending.save(update_fields=["probability", "evidence", "updated_at"])
        return None
    if existing.filter(status=SuggestionStatus.DISMISSED).exists():
        return None
    suggestion = MergeSuggestion.objects.create(
        customer_a=a, customer_b=b, probability=round(probability, 4), source=source, evidence=evidence
    )
    publish(
        events.MergeSuggested(
            suggestion_id=suggestion.public_id,
            customer_a_id=a.public_id,
            customer_b_id=b.public_id,
            probability=suggestion.probability,
        )
    )
    return suggestion


def _decide(actor: Actor, suggestion: MergeSuggestion, status: str) -> None:
    suggestion.status = status
    suggestion.decided_by = actor.user
    suggestion.decided_at = clock.now()
    suggestion.save(update_fields=["status", "decided_by", "decided_at", "updated_at"])


@transaction.atomic
def dismiss_suggestion(actor: Actor, suggestion: MergeSuggestion) -> MergeSuggestion:
    actor.require(Perm.CUSTOMERS_MERGE)
    suggestion = MergeSuggestion.objects.select_for_update().get(pk=suggestion.pk)
    if suggestion.status != SuggestionStatus.PENDING:
        raise MergeConflictError(f"This suggestion was already {suggestion.status}.")
    _decide(actor, suggestion, SuggestionStatus.DISMISSED)
    record_audit(
        actor,
        "merge_suggestion.dismissed",
        object_type="merge_suggestion",
        object_id=suggestion.public_id,
        summary=f"Kept {suggestion.customer_a.public_id} and {suggestion.customer_b.public_id} apart",
    )
    return suggestion


@transaction.atomic
def accept_suggestion(actor: Actor, suggestion: MergeSuggestion, *, keep: Customer) -> Merge:
    """Merge the suggested pair, keeping `keep` (one of the two) as the surviving profile."""
    actor.require(Perm.CUSTOMERS_MERGE)
    suggestion = MergeSuggestion.objects.select_for_update().get(pk=suggestion.pk)
    if suggestion.status != SuggestionStatus.PENDING:
        raise MergeConflictError(f"This suggestion was already {suggestion.status}.")
    if keep.pk not in (suggestion.customer_a_id, suggestion.customer_b_id):
        raise MergeConflictError("The customer to keep must be one of the pair.", fields={"keep": "not in the pair"})
    other = suggestion.customer_b if keep.pk == suggestion.customer_a_id else suggestion.customer_a
    return merge_customers(actor, keep, other, suggestion=suggestion, reason="accepted merge suggestion")
