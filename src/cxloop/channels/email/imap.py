"""IMAP mailbox polling: fetch what is new since the last poll, by UID, exactly once.

The highest UID taken is stored per mailbox after each message, so a crash mid-poll resumes where it
stopped; when the server's UIDVALIDITY changes (the mailbox was rebuilt) UIDs start over and the
pipeline's Message-ID duplicate check keeps a re-fetched message from being recorded twice.
"""

from __future__ import annotations

import logging
import ssl
from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings
from django.db import transaction
from imapclient import IMAPClient

from cxloop.channels import services
from cxloop.channels.base import RawPayload
from cxloop.channels.models import MailboxCursor

logger = logging.getLogger(__name__)
BATCH = 50


@dataclass(frozen=True)
class MailboxConfig:
    host: str
    port: int
    username: str
    password: str
    folder: str = "INBOX"
    use_ssl: bool = True

    @property
    def key(self) -> str:
        return f"{self.username}@{self.host}:{self.port}/{self.folder}"[:255]

    @classmethod
    def from_settings(cls) -> MailboxConfig | None:
        if not settings.CXLOOP_IMAP_HOST:
            return None
        return cls(
            host=settings.CXLOOP_IMAP_HOST,
            port=settings.CXLOOP_IMAP_PORT,
            username=settings.CXLOOP_IMAP_USER,
            password=settings.CXLOOP_IMAP_PASSWORD,
            folder=settings.CXLOOP_IMAP_FOLDER,
            use_ssl=settings.CXLOOP_IMAP_SSL,
        )


@dataclass
class PollResult:
    fetched: int = 0
    quarantined: int = 0
    duplicates: int = 0
    reset: bool = False


def _connect(config: MailboxConfig) -> IMAPClient:
    context = ssl.create_default_context() if config.use_ssl else None
    client = IMAPClient(config.host, port=config.port, ssl=config.use_ssl, ssl_context=context, timeout=30)
    client.login(config.username, config.password)
    return client


def _cursor(config: MailboxConfig, uidvalidity: int) -> tuple[MailboxCursor, bool]:
    cursor, _ = MailboxCursor.objects.get_or_create(mailbox=config.key, defaults={"uidvalidity": uidvalidity})
    if cursor.uidvalidity != uidvalidity:
        logger.warning("UIDVALIDITY of %s changed: fetching it again from the start", config.key)
        cursor.uidvalidity, cursor.last_uid = uidvalidity, 0
        cursor.save(update_fields=["uidvalidity", "last_uid", "updated_at"])
        return cursor, True
    return cursor, False


def _received_at(value: object) -> datetime | None:
    if not isinstance(value, datetime):
        return None
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


def poll_mailbox(config: MailboxConfig, *, limit: int = 500) -> PollResult:
    """Take up to `limit` new messages from the mailbox into the pipeline."""
    result = PollResult()
    with _connect(config) as client:
        status = client.select_folder(config.folder, readonly=True)
        cursor, result.reset = _cursor(config, int(status[b"UIDVALIDITY"]))
        # "N:*" always returns the last message even when its UID is below N: filter again.
        uids = sorted(uid for uid in client.search(["UID", f"{cursor.last_uid + 1}:*"]) if uid > cursor.last_uid)
        for start in range(0, min(len(uids), limit), BATCH):
            chunk = uids[start : min(start + BATCH, limit)]
            fetched = client.fetch(chunk, ["BODY.PEEK[]", "INTERNALDATE"])
            for uid in chunk:
                item = fetched.get(uid)
                if item is None:
                    continue
                _take(config, cursor, uid, item, result)
    return result


def _take(
    config: MailboxConfig, cursor: MailboxCursor, uid: int, item: dict[bytes, object], result: PollResult
) -> None:
    data = item.get(b"BODY[]")
    inbound = services.receive(
        RawPayload(
            channel="email",
            data=data if isinstance(data, bytes) else b"",
            content_type="message/rfc822",
            source=f"imap:{config.key}",
            received_at=_received_at(item.get(b"INTERNALDATE")),
            meta={"mailbox": config.key, "uid": uid},
        )
    )
    with transaction.atomic():
        cursor.last_uid = uid
        cursor.save(update_fields=["last_uid", "updated_at"])
    result.fetched += 1
    result.quarantined += inbound.status == "quarantined"
    result.duplicates += inbound.status == "duplicate"
