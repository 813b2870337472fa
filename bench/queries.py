"""Benchmark (b): lookup by identity, name search and the first timeline page, on data from generate.py.

Each measured call goes through the real read functions, the ones the API handlers call:
- lookup: `customers.queries.lookup_customer(actor, email=...)` or `(phone=<national spelling>, region="GB")`,
  which canonicalises the identity, finds it, and loads the customer with identities and tags;
- name search: `customers.queries.search_customers(actor, name=...)`, first page of 25 in the API's order
  (`core.pagination.paginate(..., ("-id",))`), identities and tags prefetched;
- timeline: `interactions.queries.timeline(actor, customer)`, first page of 25.
With --api the same three go through the HTTP API with Django's test client (token auth, routing,
serialisation included): GET /api/v1/customers/lookup, /api/v1/customers?name=, /api/v1/customers/{id}/timeline.

Samples are random customers (seeded); each kind is warmed up with 50 calls first, then timed over
--samples calls: p50 / p95 / p99 in milliseconds, each p95 against the issue's target, and against the
same read written as one SQL statement on the same connection, measured in the same run (the floor).

    python bench/queries.py [--database cxloop_bench_large] [--samples 1000] [--api]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402
import generate  # noqa: E402

TARGETS_MS = {"lookup": 20.0, "name search": 100.0, "timeline": 50.0}
WARM_UP = 50


def _national(e164: str) -> str:
    digits = "0" + e164[3:]
    return f"{digits[:5]} {digits[5:]}"


class Samples:
    """Random inputs drawn from what generate.py wrote (customer number n has id n + 1)."""

    def __init__(self, customers: int, seed: int) -> None:
        self.customers = customers
        self.rng = random.Random(seed)

    def number(self) -> int:
        return self.rng.randrange(self.customers)

    def identity(self) -> dict[str, str]:
        number = self.number()
        phone = generate.customer_phone(number)
        if phone and self.rng.random() < 0.5:
            return {"phone": _national(phone), "region": "GB"}
        email = generate.customer_email(number)
        return {"email": email.upper() if self.rng.random() < 0.2 else email}

    def name(self) -> str:
        """What staff type: a surname (50%), a full name (30%) or the first five letters of a surname."""
        first, last = generate.customer_name(self.number()).split()
        roll = self.rng.random()
        if roll < 0.5:
            return last
        if roll < 0.8:
            return f"{first} {last}"
        return last[:5]


def _time(calls: int, make_args: Callable[[], Any], run: Callable[[Any], None]) -> dict[str, float]:
    for _ in range(WARM_UP):
        run(make_args())
    samples_ms = []
    for _ in range(calls):
        args = make_args()
        began = time.perf_counter()
        run(args)
        samples_ms.append((time.perf_counter() - began) * 1000)
    return common.percentiles(samples_ms)


def measure(
    label: str,
    calls: int,
    make_args: Callable[[], Any],
    run: Callable[[Any], None],
    raw: Callable[[Any], None] | None = None,
) -> dict[str, Any]:
    """Time `run`; with `raw`, also the same read as one hand-written SQL statement, the floor it is compared to."""
    figures = _time(calls, make_args, run)
    target = TARGETS_MS[label]
    verdict = "met" if figures["p95"] < target else "MISSED"
    print(
        f"  {label:<12} p50 {figures['p50']:7.2f} ms  p95 {figures['p95']:7.2f} ms  p99 {figures['p99']:7.2f} ms"
        f"  | target p95 < {target:.0f} ms: {verdict} (p95 / target = {figures['p95'] / target:.2f})"
    )
    result: dict[str, Any] = {"label": label, **{k: round(v, 2) for k, v in figures.items()}, "target_ms": target}
    if raw is not None:
        floor = _time(calls, make_args, raw)
        print(
            f"  {'':<12} raw SQL baseline: p50 {floor['p50']:7.2f} ms  p95 {floor['p95']:7.2f} ms"
            f"  | p95 / raw p95 = {figures['p95'] / floor['p95']:.1f}"
        )
        result["raw_p50"], result["raw_p95"] = round(floor["p50"], 2), round(floor["p95"], 2)
    return result


def _raw_reads() -> tuple[Callable[[Any], None], Callable[[Any], None], Callable[[Any], None]]:
    """The three reads as single SQL statements on the same connection: no canonicalisation, no ORM,
    no prefetching of identities and tags; what the database itself needs."""
    from django.db import connection

    def fetch(sql: str, params: list[Any]) -> None:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            cursor.fetchall()

    def lookup(args: dict[str, str]) -> None:
        value = args["email"].lower() if "email" in args else "+44" + args["phone"].replace(" ", "")[1:]
        fetch(
            "SELECT c.* FROM customers_identity i JOIN customers_customer c ON c.id = i.customer_id"
            " WHERE i.value = %s LIMIT 1",
            [value],
        )

    def search(name: str) -> None:
        fetch(
            "SELECT * FROM customers_customer WHERE status = 'active' AND search_name LIKE %s"
            " ORDER BY id DESC LIMIT 26",
            [f"%{name.lower()}%"],
        )

    def timeline(customer: Any) -> None:
        fetch(
            "SELECT * FROM interactions_interaction WHERE customer_id = %s ORDER BY occurred_at DESC, id DESC LIMIT 26",
            [customer.pk],
        )

    return lookup, search, timeline


def through_functions(actor: Any, samples: Samples, calls: int) -> list[dict[str, Any]]:
    from cxloop.core.pagination import paginate
    from cxloop.customers import queries as customer_queries
    from cxloop.customers.models import Customer
    from cxloop.interactions import queries as interaction_queries

    def lookup(args: dict[str, str]) -> None:
        customer = customer_queries.lookup_customer(actor, **args)
        assert customer.pk is not None

    def search(name: str) -> None:
        page = paginate(
            customer_queries.search_customers(actor, name=name).select_related("merged_into"), ("-id",), None, 25
        )
        assert page.items, name

    def timeline(customer: Customer) -> None:
        interaction_queries.timeline(actor, customer, limit=25)

    def a_customer() -> Customer:
        return Customer.objects.get(pk=samples.number() + 1)  # read outside the timed call

    raw_lookup, raw_search, raw_timeline = _raw_reads()
    return [
        measure("lookup", calls, samples.identity, lookup, raw_lookup),
        measure("name search", calls, samples.name, search, raw_search),
        measure("timeline", calls, a_customer, timeline, raw_timeline),
    ]


def through_api(user: Any, samples: Samples, calls: int) -> list[dict[str, Any]]:
    from urllib.parse import urlencode

    from django.test import Client

    from cxloop.accounts import services as account_services
    from cxloop.core.actor import Actor
    from cxloop.customers.models import Customer

    _, secret = account_services.create_token(Actor.system("bench"), user, name="bench", scopes=["read"])
    client = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")

    def get(path: str) -> None:
        response = client.get(path)
        assert response.status_code == 200, (path, response.status_code, response.content[:200])

    def public_id() -> str:
        return str(Customer.objects.values_list("public_id", flat=True).get(pk=samples.number() + 1))

    return [
        measure("lookup", calls, lambda: "/api/v1/customers/lookup?" + urlencode(samples.identity()), get),
        measure("name search", calls, lambda: "/api/v1/customers?" + urlencode({"name": samples.name()}), get),
        measure("timeline", calls, lambda: f"/api/v1/customers/{public_id()}/timeline", get),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default=generate.DEFAULT_DB)
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--api", action="store_true", help="also measure through the HTTP API")
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()

    common.setup_django(common.pg_url(args.database))
    from django.contrib.auth import get_user_model
    from django.db import connection

    from cxloop.core.actor import Actor

    with connection.cursor() as cursor:
        customers, interactions = generate.existing_size(cursor)
    if not customers:
        raise SystemExit(f"{args.database} has no data: run bench/generate.py first")
    user, _ = get_user_model().objects.get_or_create(username="bench-reader", defaults={"role": "agent"})
    actor = Actor.for_user(user, via="api")
    print(
        f"benchmark (b) queries on {args.database}: {customers:,} customers, {interactions:,} interactions; "
        f"{args.samples:,} samples each after {WARM_UP} warm-up calls; {common.machine()}"
    )
    print(" through the query functions:")
    results = through_functions(actor, Samples(customers, args.seed), args.samples)
    api_results: list[dict[str, Any]] = []
    if args.api:
        print(" through the HTTP API (test client, token auth, serialisation):")
        api_results = through_api(user, Samples(customers, args.seed + 1), args.samples)
    print(f"  peak RSS of this process: {common.peak_rss_mb():.0f} MB")
    common.emit(
        {
            "bench": "queries",
            "database": args.database,
            "customers": customers,
            "interactions": interactions,
            "functions": results,
            "api": api_results,
        }
    )


if __name__ == "__main__":
    main()
