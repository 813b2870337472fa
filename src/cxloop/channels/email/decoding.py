"""Bytes to text for mail that lies about its charset.

Senders declare us-ascii and send UTF-8, declare UTF-8 and send Windows-1252, or name charsets that do
not exist. The order tried is: what was declared, UTF-8, a guess by charset-normalizer restricted to the
charsets mail really uses (unrestricted, it picks exotic code pages for short European text), then
Latin-1, which decodes anything.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import re
import unicodedata
from dataclasses import dataclass

import charset_normalizer

# Labels mail clients use that Python does not know, or knows as a narrower charset than the sender meant.
_ALIASES = {
    "iso-8859-1": "cp1252",  # Outlook labels Windows-1252 text (curly quotes, €) as Latin-1
    "iso8859-1": "cp1252",
    "latin1": "cp1252",
    "latin-1": "cp1252",
    "us-ascii": "ascii",
    "ascii": "ascii",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "ks_c_5601-1987": "cp949",
    "x-mac-roman": "mac-roman",
    "utf8": "utf-8",
    "x-sjis": "shift_jis",
}
# Single-byte charsets decode every byte sequence, so a wrong label never fails; UTF-8 bytes under such a label
# are recognised by being valid UTF-8 with multi-byte sequences, which Latin text practically never is.
_NEVER_FAILING = {"cp1252", "iso8859-15", "latin-1", "iso8859-1", "cp1250", "iso8859-2"}
_GUESSABLE = [
    "cp1252",
    "iso8859_15",
    "cp1250",
    "iso8859_2",
    "cp1251",
    "koi8_r",
    "cp1253",
    "cp1254",
    "shift_jis",
    "euc_jp",
    "iso2022_jp",
    "gb18030",
    "big5",
    "euc_kr",
]
_PLAUSIBLE_CATEGORIES = {"Lu", "Ll", "Lt", "Lm", "Lo", "Sc", "Pd", "Pi", "Pf"}
_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=")
_MALFORMED_WORD = re.compile(r"=\?[^?\s]+\?[bBqQ]\?")
_WORD_GAP = re.compile(r"^[ \t\r\n]*$")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass(frozen=True)
class Decoded:
    text: str
    charset: str  # the codec that produced `text`
    problem: str = ""  # why the declared charset was not used, when it was not


def codec_for(label: str | None) -> str | None:
    """The Python codec for a charset label, or None when the label is empty, bogus or 'unknown-8bit'."""
    if not label:
        return None
    name = label.strip().strip("\"'").lower()
    name = _ALIASES.get(name, name)
    try:
        return codecs.lookup(name).name
    except (LookupError, ValueError):
        return None


def decode_bytes(data: bytes, declared: str | None = None) -> Decoded:
    if not data:
        return Decoded("", codec_for(declared) or "utf-8")
    codec = codec_for(declared)
    if codec is not None:
        text = _strict(data, codec)
        if text is not None:
            if codec in _NEVER_FAILING and not data.isascii():
                utf8 = _strict(data, "utf-8")
                if utf8 is not None:
                    return Decoded(utf8, "utf-8", f"declared charset {declared!r} but the bytes are UTF-8")
            return Decoded(text, codec)
        why = f"declared charset {declared!r} does not fit the bytes"
    else:
        why = f"unknown charset {declared!r}" if declared else "no charset declared"
    return _guess(data, why)


def _guess(data: bytes, why: str) -> Decoded:
    utf8 = _strict(data, "utf-8")
    if utf8 is not None:
        return Decoded(utf8, "utf-8", f"{why}; read as UTF-8" if not data.isascii() else "")
    guess = _best_guess(data)
    if guess is not None:
        return Decoded(guess[1], guess[0], f"{why}; guessed {guess[0]}")
    return Decoded(data.decode("latin-1"), "latin-1", f"{why}; read as Latin-1")


def _best_guess(data: bytes) -> tuple[str, str] | None:
    """charset-normalizer's candidates, ranked so that ties go to text made of plausible characters.

    Its own `best()` calls French in Windows-1252 "cp1250" (è becomes č) because both score alike. Preferring
    decodings whose non-ASCII characters are letters, currency signs or typographic punctuation, then the more
    common charset, fixes that without turning Polish cp1250 into cp1252 symbols.
    """
    matches = [m for m in charset_normalizer.from_bytes(data, cp_isolation=_GUESSABLE) if m.encoding]
    if not matches:
        return None
    least_chaos = min(m.chaos for m in matches)
    calm = [m for m in matches if m.chaos <= least_chaos + 0.01]

    def rank(match: charset_normalizer.CharsetMatch) -> tuple[float, float, int]:
        text = str(match)
        order = _GUESSABLE.index(match.encoding) if match.encoding in _GUESSABLE else len(_GUESSABLE)
        return (_letter_share(text), match.coherence, -order)

    best = max(calm, key=rank)
    text = str(best)
    if best.encoding != "cp1252" and _strict(data, "cp1252") == text:
        return "cp1252", text  # the same text: name the charset the sender most likely used
    return best.encoding, text


def _letter_share(text: str) -> float:
    non_ascii = [ch for ch in text if ord(ch) > 127]
    if not non_ascii:
        return 1.0
    return sum(1 for ch in non_ascii if _plausible(ch)) / len(non_ascii)


def _plausible(ch: str) -> bool:
    """Letters, currency signs, dashes and quotes: what non-ASCII characters in real text mostly are."""
    return unicodedata.category(ch) in _PLAUSIBLE_CATEGORIES or ch in "…°§·×«»"


def _strict(data: bytes, codec: str) -> str | None:
    try:
        return data.decode(codec)
    except (UnicodeDecodeError, LookupError):
        return None


def unescape_surrogates(value: str) -> tuple[str, str]:
    """Headers with raw 8-bit bytes reach us as surrogate escapes; turn them into text the best way we can."""
    if value.isascii():
        return value, ""
    try:
        raw = value.encode("ascii", "surrogateescape")
    except UnicodeEncodeError:
        return value, ""  # already real text (a str that went through another decoder)
    decoded = decode_bytes(raw, "utf-8")
    return decoded.text, "raw 8-bit bytes in header" + (f" ({decoded.problem})" if decoded.problem else "")


def decode_words(value: str) -> tuple[str, list[str]]:
    """Decode RFC 2047 encoded-words leniently: broken ones stay as they were, adjacent ones are joined first.

    Joining the bytes of neighbouring words with the same charset before decoding matters: some encoders
    split a multi-byte character across two words.
    """
    problems: list[str] = []
    out: list[str] = []
    pending: bytes = b""
    pending_charset = ""
    pos = 0
    for match in _ENCODED_WORD.finditer(value):
        gap = value[pos : match.start()]
        if pending and not _WORD_GAP.match(gap):
            out.append(_flush(pending, pending_charset, problems))
            pending = b""
        if not pending:
            out.append(gap)
        charset = match.group(1).split("*", 1)[0]
        payload = _word_bytes(match.group(2).lower(), match.group(3))
        if payload is None:
            if pending:
                out.append(_flush(pending, pending_charset, problems))
                pending = b""
            out.append(match.group(0))
        elif pending and charset.lower() != pending_charset.lower():
            out.append(_flush(pending, pending_charset, problems))
            pending, pending_charset = payload, charset
        else:
            pending, pending_charset = pending + payload, charset
        pos = match.end()
    if pending:
        out.append(_flush(pending, pending_charset, problems))
    out.append(value[pos:])
    decoded = "".join(out)
    if _MALFORMED_WORD.search(decoded):
        problems.append("malformed encoded-word left as it is")
    return decoded, problems


def _word_bytes(encoding: str, payload: str) -> bytes | None:
    if encoding == "q":
        return _q_decode(payload)
    cleaned = payload.rstrip("=")
    try:
        return base64.b64decode(cleaned + "=" * (-len(cleaned) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None


def _q_decode(payload: str) -> bytes:
    out = bytearray()
    i = 0
    raw = payload.encode("ascii", "replace")
    while i < len(raw):
        byte = raw[i]
        if byte == ord("_"):
            out.append(0x20)
        elif byte == ord("=") and _is_hex(raw[i + 1 : i + 3]):
            out.append(int(raw[i + 1 : i + 3], 16))
            i += 2
        else:
            out.append(byte)
        i += 1
    return bytes(out)


def _is_hex(pair: bytes) -> bool:
    return len(pair) == 2 and all(chr(b) in "0123456789abcdefABCDEF" for b in pair)


def _flush(data: bytes, charset: str, problems: list[str]) -> str:
    decoded = decode_bytes(data, charset)
    if decoded.problem:
        problems.append(f"encoded-word: {decoded.problem}")
    return decoded.text


def clean_header_text(value: str) -> str:
    """Unfold, drop control characters and collapse runs of white space: header values are one line of text."""
    value = _CONTROL.sub("", value.replace("\r", " ").replace("\n", " ").replace("\t", " "))
    return re.sub(r" {2,}", " ", value).strip()
