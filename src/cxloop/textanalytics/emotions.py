"""Emotions in a customer's words, from cxloop's own lexicon (emotion_lexicon.csv, AGPL-3.0 as the project).

Lexicon-based on purpose: it explains itself (an agent can see which words made a message "angry"), costs a few
microseconds, and its licence lets us ship it (NRC EmoLex, the usual choice, is licensed for research only).
It runs on VADER's split of the text (`vader.Words`), so a text is split once for both.

Rules, in the order they apply to each word:
- a phrase of the lexicon starting at the word wins over the word alone ("still waiting", "third time");
- a negation within the four words before (in the same clause) cancels the word: "not happy" gives no joy.
  Phrases that hold their own negation ("doesn't work", "no one answers") are not cancelled;
- a booster before the word ("very", "so", "extremely") raises it by 30%, a dampener ("slightly") lowers it;
- a word in CAPITALS among lower-case words raises it by 25%; each "!" (up to three) raises anger,
  frustration, joy and surprise by 10%.
An emotion's strength is the noisy-OR of its words' weights (two words at 0.5 make 0.75), capped at 1; emotions
under MIN_STRENGTH are left out, so a lone "thanks" at the end of a complaint is not joy.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from dataclasses import dataclass
from functools import cache
from importlib import resources

from cxloop.textanalytics.vader import B_INCR, BOOSTER_DICT, NEGATE, Words

EMOTIONS = ("anger", "frustration", "fear", "sadness", "joy", "surprise")
MIN_STRENGTH = 0.25
NEGATION_WINDOW = 4  # words after a negation that it cancels ("don't think it's very cool")
BOOST = 1.3
DAMPEN = 0.6
CAPITALS = 1.25
EXCLAMATION = 0.1
EXCLAIMED = frozenset({"anger", "frustration", "joy", "surprise"})
NEGATORS = NEGATE | {"no", "not", "never", "nobody", "neither"}
_CLAUSE_END = (".", ",", ";", ":", "!", "?")
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'"})
_PUNCTUATION = "!\"#$%&()*+,-./:;<=>?@[\\]^_`{|}~'\u2019\u201c\u201d"

Hits = tuple[tuple[str, float], ...]


@dataclass(frozen=True, slots=True)
class Phrase:
    rest: tuple[str, ...]  # words after the first; a word ending in * matches any word it starts
    hits: Hits
    has_negation: bool


@dataclass(frozen=True, slots=True)
class EmotionLexicon:
    words: dict[str, Hits]
    prefixes: dict[str, Hits]
    phrases: dict[str, tuple[Phrase, ...]]  # by first word, longest first

    @property
    def size(self) -> int:
        return len(self.words) + len(self.prefixes) + sum(len(p) for p in self.phrases.values())


@cache
def lexicon() -> EmotionLexicon:
    """The shipped lexicon, parsed once per process."""
    words: dict[str, list[tuple[str, float]]] = defaultdict(list)
    prefixes: dict[str, list[tuple[str, float]]] = defaultdict(list)
    phrases: dict[tuple[str, ...], list[tuple[str, float]]] = defaultdict(list)
    text = resources.files("cxloop.textanalytics").joinpath("emotion_lexicon.csv").read_text(encoding="utf-8")
    rows = csv.DictReader(line for line in text.splitlines() if line and not line.startswith("#"))
    for row in rows:
        term, emotion, weight = row["term"].strip().lower(), row["emotion"].strip(), float(row["weight"])
        if emotion not in EMOTIONS or not 0 < weight <= 1:
            raise ValueError(f"emotion lexicon: bad row {row!r}")
        parts = tuple(term.split())
        if len(parts) > 1:
            phrases[parts].append((emotion, weight))
        elif term.endswith("*"):
            prefixes[term[:-1]].append((emotion, weight))
        else:
            words[term].append((emotion, weight))
    by_first: dict[str, list[Phrase]] = defaultdict(list)
    for parts, hits in phrases.items():
        negation = any(_is_negator(part) for part in parts)
        by_first[parts[0]].append(Phrase(parts[1:], tuple(hits), negation))
    return EmotionLexicon(
        {k: tuple(v) for k, v in words.items()},
        {k: tuple(v) for k, v in prefixes.items()},
        {k: tuple(sorted(v, key=lambda p: -len(p.rest))) for k, v in by_first.items()},
    )


def _is_negator(word: str) -> bool:
    return word in NEGATORS or "n't" in word


@dataclass(frozen=True, slots=True)
class _Word:
    """What the lexicon says about one lower-cased word of VADER's split (cached: words repeat a lot)."""

    norm: str
    hits: Hits
    negator: bool
    clause_end: bool
    starts_phrase: bool


_cache: dict[str, _Word] = {}
_CACHE_LIMIT = 200_000


def _describe(lower: str) -> _Word:
    norm = lower.translate(_APOSTROPHES).strip(_PUNCTUATION) or lower
    lex = lexicon()
    hits = lex.words.get(norm)
    if hits is None:
        hits = ()
        for end in range(len(norm), 2, -1):
            found = lex.prefixes.get(norm[:end])
            if found is not None:
                hits = found
                break
    return _Word(norm, hits, _is_negator(norm), lower.endswith(_CLAUSE_END), norm in lex.phrases)


def _word(lower: str) -> _Word:
    known = _cache.get(lower)
    if known is None:
        if len(_cache) >= _CACHE_LIMIT:
            _cache.clear()
        known = _cache[lower] = _describe(lower)
    return known


def _phrase_at(described: list[_Word], i: int) -> tuple[Phrase, int] | None:
    for phrase in lexicon().phrases[described[i].norm]:
        end = i + 1 + len(phrase.rest)
        if end > len(described):
            continue
        for offset, wanted in enumerate(phrase.rest):
            got = described[i + 1 + offset].norm
            if got != wanted and not (wanted.endswith("*") and got.startswith(wanted[:-1])):
                break
            if described[i + offset].clause_end:  # a phrase does not run across a full stop or comma
                break
        else:
            return phrase, end
    return None


def emotions(split_text: Words) -> dict[str, float]:
    """Each emotion found (strength >= MIN_STRENGTH) and its strength 0..1, strongest first."""
    described = [_word(lower) for lower in split_text.lowers]
    if not any(w.hits or w.starts_phrase for w in described):
        return {}
    exclamations = 1 + EXCLAMATION * min(split_text.text.count("!"), 3)
    remaining: dict[str, float] = {}  # noisy-OR: the product of (1 - weight)
    negated_until = -1
    i = 0
    while i < len(described):
        word = described[i]
        hits: Hits = word.hits
        end = i + 1
        negated = i <= negated_until
        if word.starts_phrase and (found := _phrase_at(described, i)) is not None:
            phrase, end = found
            hits, negated = phrase.hits, negated and not phrase.has_negation
        elif word.negator:
            negated_until = i + NEGATION_WINDOW
        if hits and not negated:
            factor = _modifier(split_text, i)
            for emotion, weight in hits:
                strength = weight * factor * (exclamations if emotion in EXCLAIMED else 1)
                remaining[emotion] = remaining.get(emotion, 1.0) * (1 - min(strength, 1.0))
        if described[end - 1].clause_end:
            negated_until = -1
        i = end
    found_emotions = {e: round(1 - r, 3) for e, r in remaining.items() if 1 - r >= MIN_STRENGTH}
    return dict(sorted(found_emotions.items(), key=lambda item: (-item[1], EMOTIONS.index(item[0]))))


def _modifier(split_text: Words, i: int) -> float:
    factor = 1.0
    lowers = split_text.lowers
    for back in (1, 2):
        if i >= back:
            booster = BOOSTER_DICT.get(lowers[i - back])
            if booster is not None:
                factor *= BOOST if booster == B_INCR else DAMPEN
                break
    word = split_text.words[i]
    if len(word) > 1 and word.isupper() and split_text.cap_differential:
        factor *= CAPITALS
    return factor


def strongest(found: dict[str, float]) -> str:
    """The emotion with the highest strength (ties in EMOTIONS order), or "" when none."""
    return next(iter(found), "")
