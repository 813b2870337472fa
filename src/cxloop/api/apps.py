from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "cxloop.api"
    label = "api"
