"""What every endpoint that a business's website calls from its own pages needs: the page's origin checked against
the allowed websites, a rate per client address, CORS answers for POST, a JSON object body within a size, and
errors in the API's shape. The survey widget and the tracking snippet share it, so a fix to one holds for both.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from functools import wraps
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from cxloop.channels.webchat import ratelimit
from cxloop.channels.webchat.errors import (
    MethodNotAllowedError,
    OriginRefusedError,
    PayloadTooLargeError,
    RateLimitedError,
)
from cxloop.core.errors import CxloopError, ValidationError

View = Callable[..., HttpResponseBase]


def normal_origin(origin: str) -> str:
    return origin.strip().rstrip("/").lower()


def allowed_origins(request: HttpRequest, configured: Iterable[str]) -> set[str]:
    """The `configured` websites ("*": any), this instance as the request reached it, and its public URLs."""
    allowed = {normal_origin(item) for item in configured} | {normal_origin(f"{request.scheme}://{request.get_host()}")}
    for url in (settings.CXLOOP_PUBLIC_URL, settings.CXLOOP_BASE_URL):
        parts = urlsplit(url)
        if parts.scheme and parts.netloc:
            allowed.add(normal_origin(f"{parts.scheme}://{parts.netloc}"))
    return allowed


def page_origin(request: HttpRequest, allowed: set[str]) -> str | None:
    """The Origin to echo ("" when none was sent); None when the page's website is not allowed.

    A page always sends Origin with these POSTs; a request without one comes from no page (curl, a server), which
    the origin rule cannot judge; the rate limit and the signatures still apply to it."""
    origin = request.headers.get("Origin", "")
    if not origin:
        return ""
    return origin if "*" in allowed or normal_origin(origin) in allowed else None


def client_address(request: HttpRequest) -> str:
    forwarded = request.headers.get("X-Forwarded-For", "")
    if settings.SECURE_PROXY_SSL_HEADER and forwarded:
        return forwarded.split(",")[-1].strip()
    return str(request.META.get("REMOTE_ADDR", ""))


def rate_limit(request: HttpRequest, scope: str, per_minute: int) -> None:
    """429 (RateLimitedError with its Retry-After) once this address made `per_minute` calls in `scope`."""
    verdict = ratelimit.hit(f"{scope}:{ratelimit.client_key(client_address(request))}", per_minute, 60)
    if not verdict.allowed:
        raise RateLimitedError("Too many requests; please wait a moment.", retry_after=verdict.retry_after)


def error_response(exc: CxloopError) -> JsonResponse:
    response = JsonResponse(
        {"error": {"code": exc.code, "message": exc.message, "fields": exc.fields}}, status=exc.status
    )
    if isinstance(exc, RateLimitedError):
        response["Retry-After"] = str(exc.retry_after)
    return response


def json_object(request: HttpRequest, max_bytes: int) -> dict[str, Any]:
    """The body as a JSON object, whatever its content type says (sendBeacon and simple fetches post text/plain).

    413 past `max_bytes`; 422 for text that is not a JSON object, nests past the parser's depth, or holds U+0000
    (PostgreSQL text cannot)."""
    length = request.META.get("CONTENT_LENGTH") or "0"
    if not length.isdigit() or int(length) > max_bytes:
        raise PayloadTooLargeError(f"The body must be at most {max_bytes} bytes.")
    try:
        data = json.loads(request.body or b"{}")
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise ValidationError("The body is not JSON.", fields={"body": "must be a JSON object"}) from None
    if not isinstance(data, dict):
        raise ValidationError("The body is not a JSON object.", fields={"body": "must be a JSON object"})
    if b"\x00" in request.body or b"\\u0000" in request.body:
        raise ValidationError("The body holds a NUL character.", fields={"body": "must not contain NUL characters"})
    return data


def cross_site_post(allowed: Callable[[HttpRequest], set[str]], refused: str) -> Callable[[View], View]:
    """Preflight, CORS headers for the `allowed` websites (403 with `refused` for others), POST only, and the
    view's CxloopErrors in the API's shape."""

    def decorate(view: View) -> View:
        @csrf_exempt
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            origin = page_origin(request, allowed(request))
            if origin is None:
                return error_response(OriginRefusedError(refused))
            response: HttpResponseBase
            if request.method == "OPTIONS":
                response = HttpResponse(status=204)
                response["Access-Control-Allow-Methods"] = "POST, OPTIONS"
                response["Access-Control-Allow-Headers"] = "Content-Type"
                response["Access-Control-Max-Age"] = "600"
            elif request.method != "POST":
                response = error_response(MethodNotAllowedError(f"{request.method} is not allowed here."))
                response["Allow"] = "POST, OPTIONS"
            else:
                try:
                    response = view(request, *args, **kwargs)
                except CxloopError as exc:
                    response = error_response(exc)
            response["Vary"] = "Origin"
            response["Cache-Control"] = "no-store"
            if origin:
                response["Access-Control-Allow-Origin"] = origin
            return response

        return wrapper

    return decorate
