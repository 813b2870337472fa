"""What every benchmark script shares: pointing Django at a bench database, timing, peak memory, output.

Each benchmark runs as its own process (bench/run.py starts them), so Django is configured once per process
for one database and `ru_maxrss` is that process's own peak.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

PG_HOST = os.environ.get("BENCH_PG_HOST", "127.0.0.1")
PG_PORT = os.environ.get("BENCH_PG_PORT", "5432")
PG_USER = os.environ.get("BENCH_PG_USER", "postgres")
RESULT_PREFIX = "BENCH-RESULT "


def pg_url(database: str) -> str:
    return f"postgres://{PG_USER}@{PG_HOST}:{PG_PORT}/{database}"


def ensure_pg_database(database: str, *, fresh: bool = False) -> None:
    """Create the database if missing (dropping it first when `fresh`), through the maintenance database."""
    import psycopg

    with psycopg.connect(f"host={PG_HOST} port={PG_PORT} user={PG_USER} dbname=postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database]).fetchone()
        if exists and fresh:
            conn.execute(f'DROP DATABASE "{database}" WITH (FORCE)')
            exists = None
        if not exists:
            conn.execute(f'CREATE DATABASE "{database}"')


def setup_django(database_url: str, *, migrate: bool = True) -> None:
    """Configure cxloop's settings for `database_url` (and a private var dir), then run the migrations."""
    var_dir = Path(tempfile.gettempdir()) / "cxloop-bench-var"
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("CXLOOP_VAR_DIR", str(var_dir))
    (var_dir / "static").mkdir(parents=True, exist_ok=True)  # WhiteNoise warns about a missing STATIC_ROOT
    os.environ.setdefault("CXLOOP_STATIC_MANIFEST", "false")
    os.environ.setdefault("CXLOOP_LOG_LEVEL", "WARNING")
    os.environ["DJANGO_SETTINGS_MODULE"] = "cxloop.config.settings"
    import django

    django.setup()
    if migrate:
        from django.core.management import call_command

        call_command("migrate", interactive=False, verbosity=0)


def peak_rss_mb() -> float:
    """This process's peak resident memory (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@contextmanager
def stopwatch() -> Iterator[list[float]]:
    """`with stopwatch() as t: ...` then t[0] holds the elapsed seconds."""
    box: list[float] = []
    start = time.perf_counter()
    try:
        yield box
    finally:
        box.append(time.perf_counter() - start)


def percentiles(samples_ms: list[float]) -> dict[str, float]:
    ordered = sorted(samples_ms)
    cuts = statistics.quantiles(ordered, n=100, method="inclusive")
    return {"p50": cuts[49], "p95": cuts[94], "p99": cuts[98], "max": ordered[-1], "n": len(ordered)}


def machine() -> str:
    cpus = os.cpu_count() or 0
    try:
        load = os.getloadavg()[0]
    except OSError:
        load = float("nan")
    return f"{platform.machine()}, {cpus} CPUs, Python {platform.python_version()}, load {load:.2f} at start"


def emit(result: dict[str, Any]) -> None:
    """One machine-readable line for bench/run.py, after the human-readable output."""
    result.setdefault("peak_rss_mb", round(peak_rss_mb(), 1))
    print(RESULT_PREFIX + json.dumps(result, default=str), flush=True)


def progress(label: str, done: int, total: int, started: float) -> None:
    """A one-line progress bar on stderr, redrawn in place."""
    width = 30
    fraction = done / total if total else 1.0
    elapsed = time.perf_counter() - started
    eta = elapsed / fraction - elapsed if fraction > 0 else 0.0
    bar = "#" * int(width * fraction) + "-" * (width - int(width * fraction))
    sys.stderr.write(f"\r{label} [{bar}] {fraction:6.1%} {done:,}/{total:,}  {elapsed:6.0f}s  eta {eta:5.0f}s")
    if done >= total:
        sys.stderr.write("\n")
    sys.stderr.flush()


# Message bodies of the synthetic interactions (bench/ingest.py, bench/generate.py).
SENTENCES = [
    "My order has not arrived yet and the tracking page has not changed for three days.",
    "Thanks for the quick help yesterday, the replacement works fine.",
    "I was charged twice for the same subscription this month, please refund one.",
    "Can you change the delivery address for my next order?",
    "The app logs me out every time I open it on my phone.",
    "Where can I find the invoice for my last purchase?",
    "I would like to cancel my plan at the end of the billing period.",
    "The product arrived damaged, the box was crushed.",
    "Your colleague promised a call back but nobody called.",
    "Great service, I will recommend you to my friends.",
]
