"""Print extractly's requirements for the given extras, one per line, without llama-cpp-python.

scripts/bootstrap.sh installs these while llama-cpp-python compiles (which it must build with
its own flags, so pip must never resolve it from here). Usage: dependencies.py dev,server
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

try:
    import tomllib
except ImportError:  # Python 3.10: the copy pip vendors
    from pip._vendor import tomli as tomllib  # type: ignore[no-redef]

BUILT_BY_BOOTSTRAP = "llama-cpp-python"


def requirements(pyproject: Path, extras: list[str]) -> list[str]:
    project = tomllib.loads(pyproject.read_text("utf-8"))["project"]
    optional: dict[str, list[str]] = project.get("optional-dependencies", {})
    unknown = [extra for extra in extras if extra not in optional]
    if unknown:
        raise SystemExit(f"unknown extras {unknown}; pyproject.toml has {sorted(optional)}")
    listed = list(project["dependencies"])
    for extra in extras:
        listed += optional[extra]
    return [req for req in listed if _name(req) != BUILT_BY_BOOTSTRAP]


def _name(requirement: str) -> str:
    match = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", requirement)
    assert match, requirement
    return re.sub(r"[-_.]+", "-", match.group(0)).lower()


if __name__ == "__main__":
    chosen = [extra for extra in (sys.argv[1] if len(sys.argv) > 1 else "").split(",") if extra]
    print("\n".join(requirements(Path(__file__).resolve().parents[1] / "pyproject.toml", chosen)))
