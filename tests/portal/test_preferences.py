"""The preference centre: signed links, the page, CSRF-protected changes recorded as preference_centre."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import signing
from django.test import Client

from cxloop.customers import services as customer_services
from cxloop.messaging import services
from cxloop.messaging.models import ConsentRecord
from cxloop.messaging.services.links import SALT, preference_token
from cxloop.messaging.types import ConsentChange
from cxloop.privacy.models import AuditEntry
from tests.messaging.conftest import make_customer


@pytest.fixture
def ann(db):  # type: ignore[no-untyped-def]
    return make_customer("Ann Smith", email="ann@example.com", phone="+447700900123")


def _path(customer) -> str:  # type: ignore[no-untyped-def]
    return f"/p/preferences/{preference_token(customer)}/"


@pytest.fixture(autouse=True)
def _base_url(settings):  # type: ignore[no-untyped-def]
    settings.CXLOOP_BASE_URL = "https://cx.example.com"


def test_the_link_is_absolute_and_opens_the_page_with_masked_addresses(client: Client, ann, settings):
    settings.CXLOOP_BASE_URL = "https://cx.example.com/"

    link = services.preference_link(ann)
    page = client.get(link.removeprefix("https://cx.example.com"))

    assert link.startswith("https://cx.example.com/p/preferences/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Hello Ann." in html
    assert "a••@example.com" in html
    assert "ann@example.com" not in html
    assert "••••••••••123" in html
    assert html.count('type="checkbox"') == 6  # email, SMS and WhatsApp (by phone) × service, marketing
    assert page["Cache-Control"].startswith("max-age=0")


def test_saving_records_each_change_with_the_preference_centre_as_source(client: Client, ann):
    client.get(_path(ann))

    response = client.post(
        _path(ann),
        {"email.service": "on", "email.marketing": "on", "sms.service": "on", "whatsapp.service": "on"},
    )

    assert response.status_code == 302
    assert response["Location"].endswith("?done=saved")
    record = ConsentRecord.objects.get()
    assert (record.channel, record.purpose, record.granted, record.source) == (
        "email",
        "marketing",
        True,
        "preference_centre",
    )
    assert record.actor_label == "preference_centre"
    entry = AuditEntry.objects.get(action="consent.changed")
    assert (entry.via, entry.actor_user, entry.ip_address) == ("preference_centre", None, "127.0.0.1")
    assert "Your choices are saved." in client.get(response["Location"]).content.decode()


def test_unticking_a_service_box_opts_out_of_service_on_that_channel(client: Client, ann):
    client.post(_path(ann), {"email.service": "on", "whatsapp.service": "on"})

    assert services.consent_state(ann.pk, "sms", "service").allowed is False
    assert services.consent_state(ann.pk, "email", "service").allowed is True
    assert ConsentRecord.objects.count() == 1


def test_unsubscribe_from_all_marketing_in_one_click(client: Client, ann, alice):
    services.record_consents(
        alice.actor,
        ann,
        [ConsentChange("email", "marketing", True), ConsentChange("sms", "marketing", True)],
        source="staff",
    )

    response = client.post(_path(ann), {"action": "unsubscribe_all"})

    assert response["Location"].endswith("?done=unsubscribed")
    assert services.consent_state(ann.pk, "email", "marketing").allowed is False
    assert services.consent_state(ann.pk, "sms", "marketing").allowed is False
    assert services.consent_state(ann.pk, "email", "service").allowed is True


def test_the_form_is_csrf_protected(ann):
    strict = Client(enforce_csrf_checks=True)

    response = strict.post(_path(ann), {"email.marketing": "on"})

    assert response.status_code == 403
    assert ConsentRecord.objects.count() == 0


def test_the_page_form_carries_a_csrf_token_that_works(ann):
    strict = Client(enforce_csrf_checks=True)
    page = strict.get(_path(ann)).content.decode()
    token = page.split('name="csrfmiddlewaretoken" value="', 1)[1].split('"', 1)[0]

    response = strict.post(
        _path(ann),
        {
            "csrfmiddlewaretoken": token,
            "email.marketing": "on",
            "email.service": "on",
            "sms.service": "on",
            "whatsapp.service": "on",
        },
    )

    assert response.status_code == 302
    assert ConsentRecord.objects.count() == 1


def test_one_click_unsubscribe_needs_no_page(ann):
    strict = Client(enforce_csrf_checks=True)

    response = strict.post(_path(ann) + "unsubscribe/", {"List-Unsubscribe": "One-Click"})

    assert response.status_code == 200
    assert services.consent_state(ann.pk, "whatsapp", "marketing").explicit is True
    assert ConsentRecord.objects.get().source == "preference_centre"


def test_a_get_of_the_unsubscribe_link_only_leads_to_the_page(client: Client, ann):
    link = services.unsubscribe_link(ann)

    response = client.get(link.removeprefix("https://cx.example.com"))

    assert response.status_code == 302
    assert response["Location"] == _path(ann)
    assert ConsentRecord.objects.count() == 0


@pytest.mark.parametrize(
    "token",
    [
        "nonsense",
        "eyJjIjoiY3VzX3gifQ:1tAAAA:forged-signature",
        signing.dumps({"c": "cus_x"}, salt="another.purpose"),
        signing.dumps({"c": "cus_nobody"}, salt=SALT),
        signing.dumps(["not", "a", "dict"], salt=SALT),
        "%00",
    ],
)
def test_forged_or_damaged_links_get_a_friendly_404(client: Client, ann, token):
    response = client.get(f"/p/preferences/{token}/")
    posted = client.post(f"/p/preferences/{token}/", {"action": "unsubscribe_all"})

    assert response.status_code == posted.status_code == 404
    assert "This link does not work" in response.content.decode()
    assert ConsentRecord.objects.count() == 0


def test_an_expired_link_gets_a_friendly_400(client: Client, ann, settings, monkeypatch):
    token = preference_token(ann)
    settings.CXLOOP_PREFERENCE_LINK_DAYS = 30
    real_time = signing.time.time
    monkeypatch.setattr(signing.time, "time", lambda: real_time() + timedelta(days=31).total_seconds())

    response = client.get(f"/p/preferences/{token}/")

    assert response.status_code == 400
    assert "This link has expired" in response.content.decode()


def test_a_link_to_a_merged_profile_opens_the_survivor(client: Client, ann, bob):
    twin = make_customer("Ann Twin", email="twin@example.com")
    token = preference_token(twin)
    customer_services.merge_customers(bob.actor, ann, twin)

    client.post(f"/p/preferences/{token}/", {"action": "unsubscribe_all"})

    assert ConsentRecord.objects.get().customer_id == ann.pk


def test_a_customer_without_addresses_sees_that_they_get_nothing(client: Client, db):
    nobody = make_customer("Quiet Person", email="")

    page = client.get(_path(nobody)).content.decode()

    assert "we send you no messages" in page
    assert "<form" not in page
