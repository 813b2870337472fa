from django.apps import AppConfig


class CasesConfig(AppConfig):
    name = "cxloop.cases"
    label = "cases"
    verbose_name = "Cases"
