"""/api/v1/promises: list with filters and cursor pages, make (a promise without a due time is refused), keep,
cancel, reschedule, the kept rate, and the customer's link; the outsider (charlie, an analyst) changes nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest

from cxloop.cases.models import Promise
from cxloop.cases.services import promises
from cxloop.core import clock
from cxloop.privacy.models import AuditEntry
from tests.cases.factories import CaseFactory
from tests.customers.factories import CustomerFactory


def _iso(delta: timedelta) -> str:
    return (clock.now() + delta).isoformat()


def _make(member, customer=None, due_in: timedelta = timedelta(hours=3), **kwargs) -> Promise:  # type: ignore[no-untyped-def]
    return promises.make_promise(
        member.actor,
        customer=customer or CustomerFactory(),
        description=kwargs.pop("description", "Call back"),
        due_at=clock.now() + due_in,
        **kwargs,
    )


def test_make_a_promise(api, alice):
    # given
    customer = CustomerFactory(name="Ann Lee")
    case = CaseFactory(customer=customer)
    due = _iso(timedelta(days=1))

    # when
    response = api.post(
        "/promises",
        alice,
        {
            "customer": customer.public_id,
            "description": "Refund within 5 days",
            "due_at": due,
            "channel": "email",
            "case": case.public_id,
        },
    )

    # then
    assert response.status_code == 201, response.content
    body = response.json()
    promise = Promise.objects.get()
    assert body["id"] == promise.public_id
    assert (body["customer"], body["customer_name"], body["case"]) == (customer.public_id, "Ann Lee", case.public_id)
    assert (body["owner"], body["made_by"], body["team"], body["channel"], body["status"]) == (
        "alice",
        "alice",
        alice.user.team_id,
        "email",
        "open",
    )
    assert body["was_missed"] is False


@pytest.mark.parametrize(
    ("change", "status", "fields"),
    [
        ({"due_at": None}, 422, {"due_at": "required"}),
        ({"due_at": "drop"}, 422, {"due_at": "required"}),
        ({"due_at": "2001-01-01T10:00:00Z"}, 422, {"due_at": "must be in the future"}),
        ({"due_at": "next friday"}, 422, None),
        ({"description": ""}, 422, {"description": "required"}),
        ({"customer": "cus_nobody"}, 422, {"customer": "unknown customer"}),
        ({"owner": "nobody"}, 422, {"owner": "unknown username"}),
        ({"case": "cas_nothing"}, 422, {"case": "unknown case"}),
        ({"channel": "fax"}, 422, None),
        ({"owner": "bob"}, 403, {}),  # an agent cannot make someone else's promise
    ],
)
def test_bad_promises_are_refused_with_the_field(api, alice, bob, change, status, fields):
    # given
    body = {"customer": CustomerFactory().public_id, "description": "Call back", "due_at": _iso(timedelta(days=1))}
    body.update(change)
    if change.get("due_at") == "drop":
        del body["due_at"]

    # when
    response = api.post("/promises", alice, body)

    # then
    assert response.status_code == status, response.content
    error = response.json()["error"]
    if fields is not None:
        assert error["fields"] == fields
    else:
        assert list(error["fields"]) == list(change)
    assert Promise.objects.count() == 0


def test_the_outsider_cannot_make_keep_cancel_or_move_a_promise(api, alice, charlie):
    # given
    promise = _make(alice)
    before = list(Promise.objects.values_list("pk", "status", "due_at"))

    # when
    made = api.post(
        "/promises",
        charlie,
        {"customer": promise.customer.public_id, "description": "x", "due_at": _iso(timedelta(days=1))},
    )
    kept = api.post(f"/promises/{promise.public_id}/keep", charlie, {})
    cancelled = api.post(f"/promises/{promise.public_id}/cancel", charlie, {"reason": "no"})
    moved = api.post(
        f"/promises/{promise.public_id}/reschedule", charlie, {"due_at": _iso(timedelta(days=2)), "reason": "x"}
    )
    link = api.get(f"/customers/{promise.customer.public_id}/promises-link", charlie)

    # then
    assert [r.status_code for r in (made, kept, cancelled, moved, link)] == [403] * 5
    assert {r.json()["error"]["code"] for r in (made, kept, cancelled, moved, link)} == {"permission_denied"}
    assert list(Promise.objects.values_list("pk", "status", "due_at")) == before
    assert (
        AuditEntry.objects.filter(action__in=["promise.kept", "promise.cancelled", "promise.link_issued"]).count() == 0
    )


def test_without_credentials_nothing_is_read(api, alice):
    promise = _make(alice)
    assert api.get("/promises").status_code == 401
    assert api.get(f"/promises/{promise.public_id}").status_code == 401
    assert api.get("/promises/kept-rate").status_code == 401


def test_keep_then_keep_again_is_a_conflict(api, alice, bob):
    promise = _make(alice)

    kept = api.post(f"/promises/{promise.public_id}/keep", bob, {"note": "Called her"})
    again = api.post(f"/promises/{promise.public_id}/keep", bob, {})

    assert kept.status_code == 200
    assert (kept.json()["status"], kept.json()["kept_by"], kept.json()["resolution_note"]) == (
        "kept",
        "bob",
        "Called her",
    )
    assert again.status_code == 409
    assert again.json()["error"] == {
        "code": "promise_closed",
        "message": "This promise is already kept.",
        "fields": {"status": "kept"},
    }


def test_cancel_needs_a_reason(api, alice):
    promise = _make(alice)

    missing = api.post(f"/promises/{promise.public_id}/cancel", alice, {})
    done = api.post(f"/promises/{promise.public_id}/cancel", alice, {"reason": "Customer withdrew"})

    assert missing.status_code == 422
    assert missing.json()["error"]["fields"] == {"reason": "required"}
    assert (done.status_code, done.json()["status"], done.json()["resolution_note"]) == (
        200,
        "cancelled",
        "Customer withdrew",
    )


def test_reschedule(api, alice):
    promise = _make(alice)
    new_due = clock.now() + timedelta(days=3)

    no_time = api.post(f"/promises/{promise.public_id}/reschedule", alice, {"reason": "Later"})
    moved = api.post(
        f"/promises/{promise.public_id}/reschedule", alice, {"due_at": new_due.isoformat(), "reason": "Later"}
    )

    assert no_time.status_code == 422
    assert no_time.json()["error"]["fields"] == {"due_at": "required"}
    assert moved.status_code == 200
    assert Promise.objects.get(pk=promise.pk).due_at == new_due


def test_unknown_promise_is_404(api, alice):
    assert api.get("/promises/prm_nothing", alice).status_code == 404
    assert api.post("/promises/prm_nothing/keep", alice, {}).status_code == 404


def test_list_filters_and_pages(api, alice, bob, charlie, django_assert_max_num_queries):
    # given
    ann, bo = CustomerFactory(), CustomerFactory()
    case = CaseFactory(customer=ann)
    first = _make(alice, ann, timedelta(hours=1), case=case)
    second = _make(alice, ann, timedelta(hours=2))
    third = _make(bob, bo, timedelta(hours=3))
    promises.keep_promise(alice.actor, _make(alice, bo, timedelta(hours=4)))

    # then: filters
    def ids(query: str, member=alice) -> list[str]:  # type: ignore[no-untyped-def]
        response = api.get(f"/promises{query}", member)
        assert response.status_code == 200, response.content
        return [item["id"] for item in response.json()["items"]]

    assert ids("?status=open") == [first.public_id, second.public_id, third.public_id]
    assert ids("?status=open&owner=me") == [first.public_id, second.public_id]
    assert ids("?owner=bob") == [third.public_id]
    assert ids(f"?customer={ann.public_id}") == [first.public_id, second.public_id]
    assert ids(f"?case={case.public_id}") == [first.public_id]
    due_before = (clock.now() + timedelta(hours=2, minutes=30)).isoformat().replace("+", "%2B")
    assert ids(f"?status=open&due_before={due_before}") == [first.public_id, second.public_id]
    assert ids("?status=open", member=charlie) == [first.public_id, second.public_id, third.public_id]

    # and pages: two at a time, in few queries
    with django_assert_max_num_queries(6):
        page1 = api.get("/promises?status=open&limit=2", alice).json()
    page2 = api.get(f"/promises?status=open&limit=2&cursor={page1['next_cursor']}", alice).json()
    assert [i["id"] for i in page1["items"] + page2["items"]] == [first.public_id, second.public_id, third.public_id]
    assert page2["next_cursor"] is None

    # and bad filters
    bad = api.get("/promises?status=late", alice)
    assert (bad.status_code, bad.json()["error"]["fields"]) == (422, {"status": "among open, kept, missed, cancelled"})
    assert api.get("/promises?cursor=zzz", alice).json()["error"]["fields"] == {"cursor": "malformed cursor"}


def test_kept_rate(api, alice, bob, charlie):
    customer = CustomerFactory()
    promises.keep_promise(alice.actor, _make(alice, customer))
    _make(alice, customer, timedelta(minutes=1))
    promises.sweep_promises(at=clock.now() + timedelta(minutes=2))

    by_owner = api.get("/promises/kept-rate", charlie)
    by_team = api.get("/promises/kept-rate?by=team", charlie)
    bad = api.get("/promises/kept-rate?by=planet", charlie)

    assert by_owner.status_code == 200
    assert by_owner.json() == [
        {
            "key": "alice",
            "label": "alice",
            "kept_on_time": 1,
            "kept_late": 0,
            "missed": 1,
            "open": 0,
            "total": 2,
            "rate": 0.5,
        }
    ]
    assert [(r["label"], r["rate"]) for r in by_team.json()] == [("Team A", 0.5)]
    assert (bad.status_code, bad.json()["error"]["fields"]) == (422, {"by": "one of owner, team"})


def test_the_customers_link(api, alice, settings):
    settings.CXLOOP_BASE_URL = "https://cx.example.com"
    customer = CustomerFactory()

    response = api.get(f"/customers/{customer.public_id}/promises-link", alice)

    assert response.status_code == 200
    body = response.json()
    assert body["url"].startswith("https://cx.example.com/p/promises/")
    assert body["expires_in_days"] == 90
    token = body["url"].removeprefix("https://cx.example.com/p/promises/").rstrip("/")
    assert promises.customer_for_promises_token(token) == customer
    assert AuditEntry.objects.filter(action="promise.link_issued", actor_label__startswith="alice").count() == 1
