"""Staff users (with one role each), teams, and personal API tokens."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models

from cxloop.core.permissions import Role, Scope


class Team(models.Model):
    name = models.CharField(max_length=100, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name


class User(AbstractUser):
    role = models.CharField(
        max_length=20,
        choices=[(r.value, r.value.title()) for r in Role],
        default=Role.AGENT.value,
    )
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="members")

    @property
    def display_name(self) -> str:
        return self.get_full_name() or self.get_username()

    def save(self, *args: object, **kwargs: object) -> None:
        # Django admin access follows the role, so there is one source of truth for "is an admin".
        self.is_staff = self.role == Role.ADMIN.value or self.is_superuser
        super().save(*args, **kwargs)  # type: ignore[arg-type]


class ApiToken(models.Model):
    """A personal bearer token. Only its SHA-256 is stored; the secret is shown once, at creation."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, help_text="First characters, to recognise the token.")
    token_hash = models.CharField(max_length=64, unique=True)
    scopes = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    @staticmethod
    def valid_scopes() -> list[str]:
        return [s.value for s in Scope]


class Notification(models.Model):
    """A message to one staff member in the app (a promise falls due, a promise was missed, a case was handed
    to them). Written inside the transaction of the change it reports, so it exists only if the change does."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=40, help_text="What happened, e.g. promise.due_soon.")
    title = models.CharField(max_length=200)
    body = models.CharField(max_length=1000, blank=True)
    url = models.CharField(max_length=500, blank=True, help_text="Where to look, a path in the staff UI.")
    created_at = models.DateTimeField()
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["user", "read_at", "-created_at"], name="accounts_notif_inbox")]

    def __str__(self) -> str:
        return self.title

    @property
    def is_read(self) -> bool:
        return self.read_at is not None
