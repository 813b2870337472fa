"""Merging a duplicate case into the case that carries on.

Two cases about one matter split the customer's story (two owners, two plans, two SLA clocks). Merging moves
everything that still matters onto the surviving case: its conversations (and their messages' case), its tasks,
its promises and its links to other cases. The duplicate is closed with `merged_into` and a "duplicate of" link,
so anyone who opens it is sent on, and its history stays readable.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import Max

from cxloop.cases.events import CaseClosed, CaseMerged, CaseStatusChanged
from cxloop.cases.models import Case, CaseConversation, CaseLink, CaseLinkKind, CaseStatus, CaseTask, Promise
from cxloop.cases.services import sla
from cxloop.core import clock
from cxloop.core.actor import Actor
from cxloop.core.errors import ValidationError
from cxloop.core.permissions import Perm
from cxloop.events.bus import publish_all
from cxloop.interactions import conversations
from cxloop.privacy.services import record_audit


def _check(duplicate: Case, into: Case) -> None:
    if duplicate.pk == into.pk:
        raise ValidationError("A case cannot be merged into itself.", fields={"into": "is the same case"})
    if into.status == CaseStatus.CLOSED:
        raise ValidationError("A case cannot be merged into a closed case.", fields={"into": "is closed"})
    if duplicate.status == CaseStatus.CLOSED:
        raise ValidationError("A closed case cannot be merged.", fields={"case": "is closed"})
    if duplicate.customer_id != into.customer_id:
        raise ValidationError(
            "Cases of different customers cannot be merged.", fields={"into": "belongs to another customer"}
        )


def _move_conversations(duplicate: Case, into: Case) -> int:
    already = set(CaseConversation.objects.filter(case=into).values_list("thread_id", flat=True))
    CaseConversation.objects.filter(case=duplicate, thread_id__in=already).delete()
    moved = CaseConversation.objects.filter(case=duplicate).update(case=into)
    conversations.move_case_refs(duplicate.public_id, into.public_id)
    return moved


def _move_tasks(duplicate: Case, into: Case) -> int:
    last = CaseTask.objects.filter(case=into).aggregate(last=Max("position"))["last"]
    start = 0 if last is None else last + 1
    tasks = list(CaseTask.objects.filter(case=duplicate).order_by("position", "id"))
    for offset, task in enumerate(tasks):
        task.case, task.position = into, start + offset
    CaseTask.objects.bulk_update(tasks, ["case", "position"])
    return len(tasks)


def _move_links(duplicate: Case, into: Case) -> None:
    """Links of the duplicate now start or end at the surviving case; links between the two are dropped, and a
    link the surviving case already has is not made twice."""
    CaseLink.objects.filter(from_case=duplicate, to_case=into).delete()
    CaseLink.objects.filter(from_case=into, to_case=duplicate).delete()
    for link in CaseLink.objects.filter(from_case=duplicate):
        if CaseLink.objects.filter(from_case=into, to_case_id=link.to_case_id, kind=link.kind).exists():
            link.delete()
        else:
            CaseLink.objects.filter(pk=link.pk).update(from_case=into)
    for link in CaseLink.objects.filter(to_case=duplicate):
        if CaseLink.objects.filter(from_case_id=link.from_case_id, to_case=into, kind=link.kind).exists():
            link.delete()
        else:
            CaseLink.objects.filter(pk=link.pk).update(to_case=into)


@transaction.atomic
def merge_cases(actor: Actor, duplicate: Case, into: Case) -> Case:
    """Merge `duplicate` into `into` (same customer, `into` not closed); returns the surviving case."""
    actor.require(Perm.CASES_WORK)
    locked = {c.pk: c for c in Case.objects.select_for_update().filter(pk__in=[duplicate.pk, into.pk])}
    duplicate, into = locked.get(duplicate.pk, duplicate), locked.get(into.pk, into)
    _check(duplicate, into)
    now = clock.now()
    moved_conversations = _move_conversations(duplicate, into)
    moved_tasks = _move_tasks(duplicate, into)
    moved_promises = Promise.objects.filter(case=duplicate).update(case=into)
    _move_links(duplicate, into)
    CaseLink.objects.create(from_case=duplicate, to_case=into, kind=CaseLinkKind.DUPLICATE_OF, created_by=actor.user)

    previous = duplicate.status
    duplicate.status, duplicate.closed_at, duplicate.merged_into = CaseStatus.CLOSED, now, into
    duplicate.version += 1
    duplicate.save(update_fields=["status", "closed_at", "merged_into", "version", "updated_at"])
    sla.on_status_changed(duplicate, previous, now)
    into.version += 1
    into.save(update_fields=["version", "updated_at"])

    moved = {"conversations": moved_conversations, "tasks": moved_tasks, "promises": moved_promises}
    record_audit(
        actor,
        "case.merged",
        object_type="case",
        object_id=duplicate.public_id,
        summary=f"#{duplicate.pk} merged into #{into.pk}",
        before={"status": previous},
        after={"status": CaseStatus.CLOSED.value, "merged_into": into.public_id, **moved},
    )
    record_audit(
        actor,
        "case.merged_in",
        object_type="case",
        object_id=into.public_id,
        summary=f"#{duplicate.pk} merged into #{into.pk}",
        after={"duplicate": duplicate.public_id, **moved},
    )
    publish_all(
        [
            CaseMerged(case_id=duplicate.public_id, into_case_id=into.public_id),
            CaseStatusChanged(case_id=duplicate.public_id, status=CaseStatus.CLOSED.value, previous=previous),
            CaseClosed(case_id=duplicate.public_id),
        ]
    )
    return into
