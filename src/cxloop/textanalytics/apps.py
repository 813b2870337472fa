from __future__ import annotations

from django.apps import AppConfig


class TextAnalyticsConfig(AppConfig):
    name = "cxloop.textanalytics"
    label = "textanalytics"
    verbose_name = "Text analytics"
