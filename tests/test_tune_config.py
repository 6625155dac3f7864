"""``extractly.tune.config``. Pure."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from extractly.tune import TuneConfig
from extractly.tune.config import stderr_progress

ROOT = Path(__file__).resolve().parents[1]


def test_progress_goes_to_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    stderr_progress("step 1")
    assert capsys.readouterr() == ("", "step 1\n")


def test_the_command_line_reads_tune_defaults_without_the_training_code() -> None:
    code = (
        "import sys, extractly.cli; "
        "print(sorted(m for m in ('extractly.tune.train', 'torch') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert out.stdout.strip() == "[]"
    assert TuneConfig().rank == 8
