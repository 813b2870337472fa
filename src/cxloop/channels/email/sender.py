"""The email channel's outbound side: compose with threading headers, hand to Django's email backend.

The Message-ID is derived from the distribution service's message id, so a retry after a timeout sends
the same Message-ID again and the customer's mail client shows one message, not two.
"""

from __future__ import annotations

import smtplib
from typing import ClassVar

from django.conf import settings
from django.core.mail import get_connection

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


class EmailSender:
    channel: ClassVar[str] = "email"

    def send(self, payload: OutboundPayload) -> SendOutcome:
        try:
            message = compose_email(compose_for(payload))
        except ComposeError as exc:
            raise SendFailed(f"The message cannot be composed: {exc}", permanent=True) from None
        message_id = message.extra_headers["Message-ID"].strip("<>")
        try:
            message.connection = get_connection(fail_silently=False)
            message.send()
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            permanent = all(code >= 500 for code in codes)
            raise SendFailed(f"The mail server refused the recipient ({codes}).", permanent=permanent) from None
        except smtplib.SMTPResponseException as exc:
            reason = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else str(exc)
            raise SendFailed(
                f"The mail server answered {exc.smtp_code}: {reason}",
                permanent=exc.smtp_code >= 500,
                code=str(exc.smtp_code),
            ) from None
        except (TimeoutError, smtplib.SMTPException, OSError) as exc:
            raise SendFailed(f"The mail server could not be reached ({exc}).") from None
        return SendOutcome(provider_message_id=message_id, state="sent")
