"""Whatever arrives, parse_email answers with a ParsedEmail or an EmailParseError, and never unsafe HTML."""

from __future__ import annotations

from datetime import UTC
from html.parser import HTMLParser

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cxloop.channels.email.markup import sanitize_html
from cxloop.channels.email.parsing import EmailParseError, ParsedEmail, parse_email
from tests.channels.email.corpus_cases import CORPUS

CORPUS_FILES = sorted(path.read_bytes() for path in CORPUS.glob("*.eml"))
FORBIDDEN_TAGS = {
    "script",
    "style",
    "iframe",
    "object",
    "embed",
    "form",
    "input",
    "svg",
    "math",
    "link",
    "meta",
    "base",
}
LINK_SCHEMES = ("http://", "https://", "mailto:", "tel:")
IMAGE_SCHEMES = ("cid:", "data:image/png;", "data:image/jpeg;", "data:image/gif;", "data:image/webp;")
TOKENS = [
    b"\n", b"\n\n", b"\r\n", b"--", b"boundary=", b"Content-Type: multipart/mixed; boundary=x\n", b"--x\n", b"--x--",
    b"Content-Transfer-Encoding: base64\n", b"Content-Transfer-Encoding: quoted-printable\n", b"charset=",
    b"=?utf-8?b?", b"=?utf-8?q?", b"?=", b"=\n", b"=C3", b"\x00", b"\xff\xfe", b"\xc3", b"<", b">", b"@", b";", b'"',
    b"\\", b"(", b")", b"\t", b"Content-Type: message/rfc822\n\n", b"Content-Type: text/html\n\n<script>x</script>",
    b"Date: ", b"From: <@>\n", b"Message-ID: <>\n", b"Content-Disposition: attachment; filename*=utf-8''%FF\n",
    b"Content-Type: multipart/report; report-type=delivery-status\n", b"Final-Recipient: rfc822;\n", b"Status: 9.9.9\n",
]  # fmt: skip
DANGEROUS_HTML = [
    "<script>alert(1)</script>", "<SCRIPT SRC=//x.example/x.js></SCRIPT>", "<img src=x onerror=alert(1)>",
    "<a href='javascript:alert(1)'>", "<a href=' jav&#x09;ascript:alert(1)'>", "<a href=\"JaVaScRiPt:x\">",
    "<svg/onload=alert(1)>", "<iframe src=x>", "<body onload=x>", "<div style='x:expression(alert(1))'>",
    "<style>@import 'x'</style>", "<object data=x>", "<form action=x><input>", "<math><mi xlink:href=x>",
    "<img src='data:text/html,<script>x</script>'>", "<a href='data:text/html;base64,PHNjcmlwdD4='>",
    "<!--", "-->", "<![CDATA[", "]]>", "<", ">", "\"", "'", "=", "onclick=", "javascript:", "<p ", "<a ", "</a>",
    "<base href=x>", "<meta http-equiv=refresh content='0;url=x'>", "<link rel=stylesheet href=x>",
    "<img src=cid:a@b>", "<img src=https://tracker.example/p.gif>", "<table background=x.gif><td>",
]  # fmt: skip


class _Inspector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in FORBIDDEN_TAGS:
            self.problems.append(f"tag {tag}")
        for name, value in attrs:
            value = (value or "").strip().lower()
            if name.startswith("on") or name in ("style", "background", "srcset", "formaction", "action"):
                self.problems.append(f"attribute {name}")
            if name == "href" and not value.startswith(LINK_SCHEMES):
                self.problems.append(f"href {value[:40]}")
            if name == "src" and not (tag == "img" and value.startswith(IMAGE_SCHEMES)):
                self.problems.append(f"src {value[:40]}")


def assert_safe_html(html: str) -> None:
    inspector = _Inspector()
    inspector.feed(html)
    inspector.close()
    assert inspector.problems == []
    assert "<script" not in html.lower()


def assert_consistent(parsed: ParsedEmail) -> None:
    assert parsed.message_id
    assert not set("<> ") & set(parsed.message_id)
    assert "@" in parsed.from_address
    assert parsed.date is None or parsed.date.tzinfo == UTC
    assert parsed.kind in ("message", "auto_reply", "bounce")
    assert (parsed.bounce is not None) == (parsed.kind == "bounce")
    for text in (parsed.text, parsed.summary_text, parsed.html_sanitized, parsed.subject, parsed.from_name):
        assert "\x00" not in text
    for attachment in parsed.attachments:
        assert attachment.filename.strip()
        assert not set("/\\") & set(attachment.filename)
        assert all(ch.isprintable() or ch == " " for ch in attachment.filename)
        assert attachment.content == b"" if attachment.oversized else len(attachment.content) == attachment.size
    assert len(parsed.warnings) <= 50
    assert_safe_html(parsed.html_sanitized)


def parse_or_refuse(raw: bytes) -> None:
    try:
        parsed = parse_email(raw)
    except EmailParseError as error:
        reason = error.reason
    else:
        assert_consistent(parsed)
        return
    assert reason


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=3000))
def test_arbitrary_bytes(raw: bytes) -> None:
    parse_or_refuse(raw)


header_lines = st.lists(
    st.tuples(
        st.sampled_from(["From", "To", "Cc", "Subject", "Date", "Message-ID", "References", "Content-Type",
                         "Content-Transfer-Encoding", "Auto-Submitted", "X-Failed-Recipients", "Reply-To"]),
        st.binary(max_size=80),
    ),
    max_size=12,
)  # fmt: skip


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(header_lines, st.lists(st.sampled_from(TOKENS) | st.binary(max_size=30), max_size=30))
def test_header_shaped_input(headers: list[tuple[str, bytes]], body: list[bytes]) -> None:
    raw = b"".join(name.encode() + b": " + value + b"\n" for name, value in headers) + b"\n" + b"".join(body)

    parse_or_refuse(raw)


mutation = st.tuples(
    st.sampled_from(["flip", "insert", "delete", "truncate", "duplicate"]),
    st.floats(min_value=0, max_value=1),
    st.sampled_from(TOKENS) | st.binary(min_size=1, max_size=8),
    st.integers(min_value=1, max_value=200),
)


def mutate(raw: bytes, mutations: list[tuple[str, float, bytes, int]]) -> bytes:
    data = bytearray(raw)
    for kind, where, payload, length in mutations:
        position = int(where * len(data))
        if kind == "flip" and data:
            data[min(position, len(data) - 1)] ^= payload[0] or 1
        elif kind == "insert":
            data[position:position] = payload
        elif kind == "delete":
            del data[position : position + length]
        elif kind == "truncate":
            del data[position:]
        else:
            data[position:position] = data[position : position + length]
    return bytes(data)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(CORPUS_FILES), st.lists(mutation, min_size=1, max_size=8))
def test_mutated_corpus_messages(raw: bytes, mutations: list[tuple[str, float, bytes, int]]) -> None:
    parse_or_refuse(mutate(raw, mutations))


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(DANGEROUS_HTML) | st.text(max_size=12), max_size=40).map("".join))
def test_sanitised_html_is_always_safe(html: str) -> None:
    assert_safe_html(sanitize_html(html))


def test_the_inspector_catches_what_it_must() -> None:
    for unsafe in ("<script>x</script>", "<p onclick=x>", '<a href="javascript:x">', '<img src="https://t/p.gif">'):
        inspector = _Inspector()
        inspector.feed(unsafe)
        assert inspector.problems or "<script" in unsafe
