"""Kept mail processed in batches by the worker (channels.batch) leaves the database exactly as processing each
message on its own (services.receive / process_inbound) does; claims are safe; nothing kept is ever left behind.
"""

from __future__ import annotations

import json
import re
import threading
from collections import Counter
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from django.db import connection, connections

from cxloop.channels import batch, services
from cxloop.channels.base import RawPayload
from cxloop.channels.models import Attachment, InboundMessage, InboundStatus
from cxloop.core import clock
from cxloop.customers.models import Customer, Identity, MergeSuggestion
from cxloop.events import bus
from cxloop.interactions.models import Interaction, Thread
from cxloop.messaging.models import Suppression
from cxloop.privacy.models import AuditEntry
from tests.customers.factories import CustomerFactory, IdentityFactory

CORPUS = Path(__file__).parent / "corpus"
pytestmark = pytest.mark.django_db(transaction=True)

PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000") + b"\x00" * 40


def mail(
    number: int,
    *,
    sender: str,
    subject: str,
    body: str = "Hello, my card was charged twice.",
    in_reply_to: str = "",
    references: str = "",
    headers: dict[str, str] | None = None,
    attachment: bool = False,
) -> tuple[bytes, str]:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "support@shop.test"
    msg["Subject"] = subject
    msg_id = f"<m{number}.batch@example.net>"
    msg["Message-ID"] = msg_id
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
    if references:
        msg["References"] = references
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content(body)
    if attachment:
        msg.add_attachment(PNG, maintype="image", subtype="png", filename=f"receipt-{number}.png")
    return bytes(msg), msg_id


def seeds() -> list[bytes]:
    """Processed before either run, the same way: an earlier conversation."""
    return [mail(1, sender="Rita Old <rita@example.org>", subject="Broken kettle", body="My kettle broke.")[0]]


def seed_profiles() -> None:
    """Two profiles for one sub-addressed mailbox (as an import may leave them): the plain address matches both."""
    for tag in ("a", "b"):
        IdentityFactory(
            customer=CustomerFactory(name=f"Bo {tag}"), value=f"bo+{tag}@example.org", match_value="bo@example.org"
        )


def generated() -> list[tuple[bytes, timedelta]]:
    """The mix, each with its arrival time after the start: most within minutes, a few weeks later."""
    out: list[tuple[bytes, timedelta]] = []
    minute = timedelta(minutes=1)

    def add(data: bytes, at: timedelta) -> None:
        out.append((data, at))

    first, first_id = mail(10, sender="Ann Lee <ann@example.com>", subject="Card charged twice")
    add(first, 1 * minute)
    add(mail(11, sender="Carl <carl@example.com>", subject="Where is my parcel")[0], 2 * minute)
    add(first, 3 * minute)  # the same delivery again, in the same batch
    reply, reply_id = mail(
        12, sender="ann@example.com", subject="Re: Card charged twice", body="Any news?", in_reply_to=first_id
    )
    add(reply, 4 * minute)
    add(
        mail(13, sender="ann@example.com", subject="other words", references=f"<gone@else> {reply_id}")[0],
        5 * minute,
    )
    add(mail(14, sender="carl@example.com", subject="RE: AW: where is my PARCEL", body="Still nothing")[0], 6 * minute)
    add(
        mail(15, sender="Rita <rita@example.org>", subject="Re: Broken kettle", in_reply_to="<m1.batch@example.net>")[
            0
        ],
        7 * minute,
    )
    add(seeds()[0], 8 * minute)  # a duplicate of a message recorded before the batch
    add(mail(16, sender="dan@example.com", subject="Receipt", attachment=True)[0], 9 * minute)
    add(
        mail(
            17,
            sender="ann@example.com",
            subject="Automatic reply: Card charged twice",
            body="I am out of the office until Monday.",
            in_reply_to=first_id,
            headers={"Auto-Submitted": "auto-replied"},
        )[0],
        10 * minute,
    )
    add(b"this is not an email at all\r\n", 11 * minute)
    add(mail(18, sender="Bo <bo@example.org>", subject="Which account?", body="two profiles")[0], 12 * minute)
    add(mail(19, sender="bo@example.org", subject="Re: Which account?", body="again")[0], 13 * minute)
    add(
        mail(20, sender="eve@example.com", subject="Card charged twice", body="Same subject, other person")[0],
        14 * minute,
    )
    add(
        mail(21, sender="carl@example.com", subject="Re: Where is my parcel", body="weeks later")[0], timedelta(days=40)
    )  # outside the subject window: a new conversation
    add(mail(22, sender="bad address <not an address>", subject="x")[0], timedelta(days=40, minutes=1))
    add(
        mail(23, sender="ann@example.com", subject="Re: Card charged twice", in_reply_to=reply_id)[0],
        timedelta(days=40, minutes=2),
    )
    add(
        mail(24, sender="carl@example.com", subject="Re: Where is my parcel", body="and again")[0],
        timedelta(days=40, minutes=3),
    )
    for number in range(25, 45):  # returning and new senders, some replying across batches
        sender = f"user{number % 6}@example.com"
        to = f"<m{number - 6}.batch@example.net>" if number >= 31 and number % 3 == 0 else ""
        add(
            mail(number, sender=sender, subject=f"Question {number % 4}", in_reply_to=to, attachment=number % 7 == 0)[
                0
            ],
            timedelta(days=40, minutes=10 + number),
        )
    add(mail(40, sender="user4@example.com", subject="Question 0")[0], timedelta(days=40, minutes=60))  # dup id
    return out


def messages() -> list[tuple[bytes, timedelta]]:
    corpus = [(p.read_bytes(), timedelta(hours=1, minutes=i)) for i, p in enumerate(sorted(CORPUS.glob("*.eml")))]
    mixed = generated()
    # The corpus in the middle of the mix: bounces and replies meet the generated conversations.
    return mixed[:9] + corpus + mixed[9:]


def payload(data: bytes, at: Any) -> RawPayload:
    return RawPayload(channel="email", data=data, content_type="message/rfc822", source="test", received_at=at)


_ID = re.compile(r"\b([a-z]{2,6})_[A-Za-z0-9]{16}\b")


class Labels:
    """Public ids of one run to names that do not depend on the run (what the same message became)."""

    def __init__(self) -> None:
        self.names: dict[str, str] = {}
        inbound = list(InboundMessage.objects.order_by("pk"))
        for index, row in enumerate(inbound):
            self.names[row.public_id] = f"inbound#{index}"
        for interaction in Interaction.objects.order_by("pk"):
            self.names[interaction.public_id] = f"interaction<{self.names[interaction.metadata['inbound']]}>"
        for thread in Thread.objects.order_by("pk"):
            first = thread.interactions.order_by("pk").first()
            self.names[thread.public_id] = f"thread<{self.names[first.public_id] if first else thread.subject}>"
        for customer in Customer.objects.order_by("pk"):
            values = sorted(customer.identities.values_list("value", flat=True))
            self.names[customer.public_id] = f"customer<{','.join(values) or customer.name}>"

    def __call__(self, value: Any) -> Any:
        if isinstance(value, str):
            return _ID.sub(lambda m: self.names.get(m.group(0), f"{m.group(1)}_?"), value)
        if isinstance(value, dict):
            return {self(k): self(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self(v) for v in value]
        return value


def snapshot(events: list[bus.DomainEvent]) -> dict[str, Any]:
    name = Labels()
    customers = sorted(
        (
            name(c.public_id),
            c.name,
            c.status,
            c.country,
            name(c.merged_into.public_id) if c.merged_into else "",
            sorted((i.kind, i.value, i.match_value, i.is_verified, i.source) for i in c.identities.all()),
        )
        for c in Customer.objects.select_related("merged_into")
    )
    threads = sorted(
        (
            name(t.public_id),
            name(t.customer.public_id),
            t.channel,
            t.subject,
            t.normalized_subject,
            name(t.external_ref),
            t.status,
            t.last_activity_at,
            t.last_inbound_at,
            t.last_outbound_at,
            t.case_ref,
        )
        for t in Thread.objects.select_related("customer")
    )
    interactions = sorted(
        (
            name(i.public_id),
            name(i.customer.public_id),
            name(i.thread.public_id) if i.thread else "",
            i.channel,
            i.direction,
            i.occurred_at,
            i.summary,
            i.body,
            name(i.raw_ref),
            i.external_id,
            i.case_ref,
            canon(name(i.metadata)),
        )
        for i in Interaction.objects.select_related("customer", "thread")
    )
    attachments = sorted(
        (
            name(a.interaction.public_id),
            name(a.inbound.public_id) if a.inbound else "",
            a.filename,
            a.content_type,
            a.detected_type,
            a.size,
            name(a.storage_path),
            a.sha256,
            a.content_id,
            a.inline,
            a.oversized,
        )
        for a in Attachment.objects.select_related("interaction", "inbound")
    )
    inbound = [
        (name(r.public_id), r.status, name(r.interaction_refs), name(r.customer_ref), r.reason, r.attempts, r.sha256)
        for r in InboundMessage.objects.order_by("pk")
    ]
    audits = Counter(
        (a.action, a.object_type, name(a.object_id), name(a.summary), canon(name(_timeless(a.after))))
        for a in AuditEntry.objects.all()
    )
    suggestions = sorted(
        (
            tuple(sorted([name(s.customer_a.public_id), name(s.customer_b.public_id)])),
            s.status,
            s.probability,
            s.source,
            canon(name(s.evidence)),
        )
        for s in MergeSuggestion.objects.select_related("customer_a", "customer_b")
    )
    published = Counter((e.name, canon(name(e.payload()))) for e in events)
    return {
        "customers": customers,
        "threads": threads,
        "interactions": interactions,
        "attachments": attachments,
        "inbound": inbound,
        "audits": audits,
        "suggestions": suggestions,
        "events": published,
    }


def canon(value: Any) -> str:
    """JSON with sorted keys: PostgreSQL's jsonb keeps keys in its own order (by length, then bytes)."""
    return json.dumps(value, sort_keys=True, default=str)


def _timeless(value: Any) -> Any:
    """Audit snapshots carry the time they were taken (last seen, created): not what is compared."""
    if isinstance(value, dict):
        return {k: _timeless(v) for k, v in value.items() if not k.endswith("_at")}
    return value


def wipe() -> None:
    """Everything the first run wrote (bounces suppress addresses: messaging's subscriber)."""
    Suppression.objects.all().delete()
    Attachment.objects.all().delete()
    Interaction.objects.all().delete()
    Thread.objects.all().delete()
    MergeSuggestion.objects.all().delete()
    Identity.objects.all().delete()
    Customer.objects.all().delete()
    InboundMessage.objects.all().delete()
    AuditEntry.objects.all().delete()


def run(start: Any, mix: list[tuple[bytes, timedelta]], *, batched: bool, limit: int) -> dict[str, Any]:
    seed_profiles()
    for index, data in enumerate(seeds()):
        services.receive(payload(data, start - timedelta(hours=3 - index)))
    seen: list[bus.DomainEvent] = []
    bus.subscribe("*", seen.append)
    try:
        for data, offset in mix:
            if batched:
                services.keep_raw(payload(data, start + offset), status=InboundStatus.QUEUED)
            else:
                services.receive(payload(data, start + offset))
        if batched:
            while batch.process_received(limit):
                pass
    finally:
        bus.unsubscribe("*", seen.append)
    return snapshot(seen)


@pytest.mark.parametrize("limit", [7, 200])
@pytest.mark.parametrize("auto_merge", [False, True])
def test_batches_leave_the_same_database_as_one_message_at_a_time(settings, monkeypatch, limit, auto_merge):
    settings.CXLOOP_AUTO_MERGE_VERIFIED = auto_merge
    fallbacks: list[str] = []
    single = services.process_inbound

    def counted(inbound: InboundMessage, *args: Any, **kwargs: Any) -> InboundMessage:
        if kwargs.get("claimed"):
            fallbacks.append(inbound.public_id)
        return single(inbound, *args, **kwargs)

    monkeypatch.setattr(services, "process_inbound", counted)
    start = clock.now() - timedelta(days=60)
    mix = messages()  # made once: a multipart's boundary is random
    one_by_one = run(start, mix, batched=False, limit=limit)
    wipe()
    batched = run(start, mix, batched=True, limit=limit)
    # The mix holds what it is meant to: replies threaded, duplicates, quarantines, a suggestion, attachments.
    statuses = Counter(row[1] for row in one_by_one["inbound"])
    assert statuses["duplicate"] >= 3
    assert statuses["quarantined"] >= 4
    assert one_by_one["suggestions"]
    assert one_by_one["attachments"]
    assert len(one_by_one["threads"]) < len(one_by_one["interactions"]) - 10
    assert any(kind == "address.bounced" for kind, _ in one_by_one["events"])
    assert fallbacks == []  # the batch way, not its one-by-one fallback
    for part in one_by_one:
        assert batched[part] == one_by_one[part], part


def queue(*datas: bytes) -> list[InboundMessage]:
    return [services.keep_raw(payload(d, clock.now()), status=InboundStatus.QUEUED) for d in datas]


def test_a_message_claimed_by_a_worker_that_died_is_processed_by_the_sweep_later():
    [kept] = queue(mail(1, sender="ann@example.com", subject="Hello")[0])
    claimed = batch.claim()  # the worker took it, then died before recording anything
    assert [r.pk for r in claimed] == [kept.pk]
    assert batch.process_received() == 0  # claimed: not taken again at once
    InboundMessage.objects.filter(pk=kept.pk).update(updated_at=clock.now() - batch.CLAIM_TIMEOUT - timedelta(1))
    assert batch.process_received() == 1
    kept.refresh_from_db()
    assert kept.status == InboundStatus.PROCESSED
    assert kept.attempts == 2
    assert Interaction.objects.get().external_id == "m1.batch@example.net"


def test_a_message_kept_inline_but_never_finished_is_queued_by_the_sweep():
    stuck = services.keep_raw(payload(mail(1, sender="ann@example.com", subject="Hello")[0], clock.now()))
    assert batch.queue_stale() == 0  # it may be in the middle of its processing now
    InboundMessage.objects.filter(pk=stuck.pk).update(updated_at=clock.now() - batch.STALE_AFTER - timedelta(1))
    from cxloop.channels.tasks import process_received

    result = process_received.call()
    assert result == {"requeued": 1, "processed": 1}
    stuck.refresh_from_db()
    assert stuck.status == InboundStatus.PROCESSED


def test_a_message_whose_processing_keeps_getting_interrupted_is_quarantined_not_retried_forever():
    [kept] = queue(mail(1, sender="ann@example.com", subject="Hello")[0])
    InboundMessage.objects.filter(pk=kept.pk).update(
        attempts=batch.MAX_ATTEMPTS, updated_at=clock.now() - batch.CLAIM_TIMEOUT - timedelta(1)
    )
    assert batch.process_received() == 1
    kept.refresh_from_db()
    assert kept.status == InboundStatus.QUARANTINED
    assert "interrupted" in kept.reason
    assert not Interaction.objects.exists()


def test_a_queued_message_cannot_be_reprocessed_beside_the_worker():
    from cxloop.core.actor import Actor
    from cxloop.core.errors import ValidationError

    [kept] = queue(mail(1, sender="ann@example.com", subject="Hello")[0])
    with pytest.raises(ValidationError, match="waiting for the worker"):
        services.reprocess(Actor.system("test"), kept)
    assert batch.process_received() == 1
    kept.refresh_from_db()
    assert kept.status == InboundStatus.PROCESSED
    assert kept.attempts == 1


def test_an_unexpected_failure_in_a_batch_falls_back_to_one_by_one(monkeypatch):
    queue(*(mail(n, sender=f"u{n}@example.com", subject="Hello")[0] for n in range(1, 5)))

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("bulk write failed")

    monkeypatch.setattr(batch, "update_rows", broken)
    assert batch.process_received() == 4
    assert set(InboundMessage.objects.values_list("status", "attempts")) == {(InboundStatus.PROCESSED, 1)}
    assert Interaction.objects.count() == 4
    assert Customer.objects.count() == 4


def test_two_workers_claiming_at_once_never_take_the_same_message():
    if connection.vendor != "postgresql":
        pytest.skip("row locks with SKIP LOCKED: PostgreSQL (SQLite has one writer at a time)")
    queue(*(mail(n, sender=f"u{n % 9}@example.com", subject=f"Q{n % 3}")[0] for n in range(60)))
    taken: list[list[int]] = [[], []]
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def worker(slot: int) -> None:
        try:
            barrier.wait()
            while rows := batch.claim(7):
                taken[slot].extend(r.pk for r in rows)
                batch.process_claimed(rows)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(slot,)) for slot in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert not set(taken[0]) & set(taken[1])
    assert len(taken[0]) + len(taken[1]) == 60
    assert set(InboundMessage.objects.values_list("status", "attempts")) == {(InboundStatus.PROCESSED, 1)}
    assert Interaction.objects.count() == 60
