"""Errors of the visitor API beyond the shared ones (core.errors)."""

from __future__ import annotations

from cxloop.core.errors import CxloopError


class TokenRequiredError(CxloopError):
    code = "token_required"
    status = 401


class RateLimitedError(CxloopError):
    code = "rate_limited"
    status = 429

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PayloadTooLargeError(CxloopError):
    code = "payload_too_large"
    status = 413


class OriginRefusedError(CxloopError):
    code = "origin_not_allowed"
    status = 403


class MethodNotAllowedError(CxloopError):
    code = "method_not_allowed"
    status = 405


class StreamingOffError(CxloopError):
    code = "streaming_off"
    status = 503
