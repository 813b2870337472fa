"""Benchmark (d): case management at scale on PostgreSQL: queue views, the case page, and the SLA and promise
sweeps, over generated cases (1M with --cases 1000000, the issue's size).

Data (generated once per size into its own database with COPY, reused when already there):
- customers (one per 5 cases), 200 agents in 20 teams, 10 routing queues, the five goals, 12 categories;
- cases: 30% active (new / open / waiting), the rest resolved or closed, over two years; owner, team and
  queue drawn at random; each active case has an SLA policy's two clocks (first response, resolution) and
  its summary (sla_state, sla_next_due_at), two plan tasks and two messages;
- promises: one per five cases, a quarter of them open;
- the clocks and promises are spread so that a sweep at "now" finds about 1% of them newly due for a
  warning, a breach, a reminder or a miss (the steady state of a sweep that runs every minute finds far
  fewer; this is the heavy case).

Measured (each warmed up first; p50 / p95 / p99 in ms against the issue's target of p95 < 100 ms, and
against the same read as one SQL statement on the same connection, the floor):
- queue views through the HTTP API as an agent (token auth, routing, serialisation included):
  GET /api/v1/cases?queue=mine|team|unassigned|breaching|all, and the staff page /cases/?tab=… with a
  session, HTML rendered;
- the case page: /cases/<id>/ (HTML) and GET /api/v1/cases/<id>, for random active cases;
- the sweeps over all open cases and promises: `cases.services.sla.sweep` and
  `cases.services.promises.sweep_promises`, each timed once on a fresh copy of the due rows (target < 10 s).

    python bench/cases.py [--cases 1000000] [--samples 300] [--database cxloop_bench_cases]
"""

from __future__ import annotations

import argparse
import io
import random
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402
import generate  # noqa: E402

TARGET_MS = 100.0
SWEEP_TARGET_S = 10.0
WARM_UP = 30
AGENTS = 200
TEAMS = 20
QUEUES = 10
CATEGORIES = [
    "billing",
    "delivery",
    "returns",
    "account-access",
    "product-fault",
    "cancellation",
    "pricing",
    "installation",
    "warranty",
    "complaint",
    "feedback",
    "onboarding",
]
ACTIVE = ("new", "open", "waiting_on_customer", "waiting_on_us")
NOW = datetime.now(UTC).replace(microsecond=0)


def _ts(value: datetime | None) -> str:
    return value.isoformat() if value is not None else "\\N"


def _copy(cursor: Any, table: str, columns: str, rows: io.StringIO) -> None:
    generate._copy(cursor, table, columns, rows.getvalue())


def _load_people(cursor: Any) -> None:
    for team in range(1, TEAMS + 1):
        cursor.execute(
            "INSERT INTO accounts_team (id, name, created_at) VALUES (%s, %s, now())", [team, f"Team {team}"]
        )
    rows = io.StringIO()
    for agent in range(1, AGENTS + 1):
        role = "supervisor" if agent % 10 == 1 else "agent"
        rows.write(
            f"{agent}\t!\t\\N\tf\tagent{agent}\tAgent\t{agent}\tagent{agent}@example.com\tf\tt\t{NOW.isoformat()}"
            f"\t{role}\t{(agent - 1) % TEAMS + 1}\n"
        )
    _copy(
        cursor,
        "accounts_user",
        "id, password, last_login, is_superuser, username, first_name, last_name, email, is_staff, is_active,"
        " date_joined, role, team_id",
        rows,
    )
    for queue in range(1, QUEUES + 1):
        cursor.execute(
            "INSERT INTO cases_queue (id, key, name, team_id, assignment_mode, is_default, created_at)"
            " VALUES (%s, %s, %s, %s, 'load_balanced', %s, now())",
            [queue, f"queue-{queue}", f"Queue {queue}", queue, queue == 1],
        )
    for number, key in enumerate(CATEGORIES, 1):
        cursor.execute(
            "INSERT INTO cases_category (id, key, name, goal_id, description, is_active)"
            " VALUES (%s, %s, %s, (SELECT id FROM cases_goal WHERE key = 'care'), '', true)",
            [number, key, key.replace("-", " ").title()],
        )
    cursor.execute(
        "INSERT INTO cases_slapolicy (id, name, position, is_active, priorities, customer_tiers,"
        " first_response_minutes, next_response_minutes, resolution_minutes, warn_before_minutes, created_at,"
        " updated_at) VALUES (1, 'Standard', 0, true, '[]', '[]', 240, 480, 2880, 30, now(), now())"
    )


def _sla_times(rng: random.Random) -> tuple[datetime, datetime, str]:
    """(due_at, warn_at, state) for a running clock: ~1% newly due for a warning and ~1% newly breached now."""
    draw = rng.random()
    if draw < 0.01:  # warning due, not warned yet
        due = NOW + timedelta(minutes=rng.randint(1, 29))
    elif draw < 0.02:  # due passed, not breached yet
        due = NOW - timedelta(seconds=rng.randint(1, 59))
    else:
        due = NOW + timedelta(minutes=rng.randint(31, 60 * 24 * 5))
    return due, due - timedelta(minutes=30), "running"


def _case_row(number: int, rng: random.Random, ids: list[str], customers: int, span: float) -> tuple[str, bool]:
    opened = datetime(2024, 1, 1, tzinfo=UTC) + timedelta(seconds=span * number)
    active = rng.random() < 0.3
    status = rng.choice(ACTIVE) if active else rng.choice(("resolved", "closed", "closed"))
    owner = "\\N" if active and rng.random() < 0.15 else str(rng.randint(1, AGENTS))
    team = str((int(owner) - 1) % TEAMS + 1) if owner != "\\N" else str(rng.randint(1, TEAMS))
    category = rng.randint(1, len(CATEGORIES))
    resolved = opened + timedelta(hours=rng.randint(1, 200)) if not active else None
    due = NOW + timedelta(minutes=rng.randint(-600, 60 * 24 * 3)) if active else None
    sla_state = ("breached" if due < NOW else "ok") if due is not None else "met"
    subject = rng.choice(common.SENTENCES)[:120]
    row = (
        f"{number}\t{opened.isoformat()}\t{opened.isoformat()}\t{ids[0]}\t{rng.randint(1, customers)}"
        f"\t{{goal}}\t{category}\t{subject}\t\t{status}\t{rng.choice(('low', 'normal', 'normal', 'high', 'urgent'))}"
        f"\t{owner}\t{team}\t{int(team) % QUEUES + 1}\temail\t{{}}\t1\t{opened.isoformat()}\t\\N\t{opened.isoformat()}"
        f"\t\\N\t{_ts(resolved)}\t{_ts(resolved if status == 'closed' else None)}\t\\N\t\tf\t0\t0\t0\t\\N"
        f"\t1\t{sla_state}\t{_ts(due)}\t\\N\n"
    )
    return row, active


def _load_cases(cursor: Any, count: int, customers: int, seed: int = 5) -> None:
    rng = random.Random(seed)
    cursor.execute("SELECT id FROM cases_goal WHERE key = 'care'")
    goal = str(cursor.fetchone()[0])
    span = (NOW - datetime(2024, 1, 1, tzinfo=UTC)).total_seconds() / count
    began = time.perf_counter()
    chunk = 50_000
    clock_id = task_id = interaction_id = 0
    for first in range(1, count + 1, chunk):
        numbers = range(first, min(first + chunk, count + 1))
        ids = generate._public_ids("case", len(numbers))
        message_ids = generate._public_ids("int", 2 * len(numbers))
        cases, clocks, tasks, messages = io.StringIO(), io.StringIO(), io.StringIO(), io.StringIO()
        for offset, number in enumerate(numbers):
            row, active = _case_row(number, rng, [ids[offset]], customers, span)
            cases.write(row.replace("{goal}", goal, 1))
            customer = row.split("\t")[4]
            for direction in ("inbound", "outbound"):
                interaction_id += 1
                stamp = row.split("\t")[1]
                messages.write(
                    f"{stamp}\t{stamp}\t{message_ids[2 * offset + (direction == 'outbound')]}\t{customer}\t\\N\temail"
                    f"\t{direction}\t{stamp}\t{rng.choice(common.SENTENCES)}\t\t\t\t{ids[offset]}\t\\N\t\t[]\t{{}}\t\\N\n"
                )
            if not active:
                continue
            for metric, target in (("first_response", 240 * 60), ("resolution", 2880 * 60)):
                clock_id += 1
                due, warn, state = _sla_times(rng)
                clocks.write(
                    f"{clock_id}\t{number}\t{metric}\t{state}\t{target}\t{NOW.isoformat()}\t{NOW.isoformat()}\t0"
                    f"\t{due.isoformat()}\t{warn.isoformat()}\t\\N\t\\N\t\\N\n"
                )
            for position, title in enumerate(("Check the order history", "Call the customer back")):
                task_id += 1
                tasks.write(
                    f"{task_id}\t{number}\t{title}\t\t{position}\ttodo\t\\N\t\\N\t[]\t\\N\t\t\\N\t\\N\t{NOW.isoformat()}\t\\N\n"
                )
        _copy(
            cursor,
            "cases_case",
            "id, created_at, updated_at, public_id, customer_id, goal_id, category_id, subject, description, status,"
            " priority, owner_id, team_id, queue_id, source_channel, custom_fields, version, opened_at,"
            " first_response_at, last_customer_message_at, last_response_at, resolved_at, closed_at, goal_achieved,"
            " outcome, is_repeat_contact, repeat_count, handover_count, reopen_count, merged_into_id,"
            " sla_policy_id, sla_state, sla_next_due_at, created_by_id",
            cases,
        )
        _copy(
            cursor,
            "cases_slaclock",
            "id, case_id, metric, state, target_seconds, started_at, resumed_at, elapsed_seconds, due_at, warn_at,"
            " warned_at, breached_at, met_at",
            clocks,
        )
        _copy(
            cursor,
            "cases_casetask",
            "id, case_id, title, description, position, status, owner_id, due_at, checklist, from_template_id,"
            " skip_reason, completed_at, completed_by_id, created_at, created_by_id",
            tasks,
        )
        _copy(
            cursor,
            "interactions_interaction",
            "created_at, updated_at, public_id, customer_id, thread_id, channel, direction, occurred_at,"
            " summary, body, raw_ref, external_id, case_ref, sentiment, emotion, themes, metadata, created_by_id",
            messages,
        )
        common.progress("cases   ", numbers[-1], count, began)


def _load_promises(cursor: Any, cases: int, customers: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    count = cases // 5
    began = time.perf_counter()
    chunk = 50_000
    for first in range(1, count + 1, chunk):
        numbers = range(first, min(first + chunk, count + 1))
        ids = generate._public_ids("prm", len(numbers))
        rows = io.StringIO()
        for offset, number in enumerate(numbers):
            is_open = rng.random() < 0.25
            draw = rng.random()
            if not is_open:
                due = NOW - timedelta(days=rng.randint(1, 600))
            elif draw < 0.01:
                due = NOW + timedelta(minutes=rng.randint(1, 59))  # reminder due
            elif draw < 0.02:
                due = NOW - timedelta(seconds=rng.randint(1, 59))  # missed now
            else:
                due = NOW + timedelta(hours=rng.randint(2, 24 * 14))
            status = "open" if is_open else rng.choice(("kept", "kept", "kept", "missed", "cancelled"))
            owner = rng.randint(1, AGENTS)
            rows.write(
                f"{number}\t{NOW.isoformat()}\t{NOW.isoformat()}\t{ids[offset]}\t{rng.randint(1, customers)}"
                f"\t{rng.randint(1, cases)}\tCall the customer back\t{due.isoformat()}\t{owner}"
                f"\t{(owner - 1) % TEAMS + 1}\tphone\t{status}\t{'t' if status == 'missed' else 'f'}"
                f"\t{(due - timedelta(days=2)).isoformat()}\t{owner}\t\\N\t\\N\t\\N\t\\N\t\\N\t\\N\t\n"
            )
        _copy(
            cursor,
            "cases_promise",
            "id, created_at, updated_at, public_id, customer_id, case_id, description, due_at, owner_id, team_id,"
            " channel, status, was_missed, made_at, made_by_id, reminded_at, missed_at, escalated_to_id, kept_at,"
            " kept_by_id, cancelled_at, resolution_note",
            rows,
        )
        common.progress("promises", numbers[-1], count, began)


TABLES = [
    "cases_case",
    "cases_slaclock",
    "cases_casetask",
    "cases_promise",
    "interactions_interaction",
    "customers_customer",
    "customers_identity",
]


def build(database: str, cases: int, *, force: bool = False) -> dict[str, Any]:
    common.ensure_pg_database(database)
    common.setup_django(common.pg_url(database))
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT COALESCE(MAX(id), 0) FROM cases_case")
        if cursor.fetchone()[0] == cases and not force:
            print(f"reusing {cases:,} cases in {database}")
            return {"reused": True}
    began = time.perf_counter()
    customers = max(cases // 5, 1000)
    connection.set_autocommit(False)
    raw = connection.connection
    with raw.cursor() as cursor:
        cursor.execute("SET maintenance_work_mem = '1GB'")
        cursor.execute("SET synchronous_commit = off")
        cursor.execute(
            "TRUNCATE cases_case, cases_slaclock, cases_casetask, cases_promise, cases_queue, cases_category,"
            " cases_slapolicy, interactions_interaction, customers_identity, customers_customer, accounts_user,"
            " accounts_team, accounts_apitoken RESTART IDENTITY CASCADE"
        )
        generate.BIG_TABLES = TABLES
        recreate = generate._drop_secondary(cursor)
        raw.commit()
        generate.load_customers(cursor, customers, datetime(2023, 1, 1, tzinfo=UTC))
        _load_people(cursor)
        _load_cases(cursor, cases, customers)
        _load_promises(cursor, cases, customers)
        raw.commit()
        print(f"rows loaded in {time.perf_counter() - began:.0f} s; rebuilding {len(recreate)} indexes and constraints")
        for statement in recreate:
            cursor.execute(statement)
            raw.commit()
        for table in (*TABLES, "accounts_user", "accounts_team", "cases_queue", "cases_category"):
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT COALESCE(MAX(id), 1) FROM {table}))"
            )
        raw.commit()
    connection.set_autocommit(True)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    seconds = time.perf_counter() - began
    print(f"generated {cases:,} cases in {seconds:.0f} s")
    return {"reused": False, "seconds": round(seconds, 1)}


def _timed(label: str, call: Callable[[], Any], samples: int, floor: Callable[[], Any] | None) -> dict[str, Any]:
    for _ in range(WARM_UP):
        call()
        if floor is not None:
            floor()
    times: list[float] = []
    floors: list[float] = []
    for _ in range(samples):
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1000)
        if floor is not None:
            start = time.perf_counter()
            floor()
            floors.append((time.perf_counter() - start) * 1000)
    stats = common.percentiles(times)
    floor_p95 = common.percentiles(floors)["p95"] if floors else None
    verdict = "OK" if stats["p95"] < TARGET_MS else "OVER"
    ratio = f"; floor p95 {floor_p95:6.2f} ms, floor/ours {floor_p95 / stats['p95']:.3f}" if floor_p95 else ""
    print(
        f"{label:<34} p50 {stats['p50']:7.2f}  p95 {stats['p95']:7.2f}  p99 {stats['p99']:7.2f} ms"
        f"  (target p95 < {TARGET_MS:.0f} ms: {verdict}, {stats['p95'] / TARGET_MS:.2f} of it{ratio})"
    )
    return {"label": label, **{k: round(v, 2) for k, v in stats.items()}, "floor_p95": floor_p95}


def measure(samples: int, seed: int = 3) -> list[dict[str, Any]]:
    from django.db import connection
    from django.test import Client

    from cxloop.accounts import services as account_services
    from cxloop.accounts.models import User
    from cxloop.core.actor import Actor

    rng = random.Random(seed)
    agent = User.objects.get(username="agent2")
    _token, secret = account_services.create_token(Actor.system("bench"), agent, name="bench", scopes=["read"])
    api = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    web = Client()
    web.force_login(agent)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT public_id FROM cases_case WHERE status IN ('new','open','waiting_on_customer') LIMIT 5000"
        )
        active = [row[0] for row in cursor.fetchall()]

    def floor_queue(where: str, params: list[Any], order: str = "id DESC") -> Callable[[], Any]:
        def run() -> None:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT c.*, cu.name FROM cases_case c JOIN customers_customer cu ON cu.id = c.customer_id"
                    f" WHERE c.status IN ('new','open','waiting_on_customer','waiting_on_us') AND {where}"
                    f" ORDER BY {order} LIMIT 26",
                    params,
                )
                cursor.fetchall()

        return run

    floors = {
        "mine": floor_queue("c.owner_id = %s", [agent.pk], "c.id DESC"),
        "team": floor_queue("c.team_id = %s", [agent.team_id], "c.id DESC"),
        "unassigned": floor_queue("c.owner_id IS NULL", [], "c.id DESC"),
        "breaching": floor_queue("c.sla_next_due_at <= now() + interval '4 hours'", [], "c.sla_next_due_at, c.id"),
        "all": floor_queue("true", [], "c.id DESC"),
    }
    results = []
    for queue, floor in floors.items():
        results.append(
            _timed(f"API queue {queue}", lambda q=queue: _ok(api.get(f"/api/v1/cases?queue={q}")), samples, floor)
        )
    for queue in floors:
        results.append(
            _timed(f"page /cases/?tab={queue}", lambda q=queue: _ok(web.get(f"/cases/?tab={q}")), samples, None)
        )
    results.append(_timed("API case", lambda: _ok(api.get(f"/api/v1/cases/{rng.choice(active)}")), samples, None))
    results.append(_timed("page /cases/<id>/", lambda: _ok(web.get(f"/cases/{rng.choice(active)}/")), samples, None))
    return results


def _ok(response: Any) -> None:
    if response.status_code != 200:
        raise SystemExit(f"unexpected {response.status_code}: {response.content[:300]!r}")


def sweeps() -> dict[str, float]:
    """Each sweep once, at the generator's "now", in a transaction that is rolled back (so reruns find the same)."""
    from django.db import connection, transaction

    from cxloop.cases.services import promises, sla

    # The generator's "now" (every clock started then), so a reused database is swept in the state it was made
    # in: about 1% of clocks and promises newly due. Swept later, everything due since then is a backlog.
    with connection.cursor() as cursor:
        cursor.execute("SELECT MAX(started_at) FROM cases_slaclock")
        generated_at = cursor.fetchone()[0] or NOW
    out: dict[str, float] = {}
    for label, sweep in (("SLA sweep", sla.sweep), ("promise sweep", promises.sweep_promises)):
        with transaction.atomic():
            start = time.perf_counter()
            result = sweep(generated_at + timedelta(seconds=1))
            seconds = time.perf_counter() - start
            transaction.set_rollback(True)
        verdict = "OK" if seconds < SWEEP_TARGET_S else "OVER"
        print(
            f"{label:<34} {seconds:7.2f} s  ({result})"
            f" (target < {SWEEP_TARGET_S:.0f} s: {verdict}, {seconds / SWEEP_TARGET_S:.2f} of it)"
        )
        out[label] = round(seconds, 2)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--samples", type=int, default=300)
    parser.add_argument("--database", default="cxloop_bench_cases")
    parser.add_argument("--force", action="store_true")
    args = parser.parse_args()
    print(f"cases: {args.cases:,} cases on PostgreSQL; {common.machine()}")
    built = build(args.database, args.cases, force=args.force)
    results = measure(args.samples)
    swept = sweeps()
    common.emit({"bench": "cases", "cases": args.cases, "build": built, "queries": results, "sweeps": swept})


if __name__ == "__main__":
    main()
