"""The language of a text: py3langid restricted to the languages this installation serves.

Why restricted: over all 97 languages of the model, short English texts come out as Latin, Scots or Malay now
and then; a deployment knows which languages its customers write (CXLOOP_TEXT_LANGUAGES), and choosing among
those is both more accurate and cheaper (the model multiplies fewer columns). Why the hint: a text of a few
words ("ok", "Danke!", "merci beaucoup") carries too little evidence, while the customer's locale is usually
known; for such texts the hint wins, and without a hint an unsure guess gives "" rather than a wrong code.
Figures in docs/text-analytics.md.
"""

from __future__ import annotations

import os
import re
import threading
from functools import cache
from typing import Any

DEFAULT_LANGUAGES = ("en", "de", "fr", "es", "nl", "it", "pt")
SHORT_LETTERS = 25  # under this many letters a text is "short": the hint, if any, wins
SHORT_CONFIDENCE = 0.9  # a short text without hint gets a language only when the model is this sure
SAMPLE_CHARS = 2000  # a long email's first 2,000 characters tell its language as well as the whole
CONFIDENCE = 0.5  # a longer text below this confidence: the hint if given, else the guess

_lock = threading.Lock()
_LETTER = re.compile(r"[^\W\d_]")


def configured_languages() -> tuple[str, ...]:
    """CXLOOP_TEXT_LANGUAGES from Django's settings when Django is configured, else from the environment."""
    value: Any = None
    try:
        from django.conf import settings

        if settings.configured:
            value = getattr(settings, "CXLOOP_TEXT_LANGUAGES", None)
    except ImportError:  # pragma: no cover - Django is a dependency; this keeps the module usable on its own
        value = None
    if value is None:
        raw = os.environ.get("CXLOOP_TEXT_LANGUAGES", "")
        value = [part for part in raw.split(",") if part.strip()] or list(DEFAULT_LANGUAGES)
    return _normalised(tuple(value))


@cache
def _normalised(codes: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(code.strip().lower() for code in codes if code.strip()))


@cache
def _model() -> Any:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


@cache
def identifier(languages: tuple[str, ...]) -> Any:
    """A py3langid identifier over `languages` (all of the model's when empty), built once per set.

    Raises ValueError naming the codes the model does not know."""
    import copy

    with _lock:
        base = _model()
        unknown = sorted(set(languages) - set(base.labels))
        if unknown:
            raise ValueError(f"CXLOOP_TEXT_LANGUAGES: the language model does not know {', '.join(unknown)}")
        restricted = copy.copy(base)
        restricted.set_languages(list(languages) if languages else None)
        return restricted


def normalise_hint(hint: str) -> str:
    """ "de-CH", "pt_BR", "EN" -> "de", "pt", "en"; anything that does not start with two letters -> ""."""
    code = hint.strip()[:2].lower()
    return code if len(code) == 2 and code.isascii() and code.isalpha() else ""


def detect(text: str, *, hint: str = "", languages: tuple[str, ...] | None = None) -> str:
    """ISO 639-1 code of `text`'s language, or "" when it cannot be told (no letters, short and unsure)."""
    hint = normalise_hint(hint)
    letters = _letters(text)
    if letters == 0:
        return hint
    if letters < SHORT_LETTERS and hint:
        return hint
    chosen = configured_languages() if languages is None else languages
    code, confidence = identifier(chosen).classify(text[:SAMPLE_CHARS])
    if letters < SHORT_LETTERS:
        return str(code) if confidence >= SHORT_CONFIDENCE else ""
    if confidence < CONFIDENCE and hint:
        return hint
    return str(code)


def _letters(text: str) -> int:
    """Letters among the first characters of `text`: enough to tell a short text from a long one, in C speed."""
    return len(_LETTER.findall(text, 0, 400))
