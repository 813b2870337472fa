"""Customer profiles, their identities, attribute definitions, merges and merge suggestions."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from cxloop.core.models import PublicIdModel


class LifecycleStage(models.TextChoices):
    LEAD = "lead", "Lead"
    PROSPECT = "prospect", "Prospect"
    CUSTOMER = "customer", "Customer"
    LOYAL = "loyal", "Loyal"
    AT_RISK = "at_risk", "At risk"
    CHURNED = "churned", "Churned"


class CustomerStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    MERGED = "merged", "Merged into another customer"


class IdentityKind(models.TextChoices):
    EMAIL = "email", "Email"
    PHONE = "phone", "Phone"
    WHATSAPP = "whatsapp", "WhatsApp"
    SOCIAL = "social", "Social handle"
    EXTERNAL = "external", "External system id"
    ANONYMOUS = "anonymous", "Anonymous web id"


class AttributeType(models.TextChoices):
    TEXT = "text", "Text"
    NUMBER = "number", "Number"
    BOOLEAN = "boolean", "Yes / no"
    DATE = "date", "Date"
    CHOICE = "choice", "Choice"


class Tag(models.Model):
    name = models.CharField(max_length=50, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Customer(PublicIdModel):
    PUBLIC_ID_PREFIX = "cus"

    name = models.CharField(max_length=200, blank=True)
    search_name = models.CharField(max_length=200, blank=True, db_index=True, editable=False)
    country = models.CharField(max_length=2, blank=True, help_text="ISO 3166-1 alpha-2")
    locale = models.CharField(max_length=16, blank=True)
    time_zone = models.CharField(max_length=64, blank=True)
    lifecycle_stage = models.CharField(
        max_length=20, choices=LifecycleStage.choices, default=LifecycleStage.LEAD, db_index=True
    )
    attributes = models.JSONField(default=dict, blank=True)
    tags = models.ManyToManyField(Tag, blank=True, related_name="customers")
    status = models.CharField(max_length=10, choices=CustomerStatus.choices, default=CustomerStatus.ACTIVE)
    merged_into = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        indexes = [models.Index(fields=["status", "-id"], name="customers_status_id")]

    def __str__(self) -> str:
        return self.name or self.public_id

    @property
    def display_name(self) -> str:
        return self.name or "(no name)"

    @property
    def is_active(self) -> bool:
        return self.status == CustomerStatus.ACTIVE


class Identity(PublicIdModel):
    PUBLIC_ID_PREFIX = "idn"

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="identities")
    kind = models.CharField(max_length=16, choices=IdentityKind.choices)
    network = models.CharField(max_length=50, blank=True, default="")
    value = models.CharField(max_length=254)
    # No index of its own: every reader gives the kind too, and ("kind", "match_value") below serves them all; the
    # single-column index (two on PostgreSQL, with its LIKE twin) only cost every identity written.
    match_value = models.CharField(max_length=254)
    is_verified = models.BooleanField(default=False)
    source = models.CharField(max_length=50, blank=True, help_text="Where this identity was learnt.")
    # When the identity was last used to reach us, to within LAST_SEEN_RESOLUTION (services.identities.note_seen).
    last_seen_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "identities"
        constraints = [
            models.UniqueConstraint(fields=["kind", "network", "value"], name="customers_identity_unique_value")
        ]
        indexes = [
            models.Index(fields=["kind", "match_value"], name="customers_identity_match"),
            # Lookups by value give the kind (or several) but not the network, so the unique
            # (kind, network, value) index cannot seek on them: 60-200 ms at 1.6M identities without this.
            models.Index(fields=["value"], name="customers_identity_value"),
        ]

    def __str__(self) -> str:
        return f"{self.kind}{':' + self.network if self.network else ''}:{self.value}"


class AttributeDefinition(models.Model):
    """A custom profile field that admins define; customer.attributes values are checked against it."""

    key = models.SlugField(max_length=50, unique=True)
    label = models.CharField(max_length=100)
    type = models.CharField(max_length=10, choices=AttributeType.choices, default=AttributeType.TEXT)
    choices = models.JSONField(default=list, blank=True)
    description = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["label"]

    def __str__(self) -> str:
        return self.label


class SuggestionStatus(models.TextChoices):
    PENDING = "pending", "Pending review"
    MERGED = "merged", "Merged"
    DISMISSED = "dismissed", "Dismissed"


class MergeSuggestion(PublicIdModel):
    """Two profiles that may be one person, with the evidence, awaiting a person's decision."""

    PUBLIC_ID_PREFIX = "sug"

    customer_a = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    customer_b = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    probability = models.FloatField()
    source = models.CharField(max_length=20, help_text="resolution | splink | staff")
    evidence = models.JSONField(default=dict)
    status = models.CharField(
        max_length=10, choices=SuggestionStatus.choices, default=SuggestionStatus.PENDING, db_index=True
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["customer_a", "customer_b"],
                condition=models.Q(status="pending"),
                name="customers_one_pending_suggestion_per_pair",
            )
        ]


class Merge(PublicIdModel):
    """A performed merge, with everything needed to undo it exactly."""

    PUBLIC_ID_PREFIX = "mrg"

    target = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="merges_in")
    source = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="merges_out")
    suggestion = models.ForeignKey(MergeSuggestion, null=True, blank=True, on_delete=models.SET_NULL)
    performed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.CharField(max_length=300, blank=True)
    target_before = models.JSONField(help_text="Target's tags and attributes before the merge.")
    moved = models.JSONField(help_text="Row ids moved from source to target, per kind.")
    undone_at = models.DateTimeField(null=True, blank=True)
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    @property
    def is_undone(self) -> bool:
        return self.undone_at is not None
