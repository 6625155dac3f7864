"""Sharing the CPU: the one thread-count rule, the idle-thread policy, and the warning that
appears when another busy process shares the cores (and only then).

The contention test runs real decoding in a subprocess, first alone, then beside two processes
that keep both cores busy, and reads the warning from its stderr.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from extractly.settings import THREADS_ENV, available_cores, thread_count

ROOT = Path(__file__).resolve().parents[1]
WARNING = "the CPU is contended"
ALONE_SECONDS = 4
SHARED_SECONDS = 8
"""Decoding beside busy neighbours: the warning needs two contended 3-second windows."""


def test_thread_count_prefers_the_argument_then_the_environment_then_the_cores(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(THREADS_ENV, raising=False)
    assert thread_count() == available_cores()
    monkeypatch.setenv(THREADS_ENV, "1")
    assert thread_count() == 1
    assert thread_count(3) == 3
    assert thread_count(fallback=2) == 1  # the environment before a scheduler's reservation
    monkeypatch.delenv(THREADS_ENV)
    assert thread_count(fallback=2) == 2


@pytest.mark.parametrize("bad", ["0", "-2", "two"])
def test_a_bad_thread_setting_says_what_to_set(monkeypatch: pytest.MonkeyPatch, bad: str) -> None:
    monkeypatch.setenv(THREADS_ENV, bad)
    with pytest.raises(ValueError, match=f"{THREADS_ENV}.*unset it or set it to 1"):
        thread_count()
    with pytest.raises(ValueError, match="positive"):
        thread_count(-1)


def _decode_for(seconds: float, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tests.support.decode_for", str(seconds)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=True,
    )


def test_idle_threads_sleep_soon_unless_the_user_chose_a_policy() -> None:
    script = (
        "import os; from extractly.engine.llama import load_model; "
        "from extractly.model_files import resolve_model_path; "
        "load_model(resolve_model_path()); "
        "print(os.environ.get('GOMP_SPINCOUNT'), os.environ.get('OMP_WAIT_POLICY'))"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
    run = [sys.executable, "-c", script]
    assert subprocess.run(run, cwd=ROOT, env=env, capture_output=True, text=True,
                          check=True).stdout.split() == ["1000", "None"]
    chosen = subprocess.run(run, cwd=ROOT, env={**env, "OMP_WAIT_POLICY": "ACTIVE"},
                            capture_output=True, text=True, check=True)
    assert chosen.stdout.split() == ["None", "ACTIVE"]


def test_the_contention_warning_appears_once_when_the_cores_are_shared_and_not_alone() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    alone = _decode_for(ALONE_SECONDS, env)
    assert WARNING not in alone.stderr, alone.stderr
    burners = [
        subprocess.Popen([sys.executable, "-c", "while True: pass"])
        for _ in range(available_cores())
    ]
    try:
        shared = _decode_for(SHARED_SECONDS, env)
    finally:
        for burner in burners:
            burner.kill()
            burner.wait()
    assert shared.stderr.count(WARNING) == 1, shared.stderr
    assert "waited for a core" in shared.stderr
    assert "fewer threads" in shared.stderr and THREADS_ENV in shared.stderr
    # the neighbours took about half the CPU: fewer documents a second got through than alone
    assert int(shared.stdout) / SHARED_SECONDS < int(alone.stdout) / ALONE_SECONDS
