"""Outbound mail: threading headers the customer's client understands, unsubscribe headers, loop protection."""

from __future__ import annotations

import pytest

from cxloop.channels.email.compose import (
    MAX_REFERENCES,
    ComposeError,
    ComposeRequest,
    compose_email,
    reply_subject,
    thread_references,
)
from cxloop.channels.email.parsing import parse_email

FROM = "ACME Support <support@acme.example>"


def request(**changes: object) -> ComposeRequest:
    fields: dict[str, object] = {"from_email": FROM, "to": ["maria@example.com"], "subject": "Hello", "text": "Hi"}
    fields.update(changes)
    return ComposeRequest(**fields)  # type: ignore[arg-type]


def test_a_plain_message_gets_an_id_on_the_senders_domain() -> None:
    message = compose_email(request())

    mime = message.message()
    assert message.extra_headers["Message-ID"].startswith("<")
    assert message.extra_headers["Message-ID"].endswith("@acme.example>")
    assert mime["Message-ID"] == message.extra_headers["Message-ID"]
    assert (mime["From"], mime["To"], mime["Subject"]) == (FROM, "maria@example.com", "Hello")
    for absent in ("In-Reply-To", "References", "List-Unsubscribe", "Auto-Submitted"):
        assert mime[absent] is None
    assert message.alternatives == []


def test_given_message_id_is_used_with_angle_brackets() -> None:
    message = compose_email(request(message_id="out-42@acme.example"))

    assert message.extra_headers["Message-ID"] == "<out-42@acme.example>"


def test_reply_threads_on_the_customers_message() -> None:
    message = compose_email(
        request(
            subject=reply_subject("Order 12"),
            in_reply_to="<cust-2@example.com>",
            references=["<out-1@acme.example>", "cust-1@example.com"],
        )
    )

    mime = message.message()
    assert mime["Subject"] == "Re: Order 12"
    assert mime["In-Reply-To"] == "<cust-2@example.com>"
    assert mime["References"] == "<out-1@acme.example> <cust-1@example.com> <cust-2@example.com>"


def test_references_without_in_reply_to_answer_the_last_one() -> None:
    message = compose_email(request(references=["a@x.example", "b@x.example"]))

    assert message.extra_headers["In-Reply-To"] == "<b@x.example>"
    assert message.extra_headers["References"] == "<a@x.example> <b@x.example>"


def test_long_threads_keep_the_root_and_the_latest_references() -> None:
    earlier = [f"m{i}@x.example" for i in range(30)]

    ids = thread_references("m30@x.example", earlier)

    assert len(ids) == MAX_REFERENCES
    assert ids[0] == "m0@x.example"
    assert ids[1:] == [f"m{i}@x.example" for i in range(12, 31)]


def test_repeated_references_appear_once() -> None:
    assert thread_references("<b@x>", ["a@x", "<b@x>", "a@x"]) == ["a@x", "b@x"]


@pytest.mark.parametrize("bad", ["not an id", "<a@b> <c@d>", "a@b\r\nBcc: victim@example.com", "@", "a@"])
def test_malformed_ids_are_refused(bad: str) -> None:
    with pytest.raises(ComposeError):
        compose_email(request(in_reply_to=bad))


def test_html_alternative() -> None:
    message = compose_email(request(html="<p>Hi</p>"))

    assert message.alternatives[0][0] == "<p>Hi</p>"
    assert message.alternatives[0][1] == "text/html"
    assert message.message().get_content_type() == "multipart/alternative"


def test_marketing_mail_carries_one_click_unsubscribe() -> None:
    message = compose_email(
        request(
            purpose="marketing",
            unsubscribe_url="https://acme.example/u/tok123",
            unsubscribe_mailto="unsubscribe+tok123@acme.example",
        )
    )

    mime = message.message()
    assert mime["List-Unsubscribe"] == "<mailto:unsubscribe+tok123@acme.example>, <https://acme.example/u/tok123>"
    assert mime["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_mailto_only_unsubscribe_has_no_one_click_header() -> None:
    message = compose_email(request(purpose="marketing", unsubscribe_mailto="mailto:stop@acme.example"))

    assert message.extra_headers["List-Unsubscribe"] == "<mailto:stop@acme.example>"
    assert "List-Unsubscribe-Post" not in message.extra_headers


def test_service_mail_has_no_unsubscribe_headers_even_when_given_a_url() -> None:
    message = compose_email(request(unsubscribe_url="https://acme.example/u/x"))

    assert "List-Unsubscribe" not in message.extra_headers


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"purpose": "marketing"}, "a marketing message needs an unsubscribe URL or address"),
        ({"purpose": "marketing", "unsubscribe_url": "ftp://acme.example/u"}, "unsubscribe_url must be an http"),
        ({"purpose": "marketing", "unsubscribe_mailto": "nobody"}, "unsubscribe_mailto is not an address"),
        ({"to": []}, "a message needs at least one recipient"),
        ({"from_email": "support"}, "message_id_domain is needed"),
    ],
)
def test_requests_that_cannot_become_good_mail_are_refused(changes: dict[str, object], reason: str) -> None:
    with pytest.raises(ComposeError, match=reason):
        compose_email(request(**changes))


def test_automated_mail_is_marked_so_responders_stay_quiet() -> None:
    mime = compose_email(request(automated=True)).message()

    assert mime["Auto-Submitted"] == "auto-generated"
    assert mime["X-Auto-Response-Suppress"] == "OOF, AutoReply"


def test_a_newline_in_the_subject_cannot_add_a_header() -> None:
    mime = compose_email(request(subject="Hello\r\nBcc: victim@example.com")).message()

    assert mime["Bcc"] is None
    assert mime["Subject"] == "Hello Bcc: victim@example.com"


def test_round_trip_through_the_parser() -> None:
    message = compose_email(
        request(
            from_email="Jürgen vom Support <support@acme.example>",
            to=["Zoë <zoe@example.com>"],
            subject="Re: Rückfrage zu Ihrer Bestellung",
            text="Guten Tag,\n\ndie Ersatzlieferung ist unterwegs.\n\nViele Grüße\nJürgen",
            html="<p>Guten Tag,</p><p>die Ersatzlieferung ist <b>unterwegs</b>.</p>",
            in_reply_to="cust-9@example.com",
            references=["out-8@acme.example"],
            automated=True,
        )
    )

    parsed = parse_email(message.message().as_bytes())

    assert parsed.message_id == message.extra_headers["Message-ID"].strip("<>")
    assert (parsed.from_name, parsed.from_address, parsed.to) == (
        "Jürgen vom Support",
        "support@acme.example",
        ["zoe@example.com"],
    )
    assert parsed.subject == "Re: Rückfrage zu Ihrer Bestellung"
    assert parsed.in_reply_to == "cust-9@example.com"
    assert parsed.references == ["out-8@acme.example", "cust-9@example.com"]
    assert parsed.text == "Guten Tag,\n\ndie Ersatzlieferung ist unterwegs.\n\nViele Grüße\nJürgen"
    assert parsed.summary_text == "Guten Tag,\n\ndie Ersatzlieferung ist unterwegs."
    assert parsed.html_sanitized == "<p>Guten Tag,</p><p>die Ersatzlieferung ist <b>unterwegs</b>.</p>"
    assert parsed.kind == "auto_reply"
    assert parsed.date is not None
    assert parsed.warnings == []


@pytest.mark.parametrize(
    ("subject", "reply"),
    [
        ("Order 12", "Re: Order 12"),
        ("Re: Order 12", "Re: Order 12"),
        ("RE: Order 12", "RE: Order 12"),
        ("AW: Bestellung", "AW: Bestellung"),
        ("SV: Ordre", "SV: Ordre"),
        ("Fwd: Order 12", "Re: Fwd: Order 12"),
        ("Re[2]: Order", "Re[2]: Order"),
        ("  Order \n 12 ", "Re: Order 12"),
        ("Regarding the order", "Re: Regarding the order"),
        ("", "Re:"),
    ],
)
def test_reply_subject(subject: str, reply: str) -> None:
    assert reply_subject(subject) == reply


def test_a_plain_http_unsubscribe_link_is_kept_without_one_click():
    message = compose_email(request(purpose="marketing", unsubscribe_url="http://cx.localhost:8000/p/u/x"))
    assert message.extra_headers["List-Unsubscribe"] == "<http://cx.localhost:8000/p/u/x>"
    assert "List-Unsubscribe-Post" not in message.extra_headers
