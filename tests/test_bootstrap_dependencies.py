"""scripts/dependencies.py: what bootstrap.sh installs while llama-cpp-python compiles. It must
list every other requirement of the chosen extras and never llama-cpp-python, which pip would
otherwise build with default flags (unsafe on CPUs that report AMX but forbid it)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

try:
    import tomllib
except ImportError:  # Python 3.10
    from pip._vendor import tomli as tomllib  # type: ignore[no-redef]

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "dependencies.py"


def _listed(extras: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SCRIPT), extras], capture_output=True, text=True)


def test_every_requirement_but_llama_cpp_python_is_listed() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]
    expected = project["dependencies"] + project["optional-dependencies"]["dev"] + project[
        "optional-dependencies"]["tune"]
    done = _listed("dev,tune")
    assert done.returncode == 0, done.stderr
    listed = done.stdout.splitlines()
    assert [r for r in expected if not r.startswith("llama-cpp-python")] == listed
    assert any(r.startswith("llama-cpp-python") for r in expected)
    assert not any("llama-cpp-python" in r or "llama_cpp_python" in r for r in listed)


def test_an_unknown_extra_is_refused_with_the_known_ones() -> None:
    done = _listed("dev,gpu")
    assert done.returncode != 0 and done.stdout == ""
    assert "unknown extras ['gpu']" in done.stderr and "'tune'" in done.stderr
