"""The embeddable script and the demo page that embeds it."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def test_the_widget_is_javascript_cached_and_loadable_from_any_site(client):
    response = client.get("/chat/widget.js")

    assert response.status_code == 200
    assert response["Content-Type"] == "text/javascript; charset=utf-8"
    assert response["Cache-Control"] == "public, max-age=3600"
    assert response["Cross-Origin-Resource-Policy"] == "cross-origin"
    assert response["ETag"].startswith('"')
    body = response.content.decode()
    assert "attachShadow" in body
    assert "EventSource" in body
    assert "localStorage" in body
    assert "http://" not in body.replace("http://www.w3.org", "")
    assert "https://" not in body.split("*/", 1)[1]


def test_the_widget_is_revalidated_by_etag(client):
    etag = client.get("/chat/widget.js")["ETag"]

    response = client.get("/chat/widget.js", headers={"If-None-Match": etag})

    assert response.status_code == 304
    assert response.content == b""


def test_the_cache_lifetime_is_a_setting(client, settings):
    settings.CXLOOP_CHAT_WIDGET_MAX_AGE = 60

    assert client.get("/chat/widget.js")["Cache-Control"] == "public, max-age=60"


def test_the_demo_page_embeds_the_widget_with_one_script_tag(client):
    response = client.get("/chat/demo/")

    assert response.status_code == 200
    html = response.content.decode()
    assert html.count("<script") == 1
    assert '<script src="/chat/widget.js" data-cxloop-chat data-title="Chat with us" async></script>' in html


def test_the_demo_page_needs_no_login(client):
    assert client.get("/chat/demo/").status_code == 200
