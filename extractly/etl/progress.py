"""Progress of a batch job: a live line on a terminal, periodic log lines otherwise.

Written to stderr so the output stays clean when it goes to stdout or a pipe. Not here: any
state a resume depends on (that lives in the output files).
"""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO


class Progress:
    def __init__(
        self, total: int | None, stream: TextIO | None = None, log_every: float = 10.0
    ) -> None:
        self.total = total
        self.stream = stream or sys.stderr
        self.live = self.stream.isatty()
        self.log_every = log_every
        self.start = time.perf_counter()
        self._last = 0.0
        self._first_done: int | None = None

    def update(self, ok: int, failed: int, skipped: int) -> None:
        now = time.perf_counter()
        if now - self._last < (0.2 if self.live else self.log_every):
            return
        self._last = now
        self.stream.write(self._line(ok, failed, skipped, now) + ("\r" if self.live else "\n"))
        self.stream.flush()

    def _line(self, ok: int, failed: int, skipped: int, now: float) -> str:
        done = ok + failed
        elapsed = max(now - self.start, 1e-9)
        rate = done / elapsed
        parts = [f"{done + skipped:,}" + (f"/{self.total:,}" if self.total else "") + " rows"]
        parts.append(f"ok {ok:,}  failed {failed:,}  skipped {skipped:,}")
        parts.append(f"{rate:.2f} rows/s")
        if self.total and rate > 0:
            left = max(self.total - done - skipped, 0) / rate
            parts.append(f"ETA {_duration(left)}")
        return " | ".join(parts)

    def finish(self, summary: Any) -> None:
        if self.live:
            self.stream.write("\n")
        status = "interrupted" if summary.interrupted else "done"
        self.stream.write(
            f"extractly run {status}: {summary.ok:,} ok, {summary.failed:,} failed "
            f"(see {summary.dead_letter}), {summary.skipped:,} skipped as already done; "
            f"{summary.rows_per_second:.2f} rows/s over {_duration(summary.seconds)}\n"
        )
        self.stream.flush()


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
