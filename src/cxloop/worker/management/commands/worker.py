"""`cxloop worker`: runs queued tasks and enqueues the periodic jobs of worker/schedule.py."""

from __future__ import annotations

import os
import socket
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django_tasks_db.management.commands.db_worker import Worker

from cxloop.journeys.timers import process_all_due
from cxloop.worker.schedule import enqueue_due_jobs


class Command(BaseCommand):
    help = "Run background tasks and periodic jobs (any number of workers may run side by side)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--interval", type=float, default=1.0, help="Seconds to sleep when idle.")
        parser.add_argument("--batch", action="store_true", help="Run what is queued, then exit.")
        parser.add_argument("--no-schedule", action="store_true", help="Do not enqueue periodic jobs.")

    def handle(self, *args: Any, **options: Any) -> None:
        worker_id = f"{socket.gethostname()}:{os.getpid()}"
        self.stdout.write(f"cxloop worker {worker_id} started")
        while True:
            if not options["no_schedule"]:
                for name in enqueue_due_jobs():
                    self.stdout.write(f"enqueued periodic job {name}")
            # Journey timers are claimed in bulk, not queued one task each (journeys/timers.py).
            process_all_due(worker_id)
            Worker(
                queue_names=["*"],
                interval=0,
                batch=True,
                backend_name="default",
                startup_delay=False,
                max_tasks=None,
                worker_id=worker_id,
                excluded_queue_names=[],
            ).run()
            if options["batch"]:
                return
            time.sleep(options["interval"])
