"""Business errors of journeys (rendered by the API as {"error": {"code", "message", "fields"}})."""

from __future__ import annotations

from cxloop.core.errors import ConflictError


class JourneyExistsError(ConflictError):
    code = "journey_exists"


class JourneyNotActiveError(ConflictError):
    """Enrolling into, or changing the status of, a journey whose status does not allow it."""

    code = "journey_not_active"


class AlreadyEnrolledError(ConflictError):
    """The re-entry policy keeps this customer out (already in the journey, or was in it too recently)."""

    code = "already_enrolled"


class EnrolmentFinishedError(ConflictError):
    code = "enrolment_finished"
