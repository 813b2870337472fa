"""Benchmark (f): feedback scores at 1M answers on PostgreSQL: NPS overall and grouped by month, through
cxloop.feedback.queries.scores, against the same counts as one hand-written SQL statement and against a bare
`SELECT count(*)` over the same rows, measured in the same run on the same connection.

Data (generated once into its own database with COPY, reused when already there): 2,000 customers, one NPS
survey and one CSAT survey, and per answer one invitation (a response belongs to one invitation); NPS scores
drawn from a realistic distribution over the last two years, with segment, channel and team set.

Measured (each warmed up first, p50 / p95 in ms over --samples runs; the goal is < 1 s):
- scores(kind=nps) over all answers of the period: one aggregate with a conditional count per score value,
  plus the response-rate aggregate over the invitations;
- scores(kind=nps, group_by=period, period=month) in the business time zone;
- floors: the same two aggregates as raw SQL without the ORM, and `SELECT count(*)` of the NPS answers.

    python bench/feedback_scores.py [--answers 1000000] [--samples 20] [--database cxloop_bench_feedback]
"""

from __future__ import annotations

import argparse
import io
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402
import generate  # noqa: E402

TARGET_MS = 1000.0
WARM_UP = 3
CUSTOMERS = 2_000
CHUNK = 100_000
NOW = datetime.now(UTC).replace(microsecond=0)
SPAN = timedelta(days=730)
# P(score) for 0..10: a business with an NPS around +20.
WEIGHTS = [3, 1, 2, 2, 3, 5, 8, 10, 16, 20, 30]
SEGMENTS = ["customer", "loyal", "at_risk", "churned"]
CHANNELS = ["email", "email", "sms", "chat", "web"]


def _customers(cursor: Any) -> list[int]:
    from cxloop.customers.models import Customer

    if Customer.objects.count() < CUSTOMERS:
        ids = generate._public_ids("cus", CUSTOMERS)
        Customer.objects.bulk_create(
            [Customer(public_id=ids[n], name=f"Bench {n}", search_name=f"bench {n}") for n in range(CUSTOMERS)],
            batch_size=1000,
        )
    return list(Customer.objects.order_by("pk").values_list("pk", flat=True)[:CUSTOMERS])


def _surveys() -> tuple[int, int]:
    from cxloop.feedback.models import Survey

    nps, _ = Survey.objects.get_or_create(key="bench-nps", defaults={"name": "Bench NPS", "kind": "nps"})
    csat, _ = Survey.objects.get_or_create(key="bench-csat", defaults={"name": "Bench CSAT", "kind": "csat"})
    return nps.pk, csat.pk


def _load(cursor: Any, count: int, customers: list[int], survey_id: int) -> None:
    """`count` invitations and their answers, in chunks of COPY."""
    rng = random.Random(7)  # noqa: S311 - benchmark data, reproducible
    began = time.perf_counter()
    cursor.execute("SELECT COALESCE(MAX(id), 0) FROM feedback_invitation")
    next_id = cursor.fetchone()[0] + 1
    for first in range(0, count, CHUNK):
        size = min(CHUNK, count - first)
        invitations, responses = io.StringIO(), io.StringIO()
        for offset, (inv_id, rsp_id) in enumerate(
            zip(generate._public_ids("inv", size), generate._public_ids("rsp", size), strict=True)
        ):
            pk = next_id + first + offset
            at = (NOW - SPAN * rng.random()).isoformat()
            customer = customers[rng.randrange(len(customers))]
            channel = rng.choice(CHANNELS)
            score = rng.choices(range(11), WEIGHTS)[0]
            invitations.write(
                f"{pk}\t{at}\t{at}\t{inv_id}\t{survey_id}\t1\t{customer}\t{channel}\ten\tanswered\t\tmanual\t\t\t\t"
                f"\t\t{at}\t{at}\t{at}\t{{}}\n"
            )
            responses.write(
                f"{at}\t{at}\t{rsp_id}\t{pk}\t{survey_id}\t{customer}\tnps\t{score}\t\t{{}}\ten\t{channel}\t"
                f"\t{rng.choice(SEGMENTS)}\t\t\t\t{{}}\t\t[]\t\t{at}\n"
            )
        generate._copy(
            cursor,
            "feedback_invitation",
            "id, created_at, updated_at, public_id, survey_id, survey_version, customer_id, channel, locale, status,"
            " skip_reason, trigger, trigger_ref, case_ref, thread_ref, goal_key, message_ref, sent_at, answered_at,"
            " expires_at, partial_answers",
            invitations.getvalue(),
        )
        generate._copy(
            cursor,
            "feedback_response",
            "created_at, updated_at, public_id, invitation_id, survey_id, customer_id, kind, score, comment, answers,"
            " locale, channel, goal_key, segment, case_ref, sentiment_label, emotion, emotions, language,"
            " key_phrases, interaction_ref, submitted_at",
            responses.getvalue(),
        )
        common.progress("answers ", first + size, count, began)
    cursor.execute(
        "SELECT setval(pg_get_serial_sequence('feedback_invitation', 'id'), MAX(id)) FROM feedback_invitation"
    )


def _settle(cursor: Any) -> None:
    """VACUUM ANALYZE, as autovacuum does soon after a bulk load in production: it sets the hint bits and the
    visibility map. Without it the first scans rewrite every page they read (measured: 385 ms against 130 ms for
    the same counts over 1M answers), which would measure the load, not the query. Cheap when nothing changed."""
    cursor.execute("VACUUM ANALYZE feedback_invitation")
    cursor.execute("VACUUM ANALYZE feedback_response")


def build(database: str, answers: int, *, force: bool) -> dict[str, Any]:
    common.ensure_pg_database(database, fresh=force)
    common.setup_django(common.pg_url(database))
    from django.db import connection

    with connection.cursor() as wrapper:
        cursor = wrapper.cursor
        cursor.execute("SELECT count(*) FROM feedback_response WHERE kind = 'nps'")
        have = cursor.fetchone()[0]
        if have >= answers:
            print(f"reusing {have:,} NPS answers in {database}")
            _settle(cursor)
            return {"generated": False, "answers": have}
        began = time.perf_counter()
        customers = _customers(cursor)
        nps, _ = _surveys()
        _load(cursor, answers - have, customers, nps)
        _settle(cursor)
        seconds = time.perf_counter() - began
        print(f"\ngenerated {answers - have:,} answers in {seconds:.0f} s")
        return {"generated": True, "answers": answers, "seconds": round(seconds, 1)}


def _time(label: str, run: Any, samples: int) -> dict[str, float]:
    for _ in range(WARM_UP):
        run()
    times = []
    for _ in range(samples):
        began = time.perf_counter()
        run()
        times.append((time.perf_counter() - began) * 1000)
    stats = common.percentiles(times) if len(times) >= 2 else {"p50": times[0], "p95": times[0], "n": 1}
    print(f"  {label:<52} p50 {stats['p50']:8.1f} ms   p95 {stats['p95']:8.1f} ms")
    return {k: round(v, 1) for k, v in stats.items()}


_RAW_COUNTS = ", ".join(f"count(*) FILTER (WHERE score = {v})" for v in range(11))


def measure(samples: int) -> dict[str, Any]:
    from django.conf import settings
    from django.db import connection

    from cxloop.core.actor import Actor
    from cxloop.feedback.queries import scores as score_queries

    actor = Actor.system("bench")
    start = (NOW - SPAN).date()
    end = NOW.date() + timedelta(days=1)
    overall = score_queries.ScoreFilters(kind="nps", start=start, end=end)
    monthly = score_queries.ScoreFilters(kind="nps", group_by="period", period="month", start=start, end=end)
    low, high = score_queries.day_bounds(start, end)
    zone = settings.TIME_ZONE
    cursor = connection.cursor().cursor

    def raw_overall() -> None:
        """The two statements scores() runs, written by hand: the answers' counts and the response rates."""
        cursor.execute(
            f"SELECT {_RAW_COUNTS} FROM feedback_response WHERE kind = 'nps' AND score IS NOT NULL"  # noqa: S608
            " AND submitted_at >= %s AND submitted_at < %s",
            [low, high],
        )
        cursor.fetchall()
        cursor.execute(
            "SELECT s.key, s.name, count(*), count(*) FILTER (WHERE i.answered_at IS NOT NULL)"
            " FROM feedback_invitation i JOIN feedback_survey s ON s.id = i.survey_id"
            " WHERE s.kind = 'nps' AND i.sent_at IS NOT NULL AND i.sent_at >= %s AND i.sent_at < %s"
            " GROUP BY s.key, s.name ORDER BY s.key",
            [low, high],
        )
        cursor.fetchall()

    def raw_monthly() -> None:
        cursor.execute(
            f"SELECT date_trunc('month', submitted_at AT TIME ZONE %s) AS m, {_RAW_COUNTS} FROM feedback_response"  # noqa: S608
            " WHERE kind = 'nps' AND score IS NOT NULL AND submitted_at >= %s AND submitted_at < %s"
            " GROUP BY m ORDER BY m",
            [zone, low, high],
        )
        cursor.fetchall()

    def bare_count() -> None:
        cursor.execute("SELECT count(*) FROM feedback_response WHERE kind = 'nps'")
        cursor.fetchall()

    report = score_queries.scores(actor, overall)
    print(f"NPS {report.total.stats.value:.1f} over {report.total.n:,} answers; time zone {zone}")
    results = {
        "nps": _time("scores(kind=nps)  [cxloop query layer]", lambda: score_queries.scores(actor, overall), samples),
        "nps_raw": _time("same two statements, raw SQL", raw_overall, samples),
        "monthly": _time("scores(group_by=period, month)", lambda: score_queries.scores(actor, monthly), samples),
        "monthly_raw": _time("same counts by month, raw SQL", raw_monthly, samples),
        "count": _time("SELECT count(*) of the NPS answers", bare_count, samples),
    }
    for key in ("nps", "monthly"):
        ratio = results[key]["p50"] / results[f"{key}_raw"]["p50"]
        print(f"  {key}: {ratio:.2f}x the raw SQL; {results[key]['p50'] / results['count']['p50']:.2f}x a bare count")
    results["answers"] = report.total.n
    results["target_ms"] = TARGET_MS
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--answers", type=int, default=1_000_000)
    parser.add_argument("--samples", type=int, default=20)
    parser.add_argument("--database", default="cxloop_bench_feedback")
    parser.add_argument("--force", action="store_true")
    args = parser.parse_args()
    print(f"feedback scores: {args.answers:,} NPS answers on PostgreSQL; {common.machine()}")
    built = build(args.database, args.answers, force=args.force)
    results = measure(args.samples)
    common.emit({"bench": "feedback_scores", "answers": args.answers, "build": built, "queries": results})


if __name__ == "__main__":
    main()
