"""The customer's "what we promised you" page in a real Chromium at a phone's size: readable without sideways
scrolling, reachable by keyboard, clean under axe-core; and an agent making and keeping a promise on the
customer page."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import axe_playwright_python
import pytest

from cxloop.cases.models import Promise
from cxloop.cases.services import promises
from cxloop.core import clock
from tests.customers.factories import CustomerFactory

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


def test_the_customer_reads_their_promises_on_a_phone(page, alice):
    # given: an open promise, a late one and a kept one, with long words that must wrap
    ann = CustomerFactory(name="Ann Lee", time_zone="Europe/London")
    promises.make_promise(
        alice.actor,
        customer=ann,
        description="Refund the overcharged amount to your card ending 4242 (reference REFUND-2026-0000123456789)",
        due_at=clock.now() + timedelta(days=2),
        channel="phone",
    )
    promises.make_promise(
        alice.actor,
        customer=ann,
        description="Call you back about the router",
        due_at=clock.now() + timedelta(minutes=5),
    )
    promises.sweep_promises(at=clock.now() + timedelta(minutes=6))
    kept = promises.make_promise(
        alice.actor, customer=ann, description="Send the new contract", due_at=clock.now() + timedelta(hours=1)
    )
    promises.keep_promise(alice.actor, kept)
    page.set_viewport_size(PHONE)

    # when
    page.goto(f"/p/promises/{promises.promises_token(ann)}/")

    # then: the page, in order, without sideways scrolling, and clean under axe
    assert page.locator("h1").inner_text() == "What we promised you"
    assert page.evaluate("document.documentElement.lang") == "en"
    assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")
    items = page.locator("section[aria-labelledby=open-title] li .promise-what").all_inner_texts()
    assert items[0] == "Call you back about the router"
    assert len(items) == 2
    assert page.locator(".late-badge").count() == 1
    assert page.get_by_role("heading", name="Done lately").is_visible()
    assert axe_violations(page) == []

    # and the skip link is the first stop of the keyboard and leads to the content
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    page.keyboard.press("Enter")
    assert page.evaluate("location.hash") == "#main"


def test_a_bad_link_page_is_clean_too(page, db):
    page.set_viewport_size(PHONE)
    response = page.goto("/p/promises/not-a-real-token/")
    assert response is not None
    assert response.status == 404
    assert page.locator("h1").inner_text() == "This link does not work"
    assert axe_violations(page) == []


def test_an_agent_makes_and_keeps_a_promise_on_the_customer_page(page, login_as, alice):
    # given
    ann = CustomerFactory(name="Ann Lee")
    login_as(alice)
    page.goto(f"/customers/{ann.public_id}/")

    # when: make a promise through the panel's form
    page.get_by_text("Make a promise to Ann Lee").click()
    page.get_by_label("What was promised").fill("Call back on Friday")
    page.get_by_label("Due by").fill((clock.now() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M"))
    page.get_by_label("Promised on").select_option("phone")
    page.get_by_role("button", name="Record the promise").click()
    page.wait_for_url(f"**/customers/{ann.public_id}/#panel-promises")

    # then
    promise = Promise.objects.get()
    assert (promise.description, promise.channel, promise.owner) == ("Call back on Friday", "phone", alice.user)
    assert page.locator(f"#promise-{promise.public_id}").is_visible()

    # when: keep it
    page.get_by_role("button", name=re.compile(r"^Mark kept\W+Call back on Friday$")).click()
    page.wait_for_url(f"**/customers/{ann.public_id}/#panel-promises")

    # then
    assert Promise.objects.get().status == "kept"
    assert page.locator("ul.messages").inner_text().strip() == "Promise kept."
