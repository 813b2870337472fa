"""Templates: versions per locale, locale fallback, rendering with escaping, syntax errors, preview."""

from __future__ import annotations

import pytest

from cxloop.core.errors import ConflictError, PermissionDeniedError, ValidationError
from cxloop.customers import services as customer_services
from cxloop.messaging import queries, services
from cxloop.messaging.models import Template, TemplateVersion
from cxloop.messaging.types import SendRequest, TemplateContent
from cxloop.privacy.models import AuditEntry
from tests.messaging.conftest import make_customer


@pytest.fixture
def welcome(bob, db) -> Template:  # type: ignore[no-untyped-def]
    return services.create_template(
        bob.actor,
        key="welcome",
        name="Welcome",
        channel="email",
        content=TemplateContent(
            locale="en",
            subject="Welcome, {{ customer.first_name }}",
            body_text="Hi {{ customer.name }}, your plan is {{ customer.attributes.plan }}. {{ agent.name }}",
            body_html="<p>Hi {{ customer.name }}</p>",
        ),
    )


def _send(actor, django_capture_on_commit_callbacks, **fields):  # type: ignore[no-untyped-def]
    with django_capture_on_commit_callbacks(execute=True):
        message = services.send_message(actor, SendRequest(**fields))
    message.refresh_from_db()
    return message


def test_a_new_save_makes_a_new_version_and_an_identical_save_does_not(welcome, bob):
    content = TemplateContent(locale="en", subject="Hello", body_text="Hello {{ customer.name }}")

    second, created = services.save_template_version(bob.actor, welcome, content)
    same, created_again = services.save_template_version(bob.actor, welcome, content)
    french, _ = services.save_template_version(bob.actor, welcome, TemplateContent(locale="FR", body_text="Bonjour"))

    assert (second.version, created, same.pk, created_again) == (2, True, second.pk, False)
    assert (french.locale, french.version) == ("fr", 1)
    assert TemplateVersion.objects.filter(template=welcome).count() == 3
    audits = AuditEntry.objects.filter(object_type="template").values_list("action", "summary").order_by("id")
    assert list(audits) == [
        ("template.created", "Welcome (email, service)"),
        ("template.version_saved", "en v1"),
        ("template.version_saved", "en v2"),
        ("template.version_saved", "fr v1"),
    ]


def test_a_send_renders_with_escaping_and_records_the_version_used(
    welcome, alice, ada, senders, django_capture_on_commit_callbacks
):
    customer_services.define_attribute(ada.actor, key="plan", label="Plan", type="text")
    customer = make_customer("Zoë <b>Bold</b> & Co", email="zoe@example.com", attributes={"plan": "Gold"})

    message = _send(
        alice.actor,
        django_capture_on_commit_callbacks,
        customer_id=customer.public_id,
        channel="email",
        template="welcome",
    )

    [payload] = senders["email"].sent
    assert payload.subject == "Welcome, Zoë"
    assert payload.text == "Hi Zoë <b>Bold</b> & Co, your plan is Gold. alice"
    assert payload.html == "<p>Hi Zoë &lt;b&gt;Bold&lt;/b&gt; &amp; Co</p>"
    assert message.template_version == TemplateVersion.objects.get(template=welcome, version=1)


@pytest.mark.parametrize(
    ("requested", "expected"),
    [("pt-BR", "pt-br"), ("pt_PT", "pt"), ("de", "en"), ("", "en"), ("not a locale!", "en")],
)
def test_locale_falls_back_from_exact_to_language_to_default(welcome, bob, requested, expected):
    for locale in ("pt", "pt-br"):
        services.save_template_version(bob.actor, welcome, TemplateContent(locale=locale, body_text=f"in {locale}"))

    from cxloop.messaging.services.templates import resolve_version

    assert resolve_version(welcome, requested).locale == expected


def test_the_customers_locale_is_used_when_the_request_has_none(
    welcome, bob, alice, senders, django_capture_on_commit_callbacks
):
    services.save_template_version(bob.actor, welcome, TemplateContent(locale="fr", body_text="Bonjour"))
    customer = make_customer(email="fr@example.com", locale="fr-CA")

    _send(
        alice.actor,
        django_capture_on_commit_callbacks,
        customer_id=customer.public_id,
        channel="email",
        template="welcome",
    )

    assert senders["email"].sent[0].text == "Bonjour"


@pytest.mark.parametrize(
    ("content", "field"),
    [
        (TemplateContent(locale="en", body_text="{% if %}"), "body_text"),
        (TemplateContent(locale="en", body_text="ok", subject="{{ x|nosuchfilter }}"), "subject"),
        (TemplateContent(locale="en", body_text="ok", body_html="{% for x in %}"), "body_html"),
        (TemplateContent(locale="en", body_text="{% include 'web/base.html' %}"), "body_text"),
        (TemplateContent(locale="en", body_text="{% load static %}"), "body_text"),
        (TemplateContent(locale="en", body_text="{% debug %}"), "body_text"),
        (TemplateContent(locale="en", body_text="  "), "body_text"),
        (TemplateContent(locale="english!", body_text="x"), "locale"),
    ],
)
def test_broken_templates_are_refused_naming_the_field(welcome, bob, content, field):
    with pytest.raises(ValidationError) as refused:
        services.save_template_version(bob.actor, welcome, content)

    assert list(refused.value.fields) == [field]
    assert TemplateVersion.objects.filter(template=welcome).count() == 1


def test_html_bodies_belong_to_email_templates_only(bob, db):
    with pytest.raises(ValidationError) as refused:
        services.create_template(
            bob.actor,
            key="sms-hi",
            name="Hi",
            channel="sms",
            content=TemplateContent(locale="en", body_text="x", body_html="<p>x</p>"),
        )

    assert refused.value.fields == {"body_html": "only email templates have an HTML body"}


def test_keys_are_unique_and_checked(welcome, bob):
    with pytest.raises(ConflictError):
        services.create_template(bob.actor, key="welcome", name="Again", channel="email")
    with pytest.raises(ValidationError) as refused:
        services.create_template(bob.actor, key="Has Spaces", name="", channel="fax")

    assert set(refused.value.fields) == {"key", "name", "channel"}


def test_only_channel_managers_edit_templates(alice, db):
    with pytest.raises(PermissionDeniedError):
        services.create_template(alice.actor, key="x", name="X", channel="email")

    assert Template.objects.count() == 0


def test_preview_renders_for_a_real_customer_and_warns_of_unknown_variables(welcome, alice):
    customer = make_customer("Ann Smith", email="ann@example.com")

    preview = queries.preview_template(alice.actor, welcome, customer, variables={"order": "A-1"})

    assert preview.rendered.subject == "Welcome, Ann"
    assert preview.rendered.text == "Hi Ann Smith, your plan is . alice"
    assert preview.rendered.warnings == ["unknown variable: customer.attributes.plan"]
    assert preview.version is not None
    assert preview.version.version == 1


def test_caller_variables_render_and_reserved_names_are_refused(welcome, bob, alice):
    services.save_template_version(bob.actor, welcome, TemplateContent(locale="en", body_text="Order {{ order.id }}"))
    customer = make_customer(email="c@example.com")

    preview = queries.preview_template(alice.actor, welcome, customer, variables={"order": {"id": "A-1"}})
    with pytest.raises(ValidationError) as refused:
        queries.preview_template(alice.actor, welcome, customer, variables={"customer": "x"})

    assert (preview.rendered.text, preview.rendered.warnings) == ("Order A-1", [])
    assert refused.value.fields == {"variables.customer": "reserved name"}


def test_templates_cannot_reach_model_methods(welcome, bob, alice):
    services.save_template_version(
        bob.actor, welcome, TemplateContent(locale="en", body_text="{{ customer.delete }}{{ customer.identities }}")
    )
    customer = make_customer(email="safe@example.com")

    preview = queries.preview_template(alice.actor, welcome, customer)

    assert preview.rendered.text == ""
    assert customer.__class__.objects.filter(pk=customer.pk).exists()


def test_archived_templates_and_wrong_channels_are_refused_at_send(welcome, bob, alice, senders, ann):
    with pytest.raises(ValidationError) as wrong_channel:
        services.send_message(alice.actor, SendRequest(customer_id=ann.public_id, channel="sms", template="welcome"))
    services.update_template(bob.actor, welcome, is_active=False)
    with pytest.raises(ValidationError) as archived:
        services.send_message(alice.actor, SendRequest(customer_id=ann.public_id, channel="email", template="welcome"))

    assert wrong_channel.value.fields == {"template": "is for email"}
    assert archived.value.fields == {"template": "archived"}


def test_a_marketing_template_cannot_be_sent_as_service(bob, alice, senders, ann):
    services.create_template(
        bob.actor,
        key="promo",
        name="Promo",
        channel="email",
        purpose="marketing",
        content=TemplateContent(locale="en", body_text="Sale"),
    )

    with pytest.raises(ValidationError) as refused:
        services.send_message(
            alice.actor, SendRequest(customer_id=ann.public_id, channel="email", template="promo", purpose="service")
        )

    assert refused.value.fields == {"purpose": "the template is marketing"}


def test_templates_get_the_preference_and_unsubscribe_links(welcome, bob, alice, settings):
    settings.CXLOOP_BASE_URL = "https://cx.example.com"
    body = "Manage: {{ preference_url }} Stop: {{ unsubscribe_url }}"
    services.save_template_version(bob.actor, welcome, TemplateContent(locale="en", body_text=body))
    customer = make_customer(email="links@example.com")

    text = queries.preview_template(alice.actor, welcome, customer).rendered.text

    assert text == f"Manage: {services.preference_link(customer)} Stop: {services.unsubscribe_link(customer)}"
    assert services.unsubscribe_link(customer).endswith("/unsubscribe/")
