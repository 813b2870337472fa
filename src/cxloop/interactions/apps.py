from django.apps import AppConfig


class InteractionsConfig(AppConfig):
    name = "cxloop.interactions"
    label = "interactions"
    verbose_name = "Interactions"

    def ready(self) -> None:
        from cxloop.core.customer_refs import register_customer_reference
        from cxloop.interactions import services

        register_customer_reference(
            "interactions",
            services.move_customer_interactions,
            services.restore_customer_interactions,
            services.export_customer_interactions,
        )
        register_customer_reference("threads", services.move_customer_threads, services.restore_customer_threads)
