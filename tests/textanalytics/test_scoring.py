"""The customer's words scored after ingest: which rows, what is stored, how the worker is asked, and that nothing
is added to the ingest transaction itself."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from email.message import EmailMessage
from email.utils import make_msgid

import pytest
from django_tasks_db.models import DBTaskResult

from cxloop import textanalytics
from cxloop.channels import services as channel_services
from cxloop.channels.base import RawPayload
from cxloop.core import clock
from cxloop.core.actor import Actor
from cxloop.interactions import queries as interaction_queries
from cxloop.interactions import services as interaction_services
from cxloop.interactions.models import Interaction
from cxloop.interactions.types import InteractionInput
from cxloop.textanalytics import services, tasks
from cxloop.worker.schedule import SCHEDULE
from tests.customers.factories import CustomerFactory
from tests.interactions.factories import InteractionFactory

pytestmark = pytest.mark.django_db

SCORE_TASK = "cxloop.textanalytics.tasks.score_pending_texts"
ANGRY = "This is the third time you charged me twice. I am furious and I want my money back now!"
HAPPY = "Thank you so much, the new card arrived today and works perfectly. Great service!"


@pytest.fixture(autouse=True)
def fresh_kick() -> Iterator[None]:
    tasks.reset_kick()
    yield
    tasks.reset_kick()


def _email(body: str, sender: str = "mia@example.com", subject: str = "My card") -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, "support@shop.test", subject
    msg["Message-ID"] = make_msgid(domain="example.com")
    msg.set_content(body)
    return bytes(msg)


def _receive(data: bytes) -> Interaction:
    inbound = channel_services.receive(RawPayload(channel="email", data=data, source="test"))
    return Interaction.objects.get(public_id=inbound.interaction_refs[0])


def _pending() -> list[int]:
    return [row.id for row in interaction_queries.texts_to_analyse(Actor.system("test"), limit=1000)]


def test_an_inbound_email_is_stored_unscored_and_the_worker_scores_it(django_capture_on_commit_callbacks):
    # given: an angry email through the real inbound pipeline
    with django_capture_on_commit_callbacks(execute=True):
        message = _receive(_email(ANGRY))

    # then: ingest stored no score, and asked the worker for one a little later
    assert (message.sentiment, message.emotion, message.text_analysed_at) == (None, "", None)
    assert _pending() == [message.pk]
    kick = DBTaskResult.objects.get(task_path=SCORE_TASK)
    assert kick.status == "READY"
    assert kick.run_after is not None
    assert kick.run_after > clock.now()

    # when: the task runs
    assert tasks.score_pending_texts.call() == 1

    # then: the scores of the contract are on the row; the channel's metadata is kept; themes are untouched
    message.refresh_from_db()
    expected = textanalytics.analyse(ANGRY)
    assert message.sentiment == pytest.approx(expected.sentiment)
    assert message.sentiment < -0.5
    assert message.emotion == expected.emotion
    assert message.metadata["sentiment_label"] == "negative"
    assert message.metadata["emotions"] == pytest.approx(expected.emotions)
    assert message.metadata["key_phrases"] == list(expected.key_phrases)
    assert message.metadata["kind"] == "message"
    assert message.metadata["inbound"].startswith("inb")
    assert message.themes == []
    assert message.text_analysed_at is not None
    assert _pending() == []


def test_only_the_customers_words_are_scored():
    customer = CustomerFactory()
    wanted = [
        InteractionFactory(customer=customer, channel=channel, direction="inbound", body=HAPPY, summary=HAPPY)
        for channel in ("email", "sms", "whatsapp", "chat", "social")
    ]
    call_notes = [
        InteractionFactory(customer=customer, channel="phone", direction=direction, body=ANGRY, summary="Call")
        for direction in ("inbound", "outbound")
    ]
    ignored = [
        InteractionFactory(customer=customer, channel="email", direction="outbound", body=ANGRY),
        InteractionFactory(customer=customer, channel="note", direction="internal", body=ANGRY),
        InteractionFactory(customer=customer, channel="survey", direction="inbound", body=ANGRY),
        InteractionFactory(customer=customer, channel="event", direction="inbound", body="order.placed"),
        InteractionFactory(customer=customer, channel="phone", direction="internal", body=ANGRY),
    ]

    assert services.score_pending() == 7

    for row in Interaction.objects.filter(pk__in=[i.pk for i in wanted]):
        assert (row.metadata["sentiment_label"], row.sentiment > 0.5) == ("positive", True)
    for row in Interaction.objects.filter(pk__in=[i.pk for i in call_notes]):
        assert (row.metadata["sentiment_label"], row.sentiment < -0.5) == ("negative", True)
    # the others were looked at and left without scores
    for row in Interaction.objects.filter(pk__in=[i.pk for i in ignored]):
        assert (row.sentiment, row.emotion, "sentiment_label" in row.metadata) == (None, "", False)
        assert row.text_analysed_at is not None
    assert _pending() == []


def test_auto_replies_bounces_and_empty_messages_are_marked_done_without_scores():
    auto = InteractionFactory(body="I am out of the office until Monday.", metadata={"kind": "auto_reply"})
    bounce = InteractionFactory(body="Delivery failed: mailbox full", metadata={"kind": "bounce"})
    empty = InteractionFactory(channel="whatsapp", body="", summary="   ")

    assert services.score_pending() == 0

    for row in Interaction.objects.filter(pk__in=[auto.pk, bounce.pk, empty.pk]):
        assert row.text_analysed_at is not None
        assert (row.sentiment, row.emotion, "sentiment_label" in row.metadata) == (None, "", False)
    assert _pending() == []


def test_scores_replace_old_ones_and_an_unknown_language_keeps_the_channels():
    # given: a row scored before, with a language the channel knew and old emotions
    row = InteractionFactory(
        channel="chat",
        body=HAPPY,
        sentiment=-0.9,
        emotion="fear",
        metadata={"language": "en", "widget": "v2", "emotions": {"fear": 0.9, "anger": 0.4}},
    )
    analysis = textanalytics.TextAnalysis(
        sentiment=0.8, sentiment_label="positive", emotions={"joy": 0.7}, emotion="joy", language=""
    )

    at = clock.now() - timedelta(minutes=5)

    # when
    interaction_services.store_text_analyses(Actor.system("test"), [(row.pk, analysis)], at=at)

    # then: the emotions are the new ones (not merged with the old), the rest of the metadata is kept
    row.refresh_from_db()
    assert (row.sentiment, row.emotion, row.text_analysed_at) == (0.8, "joy", at)
    assert Interaction.objects.filter(text_analysed_at__lt=at + timedelta(seconds=1), pk=row.pk).exists()
    assert row.metadata == {
        "language": "en",
        "widget": "v2",
        "emotions": {"joy": 0.7},
        "sentiment_label": "positive",
        "key_phrases": [],
    }


def test_a_detected_language_is_stored_where_routing_reads_it():
    row = InteractionFactory(channel="sms", body="Hola", metadata={"language": "en"})
    analysis = textanalytics.TextAnalysis(sentiment=0.0, sentiment_label="neutral", language="es")

    interaction_services.store_text_analyses(Actor.system("test"), [(row.pk, analysis)])

    row.refresh_from_db()
    assert row.metadata["language"] == "es"


def test_a_batch_costs_the_same_few_queries_whatever_its_size(django_assert_max_num_queries):
    customer = CustomerFactory()
    for n in range(120):
        InteractionFactory(customer=customer, channel="sms", body=f"Message {n}: {HAPPY if n % 2 else ANGRY}")

    InteractionFactory(customer=customer, channel="sms", direction="outbound", body="Our answer")

    # one read of the batch, one bulk write of the scores, one of the rows without the customer's words
    # (+ savepoint), one read that finds nothing more
    with django_assert_max_num_queries(6):
        assert services.score_pending(batch=500) == 120

    assert _pending() == []


def test_newest_first_batches_and_a_bounded_run_leave_the_rest_for_later():
    customer = CustomerFactory()
    rows = [InteractionFactory(customer=customer, channel="sms", body=HAPPY) for _ in range(5)]

    assert services.score_pending(batch=2, max_batches=1) == 2

    still = sorted(_pending())
    assert still == sorted(r.pk for r in rows)[:3]  # the two newest went first
    assert services.score_pending(batch=2) == 3
    assert _pending() == []


def test_a_long_email_is_scored_on_its_whole_new_part_not_the_cut_summary():
    new_part = "The first lines are calm. " * 25 + "But I am absolutely furious about the fees, this is a scam."
    body = new_part + "\n\nOn Mon, 6 Jan 2025 at 10:00, Support <support@shop.test> wrote:\n> We love our customers!\n"
    summary = " ".join(new_part.split())[:479] + "…"

    text = services.text_of("email", "inbound", summary, body)

    assert "furious" in text
    assert "scam" in text
    assert "love our customers" not in text
    assert services.text_of("email", "inbound", "Short and new", body) == "Short and new"
    assert services.text_of("sms", "inbound", "summary", "the body") == "the body"


def test_the_kick_is_enqueued_once_per_process_within_its_window(django_capture_on_commit_callbacks, monkeypatch):
    # given: the clock of the kick frozen within one window
    now = [1000.0]
    monkeypatch.setattr(tasks.time, "monotonic", lambda: now[0])
    customer = CustomerFactory()

    def record(body: str, direction: str = "inbound") -> None:
        interaction_services.record_interaction(
            Actor.system("test"), customer, InteractionInput(channel="sms", direction=direction, body=body)
        )

    # when: three customer messages and an answer in the window, then one more after it
    with django_capture_on_commit_callbacks(execute=True):
        record("first")
    with django_capture_on_commit_callbacks(execute=True):
        record("second")
        record("our answer", direction="outbound")
    with django_capture_on_commit_callbacks(execute=True):
        record("third")
    assert DBTaskResult.objects.filter(task_path=SCORE_TASK).count() == 1
    now[0] += tasks.KICK_SECONDS
    with django_capture_on_commit_callbacks(execute=True):
        record("fourth")

    # then
    assert DBTaskResult.objects.filter(task_path=SCORE_TASK).count() == 2


def test_an_answer_or_a_note_asks_for_no_scoring(django_capture_on_commit_callbacks):
    customer = CustomerFactory()

    with django_capture_on_commit_callbacks(execute=True):
        for channel, direction in (("email", "outbound"), ("note", "internal"), ("survey", "inbound")):
            interaction_services.record_interaction(
                Actor.system("test"), customer, InteractionInput(channel=channel, direction=direction, body="x")
            )

    assert not DBTaskResult.objects.filter(task_path=SCORE_TASK).exists()


def test_batch_ingest_writes_no_scores_and_kicks_once(django_capture_on_commit_callbacks):
    from cxloop.customers.types import IdentityInput
    from cxloop.interactions.types import InboundItem

    items = [
        InboundItem(
            identities=[IdentityInput(kind="email", value=f"p{n}@example.com")],
            interaction=InteractionInput(channel="email", direction="inbound", body=ANGRY),
        )
        for n in range(30)
    ]

    with django_capture_on_commit_callbacks(execute=True):
        result = interaction_services.ingest_batch(Actor.system("test"), items)

    assert result.stored == 30
    assert not Interaction.objects.filter(sentiment__isnull=False).exists()
    assert DBTaskResult.objects.filter(task_path=SCORE_TASK).count() == 1
    assert len(_pending()) == 30


def test_the_sweep_is_on_the_schedule_every_minute():
    (job,) = [job for job in SCHEDULE if job.name == "textanalytics.score_pending"]

    assert (job.task, job.every) == (SCORE_TASK, timedelta(minutes=1))


@pytest.mark.django_db(transaction=True)
def test_the_worker_scores_what_ingest_left(monkeypatch):
    # given: a committed customer message, and the schedule's text-analytics job alone (the others are theirs)
    from io import StringIO

    from django.core.management import call_command

    from cxloop.worker import schedule

    monkeypatch.setattr(schedule, "SCHEDULE", [j for j in SCHEDULE if j.name == "textanalytics.score_pending"])
    message = interaction_services.record_interaction(
        Actor.system("test"), CustomerFactory(), InteractionInput(channel="chat", direction="inbound", body=ANGRY)
    )

    # when: one pass of the worker
    out = StringIO()
    call_command("worker", "--batch", stdout=out)

    # then
    assert "enqueued periodic job textanalytics.score_pending" in out.getvalue()
    message.refresh_from_db()
    assert message.metadata["sentiment_label"] == "negative"
    assert DBTaskResult.objects.filter(task_path=SCORE_TASK, status="SUCCESSFUL").count() == 1
