"""Emotions from cxloop's lexicon: negation, boosters, capitals, "!", customer-service phrasing, and the figures
on the hand-labelled set."""

from __future__ import annotations

import pytest

from cxloop.textanalytics import EMOTIONS, analyse, calibration, vader
from cxloop.textanalytics.emotions import MIN_STRENGTH, emotions, lexicon


def _emotions(text: str) -> dict[str, float]:
    return emotions(vader.split(text))


def test_lexicon_is_large_and_covers_every_emotion() -> None:
    lex = lexicon()
    covered = {e for hits in lex.words.values() for e, _ in hits}

    assert lex.size >= 600
    assert covered == set(EMOTIONS)


@pytest.mark.parametrize(
    ("text", "emotion"),
    [
        ("I am so angry with you people", "anger"),
        ("This is absolutely unacceptable and ridiculous", "anger"),
        ("I am still waiting for my refund", "frustration"),
        ("This is the third time I have called about this", "frustration"),
        ("I've called again and nobody answers", "frustration"),
        ("Your app is useless", "frustration"),
        ("I'm worried someone has hacked my account", "fear"),
        ("I'm so disappointed, it made me really sad", "sadness"),
        ("Thank you so much, I'm delighted with the service", "joy"),
        ("I was shocked to see an unexpected charge", "surprise"),
    ],
)
def test_typical_texts_give_their_emotion(text: str, emotion: str) -> None:
    result = analyse(text)

    assert result.emotion == emotion
    assert result.emotions[emotion] >= MIN_STRENGTH


@pytest.mark.parametrize(
    ("negated", "emotion"),
    [
        ("I am not happy with the service", "joy"),
        ("I'm not angry, just asking", "anger"),
        ("I was never worried about it", "fear"),
        ("I don't think it's very cool", "joy"),
        ("No surprise there", "surprise"),
    ],
)
def test_negation_removes_the_emotion(negated: str, emotion: str) -> None:
    assert emotion not in _emotions(negated)


def test_negation_ends_with_the_clause() -> None:
    assert "anger" in _emotions("Not my fault. I am furious.")
    assert "anger" not in _emotions("Not furious.")


def test_phrases_with_their_own_negation_are_not_cancelled() -> None:
    assert _emotions("It doesn't work and no one answers")["frustration"] >= 0.9


def test_boosters_dampeners_capitals_and_exclamations_change_strength() -> None:
    plain = _emotions("I am annoyed")["frustration"]

    assert _emotions("I am very annoyed")["frustration"] > plain
    assert _emotions("I am slightly annoyed").get("frustration", 0) < plain
    assert _emotions("I am ANNOYED with this")["frustration"] > plain
    assert _emotions("I am annoyed!!!")["frustration"] > plain
    assert _emotions("I am annoyed!!!!!!!")["frustration"] == _emotions("I am annoyed!!!")["frustration"]


def test_words_add_up_but_stay_within_one() -> None:
    one = _emotions("I'm angry")["anger"]
    several = _emotions("I'm ANGRY, FURIOUS and OUTRAGED, this is unacceptable!!!")["anger"]

    assert one < several <= 1.0


def test_a_lone_thanks_is_not_joy_but_warm_thanks_is() -> None:
    assert "joy" not in _emotions("My card was declined. Please check. Thanks")
    assert "joy" in _emotions("Thanks so much for sorting this out!")


def test_prefix_entries_match_inflections() -> None:
    assert "frustration" in _emotions("this is so frustrating")
    assert "frustration" in _emotions("I am frustrated")


def test_curly_apostrophes_read_as_straight_ones() -> None:
    assert _emotions("It doesn\u2019t work and no one answers") == _emotions("It doesn't work and no one answers")


def test_strongest_emotion_comes_first_and_is_the_emotion() -> None:
    result = analyse("I'm a bit worried, but mostly I am FURIOUS about this!!!")

    assert list(result.emotions)[0] == result.emotion == "anger"
    assert "fear" in result.emotions


def test_no_emotion_gives_empty_results() -> None:
    result = analyse("How do I change my address?")

    assert (result.emotions, result.emotion) == ({}, "")


# Per-emotion precision and recall on the evaluation half, as reported in docs/text-analytics.md.
REPORTED = {"anger": (1.0, 0.889), "frustration": (0.786, 0.759), "surprise": (0.5, 0.692), "fear": (0.429, 0.6)}


@pytest.mark.parametrize("emotion", sorted(REPORTED))
def test_evaluation_half_reproduces_the_reported_emotion_figures(emotion: str) -> None:
    half = [e for e in calibration.labelled_set() if e.split == "evaluation"]

    scores = calibration.emotion_scores([e.emotions for e in half], [_emotions(e.text) for e in half])

    precision, recall = REPORTED[emotion]
    assert scores[emotion].precision == pytest.approx(precision, abs=0.005)
    assert scores[emotion].recall == pytest.approx(recall, abs=0.005)
