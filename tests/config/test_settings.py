"""Settings from the environment: safe by default, deployable with HTTPS, and loud about malformed values.

The deployment checks run `cxloop` in a subprocess, because settings are read once per process.
"""

from __future__ import annotations

import os
import secrets
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from cxloop.config.env import env_bool, env_float, env_int, env_list, env_secret

CXLOOP = str(Path(sys.executable).parent / "cxloop")
PRINT_SETTINGS = (
    "from django.conf import settings as s; "
    "print(s.DEBUG, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS, "
    "s.DATABASES['default']['ENGINE'], len(s.SECRET_KEY))"
)


def _run(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`cxloop <args>` with a clean environment: only PATH-like basics plus `env`."""
    clean = {k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "LANG", "LC_ALL", "PYTHONPATH"}}
    clean.update({"CXLOOP_VAR_DIR": str(tmp_path / "var"), **env})
    return subprocess.run(  # noqa: S603 - our own CLI, fixed arguments
        [CXLOOP, *args], cwd=tmp_path, env=clean, capture_output=True, text=True, timeout=120, check=False
    )


PRODUCTION = {
    "CXLOOP_HTTPS": "true",
    "SECRET_KEY": secrets.token_urlsafe(64),
    "ALLOWED_HOSTS": "cx.example.com",
}


def test_production_settings_pass_the_deployment_check(tmp_path):
    result = _run(tmp_path, "check", "--deploy", "--fail-level", "WARNING", **PRODUCTION)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_the_deployment_check_fails_without_https(tmp_path):
    env = {k: v for k, v in PRODUCTION.items() if k != "CXLOOP_HTTPS"}

    result = _run(tmp_path, "check", "--deploy", "--fail-level", "WARNING", **env)

    assert result.returncode != 0
    for check in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert check in result.stderr + result.stdout


def test_defaults_are_safe_and_https_turns_on_secure_cookies(tmp_path):
    plain = _run(tmp_path, "shell", "--no-imports", "-c", PRINT_SETTINGS)
    https = _run(tmp_path, "shell", "--no-imports", "-c", PRINT_SETTINGS, **PRODUCTION)

    assert plain.returncode == 0, plain.stderr
    assert plain.stdout.split() == ["False", "False", "False", "False", "0", "django.db.backends.sqlite3", "86"]
    assert https.stdout.split() == ["False", "True", "True", "True", "31536000", "django.db.backends.sqlite3", "86"]


def test_without_a_secret_key_one_is_generated_once_and_kept_private(tmp_path):
    first = _run(
        tmp_path, "shell", "--no-imports", "-c", "from django.conf import settings; print(settings.SECRET_KEY)"
    )
    second = _run(
        tmp_path, "shell", "--no-imports", "-c", "from django.conf import settings; print(settings.SECRET_KEY)"
    )

    key_file = tmp_path / "var" / "secret_key"
    assert first.stdout == second.stdout == key_file.read_text() + "\n"
    assert len(first.stdout.strip()) >= 50
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


def test_the_secret_key_may_come_from_a_file(tmp_path):
    secret_file = tmp_path / "key"
    secret_file.write_text("  from-a-docker-secret-" + "x" * 50 + "\n")

    result = _run(
        tmp_path,
        "shell",
        "--no-imports",
        "-c",
        "from django.conf import settings; print(settings.SECRET_KEY)",
        SECRET_KEY_FILE=str(secret_file),
    )

    assert result.stdout.strip() == "from-a-docker-secret-" + "x" * 50


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("DEBUG", "maybe", "DEBUG must be true or false, got 'maybe'"),
        ("CXLOOP_HTTPS", "sure", "CXLOOP_HTTPS must be true or false, got 'sure'"),
        ("CXLOOP_SESSION_SECONDS", "12h", "CXLOOP_SESSION_SECONDS must be an integer, got '12h'"),
        ("CXLOOP_DUPLICATE_THRESHOLD", "high", "CXLOOP_DUPLICATE_THRESHOLD must be a number, got 'high'"),
        ("SECRET_KEY_FILE", "/nonexistent/key", "SECRET_KEY_FILE points at an unreadable file"),
    ],
)
def test_a_malformed_value_stops_the_process_naming_the_variable(tmp_path, variable, value, message):
    result = _run(tmp_path, "check", **{variable: value})

    assert result.returncode != 0
    assert message in result.stderr


# --- the helpers themselves ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("true", True),
        ("True", True),
        (" yes ", True),
        ("1", True),
        ("on", True),
        ("false", False),
        ("0", False),
        ("OFF", False),
        ("", True),
    ],
)
def test_env_bool_reads_the_usual_spellings(monkeypatch, raw, expected):
    monkeypatch.setenv("CX_FLAG", raw)

    assert env_bool("CX_FLAG", True) is expected


def test_unset_variables_take_their_defaults(monkeypatch):
    for name in ("CX_A", "CX_B", "CX_C", "CX_D", "CX_E"):
        monkeypatch.delenv(name, raising=False)

    assert (env_bool("CX_A", False), env_int("CX_B", 7), env_float("CX_C", 0.5), env_list("CX_D", ["x"])) == (
        False,
        7,
        0.5,
        ["x"],
    )
    assert env_secret("CX_E", "fallback") == "fallback"


@pytest.mark.parametrize(
    ("helper", "default", "raw"),
    [
        (env_bool, False, "2"),
        (env_bool, False, "yes please"),
        (env_int, 0, "1.5"),
        (env_int, 0, "ten"),
        (env_float, 0.0, "1,5"),
    ],
)
def test_helpers_refuse_malformed_values_naming_the_variable(monkeypatch, helper, default, raw):
    monkeypatch.setenv("CX_SETTING", raw)

    with pytest.raises(ImproperlyConfigured, match=f"^CX_SETTING must be .*, got {raw!r}$"):
        helper("CX_SETTING", default)


def test_env_list_splits_and_trims(monkeypatch):
    monkeypatch.setenv("CX_HOSTS", " cx.example.com, ,admin.example.com ")

    assert env_list("CX_HOSTS", []) == ["cx.example.com", "admin.example.com"]
