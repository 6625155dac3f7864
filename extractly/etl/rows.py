"""Read input rows for a batch job: JSONL, CSV or a directory of .txt files.

Every input row becomes a ``Row`` with a stable id, the text to extract from, and where it came
from. A row that cannot be used (malformed JSON, invalid UTF-8, a missing or non-string text
field, a row above the size limit) is still yielded, with ``problem`` set and the raw bytes kept
(up to the size limit) so the dead-letter file can hold it: bad rows never stop a job and are
never silently dropped. Not here: extraction, output or resume state.
"""

from __future__ import annotations

import base64
import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEFAULT_MAX_ROW_BYTES = 1_000_000
_READ_CHUNK = 1 << 16


@dataclass(frozen=True)
class Row:
    id: str
    text: str | None
    """The text to extract from; ``None`` when ``problem`` says why there is none."""
    source: dict[str, Any]
    """Where the row lives in the input: path and line (or file), byte offset and length."""
    raw: bytes = b""
    """The row as read (at most the size limit), kept for the dead-letter file."""
    problem: str | None = None

    def raw_for_record(self) -> dict[str, str]:
        """The raw row in a JSON-safe form: text when it is UTF-8, else base64."""
        try:
            return {"raw": self.raw.decode("utf-8")}
        except UnicodeDecodeError:
            return {"raw_base64": base64.b64encode(self.raw).decode("ascii")}


def count_rows(path: Path) -> int | None:
    """Rows in ``path`` without parsing them (for the progress bar), or None if unknown."""
    if path.is_dir():
        return sum(1 for p in path.rglob("*.txt") if p.is_file())
    if path.suffix.lower() == ".csv":
        return None  # quoted newlines make a line count wrong
    count = 0
    last = b"\n"
    with path.open("rb") as f:
        while chunk := f.read(_READ_CHUNK):
            count += chunk.count(b"\n")
            last = chunk[-1:]
    return count + (last != b"\n")


def read_rows(
    path: Path,
    *,
    text_field: str = "text",
    id_field: str = "id",
    max_row_bytes: int = DEFAULT_MAX_ROW_BYTES,
) -> Iterator[Row]:
    """Rows of a .jsonl/.json-lines file, a .csv file or a directory of .txt files."""
    if path.is_dir():
        yield from _read_directory(path, max_row_bytes)
    elif path.suffix.lower() == ".csv":
        yield from _read_csv(path, text_field, id_field, max_row_bytes)
    elif path.is_file():
        yield from _read_jsonl(path, text_field, id_field, max_row_bytes)
    else:
        raise FileNotFoundError(f"input {path} does not exist")


def _lines(path: Path, max_row_bytes: int) -> Iterator[tuple[int, int, bytes, int]]:
    """(line number, byte offset, line bytes up to the limit, full length) for each line; a
    line longer than the limit is read past without being held in memory."""
    with path.open("rb") as f:
        number = 0
        offset = 0
        while True:
            line = f.readline(max_row_bytes + 1)
            if not line:
                return
            number += 1
            length = len(line)
            if len(line) > max_row_bytes and not line.endswith(b"\n"):
                while True:  # skip the rest of an oversized line
                    more = f.readline(_READ_CHUNK)
                    length += len(more)
                    if not more or more.endswith(b"\n"):
                        break
            yield number, offset, line[:max_row_bytes], length
            offset += length


def _read_jsonl(path: Path, text_field: str, id_field: str, max_row_bytes: int) -> Iterator[Row]:
    for number, offset, line, length in _lines(path, max_row_bytes):
        source = {"path": str(path), "line": number, "offset": offset, "length": length}
        stripped = line.strip()
        if not stripped:
            continue  # blank lines are not rows
        fallback_id = f"line:{number}"
        if length > max_row_bytes:
            problem = (
                f"row is {length:,} bytes, above the limit of {max_row_bytes:,} "
                "(raise --max-row-bytes)"
            )
            yield Row(fallback_id, None, source, line, problem)
            continue
        try:
            text = stripped.decode("utf-8")
        except UnicodeDecodeError as exc:
            yield Row(fallback_id, None, source, line, f"invalid UTF-8 at byte {exc.start}")
            continue
        try:
            record = json.loads(text)
        except json.JSONDecodeError as exc:
            yield Row(fallback_id, None, source, line, f"malformed JSON: {exc}")
            continue
        if not isinstance(record, dict):
            yield Row(fallback_id, None, source, line, "line is JSON but not an object")
            continue
        yield _row_from_record(record, fallback_id, source, line, text_field, id_field)


def _read_csv(path: Path, text_field: str, id_field: str, max_row_bytes: int) -> Iterator[Row]:
    with path.open("rb") as raw_file:
        data = io.TextIOWrapper(raw_file, encoding="utf-8", errors="surrogateescape", newline="")
        reader = csv.DictReader(data)
        if reader.fieldnames is None or text_field not in reader.fieldnames:
            raise ValueError(
                f"{path} has no column {text_field!r} (columns: {reader.fieldnames}); "
                "pass --text-field"
            )
        for number, record in enumerate(reader, start=2):  # line 1 is the header
            source = {"path": str(path), "row": number}
            raw = json.dumps(record, ensure_ascii=False).encode("utf-8", "surrogateescape")
            fallback_id = f"row:{number}"
            if len(raw) > max_row_bytes:
                problem = f"row is above the limit of {max_row_bytes:,} bytes"
                yield Row(fallback_id, None, source, raw[:max_row_bytes], problem)
                continue
            text = record.get(text_field)
            if isinstance(text, str) and _has_surrogates(text):
                yield Row(fallback_id, None, source, raw, "invalid UTF-8 in the row")
                continue
            yield _row_from_record(record, fallback_id, source, raw, text_field, id_field)


def _read_directory(path: Path, max_row_bytes: int) -> Iterator[Row]:
    for file in sorted(p for p in path.rglob("*.txt") if p.is_file()):
        row_id = file.relative_to(path).as_posix()
        size = file.stat().st_size
        source = {"path": str(file), "offset": 0, "length": size}
        with file.open("rb") as f:
            raw = f.read(max_row_bytes + 1)
        if size > max_row_bytes:
            problem = (
                f"file is {size:,} bytes, above the limit of {max_row_bytes:,} "
                "(raise --max-row-bytes)"
            )
            yield Row(row_id, None, source, raw[:max_row_bytes], problem)
            continue
        try:
            yield Row(row_id, raw.decode("utf-8"), source, raw)
        except UnicodeDecodeError as exc:
            yield Row(row_id, None, source, raw, f"invalid UTF-8 at byte {exc.start}")


def _row_from_record(
    record: dict[str, Any],
    fallback_id: str,
    source: dict[str, Any],
    raw: bytes,
    text_field: str,
    id_field: str,
) -> Row:
    given = record.get(id_field)
    row_id = fallback_id if given is None or given == "" else str(given)
    if text_field not in record:
        return Row(row_id, None, source, raw, f"no {text_field!r} field (pass --text-field)")
    text = record[text_field]
    if not isinstance(text, str):
        return Row(row_id, None, source, raw, f"{text_field!r} is {type(text).__name__}, not text")
    return Row(row_id, text, source, raw)


def _has_surrogates(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False
