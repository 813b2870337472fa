"""A wrong HTTP method on the API answers in the API's one error shape.

django-ninja dispatches methods itself and answers a method its path does not have with a plain-text
405; integrators parse every API error as `{"error": {...}}`, so the answer is rewritten here, keeping
the `Allow` header that says which methods the path does have.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse

from cxloop.api.errors import error_body


class MethodNotAllowedMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            response.status_code != 405
            or not request.path.startswith("/api/")
            or response.get("Content-Type", "").startswith("application/json")
        ):
            return response
        allowed = response.get("Allow", "")
        shaped = JsonResponse(
            error_body(
                "method_not_allowed", f"{request.method} is not allowed here; use {allowed or 'another method'}."
            ),
            status=405,
        )
        if allowed:
            shaped["Allow"] = allowed
        return shaped
