"""Journeys as stored: a journey and its versions, the enrolments of customers, their timers and their history.

The runtime is written around three rules:

* **A version is immutable.** Publishing a changed document makes a new JourneyVersion; running enrolments keep
  the version they entered with (its `document` is what they execute), new enrolments take the journey's
  `current_version`.
* **Every timer lives in one table that workers claim in bulk.** An enrolment that waits has exactly one
  JourneyTimer row (one-to-one). A worker claims up to a few hundred due rows with one UPDATE (PostgreSQL: the
  ids chosen with FOR UPDATE SKIP LOCKED), so two workers never take the same timer and a worker that dies
  leaves rows whose claim expires and are taken again. One task per timer would cap the runtime at the
  queue's speed (about 540 no-op tasks/s with two workers here).
* **A step runs once per visit.** EnrolmentStep rows are the history and the idempotency record at once:
  (enrolment, seq) is unique, and a step's side effect (a message, a case) is written in the same transaction
  as the history row and the enrolment's move, with the history row's key as the side effect's idempotency
  key. A worker killed mid-step rolls all of it back; the next claim runs the step again from the start.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from cxloop.core.models import PublicIdModel, TimestampedModel


class JourneyStatus(models.TextChoices):
    DRAFT = "draft", "Draft"  # saved, never started: enrols nobody
    ACTIVE = "active", "Active"  # enrols on its trigger; timers run
    PAUSED = "paused", "Paused"  # enrols nobody; timers wait (due ones run on resume)
    ARCHIVED = "archived", "Archived"  # finished: enrols nobody; running enrolments were exited


class Journey(PublicIdModel):
    PUBLIC_ID_PREFIX = "jny"

    key = models.SlugField(max_length=100, unique=True)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    status = models.CharField(max_length=10, choices=JourneyStatus.choices, default=JourneyStatus.DRAFT)
    current_version = models.ForeignKey(
        "JourneyVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Denormalised from the current version's trigger, so an incoming event finds its journeys with one query.
    trigger_kind = models.CharField(max_length=20, blank=True)  # event, segment, date_attribute, manual
    trigger_event_type = models.CharField(max_length=100, blank=True, db_index=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    paused_at = models.DateTimeField(null=True, blank=True)
    archived_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.key


class JourneyVersion(models.Model):
    """One published document of a journey. Never changed once written."""

    journey = models.ForeignKey(Journey, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    document = models.JSONField(help_text="The validated document (documents.validate_journey accepts it)")
    source = models.TextField(help_text="The text as the author wrote it (YAML or JSON), comments included")
    syntax = models.CharField(max_length=4, default="yaml")
    note = models.CharField(max_length=500, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["journey", "-number"]
        constraints = [models.UniqueConstraint(fields=["journey", "number"], name="journeys_version_number")]

    def __str__(self) -> str:
        return f"{self.journey_id} v{self.number}"


class EnrolmentState(models.TextChoices):
    ACTIVE = "active", "In the journey"
    GOAL = "goal", "Reached the goal"
    EXITED = "exited", "Exited"  # an exit step, archive, a manual removal
    FAILED = "failed", "Failed"  # a step that could not run after its retries (the history says why)


class Enrolment(PublicIdModel):
    PUBLIC_ID_PREFIX = "enr"

    journey = models.ForeignKey(Journey, on_delete=models.CASCADE, related_name="enrolments")
    version = models.ForeignKey(JourneyVersion, on_delete=models.PROTECT, related_name="enrolments")
    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="+")
    state = models.CharField(max_length=10, choices=EnrolmentState.choices, default=EnrolmentState.ACTIVE)
    step = models.CharField(max_length=100, help_text="The step the enrolment is at (its last step once finished)")
    # What enrolled the customer: "event:<event_id>", "manual:<user>:<n>", "date:<attribute>:<date>", …
    # unique per journey, so the same trigger delivered twice enrols once.
    trigger_ref = models.CharField(max_length=250)
    context = models.JSONField(default=dict, blank=True, help_text="The trigger event, read by conditions")
    # A wait for an event: the type it waits for, so an incoming event finds the enrolments it wakes.
    waiting_for = models.CharField(max_length=100, blank=True, db_index=True)
    # Set while the enrolment is held by the wait step `step` (its timer ends the wait); None while it is due to
    # run `step` from its start (just enrolled, woken by an event, a webhook retry). An event stored after this
    # moment wakes it, so a re-delivered older event never wakes a later wait.
    waiting_since = models.DateTimeField(null=True, blank=True)
    seq = models.PositiveIntegerField(default=0, help_text="Number of history rows written (the next row's seq)")
    entered_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    exit_reason = models.CharField(max_length=300, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["journey", "trigger_ref"], name="journeys_enrolment_trigger"),
        ]
        indexes = [
            models.Index(fields=["journey", "state", "step"], name="journeys_enrolment_step"),
            models.Index(fields=["customer", "journey"], name="journeys_enrolment_customer"),
        ]

    def __str__(self) -> str:
        return self.public_id


class JourneyTimer(models.Model):
    """The one pending wake-up of a waiting enrolment (a duration, a time of day, an event's timeout).

    `claimed_by`/`claimed_until` are a lease: a worker owns the claimed rows until then; rows whose lease has
    run out are due again (their worker died). Deleted when the enrolment moves on.
    """

    enrolment = models.OneToOneField(Enrolment, on_delete=models.CASCADE, related_name="timer")
    journey = models.ForeignKey(Journey, on_delete=models.CASCADE, related_name="+")  # pause skips its timers
    due_at = models.DateTimeField()
    step = models.CharField(max_length=100, help_text="The wait step this timer ends")
    is_timeout = models.BooleanField(default=False, help_text="A wait for an event that timed out")
    attempts = models.PositiveSmallIntegerField(default=0, help_text="Failed attempts of the step (webhook retries)")
    claimed_by = models.CharField(max_length=100, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["due_at"], name="journeys_timer_due")]

    def __str__(self) -> str:
        return f"{self.enrolment_id}@{self.due_at:%Y-%m-%d %H:%M}"


class EnrolmentStep(TimestampedModel):
    """One entry of an enrolment's history: a step run (or a wait begun or ended), when, and why.

    `detail` explains: which branch was taken and the values its condition read, the message or case made,
    the webhook's answer, the error of a failed attempt.
    """

    enrolment = models.ForeignKey(Enrolment, on_delete=models.CASCADE, related_name="history")
    seq = models.PositiveIntegerField()
    step = models.CharField(max_length=100)
    kind = models.CharField(max_length=20)
    outcome = models.CharField(max_length=30, help_text="entered, done, waiting, woken, timeout, branch, goal, …")
    at = models.DateTimeField()
    due_at = models.DateTimeField(null=True, blank=True, help_text="For a timer's outcome: when it was due")
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["enrolment", "seq"]
        constraints = [models.UniqueConstraint(fields=["enrolment", "seq"], name="journeys_history_seq")]

    def __str__(self) -> str:
        return f"{self.enrolment_id}#{self.seq} {self.step}"
