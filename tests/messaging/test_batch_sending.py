"""send_messages: the same outcome and the same stored rows as send_message, request by request."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any

import pytest
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext
from django_tasks_db.models import DBTaskResult

from cxloop.channels import services as channel_services
from cxloop.channels.base import RawPayload
from cxloop.core.actor import Actor
from cxloop.core.errors import CxloopError, PermissionDeniedError, ValidationError
from cxloop.customers.models import Customer
from cxloop.events import bus
from cxloop.interactions.models import Thread
from cxloop.messaging import services
from cxloop.messaging.models import DeliveryEvent, OutboundMessage
from cxloop.messaging.services import batch_sending, judging
from cxloop.messaging.types import ConsentChange, SendRequest, TemplateContent
from cxloop.privacy.models import AuditEntry
from tests.messaging.conftest import make_customer

NOON = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)  # 21:00 in Tokyo: quiet hours there, not in London


class World:
    """Customers, consents, suppressions, templates and one earlier keyed message, made once per test."""

    def __init__(self, bob: Any, alice: Any) -> None:
        self.ann = make_customer(
            "Ann Smith", email="ann@example.com", phone="+44 7700 900123", time_zone="Europe/London"
        )
        self.bea = make_customer("Bea Jones", email="bea@example.com", time_zone="Europe/London")
        self.cy = make_customer("Cy Young", email="cy@example.com", time_zone="Europe/London")
        self.dan = make_customer("Dan Ito", email="dan@example.com", time_zone="Asia/Tokyo")
        self.eve = make_customer("Ève Martin", email="eve@example.com", locale="fr", time_zone="Europe/Paris")
        self.gus = make_customer("Gus Nowhere", email="")  # no identity at all
        self.fay = make_customer("Fay Wray", email="fay@example.com", time_zone="Europe/London")
        services.record_consents(bob.actor, self.fay, [ConsentChange("email", "marketing", True)], source="staff")
        self.old = make_customer("Ann Smith (old)", email="ann.old@example.com")
        Customer.objects.filter(pk=self.old.pk).update(status="merged", merged_into=self.ann)
        services.record_consents(bob.actor, self.ann, [ConsentChange("email", "marketing", True)], source="staff")
        services.record_consents(bob.actor, self.eve, [ConsentChange("sms", "service", False)], source="staff")
        services.suppress_address(bob.actor, "email", "cy@example.com", "hard_bounce")
        welcome = services.create_template(
            bob.actor,
            key="welcome",
            name="Welcome",
            channel="email",
            content=TemplateContent(
                locale="en",
                subject="Welcome {{ customer.first_name }}",
                body_text="Hi {{ customer.first_name }}, order {{ order }}{{ missing }}.",
                body_html="<p>Hi {{ customer.name }}</p>",
            ),
        )
        services.save_template_version(
            bob.actor, welcome, TemplateContent(locale="fr", body_text="Bonjour {{ order }}")
        )
        services.create_template(
            bob.actor,
            key="promo",
            name="Promo",
            channel="email",
            purpose="marketing",
            content=TemplateContent(locale="en", subject="Sale", body_text="{{ discount }}% off, {{ customer.name }}"),
        )
        question = EmailMessage()
        question["From"], question["To"], question["Subject"] = "ann@example.com", "care@shop.test", "Where is it?"
        question["Message-ID"] = "<ann-question-1@example.com>"
        question.set_content("My parcel has not come.")
        channel_services.receive(RawPayload(channel="email", data=bytes(question), source="test"))
        self.thread = Thread.objects.get(subject="Where is it?")
        self.earlier = services.send_message(
            alice.actor,
            SendRequest(customer_id=self.bea.public_id, channel="email", text="Earlier", idempotency_key="k-old"),
        )

    def requests(self) -> list[SendRequest]:
        ann, bea, cy, dan, eve, fay = (c.public_id for c in (self.ann, self.bea, self.cy, self.dan, self.eve, self.fay))
        return [
            SendRequest(customer_id=ann, channel="email", template="promo", variables={"discount": 20}),  # consented
            SendRequest(customer_id=bea, channel="email", template="promo", variables={"discount": 5}),  # no consent
            SendRequest(customer_id=cy, channel="email", text="Your parcel", subject="Parcel"),  # suppressed
            SendRequest(customer_id=dan, channel="email", text="Reminder", quiet_hours=True),  # quiet hours
            SendRequest(customer_id=dan, channel="email", text="Receipt"),  # service, not held
            SendRequest(customer_id=ann, channel="email", template="welcome", variables={"agent": "x"}),  # reserved
            SendRequest(customer_id="cus_nobody", channel="email", text="Hello?"),  # unknown customer
            SendRequest(
                customer_id=ann, channel="email", template="welcome", variables={"order": "A-1"}, idempotency_key="k-1"
            ),
            SendRequest(
                customer_id=ann, channel="email", template="welcome", variables={"order": "A-1"}, idempotency_key="k-1"
            ),
            SendRequest(customer_id=ann, channel="email", text="Other words", idempotency_key="k-1"),  # key reused
            SendRequest(customer_id=bea, channel="email", text="Earlier", idempotency_key="k-old"),  # earlier call
            SendRequest(customer_id=bea, channel="email", text="Not earlier", idempotency_key="k-old"),
            SendRequest(customer_id=eve, channel="email", template="welcome", variables={"order": "F-9"}),  # fr
            SendRequest(customer_id=eve, channel="sms", text="Code 1234"),  # no phone
            SendRequest(customer_id=ann, channel="sms", text="Code 1234", automated=True),
            SendRequest(customer_id=ann, channel="email", template="nope"),  # unknown template
            SendRequest(customer_id=ann, channel="email", template="welcome", text="both"),  # template and text
            SendRequest(customer_id=ann, channel="email", text="Hi", to="someone@else.com"),  # not their address
            SendRequest(customer_id=ann, channel="email", template="promo", variables={"discount": 30}),  # 2nd: cap 2
            SendRequest(customer_id=ann, channel="email", template="promo", variables={"discount": 40}),  # over cap
            SendRequest(customer_id=ann, channel="email", text="Free text", purpose="marketing", quiet_hours=True),
            SendRequest(customer_id=bea, channel="email", text="Failed attempt", idempotency_key="k-2", to="x@y.z"),
            SendRequest(customer_id=bea, channel="email", text="Failed attempt", idempotency_key="k-2"),  # after a 422
            SendRequest(customer_id=self.gus.public_id, channel="email", text="Hi"),  # no address
            SendRequest(customer_id=self.old.public_id, channel="email", text="Hi"),  # merged
            # a refused keyed request, its corrected retry, then two more: the cap counts in request order
            SendRequest(customer_id=fay, channel="email", template="promo", idempotency_key="k-3", to="no@x.io"),
            SendRequest(customer_id=fay, channel="email", template="promo", idempotency_key="k-3"),
            SendRequest(customer_id=fay, channel="email", template="promo", variables={"discount": 1}),
            SendRequest(customer_id=fay, channel="email", template="promo", variables={"discount": 2}),
            SendRequest(customer_id=ann, channel="email", text="On its way", thread_id=self.thread.public_id),
            SendRequest(customer_id=bea, channel="email", text="On its way", thread_id=self.thread.public_id),
        ]


class Outcome:
    """What one run left: results, new messages, delivery events, audit entries, events and task rows, with
    every public id and key replaced by the request that made it (or "earlier"), so two runs compare equal."""

    def __init__(self, world: World, results: list[OutboundMessage | CxloopError], since: dict[str, int]) -> None:
        created = OutboundMessage.objects.filter(pk__gt=since["message"]).order_by("pk")
        labels = {world.earlier.public_id: "earlier"}
        for index, result in enumerate(results):
            if isinstance(result, OutboundMessage) and result.public_id not in labels:
                labels[result.public_id] = f"request {index}"
        self.labels = labels
        by_pk = {m.pk: labels[m.public_id] for m in created} | {world.earlier.pk: "earlier"}
        self.results = [self._result(r) for r in results]
        self.messages = [
            {k: v for k, v in row.items() if k not in ("id", "public_id", "created_at", "updated_at")}
            for row in created.values()
        ]
        self.delivery = [
            (by_pk[e.message_id], e.state, e.occurred_at, e.detail, e.error_code, e.applied)
            for e in DeliveryEvent.objects.filter(message_id__in=by_pk).exclude(message=world.earlier).order_by("pk")
        ]
        self.audit = [
            {k: self._swap(v) for k, v in row.items() if k != "id"}
            for row in AuditEntry.objects.filter(pk__gt=since["audit"]).order_by("pk").values()
        ]
        self.dispatched = sorted(
            by_pk[pk]
            for row in DBTaskResult.objects.filter(enqueued_at__gte=since["tasks_at"])
            for pk in _flat(row.args_kwargs["args"])
        )

    def _swap(self, value: Any) -> Any:
        if isinstance(value, str):
            for public_id, label in self.labels.items():
                value = value.replace(public_id, label)
            return value
        if isinstance(value, dict):
            return {k: self._swap(v) for k, v in value.items()}
        return value

    def _result(self, result: OutboundMessage | CxloopError) -> tuple[Any, ...]:
        if isinstance(result, CxloopError):
            return ("error", type(result).__name__, result.code, result.status, result.message, result.fields)
        return ("message", self.labels[result.public_id], result.status, result.reason_code, result.to_address)


def _flat(args: list[Any]) -> list[int]:
    return [pk for arg in args for pk in (arg if isinstance(arg, list) else [arg])]


def _events(received: list[bus.DomainEvent], outcome: Outcome) -> list[tuple[str, dict[str, Any]]]:
    return [(e.name, outcome._swap(e.payload())) for e in received]


def _marks() -> dict[str, Any]:
    last_message = OutboundMessage.objects.order_by("-pk").first()
    last_audit = AuditEntry.objects.order_by("-pk").first()
    return {
        "message": last_message.pk if last_message else 0,
        "audit": last_audit.pk if last_audit else 0,
        "tasks_at": datetime.now(UTC),
    }


def _forget(since: dict[str, Any]) -> None:
    """Undo a run (its messages, their delivery events, audit entries and task rows) so the next starts equal."""
    OutboundMessage.objects.filter(pk__gt=since["message"]).delete()
    AuditEntry.objects.filter(pk__gt=since["audit"]).delete()
    DBTaskResult.objects.filter(enqueued_at__gte=since["tasks_at"]).delete()


@pytest.fixture
def world(db, bob, alice, settings, frozen, senders) -> World:  # type: ignore[no-untyped-def]
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}  # task rows to compare
    settings.CXLOOP_QUIET_HOURS = "21:00-08:00"
    settings.CXLOOP_MARKETING_CAP = "2/7d"
    frozen(NOON)
    return World(bob, alice)


def _one_by_one(actor: Actor, requests: list[SendRequest]) -> list[OutboundMessage | CxloopError]:
    results: list[OutboundMessage | CxloopError] = []
    for request in requests:
        try:
            results.append(services.send_message(actor, request))
        except CxloopError as exc:
            results.append(exc)
    return results


def _run(
    world: World, received: list[bus.DomainEvent], capture: Any, send: Callable[[], list[Any]]
) -> tuple[Outcome, list[tuple[str, dict[str, Any]]]]:
    since = _marks()
    received.clear()
    with capture(execute=True):
        results = send()
    outcome = Outcome(world, results, since)
    events = _events(received, outcome)
    _forget(since)
    return outcome, events


@pytest.mark.parametrize("chunk", [500, 4])  # one chunk, or several: the cap and the keys carry across them
def test_each_request_gets_what_send_message_gives_it_and_the_same_rows(
    world, alice, received, django_capture_on_commit_callbacks, monkeypatch, chunk
):
    monkeypatch.setattr(batch_sending, "CHUNK", chunk)
    requests = world.requests()

    single, single_events = _run(
        world, received, django_capture_on_commit_callbacks, lambda: _one_by_one(alice.actor, requests)
    )
    batch, batch_events = _run(
        world, received, django_capture_on_commit_callbacks, lambda: services.send_messages(alice.actor, requests)
    )

    # the outcome of each request, spelled out once, then the same for the batch
    assert [r[:4] for r in single.results] == [
        ("message", "request 0", "queued", ""),
        ("message", "request 1", "blocked", "no_consent"),
        ("message", "request 2", "blocked", "suppressed"),
        ("message", "request 3", "scheduled", "quiet_hours"),
        ("message", "request 4", "queued", ""),
        ("error", "ValidationError", "validation_error", 422),
        ("error", "NotFoundError", "customer_not_found", 404),
        ("message", "request 7", "queued", ""),
        ("message", "request 7", "queued", ""),
        ("error", "ValidationError", "idempotency_key_reused", 422),
        ("message", "earlier", "queued", ""),
        ("error", "ValidationError", "idempotency_key_reused", 422),
        ("message", "request 12", "queued", ""),
        ("error", "ValidationError", "validation_error", 422),
        ("message", "request 14", "queued", ""),
        ("error", "TemplateNotFoundError", "template_not_found", 404),
        ("error", "ValidationError", "validation_error", 422),
        ("error", "ValidationError", "validation_error", 422),
        ("message", "request 18", "queued", ""),
        ("message", "request 19", "blocked", "frequency_cap"),
        ("message", "request 20", "blocked", "frequency_cap"),
        ("error", "ValidationError", "validation_error", 422),
        ("message", "request 22", "queued", ""),
        ("error", "ValidationError", "validation_error", 422),
        ("error", "ValidationError", "validation_error", 422),
        ("error", "ValidationError", "validation_error", 422),
        ("message", "request 26", "queued", ""),
        ("message", "request 27", "queued", ""),
        ("message", "request 28", "blocked", "frequency_cap"),
        ("message", "request 29", "queued", ""),
        ("error", "ValidationError", "validation_error", 422),
    ]
    assert single.results[23][-1] == {"to": "the customer has no email identity"}
    assert single.results[24][-1] == {"customer": f"merged into {world.ann.public_id}; send there"}
    assert batch.results == single.results
    assert batch.messages == single.messages
    assert batch.delivery == single.delivery
    assert batch.audit == single.audit
    assert batch_events == single_events
    assert (
        batch.dispatched
        == single.dispatched
        == [
            "request 0",
            "request 12",
            "request 14",
            "request 18",
            "request 22",
            "request 26",
            "request 27",
            "request 29",
            "request 4",
            "request 7",
        ]
    )
    # what the rows say, beyond being equal: the French version, the rendered words, the flags
    by_text = {m["body_text"]: m for m in single.messages}
    assert set(by_text) >= {"20% off, Ann Smith", "Hi Ann, order A-1.", "Bonjour F-9", "Code 1234"}
    assert (by_text["Hi Ann, order A-1."]["subject"], by_text["Hi Ann, order A-1."]["body_html"]) == (
        "Welcome Ann",
        "<p>Hi Ann Smith</p>",
    )
    assert (by_text["Code 1234"]["automated"], by_text["Code 1234"]["to_address"]) == (True, "+447700900123")
    assert by_text["Reminder"]["next_attempt_at"] == datetime(2026, 7, 1, 23, 0, tzinfo=UTC)
    assert (by_text["On its way"]["subject"], by_text["On its way"]["reply_context"]["in_reply_to"]) == (
        "Re: Where is it?",
        "ann-question-1@example.com",
    )
    assert single.results[30][-1] == {"thread_id": "not a thread of this customer"}
    assert [row["action"] for row in single.audit].count("message.blocked") == 5
    assert [name for name, _ in single_events].count("message.queued") == 11


def _statements(actor: Actor, requests: list[SendRequest]) -> list[str]:
    with CaptureQueriesContext(connection) as queries:
        results = services.send_messages(actor, requests)
    assert [r.status for r in results if isinstance(r, OutboundMessage)] == ["queued"] * len(requests)
    return [q["sql"] for q in queries.captured_queries]


def test_the_statements_do_not_grow_with_the_batch(world, alice):
    def requests(count: int, tag: str) -> list[SendRequest]:
        customers = (world.ann, world.bea, world.dan)
        return [
            SendRequest(customer_id=customers[n % 3].public_id, channel="email", text=f"{tag} {n}")
            for n in range(count)
        ] + [
            SendRequest(customer_id=world.dan.public_id, channel="email", template="welcome", variables={"order": n})
            for n in range(count)
        ]

    few = _statements(alice.actor, requests(5, "few"))
    many = _statements(alice.actor, requests(25, "many"))

    # customers, identities, template, version, suppressions, consents, then the writes; one dispatch task each
    assert len(many) == len(few)
    assert len([sql for sql in many if sql.startswith("SELECT")]) == len(
        [sql for sql in few if sql.startswith("SELECT")]
    )
    tasks = DBTaskResult.objects.filter(task_path="cxloop.messaging.tasks.dispatch_messages").order_by("enqueued_at")
    assert [len(task.args_kwargs["args"][0]) for task in tasks] == [10, 50]


def test_a_retried_batch_answers_with_the_messages_of_the_first_and_stores_nothing(world, alice):
    requests = [
        SendRequest(customer_id=c.public_id, channel="email", text="Step 3", idempotency_key=f"enrolment-{n}:3")
        for n, c in enumerate((world.ann, world.bea, world.cy))
    ]
    first = services.send_messages(alice.actor, requests)
    rows = (OutboundMessage.objects.count(), DeliveryEvent.objects.count(), AuditEntry.objects.count())
    tasks = DBTaskResult.objects.count()

    again = services.send_messages(alice.actor, [*requests, replace(requests[0], text="Step 3, edited")])

    assert [m.pk for m in again[:3]] == [m.pk for m in first]  # type: ignore[union-attr]
    assert [m.status for m in again[:3]] == ["queued", "queued", "blocked"]  # type: ignore[union-attr]
    assert isinstance(again[3], ValidationError)
    assert again[3].code == "idempotency_key_reused"
    assert (OutboundMessage.objects.count(), DeliveryEvent.objects.count(), AuditEntry.objects.count()) == rows
    assert DBTaskResult.objects.count() == tasks


def test_a_key_stored_meanwhile_by_another_call_is_answered_with_that_message(world, alice, monkeypatch):
    # given: the replay read sees nothing, as when a concurrent call stores the key after it
    ann = world.ann.public_id
    first = services.send_message(
        alice.actor, SendRequest(customer_id=ann, channel="email", text="A", idempotency_key="k-9")
    )
    monkeypatch.setattr(batch_sending, "_stored_under_keys", lambda scope, keys: {})

    results = services.send_messages(
        alice.actor,
        [
            SendRequest(customer_id=ann, channel="email", text="B"),
            SendRequest(customer_id=ann, channel="email", text="A", idempotency_key="k-9"),
            SendRequest(customer_id=ann, channel="email", text="C", idempotency_key="k-10"),
        ],
    )

    assert [r.pk == first.pk for r in results] == [False, True, False]  # type: ignore[union-attr]
    assert list(
        OutboundMessage.objects.filter(customer=world.ann).order_by("pk").values_list("body_text", flat=True)
    ) == [
        "A",
        "B",
        "C",
    ]
    assert DeliveryEvent.objects.filter(message__customer=world.ann).count() == 3
    assert AuditEntry.objects.filter(action="message.queued", object_id=ann).count() == 3


def test_an_actor_who_may_not_send_is_refused_and_nothing_is_stored(world, charlie):
    before = (OutboundMessage.objects.count(), AuditEntry.objects.count())

    with pytest.raises(PermissionDeniedError):
        services.send_messages(
            charlie.actor, [SendRequest(customer_id=world.ann.public_id, channel="email", text="Hi")]
        )

    assert (OutboundMessage.objects.count(), AuditEntry.objects.count()) == before


def test_queued_messages_are_dispatched_by_the_batch_task(
    world, alice, senders, settings, django_capture_on_commit_callbacks
):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    requests = [
        SendRequest(customer_id=c.public_id, channel="email", text="Hi") for c in (world.ann, world.bea, world.cy)
    ]

    with django_capture_on_commit_callbacks(execute=True):
        results = services.send_messages(alice.actor, requests)

    assert [OutboundMessage.objects.get(pk=r.pk).status for r in results] == ["sent", "sent", "blocked"]  # type: ignore[union-attr]
    assert [p.to for p in senders["email"].sent] == ["ann@example.com", "bea@example.com"]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "locks",
    [True, False],  # with the key locks, in different orders; without, in one order (the unique index decides)
)
def test_concurrent_calls_with_the_same_keys_store_each_message_once(settings, monkeypatch, locks):
    if not locks:
        monkeypatch.setattr(batch_sending, "MAX_KEY_LOCKS", 0)
    if connection.vendor != "postgresql":
        pytest.skip("SQLite has one writer at a time; the keys are exercised by the sequential tests there")
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    actor = Actor.system("journeys")
    customers = [make_customer(f"C {n}", email=f"c{n}@example.com") for n in range(30)]
    requests = [
        SendRequest(customer_id=c.public_id, channel="email", text=f"Step {n}", idempotency_key=f"enrolment-{n}:2")
        for n, c in enumerate(customers)
    ]
    start = threading.Barrier(3, timeout=10)
    answers: list[dict[str, int]] = []
    failures: list[BaseException] = []

    def worker(order: list[SendRequest]) -> None:
        try:
            start.wait()
            results = services.send_messages(actor, order)
            answers.append({r.idempotency_key: r.pk for r in results})  # type: ignore[union-attr]
        except BaseException as exc:  # noqa: BLE001 - reported below
            failures.append(exc)
        finally:
            connections.close_all()

    orders = [requests, requests[::-1], requests[15:] + requests[:15]] if locks else [requests] * 3
    threads = [threading.Thread(target=worker, args=(order,)) for order in orders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert failures == []
    assert answers[0] == answers[1] == answers[2]
    assert OutboundMessage.objects.count() == 30
    assert DeliveryEvent.objects.count() == 30
    assert AuditEntry.objects.filter(action="message.queued").count() == 30
    assert sum(len(task.args_kwargs["args"][0]) for task in DBTaskResult.objects.all()) == 30


def test_the_facts_of_many_subjects_are_those_of_each_alone(db, bob, frozen):
    ann = make_customer("Ann", email="ann@example.com", phone="+44 7700 900123")
    bea = make_customer("Bea", email="bea@example.com")
    cy = make_customer("Cy", email="cy@example.com")
    services.suppress_address(bob.actor, "email", "ann@example.com", "complaint")
    services.suppress_address(bob.actor, "email", "ANN+x@example.com", "hard_bounce")  # the older reason stays
    services.suppress_address(bob.actor, "sms", "+447700900123", "keyword_stop")
    for minute, (customer, channel, purpose, granted) in enumerate(
        [
            (bea, "email", "marketing", True),
            (bea, "*", "marketing", False),  # later: withdrawn everywhere
            (cy, "*", "marketing", False),
            (cy, "email", "marketing", True),  # later: granted on email again
            (cy, "sms", "service", False),
        ]
    ):
        frozen(NOON.replace(minute=minute))
        services.record_consents(bob.actor, customer, [ConsentChange(channel, purpose, granted)], source="staff")
    subjects = [
        judging.Subject(customer.pk, channel, address, purpose)
        for customer, address in ((ann, "ann@example.com"), (bea, "bea@example.com"), (cy, "cy@example.com"))
        for channel, purpose in (("email", "marketing"), ("email", "service"), ("sms", "service"))
    ] + [
        judging.Subject(ann.pk, "sms", "+447700900123", "service"),
        judging.Subject(bea.pk, "email", "not an address", "service"),
    ]

    together = judging.read_facts(subjects)

    assert together == [judging.read_facts([subject])[0] for subject in subjects]
    assert [(f.suppression_reason, f.granted) for f in together] == [
        ("complaint", None),
        ("complaint", None),
        (None, None),  # ann's email on sms: no such suppression
        (None, False),
        (None, None),
        (None, None),
        (None, True),
        (None, None),
        (None, False),
        ("keyword_stop", None),
        (None, None),
    ]
