"""``extractly run``: crash safety, resume, dead letters, workers, Ctrl-C, one job per output.
Real subprocesses, real files, the real model; a one-field schema keeps each row cheap."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from extractly.cli import EXIT_LOCKED
from extractly.etl.rows import read_rows
from extractly.etl.sink import JsonlSink
from tests.support.etl_input import BAD_LINES, SCHEMA, input_lines

ROOT = Path(__file__).resolve().parents[1]
N_ROWS = 150


@pytest.fixture(scope="module")
def job(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("etl")
    (folder / "schema.json").write_text(json.dumps(SCHEMA))
    (folder / "in.jsonl").write_bytes(b"".join(input_lines(N_ROWS)))
    return folder


def _command(job: Path, output: str, *extra: str, source: str = "in.jsonl") -> list[str]:
    return [
        sys.executable, "-m", "extractly.cli", "run", str(job / "schema.json"),
        str(job / source), "-o", str(job / output), *extra,
    ]  # fmt: skip


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT)}


def _count_lines(path: Path) -> int:
    return path.read_bytes().count(b"\n") if path.exists() else 0


def _records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


@pytest.fixture(scope="module")
def reference(job: Path) -> dict[str, Any]:
    """An uninterrupted run: id -> object, and the failed ids."""
    done = subprocess.run(_command(job, "ref.jsonl"), env=_env(), capture_output=True, timeout=900)
    assert done.returncode == 0, done.stderr.decode()
    return {
        "outputs": {r["id"]: r["output"] for r in _records(job / "ref.jsonl")},
        "failed": {r["id"] for r in _records(job / "ref.jsonl.failed.jsonl")},
    }


def test_reference_run_sends_every_bad_row_to_the_dead_letters(
    job: Path, reference: dict[str, Any]
) -> None:
    failed = {r["id"]: r for r in _records(job / "ref.jsonl.failed.jsonl")}
    assert len(reference["outputs"]) == N_ROWS
    assert len(failed) == len(BAD_LINES)
    assert failed["number"]["message"] == "'text' is int, not text"
    assert failed["empty"]["error"] == "EmptyInputError"
    assert failed["no-text"]["message"].startswith("no 'text' field")
    latin1 = next(r for r in failed.values() if "raw_base64" in r)  # invalid UTF-8 kept as bytes
    assert "invalid UTF-8" in latin1["message"]


def test_sigkill_at_random_points_then_resume_loses_and_repeats_nothing(
    job: Path, reference: dict[str, Any]
) -> None:
    rng = random.Random(11)
    out = job / "killed.jsonl"
    # Kill points are chosen by progress, not by wall time: how fast rows go depends on the
    # machine's load, and a timed kill either lands after the run ended or before it wrote a row.
    targets = sorted(rng.sample(range(20, 2 * N_ROWS // 3), 4))
    progress_at_kill = []
    for target in targets:
        proc = subprocess.Popen(
            _command(job, "killed.jsonl", "--resume"),
            env=_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 300
        while _count_lines(out) < target and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(rng.uniform(0.0, 0.5))  # land anywhere in a chunk, mid-write included
        assert proc.poll() is None, "the run finished before it could be killed"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        progress_at_kill.append(len(_records(out)))
    final = subprocess.run(
        _command(job, "killed.jsonl", "--resume"), env=_env(), capture_output=True, timeout=900
    )
    assert final.returncode == 0, final.stderr.decode()
    assert progress_at_kill == sorted(progress_at_kill) and progress_at_kill[-1] < N_ROWS
    records = _records(out)
    ids = [r["id"] for r in records]
    failed = [r["id"] for r in _records(job / "killed.jsonl.failed.jsonl")]
    assert len(ids) == len(set(ids)) and len(failed) == len(set(failed))
    assert not set(ids) & set(failed)
    assert {r["id"]: r["output"] for r in records} == reference["outputs"]
    assert set(failed) == reference["failed"]


def test_ctrl_c_stops_after_the_current_chunk_with_a_summary(job: Path) -> None:
    out = job / "interrupted.jsonl"
    proc = subprocess.Popen(
        _command(job, out.name), env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + 120
    while not _records(out) and time.monotonic() < deadline:
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err.decode()
    assert "interrupted" in err.decode()
    assert 0 < len(_records(out)) < N_ROWS  # whole lines only


def test_two_workers_give_the_same_objects(job: Path, reference: dict[str, Any]) -> None:
    small = job / "small.jsonl"
    small.write_bytes(b"".join((job / "in.jsonl").read_bytes().splitlines(keepends=True)[:30]))
    command = [
        sys.executable, "-m", "extractly.cli", "run", str(job / "schema.json"), str(small),
        "-o", str(job / "two.jsonl"), "--workers", "2",
    ]  # fmt: skip
    done = subprocess.run(command, env=_env(), capture_output=True, timeout=600)
    assert done.returncode == 0, done.stderr.decode()
    got = {r["id"]: r["output"] for r in _records(job / "two.jsonl")}
    assert got and all(got[i] == reference["outputs"][i] for i in got)


def test_retry_failed_moves_fixed_rows_to_the_output(job: Path, reference: dict[str, Any]) -> None:
    folder = job / "retry"
    folder.mkdir()
    (folder / "schema.json").write_text(json.dumps(SCHEMA))
    lines = input_lines(3)
    (folder / "in.jsonl").write_bytes(b"".join(lines))
    first = subprocess.run(_command(folder, "out.jsonl"), env=_env(), capture_output=True)
    assert first.returncode == 0, first.stderr.decode()
    fixed = [
        b'{"id": "number", "text": "will it rain in Lima tonight"}\n' if b'"number"' in ln else ln
        for ln in lines
    ]
    (folder / "in.jsonl").write_bytes(b"".join(fixed))
    again = subprocess.run(
        _command(folder, "out.jsonl", "--retry-failed"), env=_env(), capture_output=True
    )
    assert again.returncode == 0, again.stderr.decode()
    out_ids = [r["id"] for r in _records(folder / "out.jsonl")]
    failed_ids = [r["id"] for r in _records(folder / "out.jsonl.failed.jsonl")]
    assert "number" in out_ids and "number" not in failed_ids
    assert len(out_ids) == len(set(out_ids)) == 4 and len(failed_ids) == len(BAD_LINES) - 1


EMPTY_AT = input_lines(N_ROWS).index(BAD_LINES[1])
"""Input line index of the "empty" row, the second of ``BAD_LINES``."""
LOCK_SLICE = slice(EMPTY_AT - 8, EMPTY_AT + 8)
"""15 good rows and the "empty" one: small, and a dead letter among them."""


@pytest.fixture(scope="module")
def few(job: Path, reference: dict[str, Any]) -> dict[str, Any]:
    """A 16-row input for the lock tests, and what the reference run made of its rows."""
    lines = (job / "in.jsonl").read_bytes().splitlines(keepends=True)[LOCK_SLICE]
    (job / "few.jsonl").write_bytes(b"".join(lines))
    ids = [json.loads(line)["id"] for line in lines]
    expected = {
        "outputs": {i: reference["outputs"][i] for i in ids if i in reference["outputs"]},
        "failed": {i for i in ids if i in reference["failed"]},
    }
    assert expected["failed"] == {"empty"} and len(expected["outputs"]) == 15
    return expected


def _assert_equals_the_reference(job: Path, output: str, expected: dict[str, Any]) -> None:
    records = _records(job / output)
    failed = [r["id"] for r in _records(job / f"{output}.failed.jsonl")]
    assert len(records) == len({r["id"] for r in records}) and len(failed) == len(set(failed))
    assert {r["id"]: r["output"] for r in records} == expected["outputs"]
    assert set(failed) == expected["failed"]


def test_a_second_job_on_the_same_output_exits_at_once_and_writes_nothing(
    job: Path, few: dict[str, Any]
) -> None:
    command = _command(job, "locked.jsonl", "--resume", source="few.jsonl")
    logs = [job / f"locked.{n}.err" for n in range(2)]  # files: a full pipe would block a run
    procs, started = [], []
    for log in logs:
        with log.open("wb") as err_file:
            started.append(time.monotonic())
            procs.append(
                subprocess.Popen(command, env=_env(), stdout=subprocess.DEVNULL, stderr=err_file)
            )
        time.sleep(0.3)
    while all(p.poll() is None for p in procs) and time.monotonic() < started[0] + 60:
        time.sleep(0.01)
    loser = next(n for n in range(2) if procs[n].poll() is not None)  # whichever came second
    exited_after = time.monotonic() - started[loser]
    winner = procs[1 - loser]
    winner.wait(timeout=300)
    err = [log.read_text() for log in logs]
    assert procs[loser].returncode == EXIT_LOCKED, err[loser]
    assert exited_after < 5.0  # Python start-up and the lock check, on a core it may share
    assert f"OutputLockedError: {job / 'locked.jsonl'} is being written by another" in err[loser]
    assert f"pid {winner.pid} on host" in err[loser] and "This job wrote nothing" in err[loser]
    assert winner.returncode == 0, err[1 - loser]
    _assert_equals_the_reference(job, "locked.jsonl", few)


def test_kill_9_then_resume_starts_at_once_with_no_stale_lock(
    job: Path, few: dict[str, Any]
) -> None:
    out = job / "holder_killed.jsonl"
    holder = subprocess.Popen(
        _command(job, out.name, source="few.jsonl"),
        env=_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while _count_lines(out) < 4 and holder.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert holder.poll() is None, "the run finished before it could be killed"
    holder.send_signal(signal.SIGKILL)
    holder.wait(timeout=30)
    lock_file = job / "holder_killed.jsonl.lock"
    assert json.loads(lock_file.read_text())["pid"] == holder.pid  # the killed job's record
    resumed = subprocess.run(
        _command(job, out.name, "--resume", source="few.jsonl"),
        env=_env(),
        capture_output=True,
        timeout=300,
    )
    assert resumed.returncode == 0, resumed.stderr.decode()
    _assert_equals_the_reference(job, out.name, few)
    assert lock_file.read_bytes() == b""  # released; the file stays


def test_two_jobs_on_different_outputs_run_side_by_side(job: Path, few: dict[str, Any]) -> None:
    cores = sorted(os.sched_getaffinity(0))
    procs = [
        subprocess.Popen(
            _command(job, f"side{n}.jsonl", source="few.jsonl"),
            env=_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            # one core each: llama.cpp threads = cores available, and 2 + 2 threads on 2 cores
            # would crawl
            preexec_fn=partial(os.sched_setaffinity, 0, {cores[n % len(cores)]}),
        )
        for n in range(2)
    ]
    holders: set[int] = set()  # pids seen holding their lock at the same moment
    deadline = time.monotonic() + 60
    while holders != {p.pid for p in procs} and time.monotonic() < deadline:
        holders = {pid for n in range(2) if (pid := _lock_holder(job / f"side{n}.jsonl.lock"))}
        time.sleep(0.01)
    errors = [p.communicate(timeout=300)[1].decode() for p in procs]
    assert [p.returncode for p in procs] == [0, 0], errors
    assert holders == {p.pid for p in procs}
    for n in range(2):
        _assert_equals_the_reference(job, f"side{n}.jsonl", few)


def _lock_holder(lock_file: Path) -> int | None:
    try:
        return int(json.loads(lock_file.read_bytes().split(b"\n")[0])["pid"])
    except (OSError, ValueError, KeyError):
        return None


def test_an_existing_output_is_never_overwritten_without_resume(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    out.write_text('{"id":"a","output":{}}\n')
    with pytest.raises(FileExistsError, match="--resume"):
        JsonlSink(out, resume=False)
    assert out.read_text() == '{"id":"a","output":{}}\n'


def test_resume_truncates_a_torn_last_line(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    out.write_bytes(b'{"id":"a","output":{}}\n{"id":"b","outp')
    sink = JsonlSink(out, resume=True)
    assert sink.ids == {"a"}
    sink.write({"id": "b", "output": {"x": 1}})
    sink.close()
    assert [json.loads(line)["id"] for line in out.read_text().splitlines()] == ["a", "b"]


def test_rows_from_csv_and_directories_and_oversized_lines(tmp_path: Path) -> None:
    csv_file = tmp_path / "in.csv"
    csv_file.write_text('id,text\n1,"rain in Rome, maybe"\n2,"multi\nline"\n')
    rows = list(read_rows(csv_file))
    assert [(r.id, r.text) for r in rows] == [("1", "rain in Rome, maybe"), ("2", "multi\nline")]
    folder = tmp_path / "docs"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.txt").write_text("sunny in Lima")
    (folder / "sub" / "b.txt").write_bytes(b"\xff\xfe")
    rows = list(read_rows(folder))
    assert [r.id for r in rows] == ["a.txt", "sub/b.txt"]
    assert rows[0].text == "sunny in Lima" and rows[1].problem is not None
    big = tmp_path / "big.jsonl"
    big.write_bytes(b'{"id": "x", "text": "' + b"a" * 5000 + b'"}\n{"id": "y", "text": "ok"}\n')
    rows = list(read_rows(big, max_row_bytes=1000))
    assert rows[0].problem is not None and "limit" in rows[0].problem
    assert len(rows[0].raw) == 1000 and (rows[1].id, rows[1].text) == ("y", "ok")
