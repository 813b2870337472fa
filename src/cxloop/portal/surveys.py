"""The customer's survey page (signed one-time link, no login). Built out by the feedback work of issue 5."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseNotFound


def survey_page(request: HttpRequest, token: str) -> HttpResponse:
    return HttpResponseNotFound("Surveys are not available yet.")
