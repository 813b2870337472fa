from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "cxloop.portal"
    label = "portal"
    verbose_name = "Customer portal"
