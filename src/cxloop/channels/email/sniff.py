"""What a file really is, from its first bytes: the declared type of an attachment is whatever the sender said."""

from __future__ import annotations

import io
import zipfile

OCTET_STREAM = "application/octet-stream"

# (offset, signature, type), checked in order; the first match wins.
_SIGNATURES: tuple[tuple[int, bytes, str], ...] = (
    (0, b"%PDF-", "application/pdf"),
    (0, b"\x89PNG\r\n\x1a\n", "image/png"),
    (0, b"\xff\xd8\xff", "image/jpeg"),
    (0, b"GIF87a", "image/gif"),
    (0, b"GIF89a", "image/gif"),
    (0, b"BM", "image/bmp"),
    (0, b"II*\x00", "image/tiff"),
    (0, b"MM\x00*", "image/tiff"),
    (0, b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "application/x-ole-storage"),  # .doc, .xls, .msg
    (0, b"\x78\x9f\x3e\x22", "application/vnd.ms-tnef"),  # winmail.dat
    (0, b"\x1f\x8b", "application/gzip"),
    (0, b"Rar!\x1a\x07", "application/vnd.rar"),
    (0, b"7z\xbc\xaf\x27\x1c", "application/x-7z-compressed"),
    (0, b"MZ", "application/x-msdownload"),
    (0, b"\x7fELF", "application/x-executable"),
    (0, b"ID3", "audio/mpeg"),
    (0, b"OggS", "audio/ogg"),
    (0, b"BEGIN:VCALENDAR", "text/calendar"),
    (0, b"BEGIN:VCARD", "text/vcard"),
)
_ISO_BRANDS = {b"heic": "image/heic", b"heix": "image/heic", b"mif1": "image/heif", b"qt  ": "video/quicktime"}
_OFFICE_DIRS = (
    ("word/", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    ("xl/", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    ("ppt/", "application/vnd.openxmlformats-officedocument.presentationml.presentation"),
)
_TEXT_CONTROLS = set(range(0x20)) - {0x09, 0x0A, 0x0C, 0x0D, 0x1B}


def detect_type(content: bytes) -> str:
    """The content type the bytes announce, or application/octet-stream."""
    head = content[:64]
    for offset, signature, kind in _SIGNATURES:
        if head[offset : offset + len(signature)] == signature:
            return kind
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[4:8] == b"ftyp":
        return _ISO_BRANDS.get(head[8:12], "video/mp4")
    if head[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        return _zip_kind(content)
    return _markup_or_text(content[:4096])


def _zip_kind(content: bytes) -> str:
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            names = archive.namelist()
            if "mimetype" in names:
                declared = archive.read("mimetype")[:100].decode("ascii", "replace").strip()
                if declared.startswith("application/vnd.oasis.opendocument."):
                    return declared
    except Exception:  # noqa: BLE001 - an archive a sender built may break zipfile in any way (bad headers,
        # an unsupported compression method, encryption, truncation): it is then simply "a zip file".
        return "application/zip"
    for prefix, kind in _OFFICE_DIRS:
        if any(name.startswith(prefix) for name in names):
            return kind
    return "application/zip"


def _markup_or_text(head: bytes) -> str:
    if not head:
        return OCTET_STREAM
    lowered = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if lowered.startswith((b"<!doctype html", b"<html")):
        return "text/html"
    if b"<svg" in lowered[:1024] and lowered.startswith((b"<svg", b"<?xml", b"<!--", b"<!doctype svg")):
        return "image/svg+xml"
    return "text/plain" if _looks_like_text(head) else OCTET_STREAM


def _looks_like_text(head: bytes) -> bool:
    """Binary formats have control bytes within their first few kilobytes; text in any charset has none."""
    return not any(byte in _TEXT_CONTROLS for byte in head)
