"""CXLOOP_CLOCK_OFFSET moves cxloop's clock for tests that run a real worker, and only with DEBUG on."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from unittest import mock

import pytest

from cxloop.core import clock

REAL = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _fresh_offset() -> Iterator[None]:
    clock._offset.cache_clear()
    with mock.patch("django.utils.timezone.now", return_value=REAL):
        yield
    clock._offset.cache_clear()


@pytest.mark.parametrize(("debug", "expected"), [(True, REAL + timedelta(days=2)), (False, REAL)])
def test_the_offset_moves_the_clock_only_with_debug_on(settings, monkeypatch, debug, expected):
    settings.DEBUG = debug
    monkeypatch.setenv("CXLOOP_CLOCK_OFFSET", str(2 * 86400))

    assert clock.now() == expected


def test_without_the_variable_the_clock_is_the_real_one(settings, monkeypatch):
    settings.DEBUG = True
    monkeypatch.delenv("CXLOOP_CLOCK_OFFSET", raising=False)

    assert clock.now() == REAL
