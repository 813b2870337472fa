"""Idempotency-Key on API creates: a retried POST returns the first answer instead of acting twice.

The key is scoped to the caller's credential, so two clients can never see each other's answers.
The first request claims the key before running (a unique row), so a concurrent duplicate gets a 409
instead of a second create. A 5xx answer releases the key, so the client may retry.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse

from cxloop.accounts import services as account_services
from cxloop.core import clock
from cxloop.core.models import IdempotencyRecord

HEADER = "HTTP_IDEMPOTENCY_KEY"
_STALE_CLAIM = timedelta(minutes=2)


def _error(code: str, message: str, status: int, field: str = "Idempotency-Key") -> JsonResponse:
    return JsonResponse({"error": {"code": code, "message": message, "fields": {field: message}}}, status=status)


def _scope(request: HttpRequest) -> str | None:
    """The hash of the caller's credential, or None when it is not a valid one.

    Only a credential that authenticates now gets a scope: otherwise a revoked token could still read the
    answers it was given while valid, and anonymous traffic could fill the table with claims.
    """
    credential = request.META.get("HTTP_AUTHORIZATION", "")
    if credential:
        scheme, _, secret = credential.partition(" ")
        if scheme.lower() != "bearer" or account_services.authenticate_token(secret.strip()) is None:
            return None
    else:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return None
        credential = "session:" + (request.COOKIES.get(settings.SESSION_COOKIE_NAME) or "")
    return hashlib.sha256(credential.encode()).hexdigest()


def _fingerprint(request: HttpRequest) -> str:
    digest = hashlib.sha256()
    digest.update(request.method.encode() if request.method else b"")
    digest.update(request.path.encode())
    digest.update(request.body)
    return digest.hexdigest()


def _holds_a_secret(response: HttpResponse) -> bool:
    return "no-store" in response.get("Cache-Control", "")


class IdempotencyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        key = request.META.get(HEADER)
        if not key or request.method != "POST" or not request.path.startswith("/api/"):
            return self.get_response(request)
        if len(key) > 255:
            return _error("validation_error", "Idempotency-Key must be at most 255 characters.", 422)
        scope = _scope(request)
        if scope is None:  # unauthenticated: let the API answer 401 as usual
            return self.get_response(request)
        try:
            fingerprint = _fingerprint(request)
        except RequestDataTooBig:  # the API answers 413 itself; there is nothing to remember
            return self.get_response(request)
        claimed = self._claim(scope, key, fingerprint)
        if isinstance(claimed, HttpResponse):
            return claimed
        response = self.get_response(request)
        if response.status_code >= 500 or _holds_a_secret(response):
            # A 5xx lets the client retry. An answer marked no-store (a new token's secret) is never kept
            # at rest, so its key is released too: a retry acts again rather than replaying the secret.
            IdempotencyRecord.objects.filter(pk=claimed.pk).delete()
            return response
        IdempotencyRecord.objects.filter(pk=claimed.pk).update(
            status_code=response.status_code,
            response_body=response.content,
            content_type=response.get("Content-Type", "application/json"),
        )
        return response

    def _claim(self, scope: str, key: str, fingerprint: str) -> IdempotencyRecord | HttpResponse:
        horizon = clock.now() - timedelta(hours=settings.CXLOOP_IDEMPOTENCY_HOURS)
        IdempotencyRecord.objects.filter(scope=scope, key=key, created_at__lt=horizon).delete()
        try:
            with transaction.atomic():
                return IdempotencyRecord.objects.create(scope=scope, key=key, fingerprint=fingerprint)
        except IntegrityError:
            pass
        existing = IdempotencyRecord.objects.filter(scope=scope, key=key).first()
        if existing is None:  # expired and removed between our two statements
            return self._claim(scope, key, fingerprint)
        if existing.fingerprint != fingerprint:
            return _error(
                "idempotency_key_reused",
                "This Idempotency-Key was used with a different request; use a new key.",
                422,
            )
        if existing.status_code is None:
            if clock.now() - existing.created_at > _STALE_CLAIM:
                existing.delete()
                return self._claim(scope, key, fingerprint)
            return _error("request_in_progress", "A request with this Idempotency-Key is still running.", 409)
        response = HttpResponse(
            bytes(existing.response_body or b""), status=existing.status_code, content_type=existing.content_type
        )
        response["Idempotent-Replayed"] = "true"
        return response
