"""Benchmark (g): customer-event ingestion through the batch API end to end, against a raw bulk insert.

In one process and one database:
1. seed existing customers with an e-mail and a phone each, register the event types (not timed);
2. POST N generated events as batches of 1,000 to /api/v1/events with an API token, through Django's whole
   request stack (middleware, authentication, JSON parsing, per-event checks, identity resolution, the
   insert, the audit row, the response) — Django's test client, so no socket and no HTTP server (timed);
3. read back the rows that step 2 created (events, new customers, their identities), delete them, and insert
   exactly those rows again with the driver's fastest bulk path, in as many transactions as step 2 used
   (timed): COPY on PostgreSQL, executemany on SQLite;
4. print events/s of both and the ratio API / raw (the issue's goals: at least 5,000 events/s and 0.3).

The events: ~70% for seeded customers (by e-mail, phone or external id), ~20% for people new in this
stream (by e-mail), ~10% by anonymous id; two types off the timeline (page views, purchases with a JSON
Schema), and with --timeline-share a share of a type shown on the timeline (each then also becomes an
interaction).

    python bench/events.py --db sqlite|postgres [--events 20000] [--batch 1000] [--timeline-share 0]
        [--profile out.prof]
"""

from __future__ import annotations

import argparse
import atexit
import json
import random
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402
import ingest  # noqa: E402

BENCH_DB = "cxloop_bench_events"
PURCHASE_SCHEMA = {
    "type": "object",
    "properties": {
        "amount": {"type": "number", "minimum": 0},
        "currency": {"type": "string", "pattern": "^[A-Z]{3}$"},
        "items": {"type": "array", "items": {"type": "string"}, "maxItems": 50},
    },
    "required": ["amount", "currency"],
}
PAGE_SCHEMA = {
    "type": "object",
    "properties": {"url": {"type": "string"}, "path": {"type": "string"}, "title": {"type": "string"}},
    "required": ["url"],
}
RAW_TABLES = ["customers_customer", "customers_identity", "events_event", "interactions_thread"]
RAW_TABLES += ["interactions_interaction"]
CLEANUP_TABLES = ["events_event", *ingest.CLEANUP_TABLES]


def register_types() -> None:
    from cxloop.core.actor import Actor
    from cxloop.events import services
    from cxloop.events.types import EventTypeInput

    system = Actor.system("bench")
    services.create_event_type(
        system, EventTypeInput(key="purchase.completed", name="Purchase", properties_schema=PURCHASE_SCHEMA)
    )
    services.create_event_type(
        system, EventTypeInput(key="page.seen", name="Page viewed", properties_schema=PAGE_SCHEMA)
    )
    services.create_event_type(system, EventTypeInput(key="account.upgraded", name="Upgraded", show_on_timeline=True))


def seed_external_ids(count: int) -> None:
    """An external id (network "shop") beside each seeded customer's e-mail and phone."""
    from django.db import connection, transaction

    created = datetime.now(UTC) - timedelta(days=365)
    rows = [
        (
            created,
            created,
            f"idn_ext{n:013d}",
            n + 1,
            "external",
            "shop",
            f"shop-{n}",
            f"shop-{n}",
            ingest.seeded_last_seen(n),
        )
        for n in range(count)
    ]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO customers_identity (created_at, updated_at, public_id, customer_id, kind, network, value,"
            " match_value, is_verified, source, last_seen_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, false,"
            " 'import', %s)",
            rows,
        )


def generate_events(count: int, existing: int, timeline_share: float, seed: int = 11) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    now = datetime.now(UTC)
    new_people: list[int] = []
    next_new = existing
    events: list[dict[str, Any]] = []
    for n in range(count):
        roll = rng.random()
        if roll < 0.7:
            person = ingest.Person(rng.randrange(existing))
            way = rng.random()
            if way < 0.5:
                customer: dict[str, Any] = {"email": person.email}
            elif way < 0.8:
                customer = {"external_id": f"shop-{person.number}", "network": "shop"}
            else:
                customer = {"phone": person.e164}
        elif roll < 0.9:
            if new_people and rng.random() < 0.5:
                number = rng.choice(new_people)
            else:
                number, next_new = next_new, next_new + 1
                new_people.append(number)
            customer = {"email": ingest.Person(number).email, "name": ingest.Person(number).name}
        else:
            customer = {"anonymous_id": f"anon-{rng.randrange(count // 20 + 1)}"}
        occurred = (now - timedelta(seconds=rng.randrange(30 * 86400))).isoformat()
        if rng.random() < timeline_share:
            event: dict[str, Any] = {"type": "account.upgraded", "properties": {"plan": rng.choice(["pro", "team"])}}
        elif rng.random() < 0.6:
            path = f"/products/{rng.randrange(500)}"
            event = {
                "type": "page.seen",
                "properties": {"url": f"https://shop.example.com{path}", "path": path, "title": f"Product {path}"},
            }
        else:
            items = [f"sku-{rng.randrange(10_000)}" for _ in range(rng.randint(1, 4))]
            event = {
                "type": "purchase.completed",
                "properties": {"amount": round(rng.uniform(1, 500), 2), "currency": "EUR", "items": items},
            }
        events.append({"event_id": f"bench-{n}", "customer": customer, "occurred_at": occurred, **event})
    return events


def run_api(bodies: list[bytes], token: str) -> tuple[float, float, int, int, list[dict[str, int]]]:
    """POST each body; wall and CPU time of the requests only; note (untimed) the row ids after each."""
    from django.test import Client

    client = Client()
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    # Untimed: the first request imports the URL configuration and every router (seconds, once per process).
    client.get("/api/v1/event-types", **headers)
    stored = failed = 0
    elapsed = cpu = 0.0
    marks_after: list[dict[str, int]] = []
    for body in bodies:
        began, began_cpu = time.perf_counter(), time.process_time()
        response = client.post("/api/v1/events", data=body, content_type="application/json", **headers)
        elapsed += time.perf_counter() - began
        cpu += time.process_time() - began_cpu
        if response.status_code != 200:
            raise SystemExit(f"POST /api/v1/events answered {response.status_code}: {response.content[:500]!r}")
        answer = json.loads(response.content)
        stored += answer["stored"]
        failed += answer["failed"]
        marks_after.append(watermarks())
    return elapsed, cpu, stored, failed, marks_after


def run_service(events: list[dict[str, Any]], batch: int) -> tuple[float, float]:
    """The same events through `events.services.ingest_events` alone (no HTTP, no JSON): what the API adds."""
    from datetime import datetime as parse_time

    from django.contrib.auth import get_user_model

    from cxloop.core.actor import Actor
    from cxloop.customers.services import batch as customer_batch
    from cxloop.events import services
    from cxloop.events.types import CustomerRef, EventInput

    # Cold, as the API run was: the process remembers canonicalised identities, which the API run filled.
    customer_batch._remembered.cache_clear()
    actor = Actor.for_user(get_user_model().objects.get(username="bench-sender"), via="api")
    inputs = [
        EventInput(
            event_id=e["event_id"],
            type=e["type"],
            customer=CustomerRef(**e["customer"]),
            occurred_at=parse_time.fromisoformat(e["occurred_at"]),
            properties=e["properties"],
        )
        for e in events
    ]
    elapsed = cpu = 0.0
    for start in range(0, len(inputs), batch):
        began, began_cpu = time.perf_counter(), time.process_time()
        services.ingest_events(actor, inputs[start : start + batch])
        elapsed += time.perf_counter() - began
        cpu += time.process_time() - began_cpu
    return elapsed, cpu


def watermarks() -> dict[str, int]:
    from django.db import connection

    marks = {}
    with connection.cursor() as cursor:
        for table in CLEANUP_TABLES:
            cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}")  # noqa: S608 - our own table names
            marks[table] = cursor.fetchone()[0]
    return marks


def take_rows(marks: dict[str, int]) -> dict[str, list[tuple[Any, ...]]]:
    """The rows the API created, as plain tuples (JSON as text), then delete them all."""
    from django.db import connection, transaction

    postgres = connection.vendor == "postgresql"
    rows: dict[str, list[tuple[Any, ...]]] = {}
    with connection.cursor() as cursor:
        for table in RAW_TABLES:
            columns = ", ".join(
                f'"{c}"::text' if is_json and postgres else f'"{c}"' for c, is_json in ingest._columns(table)
            )
            cursor.execute(f"SELECT {columns} FROM {table} WHERE id > %s ORDER BY id", [marks[table]])  # noqa: S608
            rows[table] = cursor.fetchall()
    with transaction.atomic(), connection.cursor() as cursor:
        for table in CLEANUP_TABLES:
            cursor.execute(f"DELETE FROM {table} WHERE id > %s", [marks[table]])  # noqa: S608
    if postgres:
        with connection.cursor() as cursor:
            for table in CLEANUP_TABLES:
                cursor.execute(f"VACUUM ANALYZE {table}")
    return rows


def run_raw(rows: dict[str, list[tuple[Any, ...]]], marks_after: list[dict[str, int]]) -> tuple[float, float]:
    """Insert `rows` again in the transactions the API used: transaction i gets the rows request i created."""
    from django.db import connection, transaction

    postgres = connection.vendor == "postgresql"
    parts: list[dict[str, list[tuple[Any, ...]]]] = [{} for _ in marks_after]
    for table in RAW_TABLES:
        position = 0
        for part, marks in zip(parts, marks_after, strict=True):
            end = position
            while end < len(rows[table]) and rows[table][end][0] <= marks[table]:
                end += 1
            part[table] = rows[table][position:end]
            position = end
    statements = {}
    for table in RAW_TABLES:
        columns = [c for c, _ in ingest._columns(table)]
        names = ", ".join(f'"{c}"' for c in columns)
        if postgres:
            statements[table] = f"COPY {table} ({names}) FROM STDIN"
        else:
            statements[table] = f"INSERT INTO {table} ({names}) VALUES ({', '.join(['%s'] * len(columns))})"  # noqa: S608
    began_cpu = time.process_time()
    with common.stopwatch() as elapsed:
        for part in parts:
            with transaction.atomic(), connection.cursor() as cursor:
                for table in RAW_TABLES:
                    chunk = part[table]
                    if not chunk:
                        continue
                    if postgres:
                        with cursor.cursor.copy(statements[table]) as copy:
                            for row in chunk:
                                copy.write_row(row)
                    else:
                        cursor.executemany(statements[table], chunk)
    return elapsed[0], time.process_time() - began_cpu


def database_url(db: str) -> tuple[str, str]:
    if db == "postgres":
        common.ensure_pg_database(BENCH_DB, fresh=True)
        return common.pg_url(BENCH_DB), f"PostgreSQL ({BENCH_DB})"
    folder = Path(tempfile.mkdtemp(prefix="cxloop-bench-events-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    path = folder / "bench.sqlite3"
    return f"sqlite:///{path}", f"SQLite (WAL) {path}"


def api_token() -> str:
    from django.contrib.auth import get_user_model

    from cxloop.accounts import services as account_services
    from cxloop.core.actor import Actor

    user = get_user_model().objects.create_user(username="bench-sender", role="agent")
    _, secret = account_services.create_token(Actor.system("bench"), user, name="bench", scopes=["read", "write"])
    return secret


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], required=True)
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--existing", type=int, default=0, help="seeded customers (default: events / 2)")
    parser.add_argument("--timeline-share", type=float, default=0.0, help="share of events of a timeline type")
    parser.add_argument("--profile", default="", help="profile the API run with cProfile; write the stats here")
    args = parser.parse_args()
    existing = args.existing or max(args.events // 2, 2)

    url, label = database_url(args.db)
    common.setup_django(url)
    print(
        f"benchmark (g) event ingestion on {label}: {args.events:,} events in requests of {args.batch:,},"
        f" timeline share {args.timeline_share:.0%}; {common.machine()}"
    )
    ingest.seed_customers(existing)
    seed_external_ids(existing)
    register_types()
    token = api_token()
    events = generate_events(args.events, existing, args.timeline_share)
    bodies = [
        json.dumps({"events": events[start : start + args.batch]}).encode()
        for start in range(0, len(events), args.batch)
    ]
    marks = watermarks()

    profiler = None
    if args.profile:
        import cProfile

        profiler = cProfile.Profile(time.process_time)
        profiler.enable()
    api_s, api_cpu, stored, failed, marks_after = run_api(bodies, token)
    if profiler is not None:
        import pstats

        profiler.disable()
        profiler.dump_stats(args.profile)
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(30)

    rows = take_rows(marks)
    raw_s, raw_cpu = run_raw(rows, marks_after)
    counts = {table: len(table_rows) for table, table_rows in rows.items()}
    take_rows(marks)  # back to the seeded state, then the same events through the service layer alone
    service_s, service_cpu = run_service(events, args.batch)
    service_rate = len(events) / service_s
    api_rate = len(events) / api_s
    raw_rate = len(events) / raw_s
    ratio = api_rate / raw_rate
    cpu_ratio = raw_cpu / api_cpu if api_cpu else float("nan")
    raw_method = "COPY" if args.db == "postgres" else "executemany"
    print(f"  rows created: {counts}; events stored {stored:,}, refused {failed:,}")
    print(f"  batch API (POST /api/v1/events): {api_s:8.2f} s  {api_rate:10,.0f} events/s   cpu {api_cpu:.2f} s")
    print(f"  raw bulk insert ({raw_method}):     {raw_s:8.2f} s  {raw_rate:10,.0f} events/s   cpu {raw_cpu:.2f} s")
    print(
        f"  for comparison, the service layer alone (ingest_events, no HTTP/JSON): {service_s:.2f} s"
        f"  {service_rate:,.0f} events/s  cpu {service_cpu:.2f} s  (ratio to raw {service_rate / raw_rate:.3f})"
    )
    print(f"  events/s: {api_rate:,.0f}   (goal >= 5,000: {'met' if api_rate >= 5000 else 'NOT met'})")
    print(f"  ratio API / raw: {ratio:.3f}   (goal >= 0.3: {'met' if ratio >= 0.3 else 'NOT met'})")
    print(f"  same ratio in this process's CPU time: {cpu_ratio:.3f}")
    print(f"  peak RSS of this process: {common.peak_rss_mb():.0f} MB")
    common.emit(
        {
            "bench": "events",
            "db": args.db,
            "events": len(events),
            "batch": args.batch,
            "existing": existing,
            "timeline_share": args.timeline_share,
            "stored": stored,
            "refused": failed,
            "rows": counts,
            "api_s": round(api_s, 3),
            "raw_s": round(raw_s, 3),
            "api_cpu_s": round(api_cpu, 3),
            "raw_cpu_s": round(raw_cpu, 3),
            "cpu_ratio": round(cpu_ratio, 3),
            "raw_method": raw_method,
            "api_events_per_s": round(api_rate),
            "raw_events_per_s": round(raw_rate),
            "ratio": round(ratio, 3),
            "service_events_per_s": round(service_rate),
            "service_cpu_s": round(service_cpu, 3),
            "goal_ratio": 0.3,
            "goal_events_per_s": 5000,
        }
    )


if __name__ == "__main__":
    main()
