"""The staff UI in a real Chromium: login, search, the customer page, logging, merging and undoing.

Each test also proves (in the `page` fixture) that the browser fetched nothing but 127.0.0.1.
"""

from __future__ import annotations

import re
from pathlib import Path

import axe_playwright_python
import pytest

from cxloop.customers import services as customer_services
from cxloop.customers.models import Customer, Merge, MergeSuggestion
from cxloop.interactions.models import Interaction
from tests.web.conftest import log_many, make_customer

pytestmark = pytest.mark.browser

AXE_JS = Path(axe_playwright_python.__file__).with_name("axe.min.js")


def serious_accessibility_violations(page) -> list[str]:  # type: ignore[no-untyped-def]
    """axe-core's serious and critical findings on the current page (the script is inlined, not fetched)."""
    page.add_script_tag(path=str(AXE_JS))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']]}"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def test_login_refuses_a_wrong_password_and_lands_home_with_the_right_one(page, alice):
    page.goto("/")
    assert "/login/" in page.url

    page.fill("#id_username", "alice")
    page.fill("#id_password", "wrong")
    page.click("button[type=submit]")
    assert page.get_by_role("alert").inner_text().startswith("Your username and password did not match")

    page.fill("#id_password", "alice-pass-123")
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/$"))
    assert page.locator("h1").inner_text() == "Welcome, alice"


def test_login_page_has_no_serious_accessibility_violations(page, db):
    page.goto("/login/")

    assert serious_accessibility_violations(page) == []


def test_type_ahead_search_with_the_keyboard_opens_the_customer(page, login_as, alice, system):
    ann = make_customer(system, "Ann Smith", email="ann@example.com")
    make_customer(system, "Annabel Lee", email="annabel@example.com")
    make_customer(system, "Bert Jones", email="bert@example.com")
    login_as(alice)
    page.goto("/")

    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.id") == "global-search"
    page.keyboard.type("ann")
    options = page.locator("#search-results [role=option]")
    options.first.wait_for()
    assert options.count() == 2
    assert page.get_attribute("#global-search", "aria-expanded") == "true"
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowUp")
    assert page.get_attribute("#global-search", "aria-activedescendant") == "search-opt-1"
    page.keyboard.press("Enter")

    page.wait_for_url(f"**/customers/{ann.public_id}/")
    assert page.locator("h1").inner_text() == "Ann Smith"


def test_search_by_email_shows_the_match(page, login_as, alice, system):
    bert = make_customer(system, "Bert Jones", email="bert@example.com")
    login_as(alice)
    page.goto("/customers/")

    page.fill("#global-search", "bert@example.com")
    page.locator("#search-results [role=option]").first.click()

    page.wait_for_url(f"**/customers/{bert.public_id}/")


def test_customer_page_shows_identities_timeline_and_loads_more(page, login_as, charlie, system):
    ann = make_customer(system, "Ann Smith", email="ann@example.com", phone="+447700900123")
    log_many(system, ann, 22, channel="email")
    log_many(system, ann, 3, channel="phone")
    login_as(charlie)
    page.goto(f"/customers/{ann.public_id}/")

    identities = page.locator("#identities .identity-value")
    assert identities.all_inner_texts() == ["ann@example.com", "+447700900123"]
    items = page.locator("#timeline-items .tl-item")
    assert items.count() == 20
    page.get_by_role("link", name="Load more").click()
    page.wait_for_function("document.querySelectorAll('#timeline-items .tl-item').length === 25")
    assert page.get_by_role("link", name="Load more").count() == 0

    page.select_option("#id_channel", "phone")
    page.wait_for_function("document.querySelectorAll('#timeline-items .tl-item').length === 3")
    assert page.locator("#timeline-items .badge-channel").all_inner_texts() == ["Phone call"] * 3


def test_customer_page_has_no_serious_accessibility_violations(page, login_as, bob, system):
    customer_services.define_attribute(system, key="tier", label="Tier", type="choice", choices=["gold", "silver"])
    ann = make_customer(system, "Ann Smith", email="ann@example.com", tags=["vip"], attributes={"tier": "gold"})
    bert = make_customer(system, "Bert Jones", email="bert@example.com")
    log_many(system, ann, 25)
    customer_services.merge_customers(system, ann, bert)
    login_as(bob)
    page.goto(f"/customers/{ann.public_id}/")

    assert serious_accessibility_violations(page) == []


def test_profile_edits_in_place(page, login_as, alice, system):
    ann = make_customer(system, "Ann Smith", email="ann@example.com")
    login_as(alice)
    page.goto(f"/customers/{ann.public_id}/")

    page.locator("#profile").get_by_role("link", name="Edit profile").click()
    page.fill("#id_profile-name", "Ann Smith-Jones")
    page.fill("#id_profile-country", "XX")
    page.locator("#profile").get_by_role("button", name="Save").click()
    page.locator("#id_profile-country_error").wait_for()
    page.fill("#id_profile-country", "IE")
    page.locator("#profile").get_by_role("button", name="Save").click()
    page.locator("#profile dd", has_text="Ann Smith-Jones").wait_for()

    ann.refresh_from_db()
    assert (ann.name, ann.country) == ("Ann Smith-Jones", "IE")
    assert page.url.endswith(f"/customers/{ann.public_id}/")  # no navigation happened


def test_logging_an_interaction_keeps_the_draft_until_it_is_sent(page, login_as, alice, system):
    ann = make_customer(system, "Ann Smith", email="ann@example.com")
    login_as(alice)
    page.goto(f"/customers/{ann.public_id}/")

    page.select_option("#id_log-channel", "phone")
    page.select_option("#id_log-direction", "inbound")
    page.fill("#id_log-body", "Rang about the late delivery.\nWants a call back tomorrow.")
    page.reload()
    assert page.input_value("#id_log-body") == "Rang about the late delivery.\nWants a call back tomorrow."
    page.select_option("#id_log-channel", "phone")
    page.select_option("#id_log-direction", "inbound")
    page.get_by_role("button", name="Log it").click()
    page.locator("#log .badge-ok").wait_for()

    interaction = Interaction.objects.get()
    assert (interaction.customer_id, interaction.channel, interaction.direction) == (ann.pk, "phone", "inbound")
    assert interaction.body == "Rang about the late delivery.\nWants a call back tomorrow."
    assert page.input_value("#id_log-body") == ""
    first = page.locator("#timeline-items .tl-item").first
    assert first.get_attribute("id") == interaction.public_id
    page.reload()
    assert page.input_value("#id_log-body") == ""


def test_merge_from_a_suggestion_and_undo_it(page, login_as, bob, system):
    ann = make_customer(system, "Ann Smith", email="ann@example.com")
    annie = make_customer(system, "Annie Smith", email="annie.smith@example.com")
    log_many(system, annie, 2, channel="sms")
    customer_services.suggest_merge(system, ann, annie, probability=0.97, source="splink", evidence={"rule": "names"})
    page.on("dialog", lambda dialog: dialog.accept())
    login_as(bob)
    page.goto("/")

    page.get_by_role("navigation", name="Main").get_by_role("link", name=re.compile("Merge suggestions")).click()
    page.get_by_role("link", name=re.compile("^Compare")).click()
    page.get_by_role("button", name="Merge, keep left").click()
    page.wait_for_url("**/merges/*/")

    merge = Merge.objects.get()
    annie.refresh_from_db()
    assert (merge.target_id, merge.source_id) == (ann.pk, annie.pk)
    assert annie.status == "merged"
    assert set(Interaction.objects.values_list("customer_id", flat=True)) == {ann.pk}
    assert MergeSuggestion.objects.get().status == "merged"
    assert page.get_by_role("link", name="Open Ann Smith").get_attribute("href") == f"/customers/{ann.public_id}/"

    page.get_by_role("button", name="Undo").click()
    page.get_by_role("heading", name="Merge undone").wait_for()

    merge.refresh_from_db()
    annie.refresh_from_db()
    assert merge.is_undone
    assert annie.status == "active"
    assert set(annie.identities.values_list("value", flat=True)) == {"annie.smith@example.com"}
    assert set(Interaction.objects.values_list("customer_id", flat=True)) == {annie.pk}
    assert Customer.objects.filter(status="active").count() == 2
