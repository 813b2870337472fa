"""/api/v1/feedback/loops and /api/v1/feedback/loop-rules: what integrators see and can do."""

from __future__ import annotations

from datetime import timedelta

import pytest

from cxloop.core import clock
from cxloop.core.actor import Actor
from cxloop.feedback.models import Loop, LoopRule
from cxloop.feedback.services import loops
from tests.customers.factories import CustomerFactory
from tests.feedback.loop_helpers import answer

pytestmark = pytest.mark.django_db

ANGRY = "Nobody called me back. I am furious."


@pytest.fixture
def loop(alice):  # type: ignore[no-untyped-def]
    customer = CustomerFactory(name="Ann Lee")
    response = answer(customer, score=2, comment=ANGRY, sentiment=-0.8, emotion="anger", agent=alice.user)
    opened = loops.open_loop(Actor.system("test"), response, at=clock.now() - timedelta(hours=5))
    assert opened is not None
    return opened


def test_a_follow_up_shows_the_answer_it_follows_up(api, loop, charlie):  # type: ignore[no-untyped-def]
    body = api.get(f"/feedback/loops/{loop.public_id}", charlie).json()

    assert body["id"] == loop.public_id
    assert (body["state"], body["owner"], body["customer_name"], body["case"]) == (
        "open",
        "alice",
        "Ann Lee",
        loop.case_ref,
    )
    assert body["rule"] == "NPS detractor (≤ 6)"
    assert body["answer"] == {
        "id": loop.response.public_id,
        "survey": "nps-after-case",
        "kind": "nps",
        "score": 2,
        "comment": ANGRY,
        "sentiment": -0.8,
        "sentiment_label": "negative",
        "emotion": "anger",
        "submitted_at": body["answer"]["submitted_at"],
    }
    assert 4.99 <= body["hours_open"] <= 5.1


def test_contact_then_close_with_an_outcome(api, loop, alice):  # type: ignore[no-untyped-def]
    contacted = api.post(f"/feedback/loops/{loop.public_id}/contact", alice, {})
    closed = api.post(
        f"/feedback/loops/{loop.public_id}/close", alice, {"outcome": "recovered", "note": "Refund sent, she is happy"}
    )
    again = api.post(f"/feedback/loops/{loop.public_id}/close", alice, {"outcome": "partly"})

    assert contacted.status_code == 200
    assert contacted.json()["state"] == "contacted"
    assert closed.status_code == 200
    assert (closed.json()["state"], closed.json()["outcome"], closed.json()["closed_by"]) == (
        "resolved",
        "recovered",
        "alice",
    )
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "loop_closed"
    assert Loop.objects.get(pk=loop.pk).outcome == "recovered"


def test_a_bad_outcome_is_a_422_on_its_field(api, loop, alice):  # type: ignore[no-untyped-def]
    response = api.post(f"/feedback/loops/{loop.public_id}/close", alice, {"outcome": "happy"})

    assert response.status_code == 422
    assert response.json()["error"]["fields"] == {
        "outcome": "must be one of recovered, partly, not_recovered, no_response"
    }
    assert Loop.objects.get(pk=loop.pk).state == "open"


def test_an_analyst_reads_but_cannot_close(api, loop, charlie):  # type: ignore[no-untyped-def]
    listed = api.get("/feedback/loops", charlie)
    refused = api.post(f"/feedback/loops/{loop.public_id}/close", charlie, {"outcome": "recovered"})

    assert [item["id"] for item in listed.json()["items"]] == [loop.public_id]
    assert refused.status_code == 403
    assert Loop.objects.get(pk=loop.pk).state == "open"


def test_the_list_filters_and_refuses_unknown_filters(api, loop, bob):  # type: ignore[no-untyped-def]
    mine = api.get("/feedback/loops?owner=alice&age=lt24", bob).json()
    nobody = api.get("/feedback/loops?owner=bob", bob).json()
    bad = api.get("/feedback/loops?state=finished", bob)

    assert [item["id"] for item in mine["items"]] == [loop.public_id]
    assert nobody == {"items": [], "next_cursor": None}
    assert bad.status_code == 422
    assert list(bad.json()["error"]["fields"]) == ["state"]


def test_an_unknown_follow_up_is_a_404(api, bob):  # type: ignore[no-untyped-def]
    response = api.get("/feedback/loops/lop_nothing", bob)

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_the_metrics(api, loop, alice, bob):  # type: ignore[no-untyped-def]
    loops.close_loop(alice.actor, loop, outcome="partly")

    body = api.get("/feedback/loops/metrics?within_hours=4", bob).json()
    default = api.get("/feedback/loops/metrics", bob).json()

    assert (body["opened"], body["closed"], body["closed_within"], body["closed_within_share"]) == (1, 1, 0, 0.0)
    assert (default["within_hours"], default["closed_within"], default["closed_within_share"]) == (48, 1, 1.0)
    assert 4.99 <= default["median_hours_to_close"] <= 5.1
    assert default["outcomes"] == {"recovered": 0, "partly": 1, "not_recovered": 0, "no_response": 0}
    assert (default["open_now"], default["open_by_owner"]) == (0, [])
    assert api.get("/feedback/loops/metrics?within_hours=0", bob).json()["error"]["fields"] == {
        "within_hours": "a whole number of hours from 1 to 2160"
    }


def test_rules_are_added_changed_reordered_and_deleted(api, bob):  # type: ignore[no-untyped-def]
    created = api.post(
        "/feedback/loop-rules",
        bob,
        {"name": "Low CES", "conditions": {"kinds": ["ces"], "score_at_most": 2}, "owner": "bob", "priority": "urgent"},
    )
    rule_id = created.json()["id"]
    changed = api.patch(f"/feedback/loop-rules/{rule_id}", bob, {"owner": None, "is_active": False})
    order = [
        rule_id,
        *LoopRule.objects.exclude(public_id=rule_id).order_by("position").values_list("public_id", flat=True),
    ]
    reordered = api._call("put", "/feedback/loop-rules/order", bob, {"ids": order})
    deleted = api.delete(f"/feedback/loop-rules/{rule_id}", bob)

    assert created.status_code == 201
    assert (created.json()["position"], created.json()["owner"], created.json()["priority"]) == (4, "bob", "urgent")
    assert (changed.json()["owner"], changed.json()["is_active"], changed.json()["priority"]) == (None, False, "urgent")
    assert [rule["id"] for rule in reordered.json()] == order
    assert deleted.status_code == 204
    assert not LoopRule.objects.filter(public_id=rule_id).exists()


def test_bad_rules_are_422_with_the_field_path(api, bob):  # type: ignore[no-untyped-def]
    bad_score = api.post("/feedback/loop-rules", bob, {"name": "X", "conditions": {"score_at_most": 12}})
    bad_owner = api.post("/feedback/loop-rules", bob, {"name": "X", "conditions": {"score_at_most": 1}, "owner": "zed"})

    assert bad_score.status_code == 422
    assert bad_score.json()["error"]["fields"] == {"conditions.score_at_most": "a whole number from 0 to 10"}
    assert bad_owner.json()["error"]["fields"] == {"owner": "unknown username"}
    assert LoopRule.objects.count() == 3


def test_agents_read_rules_but_cannot_change_them(api, alice):  # type: ignore[no-untyped-def]
    listed = api.get("/feedback/loop-rules", alice)
    refused = api.post("/feedback/loop-rules", alice, {"name": "Mine", "conditions": {"score_at_most": 1}})

    assert [rule["name"] for rule in listed.json()] == [
        "NPS detractor (≤ 6)",
        "CSAT ≤ 2",
        "Angry comment (anger, sentiment < −0.5)",
    ]
    assert refused.status_code == 403
    assert LoopRule.objects.count() == 3


def test_metrics_periods_in_any_offset_or_at_the_edge_of_time_are_answered(api, bob):  # type: ignore[no-untyped-def]
    far_offset = api.get("/feedback/loops/metrics?until=0750-05-22T18:58:04-23:37", bob)
    year_one = api.get("/feedback/loops/metrics?until=0001-01-02T00:00:00Z", bob)

    assert (far_offset.status_code, far_offset.json()["opened"]) == (200, 0)
    assert (year_one.status_code, year_one.json()["error"]["fields"]) == (422, {"until": clock.OUT_OF_RANGE})
