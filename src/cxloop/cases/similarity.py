"""Cheap text similarity for repeat-contact detection: "is this message about the same matter as that case?"

Why not embeddings or TF-IDF: the question is asked once per new case or new conversation, against the handful of
cases one customer had in the last days, so there is no corpus to weigh terms by and no budget for a model.
What works on such short texts is the set of content words each side uses: lower-cased, stop words out, a light
suffix stripper so "charged"/"charges"/"charging" meet, numbers kept (an order or card number is strong evidence).

The score is a blend of two set measures:
- Dice (2|A∩B| / (|A|+|B|)): symmetric, punishes a long case text that shares little with a short message;
- containment (|A∩B| / min(|A|,|B|)): a short message whose every word the case used is still the same matter,
  however long the case's own text has grown.
Both reach 1.0 for identical texts and 0.0 for texts with no content word in common. bench/repeat_similarity.py
calibrates the threshold (CXLOOP_REPEAT_SIMILARITY) on BANKING77; docs/cases.md gives the figures.
"""

from __future__ import annotations

import re
from functools import lru_cache

# English function words and the filler of customer-service messages ("hi", "please", "thanks"): they say
# nothing about the matter, and two unrelated messages share many of them.
STOP_WORDS = frozenset(
    """
    a about above after again against all also am an and any are aren as at be because been before being below
    between both but by can cannot could couldn did didn do does doesn doing don down during each else even ever
    few for from further get gets getting got had hadn has hasn have haven having he her here hers herself him
    himself his how i if in into is isn it its itself just let me might more most much must mustn my myself need
    no nor not now of off on once only or other ought our ours ourselves out over own please same shall she
    should shouldn so some still such than that the their theirs them themselves then there these they this
    those through to too under until up upon us very via was wasn we were weren what when where which while who
    whom why will with within without won would wouldn yet you your yours yourself yourselves
    hi hello hey dear thanks thank thx regards kind best cheers sir madam team support hope ok okay yes
    im ive id ill youre dont cant wont didnt doesnt isnt wasnt havent hasnt
    re fw fwd subject sent wrote
    """.split()  # noqa: SIM905 - a word list reads best as words
)

_WORD = re.compile(r"[^\W_]+", re.UNICODE)
# Longest first: the first suffix that leaves a stem of at least three letters is stripped.
_SUFFIXES = ("ational", "ations", "ation", "ments", "ment", "ness", "ings", "ing", "ies", "ied", "ed", "es", "ly", "s")
# How much of each measure goes into the score (calibrated with the threshold; see the module docstring).
DICE_WEIGHT = 0.5


def _stem(word: str) -> str:
    if word.isdigit():
        return word
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            stem = word[: -len(suffix)]
            if suffix in ("ies", "ied"):
                return stem + "y"
            if len(stem) > 3 and stem[-1] == stem[-2] and stem[-1] not in "ls":
                return stem[:-1]  # "stopped" → "stopp" → "stop"
            return stem
    return word


@lru_cache(maxsize=4096)
def _stem_cached(word: str) -> str:
    return _stem(word)


def terms(text: str) -> frozenset[str]:
    """The content words of `text`, stemmed: what similarity() compares."""
    out: set[str] = set()
    for match in _WORD.finditer(text.lower()):
        word = match.group()
        if word in STOP_WORDS or (len(word) < 2 and not word.isdigit()):
            continue
        out.add(_stem_cached(word))
    return frozenset(out)


def term_similarity(a: frozenset[str], b: frozenset[str]) -> float:
    """similarity() on term sets already computed (a case compared with many messages tokenises once)."""
    if not a or not b:
        return 0.0
    common = len(a & b)
    if not common:
        return 0.0
    dice = 2 * common / (len(a) + len(b))
    containment = common / min(len(a), len(b))
    return round(DICE_WEIGHT * dice + (1 - DICE_WEIGHT) * containment, 4)


def similarity(a: str, b: str) -> float:
    """How alike two texts are in the words that carry meaning, from 0.0 (nothing shared) to 1.0 (the same)."""
    return term_similarity(terms(a), terms(b))
