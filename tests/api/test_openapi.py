"""The OpenAPI schema and the docs page: served by cxloop itself, with no asset from another host."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from io import StringIO

import pytest
from django.contrib.staticfiles import finders
from django.core.management import call_command
from django.test import Client

from cxloop import __version__


class _Links(HTMLParser):
    """Every URL a page makes the browser fetch: src, href, and the swagger settings' "url"."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in {"src", "href"} and value:
                self.urls.append(value)


def _fetched_urls(html: str) -> list[str]:
    parser = _Links()
    parser.feed(html)
    return parser.urls + re.findall(r'"url"\s*:\s*"([^"]+)"', html)


def test_the_schema_is_public_openapi_3_1_and_describes_the_error_shape(client):
    response = client.get("/api/v1/openapi.json")

    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.1")
    assert (schema["info"]["title"], schema["info"]["version"]) == ("cxloop API", __version__)
    assert '{"error": {"code", "message", "fields"}}' in schema["info"]["description"]
    assert set(schema["components"]["securitySchemes"]) == {"BearerToken", "StaffSession"}
    assert schema["components"]["securitySchemes"]["BearerToken"] == {"type": "http", "scheme": "bearer"}
    operations = [op for methods in schema["paths"].values() for op in methods.values()]
    assert len(operations) >= 25
    assert all(op["security"] == [{"BearerToken": []}, {"StaffSession": []}] for op in operations)
    assert all(path.startswith("/api/v1/") for path in schema["paths"])


def test_the_schema_names_no_other_host(client):
    text = client.get("/api/v1/openapi.json").content.decode()

    assert re.findall(r"https?://[^\s\"']+", text) == []


def _assert_local_assets(client: Client, html: str) -> list[str]:
    urls = _fetched_urls(html)
    assert urls, "the docs page fetches nothing?"
    for url in urls:
        assert url.startswith("/"), url
        assert not url.startswith("//"), url
    assert not re.search(r"(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}/", html, flags=re.IGNORECASE)
    assets = [u for u in urls if u.startswith("/static/")]
    assert any(re.match(r"^/static/ninja/swagger-ui[.\w-]*\.css$", u) for u in assets), assets
    assert any(re.match(r"^/static/ninja/swagger-ui-bundle[.\w-]*\.js$", u) for u in assets), assets
    assert "/api/v1/openapi.json" in urls
    return assets


def test_the_docs_page_loads_only_local_assets(client):
    # when
    response = client.get("/api/v1/docs")

    # then: every file it names ships with cxloop's dependencies
    assert response.status_code == 200
    for asset in _assert_local_assets(client, response.content.decode()):
        assert finders.find(asset.removeprefix("/static/")), f"{asset} is not a packaged static file"


def test_in_production_the_docs_assets_are_hashed_and_served_by_the_app(settings, tmp_path):
    """Production storage (CompressedManifest, after collectstatic): the page still names only local files,
    and WhiteNoise inside the app serves each of them."""
    # given
    settings.STATIC_ROOT = tmp_path
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }
    call_command("collectstatic", "--noinput", verbosity=0, stdout=StringIO())
    browser = Client()  # a new client builds the middleware, so WhiteNoise sees the collected files

    # when
    page = browser.get("/api/v1/docs")

    # then
    assert page.status_code == 200
    for asset in _assert_local_assets(browser, page.content.decode()):
        assert re.search(r"\.[0-9a-f]{12}\.(css|js|png|svg)$", asset), f"{asset} is not a hashed name"
        served = browser.get(asset)
        assert served.status_code == 200, asset
        assert b"".join(served.streaming_content)


@pytest.mark.parametrize("path", ["/api/v1/openapi.json", "/api/v1/docs"])
def test_schema_and_docs_need_no_credentials(client, path):
    assert client.get(path).status_code == 200
