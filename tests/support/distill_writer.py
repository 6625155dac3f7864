"""A process appending to a distillation log, for the concurrent-writers test.

    python -m tests.support.distill_writer LOG FIRST STOP START_AT NAME

Waits until the wall clock reaches START_AT (so several writers start together), then appends
documents FIRST..STOP-1 through ``DistillLog``: text ``doc I`` plus 18 KB, so a line is larger
than a pipe buffer and a memory page; output ``{"i": I}``; backend NAME.
"""

from __future__ import annotations

import sys
import time

from extractly import DistillLog

PADDING = "ü" * 9000


def main(log_path: str, first: int, stop: int, start_at: float, name: str) -> None:
    log = DistillLog(log_path)
    time.sleep(max(0.0, start_at - time.time()))
    for i in range(first, stop):
        log.append(f"doc {i} {PADDING}", {"i": i}, backend=name, schema_fingerprint="f")


if __name__ == "__main__":
    log_path, first, stop, start_at, name = sys.argv[1:]
    main(log_path, int(first), int(stop), float(start_at), name)
