"""Routing: queues, the rules that fill them, and who is available to take work."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class AssignmentMode(models.TextChoices):
    MANUAL = "manual", "Agents pick from the queue"
    ROUND_ROBIN = "round_robin", "Round robin"
    LOAD_BALANCED = "load_balanced", "Least loaded agent"


class Queue(models.Model):
    """A pile of work a team answers. New cases and conversations land here by routing rules."""

    key = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=100)
    team = models.ForeignKey("accounts.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    assignment_mode = models.CharField(max_length=20, choices=AssignmentMode.choices, default=AssignmentMode.MANUAL)
    is_default = models.BooleanField(default=False, help_text="Where work goes when no rule matches.")
    last_assigned_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, through="cases.QueueMember", related_name="queues")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class QueueMember(models.Model):
    queue = models.ForeignKey(Queue, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["queue", "user"], name="cases_queue_member_unique")]

    def __str__(self) -> str:
        return f"{self.user_id} in {self.queue_id}"


class RuleTarget(models.TextChoices):
    CASES = "cases", "Cases"
    CONVERSATIONS = "conversations", "Conversations"
    BOTH = "both", "Cases and conversations"


class RoutingRule(models.Model):
    """When all its conditions hold, the work goes to `queue`. Rules are tried in `position` order; first wins.

    `conditions` keys (each optional, a list means "any of"): channels, languages, goals, categories,
    keywords (matched as words in subject and text), customer_tiers, priorities, sentiment_below (a
    number), emotions.
    """

    name = models.CharField(max_length=100, unique=True)
    position = models.PositiveSmallIntegerField(default=0)
    is_active = models.BooleanField(default=True)
    applies_to = models.CharField(max_length=20, choices=RuleTarget.choices, default=RuleTarget.BOTH)
    conditions = models.JSONField(default=dict, blank=True)
    queue = models.ForeignKey(Queue, on_delete=models.CASCADE, related_name="rules")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.name


class AgentStatus(models.TextChoices):
    AVAILABLE = "available", "Available"
    AWAY = "away", "Away"
    OFFLINE = "offline", "Offline"


class AgentAvailability(models.Model):
    """Whether an agent takes new work now, and how much open work they can carry at once."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="availability")
    status = models.CharField(max_length=10, choices=AgentStatus.choices, default=AgentStatus.AVAILABLE)
    capacity = models.PositiveSmallIntegerField(default=20, help_text="Most open cases and conversations at once.")
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.user_id}: {self.status}"


class ConversationRoute(models.Model):
    """Where routing sent a conversation (the inbox's own table has no queue)."""

    thread = models.OneToOneField("interactions.Thread", on_delete=models.CASCADE, related_name="+")
    queue = models.ForeignKey(Queue, on_delete=models.CASCADE, related_name="conversation_routes")
    rule = models.ForeignKey(RoutingRule, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    routed_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.thread_id} → {self.queue_id}"
