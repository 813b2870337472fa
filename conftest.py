"""Root conftest: test-run environment set before Django reads its settings."""

import os

os.environ.setdefault("CXLOOP_STATIC_MANIFEST", "false")
os.environ.setdefault("CXLOOP_DEFAULT_REGION", "GB")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
