"""Feedback tables: a survey, the invitations sent for it, the one response per invitation, and the loops that
follow up unhappy answers.

A survey's questions are one JSON document (see definitions.py) so that an admin edits a survey as a whole and
a response can always be read against the version it answered (`Invitation.survey_version`).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from cxloop.core.models import PublicIdModel


class SurveyKind(models.TextChoices):
    NPS = "nps", "Net Promoter Score (0–10)"
    CSAT = "csat", "Customer satisfaction (1–5)"
    CES = "ces", "Customer effort (1–7)"
    CUSTOM = "custom", "Custom questionnaire"


class SurveyStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    ACTIVE = "active", "Active"
    ARCHIVED = "archived", "Archived"


class SurveyPurpose(models.TextChoices):
    SERVICE = "service", "Service (after a contact or case)"
    MARKETING = "marketing", "Marketing (relationship surveys, needs marketing consent)"


class Survey(PublicIdModel):
    PUBLIC_ID_PREFIX = "srv"

    key = models.SlugField(max_length=60, unique=True)
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=10, choices=SurveyKind.choices)
    status = models.CharField(max_length=10, choices=SurveyStatus.choices, default=SurveyStatus.DRAFT)
    purpose = models.CharField(max_length=10, choices=SurveyPurpose.choices, default=SurveyPurpose.SERVICE)
    default_locale = models.CharField(max_length=20, default="en")
    definition = models.JSONField(default=dict, help_text="Questions, intro and thank-you text (definitions.py).")
    translations = models.JSONField(default=dict, blank=True, help_text="Per locale: the texts of the definition.")
    version = models.PositiveIntegerField(default=1, help_text="Raised whenever the definition changes.")
    fatigue_days = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="At most one invitation of this survey per customer in this many days."
    )
    link_valid_days = models.PositiveSmallIntegerField(default=30)
    widget_enabled = models.BooleanField(
        default=False, help_text="Websites may show this survey in the web widget (docs/feedback.md, Web widget)."
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    def __str__(self) -> str:
        return self.name


class TriggerKind(models.TextChoices):
    MANUAL = "manual", "Sent by staff"
    API = "api", "Sent through the API"
    EVENT = "event", "Triggered by an event"
    CHAT_END = "chat_end", "End of a chat"
    WIDGET = "widget", "Web widget"


class SurveyTrigger(PublicIdModel):
    """ "When <event> happens, N hours later, invite the customer on <channel>": e.g. case.resolved after 1 hour,
    or a purchase event after 7 days. Conditions narrow it (goals, channels of the case)."""

    PUBLIC_ID_PREFIX = "stg"

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="triggers")
    event_name = models.CharField(max_length=100)
    delay_minutes = models.PositiveIntegerField(default=0)
    channel = models.CharField(
        max_length=16, blank=True, help_text="Empty: the channel the customer last used with us, else email."
    )
    conditions = models.JSONField(default=dict, blank=True)
    is_active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )


class InvitationStatus(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"  # waits for send_at (a trigger with a delay)
    SENT = "sent", "Sent"
    OPENED = "opened", "Opened"
    ANSWERED = "answered", "Answered"
    SKIPPED = "skipped", "Skipped"  # survey fatigue, no address, consent: see `skip_reason`
    EXPIRED = "expired", "Expired"


class Invitation(PublicIdModel):
    """One customer asked one survey once. Its signed link opens the survey; it takes one response."""

    PUBLIC_ID_PREFIX = "inv"

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="invitations")
    survey_version = models.PositiveIntegerField(default=1)
    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="survey_invitations")
    channel = models.CharField(max_length=16, help_text="How the invitation reached the customer (email, sms, web…).")
    locale = models.CharField(max_length=20, blank=True)
    status = models.CharField(max_length=10, choices=InvitationStatus.choices, default=InvitationStatus.SENT)
    skip_reason = models.CharField(max_length=300, blank=True)
    trigger = models.CharField(max_length=10, choices=TriggerKind.choices, default=TriggerKind.MANUAL)
    trigger_ref = models.CharField(
        max_length=120, blank=True, help_text="What triggered it (a case id, an event id): one invitation per ref."
    )
    case_ref = models.CharField(max_length=32, blank=True)
    thread_ref = models.CharField(max_length=32, blank=True)
    team = models.ForeignKey("accounts.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    goal_key = models.CharField(max_length=60, blank=True)
    message_ref = models.CharField(max_length=32, blank=True, help_text="The outbound message that carried the link.")
    send_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    opened_at = models.DateTimeField(null=True, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField()
    partial_answers = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        indexes = [
            models.Index(fields=["customer", "sent_at"], name="feedback_inv_customer"),
            models.Index(fields=["survey", "status", "sent_at"], name="feedback_inv_survey"),
            models.Index(fields=["send_at"], name="feedback_inv_due", condition=models.Q(status="scheduled")),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["survey", "customer", "trigger_ref"],
                name="feedback_inv_once_per_ref",
                condition=~models.Q(trigger_ref=""),
            )
        ]


class Response(PublicIdModel):
    """The answer to one invitation (unique: nothing is counted twice), with the main score, the open answer and
    what text analytics found in it. Team, agent, goal and segment are copied at answer time so that scores group
    by what was true when the customer answered."""

    PUBLIC_ID_PREFIX = "rsp"

    invitation = models.OneToOneField(Invitation, on_delete=models.CASCADE, related_name="response")
    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="responses")
    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="survey_responses")
    kind = models.CharField(max_length=10, choices=SurveyKind.choices)
    score = models.SmallIntegerField(null=True, blank=True)
    comment = models.TextField(blank=True)
    answers = models.JSONField(default=dict)
    locale = models.CharField(max_length=20, blank=True)
    channel = models.CharField(max_length=16, blank=True)
    team = models.ForeignKey("accounts.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    goal_key = models.CharField(max_length=60, blank=True)
    segment = models.CharField(max_length=60, blank=True, help_text="The customer's lifecycle stage when answering.")
    case_ref = models.CharField(max_length=32, blank=True)
    sentiment = models.FloatField(null=True, blank=True)
    sentiment_label = models.CharField(max_length=10, blank=True)
    emotion = models.CharField(max_length=20, blank=True)
    emotions = models.JSONField(default=dict, blank=True)
    language = models.CharField(max_length=12, blank=True)
    key_phrases = models.JSONField(default=list, blank=True)
    interaction_ref = models.CharField(max_length=32, blank=True)
    submitted_at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["survey", "submitted_at"], name="feedback_rsp_survey"),
            models.Index(fields=["kind", "submitted_at"], name="feedback_rsp_kind"),
            models.Index(fields=["customer", "submitted_at"], name="feedback_rsp_customer"),
        ]


class LoopRule(PublicIdModel):
    """ "When an answer is this unhappy, open a follow-up case like this". Rules are tried in `position` order;
    the first that matches opens the loop."""

    PUBLIC_ID_PREFIX = "lpr"

    name = models.CharField(max_length=200)
    position = models.PositiveIntegerField(default=0)
    is_active = models.BooleanField(default=True)
    survey = models.ForeignKey(Survey, null=True, blank=True, on_delete=models.CASCADE, related_name="loop_rules")
    conditions = models.JSONField(
        default=dict,
        help_text='e.g. {"kinds": ["nps"], "score_at_most": 6, "sentiment_below": -0.3, "emotions": ["anger"]}',
    )
    category = models.ForeignKey("cases.Category", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    goal = models.ForeignKey("cases.Goal", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    priority = models.CharField(max_length=10, default="high")
    assign_to_agent = models.BooleanField(
        default=True, help_text="Give the follow-up to the agent who served the customer, when known."
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    team = models.ForeignKey("accounts.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["position", "id"]


class LoopState(models.TextChoices):
    OPEN = "open", "Open"
    CONTACTED = "contacted", "Customer contacted"
    RESOLVED = "resolved", "Resolved"


class LoopOutcome(models.TextChoices):
    RECOVERED = "recovered", "Recovered: the customer is satisfied now"
    PARTLY = "partly", "Partly recovered"
    NOT_RECOVERED = "not_recovered", "Not recovered"
    NO_RESPONSE = "no_response", "Customer did not respond"


class Loop(PublicIdModel):
    """The follow-up of one unhappy answer: open → customer contacted → resolved, with an outcome."""

    PUBLIC_ID_PREFIX = "lop"

    response = models.OneToOneField(Response, on_delete=models.CASCADE, related_name="loop")
    rule = models.ForeignKey(LoopRule, null=True, blank=True, on_delete=models.SET_NULL, related_name="loops")
    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="feedback_loops")
    case_ref = models.CharField(max_length=32, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    team = models.ForeignKey("accounts.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    state = models.CharField(max_length=10, choices=LoopState.choices, default=LoopState.OPEN)
    outcome = models.CharField(max_length=16, choices=LoopOutcome.choices, blank=True)
    outcome_note = models.CharField(max_length=1000, blank=True)
    opened_at = models.DateTimeField()
    contacted_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        indexes = [
            models.Index(fields=["state", "opened_at"], name="feedback_loop_state"),
            models.Index(fields=["owner", "state"], name="feedback_loop_owner"),
            # The case page asks "is this case a follow-up?" and case events find their loop by the case's id.
            models.Index(fields=["case_ref"], name="feedback_loop_case"),
        ]
