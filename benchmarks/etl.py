"""Rows/s of ``extractly run`` over 1,000 SNIPS rows with 1 and 2 worker processes.

The job is the router step of a pipeline: one schema (the SNIPS intent as an enum, one worked
example per intent) over every row. Rows are the 700 SNIPS test documents plus the first 300
training documents (intents interleaved) not used as examples. Each configuration runs the real
command in a subprocess, start-up (model load, constraint compile) included, and the outputs of
the configurations are compared.

    python benchmarks/etl.py [--rows 1000] [--workers 1,2]
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

from benchmarks.datasets import load_split, pick_examples
from benchmarks.throughput import INTENTS, ROUTER_SCHEMA

ROOT = Path(__file__).resolve().parents[1]


def build_input(folder: Path, n_rows: int) -> tuple[Path, Path, dict[str, str]]:
    train = load_split("train", "snips")
    shots = {r.id for name in INTENTS for r in pick_examples(train, name, 1)}
    schema = dict(ROUTER_SCHEMA)
    schema["x-extractly-examples"] = [
        {"text": r.text, "output": {"intent": r.schema}}
        for name in INTENTS
        for r in pick_examples(train, name, 1)
    ]
    by_intent = [[r for r in train if r.schema == name and r.id not in shots] for name in INTENTS]
    interleaved = [r for group in zip(*by_intent, strict=False) for r in group]
    rows = (load_split("test", "snips") + interleaved)[:n_rows]
    schema_path = folder / "router.json"
    schema_path.write_text(json.dumps(schema))
    input_path = folder / "rows.jsonl"
    with input_path.open("w") as f:
        for r in rows:
            f.write(json.dumps({"id": r.id, "text": r.text}) + "\n")
    return schema_path, input_path, {r.id: r.schema for r in rows}


def run(schema: Path, rows: Path, out: Path, workers: int) -> dict[str, Any]:
    command = [
        sys.executable, "-m", "extractly.cli", "run", str(schema), str(rows),
        "-o", str(out), "--workers", str(workers),
    ]  # fmt: skip
    start = time.perf_counter()
    done = subprocess.run(
        command, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True
    )
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"extractly run failed: {done.stderr}")
    records = [json.loads(line) for line in out.read_text().splitlines()]
    failed = out.with_name(out.name + ".failed.jsonl")
    n_failed = len(failed.read_text().splitlines()) if failed.exists() else 0
    return {
        "workers": workers,
        "rows": len(records) + n_failed,
        "ok": len(records),
        "failed": n_failed,
        "wall_seconds": round(seconds, 1),
        "rows_per_s": round((len(records) + n_failed) / seconds, 2),
        "summary": done.stderr.strip().splitlines()[-1],
        "outputs": {r["id"]: r["output"]["intent"] for r in records},
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--out", default="benchmarks/results/etl.json")
    args = parser.parse_args(argv)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        schema, rows, gold = build_input(folder, args.rows)
        print(
            f"{'workers':>7} {'rows':>6} {'failed':>6} {'wall s':>8} {'rows/s':>8} {'accuracy':>8}"
        )
        for workers in [int(w) for w in args.workers.split(",")]:
            r = run(schema, rows, folder / f"out{workers}.jsonl", workers)
            r["intent_accuracy"] = round(
                sum(gold[i] == v for i, v in r["outputs"].items()) / max(1, len(gold)), 3
            )
            print(
                f"{r['workers']:>7} {r['rows']:>6} {r['failed']:>6} {r['wall_seconds']:>8.1f} "
                f"{r['rows_per_s']:>8.2f} {r['intent_accuracy']:>8.3f}",
                flush=True,
            )
            results.append(r)
    same = all(r["outputs"] == results[0]["outputs"] for r in results)
    print(f"outputs identical across worker counts: {same}")
    for r in results:
        del r["outputs"]
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps({"runs": results, "identical": same, "cores": os.cpu_count()}, indent=2)
    )
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
