"""Reviewing merge suggestions, merging from a customer page, and undoing merges through the UI."""

from __future__ import annotations

import re

import pytest

from cxloop.customers import services as customer_services
from cxloop.customers.models import Customer, Merge, MergeSuggestion
from cxloop.interactions.models import Interaction
from tests.web.conftest import log_many, make_customer


@pytest.fixture
def suggestion(system, ann, bert) -> MergeSuggestion:
    found = customer_services.suggest_merge(
        system,
        ann,
        bert,
        probability=0.934,
        source="splink",
        evidence={"rule": "same name and phone", "name_similarity": 0.97},
    )
    assert found is not None
    return found


def test_suggestions_list_shows_probability_source_and_evidence(web, alice, suggestion):
    html = web(alice).get("/suggestions/").content.decode()

    assert "93%" in html
    assert "splink" in html
    assert "same name and phone" in html
    assert f'href="/suggestions/{suggestion.public_id}/"' in html


def test_suggestions_list_queries_stay_bounded(web, alice, system, django_assert_max_num_queries):
    for index in range(15):
        first = make_customer(system, f"Twin {index}", email=f"a{index}@example.com", tags=["t"])
        second = make_customer(system, f"Twin {index}", email=f"b{index}@example.com")
        customer_services.suggest_merge(system, first, second, probability=0.9, source="splink", evidence={})
    client = web(alice)

    # +2: the header counts my active cases and unread notifications

    with django_assert_max_num_queries(11):
        response = client.get("/suggestions/")

    assert response.status_code == 200
    assert response.content.decode().count("Compare<span") == 15


def test_compare_page_shows_both_profiles_side_by_side(web, bob, suggestion, ann, bert, system):
    log_many(system, bert, 3, channel="sms")

    html = web(bob).get(f"/suggestions/{suggestion.public_id}/").content.decode()

    assert "ann@example.com" in html
    assert "bert@example.com" in html
    assert "sms 3" in html
    assert "Merge, keep left" in html
    assert "Merge, keep right" in html
    assert "Not the same person" in html
    assert "&quot;name_similarity&quot;: 0.97" in html


def test_agents_see_the_comparison_but_cannot_decide(web, alice, suggestion, ann, bert):
    client = web(alice)

    html = client.get(f"/suggestions/{suggestion.public_id}/").content.decode()
    accept = client.post(f"/suggestions/{suggestion.public_id}/accept/", {"keep": "left"})
    dismiss = client.post(f"/suggestions/{suggestion.public_id}/dismiss/")

    assert "Merge, keep left" not in html
    assert (accept.status_code, dismiss.status_code) == (403, 403)
    suggestion.refresh_from_db()
    assert suggestion.status == "pending"
    assert not Merge.objects.exists()


def test_merge_keeping_right_then_undo_restores_both(web, bob, suggestion, ann, bert, system):
    ann_calls = log_many(system, ann, 2, channel="phone")
    client = web(bob)

    merged = client.post(f"/suggestions/{suggestion.public_id}/accept/", {"keep": "right"})

    merge = Merge.objects.get()
    assert merged.status_code == 302
    assert merged["Location"] == f"/merges/{merge.public_id}/"
    assert (merge.target, merge.source) == (bert, ann)
    ann.refresh_from_db()
    assert ann.status == "merged"
    assert ann.merged_into == bert
    assert set(bert.identities.values_list("value", flat=True)) >= {"ann@example.com", "+447700900123"}
    assert set(Interaction.objects.values_list("customer_id", flat=True)) == {bert.pk}
    done_page = client.get(merged["Location"]).content.decode()
    assert f'href="/customers/{bert.public_id}/"' in done_page
    assert "Undo</button>" in done_page

    undone = client.post(f"/merges/{merge.public_id}/undo/")

    assert undone.status_code == 302
    merge.refresh_from_db()
    ann.refresh_from_db()
    assert merge.is_undone
    assert ann.status == "active"
    assert ann.merged_into is None
    assert set(ann.identities.values_list("value", flat=True)) == {"ann@example.com", "+447700900123"}
    assert set(Interaction.objects.filter(pk__in=[c.pk for c in ann_calls]).values_list("customer_id", flat=True)) == {
        ann.pk
    }
    assert "Merge undone" in client.get(undone["Location"]).content.decode()


def test_not_the_same_person_dismisses_the_suggestion(web, bob, suggestion):
    response = web(bob).post(f"/suggestions/{suggestion.public_id}/dismiss/")

    assert response.status_code == 302
    assert response["Location"] == "/suggestions/"
    suggestion.refresh_from_db()
    assert suggestion.status == "dismissed"
    assert suggestion.decided_by == bob.user
    assert Customer.objects.filter(status="active").count() == 2


def test_deciding_twice_is_a_message_not_an_error(web, bob, suggestion):
    client = web(bob)
    client.post(f"/suggestions/{suggestion.public_id}/dismiss/")

    again = client.post(f"/suggestions/{suggestion.public_id}/accept/", {"keep": "left"}, follow=True)

    assert again.status_code == 200
    assert b"already dismissed" in again.content
    assert not Merge.objects.exists()


def test_accept_needs_a_side(web, bob, suggestion):
    response = web(bob).post(f"/suggestions/{suggestion.public_id}/accept/", {"keep": "both"})

    assert response.status_code == 422
    assert not Merge.objects.exists()


def test_merging_another_customer_into_this_one(web, bob, ann, system):
    twin = make_customer(system, "Ann Smyth", email="ann.smyth@example.com")
    client = web(bob)

    picked = client.get(f"/customers/{ann.public_id}/merge/", {"q": "ann"}).content.decode()
    compare_url = f"/customers/{ann.public_id}/merge/{twin.public_id}/"
    compared = client.get(compare_url)
    merged = client.post(compare_url, {"keep": "left"})

    assert f'href="{compare_url}"' in picked
    assert f"/customers/{ann.public_id}/merge/{ann.public_id}/" not in picked  # not itself
    assert compared.status_code == 200
    assert b"ann.smyth@example.com" in compared.content
    merge = Merge.objects.get()
    assert (merge.target, merge.source) == (ann, twin)
    assert merged["Location"] == f"/merges/{merge.public_id}/"


def test_merging_a_customer_already_merged_elsewhere_is_explained(web, bob, ann, bert, system):
    third = make_customer(system, "Third")
    customer_services.merge_customers(system, third, bert)

    response = web(bob).post(f"/customers/{ann.public_id}/merge/{bert.public_id}/", {"keep": "left"}, follow=True)

    assert response.status_code == 200
    assert b"already merged" in response.content
    assert Merge.objects.count() == 1


def test_agents_cannot_merge_or_undo(web, alice, ann, bert, system):
    merge = customer_services.merge_customers(system, ann, bert)
    client = web(alice)

    page = client.get(f"/customers/{ann.public_id}/").content.decode()
    pick = client.get(f"/customers/{ann.public_id}/merge/")
    undo = client.post(f"/merges/{merge.public_id}/undo/")

    assert "Merge another customer" not in page
    assert "Undo merge" not in page
    assert pick.status_code == 403
    assert undo.status_code == 403
    merge.refresh_from_db()
    assert not merge.is_undone


def test_merge_history_on_the_customer_page_offers_undo(web, bob, ann, bert, system):
    merge = customer_services.merge_customers(system, ann, bert)

    html = web(bob).get(f"/customers/{ann.public_id}/").content.decode()

    assert "Merge history" in html
    assert re.search(rf'action="/merges/{merge.public_id}/undo/"', html)
    assert "Merged in" in html
    assert "Bert Jones" in html
