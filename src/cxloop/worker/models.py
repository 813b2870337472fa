from django.db import models


class PeriodicJob(models.Model):
    """When each periodic job was last enqueued; claimed with a conditional update by any worker."""

    name = models.CharField(max_length=100, unique=True)
    last_enqueued_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.name
