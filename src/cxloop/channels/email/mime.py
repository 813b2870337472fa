"""Walking a MIME tree that may be broken: bodies, attachments and report parts, with a warning for each problem.

The email package parses leniently and records defects instead of raising; this walk turns those defects into
warnings, recovers a multipart whose boundary parameter is missing, and keeps every part it cannot place as an
attachment so nothing the sender attached is lost.
"""

from __future__ import annotations

import email
import re
import unicodedata
from dataclasses import dataclass, field
from email.message import Message
from email.policy import Policy, compat32
from email.utils import collapse_rfc2231_value

from cxloop.channels.email.decoding import clean_header_text, decode_bytes, decode_words, unescape_surrogates
from cxloop.channels.email.detection import ReportParts

MAX_DEPTH = 30
_SKIPPED_ALTERNATIVES = {"text/watch-html", "text/x-amp-html", "text/enriched", "text/richtext"}
_MESSAGE_TYPES = {"message/rfc822", "message/global", "message/delivery-status", "message/global-delivery-status"}
_BOUNDARY_LINE = re.compile(rb"^--([^\s]{1,200}?)(--)?[ \t]*$", re.MULTILINE)
_DEFECTS = {
    "NoBoundaryInMultipartDefect": "multipart part has no boundary parameter",
    "StartBoundaryNotFoundDefect": "multipart boundary not found in the body",
    "CloseBoundaryNotFoundDefect": "multipart body ends without its closing boundary (truncated?)",
    "MissingHeaderBodySeparatorDefect": "no blank line between headers and body",
    "FirstHeaderLineIsContinuationDefect": "the first header line is a continuation line",
    "MisplacedEnvelopeHeaderDefect": "an mbox 'From ' line inside the headers",
    "InvalidBase64PaddingDefect": "base64 content with bad padding",
    "InvalidBase64CharactersDefect": "base64 content with invalid characters",
    "InvalidBase64LengthDefect": "base64 content of impossible length (kept undecoded)",
    "InvalidMultipartContentTransferEncodingDefect": "multipart with a content-transfer-encoding other than 7bit/8bit",
    "MultipartInvariantViolationDefect": "",  # always accompanies a boundary defect already reported
}
_EXTENSIONS = {
    "application/pdf": ".pdf",
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "image/gif": ".gif",
    "image/webp": ".webp",
    "image/heic": ".heic",
    "text/plain": ".txt",
    "text/html": ".html",
    "text/calendar": ".ics",
    "application/zip": ".zip",
    "message/rfc822": ".eml",
    "application/vnd.ms-tnef": ".dat",
}


@dataclass
class RawAttachment:
    filename: str  # decoded, not yet made safe
    content_type: str
    content: bytes
    content_id: str = ""
    inline: bool = False


@dataclass
class Walk:
    policy: Policy
    plain: list[str] = field(default_factory=list)
    html: list[str] = field(default_factory=list)
    attachments: list[RawAttachment] = field(default_factory=list)
    report: ReportParts = field(default_factory=ReportParts)
    warnings: list[str] = field(default_factory=list)

    def warn(self, text: str) -> None:
        if text and text not in self.warnings:
            self.warnings.append(text)


def walk(part: Message, state: Walk, depth: int = 0, where: str = "message") -> None:
    if depth > MAX_DEPTH:
        state.warn(f"MIME nesting deeper than {MAX_DEPTH} levels; the rest was skipped")
        return
    _note_defects(part, state, where)
    ctype = part.get_content_type()
    payload = part.get_payload()
    if ctype.startswith("multipart/"):
        _walk_multipart(part, ctype, payload, state, depth, where)
    elif ctype in _MESSAGE_TYPES or (isinstance(payload, list) and ctype.startswith("message/")):
        _walk_message(part, ctype, payload, state)
    else:
        _leaf(part, ctype, state, where)


def _walk_multipart(part: Message, ctype: str, payload: object, state: Walk, depth: int, where: str) -> None:
    if ctype == "multipart/report":
        state.report.report_type = str(part.get_param("report-type") or "").lower()
    if not isinstance(payload, list):
        recovered = _recover_boundary(part, ctype, state)
        if recovered is not None:
            _walk_multipart(recovered, ctype, recovered.get_payload(), state, depth + 1, where)
        else:
            state.warn(f"{where}: {ctype} without usable parts; its body was read as plain text")
            _leaf(part, "text/plain", state, where)
        return
    for index, child in enumerate(payload, start=1):
        if not isinstance(child, Message):
            continue
        if ctype == "multipart/alternative" and child.get_content_type() in _SKIPPED_ALTERNATIVES:
            continue
        walk(child, state, depth + 1, f"{where} part {index}")


def _recover_boundary(part: Message, ctype: str, state: Walk) -> Message | None:
    """A multipart body whose boundary parameter is missing or wrong: use the "--x" line the body itself repeats."""
    body = _raw_payload_bytes(part)
    seen: dict[bytes, int] = {}
    for match in _BOUNDARY_LINE.finditer(body):
        seen[match.group(1)] = seen.get(match.group(1), 0) + 1
    repeated = [boundary for boundary, count in seen.items() if count >= 2 or body.find(b"--" + boundary + b"--") >= 0]
    if not repeated:
        return None
    boundary = repeated[0].replace(b'"', b"")
    header = b'Content-Type: multipart/mixed; boundary="' + boundary + b'"\n\n'
    recovered = email.message_from_bytes(header + body, policy=state.policy)
    if not isinstance(recovered.get_payload(), list):
        return None
    state.warn(f"{ctype} boundary taken from the body ({boundary.decode('ascii', 'replace')[:70]})")
    return recovered


def _walk_message(part: Message, ctype: str, payload: object, state: Walk) -> None:
    if ctype in ("message/delivery-status", "message/global-delivery-status"):
        state.report.delivery_status.append(_header_blocks(payload))
        return
    inner = payload[0] if isinstance(payload, list) and payload and isinstance(payload[0], Message) else None
    if inner is None:
        _leaf(part, ctype, state, "attached message")
        return
    if ctype not in ("message/rfc822", "message/global"):  # disposition notifications and the like: header blocks
        content = _header_blocks(payload).encode("utf-8", "surrogateescape")
        state.attachments.append(RawAttachment(filename=filename_of(part, state), content_type=ctype, content=content))
        return
    headers_text = "\n".join(f"{name}: {value}" for name, value in inner.raw_items())
    state.report.original_headers.append(headers_text)
    name = filename_of(part, state) or _subject_of(inner)
    state.attachments.append(
        RawAttachment(
            filename=f"{name}.eml" if name and not name.lower().endswith(".eml") else name,
            content_type="message/rfc822",
            content=message_bytes(inner),
            inline=False,
        )
    )


def _header_blocks(payload: object) -> str:
    if isinstance(payload, list):
        blocks = [
            "\n".join(f"{k}: {v}" for k, v in block.raw_items()) for block in payload if isinstance(block, Message)
        ]
        return "\n\n".join(blocks)
    return str(payload)


def _subject_of(inner: Message) -> str:
    for name, value in inner.raw_items():
        if name.lower() == "subject":
            text, _ = unescape_surrogates(value)
            return clean_header_text(decode_words(text)[0])[:100]
    return ""


def message_bytes(message: Message) -> bytes:
    """The attached message as bytes: the generator can fail on what the parser accepted, so fall back."""
    for policy in (message.policy, compat32):
        try:
            return message.as_bytes(policy=policy)
        except Exception:  # noqa: BLE001, S112 - the email generator raises many kinds of errors on hostile input
            continue
    return b""


def _leaf(part: Message, ctype: str, state: Walk, where: str) -> None:
    disposition = _disposition(part)
    filename = filename_of(part, state)
    data = payload_bytes(part, state, where)
    if ctype in ("text/rfc822-headers", "message/global-headers"):
        state.report.original_headers.append(decode_bytes(data, _charset(part)).text)
        return
    if ctype in ("text/plain", "text/html") and disposition != "attachment" and not filename:
        decoded = decode_bytes(data, _charset(part))
        if decoded.problem:
            state.warn(f"{where}: {decoded.problem}")
        (state.plain if ctype == "text/plain" else state.html).append(decoded.text)
        return
    content_id = clean_header_text(_raw_header(part, "content-id")).strip("<>").strip()
    if ctype == "application/ms-tnef" or filename.lower() == "winmail.dat":
        state.warn("winmail.dat (TNEF) attachment kept as it is; its contents are not unpacked")
    state.attachments.append(
        RawAttachment(
            filename=filename,
            content_type=ctype,
            content=data,
            content_id=content_id,
            inline=disposition == "inline" or (bool(content_id) and disposition != "attachment"),
        )
    )


def payload_bytes(part: Message, state: Walk, where: str) -> bytes:
    before = len(part.defects)
    try:
        data = part.get_payload(decode=True)
    except Exception:  # noqa: BLE001 - a broken transfer encoding must not lose the part
        state.warn(f"{where}: content could not be decoded; kept as it arrived")
        data = _raw_payload_bytes(part)
    for defect in part.defects[before:]:
        state.warn(f"{where}: {_DEFECTS.get(type(defect).__name__, type(defect).__name__)}")
    return data if isinstance(data, bytes) else b""


def _raw_payload_bytes(part: Message) -> bytes:
    payload = part.get_payload()
    if isinstance(payload, bytes):
        return payload
    if isinstance(payload, str):
        return payload.encode("utf-8", "surrogateescape")
    return b""


def _note_defects(part: Message, state: Walk, where: str) -> None:
    for defect in part.defects:
        text = _DEFECTS.get(type(defect).__name__, type(defect).__name__)
        if text:
            state.warn(f"{where}: {text}")


def _disposition(part: Message) -> str:
    try:
        return (part.get_content_disposition() or "").strip().lower()
    except Exception:  # noqa: BLE001 - a malformed header is treated as absent
        return ""


def _charset(part: Message) -> str | None:
    try:
        charset = part.get_content_charset()
    except Exception:  # noqa: BLE001 - a malformed header is treated as absent
        return None
    return str(charset) if charset else None


def _raw_header(part: Message, name: str) -> str:
    for key, value in part.raw_items():
        if key.lower() == name:
            return unescape_surrogates(str(value))[0]
    return ""


def filename_of(part: Message, state: Walk) -> str:
    """The name the sender gave (RFC 2231 and RFC 2047 both decoded), or ""."""
    try:
        name: object = part.get_filename() or part.get_param("name")
    except Exception:  # noqa: BLE001 - a malformed parameter is treated as absent
        return ""
    if isinstance(name, tuple):
        name = collapse_rfc2231_value(name)
    if not isinstance(name, str) or not name:
        return ""
    text, _ = unescape_surrogates(name)
    decoded, problems = decode_words(text)
    for problem in problems:
        state.warn(f"attachment name: {problem}")
    return decoded


def safe_filename(name: str, index: int, detected: str, declared: str) -> str:
    """A base name that is safe on any file system and in a download header; "attachment-N.ext" when none is left."""
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"))
    name = " ".join(name.split()).strip(". ")
    if len(name) > 200:
        stem, dot, extension = name.rpartition(".")
        name = f"{stem[: 190 - len(extension)]}.{extension}" if dot and len(extension) <= 10 else name[:200]
    if not name:
        extension = _EXTENSIONS.get(detected) or _EXTENSIONS.get(declared, "")
        name = f"attachment-{index}{extension}"
    return name
