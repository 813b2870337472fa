from django.apps import AppConfig


class AutomationConfig(AppConfig):
    name = "cxloop.automation"
    label = "automation"
    verbose_name = "Automation rules"

    def ready(self) -> None:
        # One quick subscriber for every event: a set lookup for the triggers no active rule uses. The run log
        # follows its customer through merges and into the personal-data export.
        from cxloop.automation import customer_links, runner
        from cxloop.core.customer_refs import register_customer_reference
        from cxloop.events.bus import subscribe

        subscribe("*", runner.on_domain_event)
        register_customer_reference(
            "automation_runs",
            customer_links.move_customer_runs,
            customer_links.restore_customer_runs,
            customer_links.export_customer_runs,
        )
