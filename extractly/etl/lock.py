"""One writer per output: the exclusive lock a batch job holds on the files it writes.

``extractly run`` appends to its output and dead-letter files, and with ``--resume`` it cuts a
torn last line and skips the ids already there. That is safe for one job at a time only: two
jobs appending to one file write rows twice. ``JobLock`` makes it one at a time. For each file a
job will write, it takes an exclusive ``flock`` on a sidecar file next to it (``out.jsonl`` ->
``out.jsonl.lock``) without waiting, before any of those files is opened. When another process
holds one, it raises ``OutputLockedError`` naming that process, and the refused job has written
nothing (not even the repair of a torn line).

Why it is built this way:

- ``flock`` belongs to the open file, so the kernel releases it when the holder ends in any way,
  ``kill -9`` included: there is never a stale lock to clean up. The descriptor is not
  inheritable (PEP 446), so the processes a job starts (``--workers``, spawned) never hold it:
  the lock is the job's, taken once by the parent. (A child made by a bare ``os.fork()`` would
  share it; the job never forks.)
- A sidecar file rather than the output itself: ``--retry-failed`` replaces the dead-letter
  file by a rename, which would leave the lock on the replaced file.
- Paths are resolved first (symlinks, ``..``, the working directory), so every way of naming
  one file leads to one lock file. Two hard links to one file are not detected.
- The lock file is never deleted. Deleting a locked file lets two jobs hold "the" lock at once:
  a job that opened the old file just before it was deleted locks it, while the next one creates
  a new file under the same name and locks that. The file stays, empty when no job holds it.
- After taking the lock, the holder writes one JSON line into the lock file (pid, host, start
  time, command), which a refused job shows in its message. The record is only for that
  message: what decides is the ``flock``, never whether the file exists or what it says, so the
  record a killed job leaves behind is harmless.
- All or nothing, in the order given (the output first, so that is the file a refusal names):
  if any file is held, the locks already taken are released. Two jobs sharing only a dead-letter
  file therefore cannot both run.

Not here: what a job writes (``job.py``, ``sink.py``). POSIX only (``fcntl``). On NFS, Linux
emulates ``flock`` with byte-range locks, which hold across hosts when the server supports
locking; the record names the host for that case.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shlex
import socket
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import OutputLockedError

LOCK_SUFFIX = ".lock"
RECORD_WAIT_SECONDS = 0.5
"""How long a refused job waits for the holder's record (written just after it locks)."""


def lock_file_for(path: str | os.PathLike[str]) -> Path:
    """The lock file of ``path``: ``NAME.lock`` next to the file ``path`` resolves to."""
    real = Path(path).resolve()
    return real.with_name(real.name + LOCK_SUFFIX)


@dataclass(frozen=True)
class LockHolder:
    """Who holds a lock, as recorded in the lock file."""

    pid: int
    host: str
    started: float
    """Seconds since the epoch."""
    command: str

    @classmethod
    def this_process(cls) -> LockHolder:
        return cls(os.getpid(), socket.gethostname(), time.time(), shlex.join(sys.orig_argv))

    def to_line(self) -> bytes:
        record = {
            "pid": self.pid,
            "host": self.host,
            "started": self.started,
            "started_at": _local_time(self.started),
            "command": self.command,
        }
        return (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8")

    @classmethod
    def from_line(cls, data: bytes) -> LockHolder | None:
        """The record on the first line of ``data``; ``None`` if there is none (yet)."""
        try:
            raw: Any = json.loads(data.split(b"\n", 1)[0])
            holder = cls(raw["pid"], raw["host"], raw["started"], raw["command"])
        except (ValueError, KeyError, TypeError):
            return None
        if not isinstance(holder.pid, int) or not isinstance(holder.started, int | float):
            return None
        return holder

    def is_plausible(self) -> bool:
        """False for the record of a process of this host that has ended (a killed holder's
        record, still there while the new holder is about to replace it)."""
        if self.host != socket.gethostname():
            return True
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:  # alive, another user's
            return True
        return True

    def describe(self, now: float) -> str:
        return (
            f"pid {self.pid} on host {self.host}, started {_local_time(self.started)} "
            f"({_age(now - self.started)} ago), running: {self.command}"
        )


class JobLock:
    """Exclusive, non-waiting locks on the files one job writes; a context manager.

    ``JobLock([output, dead_letter])`` locks both or raises ``OutputLockedError`` (holding
    nothing); leaving the ``with`` block, or the process ending, releases them.
    """

    def __init__(self, paths: Iterable[str | os.PathLike[str]]) -> None:
        by_lock: dict[Path, Path] = {}
        for path in paths:
            by_lock.setdefault(lock_file_for(path), Path(path))  # one lock per resolved file
        self.files = list(by_lock.items())
        """(lock file, the path as first given) for each file, in locking order."""
        self._fds: list[int] = []

    def acquire(self) -> None:
        try:
            for lock_file, path in self.files:
                fd = _take(lock_file, path)
                self._fds.append(fd)
                _write_record(fd, LockHolder.this_process().to_line())
        except BaseException:
            self.release()
            raise

    def release(self) -> None:
        while self._fds:
            fd = self._fds.pop()
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)  # still held here, so no reader sees half a record
            os.close(fd)  # releases the flock

    def __enter__(self) -> JobLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _take(lock_file: Path, path: Path) -> int:
    """Open ``lock_file`` and lock it without waiting; its descriptor, or an error."""
    try:
        lock_file.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(lock_file, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise OSError(
            exc.errno,
            f"cannot create the lock file {lock_file} for {path} ({exc.strerror}); a job "
            "locks each file it writes with a file next to it: choose an output in a "
            "directory you can write to",
        ) from exc
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise _locked_error(path, lock_file) from None
    except OSError as exc:
        os.close(fd)
        raise OSError(
            exc.errno,
            f"cannot lock {lock_file} ({exc.strerror}); the file system of {path} may not "
            "support file locks: choose an output on a local disk",
        ) from exc
    return fd


def _write_record(fd: int, data: bytes) -> None:
    # Overwrite, then cut: a reader sees the new first line, or the old one, never nothing.
    os.pwrite(fd, data, 0)
    os.ftruncate(fd, len(data))


def _locked_error(path: Path, lock_file: Path) -> OutputLockedError:
    holder = _read_holder(lock_file)
    if holder is None:
        who = f"a process whose record in {lock_file} could not be read"
        stop = "stop it"
    else:
        who = holder.describe(time.time())
        stop = f"stop it (kill {holder.pid} on host {holder.host})"
    return OutputLockedError(
        f"{path} is being written by another extractly job: {who}. This job wrote nothing. "
        f"Wait for that job to finish, {stop} and rerun with --resume to continue from what "
        f"it wrote, or choose another output path. Do not delete {lock_file}: the lock is "
        "the OS's, not the file's, and is released as soon as that process ends, however "
        "it ends.",
        path=str(path),
        lock_file=str(lock_file),
        pid=None if holder is None else holder.pid,
    )


def _read_holder(lock_file: Path) -> LockHolder | None:
    """The holder's record. The holder writes it just after it locks, so for a moment the file
    may be empty or still hold a former holder's record: look again for a short while."""
    deadline = time.monotonic() + RECORD_WAIT_SECONDS
    while True:
        try:
            holder = LockHolder.from_line(lock_file.read_bytes()[:65536])
        except OSError:
            holder = None
        if (holder is not None and holder.is_plausible()) or time.monotonic() >= deadline:
            return holder
        time.sleep(0.02)


def _local_time(epoch: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(epoch))


def _age(seconds: float) -> str:
    seconds = max(0.0, seconds)
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
