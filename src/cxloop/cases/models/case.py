"""The case and what hangs off it: its plan (tasks), linked conversations, links to other cases,
hand-overs and repeat contacts."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from cxloop.core.models import PublicIdModel


class CaseStatus(models.TextChoices):
    NEW = "new", "New"
    OPEN = "open", "Open"
    WAITING_ON_CUSTOMER = "waiting_on_customer", "Waiting on customer"
    WAITING_ON_US = "waiting_on_us", "Waiting on us"
    RESOLVED = "resolved", "Resolved"
    CLOSED = "closed", "Closed"


# Statuses in which a case still needs work (queues show these; SLA clocks may run).
ACTIVE_STATUSES = (
    CaseStatus.NEW.value,
    CaseStatus.OPEN.value,
    CaseStatus.WAITING_ON_CUSTOMER.value,
    CaseStatus.WAITING_ON_US.value,
)


class Priority(models.TextChoices):
    LOW = "low", "Low"
    NORMAL = "normal", "Normal"
    HIGH = "high", "High"
    URGENT = "urgent", "Urgent"


class Case(PublicIdModel):
    PUBLIC_ID_PREFIX = "case"

    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="cases")
    goal = models.ForeignKey("cases.Goal", on_delete=models.PROTECT, related_name="cases")
    category = models.ForeignKey("cases.Category", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    subject = models.CharField(max_length=300)
    description = models.TextField(blank=True)
    status = models.CharField(max_length=20, choices=CaseStatus.choices, default=CaseStatus.NEW)
    priority = models.CharField(max_length=10, choices=Priority.choices, default=Priority.NORMAL)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="owned_cases"
    )
    team = models.ForeignKey("accounts.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    queue = models.ForeignKey("cases.Queue", null=True, blank=True, on_delete=models.SET_NULL, related_name="cases")
    source_channel = models.CharField(max_length=16, blank=True, help_text="Where the case came from.")
    custom_fields = models.JSONField(default=dict, blank=True)
    version = models.PositiveIntegerField(default=1, help_text="Raised on every change (optimistic locking).")

    opened_at = models.DateTimeField()
    first_response_at = models.DateTimeField(null=True, blank=True)
    last_customer_message_at = models.DateTimeField(null=True, blank=True)
    last_response_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    goal_achieved = models.BooleanField(null=True, blank=True, help_text="The outcome: was the goal achieved?")
    outcome = models.TextField(blank=True, help_text="How the case ended.")

    is_repeat_contact = models.BooleanField(default=False)
    repeat_count = models.PositiveIntegerField(default=0)
    handover_count = models.PositiveIntegerField(default=0)
    reopen_count = models.PositiveIntegerField(default=0)
    merged_into = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    # SLA state, kept by the SLA service so queues can show and sort by it without joining the clocks.
    sla_policy = models.ForeignKey(
        "cases.SlaPolicy", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    sla_state = models.CharField(max_length=10, default="none")
    sla_next_due_at = models.DateTimeField(null=True, blank=True)

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        indexes = [
            models.Index(fields=["owner", "status", "-id"], name="cases_owner_status"),
            models.Index(fields=["team", "status", "-id"], name="cases_team_status"),
            models.Index(fields=["queue", "status", "-id"], name="cases_queue_status"),
            models.Index(fields=["status", "-id"], name="cases_status"),
            models.Index(fields=["customer", "-opened_at"], name="cases_customer"),
            # "Breaching soon" reads this in order and stops at a page; only cases with a running clock have a due time.
            models.Index(
                fields=["sla_next_due_at", "id"],
                name="cases_sla_due",
                condition=models.Q(sla_next_due_at__isnull=False),
            ),
            models.Index(fields=["category", "-opened_at"], name="cases_category_opened"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.subject}"

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES


class CaseConversation(models.Model):
    """A conversation (thread) that belongs to a case: its messages show on the case and replies continue it."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="conversation_links")
    thread = models.ForeignKey("interactions.Thread", on_delete=models.CASCADE, related_name="+")
    linked_at = models.DateTimeField()
    linked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [models.UniqueConstraint(fields=["case", "thread"], name="cases_conversation_unique")]
        indexes = [models.Index(fields=["thread"], name="cases_conversation_thread")]

    def __str__(self) -> str:
        return f"{self.case_id} ↔ {self.thread_id}"


class CaseLinkKind(models.TextChoices):
    DUPLICATE_OF = "duplicate_of", "Duplicate of"
    RELATED = "related", "Related to"
    CHILD_OF = "child_of", "Child of"


class CaseLink(models.Model):
    """A link from one case to another. "child_of" reads: this case is a child of the other (its parent)."""

    from_case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="links_out")
    to_case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="links_in")
    kind = models.CharField(max_length=20, choices=CaseLinkKind.choices)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["from_case", "to_case", "kind"], name="cases_link_unique"),
            models.CheckConstraint(condition=~models.Q(from_case=models.F("to_case")), name="cases_link_not_self"),
        ]

    def __str__(self) -> str:
        return f"{self.from_case_id} {self.kind} {self.to_case_id}"


class TaskStatus(models.TextChoices):
    TODO = "todo", "To do"
    DONE = "done", "Done"
    SKIPPED = "skipped", "Skipped"


class CaseTask(models.Model):
    """A step of the case's plan. Seeded from a template, then added, skipped and reordered per case."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="tasks")
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    position = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=10, choices=TaskStatus.choices, default=TaskStatus.TODO)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="case_tasks"
    )
    due_at = models.DateTimeField(null=True, blank=True)
    checklist = models.JSONField(default=list, blank=True, help_text='[{"text": "…", "done": false}, …]')
    from_template = models.ForeignKey(
        "cases.CaseTemplateTask", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    skip_reason = models.CharField(max_length=300, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    completed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["case", "position", "id"]
        indexes = [models.Index(fields=["owner", "status", "due_at"], name="cases_task_owner_due")]

    def __str__(self) -> str:
        return self.title


class Handover(models.Model):
    """A case moved from one person or team to another, with the note that carries the context.

    `summary` keeps what the receiver was shown at the time (who the customer is, the history, open
    promises, what was already asked and answered), so the record stays true after the case changes.
    """

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="handovers")
    from_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    to_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="handovers_received"
    )
    from_team = models.ForeignKey("accounts.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    to_team = models.ForeignKey("accounts.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    note = models.TextField()
    summary = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["case", "created_at", "id"]
        indexes = [models.Index(fields=["to_user", "acknowledged_at"], name="cases_handover_inbox")]

    def __str__(self) -> str:
        return f"hand-over of case {self.case_id}"


class RepeatContact(models.Model):
    """A customer came back about a matter a recent case already handled."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="repeat_contacts")
    previous_case = models.ForeignKey(Case, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    interaction_ref = models.CharField(max_length=32, blank=True, help_text="Public id of the inbound interaction.")
    matched_by = models.CharField(max_length=20, help_text="category | text | conversation")
    similarity = models.FloatField(null=True, blank=True)
    detected_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["detected_at"], name="cases_repeat_detected")]

    def __str__(self) -> str:
        return f"repeat contact on case {self.case_id}"
