from django.apps import AppConfig


class EventsConfig(AppConfig):
    name = "cxloop.events"
    label = "events"
