"""Teacher labelling (``extractly.teacher.labels``) and ``extractly distill --label-only``:
every answer on disk as it arrives, nothing asked twice after a kill, a teacher that is down
stops the job without writing texts off. The teacher is a real HTTP server on 127.0.0.1
(``AnswerKeyServer``: it answers with each text's true object); no model is loaded here."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from extractly.backends.openai import Api, OpenAIBackend
from extractly.cli_distill import EXIT_TEACHER_UNAVAILABLE
from extractly.errors import TeacherUnavailableError
from extractly.retry import RetryPolicy
from extractly.schema import load_schema
from extractly.settings import Safeguards
from extractly.teacher import DistillConfig, distill
from extractly.teacher.job import Selection
from extractly.teacher.labels import FAILED_FILE, LABELS_FILE, LabelFiles, Text, label_texts
from extractly.testing import AnswerKeyServer
from tests.support.deliveries import DELIVERY_SCHEMA, delivery_rows, write_schema, write_texts
from tests.support.servers import free_port

ROOT = Path(__file__).resolve().parents[1]
FAST_RETRY = RetryPolicy(attempts=2, initial=0.01, max_wait=0.05, jitter=0.0)


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []


def _spec() -> Any:
    return load_schema(DELIVERY_SCHEMA, Safeguards())


def _answers(rows: list[dict[str, Any]]) -> dict[str, Any]:
    return {r["text"]: r["gold"] for r in rows}


def test_answer_key_server_answers_each_text_with_its_object_over_http(tmp_path: Path) -> None:
    rows = delivery_rows(3)
    with AnswerKeyServer(_answers(rows)) as server:
        apis: tuple[Api, ...] = ("chat", "completions")
        for api in apis:
            backend = OpenAIBackend(server.url, "answer-key", api=api)
            with LabelFiles(tmp_path / api) as files:
                texts = [Text(r["id"], r["text"]) for r in rows]
                summary = label_texts(texts, backend, _spec(), files)
                assert summary.labelled == 3, summary
                assert [r["output"] for r in files.labelled()] == [r["gold"] for r in rows]
        # the worked examples are in every prompt too; each text was asked about twice (2 APIs)
        assert server.asked == Counter({r["text"]: 2 for r in rows})


def test_labels_are_written_as_they_arrive_and_never_asked_for_twice(tmp_path: Path) -> None:
    rows = delivery_rows(12)
    texts = [Text(r["id"], r["text"]) for r in rows]
    with AnswerKeyServer(_answers(rows)) as server:
        backend = OpenAIBackend(server.url, "answer-key")
        with LabelFiles(tmp_path) as files:
            first = label_texts(texts[:5], backend, _spec(), files, concurrency=3)
        assert first.labelled == 5 and len(_lines(tmp_path / LABELS_FILE)) == 5
        with LabelFiles(tmp_path) as files:  # a second run over all twelve
            second = label_texts(texts, backend, _spec(), files, concurrency=3)
            labelled = files.labelled([t.id for t in texts])
        assert (second.skipped, second.labelled) == (5, 7)
        assert set(server.asked.values()) == {1}, server.asked
    records = _lines(tmp_path / LABELS_FILE)
    assert sorted(r["id"] for r in records) == sorted(t.id for t in texts)
    assert [r["output"] for r in labelled] == [r["gold"] for r in rows]
    assert all(r["teacher"].startswith("openai:") for r in records)


def test_answers_that_fail_validation_go_to_the_failed_file_once(tmp_path: Path) -> None:
    rows = delivery_rows(4)
    answers = _answers(rows)
    bad = rows[1]["text"]
    answers[bad] = {**rows[1]["gold"], "items": 0}  # below the schema's minimum
    with AnswerKeyServer(answers) as server:
        backend = OpenAIBackend(server.url, "answer-key")
        texts = [Text(r["id"], r["text"]) for r in rows]
        with LabelFiles(tmp_path) as files:
            summary = label_texts(texts, backend, _spec(), files)
        assert (summary.labelled, summary.failed) == (3, 1)
        assert server.asked[bad] == 2  # the answer and the re-ask with the validation error
        failed = _lines(tmp_path / FAILED_FILE)
        assert [f["id"] for f in failed] == [rows[1]["id"]]
        assert "items" in failed[0]["error"] and len(failed[0]["attempts"]) == 2
        with LabelFiles(tmp_path) as files:  # a rerun does not pay for it again...
            assert label_texts(texts, backend, _spec(), files).asked == 0
        answers_fixed = dict(answers) | {bad: rows[1]["gold"]}
        server.answers = answers_fixed
        with LabelFiles(tmp_path) as files:  # ...unless asked to
            again = label_texts(texts, backend, _spec(), files, retry_failed=True)
            assert (again.asked, again.labelled) == (1, 1)
            assert len(files.labelled()) == 4


def test_a_teacher_that_is_down_stops_labelling_and_a_rerun_continues(tmp_path: Path) -> None:
    rows = delivery_rows(6)
    texts = [Text(r["id"], r["text"]) for r in rows]
    down = OpenAIBackend(f"http://127.0.0.1:{free_port()}/v1", "answer-key", timeout=2)
    with LabelFiles(tmp_path) as files, pytest.raises(TeacherUnavailableError) as caught:
        label_texts(texts, down, _spec(), files, retry=FAST_RETRY)
    assert "run the same command again" in str(caught.value)
    assert not _lines(tmp_path / LABELS_FILE) and not _lines(tmp_path / FAILED_FILE)
    with AnswerKeyServer(_answers(rows), fail=[503, 503]) as server:  # 503 twice: one text
        backend = OpenAIBackend(server.url, "answer-key")
        with LabelFiles(tmp_path) as files, pytest.raises(TeacherUnavailableError):
            label_texts(texts, backend, _spec(), files, retry=FAST_RETRY)
        assert not _lines(tmp_path / FAILED_FILE)  # nothing written off as a bad answer
        with LabelFiles(tmp_path) as files:
            done = label_texts(texts, backend, _spec(), files, retry=FAST_RETRY)
        assert done.labelled == 6 and server.requests == 8


def test_a_text_the_teacher_refuses_as_too_long_is_written_off_and_labelling_goes_on(
    tmp_path: Path,
) -> None:
    rows = delivery_rows(3)
    texts = [Text(r["id"], r["text"]) for r in rows]
    with AnswerKeyServer(_answers(rows), fail=[413]) as server:  # the first text: too large
        backend = OpenAIBackend(server.url, "answer-key")
        with LabelFiles(tmp_path) as files:
            summary = label_texts(texts, backend, _spec(), files, retry=FAST_RETRY)
    assert (summary.labelled, summary.failed) == (2, 1)
    assert "413" in _lines(tmp_path / FAILED_FILE)[0]["error"]


def test_a_finished_run_takes_more_rounds_and_refuses_other_settings(tmp_path: Path) -> None:
    rows = delivery_rows(40)
    write_texts(tmp_path / "texts.jsonl", rows)
    run = tmp_path / "run"
    with AnswerKeyServer(_answers(rows)) as server:
        def resume(*sizes: int, selection: Selection = "random") -> None:
            config = DistillConfig(labels=sizes[-1], held_out=5, rounds=len(sizes),
                                   round_sizes=sizes, selection=selection, label_only=True)
            distill(DELIVERY_SCHEMA, tmp_path / "texts.jsonl",
                    f"openai:{server.url}#answer-key", run, config)

        resume(10)
        before = json.loads((run / "plan.json").read_text())
        resume(10, 20)  # more rounds after the run's own: its picks and labels are kept
        after = json.loads((run / "plan.json").read_text())
        assert after["held_out"] == before["held_out"] and after["rounds"] == before["rounds"]
        assert after["key"]["rounds"] == [10, 20] and before["key"]["rounds"] == [10]
        assert len(server.asked) == 15 and set(server.asked.values()) == {1}
        refused: list[tuple[tuple[int, ...], Selection]] = [
            ((20,), "random"), ((10,), "random"), ((10, 20), "coverage")]
        for sizes, selection in refused:
            with pytest.raises(ValueError, match=r"other settings.*--rounds 10,20,\.\.\."):
                resume(*sizes, selection=selection)
    assert json.loads((run / "plan.json").read_text()) == after  # refusals change nothing


def test_a_plan_that_is_not_one_is_refused_with_what_to_do_and_left_in_place(
    tmp_path: Path,
) -> None:
    rows = delivery_rows(30)
    write_texts(tmp_path / "texts.jsonl", rows)
    run, config = tmp_path / "run", DistillConfig(labels=10, held_out=5, label_only=True)
    with AnswerKeyServer(_answers(rows)) as server:
        def resume() -> None:
            distill(DELIVERY_SCHEMA, tmp_path / "texts.jsonl",
                    f"openai:{server.url}#answer-key", run, config)

        resume()
        good = (run / "plan.json").read_bytes()
        broken_plans = {good[: len(good) // 2]: "column", b"[]": "not a JSON object",
                        b'{"key": [1]}': "its key is not an object", b"\xff\xfe": "decode"}
        for broken, why in broken_plans.items():
            (run / "plan.json").write_bytes(broken)
            with pytest.raises(ValueError, match=rf"plan\.json is not a distill plan \(.*{why}"
                               r".*\): restore it, or move it away"):
                resume()
            assert (run / "plan.json").read_bytes() == broken  # refused, not overwritten
        (run / "plan.json").unlink()  # moved away: planned again, nothing asked twice
        resume()
    assert (run / "plan.json").read_bytes() == good
    assert len(server.asked) == 15 and set(server.asked.values()) == {1}


def _distill_command(folder: Path, url: str) -> list[str]:
    return [
        sys.executable, "-m", "extractly.cli", "distill", str(folder / "schema.json"),
        str(folder / "texts.jsonl"), "--teacher", f"openai:{url}#answer-key",
        "-o", str(folder / "run"), "--labels", "40", "--held-out", "10", "--label-only",
        "--selection", "random",
    ]  # fmt: skip


def test_kill_during_labelling_then_resume_labels_every_text_exactly_once(
    tmp_path: Path,
) -> None:
    rows = delivery_rows(80)
    write_schema(tmp_path / "schema.json")
    write_texts(tmp_path / "texts.jsonl", rows)
    labels = tmp_path / "run" / LABELS_FILE
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with AnswerKeyServer(_answers(rows), delay=0.05) as server:
        proc = subprocess.Popen(_distill_command(tmp_path, server.url), env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        while (not labels.exists() or labels.read_bytes().count(b"\n") < 20) and (
            time.monotonic() < deadline and proc.poll() is None
        ):
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
        before = labels.read_bytes().count(b"\n")
        assert 20 <= before < 50, f"killed after {before} labels"
        time.sleep(0.3)  # the request in flight at the kill finishes on the server's side
        asked_before = sum(server.asked.values())
        server.delay = 0.0
        done = subprocess.run(_distill_command(tmp_path, server.url), env=env,
                              capture_output=True, timeout=300)
        assert done.returncode == 0, done.stderr.decode()
        report = json.loads(done.stdout)
    plan = json.loads((tmp_path / "run" / "plan.json").read_text())
    wanted = plan["held_out"] + plan["rounds"][0]
    records = _lines(labels)
    ids = [r["id"] for r in records]
    assert sorted(ids) == sorted(wanted) and len(wanted) == 50  # each once, none missing
    gold = {r["id"]: r["gold"] for r in rows}
    assert all(r["output"] == gold[r["id"]] for r in records)
    # an answer on disk is never asked for again; only the one in flight at the kill may be
    twice = [t for t, n in server.asked.items() if n > 1]
    assert len(twice) <= 1 and max(server.asked.values()) <= 2, server.asked
    assert sum(server.asked.values()) - asked_before == 50 - before
    assert report["labelling"]["skipped"] == before


def test_distill_exits_75_when_the_teacher_is_unreachable(tmp_path: Path) -> None:
    rows = delivery_rows(30)
    write_schema(tmp_path / "schema.json")
    write_texts(tmp_path / "texts.jsonl", rows)
    command = _distill_command(tmp_path, f"http://127.0.0.1:{free_port()}/v1")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(command, env=env, capture_output=True, timeout=300)
    assert done.returncode == EXIT_TEACHER_UNAVAILABLE, done.stderr.decode()
    assert b"TeacherUnavailableError" in done.stderr and b"run the same command again" in (
        done.stderr)
