"""``extractly run`` with the fallback chain's flags, against llama-cpp-python's real server on
127.0.0.1 (behind a counting proxy): it escalates, logs the escalated documents for distillation,
counts escalations per backend, and resumes (after Ctrl-C, and after completion) without redoing
a row or logging one twice.

``--min-confidence 1`` makes every answer of the local model whose least confident field is
below certainty escalate; the server reports no confidence, so its valid answers are accepted.
Which rows escalate is read from the output lines (their ``backend``), then checked against the
distillation log and the summary.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from extractly.distill import read_distill_log
from tests.support.etl_input import CITIES, SCHEMA
from tests.support.servers import MODEL_ALIAS, FaultyProxy, LlamaServer

ROOT = Path(__file__).resolve().parents[1]
TEXTS = [f"will it rain in {city} tomorrow" for city in CITIES[:6]]


def _records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_run_escalates_logs_the_escalations_and_resumes_without_duplicates(
    llama_server: LlamaServer, tmp_path: Path
) -> None:
    proxy = FaultyProxy(llama_server.url)  # forwards everything; counts the requests
    try:
        _run_twice_and_again(proxy, tmp_path)
    finally:
        proxy.stop()


def _run_twice_and_again(proxy: FaultyProxy, tmp_path: Path) -> None:
    (tmp_path / "schema.json").write_text(json.dumps(SCHEMA))
    rows = [json.dumps({"id": f"q{i}", "text": t}) for i, t in enumerate(TEXTS)]
    (tmp_path / "in.jsonl").write_text("\n".join(rows) + "\n")
    out, log = tmp_path / "out.jsonl", tmp_path / "distill.jsonl"
    server = f"openai:{proxy.url}#{MODEL_ALIAS}"
    command = [
        sys.executable, "-m", "extractly.cli", "run", str(tmp_path / "schema.json"),
        str(tmp_path / "in.jsonl"), "-o", str(out), "--batch-size", "2", "--threads", "1",
        "--fallback", f"{server};response_format=json_object;timeout=120",
        "--min-confidence", "1", "--distill-log", str(log),
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(ROOT)}

    # 1. Ctrl-C once the first chunk is written: the chunk in hand is finished, then it stops.
    first = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 180
    while not _records(out) and first.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    first.send_signal(signal.SIGINT)
    _, err = first.communicate(timeout=180)
    assert first.returncode == 130, err.decode()
    assert "extractly run interrupted" in err.decode()
    done_first = len(_records(out))
    assert 0 < done_first < len(TEXTS)

    # 2. Resume: the rest, nothing twice.
    resumed = subprocess.run([*command, "--resume"], env=env, capture_output=True, timeout=300)
    summary = resumed.stderr.decode()
    assert resumed.returncode == 0, summary
    records = _records(out)
    assert sorted(r["id"] for r in records) == sorted(f"q{i}" for i in range(len(TEXTS)))
    escalated = [r for r in records if r["escalated"]]
    assert escalated, "no row escalated at --min-confidence 1"
    name = f"openai:{proxy.url}#{MODEL_ALIAS}"
    assert {r["backend"] for r in escalated} == {name}
    for r in records:
        if not r["escalated"]:  # kept only when the local model was certain of every field
            assert r["backend"] != name and min(r["field_confidence"].values()) >= 1.0
    later = [r for r in escalated if r["id"] not in {x["id"] for x in records[:done_first]}]
    assert f"{len(records) - done_first} ok" in summary
    assert "\r" not in summary  # stderr is a pipe here: plain progress lines, no redraws
    assert re.search(rf"extractly run: 100%.* {len(TEXTS)}/{len(TEXTS)} \[.*escalated=", summary)
    assert resumed.stdout == b""
    if later:
        assert f"({len(later)} escalated: {len(later)} by {name})" in summary, summary

    # The distillation log: each escalated document once, with the object the run wrote.
    text_of = {f"q{i}": t for i, t in enumerate(TEXTS)}
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    logged = [(line["text"], line["output"]) for line in lines]
    assert sorted(logged, key=str) == sorted(
        ((text_of[r["id"]], r["output"]) for r in escalated), key=str
    )
    assert len(list(read_distill_log(log))) == len(lines)  # no duplicate to drop
    assert {line["backend"] for line in lines} == {name}

    # 3. The same command after completion: every row skipped, no request, nothing logged.
    requests, log_bytes = proxy.requests, log.read_bytes()
    again = subprocess.run([*command, "--resume"], env=env, capture_output=True, timeout=300)
    assert again.returncode == 0, again.stderr.decode()
    assert f"0 ok, 0 failed (see {out}.failed.jsonl), {len(TEXTS)} skipped" in again.stderr.decode()
    assert proxy.requests == requests and log.read_bytes() == log_bytes
    assert _records(out) == records
