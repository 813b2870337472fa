"""Benchmark (c): the email channel, inbound through the real SMTP server and outbound to an SMTP sink.

Named email_channel.py, not email.py: run as a script, bench/ comes first on sys.path, and a bench/email.py
would stand in for the standard library's `email` package (smtplib, Django and the parser all import it).

Inbound, in one process and one fresh database:
1. seed customers with an e-mail each (not timed) and generate N messages (not timed): first contacts,
   senders seen earlier in the stream and seeded customers; replies with In-Reply-To/References and the
   quoted earlier text, HTML multipart, a few with a small attachment, some with a signature;
2. **ceiling:** a bare aiosmtpd Controller whose handler accepts and discards each message; a separate
   client process sends the N messages with smtplib from K threads, each its own connection, several
   messages per connection; timed in the client, with every message's latency (MAIL, RCPT, DATA, 250);
3. **cxloop:** `cxloop.channels.email.smtp.make_controller`; the same client code and the same messages.
   `--inbound-mode queued` (the default, CXLOOP_SMTP_PROCESSING's default): the server answers 250 once
   the raw bytes and their record are kept, and a batch processor in its own process (as `cxloop worker`
   runs `channels.process_received`) claims and processes them in batches of `--inbound-batch`; the
   figure is N / (time from the first message sent until the last one is processed), with the SMTP
   acceptance rate and latency reported on their own. `--inbound-mode inline`: the old path, 250 only
   once `channels.services.receive` has parsed, resolved, threaded and recorded the message;
4. the ceiling again (the machine is shared: the faster of the two is the baseline);
5. check that every message became exactly one processed inbound record and one interaction.

Outbound: M customers with an e-mail identity; M free-text service messages through
`messaging.services.send_message` (validation, governance, stored, audit, the dispatch task enqueued in the
database task queue) and then `messaging.services.dispatch(id)` for each, as the worker does (claim,
re-judge, compose, Django's SMTP backend with one connection per message, mark sent, put it on the
timeline, audit). The sink is aiosmtpd accepting and discarding, in its own process. **Ceiling:** the same
messages composed as Django `EmailMessage`s and sent through the same backend, one connection each, to
the same sink. Check that every message ended `sent` and that the sink received exactly M each time.
Then the same with `messaging.services.dispatch_batch` over 50 ids at a time (one SMTP session each),
against Django's backend sending 50 messages per connection; and the bulk way campaigns and journeys send,
`messaging.services.send_messages` over 200 requests per call, then `dispatch_batch` as before, against the
same 50-per-connection ceiling (`--dispatch single|batch|bulk|both|all`; `all` is the default).

    python bench/email_channel.py --db sqlite|postgres [--messages 2000] [--clients 4] [--per-connection 20]
        [--outbound 2000] [--part both|inbound|outbound] [--dispatch all|both|single|batch|bulk] [--profile PREFIX]
        [--inbound-mode queued|inline] [--inbound-batch 200]
"""

from __future__ import annotations

import argparse
import atexit
import concurrent.futures
import csv
import html
import multiprocessing
import os
import random
import re
import shutil
import smtplib
import socket
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import format_datetime, formataddr
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402
from ingest import Person, seed_customers  # noqa: E402

BENCH_DB = "cxloop_bench_email"
HOST = "127.0.0.1"
SUPPORT = "support@shop.example"
CLIENT_NAME = "bench-client.localhost"  # smtplib would otherwise ask the resolver for our FQDN
# The shared texts beside the repository (../shared/data), when they are there.
DATA_DIR = Path(os.environ.get("BENCH_DATA_DIR", str(Path(__file__).resolve().parents[2] / "shared" / "data")))
GOAL = 0.3
BATCH_SIZE = 50  # as messaging's dispatch_batch chunks (dispatching.BATCH_SIZE)
SEND_CHUNK = 200  # requests per send_messages call in the bulk variant (as bench/send_batch.py)
OUTBOUND_COUNT = [0]


@dataclass(frozen=True)
class Mail:
    mail_from: str
    rcpt: str
    data: bytes


# --- sample texts ---------------------------------------------------------------------------------
def customer_texts() -> list[tuple[str, str]]:
    """(text, topic) of real customer queries (banking77) when the shared data is there, else our sentences."""
    path = DATA_DIR / "banking77_train.csv"
    if path.exists():
        with path.open(newline="", encoding="utf-8") as handle:
            rows = [(row["text"].strip(), row["category"]) for row in csv.DictReader(handle) if row["text"].strip()]
        if rows:
            return rows
    return [(sentence, "support") for sentence in common.SENTENCES]


def agent_texts(limit: int = 2000) -> list[str]:
    """Agent answers (Bitext) for outbound bodies when the shared data is there, else our sentences."""
    path = DATA_DIR / "bitext_customer_support_sample.csv"
    texts: list[str] = []
    if path.exists():
        with path.open(newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                texts.append(re.sub(r"\{\{[^}]*\}\}", "12345", row["response"]).strip())
                if len(texts) >= limit:
                    break
    return [t for t in texts if t] or [" ".join(common.SENTENCES[i : i + 3]) for i in range(8)]


# --- inbound messages -----------------------------------------------------------------------------
def _png(rng: random.Random, size: int) -> bytes:
    """Bytes that start like a PNG (type detection sniffs the magic), padded to `size`."""
    return b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + rng.randbytes(max(size - 16, 0))


def _pdf(rng: random.Random, size: int) -> bytes:
    head = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n"
    return head + rng.randbytes(max(size - len(head) - 6, 0)) + b"\n%%EOF"


@dataclass
class Sent:
    message_id: str
    subject: str
    text: str
    at: datetime


@dataclass
class InboundPlan:
    mails: list[Mail]
    new_people: int
    stats: dict[str, int]


def build_inbound(count: int, existing: int, seed: int = 11) -> InboundPlan:
    """~30% from seeded customers, ~35% from people first seen earlier in the stream, ~35% first contacts;
    half of a returning sender's messages answer their earlier one (In-Reply-To, References, quoted text);
    ~20% HTML multipart, ~3% with a 2-20 KB attachment, ~25% with a signature."""
    rng = random.Random(seed)
    texts = customer_texts()
    now = datetime.now(UTC) - timedelta(days=1)
    pool: list[Person] = []
    history: dict[int, list[Sent]] = {}
    next_new = existing
    stats = dict.fromkeys(("seeded", "returning", "new", "replies", "html", "attachments", "signature"), 0)
    mails: list[Mail] = []
    for n in range(count):
        roll = rng.random()
        if roll < 0.30:
            person, kind = Person(rng.randrange(existing)), "seeded"
        elif roll < 0.65 and pool:
            person, kind = rng.choice(pool), "returning"
        else:
            person, kind = Person(next_new), "new"
            pool.append(person)
            next_new += 1
        stats[kind] += 1
        earlier = history.setdefault(person.number, [])
        at = now + timedelta(seconds=30 * n)
        text, topic = rng.choice(texts)
        msg = EmailMessage()
        msg["From"] = formataddr((person.name, person.email))
        msg["To"] = formataddr(("Customer care", SUPPORT))
        msg["Date"] = format_datetime(at)
        message_id = f"bench.{n}.{rng.getrandbits(40):010x}@{person.email.rpartition('@')[2]}"
        msg["Message-ID"] = f"<{message_id}>"
        body = f"Hello,\n\n{text}\n\nThanks,\n{person.name.split()[0]}"
        if earlier and rng.random() < 0.5:
            answered = earlier[-1]
            subject = answered.subject if answered.subject.startswith("Re: ") else f"Re: {answered.subject}"
            msg["In-Reply-To"] = f"<{answered.message_id}>"
            msg["References"] = " ".join(f"<{s.message_id}>" for s in earlier[-5:])
            quoted = "\n".join(f"> {line}" for line in answered.text.splitlines())
            body += f"\n\nOn {format_datetime(answered.at)}, {person.name} <{person.email}> wrote:\n{quoted}"
            stats["replies"] += 1
        else:
            subject = f"{topic.replace('_', ' ').capitalize()} (ref {rng.randrange(10**6):06d})"
        msg["Subject"] = subject
        if rng.random() < 0.25:
            body += f"\n\n-- \n{person.name}\nSent from my phone"
            stats["signature"] += 1
        if rng.random() < 0.3:
            msg["X-Mailer"] = rng.choice(["Apple Mail (2.3774)", "Microsoft Outlook 16.0", "Thunderbird 115.5"])
        msg.set_content(body)
        if rng.random() < 0.2:
            paragraphs = "".join(f"<p>{html.escape(p)}</p>" for p in body.split("\n\n"))
            msg.add_alternative(
                f'<html><head><style>p{{margin:0}}</style></head><body><div dir="ltr">{paragraphs}</div>'
                f'<img src="https://tracker.example/pixel.gif" width="1" height="1"></body></html>',
                subtype="html",
            )
            stats["html"] += 1
        if rng.random() < 0.03:
            size = rng.randrange(2_000, 20_000)
            if rng.random() < 0.5:
                msg.add_attachment(_png(rng, size), maintype="image", subtype="png", filename="screenshot.png")
            else:
                msg.add_attachment(_pdf(rng, size), maintype="application", subtype="pdf", filename="invoice.pdf")
            stats["attachments"] += 1
        earlier.append(Sent(message_id, subject, body, at))
        mails.append(Mail(person.email, SUPPORT, msg.as_bytes(policy=SMTP_POLICY)))
    stats["bytes_avg"] = sum(len(m.data) for m in mails) // max(len(mails), 1)
    return InboundPlan(mails, next_new - existing, stats)


# --- the SMTP client (its own process, so it does not share the servers' interpreter lock) -----------
def client_run(host: str, port: int, mails: list[Mail], clients: int, per_connection: int) -> dict[str, Any]:
    """Send `mails` in order from `clients` threads, each taking `per_connection` at a time on one connection."""
    lock = threading.Lock()
    position = [0]
    latencies: list[float] = []
    errors: list[str] = []

    def take() -> list[Mail]:
        with lock:
            start = position[0]
            position[0] = min(start + per_connection, len(mails))
            return mails[start : position[0]]

    def work() -> None:
        while batch := take():
            try:
                with smtplib.SMTP(host, port, local_hostname=CLIENT_NAME, timeout=300) as client:
                    for mail in batch:
                        began = time.perf_counter()
                        try:
                            client.sendmail(mail.mail_from, [mail.rcpt], mail.data)
                        except smtplib.SMTPResponseException as exc:
                            errors.append(f"{exc.smtp_code} {exc.smtp_error!r}")
                            continue
                        latencies.append((time.perf_counter() - began) * 1000)
            except (smtplib.SMTPException, OSError) as exc:
                errors.append(f"connection: {exc}")

    threads = [threading.Thread(target=work) for _ in range(clients)]
    started_at = time.time()  # wall clock: the batch processor's finish is timed in another process
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    return {"seconds": elapsed, "latencies_ms": latencies, "errors": errors, "started_at": started_at}


# --- the discarding SMTP servers ------------------------------------------------------------------
class DiscardHandler:
    """Accept every message and drop it: aiosmtpd's own cost, the protocol ceiling."""

    def __init__(self, counter: Any = None) -> None:
        self.counter = counter
        self.received = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's name
        self.received += 1
        if self.counter is not None:
            with self.counter.get_lock():
                self.counter.value += 1
        return "250 2.0.0 OK"


def discard_controller(port: int, data_size_limit: int, counter: Any = None) -> Any:
    from aiosmtpd.controller import Controller

    return Controller(
        DiscardHandler(counter),
        hostname=HOST,
        port=port,
        data_size_limit=data_size_limit,
        decode_data=False,
        ident="bench-sink",
    )


def sink_main(port: int, counter: Any, ready: Any, stop: Any) -> None:
    """The outbound sink, in its own process until `stop` is set."""
    controller = discard_controller(port, 50 * 1024 * 1024, counter)
    controller.start()
    ready.set()
    stop.wait()
    controller.stop()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


# --- SQL statements per message --------------------------------------------------------------------
class StatementCounter:
    """Counts the SQL statements of the connections it is installed on, by first word (a few µs each)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.counts: dict[str, int] = {}

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        word = sql.lstrip().split(None, 1)[0].upper() if sql.strip() else "?"
        with self.lock:
            self.counts[word] = self.counts.get(word, 0) + 1
        return execute(sql, params, many, context)

    def install(self, connection: Any) -> None:
        if self not in connection.execute_wrappers:
            connection.execute_wrappers.append(self)

    def install_everywhere(self) -> None:
        """On this thread's connection and on every connection opened later (the SMTP server's threads)."""
        from django.db import connection
        from django.db.backends.signals import connection_created

        self.install(connection)
        connection_created.connect(self._created, weak=False)

    def _created(self, sender: Any, connection: Any, **kwargs: Any) -> None:
        self.install(connection)

    def per_message(self, messages: int) -> dict[str, float]:
        """Statements per message since the last call, by first word; and start counting afresh."""
        with self.lock:
            counts, self.counts = self.counts, {}
        return {word: round(n / messages, 3) for word, n in sorted(counts.items(), key=lambda kv: -kv[1])}


STATEMENTS = StatementCounter()


# --- inbound --------------------------------------------------------------------------------------
def inbound_profiler() -> tuple[list[Any], Any]:
    """Profile the server's storing step in its threads (the keeper's groups, or inline mode's whole pipeline):
    each thread its own cProfile."""
    import cProfile

    from cxloop.channels.email import smtp

    profiles: list[cProfile.Profile] = []
    local = threading.local()
    originals = {"keep": smtp._Keeper.keep, "_receive": smtp._receive}

    def wrapped(function: Any) -> Any:
        def profiled(*args: Any, **kwargs: Any) -> Any:
            profile = getattr(local, "profile", None)
            if profile is None:
                profile = local.profile = cProfile.Profile()  # wall clock: thread_time is a system call per event
                profiles.append(profile)
            profile.enable()
            try:
                return function(*args, **kwargs)
            finally:
                profile.disable()

        return profiled

    smtp._Keeper.keep = wrapped(originals["keep"])  # type: ignore[method-assign]  # bench only
    smtp._receive = wrapped(originals["_receive"])  # handle_DATA looks the name up at every call
    return profiles, originals


def print_profile(profiles: list[Any], path: str) -> None:
    import pstats

    stats = pstats.Stats(profiles[0])
    for profile in profiles[1:]:
        stats.add(profile)
    stats.dump_stats(path)
    print(f"  CPU profile written to {path}; top 30 by cumulative time:")
    stats.sort_stats("cumulative").print_stats(30)


def processor_main(url: str, expected: int, limit: int, ready: Any, results: Any, profile: str) -> None:
    """The batch processor in its own process, as `cxloop worker` runs channels.process_received: claim and
    process kept messages in batches of `limit`; after a batch that came back short (the queue was empty), wait
    WAKE_DELAY (0.2 s), the window in which the server's wake-ups coalesce, as `batch.drain` ends there and the
    next wake-up comes (the worker itself also sleeps up to 1 s between runs: this is the quicker case). Ends
    once `expected` messages were taken and reports when (wall clock), its CPU time, the batches and its SQL
    statements per message."""
    common.setup_django(url, migrate=False)
    from cxloop.channels import batch
    from cxloop.channels.email.smtp import WAKE_DELAY

    counter = StatementCounter()
    counter.install_everywhere()
    profiler = None
    if profile:
        import cProfile

        profiler = cProfile.Profile()
    ready.set()
    taken, batches, sizes = 0, 0, []
    first_at = None
    cpu0 = time.process_time()
    deadline = time.monotonic() + 900
    while taken < expected and time.monotonic() < deadline:
        if profiler is not None:
            profiler.enable()
        claimed = batch.process_received(limit)
        if profiler is not None:
            profiler.disable()
        if claimed:
            first_at = first_at or time.time()
            taken += claimed
            batches += 1
            sizes.append(claimed)
        if claimed < limit and taken < expected:
            time.sleep(WAKE_DELAY)
    done_at = time.time()
    if profiler is not None:
        profiler.dump_stats(f"{profile}-processor.prof")
    results.put(
        {
            "taken": taken,
            "done_at": done_at,
            "first_at": first_at,
            "cpu": time.process_time() - cpu0,
            "batches": batches,
            "batch_avg": round(sum(sizes) / max(len(sizes), 1), 1),
            "statements": counter.per_message(max(taken, 1)),
        }
    )


def start_processor(expected: int, limit: int, profile: str) -> tuple[Any, Any]:
    spawn = multiprocessing.get_context("spawn")
    ready, results = spawn.Event(), spawn.Queue()
    process = spawn.Process(
        target=processor_main, args=(os.environ["DATABASE_URL"], expected, limit, ready, results, profile)
    )
    process.start()
    if not ready.wait(120):
        raise SystemExit("the batch processor did not start")
    return process, results


def run_inbound(args: argparse.Namespace, pool: concurrent.futures.ProcessPoolExecutor) -> dict[str, Any]:
    from django.conf import settings

    from cxloop.channels.email.smtp import make_controller
    from cxloop.channels.models import Attachment, InboundMessage, InboundStatus
    from cxloop.customers.models import Customer
    from cxloop.interactions.models import Interaction, Thread

    existing = max(args.messages // 2, 2)
    seed_customers(existing)
    plan = build_inbound(args.messages, existing)
    mails = plan.mails
    print(
        f"  inbound: {len(mails):,} messages (avg {plan.stats['bytes_avg']:,} bytes), {args.clients} clients,"
        f" {args.per_connection} per connection; {existing:,} seeded customers; {plan.stats}"
    )

    def send(port: int) -> dict[str, Any]:
        return pool.submit(client_run, HOST, port, mails, args.clients, args.per_connection).result()

    def ceiling(label: str) -> dict[str, Any]:
        controller = discard_controller(free_port(), settings.CXLOOP_INBOUND_MAX_BYTES)
        controller.start()
        try:
            result = send(controller.port)
        finally:
            controller.stop()
        _check_clean(label, result, controller.handler.received, len(mails))
        return result

    first = ceiling("bare aiosmtpd (before)")
    queued = args.inbound_mode == "queued"
    processor, results = start_processor(len(mails), args.inbound_batch, args.profile) if queued else (None, None)
    profiles, originals = inbound_profiler() if args.profile else ([], None)
    controller = make_controller(HOST, free_port(), allowed=[SUPPORT], processing=args.inbound_mode)
    controller.start()
    STATEMENTS.per_message(1)
    began_cpu = time.process_time()
    try:
        ours = send(controller.port)
    finally:
        cpu = time.process_time() - began_cpu
        controller.stop()
        controller.handler.close()
    statements = STATEMENTS.per_message(len(mails))
    drained: dict[str, Any] = {}
    if processor is not None:
        drained = results.get(timeout=900)
        processor.join(30)
    if originals is not None:
        from cxloop.channels.email import smtp

        smtp._Keeper.keep = originals["keep"]  # type: ignore[method-assign]
        smtp._receive = originals["_receive"]
    second = ceiling("bare aiosmtpd (after)")

    inbound_total = InboundMessage.objects.count()
    processed = InboundMessage.objects.filter(status=InboundStatus.PROCESSED).count()
    interactions = Interaction.objects.filter(channel="email", direction="inbound").count()
    distinct = Interaction.objects.filter(channel="email").values("external_id").distinct().count()
    customers = Customer.objects.count()
    threads = Thread.objects.count()
    attachments = Attachment.objects.count()
    _check_clean("cxloop", ours, processed, len(mails))
    checks = {
        "inbound records": (inbound_total, len(mails)),
        "processed": (processed, len(mails)),
        "interactions": (interactions, len(mails)),
        "distinct message ids": (distinct, len(mails)),
        "customers": (customers, existing + plan.new_people),
        "attachments": (attachments, plan.stats["attachments"]),
    }
    failed = {name: pair for name, pair in checks.items() if pair[0] != pair[1]}
    if failed:
        raise SystemExit(f"inbound check failed (found, expected): {failed}")
    print(f"  checked: {', '.join(f'{name} {found:,}' for name, (found, _) in checks.items())}")
    # Not a hard check: a reply whose original is still being stored by another connection opens a thread.
    print(f"  threads: {threads:,} (one per message that is not a reply: {len(mails) - plan.stats['replies']:,})")

    if profiles:
        print_profile(profiles, f"{args.profile}-inbound.prof")
    best = max((first, second), key=lambda r: len(mails) / r["seconds"])
    accepted_rate = len(mails) / ours["seconds"]
    # End to end: from the first message sent until the last one is processed (parsed, resolved, recorded).
    end_to_end = drained["done_at"] - ours["started_at"] if drained else ours["seconds"]
    rate = len(mails) / end_to_end
    ceiling_rate = len(mails) / best["seconds"]
    ours_lat = common.percentiles(ours["latencies_ms"])
    bare_lat = common.percentiles(best["latencies_ms"])
    ratio = rate / ceiling_rate
    print(
        f"  bare aiosmtpd (discard):  {len(mails) / first['seconds']:8,.0f} and {len(mails) / second['seconds']:,.0f}"
        f" messages/s (before, after)   p50 {bare_lat['p50']:.1f} ms  p95 {bare_lat['p95']:.1f} ms"
    )
    print(
        f"  cxloop SMTP server ({args.inbound_mode}): accepted {accepted_rate:,.0f} messages/s"
        f" in {ours['seconds']:.2f} s"
        f"   p50 {ours_lat['p50']:.1f} ms  p95 {ours_lat['p95']:.1f} ms  p99 {ours_lat['p99']:.1f} ms"
        f"   server process CPU {cpu:.1f} s ({cpu / len(mails) * 1000:.2f} ms/message)"
    )
    print(f"  SQL statements per message (SMTP server process): {statements}")
    if drained:
        print(
            f"  batch processor (own process, batches of {args.inbound_batch}): {drained['batches']} batches of"
            f" {drained['batch_avg']} on average; last message processed {end_to_end:.2f} s after the first was sent"
            f" ({end_to_end - ours['seconds']:.2f} s after the last 250); CPU {drained['cpu']:.1f} s"
            f" ({drained['cpu'] / len(mails) * 1000:.2f} ms/message)"
        )
        print(f"  SQL statements per message (batch processor): {drained['statements']}")
    print(f"  cxloop end to end (sent → processed): {rate:,.0f} messages/s")
    print(f"  ratio cxloop / ceiling: {ratio:.3f}   (goal >= {GOAL}: {'met' if ratio >= GOAL else 'NOT met'})")
    return {
        "mode": args.inbound_mode,
        "accepted_per_s": round(accepted_rate, 1),
        "end_to_end_s": round(end_to_end, 3),
        "processor_cpu_ms_per_message": round(drained["cpu"] / len(mails) * 1000, 2) if drained else None,
        "processor_sql_per_message": drained.get("statements"),
        "messages": len(mails),
        "sql_per_message": statements,
        "clients": args.clients,
        "per_connection": args.per_connection,
        "mix": plan.stats,
        "ceiling_per_s": [round(len(mails) / first["seconds"]), round(len(mails) / second["seconds"])],
        "ceiling_p50_ms": round(bare_lat["p50"], 2),
        "ceiling_p95_ms": round(bare_lat["p95"], 2),
        "per_s": round(rate, 1),
        "p50_ms": round(ours_lat["p50"], 2),
        "p95_ms": round(ours_lat["p95"], 2),
        "p99_ms": round(ours_lat["p99"], 2),
        "server_cpu_ms_per_message": round(cpu / len(mails) * 1000, 2),
        "ratio": round(ratio, 3),
        "customers": customers,
        "threads": threads,
    }


def _check_clean(label: str, result: dict[str, Any], received: int, expected: int) -> None:
    if result["errors"] or len(result["latencies_ms"]) != expected or received != expected:
        raise SystemExit(
            f"{label}: {len(result['latencies_ms']):,} accepted, {received:,} received of {expected:,};"
            f" errors: {result['errors'][:5]}"
        )


# --- outbound -------------------------------------------------------------------------------------
def run_outbound(args: argparse.Namespace, counter: Any) -> dict[str, Any]:
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.db.models import Max

    from cxloop.core.actor import Actor
    from cxloop.customers.models import Customer
    from cxloop.messaging import services as messaging
    from cxloop.messaging.models import MessageStatus, OutboundMessage
    from cxloop.messaging.types import SendRequest

    count = args.outbound
    OUTBOUND_COUNT[0] = count
    first = Customer.objects.aggregate(top=Max("pk"))["top"] or 0
    seed_outbound_customers(first, count)
    customers = list(
        Customer.objects.filter(pk__gt=first).order_by("pk").values_list("public_id", "identities__value")[:count]
    )
    rng = random.Random(5)
    texts = agent_texts()
    requests = [
        SendRequest(
            customer_id=public_id,
            channel="email",
            purpose="service",
            subject=f"About your request {rng.randrange(10**6):06d}",
            text=rng.choice(texts),
        )
        for public_id, _ in customers
    ]
    addresses = [address for _, address in customers]
    user = get_user_model().objects.create_user(username="bench-sender", role="agent")
    actor = Actor.for_user(user, via="api")
    print(f"  outbound: {count:,} free-text service messages to {count:,} customers, sink on {settings.EMAIL_PORT}")

    def ceiling(per_connection: int) -> float:
        return outbound_ceiling(requests, addresses, counter, per_connection)

    def cxloop(label: str, dispatch: Any, *, bulk: bool = False) -> dict[str, Any]:
        """send_message for every request (bulk: send_messages by SEND_CHUNK), then `dispatch(ids)`; checked."""
        profiler = None
        if args.profile:
            import cProfile

            profiler = cProfile.Profile()  # process_time is a system call per event: 5x slower
            profiler.enable()
        counter.value = 0
        before_sent = OutboundMessage.objects.filter(status=MessageStatus.SENT).count()
        latencies: list[float] = []
        STATEMENTS.per_message(1)
        began_cpu = time.process_time()
        with common.stopwatch() as send_s:
            ids = send_all(actor, requests, bulk, latencies)
        with common.stopwatch() as dispatch_s:
            outcomes = dispatch(ids, latencies)
        cpu = time.process_time() - began_cpu
        statements = STATEMENTS.per_message(count)
        if profiler is not None:
            import pstats

            profiler.disable()
            path = f"{args.profile}-outbound-{label}.prof"
            profiler.dump_stats(path)
            print(f"  CPU profile written to {path}; top 30 by cumulative time:")
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(30)
        received = counter.value
        sent = OutboundMessage.objects.filter(status=MessageStatus.SENT).count() - before_sent
        if sent != count or received != count:
            raise SystemExit(
                f"outbound check failed ({label}): {sent:,} sent, sink received {received:,}, of {count:,}; {outcomes}"
            )
        return {
            "send_s": send_s[0],
            "dispatch_s": dispatch_s[0],
            "latency": common.percentiles(latencies) if latencies else None,
            "cpu": cpu,
            "statements": statements,
        }

    def one_by_one(ids: list[int], latencies: list[float]) -> dict[str, int]:
        outcomes: dict[str, int] = {}
        for index, message_id in enumerate(ids):
            began = time.perf_counter()
            outcome = messaging.dispatch(message_id)
            latencies[index] += (time.perf_counter() - began) * 1000
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
        return outcomes

    def in_batches(ids: list[int], latencies: list[float]) -> dict[str, int]:
        latencies.clear()  # a message's latency is its batch's: not comparable, not reported
        outcomes: dict[str, int] = {}
        for start in range(0, len(ids), BATCH_SIZE):
            for outcome, n in messaging.dispatch_batch(ids[start : start + BATCH_SIZE]).items():
                outcomes[outcome] = outcomes.get(outcome, 0) + n
        return outcomes

    result: dict[str, Any] = {"messages": count}
    variants = {  # label: (dispatch, send_messages?, messages per connection of the ceiling)
        "single": (one_by_one, False, 1),
        "batch": (in_batches, False, BATCH_SIZE),
        "bulk": (in_batches, True, BATCH_SIZE),
    }
    chosen = {"all": list(variants), "both": ["single", "batch"]}.get(args.dispatch, [args.dispatch])
    for label in chosen:
        dispatch, bulk, per_connection = variants[label]
        base_first = ceiling(per_connection)
        run = cxloop(label, dispatch, bulk=bulk)
        base_second = ceiling(per_connection)
        how = "one connection per message" if per_connection == 1 else f"{per_connection} messages per connection"
        figures = report(label, run, base_first, base_second, how)
        if label == "single":
            result.update(figures)  # where earlier runs' results have it
        else:
            result[label] = figures
    return result


def send_all(actor: Any, requests: list[Any], bulk: bool, latencies: list[float]) -> list[int]:
    """The messages' ids, sent one call each (latency of each kept) or, bulk, by SEND_CHUNK per call."""
    from cxloop.messaging import services as messaging
    from cxloop.messaging.models import OutboundMessage

    ids = []
    if bulk:  # a campaign's or a journey's way: many requests per call, one transaction each
        for start in range(0, len(requests), SEND_CHUNK):
            for outcome in messaging.send_messages(actor, requests[start : start + SEND_CHUNK]):
                if not isinstance(outcome, OutboundMessage):
                    raise SystemExit(f"send_messages refused a request: {outcome}")
                ids.append(outcome.pk)
        return ids
    for request in requests:
        began = time.perf_counter()
        ids.append(messaging.send_message(actor, request).pk)
        latencies.append((time.perf_counter() - began) * 1000)
    return ids


def outbound_ceiling(requests: list[Any], addresses: list[str], counter: Any, per_connection: int) -> float:
    """Django's backend sending the same messages to the sink, `per_connection` over each connection."""
    from django.conf import settings
    from django.core.mail import EmailMessage as DjangoEmail
    from django.core.mail import get_connection

    count = len(requests)
    counter.value = 0
    with common.stopwatch() as elapsed:
        for start in range(0, count, per_connection):
            chunk = [
                DjangoEmail(
                    subject=request.subject,
                    body=request.text,
                    from_email=settings.CXLOOP_EMAIL_FROM,
                    to=[address],
                    headers={"Message-ID": f"<bench-{start + n}@cxloop.localhost>"},
                )
                for n, (request, address) in enumerate(
                    zip(
                        requests[start : start + per_connection], addresses[start : start + per_connection], strict=True
                    )
                )
            ]
            connection = get_connection(fail_silently=False)
            if per_connection == 1:
                chunk[0].connection = connection
                chunk[0].send()  # as EmailSender.send does
            else:
                connection.send_messages(chunk)  # opens once, sends the chunk, closes
    if counter.value != count:
        raise SystemExit(f"ceiling: the sink received {counter.value:,} of {count:,}")
    return elapsed[0]


def report(label: str, run: dict[str, Any], base_first: float, base_second: float, how: str) -> dict[str, Any]:
    count = OUTBOUND_COUNT[0]
    total_s = run["send_s"] + run["dispatch_s"]
    rate = count / total_s
    ratio = rate / (count / min(base_first, base_second))
    lat = run["latency"]
    dispatch = "dispatch(id) per message" if label == "single" else f"dispatch_batch of {BATCH_SIZE}"
    send = f"send_messages by {SEND_CHUNK}" if label == "bulk" else "send_message"
    print(f"  [{label}] checked: {count:,} messages sent, the sink received {count:,}")
    print(
        f"  [{label}] Django EmailMessage + SMTP backend, {how} (ceiling): {count / base_first:8,.0f} and"
        f" {count / base_second:,.0f} messages/s (before, after)"
    )
    print(
        f"  [{label}] cxloop {send} + {dispatch}: {rate:8,.0f} messages/s  ({send}"
        f" {run['send_s'] / count * 1000:.2f} ms, dispatch {run['dispatch_s'] / count * 1000:.2f} ms per message;"
        + (f" p50 {lat['p50']:.1f} ms, p95 {lat['p95']:.1f} ms;" if lat else "")
        + f" CPU {run['cpu'] / count * 1000:.2f} ms/message)"
    )
    print(f"  [{label}] SQL statements per message: {run['statements']}")
    print(
        f"  [{label}] ratio cxloop / ceiling: {ratio:.3f}   (goal >= {GOAL}: {'met' if ratio >= GOAL else 'NOT met'})"
    )
    figures = {
        "sql_per_message": run["statements"],
        "ceiling_per_s": [round(count / base_first), round(count / base_second)],
        "per_s": round(rate, 1),
        "send_ms": round(run["send_s"] / count * 1000, 2),
        "dispatch_ms": round(run["dispatch_s"] / count * 1000, 2),
        "cpu_ms_per_message": round(run["cpu"] / count * 1000, 2),
        "ratio": round(ratio, 3),
    }
    if lat:
        figures.update(p50_ms=round(lat["p50"], 2), p95_ms=round(lat["p95"], 2))
    return figures


def seed_outbound_customers(offset: int, count: int) -> None:
    """`count` more customers with one e-mail identity each, inserted directly (not timed)."""
    from django.db import connection, transaction

    from cxloop.core.ids import new_public_id

    now = datetime.now(UTC)
    customers, identities = [], []
    for n in range(count):
        pk = offset + n + 1
        person = Person(10_000_000 + n)
        customers.append((pk, now, now, new_public_id("cus"), person.name, person.name.lower(), "GB"))
        identities.append((now, now, new_public_id("idn"), pk, person.email, person.email, now))
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO customers_customer (id, created_at, updated_at, public_id, name, search_name, country,"
            " locale, time_zone, lifecycle_stage, attributes, status) VALUES (%s, %s, %s, %s, %s, %s, %s, '', '',"
            " 'lead', '{}', 'active')",
            customers,
        )
        cursor.executemany(
            "INSERT INTO customers_identity (created_at, updated_at, public_id, customer_id, kind, network, value,"
            " match_value, is_verified, source, last_seen_at) VALUES (%s, %s, %s, %s, 'email', '', %s, %s, false,"
            " 'import', %s)",
            identities,
        )
    from ingest import _reset_sequences

    _reset_sequences()


# --- main -----------------------------------------------------------------------------------------
def database_url(db: str) -> tuple[str, str]:
    if db == "postgres":
        common.ensure_pg_database(BENCH_DB, fresh=True)
        return common.pg_url(BENCH_DB), f"PostgreSQL ({BENCH_DB})"
    folder = Path(tempfile.mkdtemp(prefix="cxloop-bench-email-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    path = folder / "bench.sqlite3"
    return f"sqlite:///{path}", f"SQLite (WAL) {path}"


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], required=True)
    parser.add_argument("--messages", type=int, default=2000, help="inbound messages")
    parser.add_argument("--clients", type=int, default=4, help="SMTP client threads, one connection each")
    parser.add_argument("--per-connection", type=int, default=20, help="messages per SMTP connection")
    parser.add_argument("--outbound", type=int, default=2000, help="outbound messages (one customer each)")
    parser.add_argument("--part", choices=["both", "inbound", "outbound"], default="both")
    parser.add_argument(
        "--inbound-mode",
        choices=["queued", "inline"],
        default="queued",
        help="queued: 250 once kept, a batch processor in its own process (the default); inline: the old path",
    )
    parser.add_argument("--inbound-batch", type=int, default=200, help="messages per batch of the processor")
    parser.add_argument(
        "--dispatch",
        choices=["all", "both", "single", "batch", "bulk"],
        default="all",
        help=(
            "outbound: single = send_message + dispatch(id) (one SMTP connection each); batch = send_message +"
            " dispatch_batch; bulk = send_messages + dispatch_batch; both = single and batch; all = the three"
        ),
    )
    parser.add_argument(
        "--profile",
        default="",
        help="cProfile the cxloop paths (about twice as slow: compare shares, not rates); writes PREFIX-*.prof",
    )
    args = parser.parse_args()

    spawn = multiprocessing.get_context("spawn")
    sink_port = free_port()
    counter, ready, stop = spawn.Value("i", 0), spawn.Event(), spawn.Event()
    sink = spawn.Process(target=sink_main, args=(sink_port, counter, ready, stop), daemon=True)
    sink.start()
    pool = concurrent.futures.ProcessPoolExecutor(max_workers=1, mp_context=spawn)

    media = Path(tempfile.mkdtemp(prefix="cxloop-bench-email-media-"))
    atexit.register(shutil.rmtree, media, ignore_errors=True)
    os.environ["CXLOOP_MEDIA_ROOT"] = str(media)  # raw messages and attachments of this run only
    os.environ["EMAIL_HOST"], os.environ["EMAIL_PORT"] = HOST, str(sink_port)
    os.environ["EMAIL_BACKEND"] = "django.core.mail.backends.smtp.EmailBackend"
    url, label = database_url(args.db)
    common.setup_django(url)
    print(f"benchmark (c) email on {label}; {common.machine()}")
    if not ready.wait(30):
        raise SystemExit("the SMTP sink did not start")
    STATEMENTS.install_everywhere()
    result: dict[str, Any] = {"bench": "email", "db": args.db}
    try:
        if args.part in ("both", "inbound"):
            result["inbound"] = run_inbound(args, pool)
        if args.part in ("both", "outbound"):
            result["outbound"] = run_outbound(args, counter)
    finally:
        stop.set()
        sink.join(10)
        pool.shutdown()
    print(f"  peak RSS of this process: {common.peak_rss_mb():.0f} MB")
    result["goal"] = GOAL
    common.emit(result)


if __name__ == "__main__":
    main()
