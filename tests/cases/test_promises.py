"""The promises ledger: making, keeping, cancelling and moving promises, the sweep (reminders and escalations),
the queries (queues, the supervisor board, the kept rate) and the customer's signed link."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.core import signing
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import NoReverseMatch, reverse

from cxloop.accounts.models import Notification, User
from cxloop.cases.models import Promise
from cxloop.cases.queries import promises as promise_queries
from cxloop.cases.services import promises
from cxloop.core import clock
from cxloop.core.errors import PermissionDeniedError, ValidationError
from cxloop.events.bus import DomainEvent, subscribe, unsubscribe
from cxloop.privacy.models import AuditEntry
from tests.cases.factories import CaseFactory
from tests.customers.factories import CustomerFactory


@pytest.fixture
def seen():
    """Every promise.* event delivered during the test."""
    events: list[DomainEvent] = []

    def keep(event: DomainEvent) -> None:
        if event.name.startswith("promise."):
            events.append(event)

    subscribe("*", keep)
    yield events
    unsubscribe("*", keep)


def _case_url(case) -> str:  # type: ignore[no-untyped-def]
    """The case page (until the case UI is mounted, notifications lead to the customer page instead)."""
    try:
        return reverse("web:case", args=[case.public_id])
    except NoReverseMatch:
        return reverse("web:customer", args=[case.customer.public_id])


def _promise(member, *, due_in: timedelta = timedelta(hours=3), **kwargs) -> Promise:
    customer = kwargs.pop("customer", None) or CustomerFactory(name="Ann Lee")
    return promises.make_promise(
        member.actor,
        customer=customer,
        description=kwargs.pop("description", "Call back about the refund"),
        due_at=clock.now() + due_in,
        **kwargs,
    )


# --- making -----------------------------------------------------------------------------------------------------


def test_a_promise_is_recorded_with_owner_team_channel_and_announced(alice, seen, django_capture_on_commit_callbacks):
    # given
    customer = CustomerFactory(name="Ann Lee")
    case = CaseFactory(customer=customer)
    due = clock.now() + timedelta(days=2)

    # when
    with django_capture_on_commit_callbacks(execute=True):
        promise = promises.make_promise(
            alice.actor,
            customer=customer,
            description="  Refund   within 5 days ",
            due_at=due,
            channel="Phone",
            case=case,
        )

    # then
    promise.refresh_from_db()
    assert (promise.description, promise.status, promise.channel) == ("Refund within 5 days", "open", "phone")
    assert (promise.owner, promise.team, promise.made_by, promise.case) == (
        alice.user,
        alice.user.team,
        alice.user,
        case,
    )
    assert promise.due_at == due
    assert [e.payload() for e in seen] == [
        {
            "promise_id": promise.public_id,
            "customer_id": customer.public_id,
            "case_id": case.public_id,
            "owner": "alice",
            "due_at": due.astimezone(UTC).isoformat(),
        }
    ]
    entry = AuditEntry.objects.get(action="promise.made")
    assert (entry.object_id, entry.actor_label) == (promise.public_id, "alice")


@pytest.mark.parametrize(
    ("due_at", "reason"),
    [
        (None, "required"),
        (datetime(2030, 1, 1, 9, 0), "give a time zone or UTC offset"),  # noqa: DTZ001 - naive on purpose
        ("past", "must be in the future"),
        ("now", "must be in the future"),
        ("far", "at most 5 years ahead"),
    ],
)
def test_a_promise_without_a_future_due_time_is_refused(alice, due_at, reason):
    # given
    customer = CustomerFactory()
    now = clock.now()
    due = {
        "past": now - timedelta(minutes=1),
        "now": now - timedelta(microseconds=1),
        "far": now + timedelta(days=2000),
    }
    value = due.get(due_at, due_at) if isinstance(due_at, str) else due_at

    # when
    with pytest.raises(ValidationError) as refused:
        promises.make_promise(alice.actor, customer=customer, description="Call back", due_at=value)

    # then
    assert refused.value.fields == {"due_at": reason}
    assert Promise.objects.count() == 0
    assert AuditEntry.objects.filter(action="promise.made").count() == 0


@pytest.mark.parametrize(
    ("kwargs", "fields"),
    [
        ({"description": "   "}, {"description": "required"}),
        ({"description": "x" * 501}, {"description": "at most 500 characters"}),
        ({"channel": "pigeon"}, {"channel": "one of email, sms, whatsapp, chat, social, phone, survey, event, note"}),
    ],
)
def test_bad_description_or_channel_is_refused(alice, kwargs, fields):
    with pytest.raises(ValidationError) as refused:
        promises.make_promise(
            alice.actor,
            customer=CustomerFactory(),
            due_at=clock.now() + timedelta(hours=1),
            **{"description": "Call back", **kwargs},
        )
    assert refused.value.fields == fields
    assert Promise.objects.count() == 0


def test_a_promise_on_another_customers_case_or_a_closed_case_is_refused(alice):
    customer = CustomerFactory()
    with pytest.raises(ValidationError) as other:
        _promise(alice, customer=customer, case=CaseFactory())
    with pytest.raises(ValidationError) as closed:
        _promise(alice, customer=customer, case=CaseFactory(customer=customer, status="closed"))
    assert other.value.fields == {"case": "belongs to another customer"}
    assert closed.value.fields == {"case": "is closed"}
    assert Promise.objects.count() == 0


def test_owner_rules(alice, bob, charlie):
    # an agent cannot give their promise to someone else; a supervisor can; an analyst cannot own one
    with pytest.raises(PermissionDeniedError):
        _promise(alice, owner=bob.user)
    given = _promise(bob, owner=alice.user)
    with pytest.raises(ValidationError) as analyst:
        _promise(bob, owner=charlie.user)
    assert (given.owner, given.made_by, given.team) == (alice.user, bob.user, alice.user.team)
    assert analyst.value.fields == {"owner": "cannot own promises"}
    assert Promise.objects.count() == 1


def test_the_outsider_cannot_make_a_promise(charlie):
    with pytest.raises(PermissionDeniedError):
        _promise(charlie)
    assert Promise.objects.count() == 0
    assert AuditEntry.objects.filter(action__startswith="promise.").count() == 0


# --- keeping, cancelling, moving --------------------------------------------------------------------------------


def test_keeping_before_the_due_time_is_on_time(alice, bob, seen, django_capture_on_commit_callbacks):
    # given: alice promised, bob (the receiver of a hand-over) keeps it
    promise = _promise(alice)

    # when
    with django_capture_on_commit_callbacks(execute=True):
        kept = promises.keep_promise(bob.actor, promise, note="Called, refund confirmed")

    # then
    assert (kept.status, kept.was_missed, kept.kept_by, kept.resolution_note) == (
        "kept",
        False,
        bob.user,
        "Called, refund confirmed",
    )
    assert [e.payload() for e in seen if e.name == "promise.kept"] == [
        {"promise_id": promise.public_id, "case_id": "", "on_time": True}
    ]


def test_a_missed_promise_kept_later_is_recorded_as_late(alice, seen, django_capture_on_commit_callbacks):
    # given: a promise that the sweep marked missed
    promise = _promise(alice, due_in=timedelta(minutes=5))
    promises.sweep_promises(at=clock.now() + timedelta(minutes=10))

    # when
    with django_capture_on_commit_callbacks(execute=True):
        kept = promises.keep_promise(alice.actor, Promise.objects.get(pk=promise.pk))

    # then
    assert (kept.status, kept.was_missed) == ("kept", True)
    assert kept.missed_at is not None
    assert [e.payload()["on_time"] for e in seen if e.name == "promise.kept"] == [False]


def test_keeping_after_the_due_time_before_any_sweep_is_late_too(alice, monkeypatch):
    promise = _promise(alice, due_in=timedelta(minutes=5))
    later = clock.now() + timedelta(minutes=6)
    monkeypatch.setattr(clock, "now", lambda: later)

    kept = promises.keep_promise(alice.actor, promise)

    assert (kept.status, kept.was_missed, kept.kept_at) == ("kept", True, later)


def test_a_kept_or_cancelled_promise_cannot_be_kept_again(alice):
    kept = promises.keep_promise(alice.actor, _promise(alice))
    cancelled = promises.cancel_promise(alice.actor, _promise(alice), "Customer called it off")
    for promise in (kept, cancelled):
        with pytest.raises(promises.PromiseClosedError) as refused:
            promises.keep_promise(alice.actor, promise)
        assert refused.value.status == 409
        assert refused.value.fields == {"status": promise.status}


def test_cancelling_needs_a_reason_and_the_right_person(alice, bob, charlie, seen, django_capture_on_commit_callbacks):
    # given
    promise = _promise(bob)  # bob's own promise

    # then: a reason is required; alice (an agent) may not cancel bob's; charlie may change nothing
    with pytest.raises(ValidationError) as no_reason:
        promises.cancel_promise(bob.actor, promise, "  ")
    with pytest.raises(PermissionDeniedError):
        promises.cancel_promise(alice.actor, promise, "Not mine")
    with pytest.raises(PermissionDeniedError):
        promises.cancel_promise(charlie.actor, promise, "Nosy")
    assert no_reason.value.fields == {"reason": "required"}
    assert Promise.objects.get(pk=promise.pk).status == "open"

    # when: its owner cancels it
    with django_capture_on_commit_callbacks(execute=True):
        cancelled = promises.cancel_promise(bob.actor, promise, "Customer no longer needs it")

    # then
    assert (cancelled.status, cancelled.resolution_note) == ("cancelled", "Customer no longer needs it")
    assert cancelled.cancelled_at is not None
    assert [e.payload() for e in seen if e.name == "promise.cancelled"] == [
        {"promise_id": promise.public_id, "reason": "Customer no longer needs it"}
    ]


def test_a_supervisor_may_cancel_an_agents_promise(alice, bob):
    cancelled = promises.cancel_promise(bob.actor, _promise(alice), "Made by mistake")
    assert cancelled.status == "cancelled"


def test_rescheduling_is_a_new_commitment(alice, seen, django_capture_on_commit_callbacks):
    # given: a promise already reminded
    promise = _promise(alice, due_in=timedelta(minutes=30))
    promises.sweep_promises()
    assert Promise.objects.get(pk=promise.pk).reminded_at is not None
    new_due = clock.now() + timedelta(days=1)

    # when
    with django_capture_on_commit_callbacks(execute=True):
        moved = promises.reschedule_promise(alice.actor, promise, new_due, "Parts arrive tomorrow")

    # then: new due time, made again, to be reminded again, announced again, audited with the reason
    moved.refresh_from_db()
    assert (moved.due_at, moved.reminded_at, moved.status) == (new_due, None, "open")
    assert moved.made_at > promise.made_at
    assert [e.payload()["due_at"] for e in seen if e.name == "promise.made"] == [new_due.isoformat()]
    entry = AuditEntry.objects.get(action="promise.rescheduled")
    assert (entry.summary, entry.after["due_at"]) == ("Parts arrive tomorrow", new_due.isoformat())


def test_only_an_open_promise_can_be_rescheduled_and_only_into_the_future(alice):
    promise = _promise(alice, due_in=timedelta(minutes=5))
    with pytest.raises(ValidationError) as past:
        promises.reschedule_promise(alice.actor, promise, clock.now() - timedelta(hours=1), "Oops")
    with pytest.raises(ValidationError) as none:
        promises.reschedule_promise(alice.actor, promise, None, "Oops")
    promises.sweep_promises(at=clock.now() + timedelta(minutes=10))
    with pytest.raises(promises.PromiseClosedError):
        promises.reschedule_promise(alice.actor, promise, clock.now() + timedelta(days=1), "Too late")
    assert past.value.fields == {"due_at": "must be in the future"}
    assert none.value.fields == {"due_at": "required"}
    assert Promise.objects.get(pk=promise.pk).status == "missed"


# --- the sweep ------------------------------------------------------------------------------------------------


def test_the_owner_is_reminded_once_before_the_due_time(alice, seen, django_capture_on_commit_callbacks):
    # given: one promise due in 30 minutes (inside the 60-minute window), one in 3 hours
    soon = _promise(alice, due_in=timedelta(minutes=30), description="Send the form")
    later = _promise(alice, due_in=timedelta(hours=3))

    # when: swept twice
    with django_capture_on_commit_callbacks(execute=True):
        first = promises.sweep_promises()
    with django_capture_on_commit_callbacks(execute=True):
        second = promises.sweep_promises()

    # then
    assert (first.reminded, first.missed, first.notifications) == (1, 0, 1)
    assert (second.reminded, second.missed, second.notifications) == (0, 0, 0)
    assert Promise.objects.get(pk=soon.pk).reminded_at is not None
    assert Promise.objects.get(pk=later.pk).reminded_at is None
    note = Notification.objects.get()
    assert (note.user, note.kind, note.title) == (alice.user, "promise.due_soon", "Promise due soon: Send the form")
    assert note.url == f"/customers/{soon.customer.public_id}/"
    assert [e.payload()["promise_id"] for e in seen if e.name == "promise.due_soon"] == [soon.public_id]


def test_the_reminder_window_follows_the_setting(alice, settings):
    settings.CXLOOP_PROMISE_REMINDER_MINUTES = 240
    _promise(alice, due_in=timedelta(hours=3))
    assert promises.sweep_promises().reminded == 1


def test_an_overdue_promise_escalates_to_the_owners_supervisor(
    alice, bob, ada, seen, django_capture_on_commit_callbacks
):
    # given: alice (team A, whose supervisor is bob) promised a call-back
    case = CaseFactory()
    promise = _promise(alice, customer=case.customer, case=case, due_in=timedelta(minutes=5))
    at = clock.now() + timedelta(minutes=6)

    # when
    with django_capture_on_commit_callbacks(execute=True):
        result = promises.sweep_promises(at=at)

    # then
    missed = Promise.objects.get(pk=promise.pk)
    assert (missed.status, missed.was_missed, missed.missed_at, missed.escalated_to) == ("missed", True, at, bob.user)
    assert (result.missed, result.reminded, result.notifications) == (1, 0, 2)
    assert sorted(Notification.objects.values_list("user__username", "kind", "url")) == [
        ("alice", "promise.missed", _case_url(case)),
        ("bob", "promise.missed", _case_url(case)),
    ]
    assert [e.payload() for e in seen if e.name == "promise.missed"] == [
        {"promise_id": promise.public_id, "case_id": case.public_id, "owner": "alice", "escalated_to": "bob"}
    ]
    entry = AuditEntry.objects.get(action="promise.missed")
    assert (entry.object_id, entry.via) == (promise.public_id, "promise-sweep")
    # and a second sweep changes nothing
    assert promises.sweep_promises(at=at + timedelta(minutes=1)).missed == 0
    assert Notification.objects.count() == 2


def test_without_an_active_supervisor_an_admin_gets_the_escalation(alice, bob, ada):
    User.objects.filter(pk=bob.user.pk).update(is_active=False)
    promise = _promise(alice, due_in=timedelta(minutes=5))

    promises.sweep_promises(at=clock.now() + timedelta(hours=1))

    assert Promise.objects.get(pk=promise.pk).escalated_to == ada.user
    assert sorted(Notification.objects.values_list("user__username", flat=True)) == ["ada", "alice"]


def test_the_sweep_works_in_batches_with_few_queries(alice, bob, monkeypatch):
    # given: 25 overdue and 12 due-soon promises, batches of 10
    monkeypatch.setattr(promises, "SWEEP_BATCH", 10)
    customer = CustomerFactory()
    for _ in range(25):
        _promise(alice, customer=customer, due_in=timedelta(minutes=1))
    for _ in range(12):
        _promise(alice, customer=customer, due_in=timedelta(minutes=100))
    at = clock.now() + timedelta(minutes=50)

    # when
    with CaptureQueriesContext(connection) as queries:
        result = promises.sweep_promises(at=at)

    # then: every row handled once, and the queries grow with batches, not rows
    assert (result.missed, result.reminded, result.notifications) == (25, 12, 25 * 2 + 12)
    assert Promise.objects.filter(status="missed", escalated_to=bob.user).count() == 25
    assert Promise.objects.filter(status="open", reminded_at=at).count() == 12
    assert len(queries) <= 70, [q["sql"] for q in queries]


def test_a_kept_or_cancelled_promise_is_never_swept(alice):
    promises.keep_promise(alice.actor, _promise(alice, due_in=timedelta(minutes=5)))
    promises.cancel_promise(alice.actor, _promise(alice, due_in=timedelta(minutes=5)), "No longer needed")
    result = promises.sweep_promises(at=clock.now() + timedelta(hours=1))
    assert (result.missed, result.reminded) == (0, 0)
    assert Notification.objects.count() == 0


# --- queries --------------------------------------------------------------------------------------------------


def test_promises_due_lists_overdue_first_per_scope(alice, bob, charlie):
    # given
    customer = CustomerFactory()
    overdue = _promise(alice, customer=customer, due_in=timedelta(minutes=1))
    promises.sweep_promises(at=clock.now() + timedelta(minutes=2))
    today = _promise(alice, customer=customer, due_in=timedelta(hours=5))
    next_week = _promise(alice, customer=customer, due_in=timedelta(days=7))
    bobs = _promise(bob, customer=customer, due_in=timedelta(hours=2))

    # then
    assert promise_queries.promises_due(alice.actor, scope="mine") == [overdue, today]
    assert promise_queries.promises_due(alice.actor, scope="team") == [overdue, bobs, today]
    assert promise_queries.promises_due(charlie.actor, scope="team") == []
    assert promise_queries.promises_due(charlie.actor, scope="all") == [overdue, bobs, today]
    assert next_week not in promise_queries.promises_due(alice.actor, scope="all")
    with pytest.raises(ValidationError):
        promise_queries.promises_due(alice.actor, scope="everyone")


def test_customer_and_case_promises(alice):
    customer = CustomerFactory()
    case = CaseFactory(customer=customer)
    later = _promise(alice, customer=customer, case=case, due_in=timedelta(days=2))
    sooner = _promise(alice, customer=customer, due_in=timedelta(hours=2))
    done = promises.keep_promise(alice.actor, _promise(alice, customer=customer, case=case))
    _promise(alice)  # someone else's

    assert promise_queries.customer_promises(alice.actor, customer) == [sooner, later]
    assert promise_queries.case_promises(alice.actor, case) == [later, done]
    assert promise_queries.recently_kept(alice.actor, customer) == [done]


def test_missed_promises_for_the_supervisor(alice, bob):
    promise = _promise(alice, due_in=timedelta(minutes=1))
    _promise(alice, due_in=timedelta(hours=1))
    promises.sweep_promises(at=clock.now() + timedelta(minutes=2))

    assert promise_queries.missed_promises(bob.actor) == [promise]
    assert promise_queries.missed_promises(bob.actor, escalated_to_me=True) == [promise]
    assert promise_queries.missed_promises(alice.actor, escalated_to_me=True) == []


def test_kept_rate_per_owner_and_team(alice, bob, monkeypatch):
    # given: alice keeps 2 on time, 1 late, misses 1, has 1 open and 1 cancelled; bob keeps 1 on time
    customer = CustomerFactory()
    for _ in range(2):
        promises.keep_promise(alice.actor, _promise(alice, customer=customer))
    late = _promise(alice, customer=customer, due_in=timedelta(minutes=1))
    missed = _promise(alice, customer=customer, due_in=timedelta(minutes=1))
    _promise(alice, customer=customer, due_in=timedelta(days=1))
    promises.cancel_promise(alice.actor, _promise(alice, customer=customer), "Not needed")
    promises.keep_promise(bob.actor, _promise(bob, customer=customer))
    promises.sweep_promises(at=clock.now() + timedelta(minutes=2))
    promises.keep_promise(alice.actor, late)
    assert Promise.objects.get(pk=missed.pk).status == "missed"

    # when
    by_owner = promise_queries.kept_rate(alice.actor, by="owner")
    by_team = promise_queries.kept_rate(alice.actor, by="team")

    # then
    assert [(r.key, r.kept_on_time, r.kept_late, r.missed, r.open, r.total, r.rate) for r in by_owner] == [
        ("alice", 2, 1, 1, 1, 5, 0.5),
        ("bob", 1, 0, 0, 0, 1, 1.0),
    ]
    assert [(r.label, r.kept_on_time, r.kept_late, r.missed, r.total) for r in by_team] == [("Team A", 3, 1, 1, 6)]
    # a period that holds none of them
    future = clock.now() + timedelta(days=30)
    assert promise_queries.kept_rate(alice.actor, since=future, until=future + timedelta(days=1)) == []
    with pytest.raises(ValidationError) as empty:
        promise_queries.kept_rate(alice.actor, since=future, until=future)
    assert empty.value.fields == {"until": "must be after since"}


# --- the customer's link ----------------------------------------------------------------------------------------


def test_the_link_names_the_customer_and_is_logged(alice, settings):
    settings.CXLOOP_BASE_URL = "https://cx.example.com/"
    customer = CustomerFactory()

    url = promises.promises_link(alice.actor, customer)

    token = url.removeprefix("https://cx.example.com/p/promises/").rstrip("/")
    assert url == f"https://cx.example.com/p/promises/{token}/"
    assert promises.customer_for_promises_token(token) == customer
    assert AuditEntry.objects.filter(action="promise.link_issued", object_id=customer.public_id).count() == 1


def test_the_outsider_gets_no_link(charlie):
    with pytest.raises(PermissionDeniedError):
        promises.promises_link(charlie.actor, CustomerFactory())
    assert AuditEntry.objects.filter(action="promise.link_issued").count() == 0


def test_forged_expired_or_other_purpose_tokens_are_refused(db, settings):
    customer = CustomerFactory()
    good = promises.promises_token(customer)
    with pytest.raises(promises.PromisesLinkInvalidError):
        promises.customer_for_promises_token(good[:-2] + "xx")
    with pytest.raises(promises.PromisesLinkInvalidError):
        promises.customer_for_promises_token(signing.dumps({"c": customer.public_id}, salt="cxloop.portal.preferences"))
    with pytest.raises(promises.PromisesLinkInvalidError):
        promises.customer_for_promises_token(signing.dumps({"x": 1}, salt=promises.LINK_SALT))
    settings.CXLOOP_PROMISE_LINK_DAYS = 0
    with pytest.raises(promises.PromisesLinkExpiredError):
        promises.customer_for_promises_token(signing.dumps({"c": customer.public_id}, salt=promises.LINK_SALT))


def test_the_scheduled_task_sweeps_and_is_on_the_schedule(alice, bob):
    from cxloop.cases.tasks import sweep_promises as sweep_task
    from cxloop.worker.schedule import SCHEDULE

    _promise(alice, due_in=timedelta(minutes=30))

    assert sweep_task.call() == {"reminded": 1, "missed": 0, "notifications": 1}
    assert sweep_task.call() == {"reminded": 0, "missed": 0, "notifications": 0}
    job = next(job for job in SCHEDULE if job.name == "cases.sweep_promises")
    assert (job.task, job.every) == ("cxloop.cases.tasks.sweep_promises", timedelta(minutes=1))
