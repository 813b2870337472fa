from django.apps import AppConfig


class AutomationConfig(AppConfig):
    name = "cxloop.automation"
    label = "automation"
    verbose_name = "Automation rules"
