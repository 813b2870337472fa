"""Checks every API operation runs before its handler, whatever the module.

JSON bodies: every body of this API is an object. django-ninja fills a schema whose fields all have
defaults from any other JSON value, so `null`, `12` or `[]` would create an empty customer; they are
refused instead.

NUL characters: PostgreSQL text cannot hold U+0000, so a request carrying one in its path, query or
JSON body would fail deep inside the database driver (a 500 on PostgreSQL, silently stored on SQLite).
No field of cxloop has a use for it, so it is refused up front as a validation error, on every database.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest

from cxloop.core.errors import ValidationError

_REASON = "must not contain NUL (U+0000) characters"
_NOT_AN_OBJECT = "must be a JSON object"


def _nul_location(request: HttpRequest) -> str | None:
    if "\x00" in request.path:
        return "path"
    for key, values in request.GET.lists():
        if "\x00" in key or any("\x00" in value for value in values):
            return key.replace("\x00", "") or "query"
    body = request.body
    if b"\x00" in body or b"\\u0000" in body:
        return "body"
    return None


def _body_is_not_an_object(request: HttpRequest) -> bool:
    if request.method not in {"POST", "PUT", "PATCH"} or request.content_type != "application/json":
        return False
    body = request.body.lstrip()
    return bool(body) and not body.startswith(b"{")


def guard_request(view: Callable[..., Any]) -> Callable[..., Any]:
    """Operation decorator (after authentication): a 422 naming where a NUL character was found, or a 422
    for a JSON body that is not an object."""

    @wraps(view)
    def checked(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        location = _nul_location(request)
        if location is not None:
            raise ValidationError(f"{location}: {_REASON}", fields={location: _REASON})
        if _body_is_not_an_object(request):
            raise ValidationError(f"The request body {_NOT_AN_OBJECT}.", fields={"body": _NOT_AN_OBJECT})
        return view(request, *args, **kwargs)

    return checked
