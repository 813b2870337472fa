"""The built-in inbound SMTP server (`cxloop smtpd`): receive mail for the configured addresses.

aiosmtpd speaks the protocol; each accepted message goes through the channel pipeline in a worker
thread (the ORM is synchronous), and the server answers 250 only once the raw message is stored, so a
crash after that point can never lose it. Recipients that are not ours are refused at RCPT time.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from django.conf import settings
from django.db import close_old_connections

from cxloop.channels import services
from cxloop.channels.base import RawPayload

logger = logging.getLogger(__name__)


def accepts(address: str, allowed: list[str]) -> bool:
    """Whether mail to `address` is ours: an exact address, or "@domain" for a whole domain; [] takes all."""
    if not allowed:
        return True
    address = address.strip().lower()
    domain = "@" + address.rpartition("@")[2]
    return any(address == entry or domain == entry for entry in (a.strip().lower() for a in allowed))


def _store(envelope: Envelope, peer: Any) -> str:
    close_old_connections()
    try:
        data = envelope.original_content or b""
        inbound = services.receive(
            RawPayload(
                channel="email",
                data=data,
                content_type="message/rfc822",
                source="smtp",
                meta={
                    "mail_from": envelope.mail_from or "",
                    "rcpt_tos": list(envelope.rcpt_tos),
                    "peer": str(peer[0]) if isinstance(peer, tuple) and peer else str(peer),
                },
            )
        )
        return inbound.public_id
    finally:
        close_old_connections()


class InboundHandler:
    def __init__(self, allowed: list[str] | None = None) -> None:
        self.allowed = settings.CXLOOP_EMAIL_INBOUND_ADDRESSES if allowed is None else allowed

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        if not accepts(address, self.allowed):
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        try:
            public_id = await asyncio.get_running_loop().run_in_executor(None, _store, envelope, session.peer)
        except Exception:
            # Not even the raw bytes could be stored (disk or database down): ask the sender to retry later.
            logger.exception("could not store an inbound email")
            return "451 4.3.0 Temporary failure, please retry"
        return f"250 2.0.0 Accepted as {public_id}"


def make_controller(host: str, port: int, *, allowed: list[str] | None = None) -> Controller:
    return Controller(
        InboundHandler(allowed),
        hostname=host,
        port=port,
        data_size_limit=settings.CXLOOP_INBOUND_MAX_BYTES,
        decode_data=False,
        ident="cxloop",
    )
