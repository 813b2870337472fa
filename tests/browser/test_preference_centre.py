"""The preference centre in a real Chromium at a phone's size: keyboard only, stored, and clean under axe."""

from __future__ import annotations

from pathlib import Path

import axe_playwright_python
import pytest

from cxloop.messaging import services
from cxloop.messaging.models import ConsentRecord
from cxloop.messaging.services.links import preference_token
from tests.messaging.conftest import make_customer

pytestmark = pytest.mark.browser

AXE_JS = Path(axe_playwright_python.__file__).with_name("axe.min.js")
PHONE = {"width": 375, "height": 740}


def axe_violations(page) -> list[str]:  # type: ignore[no-untyped-def]
    """Every axe-core violation on the page, whatever its impact (the script is inlined, not fetched)."""
    page.add_script_tag(path=str(AXE_JS))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']]}" for v in result["violations"]
    ]


def tab_to(page, element_id: str, limit: int = 25) -> None:  # type: ignore[no-untyped-def]
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == element_id:
            return
    raise AssertionError(f"Tab never reached #{element_id}")


def test_a_customer_changes_a_consent_by_keyboard_on_a_phone(page, db):
    # given: a customer with an email address and a phone, reading the link on a phone
    ann = make_customer("Ann Smith", email="ann@example.com", phone="+447700900123")
    page.set_viewport_size(PHONE)
    page.goto(f"/p/preferences/{preference_token(ann)}/")
    assert page.locator("h1").inner_text() == "Your message preferences"
    assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")
    assert axe_violations(page) == []

    # when: keyboard only, tick "News and offers" for email and save
    tab_to(page, "c-email-marketing")
    page.keyboard.press("Space")
    assert page.is_checked("#c-email-marketing")
    page.keyboard.press("Tab")
    while page.evaluate("document.activeElement.textContent") != "Save my choices":
        page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    page.wait_for_url("**/?done=saved")

    # then: stored with its source, confirmed on the page, and the page is still clean
    assert page.get_by_role("status").inner_text() == "Your choices are saved."
    assert page.is_checked("#c-email-marketing")
    record = ConsentRecord.objects.get()
    assert (record.channel, record.purpose, record.granted, record.source) == (
        "email",
        "marketing",
        True,
        "preference_centre",
    )
    assert services.consent_state(ann.pk, "email", "marketing").allowed is True
    assert axe_violations(page) == []


def test_unsubscribe_from_all_marketing_by_keyboard(page, db):
    ann = make_customer("Bo", email="bo@example.com")
    page.set_viewport_size(PHONE)
    page.goto(f"/p/preferences/{preference_token(ann)}/")

    page.get_by_role("button", name="Unsubscribe from all marketing").focus()
    page.keyboard.press("Enter")
    page.wait_for_url("**/?done=unsubscribed")

    assert services.consent_state(ann.pk, "email", "marketing").explicit is True
    assert axe_violations(page) == []


def test_a_forged_link_shows_a_friendly_page(page, db):
    page.set_viewport_size(PHONE)

    response = page.goto("/p/preferences/forged:token/")

    assert response is not None
    assert response.status == 404
    assert page.locator("h1").inner_text() == "This link does not work"
    assert axe_violations(page) == []
