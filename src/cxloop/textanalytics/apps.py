from __future__ import annotations

from django.apps import AppConfig


class TextAnalyticsConfig(AppConfig):
    name = "cxloop.textanalytics"
    label = "textanalytics"
    verbose_name = "Text analytics"

    def ready(self) -> None:
        from cxloop.events.bus import subscribe
        from cxloop.textanalytics import tasks

        subscribe("interaction.recorded", tasks.on_interaction_recorded)
