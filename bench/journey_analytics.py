"""Benchmark: the journey page's figures for a journey with 100,000 enrolments (about 600,000 history rows), on
SQLite or PostgreSQL: journeys.analytics.journey_analytics (every figure, one grouped query each), step_counts
(the diagram's counts) and by_version, against a bare `count(*)` of the journey's enrolments in the same run.

Data (generated once into its own database with bulk inserts, reused when already there): 2,000 customers, the
onboarding example as an active journey, 100,000 enrolments entered over 60 days, spread over its steps and
states, each with its history rows.

    python bench/journey_analytics.py [--enrolments 100000] [--samples 10] [--database sqlite|postgres]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402

CUSTOMERS = 2_000
CHUNK = 20_000
NOW = datetime.now(UTC).replace(microsecond=0)
# (where it is, its state, the steps it passed through on the way) with their weights.
SHAPES: list[tuple[int, str, str, tuple[str, ...]]] = [
    (30, "active", "wait_first_use", ("welcome",)),
    (8, "active", "wait_after_nudge", ("welcome", "wait_first_use", "nudge")),
    (6, "active", "pause_a_day", ("welcome", "wait_first_use")),
    (20, "active", "settle_in", ("welcome", "wait_first_use", "pause_a_day", "morning", "check_in")),
    (10, "exited", "not_started", ("welcome", "wait_first_use", "nudge", "wait_after_nudge")),
    (25, "exited", "done", ("welcome", "wait_first_use", "pause_a_day", "morning", "check_in", "settle_in")),
    (1, "failed", "check_in", ("welcome", "wait_first_use", "pause_a_day", "morning")),
]


def _journey() -> Any:
    from cxloop.core.actor import Actor
    from cxloop.journeys import services
    from cxloop.journeys.models import Journey

    found = Journey.objects.filter(key="onboarding").first()
    if found is not None:
        return found
    system = Actor.system("bench")
    return services.activate_journey(system, services.install_example(system, "onboarding"))


def _generate(journey: Any, total: int) -> None:
    from cxloop.core.ids import new_public_id
    from cxloop.customers.models import Customer
    from cxloop.journeys.models import Enrolment, EnrolmentStep

    have = Enrolment.objects.filter(journey=journey).count()
    if have >= total:
        return
    if Customer.objects.count() < CUSTOMERS:
        Customer.objects.bulk_create(
            [
                Customer(public_id=new_public_id("cus"), name=f"Bench {n}", search_name=f"bench {n}")
                for n in range(CUSTOMERS)
            ],
            batch_size=1000,
        )
    customers = list(Customer.objects.values_list("pk", flat=True)[:CUSTOMERS])
    rng = random.Random(7)  # noqa: S311 - reproducible data
    weights = [s[0] for s in SHAPES]
    started = time.perf_counter()
    for start in range(have, total, CHUNK):
        batch = []
        shapes = rng.choices(SHAPES, weights, k=min(CHUNK, total - start))
        for n, (_, state, step, passed) in enumerate(shapes, start=start):
            entered = NOW - timedelta(days=60 * rng.random())
            batch.append(
                Enrolment(
                    public_id=new_public_id("enr"),
                    journey=journey,
                    version_id=journey.current_version_id,
                    customer_id=customers[n % len(customers)],
                    state=state,
                    step=step,
                    trigger_ref=f"bench:{n}",
                    entered_at=entered,
                    finished_at=None if state == "active" else entered + timedelta(days=9),
                    exit_reason={"not_started": "never used the product", "done": "onboarded"}.get(step, ""),
                    seq=len(passed) + 1,
                )  # fmt: skip
            )
        rows = Enrolment.objects.bulk_create(batch, batch_size=2000)
        history = [
            EnrolmentStep(enrolment_id=row.pk, seq=seq, step=name, kind="step", outcome="done", at=row.entered_at)
            for row, (_, _, step, passed) in zip(rows, shapes, strict=True)
            for seq, name in enumerate((*passed, step))
        ]
        EnrolmentStep.objects.bulk_create(history, batch_size=5000)
        common.progress("enrolments", start + len(batch), total, started)


def _settle(database: str) -> None:
    """PostgreSQL: as autovacuum would after a bulk load (statistics for the planner, hint bits set; see bench
    (f)). SQLite is left as cxloop leaves it: without ANALYZE statistics (the plans are the same either way)."""
    from django.db import connection

    if database == "postgres":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE journeys_enrolment, journeys_enrolmentstep")


def _time(fn: Any, samples: int) -> dict[str, float]:
    fn()  # warm up
    times = []
    for _ in range(samples):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return common.percentiles(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--enrolments", type=int, default=100_000)
    parser.add_argument("--samples", type=int, default=10)
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    args = parser.parse_args()
    if args.database == "postgres":
        common.ensure_pg_database("cxloop_bench_journeys")
        common.setup_django(common.pg_url("cxloop_bench_journeys"))
    else:
        path = Path(common.__file__).resolve().parent.parent / "var" / "bench_journeys.sqlite3"
        path.parent.mkdir(exist_ok=True)
        common.setup_django(f"sqlite:///{path}")
    from cxloop.core.actor import Actor
    from cxloop.journeys import analytics
    from cxloop.journeys.models import Enrolment, EnrolmentStep

    journey = _journey()
    _generate(journey, args.enrolments)
    _settle(args.database)
    actor = Actor.system("bench")
    history_rows = EnrolmentStep.objects.filter(enrolment__journey=journey).count()
    results = {
        "journey_analytics": _time(lambda: analytics.journey_analytics(actor, journey), args.samples),
        "step_counts": _time(lambda: analytics.step_counts(actor, journey), args.samples),
        "by_version": _time(lambda: analytics.by_version(actor, journey), args.samples),
        "floor: count(*)": _time(lambda: Enrolment.objects.filter(journey=journey).count(), args.samples),
    }
    print(f"{args.database}: {args.enrolments:,} enrolments, {history_rows:,} history rows ({common.machine()})")
    for name, figures in results.items():
        print(f"  {name:<20} p50 {figures['p50']:8.1f} ms   p95 {figures['p95']:8.1f} ms")
    common.emit({"bench": "journey_analytics", "database": args.database, "enrolments": args.enrolments, **{
        f"{name}_p50_ms": round(figures["p50"], 1) for name, figures in results.items()
    }})  # fmt: skip


if __name__ == "__main__":
    main()
