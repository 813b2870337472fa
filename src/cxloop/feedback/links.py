"""Signed survey links: the token is the credential of the customer-facing survey page (no login).

The token signs the invitation's public id; forging one needs SECRET_KEY. Expiry is the invitation's own
`expires_at` (set from the survey's `link_valid_days`), checked by the caller against the stored row, so a link
can be revoked or extended without changing the token.
"""

from __future__ import annotations

from django.conf import settings
from django.core import signing
from django.urls import reverse

from cxloop.feedback.errors import SurveyLinkInvalidError

SALT = "cxloop.feedback.survey-link"


def invitation_token(invitation_public_id: str) -> str:
    return signing.dumps(invitation_public_id, salt=SALT, compress=False)


def invitation_id_for_token(token: str) -> str:
    """The invitation public id a token was made for; SurveyLinkInvalidError for anything we did not sign."""
    try:
        value = signing.loads(token, salt=SALT)
    except signing.BadSignature as exc:
        raise SurveyLinkInvalidError("This survey link is not valid.") from exc
    if not isinstance(value, str) or not value.startswith("inv_"):
        raise SurveyLinkInvalidError("This survey link is not valid.")
    return value


def survey_path(invitation_public_id: str, *, score: int | None = None) -> str:
    path = reverse("portal:survey", args=[invitation_token(invitation_public_id)])
    return f"{path}?score={score}" if score is not None else path


def survey_url(invitation_public_id: str, *, score: int | None = None) -> str:
    """Absolute link for messages; `score` makes the one-click score link of an email (records it on open)."""
    return str(settings.CXLOOP_BASE_URL).rstrip("/") + survey_path(invitation_public_id, score=score)
