"""Whole numbers from user text: only ASCII digits that fit a database integer (the fuzzer's 500s)."""

from __future__ import annotations

import pytest

from cxloop.core.ids import whole_number


@pytest.mark.parametrize(("text", "expected"), [("0", 0), ("42", 42), ("000123", 123), ("9" * 18, int("9" * 18))])
def test_ascii_digits_are_a_number(text, expected):
    assert whole_number(text) == expected


@pytest.mark.parametrize("text", ["", "²", "٣", "１２", "-1", "1.5", " 1", "9" * 19, "#12"])
def test_anything_else_is_none(text):
    assert whole_number(text) is None


def test_the_digit_limit_can_be_narrowed():
    assert whole_number("1234", max_digits=3) is None
