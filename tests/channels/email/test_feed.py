"""channels.email.feed parses exactly as the standard library's BytesParser: the same tree, part for part."""

from __future__ import annotations

import re
from email.message import Message
from email.parser import BytesParser
from email.policy import compat32
from email.policy import default as default_policy

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cxloop.channels.email import feed
from tests.channels.email.corpus_cases import CORPUS


def _tree(message: Message) -> object:
    """Everything a parsed message holds, nested: headers, payload, preamble, epilogue, defects, unixfrom."""
    payload = message._payload  # type: ignore[attr-defined]
    if isinstance(payload, list):
        payload = [_tree(part) for part in payload]
    return (
        type(message).__name__,
        list(message._headers),  # type: ignore[attr-defined]
        payload,
        message.preamble,
        message.epilogue,
        [type(defect).__name__ for defect in message.defects],
        message.get_unixfrom(),
        message.get_default_type(),
    )


def _both(data: bytes, policy: object, *, headers_only: bool = False) -> tuple[object, object]:
    ours = feed.parse_bytes(data, policy, headers_only=headers_only)  # type: ignore[arg-type]
    stdlib = BytesParser(policy=policy).parsebytes(data, headersonly=headers_only)  # type: ignore[arg-type]
    return _tree(ours), _tree(stdlib)


@pytest.mark.parametrize("path", sorted(CORPUS.glob("*.eml")), ids=lambda p: p.name)
@pytest.mark.parametrize("policy", [default_policy, compat32], ids=["default", "compat32"])
def test_corpus_files_parse_as_the_standard_library_parses_them(path, policy):
    data = path.read_bytes()
    for raw in (data, data.replace(b"\r\n", b"\n")):
        ours, stdlib = _both(raw, policy)
        assert ours == stdlib
        assert _both(raw, policy, headers_only=True)[0] == _both(raw, policy, headers_only=True)[1]


def test_the_corpus_holds_multiparts_so_the_boundary_matcher_is_used():
    multiparts = [p for p in CORPUS.glob("*.eml") if b"multipart/" in p.read_bytes().lower()]
    assert len(multiparts) >= 10


# Boundary texts with the characters re.escape escapes, spaces, and near-misses in the body.
_BOUNDARY_CHARS = st.sampled_from(list("abcXYZ019'()+_,-./:=? *[]{}|^$\\&#~\t"))
_LINE_END = st.sampled_from(["\n", "\r\n", "\r", ""])


@settings(max_examples=300, deadline=None)
@given(
    boundary=st.text(_BOUNDARY_CHARS, min_size=1, max_size=40).filter(lambda b: b.strip() and '"' not in b),
    trailer=st.sampled_from(["", "--", "  ", "--\t", " x", "--x", "-"]),
    end=_LINE_END,
    nested=st.booleans(),
)
def test_generated_boundaries_split_parts_as_the_standard_library_does(boundary, trailer, end, nested):
    inner = (
        f'Content-Type: multipart/alternative; boundary="{boundary}x"\n\n'
        f"--{boundary}x\nContent-Type: text/plain\n\nplain --{boundary}\n--{boundary}x--\n"
        if nested
        else "Content-Type: text/plain\n\nbody line\n"
    )
    text = (
        f'From: a@example.com\nContent-Type: multipart/mixed; boundary="{boundary}"\n\npreamble\n'
        f"--{boundary}\n{inner}--{boundary}{trailer}{end}"
        f"Content-Type: text/plain\n\nsecond --{boundary} not a boundary\n--{boundary}--{end}epilogue\n"
    )
    data = text.encode("utf-8", "surrogateescape")
    ours, stdlib = _both(data, default_policy)
    assert ours == stdlib


def test_other_patterns_are_compiled_by_re_itself():
    assert isinstance(feed._Re.compile(r"(a|b)+"), re.Pattern)
    assert feed._Re.escape("a.b") == re.escape("a.b")
