"""Idempotency-Key on API creates: a retry answers the first answer and never acts twice."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client

from cxloop.accounts import services as account_services
from cxloop.accounts.models import ApiToken
from cxloop.core import clock, customer_refs
from cxloop.core.models import IdempotencyRecord
from cxloop.customers.models import Customer, Merge
from cxloop.interactions.models import Interaction
from tests.customers.factories import CustomerFactory

KEY = {"HTTP_IDEMPOTENCY_KEY": "3f1c9a7e-retry-1"}


def test_a_retried_create_answers_the_first_answer_and_creates_once(api, alice):
    # given
    body = {"name": "Ann", "identities": [{"kind": "email", "value": "ann@example.com"}]}
    first = api.post("/customers", alice, body, **KEY)

    # when
    retry = api.post("/customers", alice, body, **KEY)

    # then
    assert first.status_code == retry.status_code == 201
    assert retry.content == first.content
    assert retry["Idempotent-Replayed"] == "true"
    assert not first.has_header("Idempotent-Replayed")
    assert Customer.objects.count() == 1


def test_an_ingest_retried_by_a_channel_records_one_interaction(api, alice):
    body = {
        "channel": "sms",
        "direction": "inbound",
        "body": "Where is my parcel?",
        "identities": [{"kind": "phone", "value": "+447700900123"}],
    }

    answers = [api.post("/interactions", alice, body, **KEY) for _ in range(3)]

    assert [a.status_code for a in answers] == [201, 201, 201]
    assert len({a.json()["interaction"]["id"] for a in answers}) == 1
    assert Interaction.objects.count() == 1


def test_the_same_key_with_another_body_is_refused(api, alice):
    api.post("/customers", alice, {"name": "Ann"}, **KEY)

    response = api.post("/customers", alice, {"name": "Bea"}, **KEY)

    assert response.status_code == 422
    assert response.json()["error"] == {
        "code": "idempotency_key_reused",
        "message": "This Idempotency-Key was used with a different request; use a new key.",
        "fields": {"Idempotency-Key": "This Idempotency-Key was used with a different request; use a new key."},
    }
    assert list(Customer.objects.values_list("name", flat=True)) == ["Ann"]


def test_the_same_key_on_another_path_is_refused(api, alice):
    customer = CustomerFactory()
    api.post("/customers", alice, {}, **KEY)

    response = api.post(f"/customers/{customer.public_id}/identities", alice, {}, **KEY)

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "idempotency_key_reused"


def test_keys_belong_to_one_credential(api, alice, bob):
    body = {"name": "Ann"}

    mine = api.post("/customers", alice, body, **KEY)
    theirs = api.post("/customers", bob, body, **KEY)

    assert (mine.status_code, theirs.status_code) == (201, 201)
    assert mine.json()["id"] != theirs.json()["id"]
    assert not theirs.has_header("Idempotent-Replayed")
    assert Customer.objects.count() == 2


def test_refusals_are_remembered_too(api, alice):
    body = {"identities": [{"kind": "email", "value": "nope"}]}

    first = api.post("/customers", alice, body, **KEY)
    retry = api.post("/customers", alice, body, **KEY)

    assert first.status_code == retry.status_code == 422
    assert retry.content == first.content


def test_a_server_error_releases_the_key_so_the_client_can_retry(api, bob, monkeypatch):
    # given: a merge whose third step fails with an unexpected error (a 500)
    target, source = CustomerFactory(), CustomerFactory()

    def broken_move(from_customer_id: int, to_customer_id: int) -> list[int]:
        raise RuntimeError("storage unavailable")

    monkeypatch.setitem(
        customer_refs._references, "broken", customer_refs.CustomerReference("broken", broken_move, lambda i, t: None)
    )
    failed = api.post(f"/customers/{target.public_id}/merge", bob, {"source": source.public_id}, **KEY)
    assert failed.status_code == 500
    assert failed.json()["error"]["code"] == "internal_error"
    assert IdempotencyRecord.objects.count() == 0

    # when: the fault is gone and the client retries with the same key
    monkeypatch.delitem(customer_refs._references, "broken")
    retried = api.post(f"/customers/{target.public_id}/merge", bob, {"source": source.public_id}, **KEY)

    # then
    assert retried.status_code == 201
    assert not retried.has_header("Idempotent-Replayed")
    assert Merge.objects.count() == 1


def test_a_claim_left_by_a_crashed_request_is_taken_over_after_two_minutes(api, alice):
    body = {"name": "Ann"}
    api.post("/customers", alice, body, **KEY)
    record = IdempotencyRecord.objects.get()
    Customer.objects.all().delete()
    IdempotencyRecord.objects.filter(pk=record.pk).update(status_code=None, response_body=None)

    running = api.post("/customers", alice, body, **KEY)
    assert running.status_code == 409
    assert running.json()["error"]["code"] == "request_in_progress"

    IdempotencyRecord.objects.filter(pk=record.pk).update(created_at=clock.now() - timedelta(minutes=3))
    taken_over = api.post("/customers", alice, body, **KEY)
    assert taken_over.status_code == 201
    assert Customer.objects.count() == 1


def test_keys_expire_after_the_retention(api, alice, settings):
    settings.CXLOOP_IDEMPOTENCY_HOURS = 24
    api.post("/customers", alice, {"name": "Ann"}, **KEY)
    IdempotencyRecord.objects.update(created_at=clock.now() - timedelta(hours=25))

    again = api.post("/customers", alice, {"name": "Ann"}, **KEY)

    assert again.status_code == 201
    assert not again.has_header("Idempotent-Replayed")
    assert Customer.objects.count() == 2


def test_without_a_key_every_post_acts(api, alice):
    api.post("/customers", alice, {"name": "Ann"})
    api.post("/customers", alice, {"name": "Ann"})

    assert Customer.objects.count() == 2
    assert IdempotencyRecord.objects.count() == 0


def test_an_overlong_key_is_refused(api, alice):
    response = api.post("/customers", alice, {"name": "Ann"}, HTTP_IDEMPOTENCY_KEY="k" * 256)

    assert response.status_code == 422
    assert list(response.json()["error"]["fields"]) == ["Idempotency-Key"]
    assert Customer.objects.count() == 0


def test_a_staff_session_has_its_own_keys(api, alice):
    browser = Client()
    browser.force_login(alice.user)

    first = browser.post("/api/v1/customers", {"name": "Ann"}, content_type="application/json", **KEY)
    retry = browser.post("/api/v1/customers", {"name": "Ann"}, content_type="application/json", **KEY)
    by_token = api.post("/customers", alice, {"name": "Ann"}, **KEY)

    assert (first.status_code, retry.status_code, by_token.status_code) == (201, 201, 201)
    assert retry["Idempotent-Replayed"] == "true"
    assert Customer.objects.count() == 2


@pytest.mark.parametrize("credential", [None, "Bearer cxl_not-a-token", "Bearer revoked"])
def test_requests_without_valid_credentials_are_refused_and_hold_no_key(alice, credential):
    # given: for "revoked", a token that made the first request and was revoked since
    body = {"name": "Ann"}
    headers = dict(KEY)
    if credential == "Bearer revoked":
        headers["HTTP_AUTHORIZATION"] = f"Bearer {alice.token}"
        assert Client().post("/api/v1/customers", body, content_type="application/json", **headers).status_code == 201
        account_services.revoke_token(alice.actor, ApiToken.objects.get(user=alice.user))
    elif credential:
        headers["HTTP_AUTHORIZATION"] = credential
    records = IdempotencyRecord.objects.count()

    # when
    response = Client().post("/api/v1/customers", body, content_type="application/json", **headers)

    # then: a 401, never a replay of what the credential did while it was valid
    assert response.status_code == 401
    assert not response.has_header("Idempotent-Replayed")
    assert IdempotencyRecord.objects.count() == records


def test_a_new_tokens_secret_is_never_kept_for_replay(api, alice):
    # when
    created = api.post("/tokens", alice, {"name": "zapier", "scopes": ["read"]}, **KEY)

    # then: the secret is shown once and not stored at rest, not even in the idempotency table
    assert created.status_code == 201
    secret = created.json()["token"]
    assert not any(secret.encode() in bytes(r.response_body or b"") for r in IdempotencyRecord.objects.all())
    assert created["Cache-Control"] == "no-store"
