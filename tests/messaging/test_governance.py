"""The rules between a request and a send: consent, the suppression list, the marketing cap, quiet hours."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import ImproperlyConfigured

from cxloop.core.errors import PermissionDeniedError, ValidationError
from cxloop.messaging import governance, services
from cxloop.messaging.models import ConsentRecord, DeliveryEvent, OutboundMessage, Suppression
from cxloop.messaging.types import ConsentChange, SendRequest
from cxloop.privacy.models import AuditEntry
from tests.messaging.conftest import make_customer


@pytest.fixture
def send(alice, django_capture_on_commit_callbacks):  # type: ignore[no-untyped-def]
    def _send(**fields):  # type: ignore[no-untyped-def]
        with django_capture_on_commit_callbacks(execute=True):
            message = services.send_message(alice.actor, SendRequest(**fields))
        message.refresh_from_db()
        return message

    return _send


def grant(actor, customer, channel, purpose="marketing", granted=True, source="staff"):  # type: ignore[no-untyped-def]
    return services.record_consents(actor, customer, [ConsentChange(channel, purpose, granted)], source=source)


# --- consent -------------------------------------------------------------------------------------------------


def test_marketing_without_a_grant_is_blocked_and_recorded(send, senders, ann, received):
    message = send(customer_id=ann.public_id, channel="email", text="Sale!", purpose="marketing")

    assert (message.status, message.reason_code, message.reason) == (
        "blocked",
        "no_consent",
        "no marketing consent on this channel",
    )
    assert senders.all_sent() == []
    assert [e.name for e in received] == ["message.blocked"]
    assert AuditEntry.objects.filter(action="message.blocked", object_id=ann.public_id).count() == 1
    assert list(DeliveryEvent.objects.filter(message=message).values_list("state", flat=True)) == ["blocked"]


def test_marketing_with_a_grant_on_that_channel_is_sent_with_an_unsubscribe_link(send, senders, ann, alice):
    grant(alice.actor, ann, "email")

    message = send(customer_id=ann.public_id, channel="email", text="Sale!", purpose="marketing")
    blocked = send(customer_id=ann.public_id, channel="sms", text="Sale!", purpose="marketing")

    assert (message.status, blocked.status) == ("sent", "blocked")
    [payload] = senders["email"].sent
    assert payload.purpose == "marketing"
    assert payload.unsubscribe_url.startswith("https://cx.example.com/p/preferences/")
    assert payload.unsubscribe_url.endswith("/unsubscribe/")
    assert services.customer_for_token(payload.unsubscribe_url.split("/")[-3]) == ann


def test_a_grant_for_every_channel_is_refused_for_marketing(ann, alice):
    with pytest.raises(ValidationError) as refused:
        grant(alice.actor, ann, "*")

    assert refused.value.fields == {"channel": "marketing consent is granted one channel at a time"}
    assert ConsentRecord.objects.count() == 0


def test_a_withdrawal_for_every_channel_beats_earlier_grants_until_a_later_grant(send, senders, ann, alice):
    grant(alice.actor, ann, "email")
    grant(alice.actor, ann, "sms")
    grant(alice.actor, ann, "*", granted=False)
    assert send(customer_id=ann.public_id, channel="email", text="x", purpose="marketing").status == "blocked"

    grant(alice.actor, ann, "email")

    assert send(customer_id=ann.public_id, channel="email", text="x", purpose="marketing").status == "sent"
    assert send(customer_id=ann.public_id, channel="sms", text="x", purpose="marketing").status == "blocked"


def test_service_messages_flow_unless_opted_out_on_that_channel(send, senders, ann, alice):
    grant(alice.actor, ann, "sms", purpose="service", granted=False)

    on_email = send(customer_id=ann.public_id, channel="email", text="Receipt")
    on_sms = send(customer_id=ann.public_id, channel="sms", text="Receipt")

    assert on_email.status == "sent"
    assert (on_sms.status, on_sms.reason_code) == ("blocked", "opted_out")


def test_repeating_the_current_consent_records_nothing(ann, alice):
    first = grant(alice.actor, ann, "email")
    again = grant(alice.actor, ann, "email")

    assert (len(first), again) == (1, [])
    assert AuditEntry.objects.filter(action="consent.changed").count() == 1


def test_consent_changes_are_audited_with_source_and_actor(ann, alice, received, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        grant(alice.actor, ann, "email", source="api")

    record = ConsentRecord.objects.get()
    assert (record.source, record.actor_label, record.granted) == ("api", "alice", True)
    entry = AuditEntry.objects.get(action="consent.changed")
    assert entry.after == {"channel": "email", "purpose": "marketing", "granted": True, "source": "api"}
    assert [e.name for e in received] == ["consent.changed"]


def test_an_analyst_cannot_change_consent(ann, charlie):
    with pytest.raises(PermissionDeniedError):
        grant(charlie.actor, ann, "email")

    assert ConsentRecord.objects.count() == 0


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (ConsentChange("pigeon", "marketing", True), "channel"),
        (ConsentChange("email", "spam", True), "purpose"),
        (ConsentChange("email", "service", True, note="x" * 301), "note"),
    ],
)
def test_bad_consent_changes_name_the_field(ann, alice, change, field):
    with pytest.raises(ValidationError) as refused:
        services.record_consents(alice.actor, ann, [change], source="staff")

    assert list(refused.value.fields) == [field]


def test_a_consent_withdrawn_while_a_message_waited_blocks_it_at_send_time(send, senders, ann, alice, frozen, settings):
    # given: a marketing message held for quiet hours
    settings.CXLOOP_QUIET_HOURS = "21:00-08:00"
    frozen(datetime(2026, 6, 1, 22, 0, tzinfo=UTC))
    grant(alice.actor, ann, "email")
    message = send(customer_id=ann.public_id, channel="email", text="x", purpose="marketing")
    assert message.status == "scheduled"
    # when: the customer withdraws, and the hold ends
    frozen(datetime(2026, 6, 1, 23, 0, tzinfo=UTC))
    grant(alice.actor, ann, "email", granted=False)
    frozen(datetime(2026, 6, 2, 8, 0, tzinfo=UTC))
    services.dispatch(message.pk)

    message.refresh_from_db()
    assert (message.status, message.reason_code) == ("blocked", "no_consent")
    assert senders.all_sent() == []


# --- suppression ------------------------------------------------------------------------------------------------


def test_a_suppressed_address_blocks_every_purpose(send, senders, ann, bob):
    services.suppress_address(bob.actor, "email", "ANN+news@Example.com", "complaint")

    message = send(customer_id=ann.public_id, channel="email", text="Receipt")

    assert (message.status, message.reason_code, message.reason) == (
        "blocked",
        "suppressed",
        "email address is suppressed (complaint)",
    )
    assert Suppression.objects.get().address == "ann@example.com"  # the match value: +tags are one address


def test_suppressing_twice_keeps_one_row_and_lifting_is_audited(bob, db):
    first, created = services.suppress_address(bob.actor, "sms", "+44 7700 900123", "manual")
    again, created_again = services.suppress_address(bob.actor, "sms", "07700900123", "manual")

    services.lift_suppression(bob.actor, first.public_id)

    assert (created, created_again, again.pk) == (True, False, first.pk)
    assert first.address == "+447700900123"
    assert Suppression.objects.count() == 0
    assert list(
        AuditEntry.objects.filter(object_type="suppression").values_list("action", flat=True).order_by("id")
    ) == [
        "suppression.added",
        "suppression.lifted",
    ]


def test_an_agent_cannot_edit_the_suppression_list(alice, db):
    with pytest.raises(PermissionDeniedError):
        services.suppress_address(alice.actor, "email", "x@example.com", "manual")

    assert Suppression.objects.count() == 0


@pytest.mark.parametrize(
    ("channel", "address", "reason", "field"),
    [
        ("pigeon", "x", "manual", "channel"),
        ("email", "not-an-email", "manual", "address"),
        ("sms", "12", "manual", "address"),
        ("email", "x@example.com", "annoyed", "reason"),
    ],
)
def test_bad_suppressions_name_the_field(bob, db, channel, address, reason, field):
    with pytest.raises(ValidationError) as refused:
        services.suppress_address(bob.actor, channel, address, reason)

    assert list(refused.value.fields) == [field]


# --- frequency cap ------------------------------------------------------------------------------------------------


def test_marketing_over_the_cap_is_blocked_across_channels(send, senders, ann, alice, settings):
    settings.CXLOOP_MARKETING_CAP = "2/7d"
    grant(alice.actor, ann, "email")
    grant(alice.actor, ann, "sms")

    first = send(customer_id=ann.public_id, channel="email", text="1", purpose="marketing")
    second = send(customer_id=ann.public_id, channel="sms", text="2", purpose="marketing")
    third = send(customer_id=ann.public_id, channel="email", text="3", purpose="marketing")
    service = send(customer_id=ann.public_id, channel="email", text="receipt")

    assert [m.status for m in (first, second, third, service)] == ["sent", "sent", "blocked", "sent"]
    assert (third.reason_code, third.reason) == (
        "frequency_cap",
        "2 marketing messages already within the cap of 2/7d",
    )


def test_the_cap_counts_only_the_period_and_not_blocked_or_failed(send, senders, ann, alice, settings):
    settings.CXLOOP_MARKETING_CAP = "1/1d"
    grant(alice.actor, ann, "email")
    old = send(customer_id=ann.public_id, channel="email", text="old", purpose="marketing")
    OutboundMessage.objects.filter(pk=old.pk).update(created_at=old.created_at - timedelta(days=1, minutes=1))
    senders["email"].fail(permanent=True)
    failed = send(customer_id=ann.public_id, channel="email", text="failed", purpose="marketing")

    fresh = send(customer_id=ann.public_id, channel="email", text="new", purpose="marketing")

    assert (failed.status, fresh.status) == ("failed", "sent")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("3/7d", (3, timedelta(days=7))), (" 10 / 24h ", (10, timedelta(hours=24))), ("1/2w", (1, timedelta(weeks=2)))],
)
def test_cap_settings_are_read(raw, expected):
    cap = governance.parse_cap(raw)

    assert cap is not None
    assert (cap.limit, cap.period) == expected


@pytest.mark.parametrize("raw", ["3", "3/7", "0/7d", "three/7d", "3/7y"])
def test_malformed_cap_settings_stop_start_up(raw):
    with pytest.raises(ImproperlyConfigured, match="CXLOOP_MARKETING_CAP"):
        governance.parse_cap(raw)


@pytest.mark.parametrize("raw", ["21:00", "25:00-08:00", "21:00-08:60", "nine-five"])
def test_malformed_quiet_hours_stop_start_up(raw):
    with pytest.raises(ImproperlyConfigured, match="CXLOOP_QUIET_HOURS"):
        governance.parse_quiet_hours(raw)


def test_off_turns_both_off():
    assert governance.parse_cap("off") is None
    assert governance.parse_quiet_hours("off") is None


# --- quiet hours --------------------------------------------------------------------------------------------------


def _utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("zone", "now", "until"),
    [
        # London in summer (BST, UTC+1): 22:30 local is quiet until 08:00 local = 07:00 UTC.
        ("Europe/London", _utc(2026, 7, 1, 21, 30), _utc(2026, 7, 2, 7, 0)),
        # After midnight, the end is the same morning.
        ("Europe/London", _utc(2026, 7, 2, 1, 0), _utc(2026, 7, 2, 7, 0)),
        # Daytime: not quiet.
        ("Europe/London", _utc(2026, 7, 2, 12, 0), None),
        # New York on the night the clocks go forward (8 March 2026): 22:00 EST on the 7th is quiet until
        # 08:00 EDT on the 8th, which is 12:00 UTC (13:00 UTC had the offset not changed).
        ("America/New_York", _utc(2026, 3, 8, 3, 0), _utc(2026, 3, 8, 12, 0)),
        # ... and the night they go back (1 November 2026): until 08:00 EST = 13:00 UTC.
        ("America/New_York", _utc(2026, 11, 1, 3, 0), _utc(2026, 11, 1, 13, 0)),
        # Sydney (UTC+10 in winter there): 06:00 local is still quiet, 09:00 UTC is 19:00 local: not yet.
        ("Australia/Sydney", _utc(2026, 7, 1, 20, 0), _utc(2026, 7, 1, 22, 0)),
        ("Australia/Sydney", _utc(2026, 7, 1, 9, 0), None),
    ],
)
def test_quiet_hours_end_on_the_customers_wall_clock(zone, now, until):
    window = governance.parse_quiet_hours("21:00-08:00")

    assert governance.quiet_until(window, now, governance.customer_zone(zone)) == until


def test_a_window_that_does_not_wrap_midnight():
    window = governance.parse_quiet_hours("12:00-14:00")
    zone = governance.customer_zone("UTC")

    assert governance.quiet_until(window, _utc(2026, 1, 1, 13, 0), zone) == _utc(2026, 1, 1, 14, 0)
    assert governance.quiet_until(window, _utc(2026, 1, 1, 14, 0), zone) is None


def test_an_end_inside_the_spring_forward_gap_lands_after_it():
    window = governance.parse_quiet_hours("01:00-02:30")  # 02:30 does not exist in New York on 8 March 2026

    until = governance.quiet_until(window, _utc(2026, 3, 8, 6, 30), governance.customer_zone("America/New_York"))

    assert until == _utc(2026, 3, 8, 7, 30)  # 03:30 EDT: the first moment after the gap at the same distance


def test_an_unknown_zone_falls_back_to_the_business_zone(settings):
    settings.TIME_ZONE = "Europe/Paris"

    assert str(governance.customer_zone("Mars/Olympus")) == "Europe/Paris"
    assert str(governance.customer_zone("")) == "Europe/Paris"


def test_marketing_in_quiet_hours_is_scheduled_for_their_end_then_sent(send, senders, alice, settings, frozen, db):
    # given: a customer in New York, 23:00 local
    settings.CXLOOP_QUIET_HOURS = "21:00-08:00"
    customer = make_customer(email="ny@example.com", time_zone="America/New_York")
    frozen(_utc(2026, 7, 2, 3, 0))
    grant(alice.actor, customer, "email")

    message = send(customer_id=customer.public_id, channel="email", text="Sale", purpose="marketing")

    # then: held until 08:00 EDT = 12:00 UTC, not dropped
    assert (message.status, message.next_attempt_at) == ("scheduled", _utc(2026, 7, 2, 12, 0))
    assert services.dispatch(message.pk) == "skipped"
    frozen(_utc(2026, 7, 2, 12, 0))
    assert services.due_message_ids() == [message.pk]
    assert services.dispatch(message.pk) == "sent"
    assert len(senders["email"].sent) == 1


def test_service_messages_ignore_quiet_hours_unless_asked(send, senders, ann, settings, frozen):
    settings.CXLOOP_QUIET_HOURS = "21:00-08:00"
    frozen(_utc(2026, 1, 10, 23, 0))  # ann has no zone: the business's (UTC)

    now = send(customer_id=ann.public_id, channel="email", text="Your code is 1234")
    later = send(customer_id=ann.public_id, channel="email", text="Survey", quiet_hours=True)

    assert now.status == "sent"
    assert (later.status, later.next_attempt_at) == ("scheduled", _utc(2026, 1, 11, 8, 0))


def test_a_retry_falling_into_quiet_hours_waits_again(send, senders, ann, alice, settings, frozen):
    settings.CXLOOP_QUIET_HOURS = "21:00-08:00"
    frozen(_utc(2026, 1, 10, 20, 59))
    grant(alice.actor, ann, "email")
    senders["email"].fail()
    message = send(customer_id=ann.public_id, channel="email", text="x", purpose="marketing")
    assert (message.status, message.attempts) == ("queued", 1)

    frozen(_utc(2026, 1, 10, 21, 0))
    services.dispatch(message.pk)
    message.refresh_from_db()

    assert (message.status, message.next_attempt_at, message.attempts) == ("scheduled", _utc(2026, 1, 11, 8, 0), 1)
