"""Business errors of case management (rendered by the API as {"error": {"code", "message", "fields"}})."""

from __future__ import annotations

from cxloop.core.errors import ConflictError, CxloopError


class IllegalTransitionError(ConflictError):
    """A status change the state machine does not allow; `allowed` lists the ones it does."""

    code = "illegal_transition"

    def __init__(self, current: str, requested: str, allowed: tuple[str, ...]) -> None:
        super().__init__(
            f"A case cannot go from {current!r} to {requested!r}. Allowed from {current!r}: "
            f"{', '.join(allowed) or 'none'}.",
            fields={"status": f"allowed: {', '.join(allowed) or 'none'}"},
        )
        self.current = current
        self.requested = requested
        self.allowed = allowed


class StaleVersionError(ConflictError):
    """Someone else changed the case since the caller read it (optimistic locking)."""

    code = "stale_version"

    def __init__(self, expected: int, current: int) -> None:
        super().__init__(
            f"The case was changed by someone else (your version {expected}, now {current}). Reload and try again.",
            fields={"version": f"current version is {current}"},
        )
        self.expected = expected
        self.current = current


class HandoverNoteRequiredError(CxloopError):
    code = "handover_note_required"
    status = 422

    def __init__(self) -> None:
        super().__init__(
            "Moving a case to another person or team needs a hand-over note.",
            fields={"note": "required when the case changes hands"},
        )


class CaseClosedError(ConflictError):
    code = "case_closed"
