"""Labels a schema tune needs when it starts from the general adapter (issue 21, acceptance 3):
tunes from the base model with ``--from-base`` labels (300) against tunes started from the
general adapter (``TuneConfig.start_from``) with fewer labels, scored on the test split.

    python benchmarks/general_start.py --adapter DIR/adapter.gguf --sets snips \\
        --schemas GetWeather [--from-base 300,100] [--from-general 25,50,100] [--test 100] \\
        [--source usaddress=usaddress-test]

For each schema, in this process and one after the other: the labels are the first N of one
seeded shuffle of the train split (so the 50 include the 25); every tune uses the settings
chosen from its data (``extractly tune``'s defaults, budget included), and every adapter is
scored on the same test records as ``benchmarks/accuracy.py`` scores (slot micro F1, field
accuracy). The general adapter's prompt (instructions and field list) makes each step of a tune
from it slower, so under the default 14-minute budget it may finish fewer steps of the same
planned schedule; ``--budget none`` gives every tune its whole schedule. The general adapter
itself (zero labels) is scored beside them. The adapter must have been trained without the set
(its manifest lists it as left out); the benchmark refuses it otherwise. Tunes go to a
temporary folder, nothing is registered. Writes ``benchmarks/results/general_start.json``
after every tune, so a killed run keeps its rows.

Choosing a setting without looking at the test split: ``--dev N`` scores the general adapter
and every tune with at most the general tunes' labels also on the N train records after those
labels in the same shuffle (which no such tune saw), and ``--general-learning-rate
2e-3,1e-3`` tunes from the general adapter once per learning rate (default: the tune's own
choice), so a choice made on the dev records can then be read on the test records.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

if __package__ in (None, ""):
    sys.path[0] = str(Path(__file__).resolve().parents[1])

from benchmarks.accuracy import score
from benchmarks.datasets import Record, load_schemas, load_split
from benchmarks.general_adapter import left_out_sets, parse_sources, scored_records
from extractly import Extractor
from extractly.tune import TuneConfig, tune
from extractly.tune.plan import parse_budget


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--adapter", type=Path, required=True, help="the general adapter.gguf")
    ap.add_argument("--sets", default="snips")
    ap.add_argument("--schemas", default="", help="only these schema names (comma-separated)")
    ap.add_argument("--from-base", default="300",
                    help="label counts of the tunes started from the base model (300; add "
                         "100 for the control at the general tunes' size)")
    ap.add_argument("--from-general", default="25,50,100",
                    help="label counts of the tunes started from the general adapter")
    ap.add_argument("--test", type=int, default=None, help="test records per schema (all)")
    ap.add_argument("--source", default="",
                    help="score only this source file of a set, e.g. usaddress=usaddress-test")
    add_budget_option(ap)
    ap.add_argument("--general-learning-rate", default="",
                    help="learning rates of the tunes from the general adapter, comma-separated "
                         "(default: the tune's own choice)")
    ap.add_argument("--dev", type=int, default=0,
                    help="also score every adapter on this many train records no tune saw")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default="benchmarks/results/general_start.json")
    args = ap.parse_args(argv)
    manifest = json.loads(args.adapter.with_name("manifest.json").read_text())
    sets = left_out_sets(ap, manifest, args.sets)
    only = set(filter(None, args.schemas.split(",")))
    source = parse_sources(args.source)
    base_sizes = [int(n) for n in args.from_base.split(",") if n]
    sizes = [int(n) for n in args.from_general.split(",") if n]
    rates: list[float | None] = [float(x) for x in args.general_learning_rate.split(",") if x]
    budget = budget_of(ap, args.budget)
    work = Path(tempfile.mkdtemp(prefix="extractly-general-start-"))
    rows: list[dict[str, Any]] = []
    for dataset in sets:
        train, test = load_split("train", dataset), scored_records(ap, dataset, source)
        for name, schema in load_schemas(dataset).items():
            if only and name not in only:
                continue
            pool = [r for r in train if r.schema == name]
            random.Random(f"{args.seed}:{name}").shuffle(pool)
            records = [r for r in test if r.schema == name][: args.test]
            seen = max([*sizes, 0])
            dev = pool[seen : seen + args.dev]
            if len(dev) < args.dev:
                ap.error(f"{name}: --dev {args.dev} needs {seen + args.dev} train records, "
                         f"the split has {len(pool)}")
            row: dict[str, Any] = {"set": dataset, "schema": name, "test": len(records),
                                   "dev": len(dev), "points": []}
            row["points"].append({"start": "general", "labels": 0} | _scores(
                schema, args.adapter, records, dev))
            plan: list[tuple[str, int, float | None]] = [
                *(("base", n, None) for n in base_sizes),
                *(("general", n, rate) for n in sizes for rate in rates or [None])]
            for start, labels, rate in plan:
                unseen = dev if labels <= seen else []  # a larger base tune trained on them
                row["points"].append(_tune_and_score(
                    schema, name, pool[:labels], (records, unseen), start, args.adapter, work,
                    budget, rate))
                _write(Path(args.out), [*rows, row])
            rows.append(row)
            _print(row)
    _write(Path(args.out), rows)
    print(f"wrote {args.out}")
    return 0


def add_budget_option(ap: argparse.ArgumentParser) -> None:
    """``--budget``, each tune's time budget (read it with ``budget_of``)."""
    ap.add_argument("--budget", default="auto",
                    help="each tune's time budget: auto (the tune default, which cuts a slow "
                         "tune's schedule short), none, or a duration such as 40m")


def budget_of(ap: argparse.ArgumentParser, text: str) -> float | Literal["auto"] | None:
    """``--budget`` as ``TuneConfig.budget``; ``ap.error`` on a duration it cannot read."""
    if text == "auto":
        return "auto"
    try:
        return parse_budget(text)
    except ValueError as exc:
        ap.error(str(exc))


def _tune_and_score(schema: dict[str, Any], name: str, labelled: Sequence[Record],
                    scored: tuple[Sequence[Record], Sequence[Record]], start: str,
                    general: Path, work: Path, budget: float | Literal["auto"] | None,
                    learning_rate: float | None) -> dict[str, Any]:
    folder = work / f"{name}-{start}-{len(labelled)}-{learning_rate or 'default'}"
    folder.mkdir(parents=True)
    data = folder / "train.jsonl"
    data.write_text("".join(json.dumps({"text": r.text, "output": r.gold}) + "\n"
                            for r in labelled))
    config = TuneConfig(start_from=str(general) if start == "general" else None, budget=budget,
                        learning_rate=learning_rate)
    started = time.monotonic()
    result = tune(schema, data, out_dir=folder / "out", config=config, register_adapter=False,
                  progress=None)
    seconds = time.monotonic() - started
    point = {"start": start, "labels": len(labelled), "tune_seconds": round(seconds, 1),
             "steps": result.manifest["metrics"]["steps"],
             "epochs": _chosen(result.manifest, "epochs"),
             "learning_rate": _chosen(result.manifest, "learning_rate"),
             "budget": _chosen(result.manifest, "budget")} | _scores(
                 schema, result.adapter, *scored)
    dev = f", dev {point['dev']['slot_f1']:.3f}" if "dev" in point else ""
    print(f"{name} from {start} with {len(labelled)} labels, learning rate "
          f"{point['learning_rate']}: slot F1 {point['slot_f1']:.3f}{dev} ({seconds:.0f} s tune)",
          file=sys.stderr, flush=True)
    return point


def _scores(schema: dict[str, Any], adapter: Path, records: Sequence[Record],
            dev: Sequence[Record]) -> dict[str, Any]:
    """``adapter``'s scores on the test ``records``, and under ``dev`` on the dev records."""
    with Extractor(schema, adapter=adapter) as ex:
        tested, _ = score(ex, records, schema)
        out: dict[str, Any] = tested.summary()
        if dev:
            out["dev"] = score(ex, dev, schema)[0].summary()
    return out


def _chosen(manifest: dict[str, Any], setting: str) -> Any:
    """The value the tune's plan chose for ``setting`` (its manifest's ``plan.choices``)."""
    return next((c["value"] for c in manifest["plan"]["choices"] if c["setting"] == setting),
                None)


def _write(out: Path, rows: list[dict[str, Any]]) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    tmp.write_text(json.dumps({"benchmark": "general_start", "rows": rows}, indent=1))
    tmp.replace(out)


def _print(row: dict[str, Any]) -> None:
    print(f"\n{row['set']}/{row['schema']} ({row['test']} test records)")
    print(f"  {'start':<8} {'labels':>6} {'lr':>7} {'slot F1':>8} {'field acc':>9} "
          f"{'dev F1':>7} {'tune s':>7} {'steps':>5}")
    for p in row["points"]:
        dev = p["dev"]["slot_f1"] if "dev" in p else float("nan")
        print(f"  {p['start']:<8} {p['labels']:>6} {p.get('learning_rate') or '':>7} "
              f"{p['slot_f1']:>8.3f} {p.get('field_accuracy', float('nan')):>9.3f} {dev:>7.3f} "
              f"{p.get('tune_seconds', 0):>7.0f} {p.get('steps', 0):>5}")


if __name__ == "__main__":
    sys.exit(main())
