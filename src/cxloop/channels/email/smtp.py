"""The built-in inbound SMTP server (`cxloop smtpd`): receive mail for the configured addresses.

aiosmtpd speaks the protocol; each accepted message is stored outside the event loop (the ORM is synchronous),
and the server answers 250 only once the raw message is stored, so a crash after that point can never lose
it. Recipients that are not ours are refused at RCPT time.

CXLOOP_SMTP_PROCESSING picks what happens before the 250: "queued" (the default) keeps the raw message with
status QUEUED and wakes the worker, which processes kept messages in batches (channels.batch); "inline" runs
the whole pipeline first (parse, resolve, thread, record), as before. See docs/channels/email.md.

In queued mode one thread (_Keeper) keeps messages for all sessions, in groups: what arrives while a group is
being committed forms the next one. Each session still gets its 250 only after the commit that holds its
message; the sessions no longer queue on the database's write lock one commit each.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import logging
import queue
import threading
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from django.conf import settings
from django.db import close_old_connections, connection

from cxloop.channels import services
from cxloop.channels.base import RawPayload
from cxloop.channels.models import InboundStatus

logger = logging.getLogger(__name__)


def accepts(address: str, allowed: list[str]) -> bool:
    """Whether mail to `address` is ours: an exact address, or "@domain" for a whole domain; [] takes all."""
    if not allowed:
        return True
    address = address.strip().lower()
    domain = "@" + address.rpartition("@")[2]
    return any(address == entry or domain == entry for entry in (a.strip().lower() for a in allowed))


PROCESSING_MODES = ("queued", "inline")
WAKE_DELAY = 0.2  # seconds: the messages kept meanwhile share one wake-up of the worker


class _Wakeup:
    """Enqueue one channels.process_received task for the messages kept in the next WAKE_DELAY seconds.

    A message kept while a wake-up is pending is covered by it (the task is enqueued after that message was
    committed); one kept after the pending wake-up fired starts the next. So no message waits for the periodic
    sweep, and under load the queue gets one task row per WAKE_DELAY, not one per message.
    """

    def __init__(self, delay: float = WAKE_DELAY) -> None:
        self.delay = delay
        self.lock = threading.Lock()
        self.pending = False
        self.timer: threading.Timer | None = None

    def __call__(self) -> None:
        with self.lock:
            if self.pending:
                return
            self.pending = True
            self.timer = threading.Timer(self.delay, self._fire)
            self.timer.daemon = True
            self.timer.start()

    def settle(self, timeout: float = 10.0) -> None:
        """Wait for a pending wake-up to be done (tests; a server stopping)."""
        timer = self.timer
        if timer is not None:
            timer.join(timeout)

    def _fire(self) -> None:
        with self.lock:
            self.pending = False
        try:
            from cxloop.channels.tasks import process_received  # noqa: PLC0415 - tasks imports the worker side

            process_received.enqueue()
        except Exception:
            # The periodic sweep (worker/schedule.py, every minute) processes them all the same.
            logger.exception("could not wake the worker for kept inbound mail")
        finally:
            connection.close()  # this thread's own connection: the thread ends here


def _payload(envelope: Envelope, peer: Any) -> RawPayload:
    return RawPayload(
        channel="email",
        data=envelope.original_content or b"",
        content_type="message/rfc822",
        source="smtp",
        meta={
            "mail_from": envelope.mail_from or "",
            "rcpt_tos": list(envelope.rcpt_tos),
            "peer": str(peer[0]) if isinstance(peer, tuple) and peer else str(peer),
        },
    )


def _receive(raw: RawPayload) -> str:
    """Inline mode: the whole pipeline, in a thread of the executor."""
    close_old_connections()
    try:
        return services.receive(raw).public_id
    finally:
        close_old_connections()


class _Keeper:
    """Keeps queued mail for every session from one thread, a group per transaction (group commit).

    A session hands its payload over and waits for the public id (or the error) on a future. The thread takes
    whatever is waiting, up to MAX_GROUP, and keeps it with services.keep_raw_many: one commit for the group.
    If that fails, each payload of the group is kept on its own, so one bad payload, or a database that came
    back, costs no other message its 250. The thread starts with the first message and ends on stop().
    """

    MAX_GROUP = 100

    def __init__(self, wake: _Wakeup) -> None:
        self.wake = wake
        self.queue: queue.SimpleQueue[tuple[RawPayload, concurrent.futures.Future[str]] | None] = queue.SimpleQueue()
        self.lock = threading.Lock()
        self.thread: threading.Thread | None = None

    def submit(self, raw: RawPayload) -> concurrent.futures.Future[str]:
        future: concurrent.futures.Future[str] = concurrent.futures.Future()
        with self.lock:
            if self.thread is None:
                self.thread = threading.Thread(target=self._run, name="cxloop-smtp-keeper", daemon=True)
                self.thread.start()
            self.queue.put((raw, future))
        return future

    def stop(self, timeout: float = 10.0) -> None:
        """Keep what is waiting, then end the thread."""
        with self.lock:
            thread, self.thread = self.thread, None
            if thread is None:
                return
            self.queue.put(None)
        thread.join(timeout)

    def _run(self) -> None:
        try:
            while True:
                first = self.queue.get()
                if first is None:
                    return
                group, stopping = [first], False
                while len(group) < self.MAX_GROUP:
                    try:
                        item = self.queue.get_nowait()
                    except queue.Empty:
                        break
                    if item is None:
                        stopping = True
                        break
                    group.append(item)
                self.keep(group)
                if stopping:
                    return
        finally:
            connection.close()  # this thread's own connection: the thread ends here

    def keep(self, group: list[tuple[RawPayload, concurrent.futures.Future[str]]]) -> None:
        """Keep one group and answer each future: its message's public id, or the error that lost it."""
        close_old_connections()  # as at the start of a request: a connection too old or broken is replaced
        try:
            kept = services.keep_raw_many([raw for raw, _ in group], status=InboundStatus.QUEUED)
        except Exception:
            logger.warning(
                "could not keep %d inbound emails together; keeping each on its own", len(group), exc_info=True
            )
            for raw, future in group:
                try:
                    future.set_result(services.keep_raw(raw, status=InboundStatus.QUEUED).public_id)
                except Exception as exc:
                    future.set_exception(exc)
                    close_old_connections()
        else:
            for (_, future), inbound in zip(group, kept, strict=True):
                future.set_result(inbound.public_id)
        self.wake()


class InboundHandler:
    def __init__(self, allowed: list[str] | None = None, *, processing: str | None = None) -> None:
        self.allowed = settings.CXLOOP_EMAIL_INBOUND_ADDRESSES if allowed is None else allowed
        mode = settings.CXLOOP_SMTP_PROCESSING if processing is None else processing
        if mode not in PROCESSING_MODES:
            raise ValueError(f"CXLOOP_SMTP_PROCESSING must be one of {', '.join(PROCESSING_MODES)}, not {mode!r}")
        self.queued = mode == "queued"
        self.wake = _Wakeup()
        self.keeper = _Keeper(self.wake)

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
        raw = _payload(envelope, session.peer)
        try:
            if self.queued:
                public_id = await asyncio.wrap_future(self.keeper.submit(raw))
            else:
                public_id = await asyncio.get_running_loop().run_in_executor(None, functools.partial(_receive, raw))
        except Exception:
            # Not even the raw bytes could be stored (disk or database down): ask the sender to retry later.
            logger.exception("could not store an inbound email")
            return "451 4.3.0 Temporary failure, please retry"
        return f"250 2.0.0 Accepted as {public_id}"

    def close(self) -> None:
        """After the server stopped: keep what its sessions handed over, and let a pending wake-up fire."""
        self.keeper.stop()
        self.wake.settle()


def make_controller(
    host: str, port: int, *, allowed: list[str] | None = None, processing: str | None = None
) -> Controller:
    """The server; `processing` "queued" or "inline" overrides CXLOOP_SMTP_PROCESSING."""
    return Controller(
        InboundHandler(allowed, processing=processing),
        hostname=host,
        port=port,
        data_size_limit=settings.CXLOOP_INBOUND_MAX_BYTES,
        decode_data=False,
        ident="cxloop",
    )
