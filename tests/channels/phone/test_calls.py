"""Call records: by API for a known customer, by number from a telephony system, and from the customer page."""

from __future__ import annotations

import pytest

from cxloop.customers.models import Customer
from cxloop.interactions.models import Interaction
from cxloop.privacy.models import AuditEntry
from tests.customers.factories import CustomerFactory, IdentityFactory

pytestmark = pytest.mark.django_db

CALL = {"direction": "outbound", "outcome": "answered", "duration_seconds": 252, "notes": "Promised a refund by Friday"}


def test_a_call_is_logged_on_the_customers_timeline_with_its_facts(api, alice):
    customer = CustomerFactory(name="Ann")
    response = api.post(
        f"/customers/{customer.public_id}/calls", alice, {**CALL, "recording_url": "https://pbx.example/rec/1.mp3"}
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["summary"] == "Outgoing call · answered · 4m 12s"
    assert body["duration_seconds"] == 252
    assert body["recording_url"] == "https://pbx.example/rec/1.mp3"
    interaction = Interaction.objects.get(public_id=body["id"])
    assert (interaction.channel, interaction.direction, interaction.body) == ("phone", "outbound", CALL["notes"])
    assert AuditEntry.objects.filter(action="interaction.recorded", object_id=customer.public_id).exists()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"direction": "sideways"}, "direction"),
        ({"outcome": "hung up"}, "outcome"),
        ({"duration_seconds": -1}, "duration_seconds"),
        ({"outcome": "no_answer", "duration_seconds": 30}, "duration_seconds"),
        ({"recording_url": "javascript:alert(1)"}, "recording_url"),
        ({"recording_url": "ftp://pbx.example/1.mp3"}, "recording_url"),
    ],
)
def test_an_impossible_call_is_refused_with_the_field(api, alice, change, field):
    customer = CustomerFactory()
    response = api.post(f"/customers/{customer.public_id}/calls", alice, {**CALL, **change})
    assert response.status_code == 422, response.content
    assert field in str(response.json()["error"]["fields"])
    assert not Interaction.objects.exists()


def test_a_telephony_system_logs_a_call_by_number_and_finds_the_customer(api, alice):
    ann = CustomerFactory(name="Ann", country="GB")
    IdentityFactory(customer=ann, kind="phone", value="+447700900123")
    response = api.post(
        "/calls", alice, {"number": "07700 900123", "region": "GB", "direction": "inbound", "outcome": "missed"}
    )
    assert response.status_code == 201, response.content
    assert response.json()["customer_id"] == ann.public_id
    assert response.json()["summary"] == "Incoming call · missed"
    assert Interaction.objects.get().metadata["from_number"] == "07700 900123"


def test_a_call_from_an_unknown_number_creates_a_lead(api, alice):
    response = api.post("/calls", alice, {"number": "+14155550100", "direction": "inbound", "outcome": "answered"})
    assert response.status_code == 201
    assert Customer.objects.get().identities.get().value == "+14155550100"


def test_a_read_only_analyst_cannot_log_calls(api, charlie):
    customer = CustomerFactory()
    assert api.post(f"/customers/{customer.public_id}/calls", charlie, CALL).status_code == 403


def test_the_customer_page_shows_calls_and_logs_one_from_the_form(client, alice):
    customer = CustomerFactory(name="Ann")
    client.force_login(alice.user)
    page = client.get(f"/customers/{customer.public_id}/")
    assert b"Log a call" in page.content
    response = client.post(
        f"/phone/customers/{customer.public_id}/calls/",
        {"direction": "inbound", "outcome": "answered", "minutes": "3", "seconds": "5", "notes": "<b>angry</b>"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    assert b"Incoming call \xc2\xb7 answered \xc2\xb7 3m 05s" in response.content
    assert b"&lt;b&gt;angry&lt;/b&gt;" in response.content
    bad = client.post(
        f"/phone/customers/{customer.public_id}/calls/",
        {"direction": "inbound", "outcome": "busy", "minutes": "2", "seconds": "0"},
        HTTP_HX_REQUEST="true",
    )
    assert bad.status_code == 422
    assert b"only an answered call" in bad.content
    assert Interaction.objects.count() == 1
