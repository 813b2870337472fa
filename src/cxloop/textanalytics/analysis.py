"""The one entry point of text analytics: analyse(text) -> TextAnalysis.

FOUNDATION VERSION: plain VADER with the standard ±0.05 band; emotions, language and key phrases are filled in
by the engine that replaces this file (see the issue note). The interface below is the contract.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

EMOTIONS = ("anger", "frustration", "fear", "sadness", "joy", "surprise")

_vader = SentimentIntensityAnalyzer()


@dataclass(frozen=True)
class TextAnalysis:
    """What the customer's words say. `sentiment` is VADER's compound score (-1..1); `sentiment_label` is
    positive/neutral/negative by the calibrated neutral band; `emotions` maps each of EMOTIONS found to a
    strength 0..1; `emotion` is the strongest (empty when none); `language` an ISO 639-1 code ("" if unknown)."""

    sentiment: float
    sentiment_label: str
    emotions: dict[str, float] = field(default_factory=dict)
    emotion: str = ""
    language: str = ""
    key_phrases: tuple[str, ...] = ()


def analyse(text: str, *, language_hint: str = "") -> TextAnalysis:
    compound = float(_vader.polarity_scores(text)["compound"]) if text.strip() else 0.0
    label = "positive" if compound >= 0.05 else "negative" if compound <= -0.05 else "neutral"
    return TextAnalysis(sentiment=round(compound, 4), sentiment_label=label, language=language_hint[:2].lower())


def analyse_many(texts: Iterable[str], *, language_hint: str = "") -> list[TextAnalysis]:
    return [analyse(text, language_hint=language_hint) for text in texts]
