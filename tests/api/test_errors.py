"""One error shape for every refusal, and no 500 for anything a client can send."""

from __future__ import annotations

import json
from typing import Any

import pytest

from cxloop.customers.models import Customer
from cxloop.interactions.models import Interaction
from cxloop.privacy.models import AuditEntry
from tests.customers.factories import CustomerFactory, IdentityFactory


def _error(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert list(body) == ["error"]
    assert list(body["error"]) == ["code", "message", "fields"]
    assert isinstance(body["error"]["code"], str)
    assert isinstance(body["error"]["message"], str)
    assert body["error"]["message"]
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in body["error"]["fields"].items())
    return body["error"]


def test_401_has_the_shape(api):
    assert _error(api.get("/customers"), 401)["code"] == "not_authenticated"


def test_403_has_the_shape(api, alice):
    customer = CustomerFactory()

    error = _error(api.delete(f"/customers/{customer.public_id}", alice), 403)

    assert error == {
        "code": "permission_denied",
        "message": "You do not have the permission 'customers.delete'.",
        "fields": {},
    }


@pytest.mark.parametrize(
    ("path", "code"),
    [
        ("/customers/cus_missing", "customer_not_found"),
        ("/interactions/int_missing", "not_found"),
        ("/no-such-endpoint", "not_found"),
        ("/customers/cus_missing/timeline", "customer_not_found"),
    ],
)
def test_404_has_the_shape(api, alice, path, code):
    assert _error(api.get(path, alice), 404)["code"] == code


def test_409_has_the_shape(api, bob):
    customer = CustomerFactory()

    error = _error(api.post(f"/customers/{customer.public_id}/merge", bob, {"source": customer.public_id}), 409)

    assert error == {
        "code": "merge_conflict",
        "message": "A customer cannot be merged into itself.",
        "fields": {"source": "same as target"},
    }


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"name": 5}, {"name": "Input should be a valid string"}),
        ({"tags": "vip"}, {"tags": "Input should be a valid list"}),
        ({"identities": [{"kind": "fax", "value": "1"}]}, {"identities[0].kind"}),
        ({"identities": [{"kind": "email"}]}, {"identities[0].value": "Field required"}),
        ({"identities": [{"kind": "email", "value": "bob@"}]}, {"identities[0].value"}),
        (
            {"identities": [{"kind": "phone", "value": "+44 12"}]},
            {"identities[0].value": "too short to be a phone number"},
        ),
        ({"country": "GBR"}, {"country"}),
        ({"country": "ZZ"}, {"country"}),
    ],
)
def test_422_names_each_field_with_a_reason(api, alice, body, fields):
    error = _error(api.post("/customers", alice, body), 422)

    assert error["code"] == "validation_error"
    if isinstance(fields, dict):
        assert error["fields"] == fields
    else:
        assert set(error["fields"]) == fields
    assert Customer.objects.count() == 0


@pytest.mark.parametrize(
    ("raw", "content_type"),
    [
        ("{bad json", "application/json"),
        ('{"name": "Ann"', "application/json"),
        ("", "application/json"),
        ("[" * 5000 + "]" * 5000, "application/json"),
        ("name=Ann", "application/x-www-form-urlencoded"),
        ('{"name": "\\ud800"}', "application/json"),
        ("\xff\xfe", "application/json"),
        ('"just a string"', "application/json"),
        ("null", "application/json"),
        ("12", "application/json"),
    ],
)
def test_malformed_bodies_are_4xx_with_the_shape(client, alice, raw, content_type):
    response = client.post(
        "/api/v1/customers", data=raw.encode("utf-8", "surrogatepass"), content_type=content_type, **alice.headers()
    )

    assert 400 <= response.status_code < 500, response.content
    _error(response, response.status_code)
    assert Customer.objects.count() == 0


@pytest.mark.parametrize("headers", [{}, {"HTTP_IDEMPOTENCY_KEY": "big-1"}])
def test_a_body_over_the_upload_limit_is_413(client, alice, settings, headers):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    body = json.dumps({"name": "Ann", "attributes": {}, "padding": "x" * 20_000})

    response = client.post(
        "/api/v1/customers", data=body, content_type="application/json", **alice.headers(), **headers
    )

    assert _error(response, 413)["code"] == "payload_too_large"
    assert Customer.objects.count() == 0


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("post", "/customers", {"name": "Ann\x00Lee"}, "body"),
        ("post", "/customers", {"identities": [{"kind": "anonymous", "value": "a\x00b"}]}, "body"),
        ("get", "/customers?name=a%00b", None, "name"),
        ("get", "/customers/cus_%00", None, "path"),
        ("get", "/customers?q=%00", None, "q"),
    ],
)
def test_nul_characters_are_422_on_every_database(api, alice, method, path, body, field):
    response = api.post(path, alice, body) if method == "post" else api.get(path, alice)

    error = _error(response, 422)
    assert error["fields"] == {field: "must not contain NUL (U+0000) characters"}
    assert Customer.objects.count() == 0


def test_an_interaction_with_a_nul_character_is_refused(api, alice):
    customer = CustomerFactory()
    body = {"channel": "note", "direction": "internal", "body": "line\x00break"}

    response = api.post(f"/customers/{customer.public_id}/interactions", alice, body)

    assert _error(response, 422)["fields"] == {"body": "must not contain NUL (U+0000) characters"}
    assert Interaction.objects.count() == 0


@pytest.mark.parametrize(
    "occurred_at",
    ["0001-01-01T00:00:00+01:00", "0001-01-01T00:30:00+14:00", "9999-12-31T23:59:59-12:00"],
)
def test_a_moment_outside_the_storable_range_is_422(api, alice, occurred_at):
    customer = CustomerFactory()
    body = {"channel": "note", "direction": "internal", "body": "x", "occurred_at": occurred_at}

    response = api.post(f"/customers/{customer.public_id}/interactions", alice, body)

    assert "occurred_at" in _error(response, 422)["fields"]
    assert Interaction.objects.count() == 0


@pytest.mark.parametrize("param", ["since", "until"])
def test_filters_outside_the_storable_range_are_422(api, alice, ada, param):
    customer = CustomerFactory()
    moment = "0001-01-01T00:00:00%2B01:00"

    timeline = api.get(f"/customers/{customer.public_id}/timeline?{param}={moment}", alice)
    audit = api.get(f"/audit?{param}={moment}", ada)

    assert list(_error(timeline, 422)["fields"]) == [param]
    assert list(_error(audit, 422)["fields"]) == [param]


@pytest.mark.parametrize("number", ["1e999", "-1e999", "NaN", "Infinity"])
def test_non_finite_numbers_in_metadata_are_422(client, alice, number):
    customer = CustomerFactory()
    raw = '{"channel": "note", "direction": "internal", "body": "x", "metadata": {"score": NUMBER}}'.replace(
        "NUMBER", number
    )

    response = client.post(
        f"/api/v1/customers/{customer.public_id}/interactions",
        data=raw,
        content_type="application/json",
        **alice.headers(),
    )

    assert list(_error(response, 422)["fields"]) == ["metadata"]
    assert Interaction.objects.count() == 0


def test_a_refusal_writes_no_audit_entry(api, alice):
    IdentityFactory(value="ann@example.com")
    before = AuditEntry.objects.count()

    api.post("/customers", alice, {"identities": [{"kind": "email", "value": "ANN@example.com"}]})
    api.post("/customers", alice, {"country": "XX"})

    assert AuditEntry.objects.count() == before


def test_offsets_beyond_postgresqls_range_are_read_as_the_moment_they_name(api, alice, ada):
    # ISO 8601 and pydantic allow offsets up to ±23:59; PostgreSQL only ±15:59.
    customer = CustomerFactory()
    body = {"channel": "note", "direction": "internal", "body": "x", "occurred_at": "2026-01-31T20:00:00+16:30"}

    created = api.post(f"/customers/{customer.public_id}/interactions", alice, body)
    timeline = api.get(f"/customers/{customer.public_id}/timeline?since=2026-01-31T19:30:00%2B16:00", alice)
    audit = api.get("/audit?until=2026-01-31T19:30:00%2B16:00", ada)

    assert created.status_code == 201, created.content
    assert created.json()["occurred_at"] == "2026-01-31T03:30:00Z"
    assert [i["id"] for i in timeline.json()["items"]] == [created.json()["id"]]
    assert audit.status_code == 200


def test_an_offset_beyond_postgresqls_range_reaches_the_database_as_the_same_moment(api, alice):
    # The fuzzer found /promises?due_before= with +16:23; the database backend sends every datetime in UTC.
    from datetime import datetime, timedelta, timezone

    from cxloop.cases.models import Promise

    far_east = timezone(timedelta(hours=16, minutes=23))
    moment = datetime(2026, 2, 1, 9, 0, tzinfo=far_east)

    listed = api.get("/promises?due_before=6186-11-26T11:57:13.5%2B16:23", alice)
    counted = Promise.objects.filter(due_at__lt=moment).count()

    assert listed.status_code == 200, listed.content
    assert counted == 0


@pytest.mark.parametrize("path", ["/promises/kept-rate", "/promises/kept-rate?by=team", "/automation/runs"])
def test_period_filters_take_any_offset_and_refuse_moments_outside_the_range(api, ada, path):
    # The fuzzer found /promises/kept-rate passing an offset of +16:00 to PostgreSQL, which refused it.
    joiner = "&" if "?" in path else "?"

    wide = api.get(f"{path}{joiner}since=2026-01-31T19:30:00%2B16:00&until=2026-02-01T00:00:00-16:30", ada)
    early = api.get(f"{path}{joiner}until=0001-01-01T00:00:00%2B01:00", ada)

    assert wide.status_code == 200, wide.content
    assert list(_error(early, 422)["fields"]) == ["until"]


def test_wrong_method_answers_in_the_error_shape_with_allow(client, alice):
    response = client.put("/api/v1/customers", data="{}", content_type="application/json", **alice.headers())

    assert response.status_code == 405
    error = response.json()["error"]
    assert error["code"] == "method_not_allowed"
    assert "GET" in response["Allow"]
    assert "POST" in response["Allow"]
