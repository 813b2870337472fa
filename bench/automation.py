"""Benchmark: what automation rules cost at ingestion, and how fast the worker runs them.

In one process and one fresh database:
1. ingest N customer events in batches of 1,000 through events.services.ingest_events with no rule, then the same
   number again with an active rule listening to their type (the subscriber only kicks one deferred task per
   batch): events/s of both, and the task rows queued;
2. run the worker's pass (runner.process_new_events) over the events stored with the rule: rule runs/s for a rule
   with one tag action (one transaction per run);
3. the same for a rule with a webhook to a local HTTP server (run stored first, call outside any transaction).

    python bench/automation.py --db sqlite|postgres [--events 5000] [--webhooks 500]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402

BENCH_DB = "cxloop_bench_automation"
BATCH = 1000


class _Sink(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802 - the http.server API
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def _events(tag: str, count: int, type_key: str) -> list[Any]:
    from cxloop.events.types import CustomerRef, EventInput

    return [
        EventInput(
            event_id=f"{tag}-{n}",
            type=type_key,
            customer=CustomerRef(email=f"buyer{n % 2000}@example.com"),
            properties={"amount": n % 500},
        )
        for n in range(count)
    ]


def _ingest(tag: str, count: int, type_key: str) -> float:
    from cxloop.core.actor import Actor
    from cxloop.events import services

    system = Actor.system("bench")
    items = _events(tag, count, type_key)
    began = time.perf_counter()
    for start in range(0, count, BATCH):
        services.ingest_events(system, items[start : start + BATCH])
    return count / (time.perf_counter() - began)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--webhooks", type=int, default=500)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="cxloop-bench-automation-"))
    if args.db == "postgres":
        common.ensure_pg_database(BENCH_DB, fresh=True)
        url = common.pg_url(BENCH_DB)
    else:
        url = f"sqlite:///{folder / 'bench.sqlite3'}"
    try:
        common.setup_django(url)
        run(args)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def run(args: argparse.Namespace) -> None:
    from django_tasks_db.models import DBTaskResult

    from cxloop.automation import runner, services
    from cxloop.automation.services import RuleInput
    from cxloop.core.actor import Actor
    from cxloop.events import services as event_services
    from cxloop.events.types import EventTypeInput

    system = Actor.system("bench")
    for key in ("purchase.completed", "order.refunded"):
        event_services.create_event_type(system, EventTypeInput(key=key, name=key))
    _ingest("warm", 1000, "purchase.completed")  # untimed: imports, caches, the first customers
    without = _ingest("plain", args.events, "purchase.completed")
    services.create_rule(
        system,
        RuleInput(
            name="Tag buyers",
            trigger_source="customer_event",
            trigger_type="purchase.completed",
            actions=[{"type": "tag", "add": ["buyer"]}],
        ),
    )
    runner.forget_triggers()
    runner.process_new_events()  # the rule runs nothing for events older than itself; moves the mark
    with_rule = _ingest("ruled", args.events, "purchase.completed")
    tasks = DBTaskResult.objects.count()
    began = time.perf_counter()
    tagged = runner.process_new_events(batches=10_000)
    tag_rate = tagged["runs"] / (time.perf_counter() - began)

    server = HTTPServer(("127.0.0.1", 0), _Sink)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    services.create_rule(
        system,
        RuleInput(
            name="Tell the shop",
            trigger_source="customer_event",
            trigger_type="order.refunded",
            actions=[{"type": "webhook", "url": f"http://127.0.0.1:{server.server_port}/hook"}],
        ),
    )
    runner.forget_triggers()
    _ingest("refund", args.webhooks, "order.refunded")
    began = time.perf_counter()
    called = runner.process_new_events(batches=10_000)
    webhook_rate = called["runs"] / (time.perf_counter() - began)
    server.shutdown()

    print(f"machine: {common.machine()}; database: {args.db}")
    print(f"ingest without a rule:         {without:8.0f} events/s")
    print(f"ingest with a listening rule:  {with_rule:8.0f} events/s ({tasks} task rows for {args.events} events)")
    print(f"worker, tag rule:              {tag_rate:8.0f} runs/s ({tagged['runs']} runs)")
    print(f"worker, webhook rule:          {webhook_rate:8.0f} runs/s ({called['runs']} runs, local server)")
    common.emit(
        {
            "benchmark": "automation",
            "db": args.db,
            "ingest_without_rule_per_s": round(without),
            "ingest_with_rule_per_s": round(with_rule),
            "task_rows": tasks,
            "tag_runs_per_s": round(tag_rate),
            "webhook_runs_per_s": round(webhook_rate),
        }
    )


if __name__ == "__main__":
    main()
