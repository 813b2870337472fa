"""/api/v1 messaging routes: thin handlers over the services, one error shape, permissions."""

from __future__ import annotations

import pytest

from cxloop.messaging.models import ConsentRecord, OutboundMessage, Suppression, Template
from cxloop.privacy.models import AuditEntry

KEY = {"HTTP_IDEMPOTENCY_KEY": "send-1"}


@pytest.fixture
def post_now(api, django_capture_on_commit_callbacks):  # type: ignore[no-untyped-def]
    """api.post, running on-commit work (the dispatch task) before returning."""

    def _post(path, member, body, **extra):  # type: ignore[no-untyped-def]
        with django_capture_on_commit_callbacks(execute=True):
            return api.post(path, member, body, **extra)

    return _post


def test_post_sends_and_get_shows_the_delivery_history(api, post_now, alice, ann, senders):
    response = post_now("/messages", alice, {"customer": ann.public_id, "channel": "email", "text": "Hello"})

    assert response.status_code == 201
    body = response.json()
    assert (body["status"], body["to"], body["purpose"], body["events"]) == (
        "queued",
        "ann@example.com",
        "service",
        None,
    )
    shown = api.get(f"/messages/{body['id']}", alice).json()
    assert shown["status"] == "sent"
    assert [e["state"] for e in shown["events"]] == ["queued", "sent"]
    assert shown["interaction"].startswith("int_")


def test_a_retry_with_the_same_idempotency_key_returns_the_same_message(api, post_now, alice, ann, senders):
    body = {"customer": ann.public_id, "channel": "email", "text": "Hello"}

    first = post_now("/messages", alice, body, **KEY)
    retry = post_now("/messages", alice, body, **KEY)

    assert first.status_code == retry.status_code == 201
    assert retry.json()["id"] == first.json()["id"]
    assert OutboundMessage.objects.count() == 1
    assert len(senders["email"].sent) == 1
    assert OutboundMessage.objects.get().idempotency_key == "send-1"


def test_a_blocked_message_is_created_with_its_reason(api, alice, ann, senders):
    response = api.post(
        "/messages", alice, {"customer": ann.public_id, "channel": "email", "text": "Sale", "purpose": "marketing"}
    )

    assert response.status_code == 201
    assert (response.json()["status"], response.json()["reason_code"]) == ("blocked", "no_consent")


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"channel": "email", "text": "x"}, {"customer": "Field required"}),
        ({"customer": "CUS", "channel": "email", "text": "x", "to": "nobody@example.com"}, None),
        ({"customer": "CUS", "channel": "email"}, {"template": "give either a template or a text"}),
        (
            {"customer": "CUS", "channel": "fax", "text": "x"},
            {"channel": "must be one of email, sms, whatsapp, social, chat"},
        ),
        ({"customer": "CUS", "channel": "email", "template": "nope"}, None),
    ],
)
def test_bad_sends_are_refused_in_the_error_shape(api, alice, ann, senders, body, fields):
    body = {k: (ann.public_id if v == "CUS" else v) for k, v in body.items()}

    response = api.post("/messages", alice, body)

    assert response.status_code in (404, 422)
    if fields is not None:
        assert response.json()["error"]["fields"] == fields
    assert OutboundMessage.objects.count() == 0


def test_unknown_customer_and_message_are_404(api, alice, senders, db):
    assert api.post("/messages", alice, {"customer": "cus_x", "channel": "email", "text": "x"}).status_code == 404
    assert api.get("/messages/msg_nothere", alice).json()["error"]["code"] == "message_not_found"


def test_an_analyst_can_read_but_not_send(api, charlie, alice, ann, senders):
    api.post("/messages", alice, {"customer": ann.public_id, "channel": "email", "text": "Hello"})

    refused = api.post("/messages", charlie, {"customer": ann.public_id, "channel": "email", "text": "Hi"})

    assert refused.status_code == 403
    assert OutboundMessage.objects.count() == 1
    assert api.get("/messages", charlie).status_code == 200


def test_list_filters_and_pages(api, alice, ann, senders):
    for text in ("one", "two", "three"):
        api.post("/messages", alice, {"customer": ann.public_id, "channel": "email", "text": text})
    api.post("/messages", alice, {"customer": ann.public_id, "channel": "sms", "text": "four"})

    first = api.get("/messages?channel=email&limit=2", alice).json()
    second = api.get(f"/messages?channel=email&limit=2&cursor={first['next_cursor']}", alice).json()
    bad = api.get("/messages?status=lost", alice)

    assert [m["text"] for m in first["items"]] == ["three", "two"]
    assert ([m["text"] for m in second["items"]], second["next_cursor"]) == (["one"], None)
    assert api.get(f"/messages?customer={ann.public_id}&status=queued", alice).json()["items"][0]["text"] == "four"
    assert bad.status_code == 422
    assert list(bad.json()["error"]["fields"]) == ["status"]


# --- templates ----------------------------------------------------------------------------------------------------


TEMPLATE = {
    "key": "shipped",
    "name": "Order shipped",
    "channel": "email",
    "content": {"locale": "en", "subject": "Order {{ order }}", "body_text": "Hi {{ customer.first_name }}"},
}


def test_templates_crud_versions_and_preview(api, bob, alice, ann):
    created = api.post("/templates", bob, TEMPLATE)
    unchanged = api.post("/templates/shipped/versions", bob, TEMPLATE["content"])
    newer = api.post("/templates/shipped/versions", bob, {**TEMPLATE["content"], "body_text": "Hello {{ nickname }}"})
    renamed = api.patch("/templates/shipped", bob, {"name": "Shipped"})
    preview = api.post("/templates/shipped/preview", alice, {"customer": ann.public_id, "variables": {"order": "A1"}})

    assert created.status_code == 201
    assert created.json()["current"][0]["version"] == 1
    assert (unchanged.status_code, newer.status_code, newer.json()["version"]) == (200, 201, 2)
    assert renamed.json()["name"] == "Shipped"
    assert [v["version"] for v in api.get("/templates/shipped/versions", alice).json()] == [2, 1]
    assert preview.json() == {
        "template": "shipped",
        "locale": "en",
        "version": 2,
        "subject": "Order A1",
        "text": "Hello ",
        "html": "",
        "warnings": ["unknown variable: nickname"],
    }
    assert api.delete("/templates/shipped", bob).status_code == 204
    assert api.get("/templates", alice).json() == []
    assert api.get("/templates?include_archived=true", alice).json()[0]["is_active"] is False


def test_a_draft_preview_reports_syntax_errors_by_field(api, bob, alice, ann):
    api.post("/templates", bob, TEMPLATE)

    response = api.post(
        "/templates/shipped/preview",
        alice,
        {"customer": ann.public_id, "draft": {"locale": "en", "body_text": "{% if customer %}unclosed"}},
    )

    assert response.status_code == 422
    assert list(response.json()["error"]["fields"]) == ["body_text"]


def test_template_syntax_errors_are_422_with_the_field(api, bob):
    response = api.post("/templates", bob, {**TEMPLATE, "content": {"locale": "en", "body_text": "{{ x|bogus }}"}})

    assert response.status_code == 422
    assert response.json()["error"]["fields"] == {"body_text": "Invalid filter: 'bogus'"}
    assert Template.objects.count() == 0


def test_agents_cannot_change_templates(api, alice):
    assert api.post("/templates", alice, TEMPLATE).status_code == 403
    assert Template.objects.count() == 0


# --- consents ------------------------------------------------------------------------------------------------------


def test_consents_are_recorded_and_shown(api, alice, ann):
    response = api.post(
        f"/customers/{ann.public_id}/consents",
        alice,
        {"changes": [{"channel": "email", "purpose": "marketing", "granted": True}]},
    )

    assert response.status_code == 200
    current = {(s["channel"], s["purpose"]): s for s in response.json()["current"]}
    assert current[("email", "marketing")]["allowed"] is True
    assert current[("email", "marketing")]["source"] == "api"
    assert current[("sms", "marketing")] == {
        "channel": "sms",
        "purpose": "marketing",
        "allowed": False,
        "explicit": False,
        "source": "",
        "at": "",
    }
    assert response.json()["history"][0]["actor"].startswith("alice (token ")


def test_the_api_cannot_claim_a_customers_own_sources(api, alice, ann):
    response = api.post(
        f"/customers/{ann.public_id}/consents",
        alice,
        {"changes": [{"channel": "email", "purpose": "marketing", "granted": True}], "source": "preference_centre"},
    )

    assert response.status_code == 422
    assert list(response.json()["error"]["fields"]) == ["source"]
    assert ConsentRecord.objects.count() == 0


def test_an_analyst_cannot_change_consents(api, charlie, ann):
    response = api.post(
        f"/customers/{ann.public_id}/consents",
        charlie,
        {"changes": [{"channel": "email", "purpose": "marketing", "granted": True}]},
    )

    assert response.status_code == 403
    assert not AuditEntry.objects.filter(action="consent.changed").exists()


# --- suppressions ---------------------------------------------------------------------------------------------------


def test_suppressions_add_list_and_lift(api, bob, alice, db):
    added = api.post("/suppressions", bob, {"channel": "email", "address": "Eve+x@Example.com", "reason": "complaint"})
    again = api.post("/suppressions", bob, {"channel": "email", "address": "eve@example.com", "reason": "complaint"})
    found = api.get("/suppressions?channel=email&address=eve%2Bother%40example.com", alice).json()

    assert (added.status_code, again.status_code) == (201, 200)
    assert [s["id"] for s in found["items"]] == [added.json()["id"]]
    assert api.delete(f"/suppressions/{added.json()['id']}", alice).status_code == 403
    assert api.delete(f"/suppressions/{added.json()['id']}", bob).status_code == 204
    assert api.delete(f"/suppressions/{added.json()['id']}", bob).status_code == 404
    assert Suppression.objects.count() == 0


def test_bad_suppressions_are_422(api, bob, db):
    response = api.post("/suppressions", bob, {"channel": "sms", "address": "call me", "reason": "manual"})

    assert response.status_code == 422
    assert list(response.json()["error"]["fields"]) == ["address"]
