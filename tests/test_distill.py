"""``distill``: the distillation log's line format under concurrent writers (threads and real
processes), and its reader, which yields each (text, output) pair once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from extractly import DistillLog, read_distill_log

ROOT = Path(__file__).resolve().parents[1]


def test_distill_log_lines_stay_whole_under_concurrent_writers(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "distill.jsonl"
    logs = [DistillLog(path), DistillLog(path)]  # two writers, as two processes would be
    long_text = "ü" * 5000

    def write(log: DistillLog, n: int) -> None:
        for i in range(50):
            log.append(f"{n}:{i} {long_text}", {"i": i}, backend="b", schema_fingerprint="f")

    threads = [threading.Thread(target=write, args=(logs[n % 2], n)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    pairs = list(read_distill_log(path))
    assert len(pairs) == 200
    expected = {f"{n}:{i}" for n in range(4) for i in range(50)}
    assert {text.split(" ")[0] for text, _ in pairs} == expected
    row = json.loads(path.read_text(encoding="utf-8").splitlines()[0])
    assert set(row) == {"text", "output", "backend", "schema_fingerprint"}


def test_distill_log_reader_names_the_bad_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"text": "a", "output": {}}\n{"text": "b"}\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad.jsonl:2"):
        list(read_distill_log(path))


def test_two_processes_appending_overlapping_documents_write_whole_lines_read_once(
    tmp_path: Path,
) -> None:
    path = tmp_path / "distill.jsonl"
    start_at = f"{time.time() + 1.5:.3f}"  # both start appending at this moment
    writer = [sys.executable, "-m", "tests.support.distill_writer", str(path)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    writers = [
        subprocess.Popen([*writer, *span, start_at, name], env=env)
        for span, name in ((("0", "300"), "A"), (("150", "450"), "B"))
    ]
    for process in writers:
        assert process.wait(timeout=60) == 0
    lines = [json.loads(line) for line in path.read_bytes().decode("utf-8").splitlines()]
    assert len(lines) == 600  # every line whole: each one parses
    backends = [line["backend"] for line in lines]
    assert backends != sorted(backends) and backends != sorted(backends, reverse=True)  # mixed
    pairs = list(read_distill_log(path))
    assert len(pairs) == 450  # documents 150..299 were logged by both: read once
    firsts = list(dict.fromkeys(line["output"]["i"] for line in lines))
    assert [output["i"] for _, output in pairs] == firsts  # the first copy, in file order
    assert all(text.startswith(f"doc {output['i']} ") for text, output in pairs)


def test_distill_log_reader_keeps_the_first_of_identical_pairs(tmp_path: Path) -> None:
    path = tmp_path / "log.jsonl"
    rows = [
        {"text": "a", "output": {"x": 1, "y": 2}, "backend": "one"},
        {"text": "a", "output": {"y": 2, "x": 1}, "backend": "two"},  # same pair: key order
        {"text": "a", "output": {"x": 1, "y": 3}, "backend": "one"},  # another object: kept
        {"text": "b", "output": {"x": 1, "y": 2}, "backend": "one"},
        {"text": "\ud800 lone surrogate", "output": {}, "backend": "one"},
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows + rows[:1]), encoding="utf-8")
    assert list(read_distill_log(path)) == [
        ("a", {"x": 1, "y": 2}),
        ("a", {"x": 1, "y": 3}),
        ("b", {"x": 1, "y": 2}),
        ("\ud800 lone surrogate", {}),
    ]
