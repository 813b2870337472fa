from django.apps import AppConfig


class CasesConfig(AppConfig):
    name = "cxloop.cases"
    label = "cases"
    verbose_name = "Cases"

    def ready(self) -> None:
        from cxloop.events.bus import subscribe

        from cxloop.cases.services import activity

        subscribe("interaction.recorded", activity.on_interaction_recorded)
