"""`make bench`: every benchmark of docs/benchmarks.md, each in its own process, then one summary table.

- (a) ingest through the service layer against a raw bulk insert, on SQLite and on PostgreSQL;
- (b) lookups, name search and timeline pages on PostgreSQL: on a small data set by default, on 1M
  customers and 10M interactions with BENCH_SIZE=large (generated once into cxloop_bench_large, reused);
- (c) email: inbound through the real SMTP server against bare aiosmtpd, outbound distribution against
  Django's SMTP backend alone, to a local sink; and batched sending, send_messages by 200 against
  send_message one by one (send_batch.py); on SQLite and on PostgreSQL;
- (d) cases on PostgreSQL: queue views, the case page, the SLA and promise sweeps, over 100k cases by
  default and 1M with BENCH_SIZE=large (generated once per size, reused);
- (e) text analytics on one core: scoring against the raw VADER call, analyse(), accuracy on the labelled set;
- (g) customer events through the batch API (POST /api/v1/events) against a raw bulk insert, on SQLite and on
  PostgreSQL;
- (h) journey timers on PostgreSQL: 100,000 enrolments due in one minute, two worker processes (BENCH_TIMERS).

Settings (environment): BENCH_SIZE=small|large, BENCH_ITEMS (ingest items, default 20000), BENCH_BATCH
(default 500), BENCH_EVENTS ((g) customer events, default 20000), BENCH_SAMPLES (query samples, default
1000), BENCH_API=1 to also time the queries through
the HTTP API, BENCH_EMAIL_MESSAGES / BENCH_EMAIL_OUTBOUND ((c) inbound and outbound messages, default
2000 each), BENCH_PG_HOST / BENCH_PG_PORT / BENCH_PG_USER (default 127.0.0.1:5432, postgres).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import common  # noqa: E402

SIZES = {
    "small": {"customers": 20_000, "interactions": 200_000, "database": "cxloop_bench_small", "cases": 100_000},
    "large": {"customers": 1_000_000, "interactions": 10_000_000, "database": "cxloop_bench_large", "cases": 1_000_000},
}


def run_step(title: str, args: list[str]) -> dict[str, Any] | None:
    """Run one benchmark script, echo its output, return its result line (None if it failed)."""
    print(f"\n=== {title}", flush=True)
    began = time.perf_counter()
    process = subprocess.Popen(  # noqa: S603 - our own scripts, with our own arguments
        [sys.executable, str(HERE / args[0]), *args[1:]], stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    result = None
    for line in process.stdout:
        if line.startswith(common.RESULT_PREFIX):
            result = json.loads(line[len(common.RESULT_PREFIX) :])
        else:
            print(line, end="", flush=True)
    if process.wait() != 0:
        print(f"!!! {title} failed (exit {process.returncode})")
        return None
    if result is not None:
        result["wall_s"] = round(time.perf_counter() - began, 1)
    return result


def postgres_reachable() -> bool:
    try:
        import psycopg

        with psycopg.connect(
            f"host={common.PG_HOST} port={common.PG_PORT} user={common.PG_USER} dbname=postgres", connect_timeout=3
        ):
            return True
    except Exception:  # noqa: BLE001 - any failure means: no PostgreSQL to benchmark against
        return False


def summary(results: list[dict[str, Any]]) -> None:
    print("\n=== summary")
    print(f"{'benchmark':<44}{'figure':>22}{'baseline / target':>24}{'ratio':>9}{'peak RSS':>11}")
    for r in results:
        rss = f"{r['peak_rss_mb']:.0f} MB"
        if r["bench"] == "ingest":
            label = f"(a) ingest {r['items']:,} items, {r['db']}"
            figure = f"{r['service_items_per_s']:,} items/s"
            baseline = f"raw {r['raw_method']} {r['raw_items_per_s']:,}/s"
            print(f"{label:<44}{figure:>22}{baseline:>24}{r['ratio']:>9.3f}{rss:>11}")
            print(f"{'    same, in CPU time of the process':<44}{'':>22}{'goal >= 0.3':>24}{r['cpu_ratio']:>9.3f}")
        elif r["bench"] == "events":
            label = f"(g) events {r['events']:,} via the API, {r['db']}"
            figure = f"{r['api_events_per_s']:,} events/s"
            baseline = f"raw {r['raw_events_per_s']:,}/s"
            print(f"{label:<44}{figure:>22}{baseline:>24}{r['ratio']:>9.3f}{rss:>11}")
            goals = "    goals: >= 5,000 events/s and >= 0.3"
            print(f"{goals:<44}{'':>22}{'CPU-time ratio':>24}{r['cpu_ratio']:>9.3f}")
        elif r["bench"] == "generate":
            label = f"    generate {r['customers']:,} / {r['interactions']:,}"
            figure = "reused" if r["reused"] else f"{r['seconds']:.0f} s"
            print(f"{label:<44}{figure:>22}{'':>24}{'':>9}{rss:>11}")
        elif r["bench"] == "queries":
            for way, rows in (("functions", r["functions"]), ("API", r["api"])):
                for row in rows:
                    label = f"(b) {row['label']} p95, {r['customers']:,} cust. ({way})"
                    figure = f"{row['p95']:.1f} ms (p50 {row['p50']:.1f})"
                    target = f"< {row['target_ms']:.0f} ms" + (
                        f"; raw {row['raw_p95']:.1f}" if "raw_p95" in row else ""
                    )
                    ratio = row["p95"] / row["target_ms"]
                    print(f"{label:<44}{figure:>22}{target:>24}{ratio:>9.2f}{rss:>11}")
        elif r["bench"] in ("email", "send_batch"):
            email_rows(r, rss)
        elif r["bench"] == "textanalytics":
            t = r["throughput"]
            label, figure = f"(e) text scoring, {t['texts']:,} texts, 1 core", f"{t['score_per_s']:,} texts/s"
            print(
                f"{label:<44}{figure:>22}{'VADER ' + format(t['raw_per_s'], ',') + '/s':>24}{t['ratio']:>9.3f}{rss:>11}"
            )
            label, figure = "(e) analyse() with language, phrases", f"{t['analyse_per_s']:,} texts/s"
            print(f"{label:<44}{figure:>22}{'same VADER baseline':>24}{t['analyse_per_s'] / t['raw_per_s']:>9.3f}")
            a = r["accuracy"]["calibrated"]
            label, figure = "(e) sentiment, evaluation half", f"acc {a['accuracy']:.3f} mF1 {a['macro_f1']:.3f}"
            d = r["accuracy"]["VADER default"]
            print(f"{label:<44}{figure:>22}{'±0.05: ' + format(d['accuracy'], '.3f'):>24}")
        elif r["bench"] == "cases":
            for row in r["queries"]:
                label = f"(d) {row['label']} p95, {r['cases']:,} cases"
                figure = f"{row['p95']:.1f} ms (p50 {row['p50']:.1f})"
                target = "< 100 ms" + (f"; raw {row['floor_p95']:.1f}" if row.get("floor_p95") else "")
                print(f"{label:<44}{figure:>22}{target:>24}{row['p95'] / 100:>9.2f}{rss:>11}")
            for name, seconds in r["sweeps"].items():
                label, figure = f"(d) {name}, all open cases", f"{seconds:.2f} s"
                print(f"{label:<44}{figure:>22}{'< 10 s':>24}{seconds / 10:>9.2f}")
    extra = {"feedback_scores": feedback_rows, "journey_timers": timer_rows}
    for r in results:
        if r["bench"] in extra:
            extra[r["bench"]](r)
    print("ratio: (a) service items/s divided by raw items/s (higher is better); (b), (d) p95 (or seconds) divided")
    print("       by the target (lower is better);")
    print("       (e) cxloop texts/s divided by raw VADER texts/s on the same texts (higher is better);")
    print("       (c) cxloop messages/s divided by the faster of the two ceiling runs (higher is better);")
    print("       (c) send_messages: its messages/s divided by send_message's, one by one (higher is better);")
    print("       (g) API events/s divided by raw events/s (higher is better)")
    print("       (h) engine enrolments/s divided by the same claims with a no-op step (higher is better)")
    print("raw: (a) the same rows inserted with COPY / executemany; (b) the p95 of the same read as one SQL statement")


def timer_rows(r: dict[str, Any]) -> None:
    label = f"(h) journey timers, {r['enrolments']:,} in 1 min, {r['workers']} wk"
    figure = f"p99 lag {r['lag_p99_s']:.1f} s"
    baseline = f"claims only {r['baseline_per_s']:,}/s"
    print(f"{label:<44}{figure:>22}{baseline:>24}{r['ratio']:>9.3f}{r['peak_rss_mb']:>8.0f} MB")
    detail = f"    {r['engine_per_s']:,}/s, p50 {r['lag_p50_s']:.1f} s, dup. {r['duplicates']}"
    print(f"{detail:<44}{'':>22}{'goal p99 < 60 s':>24}")


def feedback_rows(r: dict[str, Any]) -> None:
    q = r["queries"]
    for key, raw, name in (("nps", "nps_raw", "NPS"), ("monthly", "monthly_raw", "NPS by month")):
        label = f"(f) {name} p95, {q['answers']:,} answers"
        figure = f"{q[key]['p95']:.0f} ms (p50 {q[key]['p50']:.0f})"
        target = f"< 1000 ms; raw p50 {q[raw]['p50']:.0f}"
        print(f"{label:<44}{figure:>22}{target:>24}{q[key]['p95'] / 1000:>9.2f}{r['peak_rss_mb']:>8.0f} MB")


def email_rows(r: dict[str, Any], rss: str) -> None:
    if r["bench"] == "send_batch":
        send_batch_rows(r, rss)
        return
    if "inbound" in r:
        i = r["inbound"]
        label = f"(c) email in {i['messages']:,} SMTP {i.get('mode', 'inline')}, {r['db']}"
        figure = f"{i['per_s']:,.0f} msg/s (p95 {i['p95_ms']:.0f} ms)"
        baseline = f"aiosmtpd {max(i['ceiling_per_s']):,}/s"
        print(f"{label:<44}{figure:>22}{baseline:>24}{i['ratio']:>9.3f}{rss:>11}")
    if "outbound" in r:
        o = r["outbound"]
        variants = [("single", o)] if "per_s" in o else []
        variants += [(name, o[name]) for name in ("batch", "bulk") if name in o]
        for name, figures in variants:
            label = f"(c) email out {o['messages']:,} ({name}), {r['db']}"
            figure = f"{figures['per_s']:,.0f} msg/s"
            baseline = f"Django SMTP {max(figures['ceiling_per_s']):,}/s"
            print(f"{label:<44}{figure:>22}{baseline:>24}{figures['ratio']:>9.3f}{'':>11}")


def send_batch_rows(r: dict[str, Any], rss: str) -> None:
    for pair in r["pairs"]:
        label = f"(c) send_messages by {r['batch']}, {r['db']}"
        figure = f"{pair['batch']['per_s']:,.0f} msg/s"
        baseline = f"send_message {pair['single']['per_s']:,.0f}/s"
        print(f"{label:<44}{figure:>22}{baseline:>24}{pair['ratio']:>9.2f}{rss:>11}")


def main() -> None:
    size = os.environ.get("BENCH_SIZE", "small")
    if size not in SIZES:
        raise SystemExit(f"BENCH_SIZE must be one of {', '.join(SIZES)}")
    items = os.environ.get("BENCH_ITEMS", "20000")
    batch = os.environ.get("BENCH_BATCH", "500")
    samples = os.environ.get("BENCH_SAMPLES", "1000")
    events = os.environ.get("BENCH_EVENTS", "20000")
    email = ["--messages", os.environ.get("BENCH_EMAIL_MESSAGES", "2000")]
    email += ["--outbound", os.environ.get("BENCH_EMAIL_OUTBOUND", "2000")]
    data = SIZES[size]
    print(f"cxloop benchmarks, size {size}; {common.machine()}")
    results: list[dict[str, Any] | None] = []
    results.append(
        run_step("(a) ingest on SQLite", ["ingest.py", "--db", "sqlite", "--items", items, "--batch", batch])
    )
    results.append(run_step("(c) email on SQLite", ["email_channel.py", "--db", "sqlite", *email]))
    results.append(run_step("(c) batched sending on SQLite", ["send_batch.py", "--db", "sqlite"]))
    results.append(run_step("(g) event ingestion on SQLite", ["events.py", "--db", "sqlite", "--events", events]))
    results.append(run_step("(e) text analytics on one core", ["textanalytics.py"]))
    if postgres_reachable():
        results.append(
            run_step("(a) ingest on PostgreSQL", ["ingest.py", "--db", "postgres", "--items", items, "--batch", batch])
        )
        results.append(run_step("(c) email on PostgreSQL", ["email_channel.py", "--db", "postgres", *email]))
        results.append(run_step("(c) batched sending on PostgreSQL", ["send_batch.py", "--db", "postgres"]))
        results.append(
            run_step("(g) event ingestion on PostgreSQL", ["events.py", "--db", "postgres", "--events", events])
        )
        generated = [
            "generate.py",
            f"--customers={data['customers']}",
            f"--interactions={data['interactions']}",
            f"--database={data['database']}",
        ]
        results.append(run_step(f"(b) data: {size}", generated))
        queries = ["queries.py", f"--database={data['database']}", f"--samples={samples}"]
        if os.environ.get("BENCH_API") == "1":
            queries.append("--api")
        results.append(run_step(f"(b) queries on {size} data", queries))
        cases = [
            "cases.py",
            f"--cases={data['cases']}",
            f"--database=cxloop_bench_cases_{size}",
            f"--samples={min(int(samples), 300)}",
        ]
        results.append(run_step(f"(d) cases: {data['cases']:,} cases", cases))
        results.append(run_step("(f) feedback scores: 1M NPS answers", ["feedback_scores.py", "--answers=1000000"]))
        timers = os.environ.get("BENCH_TIMERS", "100000")
        results.append(
            run_step(
                f"(h) journey timers: {int(timers):,} due in one minute", ["journey_timers.py", "--enrolments", timers]
            )
        )
    else:
        print(f"\nPostgreSQL is not reachable at {common.PG_HOST}:{common.PG_PORT}: its benchmarks are skipped.")
    summary([r for r in results if r is not None])
    if any(r is None for r in results):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
