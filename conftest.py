"""Root conftest: test-run environment set before Django reads its settings."""

import os

os.environ.setdefault("CXLOOP_STATIC_MANIFEST", "false")
os.environ.setdefault("CXLOOP_DEFAULT_REGION", "GB")
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def pytest_configure(config: object) -> None:
    """pytest-django reads Django's settings before this file is imported, so the variables above come
    too late for settings.py; apply the one that matters to every rendered page (no manifest needed)."""
    if os.environ.get("CXLOOP_STATIC_MANIFEST") == "false":
        from django.conf import settings

        settings.STORAGES = {
            **settings.STORAGES,
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        }
