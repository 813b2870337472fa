"""`cxloop serve`: the web server (granian, WSGI) and one background worker, together, for `make run`."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = "Serve cxloop with granian (WSGI) and run a background worker beside it."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--workers", type=int, default=2, help="Web worker processes.")
        parser.add_argument(
            "--threads",
            type=int,
            default=2 * (os.cpu_count() or 1) + 1,
            help="Request threads per web worker (each may hold a DB connection); default 2 × cores + 1.",
        )
        parser.add_argument("--no-worker", action="store_true", help="Do not start the background worker.")
        parser.add_argument(
            "--no-smtp", action="store_true", help="Do not start the inbound SMTP server (CXLOOP_SMTPD_PORT)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        host, port = options["host"], options["port"]
        web = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
            [
                sys.executable,
                "-m",
                "granian",
                "--interface",
                "wsgi",
                "--host",
                host,
                "--port",
                str(port),
                "--workers",
                str(options["workers"]),
                "--no-ws",
                "--blocking-threads",
                str(options["threads"]),
                "--backpressure",
                str(options["threads"]),
                "cxloop.config.wsgi:application",
            ]
        )
        processes = [web]
        if not options["no_worker"]:
            processes.append(subprocess.Popen([sys.executable, "-m", "cxloop.config.cli", "worker"]))  # noqa: S603
        # The SMTP server is a convenience beside the web server: if its port is taken, cxloop still runs.
        helpers = []
        if not options["no_smtp"] and settings.CXLOOP_SMTPD_PORT > 0:
            helpers.append(subprocess.Popen([sys.executable, "-m", "cxloop.config.cli", "smtpd"]))  # noqa: S603
        self._announce(host, port)
        stopping = False

        def stop(signum: int, frame: object) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        while not stopping and all(p.poll() is None for p in processes):
            time.sleep(0.5)
        for process in processes + helpers:
            if process.poll() is None:
                process.terminate()
        for process in processes + helpers:
            process.wait(timeout=10)

    def _announce(self, host: str, port: int) -> None:
        demo = settings.VAR_DIR / "demo_login.txt"
        self.stdout.write(self.style.SUCCESS(f"\ncxloop is running on http://{host}:{port}/"))
        self.stdout.write(
            f"Email to it over SMTP at {settings.CXLOOP_SMTPD_HOST}:{settings.CXLOOP_SMTPD_PORT}; "
            f"outgoing mail goes to {settings.EMAIL_HOST or settings.EMAIL_FILE_PATH}."
        )
        if demo.exists():
            self.stdout.write(demo.read_text(encoding="utf-8"))
        else:
            self.stdout.write("Create a login with: .venv/bin/cxloop createsuperuser")
        self.stdout.write("Stop with Ctrl+C.\n")
