"""insert_rows stores what bulk_create stores, and leaves the objects as bulk_create does."""

from __future__ import annotations

import gc
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from django.db import connections
from hypothesis import given, settings
from hypothesis import strategies as st

from cxloop.core.bulk import (
    _converter,
    collector_paused,
    insert_groups,
    insert_rows,
    load_objects,
    loaded_objects,
    new_object,
    select_values,
    select_with_related,
    stamp_values,
    update_rows,
    update_values,
)
from cxloop.core.ids import new_public_id
from cxloop.customers.models import Customer, Identity, MergeSuggestion
from cxloop.interactions.models import Interaction, Thread

WHEN = datetime(2026, 3, 1, 12, 30, 15, 123456, tzinfo=UTC)


def _interaction(customer: Customer, n: int) -> Interaction:
    return Interaction(
        customer=customer,
        channel="email",
        direction="inbound",
        occurred_at=WHEN,
        summary=f"summary {n} – ünïcode",
        body="body\nwith lines",
        metadata={"n": n, "nested": {"list": [1, "two", None, True]}},
        sentiment=0.25 if n % 2 else None,
    )


def _stored(pks: list[int]) -> list[dict[str, object]]:
    rows = Interaction.objects.filter(pk__in=pks).order_by("pk").values()
    return [{k: v for k, v in row.items() if k not in {"id", "public_id", "created_at", "updated_at"}} for row in rows]


def test_rows_match_bulk_create(db):
    # given: customers saved by insert_rows itself, then interactions pointing at them
    customers = [Customer(name=f"C{n}") for n in range(3)]
    insert_rows(customers)

    # when
    ours = insert_rows([_interaction(customers[n % 3], n) for n in range(130)])
    twins = [_interaction(customers[n % 3], n) for n in range(130)]
    for twin in twins:
        twin.public_id = new_public_id("int")  # bulk_create does not call save(), which would assign it
    theirs = Interaction.objects.bulk_create(twins)

    # then
    assert all(c.pk is not None and c.public_id.startswith("cus_") for c in customers)
    assert all(i.pk is not None and not i._state.adding for i in ours)
    assert _stored([i.pk for i in ours]) == _stored([i.pk for i in theirs])
    assert [i.public_id for i in ours] == list(
        Interaction.objects.filter(pk__in=[i.pk for i in ours]).order_by("pk").values_list("public_id", flat=True)
    )
    first = Interaction.objects.get(pk=ours[0].pk)
    assert first.occurred_at == WHEN
    assert first.created_at is not None
    assert first.updated_at is not None


def test_keeps_given_public_ids(db):
    given = new_public_id("cus")

    insert_rows([Customer(public_id=given, name="Given")])

    assert Customer.objects.get(public_id=given).name == "Given"


def test_refuses_an_unsaved_related_object(db):
    with pytest.raises(ValueError, match="not saved yet"):
        insert_rows([Identity(customer=Customer(name="unsaved"), kind="email", value="a@b.c", match_value="a@b.c")])

    assert Identity.objects.count() == 0


def test_public_ids_use_the_whole_alphabet_evenly():
    ids = [new_public_id("int") for _ in range(4000)]

    letters = "".join(i.removeprefix("int_") for i in ids)
    assert len(set(ids)) == 4000
    assert all(len(i) == 20 for i in ids)
    assert set(letters) == set("0123456789abcdefghjkmnpqrstvwxyz")
    assert max(letters.count(ch) for ch in set(letters)) < 1.3 * len(letters) / 32


def test_values_match_the_orm(alice):
    # given: the same audit entry written by record_audit (one ORM create) and by record_audits (insert_values)
    from cxloop.privacy.models import AuditEntry
    from cxloop.privacy.services import AuditRecord, record_audit, record_audits

    entry = {
        "object_type": "customer",
        "object_id": "cus_1",
        "summary": "x" * 400,
        "before": None,
        "after": {"a": [1, "ü", None]},
    }
    actor = alice.actor.__class__.for_user(alice.user, via="api", ip_address="192.0.2.7")

    before = AuditEntry.objects.count()

    # when
    record_audit(actor, "thing.done", **entry)
    written = record_audits(actor, [AuditRecord("thing.done", **entry), AuditRecord("other.done", "customer", "c2")])

    # then
    rows = list(AuditEntry.objects.order_by("id").values())[before:]
    for row in rows:
        row.pop("id")
        row.pop("occurred_at")
    assert written == 2
    assert rows[0] == rows[1]
    assert rows[1]["summary"] == "x" * 300
    assert rows[1]["ip_address"] == "192.0.2.7"
    assert rows[1]["actor_user_id"] == alice.user.pk
    assert rows[2]["before"] is None
    assert rows[2]["after"] is None


def test_update_rows_and_values_write_what_they_are_given(db):
    # given
    customers = list(insert_rows([Customer(name=f"C{n}", country="GB") for n in range(3)]))
    stamp = Customer.objects.get(pk=customers[0].pk).updated_at
    customers[0].name, customers[1].name = "Zed", "Yan"
    customers[0].country = "FR"  # not in the update: stays GB

    # when
    update_rows(customers[:2], ["name", "updated_at"])
    update_values(Customer, [customers[1].pk, customers[2].pk], lifecycle_stage="loyal", attributes={"vip": True})

    # then
    rows = {c.pk: c for c in Customer.objects.all()}
    first, second, third = (rows[c.pk] for c in customers)
    assert (first.name, first.country, first.lifecycle_stage) == ("Zed", "GB", "lead")
    assert (second.name, second.lifecycle_stage, second.attributes) == ("Yan", "loyal", {"vip": True})
    assert (third.name, third.lifecycle_stage) == ("C2", "loyal")
    assert first.updated_at > stamp


def test_stamp_values_writes_only_empty_or_older_stamps(db):
    # given: a customer with four identities last seen never, long ago, just before the limit, just after it
    customer = insert_rows([Customer(name="C", country="GB")])[0]
    since = WHEN - timedelta(minutes=10)
    stamps = [None, WHEN - timedelta(days=40), since - timedelta(microseconds=1), since, since + timedelta(seconds=1)]
    identities = insert_rows(
        [
            Identity(
                customer=customer, kind="external", network="x", value=f"v{n}", match_value=f"v{n}", last_seen_at=at
            )
            for n, at in enumerate(stamps)
        ]
    )
    other = insert_rows([Identity(customer=customer, kind="external", network="x", value="o", match_value="o")])[0]

    # when
    written = stamp_values(Identity, [i.pk for i in identities], "last_seen_at", WHEN, since=since)

    # then: the empty and the older ones took the new stamp; the others and the row not asked for kept theirs
    after = dict(Identity.objects.values_list("pk", "last_seen_at"))
    assert written == 3
    assert [after[i.pk] for i in identities] == [WHEN, WHEN, WHEN, since, since + timedelta(seconds=1)]
    assert after[other.pk] is None
    assert stamp_values(Identity, [], "last_seen_at", WHEN, since=since) == 0


def _as_built(obj: object) -> tuple[dict[str, object], dict[str, object], dict[str, object]]:
    """An object's field values, its state and the related objects it holds, as __init__ leaves them."""
    data = {k: v for k, v in vars(obj).items() if k != "_state"}
    state = obj._state  # type: ignore[attr-defined]
    return data, {"adding": state.adding, "db": state.db}, dict(state.fields_cache)


def test_new_object_is_what_init_makes(db):
    # given: a saved customer, an unsaved one, and every kind of keyword (field, foreign key by object, by id)
    saved = insert_rows([Customer(name="Saved")])[0]
    unsaved = Customer(name="Unsaved")
    cases = [
        (Customer, {}),
        (Customer, {"public_id": "cus_x", "name": "N", "search_name": "n", "country": "GB"}),
        (Interaction, {"customer": saved, "thread": None, "channel": "sms", "occurred_at": WHEN, "metadata": {}}),
        (Interaction, {"customer": unsaved, "created_by": None, "body": "b"}),
        (Thread, {"customer_id": saved.pk, "channel": "email", "external_ref": "r", "last_activity_at": WHEN}),
        (Identity, {"customer": saved, "kind": "email", "value": "a@b.c", "match_value": "a@b.c", "is_verified": True}),
    ]

    for model, values in cases:
        # when
        ours, theirs = new_object(model, **values), model(**values)

        # then
        assert type(ours) is model
        assert _as_built(ours) == _as_built(theirs)


def test_new_object_gives_each_object_its_own_defaults():
    first, second = new_object(Interaction), new_object(Interaction)

    first.metadata["k"] = 1
    first.themes.append("x")

    assert (second.metadata, second.themes) == ({}, [])


def test_new_object_refuses_unknown_fields():
    with pytest.raises(TypeError, match="unexpected field 'colour'"):
        new_object(Customer, colour="red")


def test_new_object_is_saved_by_insert_rows_with_its_related_object(db):
    # given: the customer is saved after the identity was built, as batch resolution does
    customer = new_object(Customer, name="Later")
    identity = new_object(Identity, customer=customer, kind="email", value="l@x.com", match_value="l@x.com")

    # when
    insert_rows([customer])
    insert_rows([identity])

    # then
    stored = Identity.objects.select_related("customer").get(pk=identity.pk)
    assert stored.customer.name == "Later"
    assert stored.public_id == identity.public_id


def test_loaded_objects_are_what_only_gives(db, django_assert_num_queries):
    # given
    customers = insert_rows([Customer(name=f"C{n}", country="GB", attributes={"n": n}) for n in range(3)])
    names = ["id", "public_id", "name", "status", "merged_into_id"]
    found = Customer.objects.filter(pk__in=[c.pk for c in customers]).order_by("pk")

    # when
    ours = loaded_objects(Customer, names, found.values_list(*names), using=found.db)

    # then: the same loaded fields and state; the others are deferred and read on access
    theirs = list(found.only(*names))
    assert [_as_built(o) for o in ours] == [_as_built(t) for t in theirs]
    assert [o.get_deferred_fields() for o in ours] == [t.get_deferred_fields() for t in theirs]
    with django_assert_num_queries(1):
        assert ours[2].attributes == {"n": 2}


def test_select_values_is_what_values_list_gives(db):
    # given: rows with booleans and timestamps (converted on SQLite) and JSON (converted everywhere)
    customers = insert_rows([Customer(name=f"C{n}") for n in range(4)])
    identities = insert_rows(
        [
            Identity(customer=c, kind="email", value=f"c{n}@x.com", match_value=f"c{n}@x.com", is_verified=n % 2 == 0)
            for n, c in enumerate(customers)
        ]
    )
    threads = insert_rows(
        [
            Thread(customer=c, channel="email", external_ref=f"t{n % 2}", last_activity_at=WHEN)
            for n, c in enumerate(customers)
        ]
    )
    insert_rows(
        [MergeSuggestion(customer_a=customers[0], customer_b=customers[1], probability=0.9, evidence={"a": [1]})]
    )
    identity_names = ["id", "public_id", "customer_id", "value", "is_verified", "last_seen_at"]
    thread_names = ["id", "customer_id", "external_ref", "last_activity_at", "last_inbound_at", "status"]
    suggestion_names = [f.attname for f in MergeSuggestion._meta.concrete_fields]
    wanted = [customers[3].pk, customers[0].pk, customers[2].pk]

    # when
    ours = {
        "identities": select_values(
            Identity, identity_names, order_by_pk=True, kind="email", value__in={"c0@x.com", "c1@x.com", "c3@x.com"}
        ),
        "threads": select_values(
            Thread, thread_names, order_by_pk=True, customer_id__in=wanted, external_ref__in=("t0", "t9")
        ),
        "suggestions": select_values(MergeSuggestion, suggestion_names, customer_a_id__in=wanted),
        "all_threads": sorted(select_values(Thread, ["id", "external_ref"])),
    }

    # then
    theirs = {
        "identities": list(
            Identity.objects.filter(kind="email", value__in=["c0@x.com", "c1@x.com", "c3@x.com"])
            .order_by("pk")
            .values_list(*identity_names)
        ),
        "threads": list(
            Thread.objects.filter(customer_id__in=wanted, external_ref__in=["t0", "t9"])
            .order_by("pk")
            .values_list(*thread_names)
        ),
        "suggestions": list(MergeSuggestion.objects.filter(customer_a_id__in=wanted).values_list(*suggestion_names)),
        "all_threads": sorted(Thread.objects.values_list("id", "external_ref")),
    }
    assert ours == theirs
    assert [row[4] for row in ours["identities"]] == [True, False, False]
    assert [row[0] for row in ours["threads"]] == [threads[0].pk, threads[2].pk]
    assert ours["threads"][0][3] == WHEN
    assert ours["suggestions"][0][suggestion_names.index("evidence")] == {"a": [1]}
    assert identities[1].pk == ours["identities"][1][0]


def test_select_with_related_is_what_values_list_across_the_key_gives(db, django_assert_num_queries):
    # given: identities (a boolean, converted on SQLite) of customers (a timestamp and JSON, converted too); the
    # condition names a column both tables have ("id")
    customers = insert_rows([Customer(name=f"C{n}", attributes={"n": n}) for n in range(3)])
    identities = insert_rows(
        [
            Identity(customer=c, kind="email", value=f"c{n}@x.com", match_value=f"c{n}@x.com", is_verified=n == 1)
            for n, c in enumerate([*customers, customers[0]])
        ]
    )
    names = ["id", "customer_id", "value", "is_verified"]
    related_names = ["id", "public_id", "name", "attributes", "created_at"]
    wanted = [identities[3].pk, identities[1].pk, identities[0].pk]

    # when
    with django_assert_num_queries(1):
        ours = select_with_related(Identity, names, "customer", related_names, id__in=wanted, kind="email")

    # then
    theirs = Identity.objects.filter(id__in=wanted, kind="email").values_list(
        *names, *(f"customer__{name}" for name in related_names)
    )
    assert sorted(ours) == sorted((row[:4], row[4:]) for row in theirs)
    assert sorted(ours)[0] == (
        (identities[0].pk, customers[0].pk, "c0@x.com", False),
        (customers[0].pk, customers[0].public_id, "C0", {"n": 0}, customers[0].created_at),
    )
    assert select_with_related(Identity, names, "customer", related_names, id__in=[]) == []
    with pytest.raises(TypeError):
        select_with_related(Identity, names, "kind", related_names, id__in=wanted)


def test_select_values_reads_nothing_for_an_empty_list(db, django_assert_num_queries):
    with django_assert_num_queries(0):
        assert select_values(Customer, ["id"], id__in=[]) == []


@pytest.mark.parametrize(
    "conditions",
    [{"name": None}, {"name__in": "abc"}, {"name__startswith": "a"}, {"attributes": {}}, {"nope": 1}],
    ids=["null", "string-as-list", "other-lookup", "json-column", "unknown-column"],
)
def test_select_values_refuses_conditions_it_cannot_express(db, conditions):
    with pytest.raises(TypeError):
        select_values(Customer, ["id"], **conditions)


def test_load_objects_are_what_only_gives(db, django_assert_num_queries):
    # given
    customers = insert_rows([Customer(name=f"C{n}", attributes={"n": n}) for n in range(3)])
    names = ["id", "public_id", "name", "status"]

    # when
    ours = load_objects(Customer, names, order_by_pk=True, id__in=[c.pk for c in customers[1:]])

    # then: the fields asked for are loaded; the others are read on access
    theirs = list(Customer.objects.filter(pk__in=[c.pk for c in customers[1:]]).order_by("pk").only(*names))
    assert [_as_built(o) for o in ours] == [_as_built(t) for t in theirs]
    assert [o.get_deferred_fields() for o in ours] == [t.get_deferred_fields() for t in theirs]
    with django_assert_num_queries(1):
        assert ours[0].attributes == {"n": 1}


def _keys_by_public_id(objs: list[Customer]) -> dict[str, int]:
    return dict(Customer.objects.filter(pk__in=[c.pk for c in objs]).values_list("public_id", "pk"))


def test_keys_are_the_rows_keys_after_the_newest_row_was_deleted(db):
    # given: the table's largest key is gone, so the next key is not the largest + 1 everywhere
    first = insert_rows([Customer(name=f"A{n}") for n in range(3)])
    Customer.objects.filter(pk=first[-1].pk).delete()

    # when
    second = insert_rows([Customer(name=f"B{n}") for n in range(600)])

    # then
    assert {c.public_id: c.pk for c in second} == _keys_by_public_id(list(second))
    assert Customer.objects.filter(name__startswith="B").count() == 600


@pytest.mark.django_db(transaction=True)
def test_keys_are_the_rows_keys_outside_a_transaction():
    # when: no transaction around the call (each statement commits on its own)
    customers = insert_rows([Customer(name=f"C{n}") for n in range(600)])

    # then
    assert {c.public_id: c.pk for c in customers} == _keys_by_public_id(list(customers))


def test_collector_is_off_in_a_paused_block_and_on_again_after_the_last_one():
    assert gc.isenabled()
    with collector_paused():
        assert not gc.isenabled()
        with collector_paused():  # a batch inside a batch
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()


def test_collector_is_on_again_after_an_error():
    with pytest.raises(ZeroDivisionError), collector_paused():
        _ = 1 / 0
    assert gc.isenabled()


def test_collector_turned_off_by_the_application_stays_off():
    gc.disable()
    try:
        with collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()


@settings(max_examples=300, deadline=None)
@given(
    moment=st.datetimes(
        min_value=datetime(1, 1, 2),  # noqa: DTZ001 (hypothesis's bounds are naive; the zone comes from timezones)
        max_value=datetime(9999, 12, 30),  # noqa: DTZ001
        timezones=st.sampled_from([UTC, timezone(timedelta(hours=5, minutes=30)), ZoneInfo("America/New_York")]),
    )
)
def test_timestamps_are_written_as_the_backend_adapts_them(moment):
    # given: the conversion insert_rows uses for a timestamp column, and the backend's own
    connection = connections["default"]
    field = Interaction._meta.get_field("occurred_at")

    # when / then (UTC values on SQLite take a shortcut; the text must be the same)
    assert _converter(field, connection)(moment) == connection.ops.adapt_datetimefield_value(moment)


def test_groups_are_inserted_in_order_with_keys_taken_at_once(db, django_assert_max_num_queries):
    # given: identities and a suggestion pointing at customers that are not saved yet
    customers = [new_object(Customer, name=f"G{n}") for n in range(3)]
    identities = [
        new_object(Identity, customer=c, kind="email", value=f"g{n}@x.com", match_value=f"g{n}@x.com")
        for n, c in enumerate(customers)
    ]
    suggestion = new_object(MergeSuggestion, customer_a=customers[0], customer_b=customers[2], probability=0.9)

    # when: on PostgreSQL one statement for the keys (the COPYs are not statements); elsewhere insert_rows' own
    with django_assert_max_num_queries(1 if connections["default"].vendor == "postgresql" else 6):
        insert_groups([customers, [], identities, [suggestion]])

    # then
    stored = {i.public_id: (i.pk, i.customer.public_id) for i in Identity.objects.select_related("customer")}
    assert stored == {i.public_id: (i.pk, c.public_id) for i, c in zip(identities, customers, strict=True)}
    assert {c.public_id: c.pk for c in customers} == _keys_by_public_id(customers)
    saved = MergeSuggestion.objects.get()
    assert (saved.pk, saved.customer_a_id, saved.customer_b_id) == (suggestion.pk, customers[0].pk, customers[2].pk)
