"""Which promotion rule to use: the gate's plain lead against its strict (clear-lead) rule, judged
by what each decision does on the test split.

    python -m benchmarks.gate_rule --work /work/curves/ratebook[,/work/curves/playmusic ...] \\
        [--set snips] [--out benchmarks/results/gate_rule.json]

Reads the working folders that ``benchmarks/learning_curve.py --work DIR`` keeps (one
``SCHEMA-SELECTION/`` distill folder per selection, each with its held-out labels, every
round's adapter and that adapter's test score). Every kept adapter is scored again on its
schema's held-out slice exactly as ``distill`` scores it (the rescored F1 is printed beside
the one ``distill`` recorded, so a mismatch shows), and then every ordered pair of a schema's
adapters is put to the gate both ways: the first as the new candidate, the second as the
registered adapter. The test split says whether the decision was right: a promotion of an
adapter that scores lower on test loses F1, a refusal of one that scores higher leaves F1 on
the table. "mean test change" is the test F1 the user ends with minus what they had, over all
decisions (0 for a refusal). "more labels" repeats the count over the pairs where the candidate
was tuned on more labels than the registered adapter, the usual case of a later ``distill`` run.

Only the candidate and the registered adapter are compared (the real gate also makes the
candidate beat the shipped general adapter and the few-shot base, which every tuned adapter of
these curves beats by far).
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.datasets import load_schemas
from benchmarks.learning_curve import kept_test_score
from extractly.evaluation import EvalReport, gold_row
from extractly.teacher.gate import CANDIDATE, REGISTERED, Contender, decide, score_contenders
from extractly.teacher.job import PLAN_FILE, REPORT_FILE
from extractly.teacher.labels import LabelFiles

RULES = {"plain lead (default)": False, "clear lead (--strict-gate)": True}


@dataclass(frozen=True)
class Adapter:
    schema: str
    selection: str
    round: int
    labels: int
    test_f1: float
    held_out: EvalReport

    @property
    def name(self) -> str:
        return f"{self.schema} {self.selection} {self.labels}"


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", required=True, help="learning-curve work folders, comma-separated")
    ap.add_argument("--set", default="snips", help="the data set the curves were run on")
    ap.add_argument("--out", default="benchmarks/results/gate_rule.json")
    args = ap.parse_args(argv)
    started = time.monotonic()
    schemas = load_schemas(args.set)
    adapters: list[Adapter] = []
    for work in filter(None, args.work.split(",")):
        adapters += _scored_adapters(ap, Path(work), schemas)
    rows = [_outcome(rule, strict, pairs, subset)
            for subset, pairs in (("all", _pairs(adapters)),
                                  ("more labels", [(c, r) for c, r in _pairs(adapters)
                                                   if c.labels > r.labels]))
            for rule, strict in RULES.items()]
    _print(rows)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({
        "benchmark": "gate_rule", "work": args.work, "seconds": round(time.monotonic() - started),
        "adapters": [{"name": a.name, "round": a.round, "labels": a.labels,
                      "test_f1": a.test_f1, "held_out_f1": a.held_out.micro.f1}
                     for a in adapters],
        "rows": rows,
    }, indent=1))
    print(f"wrote {out}")
    return 0


def _scored_adapters(ap: argparse.ArgumentParser, work: Path,
                     schemas: dict[str, Any]) -> list[Adapter]:
    """Every round adapter kept in ``work``'s distill folders, scored on its held-out slice."""
    folders = sorted(p.parent for p in work.glob(f"*/{PLAN_FILE}"))
    if not folders:
        ap.error(f"{work}: no distill folders (SCHEMA-SELECTION/{PLAN_FILE}); give a folder "
                 "that benchmarks/learning_curve.py --work wrote")
    adapters = []
    held_ids: dict[str, list[str]] = {}
    for folder in folders:
        name, _, selection = folder.name.rpartition("-")
        if name not in schemas:
            ap.error(f"{folder}: schema {name!r} is not in the {len(schemas)} schemas of this "
                     "--set; give the set the curve was run on")
        plan = json.loads((folder / PLAN_FILE).read_text(encoding="utf-8"))
        ids = held_ids.setdefault(name, plan["held_out"])
        if ids != plan["held_out"]:
            ap.error(f"{folder}: its held-out slice is not its schema's other folders' "
                     "(made with another seed?); pairs need one slice")
        with LabelFiles(folder) as files:
            gold = [gold_row(r, f"{files.path}: id {r['id']}") for r in files.labelled(ids)]
        recorded = json.loads((folder / REPORT_FILE).read_text(encoding="utf-8"))["rounds"]
        for done in recorded:
            adapter = folder / f"round-{done['round']}" / "adapter" / Path(done["adapter"]).name
            test = kept_test_score(adapter)
            if test is None:  # a run killed before it scored this round on test
                print(f"{folder.name} round {done['round']}: no test score yet, left out",
                      file=sys.stderr, flush=True)
                continue
            report = score_contenders(schemas[name], gold,
                                      [Contender(CANDIDATE, adapter)])[CANDIDATE]
            print(f"{folder.name} round {done['round']} ({done['labels']} labels): held-out F1 "
                  f"{report.micro.f1:.3f} (distill recorded {done['held_out_f1']:.3f}), test "
                  f"{test['slot_f1']:.3f}", file=sys.stderr, flush=True)
            adapters.append(Adapter(name, selection, done["round"], done["labels"],
                                    test["slot_f1"], report))
    return adapters


def _pairs(adapters: Sequence[Adapter]) -> list[tuple[Adapter, Adapter]]:
    """Every ordered (candidate, registered) pair of two adapters of one schema."""
    return [(c, r) for c, r in itertools.permutations(adapters, 2) if c.schema == r.schema]


def _outcome(rule: str, strict: bool, pairs: Sequence[tuple[Adapter, Adapter]],
             subset: str) -> dict[str, Any]:
    promoted = worse = refused_gains = 0
    lost = refused = change = 0.0
    for candidate, registered in pairs:
        decision = decide({CANDIDATE: candidate.held_out, REGISTERED: registered.held_out},
                          strict=strict)
        gain = candidate.test_f1 - registered.test_f1
        if decision.promote:
            promoted += 1
            change += gain
            if gain < 0:
                worse, lost = worse + 1, lost - gain
        elif gain > 0:
            refused_gains, refused = refused_gains + 1, refused + gain
    return {"pairs": subset, "rule": rule, "decisions": len(pairs), "promoted": promoted,
            "worse_on_test": worse, "f1_lost": round(lost, 4),
            "gains_refused": refused_gains, "f1_refused": round(refused, 4),
            "mean_test_change": round(change / len(pairs), 4) if pairs else None}


def _print(rows: Sequence[dict[str, Any]]) -> None:
    print("| pairs | rule | decisions | promoted | worse on test | F1 lost | gains refused | "
          "F1 refused | mean test change |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        mean = "-" if r["mean_test_change"] is None else f"{r['mean_test_change']:+.4f}"
        print(f"| {r['pairs']} | {r['rule']} | {r['decisions']} | {r['promoted']} | "
              f"{r['worse_on_test']} | {r['f1_lost']:.3f} | {r['gains_refused']} | "
              f"{r['f1_refused']:.3f} | {mean} |")


if __name__ == "__main__":
    sys.exit(main())
