"""The standard library's MIME parser without its one costly habit: a new regular expression per multipart boundary.

`email.feedparser` compiles `(?P<sep>--BOUNDARY)(?P<end>--)?(?P<ws>[ \\t]*)(?P<linesep>\\r\\n|\\r|\\n)?$` for each
multipart it meets. Boundaries are unique per message, so `re`'s cache never helps: about 100 µs a multipart, a
seventh of processing a typical HTML mail here. This module loads a second instance of that same stdlib module
(its code untouched) whose `re` is a stand-in: for that one pattern it returns a matcher that checks the boundary
with `str.startswith` and the rest with one expression compiled once, and that finds exactly what the compiled
pattern finds (tests/channels/email/test_feed.py compares both on the corpus and on generated boundaries). Any
other pattern goes to `re` itself.
"""

from __future__ import annotations

import importlib.util
import re
from email.message import Message
from email.policy import Policy
from types import ModuleType
from typing import Any

_HEAD = "(?P<sep>"
_TAIL = r")(?P<end>--)?(?P<ws>[ \t]*)(?P<linesep>\r\n|\r|\n)?$"
_AFTER_SEPARATOR = re.compile(_TAIL[1:])
_ESCAPED = re.compile(r"\\(.)", re.DOTALL)  # re.escape puts a backslash before each special character


class _Boundary:
    """The compiled boundary pattern's `match`, for the uses feedparser makes of it (truth, groups end/linesep)."""

    __slots__ = ("separator",)

    def __init__(self, separator: str) -> None:
        self.separator = separator

    def match(self, line: str) -> re.Match[str] | None:
        if not line.startswith(self.separator):
            return None
        return _AFTER_SEPARATOR.match(line, len(self.separator))


class _Re:
    """Stands for `re` inside the loaded feedparser: escape as re does; compile the boundary pattern cheaply."""

    escape = staticmethod(re.escape)

    @staticmethod
    def compile(pattern: str, flags: int = 0) -> Any:
        if not flags and pattern.startswith(_HEAD) and pattern.endswith(_TAIL):
            return _Boundary(_ESCAPED.sub(r"\1", pattern[len(_HEAD) : -len(_TAIL)]))
        return re.compile(pattern, flags)

    def __getattr__(self, name: str) -> Any:
        return getattr(re, name)


def _load_feedparser() -> ModuleType:
    spec = importlib.util.find_spec("email.feedparser")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # its module-level patterns are compiled by re itself
    module.re = _Re()  # type: ignore[attr-defined]
    return module


_feedparser = _load_feedparser()


def parse_bytes(data: bytes, policy: Policy, *, headers_only: bool = False) -> Message:
    """What email.parser.BytesParser(policy=policy).parsebytes(data, headersonly=headers_only) returns."""
    parser = _feedparser.BytesFeedParser(policy=policy)
    if headers_only:
        parser._set_headersonly()
    parser.feed(data)
    result: Message = parser.close()
    return result
