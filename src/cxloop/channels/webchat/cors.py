"""Which web pages may call the visitor API: the instance's own origin and CXLOOP_CHAT_ALLOWED_ORIGINS.

Browsers enforce CORS only on reading answers; a request from a page of a refused origin is also refused
here (403), so a foreign page cannot even post into a chat.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest, HttpResponseBase

ALLOWED_HEADERS = "Authorization, Content-Type, Last-Event-ID"
ALLOWED_METHODS = "GET, POST, OPTIONS"


def _normal(origin: str) -> str:
    return origin.strip().rstrip("/").lower()


def _own_origins(request: HttpRequest) -> set[str]:
    own = {_normal(f"{request.scheme}://{request.get_host()}")}
    for url in (settings.CXLOOP_PUBLIC_URL, settings.CXLOOP_BASE_URL):
        parts = urlsplit(url)
        if parts.scheme and parts.netloc:
            own.add(_normal(f"{parts.scheme}://{parts.netloc}"))
    return own


def allowed_origin(request: HttpRequest) -> str | None:
    """The Origin to echo back ("" when the request named none, e.g. curl or a same-origin GET); None: refused."""
    origin = request.headers.get("Origin", "")
    if not origin:
        return ""
    wanted = _normal(origin)
    configured = {_normal(item) for item in settings.CXLOOP_CHAT_ALLOWED_ORIGINS}
    if "*" in configured or wanted in configured or wanted in _own_origins(request):
        return origin
    return None


def add_headers(response: HttpResponseBase, origin: str, *, preflight: bool = False) -> HttpResponseBase:
    response["Vary"] = "Origin"
    if not origin:
        return response
    response["Access-Control-Allow-Origin"] = origin
    if preflight:
        response["Access-Control-Allow-Methods"] = ALLOWED_METHODS
        response["Access-Control-Allow-Headers"] = ALLOWED_HEADERS
        response["Access-Control-Max-Age"] = "600"
    return response
