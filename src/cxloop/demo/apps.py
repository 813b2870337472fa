from django.apps import AppConfig


class DemoConfig(AppConfig):
    """Demo data (`cxloop demo`): no tables of its own; it writes only through other modules' services."""

    name = "cxloop.demo"
    label = "demo"
    verbose_name = "Demo data"
