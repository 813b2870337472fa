"""cxloop's VADER scorer gives exactly vaderSentiment's scores: on every shared customer text and on VADER's own
examples of its rules (negation, "but", "least", "kind of", ALL CAPS, emoji, idioms)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from cxloop.textanalytics import calibration, vader

REFERENCE = SentimentIntensityAnalyzer()
SHARED_DATA = Path(__file__).resolve().parents[3] / "shared" / "data"

RULE_EXAMPLES = [
    "VADER is smart, handsome, and funny.",
    "VADER is VERY SMART, uber handsome, and FRIGGIN FUNNY!!!",
    "VADER is not smart, handsome, nor funny.",
    "At least it isn't a horrible book.",
    "The book was only kind of good.",
    "The plot was good, but the characters are uncompelling and the dialog is not great.",
    "Today only kinda sux! But I'll get by, lol",
    "Make sure you :) or :D today!",
    "Catch utf-8 emoji such as 💘 and 💋 and 😁",
    "Not bad at all",
    "Sentiment analysis has never been this good!",
    "With VADER, sentiment analysis is the shit!",
    "On the other hand, VADER is quite bad ass",
    "Without a doubt, excellent idea.",
    "Roger Dodger is one of the least compelling variations on this theme.",
    "Roger Dodger is at least compelling as a variation on the theme.",
    "good good but good bad bad",  # equal scores on both sides of "but": the reference's index() quirk
    "no no good bad no",
    "It was a kiss of death, yeah right, to die for",
    "WHY IS THIS SO BAD???? no help at all!!!!!",
    "",
    "   ",
    "😁😁😁",
]


def _texts_from_shared_data() -> list[str]:
    texts = []
    for name, column in (("banking77_train.csv", "text"), ("bitext_customer_support_sample.csv", "instruction")):
        with (SHARED_DATA / name).open(newline="", encoding="utf-8") as handle:
            texts.extend(row[column] for row in csv.DictReader(handle))
    return texts


@pytest.mark.parametrize("text", RULE_EXAMPLES)
def test_rule_examples_score_as_the_reference(text: str) -> None:
    assert vader.polarity(vader.split(text)) == REFERENCE.polarity_scores(text)


def test_labelled_set_scores_as_the_reference() -> None:
    texts = [example.text for example in calibration.labelled_set()]

    differing = [t for t in texts if vader.polarity(vader.split(t)) != REFERENCE.polarity_scores(t)]

    assert len(texts) == 477
    assert differing == []


@pytest.mark.skipif(not SHARED_DATA.is_dir(), reason="the shared data folder is not beside this checkout")
def test_every_shared_text_scores_as_the_reference() -> None:
    texts = _texts_from_shared_data()

    differing = [t for t in texts if vader.polarity(vader.split(t)) != REFERENCE.polarity_scores(t)]

    assert len(texts) == 14_517
    assert differing == []


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [*"abc ABC!?.,'-:)(😁💘", "not ", "but ", "no ", "very ", "good ", "bad ", "GREAT ", "kind of "]
        )
    ).map("".join)
)
def test_any_text_scores_as_the_reference(text: str) -> None:
    assert vader.polarity(vader.split(text)) == REFERENCE.polarity_scores(text)
