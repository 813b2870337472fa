"""Key phrases of a text, RAKE-style (Rose et al., "Automatic keyword extraction from individual documents", 2010).

Candidate phrases are the runs of words between stopwords and punctuation; a word scores its degree (the words it
shares phrases with, itself included) over its frequency, a phrase the sum of its words' scores. RAKE needs no
training data and no corpus statistics, so it works on one message alone, and its phrases are the customer's own
words, which is what driver analysis and the inbox show. The stopword lists ship with the package
(stopwords_<language>.txt), so nothing is downloaded at run time; a language without a list gets no phrases.
"""

from __future__ import annotations

import re
from collections import defaultdict
from functools import cache
from importlib import resources

MAX_PHRASES = 5
MAX_WORDS = 4  # longer runs are sentences that happen to lack stopwords, not phrases
_TOKEN = re.compile(r"[^\W_]+(?:['\u2019\-][^\W_]+)*|[^\w\s]", re.UNICODE)


@cache
def stopwords(language: str) -> frozenset[str]:
    """The shipped stopword list of `language` (ISO 639-1), empty when there is none."""
    if not language.isalpha():
        return frozenset()
    path = resources.files("cxloop.textanalytics").joinpath(f"stopwords_{language}.txt")
    if not path.is_file():
        return frozenset()
    lines = path.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().lower() for line in lines if line.strip() and not line.startswith("#"))


def candidates(text: str, stop: frozenset[str]) -> list[tuple[str, ...]]:
    """Runs of content words, split at stopwords, punctuation and words without a letter (numbers, ids)."""
    runs: list[tuple[str, ...]] = []
    current: list[str] = []
    for token in _TOKEN.findall(text.lower().replace("\u2019", "'")):
        if token in stop or len(token) < 2 or not any(char.isalpha() for char in token):
            if current:
                runs.append(tuple(current))
                current = []
        else:
            current.append(token)
    if current:
        runs.append(tuple(current))
    return [run for run in runs if len(run) <= MAX_WORDS]


def key_phrases(text: str, language: str = "en", *, limit: int = MAX_PHRASES) -> tuple[str, ...]:
    """Up to `limit` phrases, best first, lower-case, without repeats or phrases inside a chosen one."""
    stop = stopwords(language or "en")
    if not stop:
        return ()
    runs = candidates(text, stop)
    if not runs:
        return ()
    frequency: dict[str, int] = defaultdict(int)
    degree: dict[str, int] = defaultdict(int)
    for run in runs:
        for word in run:
            frequency[word] += 1
            degree[word] += len(run)
    score = {word: degree[word] / frequency[word] for word in frequency}
    first_seen: dict[tuple[str, ...], int] = {}
    for position, run in enumerate(runs):
        first_seen.setdefault(run, position)
    ranked = sorted(first_seen, key=lambda run: (-sum(score[w] for w in run), first_seen[run]))
    chosen: list[str] = []
    for run in ranked:
        phrase = " ".join(run)
        if any(f" {phrase} " in f" {kept} " for kept in chosen):
            continue
        chosen.append(phrase)
        if len(chosen) == limit:
            break
    return tuple(chosen)
