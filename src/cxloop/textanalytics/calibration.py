"""Calibrating and measuring the engine on the labelled customer texts shipped in sentiment_labelled.csv.

The set: 477 real customer texts (BANKING77, CC BY 4.0, PolyAI; Bitext customer-support sample, CDLA-Sharing 1.0),
each labelled positive/neutral/negative and with the emotions it expresses by a person reading it (never by a
lexicon), split half for calibration and half for evaluation within each label. How it was drawn and its class
balance: docs/text-analytics.md. bench/textanalytics.py prints everything below; the tests pin the figures.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from importlib import resources

from cxloop.textanalytics.emotions import EMOTIONS

LABELS = ("negative", "neutral", "positive")
# The search grid: the band always holds 0 (texts without a sentiment word stay neutral), in steps of 0.05.
LOWER_GRID = tuple(round(-0.05 * k, 2) for k in range(1, 15))  # -0.05 .. -0.70
UPPER_GRID = tuple(round(0.05 * k, 2) for k in range(1, 19))  # 0.05 .. 0.90


@dataclass(frozen=True)
class Example:
    text: str
    label: str
    emotions: frozenset[str]
    split: str
    source: str


def labelled_set(path: str | None = None) -> list[Example]:
    """The shipped set, or a CSV of the same columns (text, label, emotions separated by ";", split, source)."""
    if path is None:
        raw = resources.files("cxloop.textanalytics").joinpath("sentiment_labelled.csv").read_text("utf-8")
    else:
        with open(path, encoding="utf-8") as handle:
            raw = handle.read()
    examples = []
    for row in csv.DictReader(io.StringIO(raw)):
        found = frozenset(e for e in (row.get("emotions") or "").split(";") if e)
        if row["label"] not in LABELS or not found <= set(EMOTIONS):
            raise ValueError(f"labelled set: bad row {row!r}")
        examples.append(Example(row["text"], row["label"], found, row.get("split", ""), row.get("source", "")))
    return examples


@dataclass(frozen=True)
class Report:
    """Accuracy, macro-F1 and the confusion matrix (rows: the person's label, columns: the engine's)."""

    n: int
    accuracy: float
    macro_f1: float
    f1: dict[str, float]
    confusion: dict[str, dict[str, int]]

    def table(self) -> str:
        head = "| label \\ engine | " + " | ".join(LABELS) + " | n |"
        lines = [head, "| --- |" + " ---: |" * (len(LABELS) + 1)]
        for truth in LABELS:
            row = self.confusion[truth]
            lines.append(f"| {truth} | " + " | ".join(str(row[p]) for p in LABELS) + f" | {sum(row.values())} |")
        return "\n".join(lines)


def report(truths: Sequence[str], predictions: Sequence[str]) -> Report:
    confusion = {t: dict.fromkeys(LABELS, 0) for t in LABELS}
    for truth, guess in zip(truths, predictions, strict=True):
        confusion[truth][guess] += 1
    f1 = {}
    for label in LABELS:
        tp = confusion[label][label]
        predicted = sum(confusion[t][label] for t in LABELS)
        actual = sum(confusion[label].values())
        f1[label] = 2 * tp / (predicted + actual) if predicted + actual else 0.0
    present = [label for label in LABELS if sum(confusion[label].values())]
    n = len(truths)
    accuracy = sum(confusion[t][t] for t in LABELS) / n if n else 0.0
    macro = sum(f1[label] for label in present) / len(present) if present else 0.0
    return Report(n, accuracy, macro, f1, confusion)


def band_report(
    compounds: Sequence[float], truths: Sequence[str], band: tuple[float, float], label: Callable[..., str]
) -> Report:
    return report(truths, [label(c, band) for c in compounds])


def calibrate(
    compounds: Sequence[float], truths: Sequence[str], label: Callable[..., str]
) -> tuple[tuple[float, float], Report]:
    """The band of the grid with the highest macro-F1 (ties: the narrower band, closer to VADER's own)."""
    best: tuple[tuple[float, float], Report] | None = None
    for lower in LOWER_GRID:
        for upper in UPPER_GRID:
            result = band_report(compounds, truths, (lower, upper), label)
            if best is None or result.macro_f1 > best[1].macro_f1 + 1e-12:
                best = ((lower, upper), result)
    assert best is not None
    return best


@dataclass(frozen=True)
class EmotionScores:
    precision: float
    recall: float
    support: int  # texts a person labelled with the emotion
    predicted: int  # texts the engine gave the emotion


def emotion_scores(truths: Iterable[frozenset[str]], found: Iterable[Iterable[str]]) -> dict[str, EmotionScores]:
    pairs = [(truth, frozenset(predicted)) for truth, predicted in zip(truths, found, strict=True)]
    scores = {}
    for emotion in EMOTIONS:
        tp = sum(1 for t, p in pairs if emotion in t and emotion in p)
        support = sum(1 for t, _ in pairs if emotion in t)
        predicted = sum(1 for _, p in pairs if emotion in p)
        scores[emotion] = EmotionScores(
            tp / predicted if predicted else 0.0, tp / support if support else 0.0, support, predicted
        )
    return scores
