from django.apps import AppConfig


class WorkerConfig(AppConfig):
    name = "cxloop.worker"
    label = "worker"
