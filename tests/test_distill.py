"""``distill``: the distillation log's line format under concurrent writers, and its reader."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from extractly import DistillLog, read_distill_log


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
