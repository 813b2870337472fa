"""Benchmark (h), journey timers: 100,000 enrolments whose waits fall due in the same minute, run by two worker
processes on PostgreSQL; the lag of each (processed − due) as p50/p95/p99, the total time, and a check that no
customer got a message twice. Issue 6's goal: p99 lag < 60 s, no duplicate sends.

Data (a fresh database `cxloop_bench_journey_timers`, inserted directly, not timed): N customers with one e-mail
identity each; an active journey `timers` (wait 1 minute → send_message of a service template → exit); one
enrolment per customer waiting at the wait, its timer due at a moment spread evenly over one minute that
starts a few seconds after the workers do.

Two runs over the same N timers, each by W worker processes (`process_due` in a loop, as `cxloop worker`
does; each worker claims up to --batch timers per statement):
- baseline: the same claims, with a no-op step (the claimed timers deleted in one statement): the floor of the
  timer store itself;
- engine: the real runtime (the wait ends, the message is made through messaging, the enrolment exits, each
  with its history row).
The ratio is the engine's enrolments/s over the baseline's.

    python bench/journey_timers.py [--enrolments 100000] [--workers 2] [--batch 500]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402

BENCH_DB = "cxloop_bench_journey_timers"
LEAD = timedelta(seconds=15)
JOURNEY = """
key: timers
name: Timers
trigger: {kind: manual}
reentry: {policy: always}
steps:
  - {id: rest, kind: wait, duration: 1 minute, next: hello}
  - {id: hello, kind: send_message, channel: email, template: wait-over, purpose: service, next: bye}
  - {id: bye, kind: exit, reason: done}
"""


def _seed(count: int) -> Any:
    from django.db import connection, transaction
    from email_channel import seed_outbound_customers

    from cxloop.core.actor import Actor
    from cxloop.core.ids import new_public_id
    from cxloop.journeys import services
    from cxloop.messaging import services as messaging
    from cxloop.messaging.types import TemplateContent

    seed_outbound_customers(0, count)
    system = Actor.system("bench")
    messaging.create_template(
        system,
        key="wait-over",
        name="Wait over",
        channel="email",
        content=TemplateContent(
            locale="en", subject="{{ customer.first_name }}, a minute passed", body_text="Hi {{ customer.first_name }}"
        ),
    )
    journey = services.activate_journey(system, services.create_journey(system, JOURNEY))
    now = datetime.now(UTC)
    rows = [
        (now, now, new_public_id("enr"), journey.pk, journey.current_version_id, pk, "active", "rest", f"bench:{pk}",
         "{}", "", 2, now, now)
        for pk in range(1, count + 1)
    ]  # fmt: skip
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO journeys_enrolment (created_at, updated_at, public_id, journey_id, version_id, customer_id,"
            " state, step, trigger_ref, context, waiting_for, seq, entered_at, waiting_since, exit_reason)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, '')",
            rows,
        )
    return journey


def _timers(journey: Any, start: datetime) -> None:
    """One timer per enrolment, due times spread evenly over the minute from `start`."""
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM journeys_journeytimer")
        cursor.execute(
            "INSERT INTO journeys_journeytimer (enrolment_id, journey_id, due_at, step, is_timeout, attempts,"
            " claimed_by, claimed_until)"
            " SELECT e.id, e.journey_id, %s + (e.id %% 60000) * interval '1 millisecond', 'rest', false, 0, '', NULL"
            " FROM journeys_enrolment e WHERE e.journey_id = %s",
            [start, journey.pk],
        )


def _run_workers(mode: str, workers: int, batch: int, database_url: str) -> float:
    """Start the workers, wait for them to finish; returns the wall time in seconds."""
    began = time.perf_counter()
    processes = [
        subprocess.Popen(  # noqa: S603 - this script, our arguments
            [
                sys.executable,
                __file__,
                "--worker",
                f"{mode}-{n}",
                "--mode",
                mode,
                "--batch",
                str(batch),
                "--database-url",
                database_url,
            ]
        )  # fmt: skip
        for n in range(workers)
    ]
    for process in processes:
        if process.wait() != 0:
            raise SystemExit(f"a {mode} worker failed")
    return time.perf_counter() - began


def worker(name: str, mode: str, batch: int, database_url: str) -> None:
    common.setup_django(database_url, migrate=False)
    from django.db import connection

    from cxloop.core import clock
    from cxloop.journeys import timers
    from cxloop.journeys.models import JourneyTimer

    while True:
        if mode == "engine":
            done = timers.process_due(name, limit=batch)
        else:
            claimed = timers.claim(name, now=clock.now(), limit=batch)
            if claimed:
                with connection.cursor() as cursor:
                    cursor.execute("DELETE FROM journeys_journeytimer WHERE id = ANY(%s)", [[c[0] for c in claimed]])
            done = len(claimed)
        if done == 0:
            if not JourneyTimer.objects.exists():
                return
            time.sleep(0.05)


def _lags(start: datetime) -> tuple[list[float], float]:
    from cxloop.journeys.models import EnrolmentStep

    rows = EnrolmentStep.objects.filter(outcome="waited").values_list("due_at", "at")
    lags = [(at - due).total_seconds() * 1000 for due, at in rows]
    last = max(at for _, at in rows)
    return lags, (last - start).total_seconds()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--enrolments", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--worker", default="")
    parser.add_argument("--mode", default="engine")
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.mode, args.batch, args.database_url)
        return
    common.ensure_pg_database(BENCH_DB, fresh=True)
    url = common.pg_url(BENCH_DB)
    common.setup_django(url)
    from django.db import connection
    from django.db.models import Count

    from cxloop.messaging.models import OutboundMessage

    count = args.enrolments
    print(f"(h) journey timers: {count:,} enrolments due within one minute, {args.workers} workers, PostgreSQL")
    journey = _seed(count)
    connection.close()

    baseline_start = datetime.now(UTC) + LEAD
    _timers(journey, baseline_start)
    connection.close()
    baseline_wall = _run_workers("noop", args.workers, args.batch, url)
    baseline_rate = count / max(baseline_wall - LEAD.total_seconds(), 0.001)
    print(f"  baseline (claims, no-op step): {baseline_wall:.1f} s wall incl. the {LEAD.seconds} s lead")

    start = datetime.now(UTC) + LEAD
    _timers(journey, start)
    connection.close()
    wall = _run_workers("engine", args.workers, args.batch, url)
    lags, span = _lags(start)
    lag = common.percentiles(lags)
    per_customer = OutboundMessage.objects.values("customer_id").annotate(n=Count("id"))
    duplicates = per_customer.filter(n__gt=1).count()
    messages = OutboundMessage.objects.count()
    rate = count / max(span, 0.001)
    print(f"  engine: {wall:.1f} s wall; first due to last processed {span:.1f} s ({rate:,.0f} enrolments/s)")
    print(f"  lag p50 {lag['p50'] / 1000:.1f} s, p95 {lag['p95'] / 1000:.1f} s, p99 {lag['p99'] / 1000:.1f} s")
    print(f"  messages {messages:,} for {count:,} enrolments; customers with more than one: {duplicates}")
    if messages != count or duplicates:
        raise SystemExit("duplicate or missing sends")
    common.emit(
        {
            "bench": "journey_timers",
            "db": "postgres",
            "enrolments": count,
            "workers": args.workers,
            "batch": args.batch,
            "lag_p50_s": round(lag["p50"] / 1000, 2),
            "lag_p95_s": round(lag["p95"] / 1000, 2),
            "lag_p99_s": round(lag["p99"] / 1000, 2),
            "span_s": round(span, 1),
            "engine_per_s": round(rate),
            "baseline_per_s": round(baseline_rate),
            "ratio": round(rate / baseline_rate, 3),
            "duplicates": duplicates,
            "messages": messages,
        }
    )


if __name__ == "__main__":
    main()
