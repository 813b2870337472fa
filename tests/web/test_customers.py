"""The customers list (filters, cursor pages, bounded queries) and creating a customer."""

from __future__ import annotations

import re

from cxloop.customers import services as customer_services
from cxloop.customers.models import Customer, Identity
from cxloop.privacy.models import AuditEntry
from tests.web.conftest import make_customer


def _listed(html: str) -> set[str]:
    return set(re.findall(r'href="/customers/(cus_[0-9a-z]+)/"', html))


def test_list_shows_customers_to_every_role(web, charlie, ann, bert):
    response = web(charlie).get("/customers/")

    assert response.status_code == 200
    assert _listed(response.content.decode()) == {ann.public_id, bert.public_id}
    assert b"New customer" not in response.content  # charlie may read, not create


def test_list_filters_by_text_stage_tag_and_attribute(web, alice, system):
    customer_services.define_attribute(system, key="plan", label="Plan", type="choice", choices=["pro", "free"])
    pro = make_customer(system, "Pat Pro", stage="customer", tags=["vip"], attributes={"plan": "pro"})
    free = make_customer(system, "Fay Free", stage="lead", attributes={"plan": "free"})
    client = web(alice)

    assert _listed(client.get("/customers/", {"q": "fay"}).content.decode()) == {free.public_id}
    assert _listed(client.get("/customers/", {"lifecycle_stage": "customer"}).content.decode()) == {pro.public_id}
    assert _listed(client.get("/customers/", {"tag": "VIP"}).content.decode()) == {pro.public_id}
    by_attribute = client.get("/customers/", {"attr_key": "plan", "attr_value": "free"})
    assert _listed(by_attribute.content.decode()) == {free.public_id}


def test_unknown_filter_values_are_reported_not_crashed(web, alice, ann):
    client = web(alice)

    bad_attribute = client.get("/customers/", {"attr_key": "nope", "attr_value": "1"})
    bad_cursor = client.get("/customers/", {"cursor": "!!!"})

    assert bad_attribute.status_code == 422
    assert bad_cursor.status_code == 422
    assert b"cursor is not valid" in bad_cursor.content


def test_cursor_pages_walk_the_whole_list_once(web, alice, system):
    created = {make_customer(system, f"Person {i:02d}").public_id for i in range(30)}
    client = web(alice)

    first = client.get("/customers/").content.decode()
    next_link = re.search(r'rel="next" href="\?cursor=([^"]+)"', first)
    assert next_link is not None
    second = client.get("/customers/", {"cursor": next_link.group(1)}).content.decode()

    assert len(_listed(first)) == 25
    assert _listed(first) | _listed(second) == created
    assert not _listed(first) & _listed(second)
    assert 'rel="next"' not in second
    assert "First page" in second


def test_list_queries_stay_bounded(web, alice, system, django_assert_max_num_queries):
    for i in range(30):
        make_customer(system, f"Person {i}", email=f"p{i}@example.com", phone=f"+4477009{i:05d}", tags=["a", "b"])
    client = web(alice)

    # +2: the header counts my active cases and unread notifications

    with django_assert_max_num_queries(11):
        response = client.get("/customers/")

    assert response.status_code == 200
    assert len(_listed(response.content.decode())) == 25


def test_agent_creates_a_customer_with_first_email_and_phone(web, alice):
    response = web(alice).post(
        "/customers/new/",
        {
            "name": "  Nia   Nowak ",
            "email": "Nia@Example.com",
            "phone": "07700 900555",
            "country": "gb",
            "locale": "en-GB",
            "time_zone": "Europe/London",
            "lifecycle_stage": "prospect",
        },
    )

    customer = Customer.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/customers/{customer.public_id}/"
    assert (customer.name, customer.country, customer.lifecycle_stage) == ("Nia Nowak", "GB", "prospect")
    assert set(customer.identities.values_list("kind", "value")) == {
        ("email", "nia@example.com"),
        ("phone", "+447700900555"),
    }
    assert AuditEntry.objects.filter(action="customer.created", object_id=customer.public_id).exists()


def test_new_customer_form_shows_field_errors_and_writes_nothing(web, alice):
    response = web(alice).post(
        "/customers/new/",
        {"name": "X", "email": "not-an-email", "country": "ZZ", "time_zone": "Mars/Olympus", "lifecycle_stage": "lead"},
    )

    html = response.content.decode()
    assert response.status_code == 422
    assert 'id="id_country_error"' in html
    assert 'id="id_time_zone_error"' in html
    assert Customer.objects.count() == 0
    assert not AuditEntry.objects.filter(object_type="customer").exists()


def test_new_customer_with_a_taken_email_points_at_the_field(web, alice, ann):
    response = web(alice).post(
        "/customers/new/", {"name": "Copy", "email": "ann@example.com", "lifecycle_stage": "lead"}
    )

    assert response.status_code == 422
    assert 'id="id_email_error"' in response.content.decode()
    assert ann.public_id in response.content.decode()
    assert Customer.objects.count() == 1


def test_new_customer_needs_something_to_identify_them(web, alice):
    response = web(alice).post("/customers/new/", {"lifecycle_stage": "lead"})

    assert response.status_code == 422
    assert b"at least a name" in response.content
    assert Customer.objects.count() == 0


def test_read_only_staff_cannot_create_customers(web, charlie):
    client = web(charlie)

    assert client.get("/customers/new/").status_code == 403
    response = client.post("/customers/new/", {"name": "Sneaky", "lifecycle_stage": "lead"})

    assert response.status_code == 403
    assert Customer.objects.count() == 0
    assert Identity.objects.count() == 0
