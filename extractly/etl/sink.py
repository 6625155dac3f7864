"""Append-only JSONL files that survive SIGKILL: the output and the dead-letter file.

Each record is one line written with a single ``os.write`` on an ``O_APPEND`` descriptor, and
``flush()`` calls ``fsync``. A kill can therefore lose only records not yet written, or leave
the last line torn; opening a file for resume truncates a torn last line away (that row has no
complete record, so it is simply done again) and reports the ids already present. Not here:
what a record contains (see ``job.py``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


class JsonlSink:
    def __init__(self, path: Path, *, resume: bool) -> None:
        self.path = path
        self.ids: set[str] = set()
        self.records: list[dict[str, Any]] = []
        """On resume, the complete records already in the file."""
        path.parent.mkdir(parents=True, exist_ok=True)
        if resume and path.exists():
            self._recover()
        elif path.exists() and path.stat().st_size > 0:
            raise FileExistsError(
                f"{path} already holds results; pass --resume to continue that run, or choose "
                "another output path (nothing was overwritten)"
            )
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        self._dirty = False

    def _recover(self) -> None:
        data = self.path.read_bytes()
        end = data.rfind(b"\n") + 1
        if end < len(data):  # a torn last line from a killed run
            with self.path.open("r+b") as f:
                f.truncate(end)
        for number, line in enumerate(data[:end].splitlines(), start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(
                    f"{self.path} line {number} is not a JSON record ({exc}); it was not written "
                    "by extractly run, so resuming from it is unsafe"
                ) from exc
            self.ids.add(str(record["id"]))
            self.records.append(record)

    def write(self, record: dict[str, Any]) -> None:
        line = json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n"
        data = line.encode("utf-8", "surrogateescape")
        written = os.write(self._fd, data)
        while written < len(data):  # a short write: finish the line before anything else
            written += os.write(self._fd, data[written:])
        self.ids.add(str(record["id"]))
        self._dirty = True

    def flush(self) -> None:
        if self._dirty:
            os.fsync(self._fd)
            self._dirty = False

    def close(self) -> None:
        if self._fd >= 0:
            self.flush()
            os.close(self._fd)
            self._fd = -1


def rewrite_jsonl(path: Path, records: list[dict[str, Any]]) -> None:
    """Replace ``path`` with ``records`` atomically (temp file, fsync, rename)."""
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8", errors="surrogateescape") as f:
        for record in records:
            f.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
