"""Synthetic data at scale for benchmark (b): customers, identities and interactions on PostgreSQL.

Builds the data in the real schema (the migrations create it) with COPY, which is what makes millions of
rows take minutes: the secondary indexes and foreign keys of the three big tables are dropped first and
rebuilt after the load, then everything is ANALYZEd. Data already there at the requested size is reused.

Shape of the data:
- customers: names drawn from 120 first names and ~8,000 generated surnames, country GB, a few stages;
- identities: every customer has an e-mail, 60% also a phone (E.164), so ~1.6 per customer;
- interactions: in time order over two years, each for a customer drawn with a skew (the busiest
  customers have about a thousand, the median a handful; mean = interactions / customers), so one
  customer's interactions are spread over the table as in a real one; channels mixed, no threads.

    python bench/generate.py [--customers 1000000] [--interactions 10000000] [--database cxloop_bench_large]
"""

from __future__ import annotations

import argparse
import io
import random
import secrets
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402

DEFAULT_DB = "cxloop_bench_large"
FIRST_NAMES = [
    "Ada",
    "Adam",
    "Aisha",
    "Alan",
    "Alice",
    "Amara",
    "Amir",
    "Ana",
    "Andrea",
    "Anna",
    "Arjun",
    "Ben",
    "Bianca",
    "Bruno",
    "Carla",
    "Carlos",
    "Chen",
    "Chloe",
    "Dan",
    "Daniel",
    "David",
    "Diego",
    "Dina",
    "Elena",
    "Eli",
    "Ella",
    "Emma",
    "Eric",
    "Eva",
    "Fatima",
    "Felix",
    "Fiona",
    "Frank",
    "Gabriel",
    "Grace",
    "Hana",
    "Hannah",
    "Hugo",
    "Ian",
    "Ines",
    "Isaac",
    "Ivan",
    "Jack",
    "Jade",
    "James",
    "Jana",
    "Jin",
    "Joao",
    "Jonas",
    "Jose",
    "Julia",
    "Karim",
    "Kate",
    "Kenji",
    "Lara",
    "Laura",
    "Leo",
    "Lina",
    "Lucas",
    "Luis",
    "Maya",
    "Mei",
    "Mia",
    "Milan",
    "Mohammed",
    "Nadia",
    "Nina",
    "Noah",
    "Nora",
    "Olga",
    "Omar",
    "Oscar",
    "Paul",
    "Pedro",
    "Priya",
    "Rahul",
    "Rania",
    "Rosa",
    "Ruth",
    "Ryan",
    "Sara",
    "Sam",
    "Sofia",
    "Sven",
    "Tariq",
    "Theo",
    "Tom",
    "Uma",
    "Victor",
    "Vera",
    "Wei",
    "Will",
    "Yara",
    "Yusuf",
    "Zara",
    "Zoe",
    "Ali",
    "Beatriz",
    "Cem",
    "Dara",
    "Emil",
    "Farah",
    "Goran",
    "Hiro",
    "Ilse",
    "Joel",
    "Kofi",
    "Lea",
    "Marta",
    "Nils",
    "Ola",
    "Pia",
    "Quentin",
    "Rami",
    "Sina",
    "Timo",
]
SYLLABLES = [
    "an",
    "ber",
    "car",
    "dal",
    "el",
    "fer",
    "gon",
    "har",
    "in",
    "jor",
    "kal",
    "lem",
    "mor",
    "nor",
    "ol",
    "per",
    "quin",
    "ros",
    "san",
    "tor",
    "ul",
    "var",
    "wes",
    "yan",
    "zel",
    "bro",
    "chi",
    "dra",
    "fin",
    "gra",
    "hol",
]
CHANNELS = ["email"] * 4 + ["sms"] * 2 + ["whatsapp", "chat", "chat", "phone", "social", "survey", "event"]
_LETTERS = bytes(("0123456789abcdefghjkmnpqrstvwxyz" * 8).encode())
BIG_TABLES = ["customers_customer", "customers_identity", "interactions_interaction"]
ALL_TABLES = [
    "privacy_auditentry",
    "interactions_interaction",
    "interactions_thread",
    "customers_merge",
    "customers_mergesuggestion",
    "customers_identity",
    "customers_customer_tags",
    "customers_customer",
]


def surname(number: int) -> str:
    """One of ~8,000 surnames: two or three syllables, chosen by the number."""
    count = len(SYLLABLES)
    parts = [SYLLABLES[number % count], SYLLABLES[(number // count) % count]]
    if number % 3:
        parts.append(SYLLABLES[(number // count // count) % count])
    return "".join(parts).capitalize()


def customer_name(number: int) -> str:
    rng = random.Random(number)
    return f"{rng.choice(FIRST_NAMES)} {surname(rng.randrange(8000))}"


def customer_email(number: int) -> str:
    first, last = customer_name(number).lower().split()
    return f"{first}.{last}.{number}@example{number % 7}.com"


def customer_phone(number: int) -> str | None:
    """E.164 for 60% of customers: UK mobile numbers +447xxxxxxxxx, unique per customer."""
    return f"+447{number:09d}" if number % 5 < 3 else None


def _public_ids(prefix: str, count: int) -> list[str]:
    letters = secrets.token_bytes(16 * count).translate(_LETTERS).decode()
    return [f"{prefix}_{letters[i * 16 : (i + 1) * 16]}" for i in range(count)]


# --- schema handling ----------------------------------------------------------------------------
def _drop_secondary(cursor: Any) -> list[str]:
    """Drop the big tables' foreign keys, unique constraints and indexes (keeping primary keys);
    return the statements that recreate them."""
    recreate: list[str] = []
    cursor.execute(
        "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint"
        " WHERE conrelid::regclass::text = ANY(%s) AND contype IN ('f', 'u')",
        [BIG_TABLES],
    )
    constraints = cursor.fetchall()
    cursor.execute(
        "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i"
        " WHERE i.indrelid::regclass::text = ANY(%s) AND NOT i.indisprimary"
        " AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)",
        [BIG_TABLES],
    )
    indexes = cursor.fetchall()
    for table, name, definition in constraints:
        cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        recreate.append(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
    for name, definition in indexes:
        cursor.execute(f"DROP INDEX {name}")
        recreate.append(definition)
    # Unique constraints first (their indexes serve the foreign keys that point at them), then indexes.
    recreate.sort(key=lambda s: (" FOREIGN KEY " in s, "CREATE" in s))
    return recreate


def _copy(cursor: Any, table: str, columns: str, rows_text: str) -> None:
    with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        copy.write(rows_text)


# --- data ---------------------------------------------------------------------------------------
def load_customers(cursor: Any, count: int, start: datetime) -> None:
    began = time.perf_counter()
    chunk = 50_000
    for first in range(0, count, chunk):
        numbers = range(first, min(first + chunk, count))
        ids = _public_ids("cus", len(numbers))
        customers = io.StringIO()
        identities = io.StringIO()
        identity_ids = _public_ids("idn", 2 * len(numbers))
        for offset, number in enumerate(numbers):
            name = customer_name(number)
            created = (start + timedelta(seconds=number * 37)).isoformat()
            stage = ("lead", "customer", "customer", "loyal", "at_risk")[number % 5]
            customers.write(
                f"{number + 1}\t{created}\t{created}\t{ids[offset]}\t{name}\t{name.lower()}\tGB\t\t\t{stage}"
                "\t{}\tactive\t\\N\n"
            )
            email = customer_email(number)
            identities.write(
                f"{created}\t{created}\t{identity_ids[2 * offset]}\t{number + 1}\temail\t\t{email}\t{email}"
                f"\tf\timport\t{created}\n"
            )
            phone = customer_phone(number)
            if phone:
                identities.write(
                    f"{created}\t{created}\t{identity_ids[2 * offset + 1]}\t{number + 1}\tphone\t\t{phone}"
                    f"\t{phone}\tf\timport\t{created}\n"
                )
        _copy(
            cursor,
            "customers_customer",
            "id, created_at, updated_at, public_id, name, search_name, country, locale, time_zone,"
            " lifecycle_stage, attributes, status, merged_into_id",
            customers.getvalue(),
        )
        _copy(
            cursor,
            "customers_identity",
            "created_at, updated_at, public_id, customer_id, kind, network, value, match_value, is_verified,"
            " source, last_seen_at",
            identities.getvalue(),
        )
        common.progress("customers   ", min(first + chunk, count), count, began)


def load_interactions(cursor: Any, count: int, customers: int, start: datetime, seed: int = 11) -> None:
    rng = random.Random(seed)
    began = time.perf_counter()
    span = timedelta(days=730).total_seconds()
    chunk = 100_000
    bodies = [" ".join(rng.sample(common.SENTENCES, k)) for k in (1, 2, 3) for _ in range(30)]
    summaries = [b if len(b) <= 200 else b[:199].rstrip() + "…" for b in bodies]
    stamp_cache: dict[int, str] = {}
    for first in range(0, count, chunk):
        size = min(chunk, count - first)
        ids = _public_ids("int", size)
        out = io.StringIO()
        for offset in range(size):
            number = first + offset
            customer = int(customers * rng.random() ** 1.5) + 1
            second = int(number * span / count)
            minute = second // 60
            stamp = stamp_cache.get(minute)
            if stamp is None:
                stamp = (start + timedelta(minutes=minute)).strftime("%Y-%m-%d %H:%M")
                stamp_cache = {minute: stamp}
            occurred = f"{stamp}:{second % 60:02d}+00"
            body = rng.randrange(len(bodies))
            channel = CHANNELS[number % len(CHANNELS)]
            direction = "inbound" if number % 3 else "outbound"
            out.write(
                f"{number + 1}\t{occurred}\t{occurred}\t{ids[offset]}\t{customer}\t\\N\t{channel}\t{direction}"
                f"\t{occurred}\t{summaries[body]}\t{bodies[body]}\t\tmsg-{number}\t\t\\N\t\t[]\t{{}}\t\\N\n"
            )
        _copy(
            cursor,
            "interactions_interaction",
            "id, created_at, updated_at, public_id, customer_id, thread_id, channel, direction, occurred_at,"
            " summary, body, raw_ref, external_id, case_ref, sentiment, emotion, themes, metadata, created_by_id",
            out.getvalue(),
        )
        common.progress("interactions", first + size, count, began)


def existing_size(cursor: Any) -> tuple[int, int]:
    cursor.execute("SELECT COALESCE(MAX(id), 0) FROM customers_customer")
    customers = cursor.fetchone()[0]
    cursor.execute("SELECT COALESCE(MAX(id), 0) FROM interactions_interaction")
    return customers, cursor.fetchone()[0]


def generate(database: str, customers: int, interactions: int, *, force: bool = False) -> dict[str, Any]:
    """Build (or reuse) the data; return what was done and how long it took."""
    common.ensure_pg_database(database)
    common.setup_django(common.pg_url(database))
    from django.db import connection

    with connection.cursor() as cursor:
        have = existing_size(cursor)
        if have == (customers, interactions) and not force:
            print(f"reusing {customers:,} customers and {interactions:,} interactions in {database}")
            return {"reused": True, "seconds": 0.0}
    began = time.perf_counter()
    start = datetime(2024, 1, 1, tzinfo=UTC)
    connection.set_autocommit(False)
    raw = connection.connection
    with raw.cursor() as cursor:
        cursor.execute("SET maintenance_work_mem = '1GB'")
        cursor.execute("SET synchronous_commit = off")
        cursor.execute(f"TRUNCATE {', '.join(ALL_TABLES)} RESTART IDENTITY CASCADE")
        recreate = _drop_secondary(cursor)
        raw.commit()
        load_customers(cursor, customers, start)
        raw.commit()
        load_interactions(cursor, interactions, customers, start)
        raw.commit()
        loaded = time.perf_counter()
        print(f"rows loaded in {loaded - began:.0f} s; rebuilding {len(recreate)} indexes and constraints")
        for number, statement in enumerate(recreate, 1):
            step = time.perf_counter()
            cursor.execute(statement)
            raw.commit()
            print(f"  [{number}/{len(recreate)}] {time.perf_counter() - step:5.0f} s  {statement[:110]}")
        for table in ("customers_customer", "customers_identity", "interactions_interaction"):
            cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT MAX(id) FROM {table}))")
        raw.commit()
    connection.set_autocommit(True)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    seconds = time.perf_counter() - began
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_database_size(current_database())")
        size = cursor.fetchone()[0]
    print(
        f"generated {customers:,} customers and {interactions:,} interactions in {seconds:.0f} s; "
        f"database size {size / 2**30:.1f} GiB"
    )
    return {
        "reused": False,
        "seconds": round(seconds, 1),
        "load_seconds": round(loaded - began, 1),
        "database_gib": round(size / 2**30, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--interactions", type=int, default=10_000_000)
    parser.add_argument("--database", default=DEFAULT_DB)
    parser.add_argument("--force", action="store_true", help="rebuild even if data of that size is there")
    args = parser.parse_args()
    print(f"generate: {args.customers:,} customers, {args.interactions:,} interactions; {common.machine()}")
    result = generate(args.database, args.customers, args.interactions, force=args.force)
    common.emit(
        {
            "bench": "generate",
            "database": args.database,
            "customers": args.customers,
            "interactions": args.interactions,
            **result,
        }
    )


if __name__ == "__main__":
    main()
