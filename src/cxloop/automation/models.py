"""Automation rules and the log of their runs.

A rule listens to one trigger (a customer event type, or one of cxloop's own domain events about a customer),
checks its conditions and runs its actions. A run is stored once per (rule, triggering event): the unique key is
what makes a re-delivered event, a retried task and the periodic catch-up all safe, and the per-action outcomes
stored on the run are what a retry reads to skip the actions already done.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from cxloop.core.models import PublicIdModel


class TriggerSource(models.TextChoices):
    CUSTOMER_EVENT = "customer_event", "Customer event"
    DOMAIN_EVENT = "domain_event", "cxloop event"


class Rule(PublicIdModel):
    PUBLIC_ID_PREFIX = "rule"

    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    trigger_source = models.CharField(max_length=20, choices=TriggerSource.choices)
    trigger_type = models.CharField(max_length=100, help_text="An event type key or a domain event name")
    conditions = models.JSONField(null=True, blank=True, help_text="A journey condition; null: always")
    actions = models.JSONField(default=list)
    position = models.PositiveIntegerField(default=0)
    is_active = models.BooleanField(default=True)
    stop_processing = models.BooleanField(default=False, help_text="When it matches, later rules are not tried")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["position", "id"]
        indexes = [models.Index(fields=["trigger_source", "trigger_type", "is_active"], name="automation_rule_trigger")]

    def __str__(self) -> str:
        return self.name


class RunStatus(models.TextChoices):
    MATCHED = "matched", "Matched (actions running)"
    RETRYING = "retrying", "Retrying (a webhook waits for its next attempt)"
    SKIPPED = "skipped", "Skipped (conditions not met)"
    SUCCEEDED = "succeeded", "Succeeded"
    PARTIALLY = "partially", "Partially succeeded"
    FAILED = "failed", "Failed"


class RuleRun(PublicIdModel):
    PUBLIC_ID_PREFIX = "rrun"

    rule = models.ForeignKey(Rule, on_delete=models.CASCADE, related_name="runs")
    # "<source>:<id>": "customer_event:<the sender's event_id>", or "<domain event>:<its own id>" (runner.py).
    event_ref = models.CharField(max_length=255)
    trigger_type = models.CharField(max_length=100)
    # Deleting a customer deletes their runs: a run keeps what the event carried, which is personal data.
    customer = models.ForeignKey(
        "customers.Customer", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    # What the event carried (source, occurred_at, received_at, properties): shown in the log, and what a resumed
    # run re-reads, since cxloop's own domain events are not stored anywhere else.
    event_data = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=12, choices=RunStatus.choices, default=RunStatus.MATCHED)
    explanation = models.JSONField(default=list, blank=True, help_text="Why the conditions held or not")
    outcomes = models.JSONField(default=list, blank=True, help_text="One entry per action, in order")
    error = models.TextField(blank=True)
    at = models.DateTimeField(help_text="When the run started")
    finished_at = models.DateTimeField(null=True, blank=True)
    # Who may work on an unfinished run: a run whose lease passed was interrupted (the process died) and the
    # catch-up resumes it, skipping the actions whose outcome is already stored. A run waiting for a webhook's
    # automatic retry (status retrying) holds its lease until the retry is due: the same claim then resumes it.
    lease_until = models.DateTimeField(null=True, blank=True)
    # Every call of the run's webhook actions, oldest first: {index, attempt, at, status, error, transient,
    # next_attempt_at, manual}; `attempt` counts from 1 per action and series (a manual retry starts a series).
    attempts = models.JSONField(default=list, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["rule", "event_ref"], name="automation_run_once_per_event")]
        indexes = [
            models.Index(fields=["rule", "-at", "-id"], name="automation_run_rule_time"),
            models.Index(fields=["-at", "-id"], name="automation_run_time"),
            models.Index(fields=["status", "at"], name="automation_run_status"),
            # The unfinished runs whose lease passed (interrupted, or a webhook retry that fell due): the catch-up.
            models.Index(
                fields=["lease_until"], name="automation_run_due", condition=models.Q(finished_at__isnull=True)
            ),
        ]

    def __str__(self) -> str:
        return f"{self.rule_id}:{self.event_ref}"


class Watermark(models.Model):
    """How far the periodic catch-up has read the customer events table (by primary key), so each pass reads only
    the events stored since the previous one instead of scanning a time window of an unindexed column."""

    name = models.CharField(max_length=50, primary_key=True)
    value = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.name}={self.value}"
