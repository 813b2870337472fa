"""The visitor API (public, token in a header, CORS-limited, rate-limited), the event streams, the widget.

Visitors are not logged in: a session's token, sent as `Authorization: Bearer <token>`, is their only
credential. Nothing here reads cookies, which is why these views need no CSRF token. Errors have the
API's shape, `{"error": {"code", "message", "fields"}}`, and never a 500 on bad input.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from functools import lru_cache, wraps
from pathlib import Path
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET

from cxloop.channels.webchat import cors, queries, ratelimit, services, sse
from cxloop.channels.webchat.errors import (
    MethodNotAllowedError,
    OriginRefusedError,
    PayloadTooLargeError,
    RateLimitedError,
    StreamingOffError,
    TokenRequiredError,
)
from cxloop.channels.webchat.models import ChatSession, SessionStatus
from cxloop.core.actor import Actor
from cxloop.core.errors import CxloopError, ValidationError
from cxloop.core.ids import whole_number

MAX_BODY_BYTES = 64 * 1024
WIDGET_JS = Path(__file__).with_name("static") / "webchat" / "widget.js"

View = Callable[..., HttpResponseBase]


def error_response(exc: CxloopError) -> JsonResponse:
    body = {"error": {"code": exc.code, "message": exc.message, "fields": exc.fields}}
    response = JsonResponse(body, status=exc.status)
    if isinstance(exc, RateLimitedError):
        response["Retry-After"] = str(exc.retry_after)
    return response


def visitor_endpoint(*methods: str) -> Callable[[View], View]:
    """CORS (preflight and answers), the allowed methods, and business errors rendered as JSON."""

    def decorate(view: View) -> View:
        @csrf_exempt
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            origin = cors.allowed_origin(request)
            if origin is None:
                return error_response(
                    OriginRefusedError("This website may not use the chat (CXLOOP_CHAT_ALLOWED_ORIGINS).")
                )
            if request.method == "OPTIONS":
                return cors.add_headers(HttpResponse(status=204), origin, preflight=True)
            if request.method not in methods:
                response: HttpResponseBase = error_response(
                    MethodNotAllowedError(f"{request.method} is not allowed here.")
                )
                response["Allow"] = ", ".join((*methods, "OPTIONS"))
            else:
                try:
                    response = view(request, *args, **kwargs)
                except CxloopError as exc:
                    response = error_response(exc)
            return cors.add_headers(response, origin)

        return wrapper

    return decorate


def client_address(request: HttpRequest) -> str:
    """The visitor's address; behind the proxy (CXLOOP_BEHIND_PROXY) the last hop it recorded."""
    forwarded = request.headers.get("X-Forwarded-For", "")
    if settings.SECURE_PROXY_SSL_HEADER and forwarded:
        return forwarded.split(",")[-1].strip()
    return str(request.META.get("REMOTE_ADDR", ""))


def _limit(key: str, limit: int, window: int) -> None:
    verdict = ratelimit.hit(key, limit, window)
    if not verdict.allowed:
        raise RateLimitedError("Too many requests; please wait a moment.", retry_after=verdict.retry_after)


def _limit_writes(request: HttpRequest, session: ChatSession) -> None:
    per_minute = int(settings.CXLOOP_CHAT_MESSAGES_PER_MINUTE)
    _limit(f"session:{session.public_id}", per_minute, 60)
    _limit(f"ip:{ratelimit.client_key(client_address(request))}", int(settings.CXLOOP_CHAT_IP_WRITES_PER_MINUTE), 60)


def _bearer(request: HttpRequest) -> str:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def _session(request: HttpRequest, session_id: str) -> ChatSession:
    token = _bearer(request)
    if not token:
        raise TokenRequiredError("Send the chat token as 'Authorization: Bearer <token>'.")
    return services.authenticate(session_id, token=token)


def _body(request: HttpRequest) -> dict[str, Any]:
    length = request.META.get("CONTENT_LENGTH") or "0"
    size = whole_number(length)
    if size is None or size > MAX_BODY_BYTES:
        raise PayloadTooLargeError(f"The body must be at most {MAX_BODY_BYTES} bytes.")
    if not request.body:
        return {}
    try:
        data = json.loads(request.body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ValidationError("The body is not JSON.", fields={"body": "must be a JSON object"}) from None
    if not isinstance(data, dict):
        raise ValidationError("The body is not a JSON object.", fields={"body": "must be a JSON object"})
    return data


def _session_data(session: ChatSession) -> dict[str, Any]:
    return {"id": session.public_id, "status": session.status, "last_seq": session.last_seq}


# --- the visitor API -------------------------------------------------------------------------------
@visitor_endpoint("POST")
def start(request: HttpRequest) -> HttpResponse:
    _limit(f"start:{ratelimit.client_key(client_address(request))}", int(settings.CXLOOP_CHAT_SESSIONS_PER_HOUR), 3600)
    _body(request)
    started = services.start_session(
        origin=request.headers.get("Origin", ""), user_agent=request.headers.get("User-Agent", "")
    )
    data = {
        **_session_data(started.session),
        "token": started.token,
        "stream_key": services.stream_key(started.session),
        "streaming": bool(settings.CXLOOP_CHAT_SSE),
    }
    return JsonResponse(data, status=201)


def _after(request: HttpRequest) -> int:
    raw = request.GET.get("after", "0").strip() or "0"
    number = whole_number(raw)
    if number is None:
        raise ValidationError("after must be a message number.", fields={"after": "must be a whole number ≥ 0"})
    return number


@visitor_endpoint("GET", "POST")
def messages(request: HttpRequest, session_id: str) -> HttpResponse:
    session = _session(request, session_id)
    if request.method == "GET":
        after = _after(request)
        services.touch(session)
        lines = [queries.message_data(m) for m in queries.messages_after(session, after)]
        return JsonResponse({**_session_data(session), "messages": lines})
    _limit_writes(request, session)
    body = _body(request)
    client_ref = body.get("client_id", "")
    message = services.post_visitor_message(
        session, body.get("text"), client_ref=client_ref if isinstance(client_ref, str) else ""
    )
    return JsonResponse({"message": queries.message_data(message)}, status=201)


@visitor_endpoint("POST")
def identify(request: HttpRequest, session_id: str) -> HttpResponse:
    session = _session(request, session_id)
    _limit_writes(request, session)
    message = services.identify(session, _body(request))
    return JsonResponse({"identified": True, "message": queries.message_data(message)})


@visitor_endpoint("POST")
def close(request: HttpRequest, session_id: str) -> HttpResponse:
    session = services.close_session(_session(request, session_id))
    return JsonResponse(_session_data(session))


@visitor_endpoint("GET")
def stream(request: HttpRequest, session_id: str) -> HttpResponseBase:
    """New lines as `event: message` (id = seq); ends after CXLOOP_CHAT_STREAM_SECONDS (see sse.py)."""
    if not settings.CXLOOP_CHAT_SSE:
        raise StreamingOffError("Streaming is off here; poll the messages instead.")
    token, key = _bearer(request), request.GET.get("key", "")
    if not token and not key:
        raise TokenRequiredError("Send the chat token as a bearer token, or the stream key as ?key=.")
    session = services.authenticate(session_id, token=token, key=key)
    services.touch(session)
    _take_slot()
    return sse.stream_response(_lines(session, sse.last_event_id(request)))


def _take_slot() -> None:
    if not sse.slots.take():
        raise StreamingOffError(
            "Too many open streams here just now; poll the messages instead.", code="streaming_busy"
        )


def _lines(session: ChatSession, after: int, directions: tuple[str, ...] = ()) -> Any:
    def fetch(since: int) -> list[dict[str, Any]]:
        found = queries.messages_after(session, since)
        return [queries.message_data(m) for m in found if not directions or m.direction in directions]

    return sse.events(fetch, after, is_open=lambda: queries.session_status(session.pk) == SessionStatus.OPEN)


# --- the agent's stream ----------------------------------------------------------------------------
@require_GET
def agent_stream(request: HttpRequest, thread_id: str) -> HttpResponseBase:
    """Every new line of the chat behind an inbox conversation, for a logged-in member of staff."""
    if not request.user.is_authenticated:
        return error_response(TokenRequiredError("Log in to follow a chat.", code="login_required"))
    try:
        session = queries.session_for_thread(Actor.for_user(request.user), thread_id)
        _take_slot()
    except CxloopError as exc:
        return error_response(exc)
    return sse.stream_response(_lines(session, sse.last_event_id(request)))


# --- the widget and its demo page ------------------------------------------------------------------
@lru_cache(maxsize=1)
def _widget() -> tuple[bytes, str]:
    content = WIDGET_JS.read_bytes()
    return content, '"' + hashlib.sha256(content).hexdigest()[:32] + '"'


@require_GET
def widget_js(request: HttpRequest) -> HttpResponse:
    """The one script a website embeds; cached an hour, revalidated by ETag, loadable from any site."""
    content, etag = _widget()
    if request.headers.get("If-None-Match", "") == etag:
        response = HttpResponse(status=304)
    else:
        response = HttpResponse(content, content_type="text/javascript; charset=utf-8")
    response["ETag"] = etag
    response["Cache-Control"] = f"public, max-age={int(settings.CXLOOP_CHAT_WIDGET_MAX_AGE)}"
    response["Cross-Origin-Resource-Policy"] = "cross-origin"
    return response


@require_GET
def demo(request: HttpRequest) -> HttpResponse:
    """A fake shop page that embeds the widget exactly as a customer's website would."""
    return render(request, "webchat/demo.html")
