"""Feedback that is acted on: surveys (NPS, CSAT, CES, custom), invitations, responses, closed-loop follow-up."""
