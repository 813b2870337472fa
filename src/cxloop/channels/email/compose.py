"""Outbound mail as Django message objects: threading headers, unsubscribe headers, auto-submitted marks.

Pure builders: nothing here sends. The SMTP sender hands the result to a Django email backend.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from django.core.mail import EmailMultiAlternatives, make_msgid

from cxloop.channels.email.subjects import reply_subject

__all__ = ["ComposeError", "ComposeRequest", "compose_email", "reply_subject", "thread_references"]

# Mail clients and servers choke on very long References; keeping the root and the most recent ids keeps
# the thread intact (RFC 5322 3.6.4 leaves trimming to the sender).
MAX_REFERENCES = 20
_MSG_ID = re.compile(r"^[^<>\s@]+@[^<>\s@]+$")


class ComposeError(ValueError):
    """The request cannot become a well-formed message (a bad id, a marketing mail without unsubscribe...)."""


@dataclass(frozen=True)
class ComposeRequest:
    from_email: str  # "Support <support@example.com>" or a bare address
    to: Sequence[str]
    subject: str
    text: str
    html: str = ""
    cc: Sequence[str] = ()
    reply_to: Sequence[str] = ()
    message_id: str = ""  # given (with or without <>) or generated on the sender's domain
    message_id_domain: str = ""  # defaults to the domain of from_email
    in_reply_to: str = ""  # the customer's message being answered
    references: Sequence[str] = ()  # the thread so far, oldest first
    purpose: Literal["service", "marketing"] = "service"
    unsubscribe_url: str = ""  # https URL that unsubscribes on POST (RFC 8058) and shows a page on GET
    unsubscribe_mailto: str = ""  # address or mailto: URI
    automated: bool = False  # sent by a rule, not typed by a person: Auto-Submitted: auto-generated


def compose_email(request: ComposeRequest) -> EmailMultiAlternatives:
    """The message, ready for `send()`; its id is in `message.extra_headers["Message-ID"]`."""
    if not request.to:
        raise ComposeError("a message needs at least one recipient")
    headers = {"Message-ID": _message_id(request)}
    headers.update(_thread_headers(request))
    headers.update(_unsubscribe_headers(request))
    if request.automated:
        headers["Auto-Submitted"] = "auto-generated"
        headers["X-Auto-Response-Suppress"] = "OOF, AutoReply"  # no out-of-office storms in reply
    message = EmailMultiAlternatives(
        subject=" ".join(request.subject.split()),
        body=request.text,
        from_email=request.from_email,
        to=list(request.to),
        cc=list(request.cc),
        reply_to=list(request.reply_to),
        headers=headers,
    )
    if request.html:
        message.attach_alternative(request.html, "text/html")
    return message


def _bare_id(value: str, field: str) -> str:
    bare = value.strip().strip("<>").strip()
    if not _MSG_ID.match(bare):
        raise ComposeError(f"{field} is not a message id: {value[:80]!r}")
    return bare


def _message_id(request: ComposeRequest) -> str:
    if request.message_id:
        return f"<{_bare_id(request.message_id, 'message_id')}>"
    sender_domain = request.from_email.rsplit("@", 1)[-1].strip(" >") if "@" in request.from_email else ""
    domain = request.message_id_domain or sender_domain
    if not domain or "@" in domain or any(ch.isspace() or ch in "<>" for ch in domain):
        raise ComposeError("message_id_domain is needed: the sender address has no usable domain")
    return make_msgid(domain=domain)


def thread_references(in_reply_to: str, references: Sequence[str]) -> list[str]:
    """References for a reply: the earlier ones plus the message answered, without repeats, root kept when trimmed."""
    ids: list[str] = []
    for value in [*references, in_reply_to]:
        if value and value.strip():
            bare = _bare_id(value, "references")
            if bare not in ids:
                ids.append(bare)
    if len(ids) > MAX_REFERENCES:
        ids = [ids[0], *ids[-(MAX_REFERENCES - 1) :]]
    return ids


def _thread_headers(request: ComposeRequest) -> dict[str, str]:
    ids = thread_references(request.in_reply_to, request.references)
    if not ids:
        return {}
    answered = _bare_id(request.in_reply_to, "in_reply_to") if request.in_reply_to else ids[-1]
    return {"In-Reply-To": f"<{answered}>", "References": " ".join(f"<{i}>" for i in ids)}


def _unsubscribe_headers(request: ComposeRequest) -> dict[str, str]:
    if request.purpose != "marketing":
        return {}
    targets: list[str] = []
    if request.unsubscribe_mailto:
        mailto = request.unsubscribe_mailto.strip()
        mailto = mailto if mailto.lower().startswith("mailto:") else f"mailto:{mailto}"
        if "@" not in mailto or any(ch.isspace() or ch in "<>" for ch in mailto):
            raise ComposeError(f"unsubscribe_mailto is not an address: {request.unsubscribe_mailto[:80]!r}")
        targets.append(f"<{mailto}>")
    url = request.unsubscribe_url.strip()
    if url:
        parts = urlsplit(url)
        if parts.scheme not in ("https", "http") or not parts.netloc or any(ch.isspace() or ch in "<>" for ch in url):
            raise ComposeError("unsubscribe_url must be an http(s) URL")
        targets.append(f"<{url}>")
    if not targets:
        raise ComposeError("a marketing message needs an unsubscribe URL or address")
    headers = {"List-Unsubscribe": ", ".join(targets)}
    # One-click (RFC 8058) is only offered over https; a plain-http install (a trial) still gets
    # the RFC 2369 link, so its marketing mail is not refused.
    if url and urlsplit(url).scheme == "https":
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    return headers
