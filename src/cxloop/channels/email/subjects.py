"""Subject lines across languages: the reply and forward prefixes mail clients add, for threading and replying."""

from __future__ import annotations

import re

# Re, Fwd and their translations (AW/WG German, SV Nordic, TR French, RV/RIF Italian, ANTW Dutch, ODP Polish),
# with Outlook's counters: "RE[2]:", "Re(3):".
_PREFIX = r"(re|fw|fwd|aw|wg|sv|vs|tr|antw|doorst|rif|r|rv|odp|pd|enc|res|ref|ynt|ilt)"
_PREFIXES = re.compile(r"^(\s*" + _PREFIX + r"\s*(\[\d+\]|\(\d+\))?\s*[:：]\s*)+", re.IGNORECASE)
_REPLY_PREFIX = re.compile(r"^\s*(re|aw|sv|vs|antw|odp|rif|r|ynt)\s*(\[\d+\]|\(\d+\))?\s*[:：]", re.IGNORECASE)


def normalize_subject(subject: str) -> str:
    """The subject as a thread key: reply/forward prefixes gone, case folded, white space collapsed.

    Bracketed tags such as "[Ticket #12]" stay: they often are the thread's identity.
    """
    stripped = _PREFIXES.sub("", subject)
    return " ".join(stripped.split()).casefold()


def reply_subject(subject: str) -> str:
    """The subject of a reply: "Re: " added once, never "Re: Re: " or "Re: AW: "."""
    subject = " ".join(subject.split())
    if _REPLY_PREFIX.match(subject):
        return subject
    return f"Re: {subject}" if subject else "Re:"
