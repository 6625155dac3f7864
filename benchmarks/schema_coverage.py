"""Schema coverage: which real-world JSON Schemas extractly compiles, and how faithfully.

Data: JSONSchemaBench's MaskBench subset (14 splits) and the JSON-Schema-Test-Suite draft 2020-12
(one split per keyword file, groups with remote ``$ref`` left out), read from ``../shared/data``
or ``$EXTRACTLY_DATA``. The small-model safeguards are off (``Safeguards.off()``: plain JSON
Schema semantics) except in the build shares under default safeguards (what a user who builds
``Extractor(schema)`` gets). Two modes: ``strict`` (``allow_post_checks=False``) and ``post``
(``allow_post_checks=True``: keywords in ``CompiledConstraint.post_checked`` are left to the
jsonschema validation after decoding). Per split and in total it reports:

1. compile time of ``compile_constraint`` (in-process cache cleared before each schema), over
   every schema that reached it: median and p99 in ms;
2. share compiled, rejected with the library's ``SchemaError`` / ``UnsupportedSchemaError``,
   and crashed (any other exception: a bug), with the safeguards off and with the defaults
   (``Safeguards()``; their instances are not checked: the safeguarded grammar is meant to
   be narrower, e.g. every key present);
3. for compiled schemas, the constraint's verdict on each labelled test instance, serialized
   as compact JSON and fed token by token to a fresh llguidance matcher. llguidance writes
   properties in schema order, so the verdict is given "as given" and in "schema key order"
   (keys in the schema's ``properties`` order; failing that, any key order a matcher-guided
   search finds within a budget; see ``jsonschemabench.py``). In ``post`` mode "grammar" is the
   matcher alone and "grammar+post" also requires extractly's own output validation (the full
   schema with jsonschema, formats checked) for schemas that have post-checked keywords;
4. real decodes on a small deterministic sample of strictly compiled schemas: valid, a typed
   ``ExtractlyError`` (by type), invalid (must never happen) or crashed;
5. with ``--first-tokens``, the sweep of issue #20: every schema that builds under default
   safeguards with ``allow_post_checks=True`` decodes a few tokens of a tiny document
   (``first_tokens``); a schema that builds and then cannot decode is a failure. About 0.35 s a
   schema on 2 cores (some 13 minutes for both data sets); ``tests/test_decodability.py`` runs
   a spread sample of it.

    python benchmarks/schema_coverage.py [--limit N] [--decode-sample N] [--suite-decodes N]
                                  [--first-tokens] [--out PATH]

It does not compare libraries (see ``core.py``) or score extraction accuracy.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import platform
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import jsonschema
import llguidance

if __package__ in (None, ""):  # run as a script: python benchmarks/schema_coverage.py
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.jsonschemabench import (
    Case,
    GrammarVerdict,
    check_instance,
    load_maskbench,
    load_test_suite,
)
from extractly import constraint
from extractly.constraint import CompiledConstraint, compile_constraint
from extractly.engine.llama import load_model
from extractly.engine.tokenizer import tokenizer_for
from extractly.errors import (
    ExtractionError,
    ExtractlyError,
    OutputValidationError,
    SchemaError,
    TruncatedOutputError,
)
from extractly.extractor import Extractor
from extractly.model_files import resolve_model_path
from extractly.options import Safeguards
from extractly.schema import SchemaSpec, load_schema
from extractly.validate import OutputValidator

DEFAULT_OUT = Path(__file__).resolve().parent / "results" / "coverage.json"
MODES: dict[str, bool] = {"strict": False, "post": True}
"""Mode name -> ``allow_post_checks``."""
TARGETS = {"compile_median_ms": 5.0, "compile_p99_ms": 50.0, "compiled_share": 0.88,
           "valid_accepted": 0.994, "invalid_rejected": 1.0}
BUILD_TARGETS = {"strict": 0.88, "post": 0.96}
"""Least share of schemas that build under default safeguards, per mode (issue #20)."""
SAFEGUARDS = {"off": Safeguards.off(), "default": Safeguards()}
DECODE_MAX_TOKENS = 256
DECODE_INSTRUCTIONS = "Write a JSON value that fits the schema."
DECODE_TEXT = (
    "Order 1182 from Anna Berg (anna.berg@example.com), 34, Oslo, Norway: 3 items, total 45.50 "
    "EUR, paid 2024-05-01, status shipped."
)
MAX_EXAMPLES = 8


def tokenizer() -> llguidance.LLTokenizer:
    """llguidance's view of the default model's vocabulary (loads the model once)."""
    return tokenizer_for(load_model(resolve_model_path()))


# -- compile ----------------------------------------------------------------------------------


@dataclass
class Compiled:
    """One schema through ``load_schema`` + ``compile_constraint`` in one mode."""

    case: Case
    status: str
    """``compiled``, ``rejected`` (SchemaError) or ``crashed`` (anything else)."""
    ms: float | None = None
    error: str = ""
    feature: str = ""
    constraint: CompiledConstraint | None = None
    spec: SchemaSpec | None = None


def _failure(case: Case, exc: Exception, ms: float | None) -> Compiled:
    if isinstance(exc, SchemaError):
        return Compiled(case, "rejected", ms, str(exc), getattr(exc, "feature", "") or "schema")
    return Compiled(case, "crashed", ms, f"{type(exc).__name__}: {exc}", type(exc).__name__)


def compile_case(
    case: Case, tok: llguidance.LLTokenizer, *, post: bool, safeguards: str = "off"
) -> Compiled:
    """Compile ``case.schema`` with the ``SAFEGUARDS`` named (off by default), timing only
    ``compile_constraint``."""
    try:
        spec = load_schema(case.schema, SAFEGUARDS[safeguards])
    except Exception as exc:
        return _failure(case, exc, None)
    constraint.clear_cache()  # measure a real compile, not a cache hit
    start = time.perf_counter()
    try:
        compiled = compile_constraint(spec.decode_schema, tok, allow_post_checks=post)
    except Exception as exc:
        return _failure(case, exc, (time.perf_counter() - start) * 1000)
    ms = (time.perf_counter() - start) * 1000
    return Compiled(case, "compiled", ms, constraint=compiled, spec=spec)


# -- instances --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Check:
    """The constraint's verdict on one labelled instance."""

    valid: bool
    grammar: GrammarVerdict | None
    """``None`` when the instance could not be checked (see ``error``)."""
    post_ok: bool = True
    """extractly's output validation passes, or the schema has no post-checked keyword."""
    error: str = ""

    def accepted(self, check: str, order: str) -> bool:
        if self.grammar is None:
            return False
        ok = self.grammar.as_given if order == "given" else self.grammar.schema_order
        return ok and (check == "grammar" or self.post_ok)


def _post_ok(validator: OutputValidator | None, data: Any) -> tuple[bool, str]:
    if validator is None:
        return True, ""
    try:
        validator.validate(data, "")
    except OutputValidationError:
        return False, ""
    except Exception as exc:  # the validation step itself failed: report it
        return False, f"validator crashed: {type(exc).__name__}: {exc}"
    return True, ""


def check_case(item: Compiled, tok: llguidance.LLTokenizer) -> list[Check]:
    """Verdicts on every instance of a compiled schema."""
    assert item.constraint is not None and item.spec is not None
    post_checked = bool(item.constraint.post_checked)
    validator = OutputValidator(item.spec) if post_checked else None
    checks: list[Check] = []
    for inst in item.case.instances:
        try:
            verdict = check_instance(item.constraint, tok, inst.data, item.spec.decode_schema)
        except UnicodeEncodeError:
            checks.append(Check(inst.valid, None, error="unencodable"))
            continue
        except Exception as exc:
            checks.append(Check(inst.valid, None, error=f"check crashed: {exc!r:.200}"))
            continue
        ok, error = _post_ok(validator, inst.data)
        checks.append(Check(inst.valid, verdict, ok, error))
    return checks


# -- summaries --------------------------------------------------------------------------------


def nearest_rank_percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (``q`` in 0..100) of a non-empty sequence."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def summarize_compile(items: Sequence[Compiled]) -> dict[str, Any]:
    times = [i.ms for i in items if i.ms is not None]
    status = Counter(i.status for i in items)
    reasons = Counter(i.feature for i in items if i.status == "rejected")
    return {
        "schemas": len(items),
        "compiled": status["compiled"],
        "rejected": status["rejected"],
        "crashed": status["crashed"],
        "compiled_share": _share(status["compiled"], len(items)),
        "ms_median": statistics.median(times) if times else None,
        "ms_p99": nearest_rank_percentile(times, 99) if times else None,
        "ms_max": max(times) if times else None,
        "rejected_by": dict(reasons.most_common(12)),
        "post_checked_schemas": sum(1 for i in items if i.constraint and i.constraint.post_checked),
    }


VARIANTS = [(c, o) for c in ("grammar", "post") for o in ("given", "schema_order")]


def summarize_checks(checks: Iterable[Check]) -> dict[str, Any]:
    """Shares of valid instances accepted and invalid instances rejected, per variant."""
    counted = [c for c in checks if c.grammar is not None]
    out: dict[str, Any] = {}
    for label, want in (("valid", True), ("invalid", False)):
        group = [c for c in counted if c.valid is want]
        out[label] = {"n": len(group)}
        for check, order in VARIANTS:
            accepted = sum(c.accepted(check, order) for c in group)
            good = accepted if want else len(group) - accepted
            out[label][f"{check}/{order}"] = _share(good, len(group))
    out["key_order_search_gave_up"] = sum(1 for c in counted if c.grammar and c.grammar.gave_up)
    out["unencodable"] = sum(1 for c in checks if c.error == "unencodable")
    out["check_errors"] = sum(1 for c in checks if c.error and c.error != "unencodable")
    return out


def _example(item: Compiled, inst_index: int, check: Check, why: str) -> dict[str, Any]:
    inst = item.case.instances[inst_index]
    return {
        "id": item.case.id,
        "instance": inst.description,
        "why": why,
        "data": json.dumps(inst.data, ensure_ascii=False)[:300],
        "reordered": check.grammar.reordered if check.grammar else None,
        "post_checked": list(item.constraint.post_checked) if item.constraint else [],
        "error": check.error,
    }


def misses(item: Compiled, checks: Sequence[Check]) -> list[dict[str, Any]]:
    """Instances the constraint gets wrong even in schema key order, with the post-checks."""
    found = []
    for i, check in enumerate(checks):
        if check.error:
            found.append(_example(item, i, check, check.error))
        elif check.valid and not check.accepted("post", "schema_order"):
            why = "valid, rejected by " + ("the grammar" if not check.grammar or
                                          not check.grammar.schema_order else "the post-check")
            found.append(_example(item, i, check, why))
        elif not check.valid and check.accepted("post", "schema_order"):
            how = "as given" if check.accepted("post", "given") else "in schema key order"
            found.append(_example(item, i, check, f"invalid, accepted {how}"))
    return found


# -- decodes ----------------------------------------------------------------------------------


def pick_for_decode(items: Sequence[Compiled], per_split: int) -> list[Case]:
    """``per_split`` compiled schemas per split, chosen by a hash of their id (deterministic)."""
    by_split: dict[str, list[Case]] = {}
    for item in items:
        if item.status == "compiled":
            by_split.setdefault(item.case.split, []).append(item.case)
    key: Callable[[Case], str] = lambda c: hashlib.sha256(c.id.encode()).hexdigest()  # noqa: E731
    return [c for cases in by_split.values() for c in sorted(cases, key=key)[:per_split]]


def _is_valid(schema: Any, value: Any) -> bool:
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    return bool(cls(schema, format_checker=cls.FORMAT_CHECKER).is_valid(value))


def _judge(schema: Any, raw_text: str, value: Any) -> str:
    try:
        parsed = json.loads(raw_text)
    except json.JSONDecodeError:
        return "invalid"
    return "valid" if _is_valid(schema, parsed) and _is_valid(schema, value) else "invalid"


def decode_case(case: Case) -> dict[str, Any]:
    """Build an Extractor for ``case.schema`` (safeguards off), run it once, judge the output."""
    start = time.perf_counter()
    raw = ""
    try:
        extractor = Extractor(case.schema, safeguards=Safeguards.off(),
                              max_tokens=DECODE_MAX_TOKENS, instructions=DECODE_INSTRUCTIONS,
                              examples=[])
        try:
            result = extractor.run(DECODE_TEXT)
            raw = result.raw_text
            outcome = _judge(case.schema, raw, result.value)
        finally:
            extractor.close()
    except ExtractlyError as exc:
        raw = getattr(exc, "raw_text", "")
        outcome = type(exc).__name__
    except Exception as exc:
        raw = f"{type(exc).__name__}: {exc}"
        outcome = "crashed"
    seconds = time.perf_counter() - start
    return {"id": case.id, "split": case.split, "outcome": outcome,
            "seconds": round(seconds, 3), "raw": raw[:400]}


FIRST_TOKENS_MAX = 6
FIRST_TOKENS_TEXT = "Ann, 3."


def first_tokens(schema: Any) -> str | None:
    """Build an Extractor for ``schema`` as a user would (default safeguards, post-checks
    allowed) with the cheapest prompt, and decode ``FIRST_TOKENS_MAX`` tokens of a tiny text.

    ``None`` when it does not build (a ``SchemaError``); ``""`` when the decode ran (a budget
    this small truncates most outputs, and a short complete one may fail a post-check: both
    are fine); otherwise what went wrong: the schema built but could not decode.
    """
    try:
        extractor = Extractor(schema, allow_post_checks=True, instructions="", examples=[],
                              max_tokens=FIRST_TOKENS_MAX, n_ctx=64, batch_size=1, adapter=None)
    except SchemaError:
        return None
    with extractor:
        try:
            extractor.run(FIRST_TOKENS_TEXT)
        except (TruncatedOutputError, OutputValidationError):
            pass
        except ExtractionError as exc:
            return f"{type(exc).__name__}: {exc}"
        except Exception as exc:  # a crash
            return f"crashed: {type(exc).__name__}: {exc}"
    return ""


def run_first_tokens(cases: Sequence[Case]) -> dict[str, Any]:
    """``first_tokens`` for every case: how many built, how long, which failed."""
    start = time.perf_counter()
    outcomes = [(case.id, first_tokens(case.schema)) for case in cases]
    failures = [{"id": i, "error": e[:300]} for i, e in outcomes if e]
    built = sum(1 for _, e in outcomes if e is not None)
    return {"schemas": len(cases), "built": built, "failed": len(failures),
            "seconds": round(time.perf_counter() - start, 1), "failures": failures}


def summarize_decodes(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    outcomes = Counter(r["outcome"] for r in rows)
    return {
        "n": len(rows),
        "valid": outcomes["valid"],
        "invalid": outcomes["invalid"],
        "crashed": outcomes["crashed"],
        "errors": {k: v for k, v in outcomes.items() if k not in ("valid", "invalid", "crashed")},
        "seconds_mean": statistics.mean(r["seconds"] for r in rows) if rows else None,
    }


# -- one data set -----------------------------------------------------------------------------


@dataclass
class DatasetRun:
    name: str
    cases: list[Case]
    compiled: dict[str, list[Compiled]] = field(default_factory=dict)
    """Per mode, with the safeguards off."""
    built: dict[str, list[Compiled]] = field(default_factory=dict)
    """Per mode, with the default safeguards (no instance checks)."""
    checks: dict[str, list[list[Check]]] = field(default_factory=dict)
    decodes: list[dict[str, Any]] = field(default_factory=list)

    def splits(self) -> list[str]:
        return list(dict.fromkeys(c.split for c in self.cases))


def _check_mode(
    items: list[Compiled], reuse: dict[str, list[Check]], tok: llguidance.LLTokenizer
) -> list[list[Check]]:
    """Checks for every schema; a schema whose grammar was already checked reuses them."""
    out: list[list[Check]] = []
    for item in items:
        if item.constraint is None:
            out.append([])
            continue
        key = item.constraint.grammar + "\0" + ",".join(item.constraint.post_checked)
        if key not in reuse:
            reuse[key] = check_case(item, tok)
        out.append(reuse[key])
    return out


def run_dataset(name: str, cases: list[Case], tok: llguidance.LLTokenizer) -> DatasetRun:
    """Compile every schema in both modes and check every instance of the compiled ones."""
    run = DatasetRun(name, cases)
    reuse: dict[str, list[Check]] = {}
    for mode, post in MODES.items():
        run.compiled[mode] = [compile_case(c, tok, post=post) for c in cases]
        run.checks[mode] = _check_mode(run.compiled[mode], reuse, tok)
        run.built[mode] = [compile_case(c, tok, post=post, safeguards="default") for c in cases]
    return run


def run_decodes(run: DatasetRun, cases: Sequence[Case]) -> None:
    for case in cases:
        run.decodes.append(decode_case(case))
        row = run.decodes[-1]
        print(f"  decode {row['id'][:70]}: {row['outcome']} ({row['seconds']:.1f} s)",
              file=sys.stderr)


def _group(run: DatasetRun, mode: str, split: str | None) -> tuple[list[Compiled], list[Check]]:
    pairs = [(i, c) for i, c in zip(run.compiled[mode], run.checks[mode], strict=True)
             if split is None or i.case.split == split]
    return [i for i, _ in pairs], [c for _, cs in pairs for c in cs]


def summarize_run(run: DatasetRun) -> dict[str, Any]:
    rows: dict[str, Any] = {}
    for split in [*run.splits(), None]:
        row: dict[str, Any] = {}
        for mode in MODES:
            items, checks = _group(run, mode, split)
            built = [i for i in run.built[mode] if split is None or i.case.split == split]
            row[mode] = {"compile": summarize_compile(items), "instances": summarize_checks(checks),
                         "build_default": summarize_compile(built)}
        decodes = [d for d in run.decodes if split is None or d["split"] == split]
        row["decodes"] = summarize_decodes(decodes)
        rows[split or "TOTAL"] = row
    return rows


def collect_examples(run: DatasetRun) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for mode in MODES:
        crashes = [{"id": i.case.id, "error": i.error[:300]}
                   for i in [*run.compiled[mode], *run.built[mode]] if i.status == "crashed"]
        wrong = [m for i, cs in zip(run.compiled[mode], run.checks[mode], strict=True)
                 for m in misses(i, cs)]
        invalid_accepted = [m for m in wrong if m["why"].startswith("invalid")]
        rejections = [{"id": i.case.id, "feature": i.feature, "error": i.error[:200]}
                      for i in run.compiled[mode] if i.status == "rejected"]
        rejections_default = [{"id": i.case.id, "feature": i.feature, "error": i.error[:200]}
                              for i in run.built[mode] if i.status == "rejected"]
        out[mode] = {
            "compile_crashes": crashes[:50],
            "compile_rejections": rejections,
            "build_rejections_default_safeguards": rejections_default,
            "invalid_accepted": invalid_accepted[:100],
            "other_misses": [m for m in wrong if m not in invalid_accepted][:100],
            "n_invalid_accepted": len(invalid_accepted),
            "n_other_misses": len(wrong) - len(invalid_accepted),
        }
    out["decodes_not_valid"] = [d for d in run.decodes if d["outcome"] != "valid"]
    return out


# -- targets and report -----------------------------------------------------------------------


def targets(total: dict[str, Any]) -> list[dict[str, Any]]:
    """Each target against the totals of one data set; ``ok`` is False on a miss."""
    found: list[dict[str, Any]] = []

    def add(name: str, value: float | None, target: float, higher: bool) -> None:
        ok = value is not None and (value >= target if higher else value < target)
        found.append({"metric": name, "value": value, "target": target, "ok": ok})

    for mode in MODES:
        comp, inst = total[mode]["compile"], total[mode]["instances"]
        add(f"{mode} compile median ms", comp["ms_median"], TARGETS["compile_median_ms"], False)
        add(f"{mode} compile p99 ms", comp["ms_p99"], TARGETS["compile_p99_ms"], False)
        add(f"{mode} compiled share", comp["compiled_share"], TARGETS["compiled_share"], True)
        add(f"{mode} built share (default safeguards)",
            total[mode]["build_default"]["compiled_share"], BUILD_TARGETS[mode], True)
        check = "grammar" if mode == "strict" else "post"
        for order in ("given", "schema_order"):
            add(f"{mode} {check} valid accepted ({order})", inst["valid"][f"{check}/{order}"],
                TARGETS["valid_accepted"], True)
            add(f"{mode} {check} invalid rejected ({order})", inst["invalid"][f"{check}/{order}"],
                TARGETS["invalid_rejected"], True)
    return found


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}"


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


W = 22
"""Width of the split column."""
COMPILE_HEAD = f"{'ok%':>6} {'rej':>5} {'crash':>5} {'med ms':>7} {'p99 ms':>7}"
INSTANCE_HEAD = (f"{'valid':>7} {'given':>6} {'order':>6} | "
                 f"{'invalid':>7} {'given':>6} {'order':>6}")


def _compile_cells(c: dict[str, Any]) -> str:
    return (f"{_pct(c['compiled_share']):>6} {c['rejected']:>5} {c['crashed']:>5} "
            f"{_ms(c['ms_median']):>7} {_ms(c['ms_p99']):>7}")


def _instance_cells(i: dict[str, Any], check: str) -> str:
    v, inv = i["valid"], i["invalid"]
    return (f"{v['n']:>7} {_pct(v[f'{check}/given']):>6} {_pct(v[f'{check}/schema_order']):>6} | "
            f"{inv['n']:>7} {_pct(inv[f'{check}/given']):>6} "
            f"{_pct(inv[f'{check}/schema_order']):>6}")


def _decode_cells(d: dict[str, Any]) -> str:
    errors = ", ".join(f"{k} {v}" for k, v in sorted(d["errors"].items())) or "-"
    return f"{d['n']:>3} {d['valid']:>5} {d['invalid']:>7} {d['crashed']:>7}  {errors}"


def _print_compile(rows: dict[str, Any]) -> None:
    for key, safeguards in (("compile", "Safeguards.off()"), ("build_default", "Safeguards()")):
        title = f"Compile time and outcome, {safeguards}"
        print(f"\n{title:<{W + 5}} | {'strict':<{len(COMPILE_HEAD)}} | post-checks")
        print(f"{'split':<{W}} {'n':>4} | {COMPILE_HEAD} | {COMPILE_HEAD}")
        for split, row in rows.items():
            n = row["strict"][key]["schemas"]
            print(f"{split[:W]:<{W}} {n:>4} | {_compile_cells(row['strict'][key])} | "
                  f"{_compile_cells(row['post'][key])}")


INSTANCE_SECTIONS = [
    ("strict", "grammar", "strict mode: grammar"),
    ("post", "grammar", "post-check mode: grammar only"),
    ("post", "post", "post-check mode: grammar + post-check (extractly's output validation)"),
]


def _print_instances(rows: dict[str, Any]) -> None:
    for mode, check, title in INSTANCE_SECTIONS:
        print(f"\nInstances of compiled schemas, {title}")
        print(f"{'':<{W}}   {'% valid accepted':^21} | {'% invalid rejected':^21}")
        print(f"{'split':<{W}} | {INSTANCE_HEAD}")
        for split, row in rows.items():
            print(f"{split[:W]:<{W}} | {_instance_cells(row[mode]['instances'], check)}")
    gave_up = rows["TOTAL"]["post"]["instances"]["key_order_search_gave_up"]
    print(f"(given: instance key order; order: schema key order, else any order the matcher "
          f"search finds; it gave up on {gave_up} post-mode instances, counted as not accepted)")


def _print_decodes(rows: dict[str, Any]) -> None:
    if not rows["TOTAL"]["decodes"]["n"]:
        return
    print(f"\nReal decodes (strict, Safeguards.off(), max_tokens={DECODE_MAX_TOKENS})")
    print(f"{'split':<{W}} |   n valid invalid crashed  typed errors")
    for split, row in rows.items():
        if row["decodes"]["n"]:
            print(f"{split[:W]:<{W}} | {_decode_cells(row['decodes'])}")


def print_report(name: str, rows: dict[str, Any]) -> None:
    print(f"\n=== {name} ===")
    _print_compile(rows)
    _print_instances(rows)
    _print_decodes(rows)


def print_findings(name: str, examples: dict[str, Any], goals: list[dict[str, Any]]) -> None:
    for goal in goals:
        if not goal["ok"]:
            value = goal["value"]
            shown = f"{value:.4g}" if isinstance(value, float) else value
            print(f"  MISS [{name}] {goal['metric']}: {shown} (target {goal['target']})")
    for mode in MODES:
        for crash in examples[mode]["compile_crashes"][:5]:
            print(f"  CRASH [{name}/{mode}] {crash['id']}: {crash['error'][:160]}")
        for miss in examples[mode]["invalid_accepted"][:MAX_EXAMPLES]:
            print(f"  INVALID ACCEPTED [{name}/{mode}] {miss['id'][:60]} / "
                  f"{miss['instance'][:50]}: {miss['data'][:80]}")
    for row in examples["decodes_not_valid"]:
        if row["outcome"] in ("invalid", "crashed"):
            print(f"  DECODE {row['outcome'].upper()} [{name}] {row['id']}: {row['raw'][:120]}")


# -- main -------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--limit", type=int, default=None, help="schemas per split (default: all)")
    p.add_argument("--decode-sample", type=int, default=2,
                   help="real decodes per MaskBench split (default 2)")
    p.add_argument("--suite-decodes", type=int, default=6,
                   help="real decodes for the test suite, in total (default 6)")
    p.add_argument("--first-tokens", action="store_true",
                   help="decode a few tokens with every schema that builds (slow)")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT)
    return p.parse_args(argv)


def pick_spread(items: Sequence[Compiled], total: int) -> list[Case]:
    """``total`` compiled schemas across all splits, chosen by a hash of their id."""
    picked = pick_for_decode(items, len(items))
    picked.sort(key=lambda c: hashlib.sha256(c.id.encode()).hexdigest())
    return picked[:total]


def environment() -> dict[str, Any]:
    versions: dict[str, str | None] = {}
    for pkg in ("llguidance", "llama-cpp-python", "jsonschema", "extractly"):
        try:
            versions[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            versions[pkg] = None
    return {"python": platform.python_version(), "machine": platform.machine(), **versions}


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    tok = tokenizer()
    report: dict[str, Any] = {"config": {k: str(v) for k, v in vars(args).items()},
                              "environment": environment(), "targets": TARGETS, "datasets": {}}
    Picker = Callable[[Sequence[Compiled]], list[Case]]
    suites: list[tuple[str, list[Case], Picker]] = [("MaskBench", load_maskbench(args.limit),
               lambda items: pick_for_decode(items, args.decode_sample)),
              ("JSON-Schema-Test-Suite draft2020-12", load_test_suite(args.limit),
               lambda items: pick_spread(items, args.suite_decodes))]
    failed = False
    for name, cases, pick in suites:
        print(f"{name}: {len(cases)} schemas", file=sys.stderr)
        run = run_dataset(name, cases, tok)
        run_decodes(run, pick(run.compiled["strict"]))
        rows = summarize_run(run)
        goals, examples = targets(rows["TOTAL"]), collect_examples(run)
        print_report(name, rows)
        print_findings(name, examples, goals)
        failed |= any(examples[m]["compile_crashes"] for m in MODES)
        failed |= any(d["outcome"] in ("invalid", "crashed") for d in run.decodes)
        report["datasets"][name] = {"splits": rows, "targets": goals, "examples": examples}
        if args.first_tokens:
            sweep = run_first_tokens(cases)
            print(f"\nFirst tokens (default safeguards, post-checks, max_tokens="
                  f"{FIRST_TOKENS_MAX}): {sweep['built']} built, {sweep['failed']} failed to "
                  f"decode, {sweep['seconds']} s")
            for failure in sweep["failures"][:MAX_EXAMPLES]:
                print(f"  FIRST TOKENS FAILED [{name}] {failure['id']}: {failure['error'][:160]}")
            failed |= bool(sweep["failed"])
            report["datasets"][name]["first_tokens"] = sweep
    report["seconds"] = round(time.perf_counter() - started, 1)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"\n{report['seconds']} s; wrote {args.out}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
