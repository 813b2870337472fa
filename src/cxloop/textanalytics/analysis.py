"""The one entry point of text analytics: analyse(text) -> TextAnalysis.

Sentiment is VADER's compound score (computed by cxloop.textanalytics.vader, identical to vaderSentiment's and
cheaper), labelled by a neutral band calibrated on real customer texts (see NEUTRAL_BAND); emotions come from
cxloop's own lexicon on the same split of the text; language from py3langid over the configured languages, with
the customer's locale as a hint for short texts; key phrases RAKE-style. docs/text-analytics.md has the figures.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from cxloop.textanalytics import emotions as emotion_lexicon
from cxloop.textanalytics import language as languages
from cxloop.textanalytics import phrases, vader
from cxloop.textanalytics.emotions import EMOTIONS

# Compound scores inside the band are "neutral". Chosen by maximising macro-F1 on the calibration half of
# sentiment_labelled.csv (bench/textanalytics.py --calibrate prints the search); VADER's own default is
# ±0.05. Customer-support requests often carry politeness ("thanks", "please help") that VADER scores positive,
# which is why the upper threshold sits well above VADER's.
NEUTRAL_BAND = (-0.05, 0.65)

__all__ = ["EMOTIONS", "NEUTRAL_BAND", "TextAnalysis", "analyse", "analyse_many", "label", "score"]


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


def label(compound: float, band: tuple[float, float] = NEUTRAL_BAND) -> str:
    """VADER's convention: "positive" at or above the upper end, "negative" at or below the lower, else neutral."""
    lower, upper = band
    if compound >= upper:
        return "positive"
    if compound <= lower:
        return "negative"
    return "neutral"


def score(text: str) -> tuple[float, dict[str, float]]:
    """Sentiment and emotions only (no language, no phrases): the part that runs on every message."""
    split = vader.split(text)
    if not split.words:
        return 0.0, {}
    return vader.compound(split), emotion_lexicon.emotions(split)


def analyse(text: str, *, language_hint: str = "") -> TextAnalysis:
    """Everything cxloop reads in a customer's text. Never raises on any string; empty text is neutral."""
    compound, found = score(text)
    language = languages.detect(text, hint=language_hint)
    return TextAnalysis(
        sentiment=compound,
        sentiment_label=label(compound),
        emotions=found,
        emotion=emotion_lexicon.strongest(found),
        language=language,
        key_phrases=phrases.key_phrases(text, language or "en"),
    )


def analyse_many(texts: Iterable[str], *, language_hint: str = "") -> list[TextAnalysis]:
    return [analyse(text, language_hint=language_hint) for text in texts]
