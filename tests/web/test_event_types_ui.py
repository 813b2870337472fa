"""Settings → Event types (read by everyone who sees interactions, changed with channels.manage; schema errors by
path on the schema's field) and customer events on the timeline (the type's name and its properties, escaped)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from cxloop.core import clock
from cxloop.events import services
from cxloop.events.models import EventType
from cxloop.events.types import CustomerRef, EventInput, EventTypeInput
from cxloop.privacy.models import AuditEntry
from tests.customers.factories import CustomerFactory

URL = "/settings/event-types/"


@pytest.fixture
def purchase(system) -> EventType:  # type: ignore[no-untyped-def]
    return services.create_event_type(
        system,
        EventTypeInput(
            key="purchase.completed",
            name="Purchase completed",
            properties_schema={"type": "object", "required": ["amount"]},
            show_on_timeline=True,
        ),
    )


def test_the_list_shows_each_type_with_its_events_of_the_last_30_days(web, charlie, purchase, system):
    customer = CustomerFactory()
    now = clock.now()
    services.ingest_events(
        system,
        [
            EventInput(f"e-{n}", "purchase.completed", CustomerRef(id=customer.public_id), when, {"amount": n})
            for n, when in enumerate([now, now - timedelta(days=3), now - timedelta(days=40)])
        ],
    )

    response = web(charlie).get(URL)

    html = response.content.decode()
    assert response.status_code == 200
    row = html.split("<code>purchase.completed</code>")[1].split("</tr>")[0]
    assert '<td class="num">2</td>' in row
    assert "<code>page.viewed</code>" in html
    assert "Register an event type" not in html  # analysts read, they do not register


def test_a_supervisor_registers_a_type_with_a_schema(web, bob):
    response = web(bob).post(
        URL,
        {
            "key": "plan.upgraded",
            "name": "Plan upgraded",
            "properties_schema": '{"type": "object", "properties": {"plan": {"type": "string"}}}',
            "show_on_timeline": "on",
            "is_active": "on",
        },
    )

    created = EventType.objects.get(key="plan.upgraded")
    assert response.status_code == 302
    assert (created.name, created.show_on_timeline, created.is_active) == ("Plan upgraded", True, True)
    assert created.properties_schema == {"type": "object", "properties": {"plan": {"type": "string"}}}
    assert AuditEntry.objects.filter(action="event_type.created", object_id="plan.upgraded").count() == 1


@pytest.mark.parametrize(
    ("schema", "shown"),
    [
        ('{"type": "object", "properties": {"a": {"minimum": "x"}}}', "properties.a.minimum: "),
        ('{"type": "nope"}', "type: "),
        ("{not json", "Not JSON: "),
        ("[1, 2]", "The schema must be a JSON object."),
    ],
)
def test_a_bad_schema_is_refused_with_the_path_on_the_schema_field(web, ada, schema, shown):
    response = web(ada).post(URL, {"key": "x.y", "name": "X", "properties_schema": schema, "is_active": "on"})

    html = response.content.decode()
    assert response.status_code == 422
    assert 'id="id_properties_schema_error"' in html
    assert shown in html.split('id="id_properties_schema_error"')[1]
    assert not EventType.objects.filter(key="x.y").exists()


def test_an_agent_may_read_but_not_change_a_type(web, alice, purchase):
    client = web(alice)

    page = client.get(f"{URL}purchase.completed/")
    refused = client.post(f"{URL}purchase.completed/", {"name": "Hacked", "is_active": "on"})

    assert page.status_code == 200
    assert "<form" not in page.content.decode().split("edit-type-title")[1]
    assert refused.status_code == 403
    assert EventType.objects.get(key="purchase.completed").name == "Purchase completed"


def test_editing_keeps_the_key_and_changes_the_rest(web, ada, purchase):
    response = web(ada).post(
        f"{URL}purchase.completed/",
        {"key": "something.else", "name": "Order paid", "properties_schema": "", "is_active": ""},
    )

    changed = EventType.objects.get(key="purchase.completed")
    assert response.status_code == 302
    assert (changed.name, changed.properties_schema, changed.show_on_timeline, changed.is_active) == (
        "Order paid",
        {},
        False,
        False,
    )
    assert not EventType.objects.filter(key="something.else").exists()


def test_an_unknown_type_is_404(web, ada):
    assert web(ada).get(f"{URL}no.such/").status_code == 404


def test_a_timeline_event_shows_the_types_name_and_its_properties_escaped(web, alice, purchase, system):
    customer = CustomerFactory()
    properties = {"amount": 12.5, "items": ["<b>shoe</b>"], "note": "<script>alert(1)</script>"}
    services.ingest_events(
        system, [EventInput("e-1", "purchase.completed", CustomerRef(id=customer.public_id), None, properties)]
    )

    html = web(alice).get(f"/customers/{customer.public_id}/").content.decode()

    item = html.split('class="tl-item tl-event')[1].split("</li>")[0]
    assert "Purchase completed" in item
    assert "<dt>amount</dt><dd>12.5</dd>" in item
    assert "<dt>items</dt><dd>[&quot;&lt;b&gt;shoe&lt;/b&gt;&quot;]</dd>" in item
    assert "<dt>note</dt><dd>&lt;script&gt;alert(1)&lt;/script&gt;</dd>" in item
    assert "<script>alert(1)" not in html


def test_the_customer_page_lists_the_latest_events_page_views_included(web, alice, system):
    customer = CustomerFactory()
    quiet = CustomerFactory()
    services.ingest_events(
        system,
        [
            EventInput(
                f"pv-{n}",
                "page.viewed",
                CustomerRef(id=customer.public_id),
                clock.now() - timedelta(minutes=n),
                {"url": f"https://shop.example.com/p/{n}", "title": "<i>Shoes</i>"},
            )
            for n in range(12)
        ],
    )

    html = web(alice).get(f"/customers/{customer.public_id}/").content.decode()
    empty = web(alice).get(f"/customers/{quiet.public_id}/").content.decode()

    panel = html.split('class="plain event-list"')[1].split("</ul>")[0]
    assert panel.count("<strong>Page viewed</strong>") == 10
    assert "<dt>url</dt><dd>https://shop.example.com/p/0</dd>" in panel
    assert "https://shop.example.com/p/11" not in panel
    assert "<dd>&lt;i&gt;Shoes&lt;/i&gt;</dd>" in panel
    assert "event-list" not in empty
