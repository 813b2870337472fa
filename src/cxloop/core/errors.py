"""Business errors carry their HTTP status and a stable code; the API renders them in one shape."""

from __future__ import annotations


class CxloopError(Exception):
    code: str = "error"
    status: int = 400

    def __init__(self, message: str, *, fields: dict[str, str] | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.fields = fields or {}
        if code is not None:
            self.code = code


class ValidationError(CxloopError):
    """Input that cannot be accepted; `fields` maps each offending field to its reason."""

    code = "validation_error"
    status = 422


class NotFoundError(CxloopError):
    code = "not_found"
    status = 404


class ConflictError(CxloopError):
    code = "conflict"
    status = 409


class PermissionDeniedError(CxloopError):
    code = "permission_denied"
    status = 403
