"""Finding customers: search by name, identity and attribute, and lookup by an email or phone in any spelling."""

from __future__ import annotations

from urllib.parse import quote, urlencode

import pytest

from cxloop.customers import queries
from cxloop.customers import services as customer_services
from cxloop.customers.types import CustomerInput, IdentityInput
from tests.customers.factories import AttributeDefinitionFactory, CustomerFactory, IdentityFactory


def _ids(response) -> list[str]:  # type: ignore[no-untyped-def]
    assert response.status_code == 200, response.content
    return [c["id"] for c in response.json()["items"]]


@pytest.fixture
def people(db: None) -> dict[str, object]:
    AttributeDefinitionFactory(key="plan", type="text")
    AttributeDefinitionFactory(key="seats", type="number")
    AttributeDefinitionFactory(key="beta", type="boolean")
    jose = CustomerFactory(name="José Núñez", lifecycle_stage="customer", attributes={"plan": "gold", "seats": 4})
    IdentityFactory(customer=jose, value="jose+shop@example.com", match_value="jose@example.com")
    IdentityFactory(customer=jose, kind="phone", value="+447700900123", match_value="+447700900123")
    ann = CustomerFactory(name="Ann Lee", tags=["vip"], attributes={"plan": "basic", "beta": True})
    IdentityFactory(customer=ann, value="ann@example.com")
    IdentityFactory(customer=ann, kind="whatsapp", value="+12025550143", match_value="+12025550143")
    IdentityFactory(customer=ann, kind="social", network="x", value="annlee", match_value="annlee")
    joseph = CustomerFactory(name="Joseph Smith", lifecycle_stage="churned")
    return {"jose": jose, "ann": ann, "joseph": joseph}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"name": "jose n"}, ["jose"]),
        ({"name": "jose"}, ["joseph", "jose"]),
        ({"name": "JOS"}, ["joseph", "jose"]),
        ({"name": "núñez"}, ["jose"]),
        ({"q": "lee"}, ["ann"]),
        ({"q": "Jose+Other@Example.com"}, ["jose"]),
        ({"q": "jose@example.com"}, ["jose"]),
        ({"q": "+44 7700 900123"}, ["jose"]),
        ({"q": "07700 900123"}, ["jose"]),
        ({"email": "JOSE@example.com"}, ["jose"]),
        ({"email": "mailto:ann@EXAMPLE.com"}, ["ann"]),
        ({"phone": "(202) 555-0143", "region": "US"}, ["ann"]),
        ({"phone": "0044 7700 900123"}, ["jose"]),
        ({"phone": "07700-900-123"}, ["jose"]),
        ({"identity": "annlee"}, ["ann"]),
        ({"tag": "VIP"}, ["ann"]),
        ({"lifecycle_stage": "churned"}, ["joseph"]),
        ({"attr.plan": "gold"}, ["jose"]),
        ({"attr.seats": "4"}, ["jose"]),
        ({"attr.beta": "true"}, ["ann"]),
        ({"name": "jos", "lifecycle_stage": "customer"}, ["jose"]),
        ({"email": "nobody@example.com"}, []),
    ],
)
def test_search_finds_exactly_the_matching_customers(api, charlie, people, query, expected):
    response = api.get("/customers?" + urlencode(query), charlie)

    assert _ids(response) == [people[name].public_id for name in expected]  # type: ignore[attr-defined]


def test_search_by_public_id(api, charlie, people):
    ann = people["ann"]

    assert _ids(api.get(f"/customers?q={ann.public_id}", charlie)) == [ann.public_id]  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"attr.colour": "red"}, "attr.colour"),
        ({"attr.seats": "many"}, "attr.seats"),
        ({"attr.seats": "1e999"}, "attr.seats"),
        ({"attr.seats": "nan"}, "attr.seats"),
        ({"email": "not-an-email"}, "email"),
        ({"phone": "12"}, "phone"),
        ({"region": "GBR"}, "region"),
        ({"limit": "0"}, "limit"),
        ({"limit": "201"}, "limit"),
        ({"cursor": "%%%"}, "cursor"),
    ],
)
def test_a_malformed_search_is_422_naming_the_parameter(api, charlie, people, query, field):
    response = api.get("/customers?" + urlencode(query), charlie)

    assert response.status_code == 422, response.content
    assert field in response.json()["error"]["fields"]


def test_merged_customers_are_hidden_unless_asked_for(api, bob, people):
    customer_services.merge_customers(bob.actor, people["jose"], people["joseph"])  # type: ignore[arg-type]

    assert _ids(api.get("/customers?name=jos", bob)) == [people["jose"].public_id]  # type: ignore[attr-defined]
    assert _ids(api.get("/customers?name=jos&include_merged=true", bob)) == [
        people["joseph"].public_id,  # type: ignore[attr-defined]
        people["jose"].public_id,  # type: ignore[attr-defined]
    ]


def test_listing_pages_through_every_customer_once(api, charlie, django_assert_max_num_queries):
    # given
    customers = [CustomerFactory(tags=["t"]) for _ in range(23)]
    for customer in customers:
        IdentityFactory(customer=customer)
    seen: list[str] = []
    cursor = ""

    # when
    for _ in range(10):
        with django_assert_max_num_queries(8):
            page = api.get(f"/customers?limit=5{'&cursor=' + cursor if cursor else ''}", charlie).json()
        seen += [c["id"] for c in page["items"]]
        if not page["next_cursor"]:
            break
        cursor = quote(page["next_cursor"])

    # then: newest first, no duplicates, no gaps
    assert seen == [c.public_id for c in reversed(customers)]


# --- lookup ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "who"),
    [
        ({"email": "JOSE+shop@example.com"}, "jose"),
        ({"email": "jose@example.com"}, "jose"),  # finds the plus-addressed identity
        ({"email": "jose+other@example.com"}, "jose"),
        ({"email": " mailto:Ann@Example.com "}, "ann"),
        ({"phone": "+44 (0)7700 900123"}, "jose"),
        ({"phone": "07700 900123"}, "jose"),  # national, read in CXLOOP_DEFAULT_REGION (GB)
        ({"phone": "tel:+1-202-555-0143"}, "ann"),  # a WhatsApp number counts too
        ({"phone": "202.555.0143", "region": "us"}, "ann"),
        ({"phone": "0012025550143"}, "ann"),
    ],
)
def test_lookup_finds_the_customer_from_any_spelling(api, charlie, people, params, who):
    response = api.get("/customers/lookup?" + urlencode(params), charlie)

    assert response.status_code == 200, response.content
    assert response.json()["id"] == people[who].public_id  # type: ignore[attr-defined]


def test_an_exact_address_wins_over_a_plus_address_match(api, charlie, people):
    plain = CustomerFactory()
    IdentityFactory(customer=plain, value="jose@example.com", match_value="jose@example.com")

    assert api.get("/customers/lookup?email=jose@example.com", charlie).json()["id"] == plain.public_id
    assert api.get("/customers/lookup?email=jose%2Bshop@example.com", charlie).json()["id"] == people["jose"].public_id  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("params", "status", "fields"),
    [
        ({}, 422, {"email"}),
        ({"email": "a@example.com", "phone": "+447700900123"}, 422, {"email"}),
        ({"email": "not-an-email"}, 422, {"email"}),
        ({"phone": "call me"}, 422, {"phone"}),
        ({"email": "nobody@example.com"}, 404, set()),
        ({"phone": "+33 1 23 45 67 89"}, 404, set()),
    ],
)
def test_lookup_refusals(api, charlie, people, params, status, fields):
    response = api.get("/customers/lookup?" + urlencode(params), charlie)

    assert response.status_code == status
    assert set(response.json()["error"]["fields"]) == fields


@pytest.mark.parametrize("q", ["07700 900123", "+447700900123", "ann@example.com"])
def test_free_text_search_lists_a_customer_once_when_several_identities_match(alice, api, q):
    customer = customer_services.create_customer(
        alice.actor,
        CustomerInput(
            name="Ann Twice",
            country="GB",
            identities=[
                IdentityInput(kind="phone", value="07700 900123"),
                IdentityInput(kind="whatsapp", value="+44 7700 900123"),
                IdentityInput(kind="email", value="ann@example.com"),
                IdentityInput(kind="email", value="ann+shop@example.com"),
            ],
        ),
    )

    found = list(queries.search_customers(alice.actor, q=q))
    listed = api.get(f"/customers?q={q.replace('+', '%2B').replace(' ', '%20')}", alice).json()["items"]

    assert [c.pk for c in found] == [customer.pk]
    assert [c["id"] for c in listed] == [customer.public_id]
