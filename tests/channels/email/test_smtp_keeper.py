"""Queued mail is kept in groups (one transaction per group); a group that cannot be kept loses nothing that can be."""

from __future__ import annotations

import concurrent.futures
import os
import smtplib
import threading
from email.message import EmailMessage
from email.utils import make_msgid

import pytest
from django.core.files.storage import default_storage

from cxloop.channels import services
from cxloop.channels.base import RawPayload
from cxloop.channels.email.smtp import _Keeper, _Wakeup, make_controller
from cxloop.channels.models import InboundMessage, InboundStatus
from tests.mailserver import free_port

pytestmark = pytest.mark.django_db(transaction=True)


def _raw(n: int, **meta: object) -> RawPayload:
    data = f"From: p{n}@example.com\r\nSubject: n{n}\r\n\r\nhello {n}\r\n".encode()
    return RawPayload(channel="email", data=data, content_type="message/rfc822", source="smtp", meta=dict(meta))


def _raw_files() -> set[str]:
    root = default_storage.path("inbound")
    return {os.path.join(folder, name) for folder, _, names in os.walk(root) for name in names}


class _NoWake(_Wakeup):
    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def __call__(self) -> None:
        self.calls += 1


def test_payloads_kept_together_are_one_transaction_with_every_file_and_record():
    # given
    raws = [_raw(n, mail_from=f"p{n}@example.com") for n in range(3)]

    # when
    kept = services.keep_raw_many(raws)

    # then: each record points at its own bytes (all or nothing: the next test)
    assert [k.status for k in InboundMessage.objects.order_by("pk")] == [InboundStatus.QUEUED] * 3
    assert [services.read_raw(k) for k in kept] == [r.data for r in raws]
    assert [k.meta["mail_from"] for k in InboundMessage.objects.order_by("pk")] == [
        "p0@example.com",
        "p1@example.com",
        "p2@example.com",
    ]
    assert len({k.public_id for k in kept}) == 3


def test_a_group_that_cannot_be_written_leaves_no_file_and_no_record():
    # given: a payload whose meta cannot be stored as JSON, among good ones
    before = _raw_files()
    raws = [_raw(0), _raw(1, bad=object()), _raw(2)]

    # when / then
    with pytest.raises(TypeError):
        services.keep_raw_many(raws)
    assert not InboundMessage.objects.exists()
    assert _raw_files() == before


def test_the_keeper_keeps_each_payload_of_a_failed_group_on_its_own():
    # given: a group with one payload that cannot be kept
    wake = _NoWake()
    keeper = _Keeper(wake)
    futures = [concurrent.futures.Future() for _ in range(3)]
    raws = [_raw(0), _raw(1, bad=object()), _raw(2)]
    before = _raw_files()

    # when
    keeper.keep(list(zip(raws, futures, strict=True)))

    # then: the good ones are kept and answered with their ids; the bad one is answered with its error
    good = [futures[0].result(), futures[2].result()]
    assert isinstance(futures[1].exception(), TypeError)
    assert sorted(InboundMessage.objects.values_list("public_id", flat=True)) == sorted(good)
    assert InboundMessage.objects.filter(status=InboundStatus.QUEUED).count() == 2
    assert len(_raw_files() - before) == 2  # no file left behind for the refused one
    assert wake.calls == 1


def _message(n: int) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = f"Person {n} <p{n}@example.com>"
    msg["To"] = "support@shop.test"
    msg["Subject"] = f"Question {n}"
    msg["Message-ID"] = make_msgid(domain="example.com")
    msg.set_content(f"Hello {n}")
    return msg


def test_concurrent_sessions_each_get_the_id_of_their_own_kept_message():
    # given: the server in queued mode, six sessions sending five messages each at once
    controller = make_controller("127.0.0.1", free_port(), allowed=["support@shop.test"], processing="queued")
    controller.start()
    answers: dict[str, bytes] = {}
    lock = threading.Lock()

    def send(session: int) -> None:
        with smtplib.SMTP(controller.hostname, controller.port) as client:
            for k in range(5):
                msg = _message(session * 10 + k)
                client.ehlo_or_helo_if_needed()
                assert client.mail(f"p{session * 10 + k}@example.com")[0] == 250
                assert client.rcpt("support@shop.test")[0] == 250
                code, reply = client.data(msg.as_bytes())
                assert code == 250, reply
                with lock:
                    answers[msg["Message-ID"]] = reply

    # when
    try:
        with concurrent.futures.ThreadPoolExecutor(6) as pool:
            list(pool.map(send, range(6)))
    finally:
        controller.stop()
        controller.handler.close()

    # then: 30 records, each 250 named the record that holds that very message
    assert InboundMessage.objects.count() == 30
    for message_id, reply in answers.items():
        public_id = reply.decode().rsplit(" ", 1)[-1]
        kept = InboundMessage.objects.get(public_id=public_id)
        assert kept.status == InboundStatus.QUEUED
        assert message_id.encode() in services.read_raw(kept)
