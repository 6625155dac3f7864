"""Being a good neighbour on a shared CPU, and saying so when the CPU is shared.

Two jobs, both process-wide:

* ``quiet_idle_threads`` runs before llama.cpp is loaded. This build of ggml runs its threads
  through OpenMP (libgomp), whose waiting threads by default spin for 300,000 rounds at every
  barrier before they sleep. ggml meets at a barrier after each operation, hundreds of times a
  decode step, so a process whose threads spin keeps the cores busy while it waits for its own
  descheduled thread: two such processes on two cores together did 0.56-0.67x of what one
  did alone. ``GOMP_SPINCOUNT=1000`` spins a few microseconds, long enough to catch a partner
  that is running, then sleeps. Measured on a 2-core VM, in the same runs (see the README):
  ``OMP_WAIT_POLICY=PASSIVE`` (sleep at once) shares the CPU best but costs about 16% alone at
  batch 1; 1,000 rounds costs about 6% alone (within this VM's run-to-run noise) and two
  processes together still do as much as one alone or more. The user's own ``OMP_WAIT_POLICY``
  or ``GOMP_SPINCOUNT`` always wins. libgomp reads them once, when it is loaded: setting them
  later in the process has no effect, so this must run before ``import llama_cpp``.

* ``ContentionWatch`` times every ``llama_decode`` and, once per process, logs a warning (the
  ``extractly`` logger; Python prints warnings to stderr when no logging is configured) when the
  CPU is contended: over two consecutive windows of a few seconds, this process's threads
  spent a large share of their runnable time waiting for a core (Linux
  ``/proc/self/task/*/schedstat``), and its steps ran slower than the best this machine has
  recorded for the same model, thread count and batch width (``<cache>/step-times.json``, kept
  as a running minimum). Where ``schedstat`` is missing, a step time far above the recorded
  best is the evidence on its own.

Not here: choosing the thread count (``extractly.settings.thread_count``).
"""

from __future__ import annotations

import json
import logging
import os
import statistics
import threading
import time
from pathlib import Path

from ..model_files import cache_dir
from ..settings import THREADS_ENV, available_cores

log = logging.getLogger("extractly")

WAIT_POLICY_ENV = "OMP_WAIT_POLICY"
SPIN_COUNT_ENV = "GOMP_SPINCOUNT"

WINDOW_SECONDS = 3.0
"""Decode wall time gathered before the evidence is judged."""
MIN_STEPS = 12
WAIT_SHARE = 0.25
"""Share of runnable time spent waiting for a core above which the CPU counts as contended."""
WINDOWS = 2
"""Consecutive contended windows before the warning: a short burst elsewhere is not worth one."""
SLOWDOWN = 1.5
"""With a wait share above ``WAIT_SHARE``: steps this much slower than the recorded best."""
SLOWDOWN_WITHOUT_SCHEDSTAT = 3.0
"""Without scheduler statistics: steps this much slower than the recorded best."""
MAX_KEYED_TOKENS = 16
"""Steps wider than this (prompt evaluation) vary with the prompt; they are not calibrated."""


SPIN_COUNT = "1000"
"""Rounds an OpenMP thread spins at a barrier before it sleeps (libgomp's default: 300,000)."""


def quiet_idle_threads() -> None:
    """Make llama.cpp's waiting OpenMP threads sleep soon instead of spin, unless the user chose."""
    if WAIT_POLICY_ENV not in os.environ and SPIN_COUNT_ENV not in os.environ:
        os.environ[SPIN_COUNT_ENV] = SPIN_COUNT


def _scheduler_times() -> tuple[int, int] | None:
    """(ns running, ns waiting for a core) summed over this process's threads, or None."""
    running = waiting = 0
    try:
        tasks = os.listdir("/proc/self/task")
    except OSError:
        return None
    for tid in tasks:
        try:
            with open(f"/proc/self/task/{tid}/schedstat", encoding="ascii") as f:
                fields = f.read().split()
        except OSError:  # the thread ended between listdir and open
            continue
        if len(fields) >= 2:
            running += int(fields[0])
            waiting += int(fields[1])
    return (running, waiting) if running else None


class StepTimes:
    """Best decode-step seconds seen on this machine, per (model, threads, tokens in the step)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.best: dict[str, float] = {}
        self._dirty = False
        try:
            loaded = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(loaded, dict):
                self.best = {k: float(v) for k, v in loaded.items() if isinstance(v, int | float)}
        except (OSError, ValueError):
            pass

    def update(self, key: str, seconds: float) -> float | None:
        """Record ``seconds``; return the best before this sample (None if first)."""
        previous = self.best.get(key)
        if previous is None or seconds < previous:
            self.best[key] = seconds
            self._dirty = True
        return previous

    def save(self) -> None:
        """Merge with what other processes wrote and keep the minimum of each; best effort."""
        if not self._dirty:
            return
        merged = dict(self.best)
        try:
            other = json.loads(self.path.read_text(encoding="utf-8"))
            if isinstance(other, dict):
                for k, v in other.items():
                    if isinstance(v, int | float):
                        merged[k] = min(float(v), merged.get(k, float(v)))
        except (OSError, ValueError):
            pass
        tmp = self.path.with_name(f"{self.path.name}.{os.getpid()}.tmp")
        try:
            tmp.write_text(json.dumps(merged, sort_keys=True), encoding="utf-8")
            os.replace(tmp, self.path)
            self.best = merged
            self._dirty = False
        except OSError:
            tmp.unlink(missing_ok=True)


class ContentionWatch:
    """Judges each window of decode steps; warns once per process when the CPU is contended."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._times: StepTimes | None = None
        self._window_start: float | None = None
        self._window_sched: tuple[int, int] | None = None
        self._ratios: list[float] = []
        self._steps = 0
        self._contended_windows = 0
        self.warned = False
        self.last_wait_share: float | None = None
        """Wait share of the last judged window (None before one, or without schedstat)."""

    def record(self, model: str, threads: int, tokens: int, seconds: float) -> None:
        """One ``llama_decode`` of ``tokens`` tokens on ``threads`` threads took ``seconds``."""
        with self._lock:
            now = time.monotonic()
            if self._window_start is None:
                self._window_start = now - seconds
                self._window_sched = _scheduler_times()
            if tokens <= MAX_KEYED_TOKENS:
                if self._times is None:
                    self._times = StepTimes(cache_dir() / "step-times.json")
                best = self._times.update(f"{model}|t{threads}|n{tokens}", seconds)
                if best is not None and best > 0:
                    self._ratios.append(seconds / best)
            self._steps += 1
            if now - self._window_start >= WINDOW_SECONDS and self._steps >= MIN_STEPS:
                self._judge(now, threads)

    def _judge(self, now: float, threads: int) -> None:
        wall = now - (self._window_start or now)
        sched = _scheduler_times()
        wait_share: float | None = None
        if sched is not None and self._window_sched is not None:
            ran = sched[0] - self._window_sched[0]
            waited = sched[1] - self._window_sched[1]
            if ran + waited > 0:
                wait_share = waited / (ran + waited)
        slowdown = statistics.median(self._ratios) if self._ratios else None
        self.last_wait_share = wait_share
        if wait_share is not None:
            contended = wait_share >= WAIT_SHARE and (slowdown is None or slowdown >= SLOWDOWN)
        else:
            contended = slowdown is not None and slowdown >= SLOWDOWN_WITHOUT_SCHEDSTAT
        self._contended_windows = self._contended_windows + 1 if contended else 0
        if self._contended_windows >= WINDOWS and not self.warned:
            self.warned = True
            log.warning(contention_message(wall, threads, wait_share, slowdown))
        if self._times is not None:
            self._times.save()
        self._window_start = now
        self._window_sched = sched
        self._ratios = []
        self._steps = 0


def contention_message(
    seconds: float, threads: int, wait_share: float | None, slowdown: float | None
) -> str:
    """What is happening and what to do, in one warning."""
    evidence = []
    if wait_share is not None:
        evidence.append(f"its threads waited for a core {wait_share:.0%} of the time")
    if slowdown is not None:
        evidence.append(f"decode steps took {slowdown:.1f}x this machine's best")
    cores = available_cores()
    return (
        f"extractly: the CPU is contended: over the last {seconds:.0f} s "
        f"{' and '.join(evidence)} (pid {os.getpid()}, {threads} llama.cpp threads on {cores} "
        "cores). Another busy process shares these cores, and every process slows down. "
        "To go faster: run one process and give it all the documents (Extractor.run_many, "
        "extract_many, or `extractly run --workers N` for parallel rows), or give each process "
        f"fewer threads so the total stays within {cores} (n_threads=, ${THREADS_ENV}, or "
        "--threads)."
    )


WATCH = ContentionWatch()
"""The process's watch: every llama.cpp context reports to it."""
