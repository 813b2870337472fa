"""Calibrate the repeat-contact text similarity (cxloop.cases.similarity) on real customer queries.

BANKING77 (PolyAI, CC BY 4.0) holds 10,003 real queries to a bank, each labelled with one of 77 intents. Two
queries with the same intent stand in for "the same matter"; two with different intents for "another matter"
of the same customer (a hard negative: every query is about banking). Two set-ups:

- pair: a query against another query (a new conversation's first message against a case opened from a message);
- case: a query against a case text made of three queries of one intent (subject, description and first messages
  of a case), which is what repeat detection compares a new message with.

For each measure and threshold it prints precision, recall, F1 and F0.5 on balanced samples (as many positives as
negatives) and the false-positive rate (independent of how many contacts are repeats), then the figures of the
shipped measure at CXLOOP_REPEAT_SIMILARITY's default. The Bitext customer-support sample (27 intents,
CDLA-Sharing 1.0) is a second check on other wording.

    python bench/repeat_similarity.py [--samples 4000] [--seed 7] [--data ../shared/data]
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))

from cxloop.cases import similarity  # noqa: E402

DEFAULT_THRESHOLD = 0.4  # keep equal to CXLOOP_REPEAT_SIMILARITY's default in config/settings.py

Measure = Callable[[frozenset[str], frozenset[str]], float]


def _jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


def _dice(a: frozenset[str], b: frozenset[str]) -> float:
    return 2 * len(a & b) / (len(a) + len(b)) if a and b else 0.0


def _containment(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / min(len(a), len(b)) if a and b else 0.0


def _blend(weight: float) -> Measure:
    def measure(a: frozenset[str], b: frozenset[str]) -> float:
        return weight * _dice(a, b) + (1 - weight) * _containment(a, b)

    return measure


MEASURES: dict[str, Measure] = {
    "jaccard": _jaccard,
    "dice": _dice,
    "containment": _containment,
    "blend 0.25": _blend(0.25),
    "blend 0.5 (shipped)": similarity.term_similarity,
    "blend 0.75": _blend(0.75),
}


def load_banking(data: Path) -> dict[str, list[str]]:
    by_intent: dict[str, list[str]] = defaultdict(list)
    with (data / "banking77_train.csv").open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            by_intent[row["category"]].append(row["text"])
    return dict(by_intent)


def load_bitext(data: Path) -> dict[str, list[str]]:
    by_intent: dict[str, list[str]] = defaultdict(list)
    path = data / "bitext_customer_support_sample.csv"
    if not path.exists():
        return {}
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            by_intent[row["intent"]].append(row["instruction"])
    return dict(by_intent)


Sample = list[tuple[frozenset[str], frozenset[str], bool]]


def sample(by_intent: dict[str, list[str]], rng: random.Random, n: int, case_size: int) -> Sample:
    """n positives and n negatives: a query against `case_size` other queries joined (same intent or another)."""
    intents = [k for k, texts in by_intent.items() if len(texts) > case_size + 1]
    out: Sample = []
    for i in range(2 * n):
        positive = i % 2 == 0
        intent = rng.choice(intents)
        texts = rng.sample(by_intent[intent], case_size + 1)
        message = texts[0]
        if positive:
            case = texts[1:]
        else:
            other = rng.choice([k for k in intents if k != intent])
            case = rng.sample(by_intent[other], case_size)
        out.append((similarity.terms(message), similarity.terms("\n".join(case)), positive))
    return out


def scores(measure: Measure, rows: Sample, threshold: float) -> dict[str, float]:
    tp = fp = fn = tn = 0
    for a, b, positive in rows:
        hit = measure(a, b) >= threshold
        if hit and positive:
            tp += 1
        elif hit:
            fp += 1
        elif positive:
            fn += 1
        else:
            tn += 1
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    f05 = 1.25 * precision * recall / (0.25 * precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "f05": f05, "fpr": fp / (fp + tn) if fp + tn else 0.0}


def sweep(name: str, rows: Sample) -> None:
    print(f"\n## {name}: best threshold per measure (by F0.5, precision weighed twice recall)")
    print(f"{'measure':22} {'thr':>5} {'prec':>6} {'recall':>6} {'F1':>6} {'F0.5':>6} {'FPR':>6}")
    for label, measure in MEASURES.items():
        best = max(
            ((t / 100, scores(measure, rows, t / 100)) for t in range(5, 100, 5)), key=lambda item: item[1]["f05"]
        )
        s = best[1]
        print(
            f"{label:22} {best[0]:5.2f} {s['precision']:6.3f} {s['recall']:6.3f} {s['f1']:6.3f} {s['f05']:6.3f}"
            f" {s['fpr']:6.3f}"
        )


def curve(name: str, rows: Sample) -> dict[str, float]:
    print(f"\n## {name}: the shipped measure by threshold")
    print(f"{'thr':>5} {'prec':>6} {'recall':>6} {'F1':>6} {'FPR':>6}")
    for t in (0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7):
        s = scores(similarity.term_similarity, rows, t)
        mark = "  ← default" if abs(t - DEFAULT_THRESHOLD) < 1e-9 else ""
        print(f"{t:5.2f} {s['precision']:6.3f} {s['recall']:6.3f} {s['f1']:6.3f} {s['fpr']:6.3f}{mark}")
    return scores(similarity.term_similarity, rows, DEFAULT_THRESHOLD)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=4000, help="positives (and as many negatives) per set-up")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--data", type=Path, default=HERE.parent.parent / "shared" / "data")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    banking = load_banking(args.data)
    print(f"BANKING77: {sum(map(len, banking.values()))} queries, {len(banking)} intents; {args.samples} positives")
    results: dict[str, dict[str, float]] = {}
    for label, case_size in (("pair", 1), ("case", 3)):
        rows = sample(banking, rng, args.samples, case_size)
        sweep(f"BANKING77 {label}", rows)
        results[f"banking77 {label}"] = curve(f"BANKING77 {label}", rows)
    bitext = load_bitext(args.data)
    if bitext:
        for label, case_size in (("pair", 1), ("case", 3)):
            rows = sample(bitext, rng, args.samples, case_size)
            results[f"bitext {label}"] = curve(f"Bitext {label}", rows)
    rows = sample(banking, rng, 2000, 3)
    began = time.perf_counter()
    for a, b, _ in rows:
        similarity.term_similarity(a, b)
    per_pair = (time.perf_counter() - began) / len(rows)
    text = "I was charged twice for the same coffee, please refund one of the payments on my card"
    began = time.perf_counter()
    for _ in range(2000):
        similarity.terms(text)
    per_text = (time.perf_counter() - began) / 2000
    print(f"\ncost: terms() {per_text * 1e6:.1f} µs per message, term_similarity() {per_pair * 1e6:.2f} µs per pair")
    print("BENCH-RESULT " + json.dumps({"threshold": DEFAULT_THRESHOLD, **results}))


if __name__ == "__main__":
    main()
