"""Reads of the parts of one case that the API and the case page address one by one: a task, a link, a
hand-over, the hand-over summary as it would read now, and the promise figures shown beside cases."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Q

from cxloop.cases.models import Case, CaseLink, CaseTask, Handover, Promise, PromiseStatus
from cxloop.cases.queries.handovers import build_handover_summary
from cxloop.core.actor import Actor
from cxloop.core.errors import NotFoundError
from cxloop.core.permissions import Perm


def get_task(actor: Actor, case: Case, task_id: int) -> CaseTask:
    """A task of `case` (a task of another case is not found here, so a URL cannot mix cases)."""
    actor.require(Perm.CASES_VIEW)
    task = CaseTask.objects.select_related("case", "owner").filter(case=case, pk=task_id).first()
    if task is None:
        raise NotFoundError("No such task on this case.")
    return task


def get_link(actor: Actor, case: Case, link_id: int) -> CaseLink:
    """A link that starts or ends at `case`."""
    actor.require(Perm.CASES_VIEW)
    link = (
        CaseLink.objects.select_related("from_case", "to_case")
        .filter(Q(from_case=case) | Q(to_case=case), pk=link_id)
        .first()
    )
    if link is None:
        raise NotFoundError("No such link on this case.")
    return link


def get_handover(actor: Actor, handover_id: int) -> Handover:
    actor.require(Perm.CASES_VIEW)
    handover = (
        Handover.objects.select_related("case", "from_user", "to_user", "from_team", "to_team", "created_by")
        .filter(pk=handover_id)
        .first()
    )
    if handover is None:
        raise NotFoundError("No such hand-over.")
    return handover


def handover_preview(actor: Actor, case: Case) -> dict[str, Any]:
    """The summary a receiver would get if the case were handed over now (the sender checks it before writing
    the note, so the note adds what the record cannot say)."""
    actor.require(Perm.CASES_VIEW)
    return build_handover_summary(case, note="", from_user=case.owner)


def promise_counts(actor: Actor, case_ids: list[int]) -> dict[int, tuple[int, int]]:
    """(all promises, open or missed ones) per case, for a page of cases in one query."""
    actor.require(Perm.CASES_VIEW)
    if not case_ids:
        return {}
    pending = Q(status__in=[PromiseStatus.OPEN, PromiseStatus.MISSED])
    rows = (
        Promise.objects.filter(case_id__in=case_ids)
        .values("case_id")
        .annotate(total=Count("id"), pending=Count("id", filter=pending))
        .order_by()
    )
    return {row["case_id"]: (row["total"], row["pending"]) for row in rows}
