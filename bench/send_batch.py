"""Benchmark (c), outbound sending in batches: `send_messages` over batches of 200 against `send_message` one by one.

The case it stands for: journeys whose waits fall due together, each customer getting a templated message
(e.g. 100,000 in one minute from two workers: ~1,700 messages/s). Both paths do the same work per message
(validation, the customer and their address, the template rendered in their locale with variables, consent
and suppression judged, the message with an idempotency key, its delivery event and audit entry, the
dispatch task in the database queue, the `message.queued` event); sending itself (dispatch) is not timed
here, see email_channel.py.

In one process and one fresh database (a temporary SQLite file, or `cxloop_bench_send_batch` dropped and
re-created): N customers per round with one e-mail identity each (inserted directly, not timed), a service
template with a subject and a text body using the customer's first name and two variables. Then rounds, one
after the other on their own customers so neither path meets the other's rows: single (send_message per
request, as a journey step calls it today, each its own transaction), batch (send_messages per 200
requests), single, batch. Each request is a journey step: automated, with its own idempotency key, as the
system actor. Printed per round: messages/s, the process's CPU time per message and the SQL statements per
message; the ratio is the batch's messages/s over the single path's, per pair of rounds.
Checks after each round: N messages queued, N delivery events, N audit entries, and the dispatch tasks
(N rows for the single path, N/50 for the batch) or the script fails.

    python bench/send_batch.py --db sqlite|postgres [--messages 2000] [--batch 200] [--rounds 2]
"""

from __future__ import annotations

import argparse
import atexit
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402
from email_channel import StatementCounter, seed_outbound_customers  # noqa: E402

BENCH_DB = "cxloop_bench_send_batch"
STATEMENTS = StatementCounter()


def database_url(db: str) -> tuple[str, str]:
    if db == "postgres":
        common.ensure_pg_database(BENCH_DB, fresh=True)
        return common.pg_url(BENCH_DB), f"PostgreSQL ({BENCH_DB})"
    folder = Path(tempfile.mkdtemp(prefix="cxloop-bench-send-batch-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    path = folder / "bench.sqlite3"
    return f"sqlite:///{path}", f"SQLite (WAL) {path}"


def run(args: argparse.Namespace) -> dict[str, Any]:
    from django.db.models import Max
    from django_tasks_db.models import DBTaskResult

    from cxloop.core.actor import Actor
    from cxloop.customers.models import Customer
    from cxloop.messaging import services as messaging
    from cxloop.messaging.models import DeliveryEvent, MessageStatus, OutboundMessage
    from cxloop.messaging.types import SendRequest, TemplateContent
    from cxloop.privacy.models import AuditEntry

    count, rounds = args.messages, args.rounds
    first = Customer.objects.aggregate(top=Max("pk"))["top"] or 0
    seed_outbound_customers(first, count * 2 * rounds)
    customers = list(Customer.objects.filter(pk__gt=first).order_by("pk").values_list("public_id", flat=True))
    messaging.create_template(
        Actor.system("bench"),
        key="wait-over",
        name="Journey step",
        channel="email",
        content=TemplateContent(
            locale="en",
            subject="{{ customer.first_name }}, your {{ plan }} trial ends soon",
            body_text="Hi {{ customer.first_name }},\n\nYour {{ plan }} trial ends on {{ ends }}. Reply to this"
            " message if you want more time.\n\nThe team",
        ),
    )
    actor = Actor.system("journeys")
    step = [0]

    def requests(round_customers: list[str]) -> list[Any]:
        made = []
        for public_id in round_customers:
            step[0] += 1
            made.append(
                SendRequest(
                    customer_id=public_id,
                    channel="email",
                    template="wait-over",
                    variables={"plan": "Pro", "ends": "1 December"},
                    idempotency_key=f"enrolment-{step[0]}:step-3",
                    automated=True,
                )
            )
        return made

    def one_by_one(batch: list[Any]) -> int:
        return sum(1 for request in batch if messaging.send_message(actor, request).status == MessageStatus.QUEUED)

    def in_batches(batch: list[Any]) -> int:
        queued = 0
        for start in range(0, len(batch), args.batch):
            results = messaging.send_messages(actor, batch[start : start + args.batch])
            bad = [r for r in results if not isinstance(r, OutboundMessage)]
            if bad:
                raise SystemExit(f"send_messages refused requests: {bad[:3]}")
            queued += sum(1 for r in results if r.status == MessageStatus.QUEUED)
        return queued

    def timed(label: str, send: Any, batch: list[Any]) -> dict[str, Any]:
        before = (
            OutboundMessage.objects.count(),
            DeliveryEvent.objects.count(),
            AuditEntry.objects.filter(action="message.queued").count(),
            DBTaskResult.objects.count(),
        )
        STATEMENTS.per_message(1)
        began_cpu = time.process_time()
        with common.stopwatch() as elapsed:
            queued = send(batch)
        cpu = time.process_time() - began_cpu
        statements = STATEMENTS.per_message(len(batch))
        after = (
            OutboundMessage.objects.count(),
            DeliveryEvent.objects.count(),
            AuditEntry.objects.filter(action="message.queued").count(),
            DBTaskResult.objects.count(),
        )
        tasks = len(batch) if label == "single" else -(-len(batch) // 50)
        grown = tuple(a - b for a, b in zip(after, before, strict=True))
        if queued != len(batch) or grown != (len(batch), len(batch), len(batch), tasks):
            raise SystemExit(f"{label}: {queued} queued; messages, events, audit entries, tasks added: {grown}")
        figures = {
            "per_s": round(len(batch) / elapsed[0], 1),
            "ms_per_message": round(elapsed[0] / len(batch) * 1000, 3),
            "cpu_ms_per_message": round(cpu / len(batch) * 1000, 3),
            "sql_per_message": statements,
        }
        print(
            f"  [{label:>6}] {len(batch):,} messages: {figures['per_s']:8,.0f} messages/s"
            f"  ({figures['ms_per_message']:.2f} ms, CPU {figures['cpu_ms_per_message']:.2f} ms per message)"
        )
        print(f"  [{label:>6}] SQL statements per message: {statements}")
        return figures

    print(f"  {count:,} templated journey-step messages per round, batches of {args.batch}, {rounds} round pairs")
    pairs = []
    offset = 0
    for _ in range(rounds):
        single = timed("single", one_by_one, requests(customers[offset : offset + count]))
        offset += count
        batch = timed("batch", in_batches, requests(customers[offset : offset + count]))
        offset += count
        ratio = batch["per_s"] / single["per_s"]
        print(f"  ratio send_messages / send_message (messages/s): {ratio:.2f}")
        pairs.append({"single": single, "batch": batch, "ratio": round(ratio, 2)})
    return {"messages": count, "batch": args.batch, "pairs": pairs}


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], required=True)
    parser.add_argument("--messages", type=int, default=2000, help="messages per round")
    parser.add_argument("--batch", type=int, default=200, help="requests per send_messages call")
    parser.add_argument("--rounds", type=int, default=2, help="pairs of rounds (single, then batch)")
    args = parser.parse_args()
    url, label = database_url(args.db)
    common.setup_django(url)
    print(f"benchmark (c) batched sending on {label}; {common.machine()}")
    STATEMENTS.install_everywhere()
    result: dict[str, Any] = {"bench": "send_batch", "db": args.db}
    result.update(run(args))
    print(f"  peak RSS of this process: {common.peak_rss_mb():.0f} MB")
    common.emit(result)


if __name__ == "__main__":
    main()
