"""Service levels: business calendars (hours and holidays per team), policies, and each case's clocks."""

from __future__ import annotations

from django.db import models


def default_week() -> dict[str, list[list[str]]]:
    """Monday to Friday, 09:00-17:00."""
    return {day: [["09:00", "17:00"]] for day in ("mon", "tue", "wed", "thu", "fri")} | {"sat": [], "sun": []}


class BusinessCalendar(models.Model):
    """When a team works: opening intervals per weekday in a time zone, and holidays.

    `hours` maps mon…sun to lists of ["HH:MM", "HH:MM"] intervals (empty: closed that day). A calendar with
    `is_always_open` counts every minute (24/7 support).
    """

    name = models.CharField(max_length=100, unique=True)
    time_zone = models.CharField(max_length=64, default="UTC")
    hours = models.JSONField(default=default_week)
    is_always_open = models.BooleanField(default=False)
    is_default = models.BooleanField(default=False, help_text="Used for teams without a calendar of their own.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Holiday(models.Model):
    calendar = models.ForeignKey(BusinessCalendar, on_delete=models.CASCADE, related_name="holidays")
    date = models.DateField()
    name = models.CharField(max_length=100)

    class Meta:
        ordering = ["calendar", "date"]
        constraints = [models.UniqueConstraint(fields=["calendar", "date"], name="cases_holiday_unique")]

    def __str__(self) -> str:
        return f"{self.date} {self.name}"


class TeamCalendar(models.Model):
    """Which calendar a team's SLAs are counted in."""

    team = models.OneToOneField("accounts.Team", on_delete=models.CASCADE, related_name="business_calendar")
    calendar = models.ForeignKey(BusinessCalendar, on_delete=models.CASCADE, related_name="teams")

    def __str__(self) -> str:
        return f"{self.team_id} → {self.calendar_id}"


class SlaPolicy(models.Model):
    """Targets for cases that match: the first active policy by position whose conditions all hold applies.

    An empty condition list matches anything. Targets are business minutes in the case team's calendar.
    """

    name = models.CharField(max_length=100, unique=True)
    position = models.PositiveSmallIntegerField(default=0)
    is_active = models.BooleanField(default=True)
    priorities = models.JSONField(default=list, blank=True)
    categories = models.ManyToManyField("cases.Category", blank=True, related_name="+")
    customer_tiers = models.JSONField(default=list, blank=True)
    first_response_minutes = models.PositiveIntegerField(null=True, blank=True)
    next_response_minutes = models.PositiveIntegerField(null=True, blank=True)
    resolution_minutes = models.PositiveIntegerField(null=True, blank=True)
    warn_before_minutes = models.PositiveIntegerField(default=30, help_text="Warn this many business minutes ahead.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["position", "id"]
        verbose_name_plural = "SLA policies"

    def __str__(self) -> str:
        return self.name


class SlaMetric(models.TextChoices):
    FIRST_RESPONSE = "first_response", "First response"
    NEXT_RESPONSE = "next_response", "Next response"
    RESOLUTION = "resolution", "Resolution"


class SlaClockState(models.TextChoices):
    RUNNING = "running", "Running"
    PAUSED = "paused", "Paused"
    MET = "met", "Met"
    BREACHED = "breached", "Breached"  # still running past its target; stops (as breached) when met late
    CANCELLED = "cancelled", "Cancelled"


class SlaState(models.TextChoices):
    """The case-level summary kept on Case.sla_state for queues."""

    NONE = "none", "No SLA"
    OK = "ok", "On track"
    WARNING = "warning", "Breaching soon"
    BREACHED = "breached", "Breached"
    PAUSED = "paused", "Paused"
    MET = "met", "Met"


class SlaClock(models.Model):
    """One target of one case. Business seconds are counted; `due_at` is recomputed whenever the clock resumes.

    `met_at` is set when the target is reached (late or not); `breached_at` when the due time passes first.
    """

    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="sla_clocks")
    metric = models.CharField(max_length=20, choices=SlaMetric.choices)
    state = models.CharField(max_length=10, choices=SlaClockState.choices, default=SlaClockState.RUNNING)
    target_seconds = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    resumed_at = models.DateTimeField(null=True, blank=True, help_text="When it last started counting.")
    elapsed_seconds = models.PositiveIntegerField(default=0, help_text="Business seconds counted before resumed_at.")
    due_at = models.DateTimeField(null=True, blank=True)
    warn_at = models.DateTimeField(null=True, blank=True)
    warned_at = models.DateTimeField(null=True, blank=True)
    breached_at = models.DateTimeField(null=True, blank=True)
    met_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["case", "metric", "id"]
        indexes = [
            models.Index(fields=["state", "warn_at"], name="cases_sla_warn"),
            models.Index(fields=["state", "due_at"], name="cases_sla_due_clock"),
            models.Index(fields=["case", "metric", "state"], name="cases_sla_case"),
        ]

    def __str__(self) -> str:
        return f"{self.metric} of case {self.case_id}"
