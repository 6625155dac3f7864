"""Two ``extractly run`` processes on one machine: combined rows/s against one process alone.

The job is the SNIPS router of ``benchmarks/etl.py`` (intent as an enum, one worked example per
intent) over the same rows. For each idle-thread policy it runs the real command alone, then two
copies started together, each on all cores (the default thread count), and reports:

* alone rows/s, and combined rows/s of the pair (rows of both / wall time until both finish) as
  a ratio of it (the issue asks for >= 0.8);
* each process's share of the pair's rate (>= 1/3: nobody starved);
* whether the contention warning was printed (it should be in the pair, not alone).

Policies: ``default`` is what extractly sets (``GOMP_SPINCOUNT=1000``: spin briefly, then
sleep); ``passive`` sleeps at once (``OMP_WAIT_POLICY=PASSIVE``); ``spin`` is the behaviour
before (``GOMP_SPINCOUNT=300000``, libgomp's own default), run on fewer rows because a spinning
pair crawls. Every run starts the process cold (model load and
constraint compile included), as a user's job does.

    python benchmarks/contention.py [--rows 500] [--spin-rows 60] [--out FILE.json]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.etl import build_input

ROOT = Path(__file__).resolve().parents[1]
WARNING = "the CPU is contended"
POLICIES = {
    "default": {},
    "passive": {"OMP_WAIT_POLICY": "PASSIVE"},
    "spin": {"GOMP_SPINCOUNT": "300000"},
}


def start(schema: Path, rows: Path, out: Path, policy: dict[str, str]) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
    env.update(policy, PYTHONPATH=str(ROOT))
    return subprocess.Popen(
        [sys.executable, "-m", "extractly.cli", "run", str(schema), str(rows), "-o", str(out)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def run_together(
    schema: Path, rows: Path, folder: Path, tag: str, copies: int, policy: dict[str, str]
) -> dict[str, Any]:
    """Start ``copies`` processes at once; rows/s of each and of all together."""
    began = time.perf_counter()
    outs = [folder / f"{tag}-{i}.jsonl" for i in range(copies)]
    procs = [start(schema, rows, out, policy) for out in outs]
    each: list[dict[str, Any]] = []
    for proc, out in zip(procs, outs, strict=True):
        _, stderr = proc.communicate()
        seconds = time.perf_counter() - began
        if proc.returncode != 0:
            raise SystemExit(f"extractly run failed ({tag}): {stderr}")
        n = len(out.read_text().splitlines())
        each.append({
            "rows": n, "seconds": round(seconds, 1), "rows_per_s": n / seconds,
            "warned": WARNING in stderr,
            "warning": next((ln for ln in stderr.splitlines() if WARNING in ln), None),
        })  # fmt: skip
    wall = time.perf_counter() - began
    total = sum(e["rows"] for e in each)
    rates = [e["rows_per_s"] for e in each]
    return {
        "copies": copies,
        "wall_seconds": round(wall, 1),
        "combined_rows_per_s": total / wall,
        "min_share": min(rates) / sum(rates),
        "processes": each,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=500)
    parser.add_argument("--spin-rows", type=int, default=60, help="rows for the spin policy")
    parser.add_argument("--out", default="benchmarks/results/contention.json")
    args = parser.parse_args(argv)
    results: dict[str, Any] = {"cores": len(os.sched_getaffinity(0)), "policies": {}}
    print(
        f"{'policy':>6} {'rows':>5} {'alone r/s':>9} {'pair r/s':>9} {'ratio':>6} "
        f"{'min share':>9} {'warned alone':>12} {'warned pair':>11}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for name, policy in POLICIES.items():
            n_rows = args.spin_rows if name == "spin" else args.rows
            schema, rows, _ = build_input(folder, n_rows)
            alone = run_together(schema, rows, folder, f"{name}-alone", 1, policy)
            pair = run_together(schema, rows, folder, f"{name}-pair", 2, policy)
            ratio = pair["combined_rows_per_s"] / alone["combined_rows_per_s"]
            results["policies"][name] = {
                "env": policy, "rows": n_rows, "alone": alone, "pair": pair, "ratio": ratio,
            }  # fmt: skip
            warned_pair = sum(p["warned"] for p in pair["processes"])
            print(
                f"{name:>6} {n_rows:>5} {alone['combined_rows_per_s']:>9.2f} "
                f"{pair['combined_rows_per_s']:>9.2f} {ratio:>6.2f} {pair['min_share']:>9.2f} "
                f"{alone['processes'][0]['warned']!s:>12} {warned_pair:>9}/2",
                flush=True,
            )
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
