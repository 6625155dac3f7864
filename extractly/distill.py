"""The distillation log: documents a later backend answered, as training data.

When the fallback chain escalates a document and a later (larger) backend answers it, the
text and the validated object are appended to a JSONL file, one object per line::

    {"text": "...", "output": {...}, "backend": "openai:...#model", "schema_fingerprint": "..."}

``text`` and ``output`` are what ``extractly tune SCHEMA TRAIN.jsonl`` reads; the other keys
say where the line came from. Several threads and processes may append to one log. Each line is
written whole under an exclusive ``flock`` of the file, on a descriptor opened for appending
(one ``write``, finished if the kernel wrote only part of it), so lines never interleave: the
lock makes that hold without relying on how a file system orders concurrent appends. A write
that fails half way is cut back to where the line began, so the next line never lands after
half a line; a crash (``kill -9`` in mid-write) can still leave a torn last line.

Two writers may log the same document with the same object (two jobs over the same input, a
resumed job redoing its chunks in flight): ``read_distill_log`` yields each ``(text, output)``
pair once, the first, so a training set read from it holds no duplicates.

This module does not decide what to log (the chain does) and never rewrites the file.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from .errors import DataFileError
from .labelled_rows import read_labelled_rows
from .result import as_json_data


class DistillLog:
    """Append-only JSONL of (text, validated output) pairs."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()

    def append(
        self,
        text: str,
        output: Any,
        *,
        backend: str,
        schema_fingerprint: str,
        source: str | None = None,
    ) -> None:
        """Append one pair; ``source`` (e.g. ``"shadow"``) says why it was logged, when it was
        not an escalation."""
        line = {
            "text": text,
            "output": as_json_data(output),
            "backend": backend,
            "schema_fingerprint": schema_fingerprint,
        }
        self.append_record(line if source is None else line | {"source": source})

    def append_record(self, record: Mapping[str, Any]) -> None:
        """Append any JSON object as one whole line (the shadow log uses this too)."""
        data = (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8")
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)  # other processes' lines wait; released by close
                _append_whole_line(fd, data)
            finally:
                os.close(fd)

    def __repr__(self) -> str:
        return f"DistillLog({str(self.path)!r})"


def _append_whole_line(fd: int, data: bytes) -> None:
    """Write ``data`` at the end of the locked file ``fd``; on failure, cut the file back to
    where it began, so no half line is left for the next one to follow."""
    start = os.lseek(fd, 0, os.SEEK_END)  # under the lock nobody else appends
    try:
        written = 0
        while written < len(data):  # a short write (a full disk raises instead of looping)
            written += os.write(fd, data[written:])
    except BaseException:
        os.ftruncate(fd, start)
        raise


def read_distill_log(path: str | os.PathLike[str]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """``(text, output)`` for each distinct pair in a distillation log (the ``tune`` input
    format), in file order.

    A line whose ``text`` and ``output`` equal an earlier line's (objects compared as JSON,
    key order ignored; ``backend`` and the other keys do not count) is skipped: the first is
    kept. Several processes may log the same document; training on it twice would weigh it
    double. Raises ``DataFileError`` naming ``file:line`` for a line that is not UTF-8 JSON with
    a string ``text`` and an object ``output``.
    """
    seen: set[bytes] = set()
    for row in read_labelled_rows(path, error=DataFileError, keys=("output",)):
        key = json.dumps([row.text, row.output], sort_keys=True)  # ASCII, lone surrogates too
        digest = hashlib.sha256(key.encode("ascii")).digest()
        if digest not in seen:  # digests, not texts: a long log's documents are not all kept
            seen.add(digest)
            yield row.text, row.output
