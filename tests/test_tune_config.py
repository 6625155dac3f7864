"""``extractly.tune.config`` and the prompt frame the tune manifest names. Pure."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from extractly.prompt import Prompt, document_frame
from extractly.tune import PROMPT_TEMPLATE, TuneConfig
from extractly.tune.config import stderr_progress

ROOT = Path(__file__).resolve().parents[1]


def test_the_frame_is_written_once_and_unchanged() -> None:
    assert document_frame("x") == "Text: x\nJSON:\n"
    assert Prompt(prefix=()).document("x") == ("Text: x\nJSON:\n",)
    assert Prompt(prefix=()).reask("x", " {} ", "bad")[0] == "Text: x\nJSON:\n"
    assert PROMPT_TEMPLATE == "BOS + 'Text: <text>\\nJSON:\\n'"  # as in earlier manifests


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
