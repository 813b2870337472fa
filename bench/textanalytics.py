"""(e) Text analytics (issue 5): scoring throughput on one core against the raw VADER call, and the accuracy figures.

Texts: every customer text of the shared data (BANKING77's 10,003 queries, the Bitext sample's 4,514 requests),
in one process pinned to one CPU.

1. Scoring: cxloop's `analysis.score(text)` (VADER compound + emotions, the part that runs on every message)
   against `SentimentIntensityAnalyzer().polarity_scores(text)` on the same texts, rounds alternating, the best
   round of each counted, in CPU time of the process. Goal: ratio (texts/s ours ÷ raw) >= 0.8. Also checks that
   the compound scores are identical to the reference's on every text.
2. The full `analyse(text)` (with language and key phrases), and its parts alone: language detection over the
   configured languages and over all 97 of the model, key phrases.
3. Language on English texts by length: how often the detection says "en" (all of them are English), over all
   languages and over CXLOOP_TEXT_LANGUAGES' default, without a hint.
4. Accuracy: the neutral band chosen on the calibration half of the shipped labelled set, then accuracy, macro-F1
   and the confusion matrix on the evaluation half for the calibrated band and VADER's ±0.05; per-emotion
   precision and recall. `--labelled FILE` runs this on another CSV of the same columns (your own survey answers).

    python bench/textanalytics.py [--rounds 5] [--data ../shared/data] [--labelled FILE]
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "src"))

import common  # noqa: E402
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer  # noqa: E402

from cxloop.textanalytics import analysis, calibration, emotions, language, phrases, vader  # noqa: E402


def load_texts(data: Path) -> list[str]:
    texts = []
    for name, column in (("banking77_train.csv", "text"), ("bitext_customer_support_sample.csv", "instruction")):
        with (data / name).open(newline="", encoding="utf-8") as handle:
            texts.extend(row[column] for row in csv.DictReader(handle))
    return texts


def pin_to_one_core() -> str:
    try:
        cpu = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpu})
        return f"pinned to CPU {cpu}"
    except (AttributeError, OSError):
        return "not pinned (no sched_setaffinity here)"


def per_second(function: Callable[[str], Any], texts: list[str]) -> float:
    """Texts per second of this process's CPU time: other work on the machine (tests, other benchmarks) slows the
    wall clock of both contenders unevenly, CPU time much less so."""
    began = time.process_time()
    for text in texts:
        function(text)
    return len(texts) / (time.process_time() - began)


def best_of(rounds: int, contenders: dict[str, Callable[[str], Any]], texts: list[str]) -> dict[str, float]:
    """Texts/s of each contender, the best of `rounds` rounds, contenders alternating inside each round."""
    best = dict.fromkeys(contenders, 0.0)
    for _ in range(rounds):
        for name, function in contenders.items():
            best[name] = max(best[name], per_second(function, texts))
    return best


def throughput(texts: list[str], rounds: int) -> dict[str, Any]:
    reference = SentimentIntensityAnalyzer()
    differing = sum(1 for t in texts if vader.compound(vader.split(t)) != reference.polarity_scores(t)["compound"])
    analysis.analyse("warm up: load the language model once")
    configured = language.configured_languages()
    everything = language.identifier(())
    restricted = language.identifier(configured)
    scoring = best_of(
        rounds,
        {"raw VADER polarity_scores": reference.polarity_scores, "cxloop score (sentiment + emotions)": analysis.score},
        texts,
    )
    parts = best_of(
        max(1, rounds // 2),
        {
            "cxloop analyse (everything)": analysis.analyse,
            f"language over {len(configured)} languages": lambda t: restricted.classify(t[: language.SAMPLE_CHARS]),
            "language over all 97": lambda t: everything.classify(t[: language.SAMPLE_CHARS]),
            "key phrases": phrases.key_phrases,
            "sentiment alone (cxloop VADER)": lambda t: vader.compound(vader.split(t)),
            "emotions alone (on a split text)": lambda t: emotions.emotions(vader.split(t)),
        },
        texts,
    )
    raw = scoring["raw VADER polarity_scores"]
    ours = scoring["cxloop score (sentiment + emotions)"]
    print(f"\n## Throughput on one core (CPU time), {len(texts):,} texts, best of {rounds} rounds")
    print(f"{'what':44}{'texts/s':>12}{'µs/text':>10}")
    for name, rate in {**scoring, **parts}.items():
        print(f"{name:44}{rate:12,.0f}{1e6 / rate:10.1f}")
    print(f"scoring ratio (cxloop score ÷ raw VADER): {ours / raw:.2f}   goal >= 0.8")
    print(f"analyse() ÷ raw VADER: {parts['cxloop analyse (everything)'] / raw:.2f}")
    print(f"compound scores differing from vaderSentiment's: {differing} of {len(texts):,}")
    return {
        "texts": len(texts),
        "raw_per_s": round(raw),
        "score_per_s": round(ours),
        "ratio": round(ours / raw, 3),
        "analyse_per_s": round(parts["cxloop analyse (everything)"]),
        "parts_per_s": {name: round(rate) for name, rate in parts.items()},
        "differing": differing,
    }


def language_by_length(texts: list[str]) -> dict[str, Any]:
    bins = [(0, 25), (25, 50), (50, 100), (100, 10**9)]
    configured = language.configured_languages()
    ways = {"all 97 languages": (), f"{','.join(configured)}": configured}
    print("\n## Language of English texts by length in letters (share detected as en; no hint)")
    print(f"{'letters':12}{'texts':>8}" + "".join(f"{name:>26}" for name in ways))
    out: dict[str, Any] = {}
    for low, high in bins:
        chosen = [t for t in texts if low <= sum(c.isalpha() for c in t) < high]
        if not chosen:
            continue
        shares = []
        for codes in ways.values():
            identifier = language.identifier(codes)
            shares.append(sum(1 for t in chosen if identifier.classify(t)[0] == "en") / len(chosen))
        unsure = sum(1 for t in chosen if language.detect(t) == "") / len(chosen)
        label = f"{low}-{high - 1}" if high < 10**9 else f"{low}+"
        print(
            f"{label:12}{len(chosen):8,}" + "".join(f"{s:26.4f}" for s in shares) + f"   detect() unsure: {unsure:.3f}"
        )
        out[label] = {"n": len(chosen), "all": round(shares[0], 4), "configured": round(shares[1], 4)}
    return out


def accuracy(path: str | None) -> dict[str, Any]:
    examples = calibration.labelled_set(path)
    halves = {name: [e for e in examples if e.split == name] for name in ("calibration", "evaluation")}
    if not halves["calibration"] or not halves["evaluation"]:
        halves = {"calibration": examples[0::2], "evaluation": examples[1::2]}
    compounds = {name: [vader.compound(vader.split(e.text)) for e in half] for name, half in halves.items()}
    truths = {name: [e.label for e in half] for name, half in halves.items()}
    counts = {label: sum(1 for e in examples if e.label == label) for label in calibration.LABELS}
    print(f"\n## Sentiment accuracy: {len(examples)} labelled texts {counts}")
    band, found = calibration.calibrate(compounds["calibration"], truths["calibration"], analysis.label)
    print(f"band chosen on the calibration half ({found.n} texts): {band}, macro-F1 there {found.macro_f1:.3f}")
    if band != analysis.NEUTRAL_BAND:
        print(f"!!! the shipped NEUTRAL_BAND is {analysis.NEUTRAL_BAND}")
    out: dict[str, Any] = {"band": band}
    for name, chosen in (("calibrated", band), ("VADER default", (-0.05, 0.05))):
        result = calibration.band_report(compounds["evaluation"], truths["evaluation"], chosen, analysis.label)
        f1 = ", ".join(f"{k} {v:.3f}" for k, v in result.f1.items())
        print(f"\n{name} {chosen} on the evaluation half ({result.n} texts): accuracy {result.accuracy:.3f},")
        print(f"macro-F1 {result.macro_f1:.3f} (F1: {f1})")
        print(result.table())
        out[name] = {"accuracy": round(result.accuracy, 3), "macro_f1": round(result.macro_f1, 3)}
    print("\n## Emotions on the evaluation half: precision / recall (labelled texts, texts the engine marked)")
    half = halves["evaluation"]
    scores = calibration.emotion_scores(
        [e.emotions for e in half], [emotions.emotions(vader.split(e.text)) for e in half]
    )
    for emotion, s in scores.items():
        print(f"{emotion:12} {s.precision:6.3f} {s.recall:6.3f}   ({s.support} labelled, {s.predicted} marked)")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--data", type=Path, default=HERE.parent.parent / "shared" / "data")
    parser.add_argument("--labelled", default=None, help="a CSV like the shipped sentiment_labelled.csv")
    args = parser.parse_args()
    print(f"text analytics; {common.machine()}; {pin_to_one_core()}")
    texts = load_texts(args.data)
    result: dict[str, Any] = {"bench": "textanalytics"}
    result["throughput"] = throughput(texts, args.rounds)
    result["language"] = language_by_length(texts)
    result["accuracy"] = accuracy(args.labelled)
    common.emit(result)


if __name__ == "__main__":
    main()
