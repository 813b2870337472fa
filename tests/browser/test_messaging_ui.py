"""The messaging settings and the contact-preferences panel in a real Chromium: create a template, write its
first version (the draft survives a reload), preview it for a customer picked by typing, record a consent on
the customer page; and no accessibility violations on the template page and the customer page, desktop and phone.
"""

from __future__ import annotations

import re
from pathlib import Path

import axe_playwright_python
import pytest

from cxloop.core.actor import Actor
from cxloop.customers.models import Customer
from cxloop.messaging import services as messaging_services
from cxloop.messaging.models import ConsentRecord, Template, TemplateVersion
from cxloop.messaging.types import ConsentChange, SendRequest, TemplateContent
from tests.web.conftest import make_customer

pytestmark = pytest.mark.browser

AXE_JS = Path(axe_playwright_python.__file__).with_name("axe.min.js")
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


def accessibility_violations(page) -> list[str]:  # type: ignore[no-untyped-def]
    """Every axe-core finding on the current page, whatever its impact (the script is inlined, not fetched)."""
    page.add_script_tag(path=str(AXE_JS))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']]}" for v in result["violations"]
    ]


@pytest.fixture(autouse=True)
def _messaging_settings(settings) -> None:  # type: ignore[no-untyped-def]
    settings.CXLOOP_QUIET_HOURS = "off"
    settings.CXLOOP_MARKETING_CAP = "off"


@pytest.fixture
def dana(db: None) -> Customer:
    """A customer of the kind the demo makes, with a name that must stay text in HTML."""
    return make_customer(Actor.system("test"), "Dana <i>Demo</i>", email="dana@example.com", phone="+447700900456")


def test_create_a_template_write_a_version_and_preview_it_for_a_customer(page, login_as, ada, dana):
    login_as(ada)
    page.goto("/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Settings").click()
    page.get_by_role("navigation", name="Settings").get_by_role("link", name="Message templates").click()

    page.fill("#id_name", "Order shipped")
    page.fill("#id_key", "order-shipped")
    page.select_option("#id_channel", "email")
    page.get_by_role("button", name="Create template").click()
    page.wait_for_url("**/settings/templates/order-shipped/")

    page.fill("#id_version-subject", "Your order {{ order.number }} is on its way")
    page.fill("#id_version-body_text", "Hi {{ customer.first_name }},\nyour parcel left today.")
    page.fill("#id_version-body_html", "<p>Hi <strong>{{ customer.name }}</strong></p>")
    page.reload()  # the unsaved text is kept as a draft in the browser
    assert page.input_value("#id_version-body_text") == "Hi {{ customer.first_name }},\nyour parcel left today."
    page.get_by_role("button", name="Save as new version").click()
    page.locator(".messages", has_text="Saved en v1").wait_for()
    version = TemplateVersion.objects.get(template__key="order-shipped")
    assert (version.locale, version.version, version.created_by) == ("en", 1, ada.user)

    page.locator("#id_preview-customer").press_sequentially("dana", delay=20)
    page.wait_for_function("document.querySelectorAll('#preview-customer-options option').length === 1")
    assert page.locator("#preview-customer-options option").get_attribute("value") == dana.public_id
    page.fill("#id_preview-customer", dana.public_id)
    page.fill("#id_preview-variables", '{"order": {"number": "1042"}}')
    page.get_by_role("button", name="Preview the saved version").click()

    result = page.locator("#preview-result")
    result.locator(".preview-text").wait_for()
    assert result.locator(".preview-subject").inner_text() == "Your order 1042 is on its way"
    assert result.locator(".preview-text").inner_text().startswith("Hi Dana,")
    frame = page.frame_locator("#preview-result iframe")
    assert frame.locator("strong").inner_text() == "Dana <i>Demo</i>"  # customer data stays text in the HTML


def test_an_agent_records_a_consent_on_the_customer_page(page, login_as, alice, dana):
    login_as(alice)
    page.goto(f"/customers/{dana.public_id}/")

    panel = page.locator("#panel-contact-preferences")
    panel.get_by_label("Grant").check()
    panel.get_by_label("Channel").select_option("email")
    panel.get_by_label("Purpose").select_option("marketing")
    panel.get_by_label("Note").fill("Signed up at the counter")
    panel.get_by_role("button", name="Record").click()
    panel.get_by_role("status").filter(has_text="Recorded.").wait_for()

    record = ConsentRecord.objects.get(customer=dana)
    assert (record.channel, record.purpose, record.granted, record.source, record.actor_user) == (
        "email",
        "marketing",
        True,
        "staff",
        alice.user,
    )
    email_row = panel.locator("tr", has=page.get_by_role("rowheader", name="Email"))
    assert email_row.locator("td").nth(1).inner_text().startswith("Allowed")
    assert "Signed up at the counter" in panel.locator(".consent-history").inner_text()

    panel.get_by_role("link", name="Get the preference-centre link").click()
    link = panel.get_by_label("Preference-centre link to send the customer")
    assert re.search(r"/p/preferences/[^/]+/$", link.input_value())


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_template_page_and_customer_page_have_no_accessibility_violations(page, login_as, bob, dana, viewport):
    system = Actor.system("test")
    template = messaging_services.create_template(
        system,
        key="order-shipped",
        name="Order shipped",
        channel="email",
        content=TemplateContent(locale="en", subject="Shipped", body_text="Hi {{ customer.first_name }}"),
    )
    messaging_services.save_template_version(
        system, template, TemplateContent(locale="en", subject="Shipped", body_text="Hello {{ customer.first_name }}")
    )
    messaging_services.record_consents(system, dana, [ConsentChange("sms", "marketing", True)], source="api")
    messaging_services.suppress_address(system, "email", "dana@example.com", "hard_bounce", source="bounce")
    messaging_services.send_message(  # blocked: the panel says why
        system, SendRequest(customer_id=dana.public_id, channel="email", purpose="marketing", text="Spring sale")
    )
    page.set_viewport_size(viewport)
    login_as(bob)

    page.goto(f"/settings/templates/{template.key}/")
    page.fill("#id_preview-customer", dana.public_id)
    page.get_by_role("button", name="Preview the saved version").click()
    page.locator("#preview-result .preview-text").wait_for()
    template_violations = accessibility_violations(page)
    page.goto(f"/customers/{dana.public_id}/")
    customer_violations = accessibility_violations(page)

    assert Template.objects.count() == 1
    assert template_violations == []
    assert customer_violations == []
