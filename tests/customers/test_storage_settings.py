"""Table storage settings that keep hot write paths cheap (see the migrations that set them)."""

from __future__ import annotations

import pytest
from django.db import connection

pytestmark = pytest.mark.django_db


@pytest.mark.skipif(connection.vendor != "postgresql", reason="a PostgreSQL table storage parameter")
def test_identity_pages_leave_room_for_heap_only_last_seen_updates():
    with connection.cursor() as cursor:
        cursor.execute("SELECT reloptions FROM pg_class WHERE relname = 'customers_identity'")
        (options,) = cursor.fetchone()
    assert "fillfactor=80" in (options or [])
