"""Benchmark (a): identity resolution + interaction ingest through the service layer, against a raw bulk insert.

In one process and one database:
1. seed existing customers (not timed);
2. ingest N generated inbound items through `interactions.services.ingest_batch`, in batches (timed);
3. read back the rows that step 2 created (customers, identities, threads, interactions), delete them, and
   insert exactly those rows again with the driver's fastest bulk path, in as many transactions as step 2
   used (timed): COPY on PostgreSQL, executemany on SQLite;
4. print items/s of both and the ratio service / raw (the issue's goal: at least 0.3).

The raw insert writes no audit entries, runs no canonicalisation and resolves nothing: it is the floor that
the service layer's extra work is measured against.

    python bench/ingest.py --db sqlite|postgres [--items 20000] [--batch 500] [--profile out.prof]
"""

from __future__ import annotations

import argparse
import atexit
import random
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402

FIRST = [
    "Ann",
    "Ben",
    "Cat",
    "Dan",
    "Eve",
    "Fay",
    "Gil",
    "Hal",
    "Ivy",
    "Jon",
    "Kim",
    "Lea",
    "Max",
    "Nia",
    "Oli",
    "Pat",
    "Quin",
    "Ray",
    "Sue",
    "Tom",
    "Uma",
    "Vic",
    "Wes",
    "Xia",
    "Yan",
    "Zoe",
]
LAST = [
    "Smith",
    "Jones",
    "Brown",
    "Taylor",
    "Wilson",
    "Davies",
    "Evans",
    "Thomas",
    "Roberts",
    "Walker",
    "Wright",
    "Hall",
    "Green",
    "Wood",
    "Clarke",
    "Hughes",
]
DOMAINS = ["example.com", "mail.example.org", "shop.example.net", "example.co.uk"]
BENCH_DB = "cxloop_bench"


@dataclass(frozen=True)
class Person:
    number: int

    @property
    def name(self) -> str:
        return f"{FIRST[self.number % len(FIRST)]} {LAST[(self.number // len(FIRST)) % len(LAST)]}"

    @property
    def email(self) -> str:
        first, last = self.name.lower().split()
        return f"{first}.{last}.{self.number}@{DOMAINS[self.number % len(DOMAINS)]}"

    @property
    def e164(self) -> str:
        return f"+4474{self.number:08d}"

    def national_phone(self, rng: random.Random) -> str:
        digits = f"074{self.number:08d}"
        return rng.choice([f"{digits[:5]} {digits[5:]}", digits, f"+44 {digits[1:5]} {digits[5:]}"])


def generate_items(count: int, existing: int, seed: int = 7) -> list[Any]:
    """Inbound items: ~40% from seeded customers, ~30% repeating people new in this stream, ~30% first
    contacts; e-mail (mixed case, some sub-addresses), national phone spellings, or both; ~0.5% carry
    identities of two different people (merge suggestions) and ~1% are invalid."""
    from cxloop.customers.types import IdentityInput
    from cxloop.interactions.types import InboundItem, InteractionInput

    rng = random.Random(seed)
    now = datetime.now(UTC)
    pool: list[Person] = []
    next_new = existing
    items: list[InboundItem] = []
    for n in range(count):
        roll = rng.random()
        if roll < 0.01:
            identities = [IdentityInput(kind="email", value=f"broken-address-{n}@")]
            channel, name = "email", ""
        else:
            if roll < 0.015:
                people = [Person(rng.randrange(existing)), Person(rng.randrange(existing))]
            elif roll < 0.415:
                people = [Person(rng.randrange(existing))]
            elif roll < 0.715 and pool:
                people = [rng.choice(pool)]
            else:
                people = [Person(next_new)]
                pool.append(people[0])
                next_new += 1
            identities, channel = _identities(rng, people)
            name = people[0].name if rng.random() < 0.6 else ""
        body = " ".join(rng.sample(common.SENTENCES, rng.randint(1, 3)))
        data = InteractionInput(
            channel=channel,
            direction="inbound",
            occurred_at=now - timedelta(minutes=rng.randrange(90 * 24 * 60)),
            body=body,
            subject=f"Order {rng.randrange(10**6)}" if channel == "email" else "",
            thread_ref=f"thr-{n % 997}" if channel == "email" and rng.random() < 0.5 else "",
            external_id=f"msg-{n}",
        )
        items.append(InboundItem(identities=identities, interaction=data, name=name, country="GB"))
    return items


def _identities(rng: random.Random, people: list[Any]) -> tuple[list[Any], str]:
    from cxloop.customers.types import IdentityInput

    if len(people) == 2:
        return [
            IdentityInput(kind="email", value=people[0].email),
            IdentityInput(kind="phone", value=people[1].national_phone(rng)),
        ], "chat"
    person = people[0]
    email = person.email
    if rng.random() < 0.2:
        email = email.upper() if rng.random() < 0.5 else email.capitalize()
    if rng.random() < 0.02:
        local, domain = email.split("@")
        email = f"{local}+news@{domain}"
    roll = rng.random()
    if roll < 0.5:
        return [IdentityInput(kind="email", value=email)], "email"
    phone = IdentityInput(kind="phone", value=person.national_phone(rng))
    if roll < 0.8:
        return [phone], rng.choice(["sms", "phone", "whatsapp"])
    return [IdentityInput(kind="email", value=email), phone], "chat"


# --- seeding ------------------------------------------------------------------------------------
def seeded_last_seen(number: int) -> datetime:
    """When seeded customer `number` last got in touch: 1 to 180 days ago, as for customers who exist before a
    backlog arrives (not seconds before the run, which would leave their identities' last_seen_at fresh enough
    for resolution to skip rewriting it: customers.services.identities.LAST_SEEN_RESOLUTION)."""
    return datetime.now(UTC) - timedelta(days=1 + number % 180, minutes=number % 1440)


def seed_customers(count: int) -> None:
    """Customers (with an e-mail and a phone each) that exist before the timed run, inserted directly."""
    from django.db import connection, transaction

    created = datetime.now(UTC) - timedelta(days=365)
    customers = []
    identities = []
    for number in range(count):
        person = Person(number)
        seen = seeded_last_seen(number)
        customers.append(
            (number + 1, created, created, f"cus_seed{number:012d}", person.name, person.name.lower(), "GB")
        )
        for kind, value, match in (("email", person.email, person.email), ("phone", person.e164, person.e164)):
            identities.append(
                (created, created, f"idn_seed{len(identities):012d}", number + 1, kind, value, match, seen)
            )
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO customers_customer (id, created_at, updated_at, public_id, name, search_name, country,"
            " locale, time_zone, lifecycle_stage, attributes, status) VALUES (%s, %s, %s, %s, %s, %s, %s, '', '',"
            " 'lead', '{}', 'active')",
            customers,
        )
        cursor.executemany(
            "INSERT INTO customers_identity (created_at, updated_at, public_id, customer_id, kind, network, value,"
            " match_value, is_verified, source, last_seen_at) VALUES (%s, %s, %s, %s, %s, '', %s, %s, false,"
            " 'import', %s)",
            identities,
        )
    _reset_sequences()


def _reset_sequences() -> None:
    from django.core.management.color import no_style
    from django.db import connection

    from cxloop.customers.models import Customer, Identity

    statements = connection.ops.sequence_reset_sql(no_style(), [Customer, Identity])
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)


# --- the two timed paths --------------------------------------------------------------------------
def run_service(items: list[Any], batch: int) -> tuple[float, float, int, int, list[dict[str, int]]]:
    """Time ingest_batch over `items` (wall and this process's CPU); note (untimed) the row ids after each batch."""
    import time

    from django.contrib.auth import get_user_model

    from cxloop.core.actor import Actor
    from cxloop.interactions import services

    user = get_user_model().objects.create_user(username="bench-agent", role="agent")  # no password: API use
    actor = Actor.for_user(user, via="api")
    stored = failed = 0
    elapsed = cpu = 0.0
    marks_after: list[dict[str, int]] = []
    for start in range(0, len(items), batch):
        began, began_cpu = time.perf_counter(), time.process_time()
        result = services.ingest_batch(actor, items[start : start + batch])
        elapsed += time.perf_counter() - began
        cpu += time.process_time() - began_cpu
        stored += result.stored
        failed += result.failed
        marks_after.append(watermarks())
    return elapsed, cpu, stored, failed, marks_after


def run_one_by_one(items: list[Any]) -> tuple[float, int]:
    """ingest_interaction per item, as a channel without batching would call it: one transaction each."""
    from django.contrib.auth import get_user_model

    from cxloop.core.actor import Actor
    from cxloop.core.errors import CxloopError
    from cxloop.interactions import services

    actor = Actor.for_user(get_user_model().objects.get(username="bench-agent"), via="api")
    stored = 0
    with common.stopwatch() as elapsed:
        for item in items:
            try:
                services.ingest_interaction(
                    actor, item.identities, item.interaction, name=item.name, country=item.country
                )
                stored += 1
            except CxloopError:
                pass
    return elapsed[0], stored


RAW_TABLES = ["customers_customer", "customers_identity", "interactions_thread", "interactions_interaction"]
CLEANUP_TABLES = [
    "interactions_interaction",
    "interactions_thread",
    "customers_mergesuggestion",
    "customers_identity",
    "customers_customer",
    "privacy_auditentry",
]


def _columns(table: str) -> list[tuple[str, bool]]:
    """(column, is_json) of the model behind `table`, in field order."""
    from django.apps import apps

    model = next(m for m in apps.get_models() if m._meta.db_table == table)
    return [(f.column, f.get_internal_type() == "JSONField") for f in model._meta.concrete_fields]


def watermarks() -> dict[str, int]:
    from django.db import connection

    with connection.cursor() as cursor:
        marks = {}
        for table in CLEANUP_TABLES:
            cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}")
            marks[table] = cursor.fetchone()[0]
    return marks


def take_rows(marks: dict[str, int]) -> dict[str, list[tuple[Any, ...]]]:
    """The rows the service created, as plain tuples (JSON as text), then delete them all."""
    from django.db import connection, transaction

    postgres = connection.vendor == "postgresql"
    rows: dict[str, list[tuple[Any, ...]]] = {}
    with connection.cursor() as cursor:
        for table in RAW_TABLES:
            columns = ", ".join(f'"{c}"::text' if json and postgres else f'"{c}"' for c, json in _columns(table))
            cursor.execute(f"SELECT {columns} FROM {table} WHERE id > %s ORDER BY id", [marks[table]])
            rows[table] = cursor.fetchall()
    with transaction.atomic(), connection.cursor() as cursor:
        for table in CLEANUP_TABLES:
            cursor.execute(f"DELETE FROM {table} WHERE id > %s", [marks[table]])
    if postgres:
        with connection.cursor() as cursor:
            for table in CLEANUP_TABLES:
                cursor.execute(f"VACUUM ANALYZE {table}")
    return rows


def run_raw(rows: dict[str, list[tuple[Any, ...]]], marks_after: list[dict[str, int]]) -> tuple[float, float]:
    """Insert `rows` again in the transactions the service used: transaction i gets the rows batch i created."""
    import time

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
        columns = [c for c, _ in _columns(table)]
        names = ", ".join(f'"{c}"' for c in columns)
        if postgres:
            statements[table] = f"COPY {table} ({names}) FROM STDIN"
        else:
            statements[table] = f"INSERT INTO {table} ({names}) VALUES ({', '.join(['%s'] * len(columns))})"
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
    folder = Path(tempfile.mkdtemp(prefix="cxloop-bench-sqlite-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)  # a fresh file per run, gone afterwards
    path = folder / "bench.sqlite3"
    return f"sqlite:///{path}", f"SQLite (WAL) {path}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], required=True)
    parser.add_argument("--items", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--existing", type=int, default=0, help="seeded customers (default: items / 2)")
    parser.add_argument("--single", type=int, default=1000, help="items also ingested one by one, for comparison")
    parser.add_argument("--profile", default="", help="profile the service run with cProfile; write the stats here")
    args = parser.parse_args()
    existing = args.existing or max(args.items // 2, 2)

    url, label = database_url(args.db)
    common.setup_django(url)
    print(f"benchmark (a) ingest on {label}: {args.items:,} items in batches of {args.batch}; {common.machine()}")
    seed_customers(existing)
    items = generate_items(args.items, existing)
    marks = watermarks()

    profiler = None
    if args.profile:
        import cProfile

        profiler = cProfile.Profile(time.process_time)  # CPU time: other work on the CPUs does not blur it
        profiler.enable()
    service_s, service_cpu, stored, failed, marks_after = run_service(items, args.batch)
    if profiler is not None:
        import pstats

        profiler.disable()
        profiler.dump_stats(args.profile)
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)

    rows = take_rows(marks)
    raw_s, raw_cpu = run_raw(rows, marks_after)
    counts = {table: len(table_rows) for table, table_rows in rows.items()}
    single_s, single_rate = 0.0, 0.0
    if args.single:
        take_rows(marks)  # back to the seeded state, then the first items again, one call per item
        subset = items[: args.single]
        single_s, _ = run_one_by_one(subset)
        single_rate = len(subset) / single_s

    service_rate = len(items) / service_s
    raw_rate = len(items) / raw_s
    ratio = service_rate / raw_rate
    raw_method = "COPY" if args.db == "postgres" else "executemany"
    print(f"  rows created: {counts}; items stored {stored:,}, refused {failed:,}")
    cpu_ratio = raw_cpu / service_cpu if service_cpu else float("nan")
    print(
        f"  service layer (ingest_batch): {service_s:8.2f} s  {service_rate:10,.0f} items/s   cpu {service_cpu:.2f} s"
    )
    print(f"  raw bulk insert ({raw_method}):   {raw_s:8.2f} s  {raw_rate:10,.0f} items/s   cpu {raw_cpu:.2f} s")
    print(f"  ratio service / raw: {ratio:.3f}   (goal >= 0.3: {'met' if ratio >= 0.3 else 'NOT met'})")
    print(f"  same ratio in this process's CPU time: {cpu_ratio:.3f}   (less sensitive to other work on the CPUs)")
    if single_rate:
        print(
            f"  for comparison, ingest_interaction item by item ({args.single:,} items): {single_rate:,.0f} items/s;"
            f" the batch path is {service_rate / single_rate:.1f}x faster"
        )
    print(f"  peak RSS of this process: {common.peak_rss_mb():.0f} MB")
    common.emit(
        {
            "bench": "ingest",
            "db": args.db,
            "items": len(items),
            "batch": args.batch,
            "existing": existing,
            "stored": stored,
            "refused": failed,
            "rows": counts,
            "service_s": round(service_s, 3),
            "raw_s": round(raw_s, 3),
            "service_cpu_s": round(service_cpu, 3),
            "raw_cpu_s": round(raw_cpu, 3),
            "cpu_ratio": round(cpu_ratio, 3),
            "raw_method": raw_method,
            "service_items_per_s": round(service_rate),
            "raw_items_per_s": round(raw_rate),
            "ratio": round(ratio, 3),
            "one_by_one_items_per_s": round(single_rate),
            "goal": 0.3,
        }
    )


if __name__ == "__main__":
    main()
