"""VADER's scoring, rewritten to run once over the words, with the same results as vaderSentiment 3.3.2.

The reference implementation lower-cases the whole word list again for every sentiment word it meets (in its
negation and idiom checks) and rebuilds the text character by character to replace emoji, which makes it cost
more than everything else cxloop does with a text. This module follows its rules step by step, quirks included
(the "but" rule that rescales the first equal score, "kind of", "least", the ALL CAPS differential), on a word
list lower-cased once, and hands the words to the emotion pass so that the text is split only once.
`tests/textanalytics/test_sentiment_vader.py` compares every score with the reference on all shared texts.

The lexicon and emoji files are read from the installed vaderSentiment wheel. VADER: C.J. Hutto and E.E.
Gilbert (2014), "VADER: A Parsimonious Rule-based Model for Sentiment Analysis of Social Media Text", ICWSM-14;
MIT licence. The constants and rules below are theirs.
"""

from __future__ import annotations

import math
import string
from dataclasses import dataclass
from functools import cache
from importlib import resources

from vaderSentiment import vaderSentiment as reference

B_INCR = reference.B_INCR
C_INCR = reference.C_INCR
N_SCALAR = reference.N_SCALAR
BOOSTER_DICT: dict[str, float] = dict(reference.BOOSTER_DICT)
SPECIAL_CASES: dict[str, float] = dict(reference.SPECIAL_CASES)
NEGATE = frozenset(reference.NEGATE)
_PUNCTUATION = string.punctuation


@dataclass(frozen=True, slots=True)
class Words:
    """A text split the way VADER splits it: `words` keep their case, `lowers` are the same words lower-cased."""

    text: str
    words: list[str]
    lowers: list[str]
    cap_differential: bool


@dataclass(frozen=True, slots=True)
class Lexicon:
    words: dict[str, float]
    emoji: dict[str, str]
    emoji_chars: frozenset[str]


@cache
def lexicon() -> Lexicon:
    """VADER's word and emoji lexicons, parsed as the reference parses them (loaded once per process)."""
    package = resources.files("vaderSentiment")
    words: dict[str, float] = {}
    for line in package.joinpath("vader_lexicon.txt").read_text(encoding="utf-8").rstrip("\n").split("\n"):
        if line:
            word, measure = line.strip().split("\t")[0:2]
            words[word] = float(measure)
    emoji: dict[str, str] = {}
    for line in package.joinpath("emoji_utf8_lexicon.txt").read_text(encoding="utf-8").rstrip("\n").split("\n"):
        symbol, description = line.strip().split("\t")[0:2]
        emoji[symbol] = description
    # The reference looks emoji up one character at a time, so only one-character entries can ever match.
    return Lexicon(words, emoji, frozenset(key for key in emoji if len(key) == 1))


def _replace_emoji(text: str, emoji: dict[str, str]) -> str:
    parts: list[str] = []
    previous_space = True
    for char in text:
        description = emoji.get(char)
        if description is not None:
            if not previous_space:
                parts.append(" ")
            parts.append(description)
            previous_space = False
        else:
            parts.append(char)
            previous_space = char == " "
    return "".join(parts)


def split(text: str) -> Words:
    """Emoji replaced by their descriptions, then VADER's words: split on white space, punctuation stripped
    from both ends unless that leaves two characters or fewer (emoticons such as ":)" stay whole)."""
    lex = lexicon()
    if not lex.emoji_chars.isdisjoint(text):
        text = _replace_emoji(text, lex.emoji).strip()
    words = [stripped if len(stripped := token.strip(_PUNCTUATION)) > 2 else token for token in text.split()]
    upper = sum(1 for word in words if word.isupper())
    return Words(text, words, [word.lower() for word in words], 0 < len(words) - upper < len(words))


def compound(split_text: Words) -> float:
    """VADER's compound score (-1..1, rounded to 4 places as the reference rounds it)."""
    return polarity(split_text)["compound"]


def polarity(split_text: Words) -> dict[str, float]:
    """The reference's `polarity_scores` result (neg, neu, pos, compound) for an already split text."""
    sentiments = _sentiments(split_text, lexicon().words)
    if "but" in split_text.lowers:
        sentiments = _but_check(split_text.lowers, sentiments)
    return _score_valence(sentiments, split_text.text)


def _sentiments(split_text: Words, lex: dict[str, float]) -> list[float]:
    words, lowers = split_text.words, split_text.lowers
    last = len(words) - 1
    sentiments: list[float] = []
    for i, lower in enumerate(lowers):
        if lower in BOOSTER_DICT or (lower == "kind" and i < last and lowers[i + 1] == "of"):
            sentiments.append(0)
            continue
        value = lex.get(lower)
        sentiments.append(0 if value is None else _valence(value, split_text, i, lex))
    return sentiments


def _valence(value: float, split_text: Words, i: int, lex: dict[str, float]) -> float:
    words, lowers, cap_differential = split_text.words, split_text.lowers, split_text.cap_differential
    valence = value
    if lowers[i] == "no" and i != len(words) - 1 and lowers[i + 1] in lex:
        valence = 0.0
    if (
        (i > 0 and lowers[i - 1] == "no")
        or (i > 1 and lowers[i - 2] == "no")
        or (i > 2 and lowers[i - 3] == "no" and lowers[i - 1] in ("or", "nor"))
    ):
        valence = value * N_SCALAR
    if cap_differential and words[i].isupper():
        valence = valence + C_INCR if valence > 0 else valence - C_INCR
    for start in range(3):
        if i > start and lowers[i - (start + 1)] not in lex:
            scalar = _scalar_inc_dec(words[i - (start + 1)], lowers[i - (start + 1)], valence, cap_differential)
            if start == 1 and scalar != 0:
                scalar = scalar * 0.95
            if start == 2 and scalar != 0:
                scalar = scalar * 0.9
            valence = _negation_check(valence + scalar, lowers, start, i)
            if start == 2:
                valence = _special_idioms_check(valence, lowers, i)
    return _least_check(valence, lowers, i, lex)


def _scalar_inc_dec(word: str, lower: str, valence: float, cap_differential: bool) -> float:
    scalar = BOOSTER_DICT.get(lower)
    if scalar is None:
        return 0.0
    if valence < 0:
        scalar *= -1
    if word.isupper() and cap_differential:
        scalar = scalar + C_INCR if valence > 0 else scalar - C_INCR
    return scalar


def _negated(lower: str) -> bool:
    return lower in NEGATE or "n't" in lower


def _negation_check(valence: float, lowers: list[str], start: int, i: int) -> float:
    if start == 0:
        if _negated(lowers[i - 1]):
            valence = valence * N_SCALAR
    elif start == 1:
        if lowers[i - 2] == "never" and lowers[i - 1] in ("so", "this"):
            valence = valence * 1.25
        elif lowers[i - 2] == "without" and lowers[i - 1] == "doubt":
            pass
        elif _negated(lowers[i - 2]):
            valence = valence * N_SCALAR
    elif (lowers[i - 3] == "never" and lowers[i - 2] in ("so", "this")) or lowers[i - 1] in ("so", "this"):
        valence = valence * 1.25
    elif lowers[i - 3] == "without" and (lowers[i - 2] == "doubt" or lowers[i - 1] == "doubt"):
        pass
    elif _negated(lowers[i - 3]):
        valence = valence * N_SCALAR
    return valence


def _special_idioms_check(valence: float, lowers: list[str], i: int) -> float:
    one_zero = f"{lowers[i - 1]} {lowers[i]}"
    two_one_zero = f"{lowers[i - 2]} {lowers[i - 1]} {lowers[i]}"
    two_one = f"{lowers[i - 2]} {lowers[i - 1]}"
    three_two_one = f"{lowers[i - 3]} {lowers[i - 2]} {lowers[i - 1]}"
    three_two = f"{lowers[i - 3]} {lowers[i - 2]}"
    for sequence in (one_zero, two_one_zero, two_one, three_two_one, three_two):
        if sequence in SPECIAL_CASES:
            valence = SPECIAL_CASES[sequence]
            break
    if len(lowers) - 1 > i:
        zero_one = f"{lowers[i]} {lowers[i + 1]}"
        if zero_one in SPECIAL_CASES:
            valence = SPECIAL_CASES[zero_one]
    if len(lowers) - 1 > i + 1:
        zero_one_two = f"{lowers[i]} {lowers[i + 1]} {lowers[i + 2]}"
        if zero_one_two in SPECIAL_CASES:
            valence = SPECIAL_CASES[zero_one_two]
    for n_gram in (three_two_one, three_two, two_one):
        if n_gram in BOOSTER_DICT:
            valence = valence + BOOSTER_DICT[n_gram]
    return valence


def _least_check(valence: float, lowers: list[str], i: int, lex: dict[str, float]) -> float:
    if i > 1 and lowers[i - 1] not in lex and lowers[i - 1] == "least":
        if lowers[i - 2] != "at" and lowers[i - 2] != "very":
            valence = valence * N_SCALAR
    elif i > 0 and lowers[i - 1] not in lex and lowers[i - 1] == "least":
        valence = valence * N_SCALAR
    return valence


def _but_check(lowers: list[str], sentiments: list[float]) -> list[float]:
    # Kept as the reference does it: each score is looked up by value (`index`), so when two scores are equal
    # the first one is rescaled twice. Changing this would change compound scores.
    but_index = lowers.index("but")
    for sentiment in sentiments:
        position = sentiments.index(sentiment)
        if position < but_index:
            sentiments.pop(position)
            sentiments.insert(position, sentiment * 0.5)
        elif position > but_index:
            sentiments.pop(position)
            sentiments.insert(position, sentiment * 1.5)
    return sentiments


def _punctuation_emphasis(text: str) -> float:
    exclamations = min(text.count("!"), 4) * 0.292
    questions = text.count("?")
    if questions > 1:
        return exclamations + (questions * 0.18 if questions <= 3 else 0.96)
    return exclamations


def _score_valence(sentiments: list[float], text: str) -> dict[str, float]:
    if not sentiments:
        return {"neg": 0.0, "neu": 0.0, "pos": 0.0, "compound": 0.0}
    total = float(sum(sentiments))
    emphasis = _punctuation_emphasis(text)
    if total > 0:
        total += emphasis
    elif total < 0:
        total -= emphasis
    score = total / math.sqrt((total * total) + 15)
    score = max(-1.0, min(1.0, score))
    pos_sum = neg_sum = 0.0
    neutral = 0
    for sentiment in sentiments:
        if sentiment > 0:
            pos_sum += float(sentiment) + 1
        if sentiment < 0:
            neg_sum += float(sentiment) - 1
        if sentiment == 0:
            neutral += 1
    if pos_sum > math.fabs(neg_sum):
        pos_sum += emphasis
    elif pos_sum < math.fabs(neg_sum):
        neg_sum -= emphasis
    whole = pos_sum + math.fabs(neg_sum) + neutral
    return {
        "neg": round(math.fabs(neg_sum / whole), 3),
        "neu": round(math.fabs(neutral / whole), 3),
        "pos": round(math.fabs(pos_sum / whole), 3),
        "compound": round(score, 4),
    }
