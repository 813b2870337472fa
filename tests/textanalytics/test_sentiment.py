"""The neutral band: VADER's compound score labelled by thresholds calibrated on real customer texts."""

from __future__ import annotations

import pytest

from cxloop.textanalytics import analyse, calibration, vader
from cxloop.textanalytics.analysis import NEUTRAL_BAND, label

# The figures docs/text-analytics.md and docs/benchmarks.md report for the evaluation half.
REPORTED = {"calibrated": (0.692, 0.551), "vader_default": (0.557, 0.434)}
TOLERANCE = 0.005


def _halves() -> tuple[list[calibration.Example], list[calibration.Example]]:
    examples = calibration.labelled_set()
    return [e for e in examples if e.split == "calibration"], [e for e in examples if e.split == "evaluation"]


def _compounds(examples: list[calibration.Example]) -> list[float]:
    return [vader.compound(vader.split(e.text)) for e in examples]


def test_the_shipped_band_is_the_one_the_calibration_half_chooses() -> None:
    calibration_half, _ = _halves()

    band, _ = calibration.calibrate(_compounds(calibration_half), [e.label for e in calibration_half], label)

    assert band == NEUTRAL_BAND == (-0.05, 0.65)


@pytest.mark.parametrize(("band", "figures"), [(NEUTRAL_BAND, "calibrated"), ((-0.05, 0.05), "vader_default")])
def test_evaluation_half_reproduces_the_reported_figures(band: tuple[float, float], figures: str) -> None:
    _, evaluation_half = _halves()

    result = calibration.band_report(_compounds(evaluation_half), [e.label for e in evaluation_half], band, label)

    accuracy, macro_f1 = REPORTED[figures]
    assert result.n == 237
    assert result.accuracy == pytest.approx(accuracy, abs=TOLERANCE)
    assert result.macro_f1 == pytest.approx(macro_f1, abs=TOLERANCE)


def test_the_labelled_set_is_split_in_halves_within_each_label() -> None:
    examples = calibration.labelled_set()

    counts = {(e.label, e.split) for e in examples}
    by_label = {lab: [e.split for e in examples if e.label == lab] for lab in calibration.LABELS}

    assert len(examples) == 477
    assert {split for _, split in counts} == {"calibration", "evaluation"}
    for splits in by_label.values():
        assert abs(splits.count("calibration") - splits.count("evaluation")) <= 1


@pytest.mark.parametrize(
    ("compound", "expected"),
    [
        (-0.9, "negative"),
        (-0.05, "negative"),
        (-0.04, "neutral"),
        (0.0, "neutral"),
        (0.4, "neutral"),
        (0.64, "neutral"),
        (0.65, "positive"),
        (1.0, "positive"),
    ],
)
def test_band_edges(compound: float, expected: str) -> None:
    assert label(compound) == expected


def test_politeness_alone_stays_neutral() -> None:
    # VADER scores the thanks positive (0.44); VADER's own band would call this request positive.
    result = analyse("Please explain why my transfer attempt was declined. Thank you.")

    assert 0.05 < result.sentiment < NEUTRAL_BAND[1]
    assert result.sentiment_label == "neutral"


def test_negation_turns_praise_negative() -> None:
    assert analyse("The service was good.").sentiment > 0
    assert analyse("The service was not good.").sentiment < 0
    assert analyse("I am not happy with your service at all.").sentiment_label == "negative"


def test_intensifiers_and_emphasis_strengthen() -> None:
    plain = analyse("The app is bad.").sentiment
    boosted = analyse("The app is very bad.").sentiment
    shouted = analyse("The app is VERY BAD!!!").sentiment

    assert plain < 0
    assert boosted < plain
    assert shouted < boosted


def test_praise_is_positive_and_anger_negative() -> None:
    assert analyse("Thank you so much, the agent was wonderful and fixed it in minutes!").sentiment_label == "positive"
    assert analyse("This is the worst bank ever, absolutely terrible service.").sentiment_label == "negative"


@pytest.mark.parametrize("text", ["", "   ", "12345", "#00108", "\n\t"])
def test_texts_without_words_are_neutral(text: str) -> None:
    result = analyse(text)

    assert (result.sentiment, result.sentiment_label) == (0.0, "neutral")
