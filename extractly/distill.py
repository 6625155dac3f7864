"""The distillation log: documents a later backend answered, as training data.

When the fallback chain escalates a document and a later (larger) backend answers it, the
text and the validated object are appended to a JSONL file, one object per line::

    {"text": "...", "output": {...}, "backend": "openai:...#model", "schema_fingerprint": "..."}

``text`` and ``output`` are what ``extractly tune SCHEMA TRAIN.jsonl`` reads; the other keys
say where the line came from. Each line is written with one ``write`` on a file opened for
appending, so lines from several threads or processes never interleave, and a crash loses at
most the line being written. This module does not decide what to log (the chain does) and never
rewrites or truncates the file.
"""

from __future__ import annotations

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

    def append(self, text: str, output: Any, *, backend: str, schema_fingerprint: str) -> None:
        line = {
            "text": text,
            "output": as_json_data(output),
            "backend": backend,
            "schema_fingerprint": schema_fingerprint,
        }
        data = (json.dumps(line, ensure_ascii=False) + "\n").encode("utf-8")
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                # One write of the whole line: O_APPEND makes it land after every other line.
                written = os.write(fd, data)
                if written != len(data):  # only on a full disk; say so rather than lose data
                    raise OSError(f"short write to {self.path}: {written} of {len(data)} bytes")
            finally:
                os.close(fd)

    def __repr__(self) -> str:
        return f"DistillLog({str(self.path)!r})"


def read_distill_log(path: str | os.PathLike[str]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """``(text, output)`` for each line of a distillation log (the ``tune`` input format).

    Raises ``DataFileError`` naming ``file:line`` for a line that is not UTF-8 JSON with a
    string ``text`` and an object ``output``.
    """
    for row in read_labelled_rows(path, error=DataFileError, keys=("output",)):
        yield row.text, row.output
