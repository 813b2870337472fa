"""`cxloop textanalytics backfill`: history scored in batches with a progress bar; --since, --all; resumable after
an interruption and idempotent."""

from __future__ import annotations

from datetime import UTC, datetime
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from cxloop import textanalytics
from cxloop.core.actor import Actor
from cxloop.interactions import services as interaction_services
from cxloop.interactions.models import Interaction
from tests.customers.factories import CustomerFactory
from tests.interactions.factories import InteractionFactory

pytestmark = pytest.mark.django_db

TEXTS = [
    "I love the new app, thank you!",
    "My card was blocked again and nobody helps. Terrible.",
    "When does the branch open?",
]


def _history(count: int, *, at: datetime | None = None) -> list[Interaction]:
    customer = CustomerFactory()
    extra = {"occurred_at": at} if at is not None else {}
    return [
        InteractionFactory(customer=customer, channel="chat", body=TEXTS[n % len(TEXTS)], **extra) for n in range(count)
    ]


def _backfill(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("textanalytics", "backfill", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def _scored() -> int:
    return Interaction.objects.filter(text_analysed_at__isnull=False).count()


def test_history_is_scored_in_batches_with_a_progress_bar():
    rows = _history(25)

    out, err = _backfill("--batch", "4")

    assert "Scored 25 texts (25 interactions looked at)." in out
    progress = [line for line in err.splitlines() if line.startswith("Scoring texts")]
    assert progress[-1].split("]")[1].split()[0] == "25/25"
    assert len(progress) >= 2  # it moved while working, not only at the end
    for row in Interaction.objects.filter(pk__in=[r.pk for r in rows]):
        expected = textanalytics.analyse(row.body)
        assert (row.sentiment, row.emotion) == (pytest.approx(expected.sentiment), expected.emotion)
        assert row.metadata["sentiment_label"] == expected.sentiment_label


def test_a_second_run_has_nothing_to_do_and_changes_nothing():
    _history(6)
    _backfill()
    before = list(Interaction.objects.order_by("pk").values_list("sentiment", "emotion", "metadata"))

    out, _ = _backfill()

    assert "Scored 0 texts (0 interactions looked at)." in out
    assert list(Interaction.objects.order_by("pk").values_list("sentiment", "emotion", "metadata")) == before


def test_an_interrupted_run_is_resumed_by_running_it_again(monkeypatch):
    # given: an engine that fails on the third batch
    _history(10)
    real, calls = textanalytics.analyse, [0]

    def failing(text: str, *, language_hint: str = "") -> textanalytics.TextAnalysis:
        calls[0] += 1
        if calls[0] > 6:
            raise RuntimeError("killed")
        return real(text, language_hint=language_hint)

    monkeypatch.setattr(textanalytics, "analyse", failing)
    with pytest.raises(RuntimeError):
        _backfill("--batch", "3")
    assert _scored() == 6  # the two batches done are kept

    # when: it runs again
    monkeypatch.setattr(textanalytics, "analyse", real)
    out, _ = _backfill("--batch", "3")

    # then: only the rest was scored
    assert "Scored 4 texts (4 interactions looked at)." in out
    assert _scored() == 10


def test_since_limits_the_run_to_recent_history():
    old = _history(3, at=datetime(2025, 1, 10, 12, tzinfo=UTC))
    recent = _history(2, at=datetime(2025, 6, 1, 12, tzinfo=UTC))

    out, _ = _backfill("--since", "2025-03-01")

    assert "Scored 2 texts (2 interactions looked at)." in out
    assert set(Interaction.objects.filter(text_analysed_at__isnull=False).values_list("pk", flat=True)) == {
        r.pk for r in recent
    }
    assert all(r.text_analysed_at is None for r in Interaction.objects.filter(pk__in=[o.pk for o in old]))


def test_all_rescores_what_was_scored_before():
    # given: rows scored by an older analysis
    rows = _history(4)
    stale = textanalytics.TextAnalysis(sentiment=0.0, sentiment_label="neutral", emotion="surprise")
    interaction_services.store_text_analyses(Actor.system("test"), [(r.pk, stale) for r in rows])

    # when: a plain run leaves them alone, --all scores them again
    assert "Scored 0 texts (0 interactions looked at)." in _backfill()[0]
    out, err = _backfill("--all")

    # then
    assert "4 texts scored before will be scored again" in err
    assert "Scored 4 texts (4 interactions looked at)." in out
    for row in Interaction.objects.filter(pk__in=[r.pk for r in rows]):
        assert row.sentiment == pytest.approx(textanalytics.analyse(row.body).sentiment)
        assert row.emotion == textanalytics.analyse(row.body).emotion


def test_all_with_since_rescores_only_that_period():
    old = _history(2, at=datetime(2025, 1, 10, 12, tzinfo=UTC))
    recent = _history(2, at=datetime(2025, 6, 1, 12, tzinfo=UTC))
    stale = textanalytics.TextAnalysis(sentiment=0.0, sentiment_label="neutral", emotion="surprise")
    interaction_services.store_text_analyses(Actor.system("test"), [(r.pk, stale) for r in [*old, *recent]])

    out, _ = _backfill("--all", "--since", "2025-05-01T00:00:00+00:00")

    assert "Scored 2 texts (2 interactions looked at)." in out
    assert list(Interaction.objects.filter(pk__in=[o.pk for o in old]).values_list("emotion", flat=True)) == [
        "surprise",
        "surprise",
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--batch", "0"], "--batch must be from 1 to 5000"),
        (["--batch", "5001"], "--batch must be from 1 to 5000"),
        (["--since", "last tuesday"], "give a date"),
        (["--since", "2025-01-01T10:00:00"], "needs its offset"),
    ],
)
def test_bad_arguments_are_refused_before_anything_is_scored(args, message):
    _history(2)

    with pytest.raises(CommandError, match=message):
        _backfill(*args)

    assert _scored() == 0
