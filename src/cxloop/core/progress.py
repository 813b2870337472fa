"""A progress bar for long commands: redrawn in place on a terminal, a line per tenth when piped."""

from __future__ import annotations

import time
from typing import Protocol


class Stream(Protocol):
    def write(self, text: str, /) -> object: ...
    def flush(self) -> None: ...


class ProgressBar:
    WIDTH = 30

    def __init__(self, stream: Stream, label: str, total: int) -> None:
        self.stream, self.label, self.total = stream, label, max(total, 0)
        self.done = 0
        self.started = time.perf_counter()
        self._interactive = bool(getattr(stream, "isatty", lambda: False)())
        self._last_tenth = -1

    def advance(self, count: int = 1) -> None:
        self.done = min(self.total, self.done + count) if self.total else self.done + count
        if self._interactive:
            self.stream.write("\r" + self._line())
            self.stream.flush()
            return
        tenth = (10 * self.done // self.total) if self.total else 0
        if tenth != self._last_tenth:
            self._last_tenth = tenth
            self.stream.write(self._line() + "\n")

    def close(self) -> None:
        if self._interactive:
            self.stream.write("\r" + self._line() + "\n")
        elif self._last_tenth != 10:
            self.stream.write(self._line() + "\n")
        self.stream.flush()

    def _line(self) -> str:
        share = self.done / self.total if self.total else 1.0
        filled = int(self.WIDTH * share)
        bar = "#" * filled + "." * (self.WIDTH - filled)
        seconds = time.perf_counter() - self.started
        return f"{self.label:<14} [{bar}] {self.done:>6,}/{self.total:,} {seconds:5.1f}s"
