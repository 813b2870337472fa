from __future__ import annotations

from django.apps import AppConfig


class FeedbackConfig(AppConfig):
    name = "cxloop.feedback"
    label = "feedback"
    verbose_name = "Feedback"

    def ready(self) -> None:
        # Subscribers (survey triggers, closed-loop rules) register here as the services that own them land.
        return None
