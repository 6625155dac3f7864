"""``etl/lock.py``: one job per output file. Real processes hold the lock (no model involved);
``test_etl.py`` runs the same rule through ``extractly run``."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from extractly.errors import OutputLockedError
from extractly.etl.lock import JobLock, LockHolder, lock_file_for

ROOT = Path(__file__).resolve().parents[1]


class Holder:
    """``tests/support/lock_holder.py`` in a subprocess, holding the lock on ``paths``."""

    def __init__(self, *paths: Path, with_child: bool = False) -> None:
        args = ["--with-child"] if with_child else []
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.support.lock_holder", *args, *map(str, paths)],
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()  # blocks until the lock is held
        assert line.startswith("held "), f"the holder did not start: {line!r}"
        self.child_pid = int(line.split()[1])

    def stop(self) -> None:
        if self.child_pid:
            _kill(self.child_pid)
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.communicate(timeout=10)


@pytest.fixture
def holders() -> Iterator[list[Holder]]:
    started: list[Holder] = []
    yield started
    for holder in started:
        holder.stop()


def _kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def test_a_second_job_is_refused_by_any_path_to_the_same_file(
    tmp_path: Path, holders: list[Holder], monkeypatch: pytest.MonkeyPatch
) -> None:
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "link").symlink_to(real, target_is_directory=True)
    (real / "alias.jsonl").symlink_to(real / "out.jsonl")  # dangling: out.jsonl does not exist
    holder = Holder(real / "out.jsonl")
    holders.append(holder)
    monkeypatch.chdir(tmp_path / "link")
    for path in ["out.jsonl", "../link/out.jsonl", "alias.jsonl", str(real / "out.jsonl")]:
        with pytest.raises(OutputLockedError) as refused:
            JobLock([path]).acquire()
        assert refused.value.pid == holder.proc.pid
        assert refused.value.lock_file == str(real / "out.jsonl.lock")
    message = str(refused.value)
    assert f"pid {holder.proc.pid} on host " in message
    assert "tests.support.lock_holder" in message  # the holder's command line
    assert f"kill {holder.proc.pid}" in message and "--resume" in message
    assert "This job wrote nothing" in message
    assert sorted(p.name for p in real.iterdir()) == ["alias.jsonl", "out.jsonl.lock"]


def test_kill_9_frees_the_lock_at_once_even_with_its_child_still_running(
    tmp_path: Path, holders: list[Holder]
) -> None:
    out = tmp_path / "out.jsonl"
    holder = Holder(out, with_child=True)  # the child inherits what it can, as a worker would
    holders.append(holder)
    holder.proc.send_signal(signal.SIGKILL)
    holder.proc.wait(timeout=10)
    os.kill(holder.child_pid, 0)  # the child outlived the holder
    stale = LockHolder.from_line(lock_file_for(out).read_bytes())
    assert stale is not None and stale.pid == holder.proc.pid  # the killed job's record stays
    with JobLock([out]):
        mine = LockHolder.from_line(lock_file_for(out).read_bytes())
        assert mine is not None and mine.pid == os.getpid()


def test_a_clean_release_leaves_the_lock_file_in_place_and_empty(tmp_path: Path) -> None:
    out = tmp_path / "deep" / "out.jsonl"
    with JobLock([out, out, tmp_path / "deep" / ".." / "deep" / "out.jsonl"]):  # one file
        assert lock_file_for(out).stat().st_size > 0
    assert lock_file_for(out).exists() and lock_file_for(out).stat().st_size == 0
    assert not out.exists()
    with JobLock([out]):  # free again
        pass


def test_output_and_dead_letter_are_locked_together_or_not_at_all(
    tmp_path: Path, holders: list[Holder]
) -> None:
    shared_dead_letter = tmp_path / "failed.jsonl"
    holders.append(Holder(tmp_path / "a.jsonl", shared_dead_letter))
    with pytest.raises(OutputLockedError, match=r"failed\.jsonl is being written"):
        JobLock([tmp_path / "b.jsonl", shared_dead_letter]).acquire()
    with JobLock([tmp_path / "b.jsonl"]):  # the refused job let go of what it had taken
        pass
