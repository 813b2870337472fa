"""The email channel's outbound side: compose with threading headers, hand to Django's email backend.

The Message-ID is derived from the distribution service's message id, so a retry after a timeout sends
the same Message-ID again and the customer's mail client shows one message, not two.
"""

from __future__ import annotations

import contextlib
import smtplib
from collections.abc import Sequence
from typing import ClassVar

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.core.mail.backends.base import BaseEmailBackend

from cxloop.channels.base import OutboundPayload, SendFailed, SendOutcome
from cxloop.channels.email.compose import ComposeError, ComposeRequest, compose_email
from cxloop.channels.email.subjects import reply_subject


def _domain() -> str:
    return settings.CXLOOP_EMAIL_FROM.rpartition("@")[2].strip(" >") or "cxloop.invalid"


def compose_for(payload: OutboundPayload) -> ComposeRequest:
    subject = payload.subject or (reply_subject(payload.thread.subject) if payload.thread.subject else "")
    return ComposeRequest(
        from_email=settings.CXLOOP_EMAIL_FROM,
        to=[payload.to],
        subject=subject or "(no subject)",
        text=payload.text,
        html=payload.html,
        reply_to=[settings.CXLOOP_EMAIL_REPLY_TO] if settings.CXLOOP_EMAIL_REPLY_TO else [],
        message_id=f"{payload.message_ref}@{_domain()}",
        in_reply_to=payload.thread.in_reply_to,
        references=payload.thread.references,
        purpose=payload.purpose,
        unsubscribe_url=payload.unsubscribe_url,
        automated=payload.automated,
    )


def _refusal(exc: smtplib.SMTPException | OSError) -> SendFailed:
    """What the server's answer (or silence) means for the message: permanent on a 5xx, else worth a retry."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        permanent = all(code >= 500 for code in codes)
        return SendFailed(f"The mail server refused the recipient ({codes}).", permanent=permanent)
    if isinstance(exc, smtplib.SMTPResponseException):
        reason = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else str(exc)
        return SendFailed(
            f"The mail server answered {exc.smtp_code}: {reason}",
            permanent=exc.smtp_code >= 500,
            code=str(exc.smtp_code),
        )
    return SendFailed(f"The mail server could not be reached ({exc}).")


def _composed(payload: OutboundPayload) -> tuple[EmailMessage, str]:
    try:
        message = compose_email(compose_for(payload))
    except ComposeError as exc:
        raise SendFailed(f"The message cannot be composed: {exc}", permanent=True) from None
    return message, message.extra_headers["Message-ID"].strip("<>")


_REFUSALS = (smtplib.SMTPRecipientsRefused, smtplib.SMTPResponseException)


def _session_lost(backend: BaseEmailBackend, exc: Exception) -> bool:
    """A refusal leaves the session usable (smtplib answered RSET) unless the server said 421 and smtplib
    hung up; a disconnection, timeout or socket error never does."""
    if not isinstance(exc, _REFUSALS):
        return True
    smtp = getattr(backend, "connection", None)
    return smtp is not None and getattr(smtp, "sock", None) is None


def _close(backend: BaseEmailBackend) -> None:
    with contextlib.suppress(OSError):  # smtplib's errors are OSErrors; Django forgets the session either way
        backend.close()


class EmailSender:
    channel: ClassVar[str] = "email"

    def send(self, payload: OutboundPayload) -> SendOutcome:
        message, message_id = _composed(payload)
        try:
            message.connection = get_connection(fail_silently=False)
            message.send()
        except (TimeoutError, smtplib.SMTPException, OSError) as exc:
            raise _refusal(exc) from None
        return SendOutcome(provider_message_id=message_id, state="sent")

    def send_many(self, payloads: Sequence[OutboundPayload]) -> list[SendOutcome | SendFailed]:
        """Several messages over one SMTP session, each with its own outcome: a refused recipient fails its
        message only. A lost session is opened again for the next message; when opening fails, the rest
        are failed as unreachable (retried later) without trying each."""
        backend = get_connection(fail_silently=False)
        results: list[SendOutcome | SendFailed] = []
        session = False
        try:
            for payload in payloads:
                if not session:
                    try:
                        backend.open()
                    except (TimeoutError, smtplib.SMTPException, OSError) as exc:
                        results += [_refusal(exc)] * (len(payloads) - len(results))
                        break
                    session = True
                result, session = self._send_on(backend, payload)
                results.append(result)
        finally:
            _close(backend)
        return results

    def _send_on(self, backend: BaseEmailBackend, payload: OutboundPayload) -> tuple[SendOutcome | SendFailed, bool]:
        """The outcome, and whether the session can carry the next message."""
        try:
            message, message_id = _composed(payload)
        except SendFailed as failed:
            return failed, True
        message.connection = backend
        try:
            message.send()
        except (TimeoutError, smtplib.SMTPException, OSError) as exc:
            if _session_lost(backend, exc):
                _close(backend)
                return _refusal(exc), False
            return _refusal(exc), True
        return SendOutcome(provider_message_id=message_id, state="sent"), True
