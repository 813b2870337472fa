from django.apps import AppConfig


class AutomationConfig(AppConfig):
    name = "cxloop.automation"
    label = "automation"
    verbose_name = "Automation rules"

    def ready(self) -> None:
        # One quick subscriber for every event: a set lookup for the triggers no active rule uses.
        from cxloop.automation import runner
        from cxloop.events.bus import subscribe

        subscribe("*", runner.on_domain_event)
