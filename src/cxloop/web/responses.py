"""How staff views answer: login required, business errors as pages (never a 500), htmx partials.

Every view of the staff UI is wrapped in `staff_view`. A `PermissionDeniedError` becomes the 403 page,
a `NotFoundError` the 404 page, and any other `CxloopError` that a view did not turn into form errors
becomes an error page with the error's own status. For htmx requests the same errors answer with a
short plain-text body, which app.js shows as a toast (htmx does not swap error responses).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render

from cxloop.core.errors import CxloopError, NotFoundError, PermissionDeniedError

View = Callable[..., HttpResponse]


def is_htmx(request: HttpRequest) -> bool:
    return bool(getattr(request, "htmx", False))


def error_response(request: HttpRequest, exc: CxloopError, status: int) -> HttpResponse:
    if is_htmx(request):
        return HttpResponse(exc.message, status=status, content_type="text/plain; charset=utf-8")
    template = {403: "web/errors/403.html", 404: "web/errors/404.html"}.get(status, "web/errors/error.html")
    return render(request, template, {"error": exc, "status": status}, status=status)


def staff_view(view: View) -> View:
    """Require a logged-in user and turn business errors into the matching page."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except PermissionDeniedError as exc:
            return error_response(request, exc, 403)
        except NotFoundError as exc:
            return error_response(request, exc, 404)
        except CxloopError as exc:
            return error_response(request, exc, exc.status)

    return login_required(wrapper)


def partial_or_page(
    request: HttpRequest, template: str, context: dict[str, Any], *, title: str, status: int = 200
) -> HttpResponse:
    """Render `template` alone for htmx, or inside a minimal full page when JavaScript is off."""
    if is_htmx(request):
        return render(request, template, context, status=status)
    page_context = {**context, "partial_template": template, "page_title": title}
    return render(request, "web/partial_page.html", page_context, status=status)


def htmx_redirect(request: HttpRequest, url: str) -> HttpResponse:
    """Send the browser to `url`: a full navigation for htmx (HX-Redirect), a 302 otherwise."""
    if is_htmx(request):
        response = HttpResponse(status=204)
        response["HX-Redirect"] = url
        return response
    return HttpResponseRedirect(url)
