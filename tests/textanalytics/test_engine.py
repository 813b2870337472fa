"""analyse(): the contract other modules rely on, on any text at all."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cxloop import textanalytics
from cxloop.textanalytics import EMOTIONS, TextAnalysis, analyse, analyse_many

LABELS = {"positive", "neutral", "negative"}


def _check(result: TextAnalysis) -> None:
    assert -1.0 <= result.sentiment <= 1.0
    assert result.sentiment_label in LABELS
    assert set(result.emotions) <= set(EMOTIONS)
    assert all(0.0 < strength <= 1.0 for strength in result.emotions.values())
    assert result.emotion == (max(result.emotions, key=lambda e: result.emotions[e]) if result.emotions else "")
    assert result.language == "" or (len(result.language) == 2 and result.language.isalpha())
    assert len(result.key_phrases) <= 5
    assert all(p == p.lower() and p.strip() == p and p for p in result.key_phrases)
    assert len(set(result.key_phrases)) == len(result.key_phrases)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(), st.text(max_size=8))
def test_never_raises_and_stays_in_range_on_any_unicode(text: str, hint: str) -> None:
    _check(analyse(text, language_hint=hint))


WORDS = [
    "not",
    "very",
    "NOT",
    "angry",
    "happy",
    "still",
    "waiting",
    "third",
    "time",
    "!!!",
    "but",
    "no",
    "one",
    "answers",
    "kind",
    "of",
    "least",
    "😁",
    "💘",
    ":)",
    "thanks",
    "Danke",
    "merci",
    "?",
    ",",
    ".",
]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(WORDS), max_size=40).map(" ".join))
def test_scores_stay_in_range_on_word_salad(text: str) -> None:
    _check(analyse(text))


def test_analyse_many_gives_one_result_per_text_in_order() -> None:
    texts = ["I am furious!", "Thank you so much, wonderful service!", ""]

    results = analyse_many(texts, language_hint="en")

    assert results == [analyse(t, language_hint="en") for t in texts]
    assert [r.sentiment_label for r in results] == ["negative", "positive", "neutral"]


def test_a_typical_angry_complaint() -> None:
    result = textanalytics.analyse(
        "This is the THIRD time I write to you. Still waiting for my refund and nobody answers. Unacceptable!!!"
    )

    assert result.sentiment_label == "negative"
    assert result.emotion in {"frustration", "anger"}
    assert {"frustration", "anger"} <= set(result.emotions)
    assert result.language == "en"
    assert "third time" in result.key_phrases


def test_results_are_frozen_values() -> None:
    assert analyse("Great, thanks!") == analyse("Great, thanks!")
