"""Learning curve of ``extractly distill``: student F1 after 25, 50, 100, 200, 300 teacher labels,
random selection against selected (``diverse``), with the teacher's own score beside it.

    python benchmarks/learning_curve.py --sets snips --schemas GetWeather \\
        [--sizes 25,50,100,200,300] [--selection random,diverse] [--pool 2000] [--test N] \\
        [--sizes-of coverage=150] [--source usaddress=usaddress-test] [--seed 0] [--candidates 4] \\
        [--budget auto|none|40m] [--work DIR]

``--sizes-of SELECTION=N,N`` gives one selection its own rounds (repeatable), e.g. random at
150 and 300 against coverage at 150 only: issue 15's "at most 150 selected labels reach what
300 random ones reach" without tuning the points it does not ask about. ``--source`` scores only
one source file of a set (``usaddress=usaddress-test``: the 146 addresses labelled like the
train split). ``--start-from general`` starts every tune from the general adapter
shipped in the package (``extractly tune --start-from``), on the sets it left out of its
training: whether a start that already knows the task changes how many labels selection saves.

The unlabelled texts are a schema's train split (``--pool`` of them, spread evenly over the
file); the teacher is an ``AnswerKeyServer`` on 127.0.0.1 that answers with each text's gold
object over real HTTP (a perfect teacher: its score on the test split is 1.0 by construction,
so "teacher" in the table is the answer key). Each selection runs ``distill`` once with one
round per size, so the curve's points are nested (the 50 labels include the 25); every round's
adapter is then scored on the test split exactly as ``benchmarks/accuracy.py`` scores (slot
micro F1, field accuracy), and the base model's few-shot prompt (3 examples from the pool) is
scored beside it. US addresses are scored per source file as well (``labeled.xml`` is the one
labelled like the train split). Tunes use the plain settings (chosen from the data), with the
registry in a temporary folder. ``--budget none`` gives every tune its whole schedule: the
default 14-minute budget cuts a slow host's larger rounds short (an AVX2-only host with float32
tunes ran a 150-label E2E tune at 10.7 s a step and stopped it at 60 of 102 steps), so the
curve would measure the host's speed as well as the labels. Writes
``benchmarks/results/learning_curve.json`` after every round, so a killed run keeps the points
it finished. ``--work DIR`` keeps the run's folder (labels, plans, adapters, scores) where it
is given: the same command with the same ``--work`` resumes a killed run (no label asked
twice, finished tunes and their test scores kept), so a curve longer than a sitting can be
finished in parts; ``--sizes`` that begin with a finished run's (``25,50,100,200`` after
``25,50,100``) add its later points the same way (``distill`` takes more rounds on a folder).
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from benchmarks.accuracy import N_SHOTS, score, spread
from benchmarks.datasets import Record, load_schemas, load_split, pick_examples
from benchmarks.general_adapter import left_out_sets, parse_sources, scored_records
from benchmarks.general_start import add_budget_option, budget_of
from extractly import Extractor
from extractly.adapter_registry import write_atomic
from extractly.model_files import file_sha256
from extractly.teacher import DistillConfig, RoundReport, distill
from extractly.testing import AnswerKeyServer
from extractly.tune import TuneConfig
from extractly.tune.start import start_path


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sets", default="snips")
    ap.add_argument("--schemas", default="", help="only these schema names (comma-separated)")
    ap.add_argument("--sizes", default="25,50,100,200,300")
    ap.add_argument("--selection", default="random,diverse")
    ap.add_argument("--sizes-of", action="append", default=[], metavar="SELECTION=N,N",
                    help="this selection's own rounds instead of --sizes (repeatable)")
    ap.add_argument("--source", default="",
                    help="score only this source file of a set, e.g. usaddress=usaddress-test")
    ap.add_argument("--pool", type=int, default=2000, help="unlabelled texts per schema")
    ap.add_argument("--held-out", type=int, default=30, help="teacher labels for the gate")
    ap.add_argument("--candidates", type=int, default=DistillConfig.pool,
                    help="distill's --candidates: texts a later round's student scores per label "
                    "wanted (0: later rounds of diverse and coverage choose without a student)")
    ap.add_argument("--seed", type=int, default=0,
                    help="distill's seed: held-out slice, random picks, tie-breaks (not the tunes)")
    ap.add_argument("--test", type=int, default=None, help="test records per schema (all)")
    add_budget_option(ap)
    ap.add_argument("--start-from", default=None, metavar="ADAPTER",
                    help="start every tune from this adapter.gguf, or 'general' for the one "
                    "shipped in the package (extractly tune's --start-from); a set it was "
                    "trained on is refused")
    ap.add_argument("--out", default="benchmarks/results/learning_curve.json")
    ap.add_argument("--work", default="",
                    help="the curve's working folder (default: a new temporary one); give a "
                    "killed run's folder with the same arguments to resume it, or with --sizes "
                    "that begin with its own to add points")
    args = ap.parse_args(argv)
    sizes = _sizes(args.sizes)
    tune_config = TuneConfig(budget=budget_of(ap, args.budget), start_from=args.start_from)
    if args.start_from is not None:
        left_out_sets(ap, _start_manifest(args.start_from), args.sets)
    selections = [s for s in args.selection.split(",") if s]
    own = _sizes_of(ap, args.sizes_of, selections)
    source = parse_sources(args.source)
    only = set(filter(None, args.schemas.split(",")))
    out = Path(args.out)
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="extractly-curve-"))
    work.mkdir(parents=True, exist_ok=True)
    os.environ["EXTRACTLY_ADAPTERS"] = str(work / "registry")
    rows: list[dict[str, Any]] = []
    for dataset in filter(None, args.sets.split(",")):
        train, test = load_split("train", dataset), scored_records(ap, dataset, source)
        for name, schema in load_schemas(dataset).items():
            if only and name not in only:
                continue
            pool = spread([r for r in train if r.schema == name], args.pool)
            records = [r for r in test if r.schema == name][: args.test]
            texts = work / f"{name}.texts.jsonl"
            texts.write_text("".join(json.dumps({"id": r.id, "text": r.text}) + "\n"
                                     for r in pool))
            row: dict[str, Any] = {
                "set": dataset, "schema": name, "pool": len(pool), "test": len(records),
                "teacher": {"kind": "answer key (gold over HTTP)", "slot_f1": 1.0},
                "base": _base_point(schema, pool, records, name, work / f"{name}.base.json"),
                "curves": {},
            }
            with AnswerKeyServer({r.text: r.gold for r in pool}) as server:
                for selection in selections:
                    started = time.monotonic()
                    rounds = own.get(selection, sizes)
                    config = DistillConfig(round_sizes=rounds, held_out=args.held_out,
                                           selection=selection, seed=args.seed,
                                           pool=args.candidates, tune=tune_config)
                    curve: dict[str, Any] = {"sizes": list(rounds), "points": [],
                                             "candidates": args.candidates,
                                             "budget": args.budget,
                                             "start_from": args.start_from}
                    row["curves"][selection] = curve
                    # each round is scored on the test records as soon as it is tuned, and
                    # the JSON rewritten: a killed run keeps every finished point
                    scored = functools.partial(
                        _score_round, schema=schema, records=records, curve=curve,
                        label=f"{dataset}/{name} {selection}",
                        save=functools.partial(_write, out, sizes, [*rows, row]))
                    report = distill(schema, texts, f"openai:{server.url}#answer-key",
                                     work / f"{name}-{selection}", config, say=_say,
                                     on_round=scored)
                    curve["gate"] = {"promoted": report.promoted, "reason": report.reason,
                                     "candidate_round": report.candidate_round}
                    # this process's wall time only: a resumed run does not count the rounds
                    # an earlier run tuned (each point's tune_seconds does)
                    curve["seconds_this_run"] = round(time.monotonic() - started, 1)
                    _write(out, sizes, [*rows, row])
            rows.append(row)
            _print(row)
    _write(out, sizes, rows)
    print(f"wrote {out}")
    return 0


def _base_point(schema: dict[str, Any], pool: Sequence[Record], records: Sequence[Record],
                name: str, cache: Path) -> dict[str, Any]:
    """The base model's few-shot score on ``records`` (3 examples from the pool), read back
    from ``cache`` when an earlier run scored the same examples on the same records."""
    shots = pick_examples(pool, name, N_SHOTS)
    examples = [{"text": s.text, "output": s.gold} for s in shots]
    return _cached(cache, _ids_key([*shots, *records]),
                   lambda: _scored(Extractor(schema, examples=examples, adapter=None), schema,
                                   records))


def _score_round(done: RoundReport, *, schema: dict[str, Any], records: Sequence[Record],
                 curve: dict[str, Any], label: str, save: Callable[[], None]) -> None:
    """``distill``'s ``on_round``: the round's adapter scored on the test records, appended to
    ``curve`` and saved. The score is kept beside the adapter (``test-score.json``, keyed by
    the adapter's sha256 and the records), so a resumed run does not score a kept round
    again."""
    adapter = Path(done.adapter or "")
    point = _cached(test_score_file(adapter), f"{file_sha256(adapter)}:{_ids_key(records)}",
                    lambda: _scored(Extractor(schema, adapter=adapter), schema, records))
    curve["points"].append({"labels": done.labels, "tune_seconds": done.tune_seconds} | point)
    save()
    print(f"{label} {done.labels:>4} labels: F1 {point['slot_f1']:.3f}", file=sys.stderr,
          flush=True)


def test_score_file(adapter: Path) -> Path:
    """Where a round's test score is kept: ``round-N/test-score.json`` beside
    ``round-N/adapter/adapter.gguf``."""
    return adapter.parent.parent / "test-score.json"


def kept_test_score(adapter: Path) -> dict[str, Any] | None:
    """The test score a curve run kept for ``adapter`` (this adapter's bytes, not an earlier
    tune's in the same folder), or None when it was not scored."""
    cache = test_score_file(adapter)
    if not cache.is_file():
        return None
    saved = json.loads(cache.read_text(encoding="utf-8"))
    if not str(saved.get("key", "")).startswith(f"{file_sha256(adapter)}:"):
        return None
    return dict(saved["point"])


def _cached(cache: Path, key: str, compute: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """``compute()``, or what an earlier run saved in ``cache`` under the same ``key``. Saved
    through a temporary file: a run killed mid-write leaves no half file for its resume."""
    if cache.is_file():
        saved = json.loads(cache.read_text(encoding="utf-8"))
        if saved.get("key") == key:
            return dict(saved["point"])
    point = compute()
    write_atomic(cache, json.dumps({"key": key, "point": point}).encode())
    return point


def _scored(extractor: Extractor[Any], schema: dict[str, Any],
            records: Sequence[Record]) -> dict[str, Any]:
    """``extractor``'s score on ``records`` as a curve point (closes the extractor)."""
    with extractor:
        result, by_source = score(extractor, records, schema)
    return result.summary() | _sources(by_source)


def _ids_key(records: Sequence[Record]) -> str:
    return hashlib.sha256("\n".join(r.id for r in records).encode()).hexdigest()[:16]


def _start_manifest(start_from: str) -> dict[str, Any]:
    """The manifest beside the adapter ``--start-from`` names (``general``: the shipped one)."""
    manifest: dict[str, Any] = json.loads(
        start_path(start_from).with_name("manifest.json").read_text())
    return manifest


def _sizes(text: str) -> tuple[int, ...]:
    return tuple(int(n) for n in text.split(",") if n)


def _sizes_of(ap: argparse.ArgumentParser, given: Sequence[str],
              selections: Sequence[str]) -> dict[str, tuple[int, ...]]:
    """``--sizes-of`` as selection -> its rounds; ``ap.error`` on a selection not run."""
    own: dict[str, tuple[int, ...]] = {}
    for item in given:
        name, _, text = item.partition("=")
        if name not in selections or not text:
            ap.error(f"--sizes-of {item!r}: give SELECTION=N,N for one of {selections}")
        own[name] = _sizes(text)
    return own


def _write(out: Path, sizes: Sequence[int], rows: list[dict[str, Any]]) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    tmp.write_text(json.dumps({"benchmark": "learning_curve", "sizes": sizes, "rows": rows,
                               "threads": os.cpu_count()}, indent=1))
    tmp.replace(out)


def _sources(by_source: dict[str, Any]) -> dict[str, Any]:
    if len(by_source) < 2:
        return {}
    return {"by_source": {k: v.summary()["slot_f1"] for k, v in by_source.items()}}


def _print(row: dict[str, Any]) -> None:
    sizes = sorted({n for curve in row["curves"].values() for n in curve["sizes"]})
    head = f"{row['set']}/{row['schema']}"
    print(f"\n{head:<32} " + " ".join(f"{n:>6}" for n in sizes) + "   base  teacher")
    for selection, curve in row["curves"].items():
        # by the round asked for: a round's labels can be fewer (a pool of 300 texts with 30
        # held out has 270 to label)
        f1 = {n: p["slot_f1"] for n, p in zip(curve["sizes"], curve["points"], strict=False)}
        f1s = " ".join(f"{f1[n]:>6.3f}" if n in f1 else f"{'':>6}" for n in sizes)
        print(f"  {selection:<30} {f1s}  {row['base']['slot_f1']:.3f}  "
              f"{row['teacher']['slot_f1']:.3f}")


def _say(line: str) -> None:
    if not line.startswith("tune: step"):
        print(line, file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
