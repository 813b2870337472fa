"""Business errors of feedback (rendered by the API as {"error": {"code", "message", "fields"}})."""

from __future__ import annotations

from cxloop.core.errors import ConflictError, CxloopError


class SurveyLinkInvalidError(CxloopError):
    """A survey link that was not made by us (forged, cut short, or for an invitation that no longer exists)."""

    code = "survey_link_invalid"
    status = 404


class SurveyLinkExpiredError(CxloopError):
    code = "survey_link_expired"
    status = 410


class AlreadyAnsweredError(ConflictError):
    """One answer per invitation: a second submission changes nothing."""

    code = "already_answered"


class SurveyNotActiveError(ConflictError):
    code = "survey_not_active"


class SurveyFatigueError(ConflictError):
    """The customer was asked too recently (at most one survey per N days, overall and per survey)."""

    code = "survey_fatigue"


class SurveyWidgetNotAllowedError(CxloopError):
    """A website asked for a survey that is not active or not allowed in the web widget (told apart from an
    unknown survey only in the message: both are 404 to a web page)."""

    code = "survey_not_in_widget"
    status = 404
