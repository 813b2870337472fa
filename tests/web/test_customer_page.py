"""The customer page: profile, identities, attributes, timeline, logging, deletion and plug-in panels."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from cxloop.customers import services as customer_services
from cxloop.customers.models import Customer, Identity
from cxloop.interactions.models import Interaction
from cxloop.privacy.models import AuditEntry
from cxloop.web import panels
from cxloop.web.views.timeline import DRAFT_SESSION_KEY
from tests.web.conftest import HTMX, log_many, make_customer


def _items(html: str) -> list[str]:
    return re.findall(r'<li class="tl-item[^"]*" id="(int_[0-9a-z]+)"', html)


def test_page_shows_profile_identities_and_the_first_timeline_page(web, charlie, ann, system):
    logged = log_many(system, ann, 25)

    response = web(charlie).get(f"/customers/{ann.public_id}/")

    html = response.content.decode()
    assert response.status_code == 200
    assert "ann@example.com" in html
    assert "+447700900123" in html
    assert _items(html) == [i.public_id for i in reversed(logged)][:20]
    assert "Load more" in html
    # charlie reads only: no editing controls are offered
    assert "Log an interaction" not in html
    assert "Add an identity" not in html
    assert "?edit=1" not in html


def test_load_more_continues_where_the_page_stopped(web, alice, ann, system):
    logged = [i.public_id for i in reversed(log_many(system, ann, 25))]
    client = web(alice)
    first = client.get(f"/customers/{ann.public_id}/").content.decode()
    more_url = re.search(r'hx-get="([^"]+cursor=[^"]+)"', first).group(1).replace("&amp;", "&")

    more = client.get(more_url, **HTMX).content.decode()

    assert _items(more) == logged[20:]
    assert "Load more" not in more


def test_timeline_filters_by_channel_direction_and_text(web, alice, ann, system):
    log_many(system, ann, 3, channel="email")
    calls = log_many(system, ann, 2, channel="phone")
    client = web(alice)
    url = f"/customers/{ann.public_id}/timeline/"

    by_channel = client.get(url, {"channel": "phone"}, **HTMX).content.decode()
    by_text = client.get(url, {"text": "number 1"}, **HTMX).content.decode()
    by_direction = client.get(url, {"direction": "outbound"}, **HTMX).content.decode()

    assert set(_items(by_channel)) == {c.public_id for c in calls}
    assert len(_items(by_text)) == 2  # "Message number 1" on each channel
    assert _items(by_direction) == []
    assert "No interactions match these filters." in by_direction


def test_timeline_without_htmx_goes_to_the_page_with_the_filters(web, alice, ann):
    response = web(alice).get(f"/customers/{ann.public_id}/timeline/", {"channel": "phone"})

    assert response.status_code == 302
    assert response["Location"] == f"/customers/{ann.public_id}/?channel=phone#timeline"


def test_long_bodies_expand_from_their_summary_and_are_escaped(web, alice, ann, system):
    from cxloop.interactions import services as interaction_services
    from cxloop.interactions.types import InteractionInput

    interaction_services.record_interaction(
        system,
        ann,
        InteractionInput(channel="email", direction="inbound", summary="Short", body="<b>Long</b> text\nline two"),
    )

    html = web(alice).get(f"/customers/{ann.public_id}/").content.decode()

    assert '<details class="tl-details"><summary>Short</summary>' in html
    assert "&lt;b&gt;Long&lt;/b&gt; text<br>line two" in html


def test_profile_edits_in_place_with_htmx(web, alice, ann):
    client = web(alice)
    url = f"/customers/{ann.public_id}/profile/"

    form = client.get(url, {"edit": "1"}, **HTMX)
    saved = client.post(
        url,
        {
            "profile-name": "Ann Smith-Jones",
            "profile-country": "ie",
            "profile-locale": "en-IE",
            "profile-time_zone": "Europe/Dublin",
            "profile-lifecycle_stage": "customer",
            "profile-tags": "vip, Newsletter",
        },
        **HTMX,
    )

    assert form.status_code == 200
    assert 'name="profile-name"' in form.content.decode()
    assert saved.status_code == 200
    assert "<base" not in saved.content.decode()
    assert 'id="profile"' in saved.content.decode()
    ann.refresh_from_db()
    assert (ann.name, ann.country, ann.time_zone, ann.lifecycle_stage) == (
        "Ann Smith-Jones",
        "IE",
        "Europe/Dublin",
        "customer",
    )
    assert sorted(t.name for t in ann.tags.all()) == ["newsletter", "vip"]


def test_profile_errors_come_back_on_the_form_and_change_nothing(web, alice, ann):
    response = web(alice).post(
        f"/customers/{ann.public_id}/profile/",
        {"profile-name": "Changed", "profile-country": "XX", "profile-lifecycle_stage": "lead", "profile-tags": ""},
        **HTMX,
    )

    assert response.status_code == 422
    assert 'id="id_profile-country_error"' in response.content.decode()
    ann.refresh_from_db()
    assert (ann.name, ann.country) == ("Ann Smith", "GB")


def test_profile_edit_without_javascript_redirects_back(web, alice, ann):
    response = web(alice).post(
        f"/customers/{ann.public_id}/profile/",
        {"profile-name": "Plain Ann", "profile-lifecycle_stage": "lead", "profile-tags": "vip"},
    )

    assert response.status_code == 302
    assert response["Location"] == f"/customers/{ann.public_id}/#profile"
    ann.refresh_from_db()
    assert ann.name == "Plain Ann"


def test_read_only_staff_cannot_edit_the_profile(web, charlie, ann):
    client = web(charlie)

    assert client.get(f"/customers/{ann.public_id}/profile/", {"edit": "1"}).status_code == 403
    response = client.post(
        f"/customers/{ann.public_id}/profile/", {"profile-name": "X", "profile-lifecycle_stage": "lead"}
    )

    assert response.status_code == 403
    ann.refresh_from_db()
    assert ann.name == "Ann Smith"


def test_identities_are_added_verified_and_removed(web, alice, ann):
    client = web(alice)
    base = f"/customers/{ann.public_id}/identities/"

    added = client.post(base, {"identity-kind": "social", "identity-network": "X", "identity-value": "@AnnS"}, **HTMX)
    handle = Identity.objects.get(kind="social")
    verified = client.post(f"{base}{handle.public_id}/verify/", {"verified": "true"}, **HTMX)
    handle.refresh_from_db()
    assert handle.is_verified
    removed = client.post(f"{base}{handle.public_id}/remove/", **HTMX)

    assert added.status_code == 200
    assert "anns" in added.content.decode()
    assert (handle.network, handle.value, handle.source) == ("x", "anns", "staff")
    assert verified.status_code == 200
    assert "Unverify" in verified.content.decode()
    assert removed.status_code == 200
    assert not Identity.objects.filter(pk=handle.pk).exists()
    assert ann.identities.count() == 2


def test_bad_identity_shows_its_error_and_adds_nothing(web, alice, ann, bert):
    client = web(alice)

    invalid = client.post(
        f"/customers/{ann.public_id}/identities/", {"identity-kind": "email", "identity-value": "nope"}, **HTMX
    )
    taken = client.post(
        f"/customers/{ann.public_id}/identities/",
        {"identity-kind": "email", "identity-value": "bert@example.com"},
        **HTMX,
    )

    assert invalid.status_code == 422
    assert 'id="id_identity-value_error"' in invalid.content.decode()
    assert taken.status_code == 422
    assert bert.public_id in taken.content.decode()
    assert ann.identities.count() == 2


def test_identity_of_another_customer_is_not_found_here(web, alice, ann, bert):
    other = bert.identities.get()

    response = web(alice).post(f"/customers/{ann.public_id}/identities/{other.public_id}/remove/")

    assert response.status_code == 404
    assert Identity.objects.filter(pk=other.pk).exists()


def test_read_only_staff_cannot_touch_identities(web, charlie, ann):
    identity = ann.identities.first()
    client = web(charlie)

    add = client.post(f"/customers/{ann.public_id}/identities/", {"identity-kind": "email", "identity-value": "c@x.io"})
    remove = client.post(f"/customers/{ann.public_id}/identities/{identity.public_id}/remove/")

    assert (add.status_code, remove.status_code) == (403, 403)
    assert ann.identities.count() == 2


@pytest.fixture
def definitions(system):
    customer_services.define_attribute(system, key="spend", label="Yearly spend", type="number")
    customer_services.define_attribute(system, key="tier", label="Tier", type="choice", choices=["gold", "silver"])
    customer_services.define_attribute(system, key="opted_in", label="Opted in", type="boolean")
    customer_services.define_attribute(system, key="birthday", label="Birthday", type="date")


def test_attribute_form_uses_an_input_that_fits_each_type(web, alice, ann, definitions):
    html = web(alice).get(f"/customers/{ann.public_id}/attributes/", {"edit": "1"}, **HTMX).content.decode()

    assert re.search(r'<input type="number" name="attr-spend"[^>]*step="any"', html)
    assert re.search(r'<input type="date" name="attr-birthday"', html)
    assert '<select name="attr-tier"' in html
    assert '<option value="gold">gold</option>' in html
    assert '<select name="attr-opted_in"' in html


def test_attributes_are_saved_typed_and_emptied(web, alice, ann, definitions):
    client = web(alice)
    url = f"/customers/{ann.public_id}/attributes/"

    saved = client.post(
        url,
        {"attr-spend": "1250.5", "attr-tier": "gold", "attr-opted_in": "true", "attr-birthday": "1990-04-01"},
        **HTMX,
    )
    ann.refresh_from_db()
    assert ann.attributes == {"spend": 1250.5, "tier": "gold", "opted_in": True, "birthday": "1990-04-01"}
    cleared = client.post(
        url, {"attr-spend": "", "attr-tier": "gold", "attr-opted_in": "", "attr-birthday": ""}, **HTMX
    )

    assert saved.status_code == 200
    assert "Yearly spend" in saved.content.decode()
    assert cleared.status_code == 200
    ann.refresh_from_db()
    assert ann.attributes == {"tier": "gold"}


def test_bad_attribute_value_is_shown_on_its_field(web, alice, ann, definitions):
    response = web(alice).post(
        f"/customers/{ann.public_id}/attributes/", {"attr-spend": "lots", "attr-birthday": "yesterday"}, **HTMX
    )

    html = response.content.decode()
    assert response.status_code == 422
    assert 'id="id_attr-spend_error"' in html
    assert "must be a number" in html
    assert 'id="id_attr-birthday_error"' in html
    ann.refresh_from_db()
    assert ann.attributes == {}


def test_logging_an_interaction_refreshes_the_timeline_and_clears_the_draft(web, alice, ann):
    response = web(alice).post(
        f"/customers/{ann.public_id}/interactions/",
        {"log-channel": "phone", "log-direction": "inbound", "log-summary": "", "log-body": "Called about billing"},
        **HTMX,
    )

    html = response.content.decode()
    interaction = Interaction.objects.get()
    assert response.status_code == 200
    assert (interaction.channel, interaction.direction, interaction.body) == (
        "phone",
        "inbound",
        "Called about billing",
    )
    assert interaction.created_by == alice.user
    assert "data-draft-clear" in html
    assert 'id="timeline" aria-labelledby="timeline-title" hx-swap-oob="true"' in html
    assert interaction.public_id in html


def test_logging_without_javascript_clears_the_draft_on_the_next_page_only(web, alice, ann):
    client = web(alice)

    response = client.post(
        f"/customers/{ann.public_id}/interactions/",
        {"log-channel": "note", "log-direction": "internal", "log-body": "Prefers email"},
    )
    after = client.get(f"/customers/{ann.public_id}/").content.decode()
    later = client.get(f"/customers/{ann.public_id}/").content.decode()

    assert response.status_code == 302
    assert DRAFT_SESSION_KEY not in client.session
    assert "data-draft-clear" in after
    assert "data-draft-clear" not in later


def test_empty_interaction_is_refused_with_the_text_kept(web, alice, ann):
    response = web(alice).post(
        f"/customers/{ann.public_id}/interactions/",
        {"log-channel": "note", "log-direction": "sideways", "log-summary": "kept text", "log-body": ""},
        **HTMX,
    )

    html = response.content.decode()
    assert response.status_code == 422
    assert 'id="id_log-direction_error"' in html
    assert 'value="kept text"' in html
    assert "data-draft-clear" not in html
    assert Interaction.objects.count() == 0


def test_read_only_staff_cannot_log_interactions(web, charlie, ann):
    response = web(charlie).post(
        f"/customers/{ann.public_id}/interactions/",
        {"log-channel": "note", "log-direction": "internal", "log-body": "x"},
    )

    assert response.status_code == 403
    assert Interaction.objects.count() == 0


def test_agents_cannot_delete_customers(web, alice, ann):
    client = web(alice)

    page = client.get(f"/customers/{ann.public_id}/").content.decode()
    confirm = client.get(f"/customers/{ann.public_id}/delete/")
    post = client.post(f"/customers/{ann.public_id}/delete/")

    assert "/delete/" not in page
    assert (confirm.status_code, post.status_code) == (403, 403)
    assert Customer.objects.filter(pk=ann.pk).exists()


def test_supervisors_delete_after_confirming(web, bob, ann, system):
    log_many(system, ann, 2)
    client = web(bob)

    confirm = client.get(f"/customers/{ann.public_id}/delete/")
    post = client.post(f"/customers/{ann.public_id}/delete/")

    assert confirm.status_code == 200
    assert b"2 identities and 2 interactions" in confirm.content
    assert post.status_code == 302
    assert post["Location"] == "/customers/"
    assert not Customer.objects.filter(pk=ann.pk).exists()
    assert Interaction.objects.count() == 0


def test_merged_profile_says_where_it_went(web, alice, ann, bert, system):
    customer_services.merge_customers(system, ann, bert)

    html = web(alice).get(f"/customers/{bert.public_id}/").content.decode()

    assert "This profile was merged into" in html
    assert f'href="/customers/{ann.public_id}/"' in html
    assert "Log an interaction" not in html


def test_page_queries_stay_bounded(web, alice, ann, system, django_assert_max_num_queries, definitions):
    log_many(system, ann, 40)
    other = make_customer(system, "Ann Other", email="other@example.com")
    customer_services.merge_customers(system, ann, other)
    client = web(alice)

    # One more each for the navigation's inbox badge and the conversations panel; three for the contact
    # preferences panel (consent records, recent outbound messages, suppressed addresses); two for cases (the
    # navigation's count of the user's active cases, the cases panel); one for the navigation's unread
    # notifications; two for the promises panel (open and missed promises, recently kept ones); two for the
    # surveys panel (active surveys to send, recent invitations; the date of the last one only with a survey to send);
    # two for the journeys panel (the customer's enrolments, active journeys to enrol in); one for the events
    # panel (the customer's latest events).
    with django_assert_max_num_queries(26):
        response = client.get(f"/customers/{ann.public_id}/")

    assert response.status_code == 200


@pytest.fixture
def open_cases_panel(settings, monkeypatch):
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [Path(__file__).parent / "templates"]}]
    # A stand-in for the real "cases" panel; the registry is restored afterwards so later tests see the real one.
    monkeypatch.setattr(panels, "_panels", dict(panels._panels))
    panels.register_customer_panel(
        "cases",
        "Open cases",
        "test_panels/open_cases.html",
        lambda actor, customer: {"count": 2} if customer.name.startswith("Ann") else None,
    )


def test_registered_panels_render_in_their_reserved_place(web, alice, ann, bert, open_cases_panel):
    client = web(alice)

    ann_html = client.get(f"/customers/{ann.public_id}/").content.decode()
    bert_html = client.get(f"/customers/{bert.public_id}/").content.decode()

    assert 'id="panel-cases"' in ann_html
    assert "2 open cases for Ann Smith" in ann_html
    assert 'id="panel-cases"' not in bert_html  # its context function said there is nothing to show


def test_no_panel_sections_without_registered_panels(web, alice, ann, monkeypatch):
    monkeypatch.setattr(panels, "_panels", {})  # modules register theirs at start-up (calls, conversations)
    html = web(alice).get(f"/customers/{ann.public_id}/").content.decode()

    assert 'class="card panel' not in html
    assert panels.customer_panels() == []


def test_export_downloads_the_personal_data_and_is_audited(web, charlie, alice, ann, system):
    log_many(system, ann, 3)

    refused = web(alice).post(f"/customers/{ann.public_id}/export/")
    page = web(charlie).get(f"/customers/{ann.public_id}/").content.decode()
    response = web(charlie).post(f"/customers/{ann.public_id}/export/")

    assert refused.status_code == 403
    assert "Export data" in page
    assert response.status_code == 200
    assert response["Content-Disposition"] == f'attachment; filename="{ann.public_id}.json"'
    document = response.json()
    assert document["customer"]["id"] == ann.public_id
    assert len(document["interactions"]) == 3
    exports = AuditEntry.objects.filter(action="customer.exported", object_id=ann.public_id)
    assert [e.actor_label for e in exports] == ["charlie"]


def test_export_is_not_a_get(web, charlie, ann):
    assert web(charlie).get(f"/customers/{ann.public_id}/export/").status_code == 405
    assert not AuditEntry.objects.filter(action="customer.exported").exists()
