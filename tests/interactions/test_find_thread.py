"""Finding the conversation a message continues (strongest clue first), and keeping its inbox state cheaply."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cxloop.core import clock
from cxloop.interactions import conversations
from cxloop.interactions.models import Thread, ThreadStatus
from tests.customers.factories import CustomerFactory
from tests.interactions.factories import InteractionFactory, ThreadFactory

pytestmark = pytest.mark.django_db


def _reference(customer, ids):  # the ORM query find_thread's reply lookup writes out by hand
    return (
        Thread.objects.filter(customer=customer, interactions__external_id__in=ids)
        .order_by("-last_activity_at", "-pk")
        .first()
    )


def test_a_reply_finds_the_most_recently_active_thread_holding_one_of_the_ids_it_answers():
    # given two threads of Ann holding earlier messages, the older one active more recently
    now = clock.now()
    ann, bob = CustomerFactory(), CustomerFactory()
    quiet = ThreadFactory(customer=ann, last_activity_at=now - timedelta(days=3))
    busy = ThreadFactory(customer=ann, last_activity_at=now - timedelta(hours=1))
    InteractionFactory(customer=ann, thread=quiet, external_id="a@mail")
    InteractionFactory(customer=ann, thread=busy, external_id="b@mail")
    InteractionFactory(customer=ann, thread=busy, external_id="c@mail")
    bobs = ThreadFactory(customer=bob, last_activity_at=now)
    InteractionFactory(customer=bob, thread=bobs, external_id="a@mail")

    # when / then: the newest thread wins; another customer's thread never does
    for ids, expected in [(("a@mail",), quiet), (("a@mail", "b@mail"), busy), (("c@mail", "b@mail"), busy)]:
        found = conversations.find_thread(ann, "email", reply_to_ids=ids)
        assert found == expected == _reference(ann, ids)
    assert conversations.find_thread(bob, "email", reply_to_ids=("a@mail",)) == bobs
    assert conversations.find_thread(ann, "email", reply_to_ids=("unknown@mail",)) is None


def test_the_thread_comes_back_whole_as_the_orm_would_load_it():
    thread = ThreadFactory(status=ThreadStatus.WAITING, normalized_subject="refund", last_inbound_at=clock.now())
    InteractionFactory(customer=thread.customer, thread=thread, external_id="x@mail")

    found = conversations.find_thread(thread.customer, "email", reply_to_ids=("x@mail",))

    loaded = Thread.objects.get(pk=thread.pk)
    assert found is not None
    assert {f.attname: getattr(found, f.attname) for f in Thread._meta.concrete_fields} == {
        f.attname: getattr(loaded, f.attname) for f in Thread._meta.concrete_fields
    }


def test_a_conversation_key_continues_its_thread_unless_it_was_closed_long_ago():
    now = clock.now()
    customer = CustomerFactory()
    recent = ThreadFactory(customer=customer, channel="sms", external_ref="k1", status=ThreadStatus.CLOSED)
    old = ThreadFactory(
        customer=customer,
        channel="sms",
        external_ref="k2",
        status=ThreadStatus.CLOSED,
        last_activity_at=now - timedelta(days=8),
    )
    ThreadFactory(customer=customer, channel="email", external_ref="k3")

    assert conversations.find_thread(customer, "sms", conversation_key="k1", at=now) == recent
    assert conversations.find_thread(customer, "sms", conversation_key="k2", at=now) is None
    assert old.status == ThreadStatus.CLOSED
    # the key belongs to another channel's thread: not this one, and no fall-back to the subject
    assert conversations.find_thread(customer, "sms", conversation_key="k3", normalized_subject="x", at=now) is None


def test_a_subject_match_reaches_back_thirty_days_on_the_same_channel_and_customer():
    now = clock.now()
    customer = CustomerFactory()
    within = ThreadFactory(customer=customer, normalized_subject="refund", last_activity_at=now - timedelta(days=29))
    ThreadFactory(customer=customer, normalized_subject="refund", last_activity_at=now - timedelta(days=31))
    ThreadFactory(customer=customer, channel="sms", normalized_subject="refund", last_activity_at=now)
    ThreadFactory(normalized_subject="refund", last_activity_at=now)  # someone else's

    assert conversations.find_thread(customer, "email", normalized_subject="refund", at=now) == within
    later = now + timedelta(days=2)
    assert conversations.find_thread(customer, "email", normalized_subject="refund", at=later) is None
    assert conversations.find_thread(customer, "email", normalized_subject="other", at=now) is None
    assert conversations.find_thread(customer, "email", at=now) is None


def test_a_thread_an_inbound_message_opens_needs_no_second_write_for_it():
    at = clock.now()
    thread = conversations.open_thread(
        CustomerFactory(), "email", subject="Hi", normalized_subject="hi", external_ref="r", at=at, inbound=True
    )
    assert (thread.last_inbound_at, thread.last_activity_at, thread.status) == (at, at, ThreadStatus.OPEN)

    with CaptureQueriesContext(connection) as queries:
        conversations.note_inbound(thread, at)
    assert len(queries) == 0

    later = at + timedelta(minutes=5)
    conversations.note_inbound(thread, later)
    thread.refresh_from_db()
    assert (thread.last_inbound_at, thread.last_activity_at) == (later, later)


def test_an_older_message_arriving_late_still_reopens_a_waiting_conversation():
    at = clock.now()
    thread = ThreadFactory(status=ThreadStatus.WAITING, last_activity_at=at, last_inbound_at=at)

    conversations.note_inbound(thread, at - timedelta(hours=1))

    thread.refresh_from_db()
    assert (thread.status, thread.last_inbound_at, thread.last_activity_at) == (ThreadStatus.OPEN, at, at)


def test_an_auto_reply_arriving_late_changes_nothing():
    at = clock.now()
    thread = ThreadFactory(status=ThreadStatus.WAITING, last_activity_at=at, last_inbound_at=at)
    with CaptureQueriesContext(connection) as queries:
        conversations.note_inbound(thread, at - timedelta(hours=1), reopen=False)
    assert len(queries) == 0
    assert Thread.objects.get(pk=thread.pk).status == ThreadStatus.WAITING
