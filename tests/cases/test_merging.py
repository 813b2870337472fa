"""Merging a duplicate case into the case that carries on."""

from __future__ import annotations

from datetime import timedelta

import pytest

from cxloop.cases.models import CaseConversation, CaseLink, CaseTask, Promise
from cxloop.cases.services import cases as case_services
from cxloop.cases.services import merging, plans
from cxloop.core import clock
from cxloop.core.errors import PermissionDeniedError, ValidationError
from cxloop.events.bus import DomainEvent, subscribe, unsubscribe
from cxloop.privacy.models import AuditEntry
from tests.cases.factories import CaseFactory
from tests.customers.factories import CustomerFactory
from tests.interactions.factories import InteractionFactory, ThreadFactory


@pytest.fixture
def pair(alice):  # type: ignore[no-untyped-def]
    """Two open cases of one customer, each with a conversation, a task and the duplicate with a promise."""
    customer = CustomerFactory()
    into, duplicate = CaseFactory(customer=customer), CaseFactory(customer=customer)
    for case in (into, duplicate):
        case_services.link_conversation(alice.actor, case, ThreadFactory(customer=customer))
        plans.add_task(alice.actor, case, plans.TaskInput(title=f"Task of #{case.pk}"))
    Promise.objects.create(
        customer=customer,
        case=duplicate,
        description="Call back",
        due_at=clock.now() + timedelta(days=1),
        made_at=clock.now(),
    )
    return duplicate, into


def test_merge_moves_everything_to_the_surviving_case(alice, pair, django_capture_on_commit_callbacks):
    # given
    duplicate, into = pair
    thread = CaseConversation.objects.get(case=duplicate).thread
    message = InteractionFactory(customer=duplicate.customer, thread=thread, case_ref=duplicate.public_id)
    other = CaseFactory()
    case_services.link_cases(alice.actor, duplicate, other, "related")
    version = duplicate.__class__.objects.get(pk=duplicate.pk).version
    seen: list[DomainEvent] = []
    subscribe("case.merged", seen.append)

    # when
    try:
        with django_capture_on_commit_callbacks(execute=True):
            survivor = merging.merge_cases(alice.actor, duplicate, into)
    finally:
        unsubscribe("case.merged", seen.append)

    # then
    assert survivor.pk == into.pk
    assert CaseConversation.objects.filter(case=into).count() == 2
    message.refresh_from_db()
    thread.refresh_from_db()
    assert (message.case_ref, thread.case_ref) == (into.public_id, into.public_id)
    assert list(CaseTask.objects.filter(case=into).order_by("position").values_list("title", "position")) == [
        (f"Task of #{into.pk}", 0),
        (f"Task of #{duplicate.pk}", 1),
    ]
    assert Promise.objects.get().case_id == into.pk
    assert set(CaseLink.objects.values_list("from_case_id", "to_case_id", "kind")) == {
        (into.pk, other.pk, "related"),
        (duplicate.pk, into.pk, "duplicate_of"),
    }
    duplicate.refresh_from_db()
    assert (duplicate.status, duplicate.merged_into_id, duplicate.version) == ("closed", into.pk, version + 1)
    assert duplicate.closed_at is not None
    assert [e.payload() for e in seen] == [{"case_id": duplicate.public_id, "into_case_id": into.public_id}]
    entry = AuditEntry.objects.get(action="case.merged")
    assert entry.after == {
        "status": "closed",
        "merged_into": into.public_id,
        "conversations": 1,
        "tasks": 1,
        "promises": 1,
    }


def test_a_conversation_both_cases_have_is_kept_once(alice, pair):
    duplicate, into = pair
    shared = CaseConversation.objects.get(case=duplicate).thread
    case_services.link_conversation(alice.actor, into, shared)
    merging.merge_cases(alice.actor, duplicate, into)
    assert CaseConversation.objects.filter(case=into, thread=shared).count() == 1
    assert CaseConversation.objects.filter(case=duplicate).count() == 0


def test_a_case_is_not_merged_into_itself(alice, pair):
    duplicate, _ = pair
    with pytest.raises(ValidationError) as refused:
        merging.merge_cases(alice.actor, duplicate, duplicate)
    assert refused.value.fields == {"into": "is the same case"}


def test_a_case_is_not_merged_into_a_closed_case(alice, pair):
    duplicate, into = pair
    into.status = "closed"
    into.save()
    with pytest.raises(ValidationError) as refused:
        merging.merge_cases(alice.actor, duplicate, into)
    assert refused.value.fields == {"into": "is closed"}
    duplicate.refresh_from_db()
    assert (duplicate.status, CaseTask.objects.filter(case=duplicate).count()) == ("open", 1)


def test_cases_of_different_customers_are_not_merged(alice):
    duplicate, into = CaseFactory(), CaseFactory()
    plans.add_task(alice.actor, duplicate, plans.TaskInput(title="Stays"))
    with pytest.raises(ValidationError) as refused:
        merging.merge_cases(alice.actor, duplicate, into)
    assert refused.value.fields == {"into": "belongs to another customer"}
    assert CaseTask.objects.get().case_id == duplicate.pk
    assert CaseLink.objects.count() == 0


def test_a_closed_case_is_not_merged_again(alice):
    customer = CustomerFactory()
    duplicate, into = CaseFactory(customer=customer, status="closed"), CaseFactory(customer=customer)
    with pytest.raises(ValidationError) as refused:
        merging.merge_cases(alice.actor, duplicate, into)
    assert refused.value.fields == {"case": "is closed"}


def test_analyst_cannot_merge(charlie, pair):
    duplicate, into = pair
    with pytest.raises(PermissionDeniedError):
        merging.merge_cases(charlie.actor, duplicate, into)
    duplicate.refresh_from_db()
    assert duplicate.status == "open"
    assert CaseLink.objects.count() == 0
