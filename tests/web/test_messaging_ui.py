"""Staff UI for outbound messaging: message templates (list, create, settings, versions, preview, compare),
the customer page's contact-preferences panel, and the suppression list; who may see and who may change.
"""

from __future__ import annotations

import html
import re

import pytest
from django.test import Client

from cxloop.channels import registry
from cxloop.channels.base import OutboundPayload, SendOutcome
from cxloop.core.actor import Actor
from cxloop.customers.models import Customer
from cxloop.messaging import services as messaging_services
from cxloop.messaging.models import ConsentRecord, MessageStatus, Suppression, Template, TemplateVersion
from cxloop.messaging.types import ConsentChange, SendRequest, TemplateContent
from cxloop.privacy.models import AuditEntry
from tests.web.conftest import HTMX, make_customer

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _messaging_settings(settings) -> None:  # type: ignore[no-untyped-def]
    settings.CXLOOP_QUIET_HOURS = "off"
    settings.CXLOOP_MARKETING_CAP = "off"
    settings.CXLOOP_BASE_URL = "https://cx.example.com"
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


class RecordingSender:
    def __init__(self, channel: str) -> None:
        self.channel = channel
        self.sent: list[OutboundPayload] = []

    def send(self, payload: OutboundPayload) -> SendOutcome:
        self.sent.append(payload)
        return SendOutcome(provider_message_id=f"prov-{payload.message_ref}")


@pytest.fixture
def email_sender(monkeypatch: pytest.MonkeyPatch) -> RecordingSender:
    sender = RecordingSender("email")
    monkeypatch.setitem(registry._senders, "email", sender)
    return sender


@pytest.fixture
def shipped(system: Actor) -> Template:
    """An email template with one English version."""
    return messaging_services.create_template(
        system,
        key="order-shipped",
        name="Order shipped",
        channel="email",
        content=TemplateContent(
            locale="en",
            subject="Order {{ order.number }} shipped",
            body_text="Hi {{ customer.first_name }},\nit is on its way.",
            body_html="<p>Hi {{ customer.name }}</p>",
        ),
    )


def page(client: Client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, response.content[:500]
    return response.content.decode()


def version_post(**fields: str) -> dict[str, str]:
    return {f"version-{name}": value for name, value in fields.items()}


# --- templates: who may see and who may change -----------------------------------------------------
def test_analyst_sees_templates_but_gets_no_editor(web, charlie, shipped):
    client = web(charlie)

    listing = page(client, "/settings/templates/")
    detail = page(client, "/settings/templates/order-shipped/")

    assert "Order shipped" in listing
    assert "New template" not in listing
    assert "Save as new version" not in detail
    assert "Save settings" not in detail
    assert "Hi {{ customer.first_name }}," in html.unescape(detail)  # the current content, read-only
    assert 'id="preview-form"' in detail  # reading includes previewing


@pytest.mark.parametrize("member", ["charlie", "alice"])
def test_only_channel_managers_change_templates(web, request, shipped, member):
    client = web(request.getfixturevalue(member))
    versions_before = TemplateVersion.objects.count()

    refused = [
        client.post("/settings/templates/", {"name": "X", "key": "x", "channel": "sms", "purpose": "service"}),
        client.post(
            "/settings/templates/order-shipped/",
            {"settings-name": "Renamed", "settings-purpose": "service", "settings-default_locale": "en"},
        ),
        client.post("/settings/templates/order-shipped/versions/", version_post(locale="en", body_text="Changed")),
    ]

    assert [r.status_code for r in refused] == [403, 403, 403]
    assert not Template.objects.filter(key="x").exists()
    shipped.refresh_from_db()
    assert (shipped.name, shipped.is_active) == ("Order shipped", True)
    assert TemplateVersion.objects.count() == versions_before


def test_agent_sees_settings_in_the_navigation_pointing_at_templates(web, alice):
    body = page(web(alice), "/")

    assert re.search(r'<a href="/settings/templates/"[^>]*>Settings</a>', body)


def test_admin_creates_a_template_and_lands_on_its_page(web, ada):
    client = web(ada)

    response = client.post(
        "/settings/templates/",
        {
            "name": "Appointment reminder",
            "key": "appointment-reminder",
            "channel": "sms",
            "purpose": "service",
            "default_locale": "en",
        },
    )

    assert response.status_code == 302
    assert response["Location"] == "/settings/templates/appointment-reminder/"
    created = Template.objects.get(key="appointment-reminder")
    assert (created.channel, created.created_by) == ("sms", ada.user)
    assert AuditEntry.objects.filter(action="template.created", object_id="appointment-reminder").exists()
    detail = page(client, response["Location"])
    assert "version-subject" not in detail
    assert "version-body_html" not in detail


def test_a_bad_or_taken_key_comes_back_on_the_field(web, ada, shipped):
    client = web(ada)

    bad = client.post(
        "/settings/templates/",
        {"name": "X", "key": "Not A Key", "channel": "email", "purpose": "service", "default_locale": "en"},
    )
    taken = client.post(
        "/settings/templates/",
        {"name": "X", "key": "order-shipped", "channel": "email", "purpose": "service", "default_locale": "en"},
    )

    assert bad.status_code == taken.status_code == 422
    assert "use 1-80 lower-case letters" in bad.content.decode()
    assert "already taken" in taken.content.decode()
    assert Template.objects.count() == 1


def test_settings_archive_a_template_and_the_list_hides_it_unless_asked(web, bob, shipped):
    client = web(bob)

    response = client.post(
        "/settings/templates/order-shipped/",
        {"settings-name": "Order shipped!", "settings-purpose": "service", "settings-default_locale": "en"},
    )

    assert response.status_code == 302
    shipped.refresh_from_db()
    assert (shipped.name, shipped.is_active) == ("Order shipped!", False)
    link = 'href="/settings/templates/order-shipped/"'
    assert link not in page(client, "/settings/templates/")
    assert link in page(client, "/settings/templates/?archived=on")


def test_list_filters_by_channel_and_purpose(web, alice, system, shipped):
    messaging_services.create_template(system, key="promo", name="Spring promo", channel="sms", purpose="marketing")
    client = web(alice)

    by_channel = page(client, "/settings/templates/?channel=sms")
    by_purpose = page(client, "/settings/templates/?purpose=service")

    assert "Spring promo" in by_channel
    assert "Order shipped" not in by_channel
    assert "Order shipped" in by_purpose
    assert "Spring promo" not in by_purpose


# --- versions ------------------------------------------------------------------------------------
def test_saving_content_makes_a_new_version_and_the_same_content_makes_none(web, ada, shipped):
    client = web(ada)
    content = version_post(locale="en", subject="Shipped!", body_text="Hi {{ customer.first_name }}", body_html="")

    first = client.post("/settings/templates/order-shipped/versions/", content)
    again = client.post("/settings/templates/order-shipped/versions/", content, follow=True)

    assert first.status_code == 302
    versions = list(TemplateVersion.objects.filter(template=shipped).order_by("version"))
    assert [(v.version, v.subject, v.created_by) for v in versions] == [
        (1, versions[0].subject, None),
        (2, "Shipped!", ada.user),
    ]
    assert "Nothing changed: en v2 already says this." in again.content.decode()
    assert AuditEntry.objects.filter(action="template.version_saved", summary="en v2").count() == 1


def test_history_shows_who_saved_each_version(web, ada, charlie, shipped):
    web(ada).post("/settings/templates/order-shipped/versions/", version_post(locale="en", body_text="New words"))

    detail = page(web(charlie), "/settings/templates/order-shipped/")

    history = detail.split('id="history"')[1]
    assert "v2" in history
    assert "v1" in history
    assert ada.user.display_name in history


def test_a_template_syntax_error_is_a_field_error_not_a_500(web, ada, shipped):
    response = web(ada).post(
        "/settings/templates/order-shipped/versions/",
        version_post(
            locale="en", subject="Hi", body_text="{% if customer.name %}unclosed", body_html="{% load i18n %}"
        ),
    )

    assert response.status_code == 422
    body = response.content.decode()
    text_field = body.split('for="id_version-body_text"')[1].split("</div>")[0]
    html_field = body.split('for="id_version-body_html"')[1].split("</div>")[0]
    assert "errorlist" in text_field
    assert "errorlist" in html_field
    assert TemplateVersion.objects.filter(template=shipped).count() == 1


def test_a_new_locale_gets_its_own_line_of_versions(web, ada, shipped):
    client = web(ada)

    editor = page(client, "/settings/templates/order-shipped/?locale=fr")
    client.post("/settings/templates/order-shipped/versions/", version_post(locale="fr", body_text="Bonjour"))

    assert 'value="fr"' in editor
    assert TemplateVersion.objects.get(template=shipped, locale="fr").version == 1


def test_compare_shows_removed_and_added_lines(web, ada, shipped):
    client = web(ada)
    client.post(
        "/settings/templates/order-shipped/versions/",
        version_post(
            locale="en",
            subject="Order {{ order.number }} shipped",
            body_text="Hi {{ customer.first_name }},\nit left today.",
            body_html="<p>Hi {{ customer.name }}</p>",
        ),
    )
    v1, v2 = TemplateVersion.objects.filter(template=shipped).order_by("version")

    body = page(client, f"/settings/templates/order-shipped/compare/?a={v1.pk}&b={v2.pk}")

    assert re.search(r'class="diff-removed">.*?Removed: </span><code>it is on its way\.</code>', body)
    assert re.search(r'class="diff-added">.*?Added: </span><code>it left today\.</code>', body)
    assert re.search(r'class="diff-same">.*?<code>Hi \{\{ customer.first_name }},</code>', body)


def test_compare_of_a_version_from_another_template_goes_back_to_the_page(web, ada, system, shipped):
    other = messaging_services.create_template(
        system, key="other", name="Other", channel="sms", content=TemplateContent(locale="en", body_text="x")
    )
    mine = TemplateVersion.objects.get(template=shipped)
    foreign = TemplateVersion.objects.get(template=other)

    client = web(ada)

    foreign_pair = client.get(f"/settings/templates/order-shipped/compare/?a={mine.pk}&b={foreign.pk}")
    nonsense = client.get(f"/settings/templates/order-shipped/compare/?a={mine.pk}&b=99999999999999999999999999")

    assert foreign_pair.status_code == 302
    assert nonsense.status_code == 302


def test_draft_preview_without_javascript_renders_a_page(web, ada, system, shipped):
    customer = make_customer(system, "Ann Smith", email="ann@example.com")
    data = {"source": "draft", "preview-customer": customer.public_id, **version_post(locale="en", body_text="Yo")}

    response = web(ada).post("/settings/templates/order-shipped/preview/", data)

    assert response.status_code == 200
    body = response.content.decode()
    assert "<!doctype html>" in body
    assert '<pre class="preview-text">Yo</pre>' in body


# --- preview -------------------------------------------------------------------------------------
def test_preview_of_a_draft_escapes_customer_data_in_html_and_warns_of_unknown_variables(web, ada, system, shipped):
    customer = make_customer(system, "<b>Ann</b> O'Neil", email="ann@example.com")
    data = {
        "source": "draft",
        "preview-customer": customer.public_id,
        **version_post(
            locale="en",
            subject="Order {{ order.number }} for {{ customer.first_name }}",
            body_text="Hi {{ customer.name }}",
            body_html="<p>Hi {{ customer.name }}</p><script>alert(1)</script>",
        ),
    }

    response = web(ada).post("/settings/templates/order-shipped/preview/", data, **HTMX)

    assert response.status_code == 200
    body = response.content.decode()
    assert "<b>Ann</b>" not in body  # neither the text nor the subject reaches the page as markup
    assert "Hi &lt;b&gt;Ann&lt;/b&gt; O&#x27;Neil" in body
    srcdoc = re.search(r'srcdoc="([^"]*)"', body)
    assert srcdoc is not None
    document = html.unescape(srcdoc.group(1))  # what the frame gets: customer data escaped once more inside
    assert "<p>Hi &lt;b&gt;Ann&lt;/b&gt; O&#x27;Neil</p>" in document
    assert re.search(r'<iframe[^>]*sandbox="allow-popups allow-popups-to-escape-sandbox"', body)
    assert "unknown variable: order.number" in body
    assert "Unsaved draft (en)" in body
    assert TemplateVersion.objects.filter(template=shipped).count() == 1  # a preview saves nothing


def test_analyst_previews_the_saved_version_for_a_customer_by_id(web, charlie, system, shipped):
    customer = make_customer(system, "Ann Smith", email="ann@example.com")

    response = web(charlie).post(
        "/settings/templates/order-shipped/preview/",
        {"preview-customer": customer.public_id, "preview-variables": '{"order": {"number": "1042"}}'},
        **HTMX,
    )

    assert response.status_code == 200
    body = response.content.decode()
    assert "Order 1042 shipped" in body
    assert "Hi Ann," in body
    assert "en v1" in body
    assert "unknown variable" not in body


def test_preview_finds_the_customer_by_email_and_lists_options_for_the_picker(web, alice, system, shipped):
    customer = make_customer(system, "Ann Smith", email="ann@example.com")
    client = web(alice)

    options = page(client, "/settings/templates/_customers/?preview-customer=ann")
    response = client.post(
        "/settings/templates/order-shipped/preview/", {"preview-customer": "ann@example.com"}, **HTMX
    )

    assert f'<option value="{customer.public_id}">Ann Smith · ann@example.com</option>' in options
    assert response.status_code == 200
    assert customer.public_id in response.content.decode()


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"preview-customer": "cus_nobody"}, "no single customer matches"),
        ({"preview-customer": "{customer}", "preview-variables": "[1, 2"}, "not valid JSON"),
        ({"preview-customer": "{customer}", "preview-variables": '{"customer": 1}'}, "reserved name"),
        (
            {"preview-customer": "{customer}", "source": "draft", **version_post(locale="en", body_text="{% for %}")},
            "Text body:",
        ),
    ],
    ids=["unknown-customer", "bad-json", "reserved-variable", "draft-syntax-error"],
)
def test_preview_problems_are_listed_not_a_500(web, alice, system, shipped, data, expected):
    customer = make_customer(system, "Ann Smith", email="ann@example.com")
    data = {k: v.replace("{customer}", customer.public_id) for k, v in data.items()}

    response = web(alice).post("/settings/templates/order-shipped/preview/", data, **HTMX)

    assert response.status_code == 422
    assert expected in response.content.decode()


# --- contact preferences on the customer page ------------------------------------------------------
@pytest.fixture
def ann(system: Actor) -> Customer:
    return make_customer(system, "Ann Smith", email="ann@example.com", phone="+447700900123")


def consent_post(**fields: str) -> dict[str, str]:
    return {f"consent-{name}": value for name, value in fields.items()}


def test_customer_page_shows_consent_per_channel_and_purpose(web, charlie, system, ann):
    messaging_services.record_consents(
        system, ann, [ConsentChange("email", "marketing", True, "newsletter box")], source="api"
    )

    body = page(web(charlie), f"/customers/{ann.public_id}/")

    panel = body.split('id="panel-contact-preferences"')[1]
    email_row = panel.split('<th scope="row">Email</th>')[1].split("</tr>")[0]
    sms_row = panel.split('<th scope="row">SMS</th>')[1].split("</tr>")[0]
    assert email_row.count("Allowed") == 2
    assert "API" in email_row
    assert "Not allowed" in sms_row
    assert "default" in sms_row
    assert "Granted</strong> marketing on email" in panel
    assert "newsletter box" in panel
    assert "Record a change" not in panel
    assert "preference-link/" not in panel


def test_agent_records_a_withdrawal_with_source_staff_and_it_is_audited(web, alice, system, ann):
    messaging_services.record_consents(system, ann, [ConsentChange("sms", "marketing", True)], source="api")

    response = web(alice).post(
        f"/customers/{ann.public_id}/consents/",
        consent_post(granted="false", channel="sms", purpose="marketing", note="asked on the phone"),
        **HTMX,
    )

    assert response.status_code == 200
    assert "Recorded." in response.content.decode()
    record = ConsentRecord.objects.filter(customer=ann).latest("id")
    assert (record.channel, record.purpose, record.granted, record.source, record.actor_user, record.note) == (
        "sms",
        "marketing",
        False,
        "staff",
        alice.user,
        "asked on the phone",
    )
    audit = AuditEntry.objects.get(action="consent.changed", object_id=ann.public_id, actor_user=alice.user)
    assert audit.after == {"channel": "sms", "purpose": "marketing", "granted": False, "source": "staff"}


def test_recording_without_javascript_returns_to_the_panel(web, alice, ann):
    response = web(alice).post(
        f"/customers/{ann.public_id}/consents/", consent_post(granted="true", channel="email", purpose="marketing")
    )

    assert response.status_code == 302
    assert response["Location"] == f"/customers/{ann.public_id}/#panel-contact-preferences"
    assert ConsentRecord.objects.get(customer=ann).granted is True


def test_a_marketing_grant_for_every_channel_is_refused_on_the_field(web, alice, ann):
    response = web(alice).post(
        f"/customers/{ann.public_id}/consents/", consent_post(granted="true", channel="*", purpose="marketing"), **HTMX
    )

    assert response.status_code == 422
    assert "marketing consent is granted one channel at a time" in response.content.decode()
    assert not ConsentRecord.objects.filter(customer=ann).exists()


def test_analyst_cannot_record_consent(web, charlie, ann):
    response = web(charlie).post(
        f"/customers/{ann.public_id}/consents/", consent_post(granted="true", channel="email", purpose="marketing")
    )

    assert response.status_code == 403
    assert not ConsentRecord.objects.exists()
    assert not AuditEntry.objects.filter(action="consent.changed").exists()


def test_panel_explains_blocked_messages_shows_suppressions_and_the_preference_link(
    web, alice, system, ann, email_sender
):
    messaging_services.suppress_address(system, "sms", "+447700900123", "keyword_stop", source="keyword")
    blocked = messaging_services.send_message(
        alice.actor, SendRequest(customer_id=ann.public_id, channel="email", purpose="marketing", text="Spring sale!")
    )
    assert blocked.status == MessageStatus.BLOCKED

    body = page(web(alice), f"/customers/{ann.public_id}/")

    panel = body.split('id="panel-contact-preferences"')[1]
    assert "Spring sale!" in panel
    assert f"Why: {html.escape(blocked.reason)}" in panel
    assert "(no_consent)" in panel
    assert "+447700900123" in panel
    assert "STOP reply" in panel
    assert f'hx-get="/customers/{ann.public_id}/preference-link/"' in panel


def test_the_preference_link_is_given_to_staff_who_may_change_consents(web, alice, charlie, ann):
    given = web(alice).get(f"/customers/{ann.public_id}/preference-link/", **HTMX)
    refused = web(charlie).get(f"/customers/{ann.public_id}/preference-link/", **HTMX)

    link = re.search(r'value="([^"]+)" readonly', given.content.decode())
    assert given.status_code == 200
    assert link is not None
    assert link.group(1).startswith("https://cx.example.com/p/preferences/")
    assert refused.status_code == 403


# --- the suppression list ------------------------------------------------------------------------
def test_analyst_reads_the_suppression_list_but_cannot_change_it(web, charlie, system):
    row, _ = messaging_services.suppress_address(
        system, "email", "Ann+news@Example.com", "hard_bounce", source="bounce"
    )
    client = web(charlie)

    body = page(client, "/settings/suppressions/")
    added = client.post(
        "/settings/suppressions/add/", {"add-channel": "email", "add-address": "x@example.com", "add-reason": "manual"}
    )
    lifted = client.post(f"/settings/suppressions/{row.public_id}/lift/")

    assert "ann@example.com" in body
    assert "Hard bounce" in body
    assert "Suppress an address" not in body
    assert "Lift" not in body
    assert (added.status_code, lifted.status_code) == (403, 403)
    assert list(Suppression.objects.values_list("address", flat=True)) == ["ann@example.com"]


def test_supervisor_adds_a_manual_suppression_and_lifts_it(web, bob):
    client = web(bob)

    added = client.post(
        "/settings/suppressions/add/",
        {"add-channel": "sms", "add-address": "+44 7700 900123", "add-reason": "manual", "add-note": "asked by phone"},
        follow=True,
    )
    row = Suppression.objects.get()
    lifted = client.post(f"/settings/suppressions/{row.public_id}/lift/", {"next": "?channel=sms"})

    assert added.status_code == 200
    assert "Suppressed +447700900123 on sms" in added.content.decode()
    assert (row.channel, row.address, row.reason, row.source, row.note, row.created_by) == (
        "sms",
        "+447700900123",
        "manual",
        "staff",
        "asked by phone",
        bob.user,
    )
    assert lifted.status_code == 302
    assert lifted["Location"] == "/settings/suppressions/?channel=sms"
    assert not Suppression.objects.exists()
    actions = list(AuditEntry.objects.filter(object_id=row.public_id).values_list("action", flat=True))
    assert sorted(actions) == ["suppression.added", "suppression.lifted"]


def test_a_bad_address_comes_back_on_the_field(web, ada):
    response = web(ada).post(
        "/settings/suppressions/add/", {"add-channel": "email", "add-address": "not an email", "add-reason": "manual"}
    )

    assert response.status_code == 422
    field = response.content.decode().split('for="id_add-address"')[1].split("</div>")[0]
    assert "errorlist" in field
    assert not Suppression.objects.exists()


def test_list_filters_and_an_address_without_its_channel_is_explained(web, alice, system):
    messaging_services.suppress_address(system, "email", "ann@example.com", "complaint")
    messaging_services.suppress_address(system, "sms", "+447700900123", "keyword_stop")
    client = web(alice)

    by_reason = page(client, "/settings/suppressions/?reason=complaint")
    by_address = page(client, "/settings/suppressions/?channel=sms&address=%2B44+7700+900123")
    unclear = client.get("/settings/suppressions/?address=ann@example.com")

    assert "ann@example.com" in by_reason
    assert "+447700900123" not in by_reason
    assert "+447700900123" in by_address
    assert "ann@example.com" not in by_address
    assert unclear.status_code == 422
    assert "required with address" in unclear.content.decode()


def test_a_damaged_page_cursor_is_explained_not_a_500(web, alice):
    response = web(alice).get("/settings/suppressions/?cursor=not-a-cursor")

    assert response.status_code == 422


def test_lifting_an_unknown_suppression_is_a_404(web, ada):
    assert web(ada).post("/settings/suppressions/sup_missing/lift/").status_code == 404
