"""WSGI entry point (granian --interface wsgi cxloop.config.wsgi:application)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cxloop.config.settings")
application = get_wsgi_application()
