"""The shell: login, navigation by role, the type-ahead search, the dashboard and error pages."""

from __future__ import annotations

import re

import pytest

from cxloop.customers import services as customer_services
from tests.web.conftest import HTMX, make_customer

PRIVATE_PAGES = [
    "/",
    "/customers/",
    "/customers/new/",
    "/customers/cus_nothing/",
    "/suggestions/",
    "/audit/",
    "/tokens/",
    "/settings/attributes/",
    "/search/?q=ann",
]


@pytest.mark.parametrize("url", PRIVATE_PAGES)
def test_pages_send_anonymous_visitors_to_login(client, db, url):
    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=")


def test_login_page_and_health_check_are_public(client, db):
    assert client.get("/login/").status_code == 200
    health = client.get("/healthz")
    assert health.status_code == 200
    assert health.json() == {"status": "ok"}


def test_wrong_password_shows_an_error_and_right_one_lands_home(client, alice):
    wrong = client.post("/login/", {"username": "alice", "password": "nope"})

    assert wrong.status_code == 200
    assert b"did not match" in wrong.content

    right = client.post("/login/", {"username": "alice", "password": "alice-pass-123"})

    assert right.status_code == 302
    assert right["Location"] == "/"
    assert b"Welcome, alice" in client.get("/").content


def test_logout_needs_a_post_with_csrf(alice):
    from django.test import Client

    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.force_login(alice.user)

    assert csrf_client.post("/logout/").status_code == 403
    assert csrf_client.get("/").status_code == 200


def test_admins_see_audit_settings_and_admin_in_navigation(web, ada):
    html = web(ada).get("/").content.decode()

    assert 'href="/audit/"' in html
    assert 'href="/settings/attributes/"' in html
    assert 'href="/admin/"' in html
    assert 'href="/tokens/"' in html


@pytest.mark.parametrize("member_name", ["alice", "bob", "charlie"])
def test_non_admins_do_not_see_admin_entries(web, request, member_name):
    html = web(request.getfixturevalue(member_name)).get("/").content.decode()

    assert 'href="/audit/"' not in html
    assert 'href="/settings/attributes/"' not in html
    assert 'href="/admin/"' not in html
    assert 'href="/customers/"' in html


def test_current_section_is_marked_in_navigation(web, alice):
    html = web(alice).get("/customers/").content.decode()

    assert 'href="/customers/" aria-current="page"' in html


def test_pending_suggestions_badge_counts_open_pairs(web, alice, system, ann, bert):
    customer_services.suggest_merge(system, ann, bert, probability=0.91, source="splink", evidence={})

    html = web(alice).get("/").content.decode()

    assert 'aria-label="1 pending"' in html


def test_type_ahead_finds_customers_by_name_email_and_phone(web, alice, ann, bert):
    client = web(alice)

    by_name = client.get("/search/", {"q": "smi"}, **HTMX).content.decode()
    by_email = client.get("/search/", {"q": "BERT@example.com"}, **HTMX).content.decode()
    by_phone = client.get("/search/", {"q": "07700 900123"}, **HTMX).content.decode()

    assert f"/customers/{ann.public_id}/" in by_name
    assert bert.public_id not in by_name
    assert f"/customers/{bert.public_id}/" in by_email
    assert ann.public_id not in by_email
    assert f"/customers/{ann.public_id}/" in by_phone
    assert bert.public_id not in by_phone
    assert 'role="option"' in by_name


def test_type_ahead_shows_at_most_eight_and_says_when_nothing_matches(web, alice, system):
    for index in range(10):
        make_customer(system, f"Carla Number {index}")
    client = web(alice)

    many = client.get("/search/", {"q": "carla"}, **HTMX).content.decode()
    none = client.get("/search/", {"q": "zzzz"}, **HTMX).content.decode()

    assert many.count('role="option"') == 8
    assert "No customer matches" in none


def test_type_ahead_escapes_what_was_typed(web, alice):
    html = web(alice).get("/search/", {"q": "<script>alert(1)</script>"}, **HTMX).content.decode()

    assert "<script>alert(1)" not in html
    assert "&lt;script&gt;" in html


def test_dashboard_counts_and_recent_audit_for_admins_only(web, ada, alice, ann, bert):
    admin_html = web(ada).get("/").content.decode()

    assert "Recent activity" in admin_html
    assert "customer.created" in admin_html
    assert '<span class="stat-value">2</span><span class="stat-label">Customers</span>' in admin_html

    agent_html = web(alice).get("/").content.decode()
    assert "Recent activity" not in agent_html


def test_unknown_customer_is_a_404_page(web, alice):
    response = web(alice).get("/customers/cus_doesnotexist/")

    assert response.status_code == 404
    assert b"Not found" in response.content


def test_errors_of_htmx_requests_are_short_plain_text(web, charlie, ann):
    response = web(charlie).get(f"/customers/{ann.public_id}/profile/", {"edit": "1"}, **HTMX)

    assert response.status_code == 403
    assert response["Content-Type"].startswith("text/plain")
    assert b"permission" in response.content


def test_pages_load_only_local_assets(web, alice, ann):
    html = web(alice).get(f"/customers/{ann.public_id}/").content.decode()

    assert "/static/django_htmx/htmx-2.min.js" in html
    assert "/static/web/app.js" in html
    assert "http://" not in html.replace("http://www.w3.org", "")
    assert "https://" not in html


def test_every_post_form_carries_a_csrf_token(web, ada, ann, bert, system):
    customer_services.define_attribute(system, key="tier", label="Tier", type="text")
    suggestion = customer_services.suggest_merge(system, ann, bert, probability=0.9, source="splink", evidence={})
    client = web(ada)
    pages = [
        "/",
        f"/customers/{ann.public_id}/",
        f"/customers/{ann.public_id}/delete/",
        f"/customers/{ann.public_id}/merge/{bert.public_id}/",
        f"/suggestions/{suggestion.public_id}/",
        "/tokens/",
        "/settings/attributes/",
        "/customers/new/",
    ]

    forms = []
    for url in pages:
        html = client.get(url).content.decode()
        forms += re.findall(r"<form[^>]*method=\"post\".*?</form>", html, flags=re.DOTALL)

    assert len(forms) > 15
    assert all('name="csrfmiddlewaretoken"' in form for form in forms)


def test_htmx_requests_carry_the_csrf_token_in_a_header(web, alice):
    html = web(alice).get("/").content.decode()

    token = re.search(r"hx-headers='\{\"X-CSRFToken\": \"([^\"]+)\"\}'", html)
    assert token is not None
    assert len(token.group(1)) >= 32


@pytest.mark.parametrize(
    "url",
    [
        "/customers/new/",
        "/customers/cus_x/profile/",
        "/customers/cus_x/interactions/",
        "/customers/cus_x/delete/",
        "/suggestions/sug_x/accept/",
        "/merges/mrg_x/undo/",
        "/tokens/",
        "/settings/attributes/",
    ],
)
def test_anonymous_posts_are_sent_to_login_and_change_nothing(client, db, url):
    from cxloop.customers.models import Customer

    response = client.post(url, {"name": "x", "keep": "left"})

    assert response.status_code == 302
    assert response["Location"].startswith("/login/")
    assert Customer.objects.count() == 0
