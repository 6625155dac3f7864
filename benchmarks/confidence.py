"""Confidence benchmark: does field confidence find the wrong fields, and is it a good router?

On SNIPS test documents (stratified over the seven intents), every document is extracted twice
with the embedded Gemma 3 270M, greedy, one document at a time:

    base     the 3-shot prompt per intent that ``core.py`` uses (``Extractor.run``)
    strong   the "stronger backend": there is no larger model offline, so it is the same model
             with ``--strong-shots`` (default 10) worked examples of the intent retrieved per
             document (the training texts of the intent sharing the most words with it, the
             closest last), sent through the chain's local backend (``LlamaCppBackend``; the
             request carries the examples). ``--strong fixed`` uses the first 10 of
             ``pick_examples`` for every document instead. ``--strong adapter`` uses the
             intent's tuned LoRA adapter from the registry (``benchmarks/accuracy.py`` tunes
             them on the train split): the prompt is only the text.

Reported:

- AUROC of field confidence separating right fields (exact match with gold after trimming,
  ``null`` = absent, as in ``datasets.py``) from wrong ones, over all fields and over the fields
  where gold or prediction has a value (target >= 0.75);
- document exact match (every field right) of base, of strong, and of escalating 10% of the
  documents to strong: the least confident 10% (document confidence = its least confident
  field; a document with no valid answer counts as 0) against a random 10% (the exact
  expectation over all random choices, and the 5th-95th percentile of 2,000 draws).

Escalation is computed from the two runs (greedy decoding is deterministic at batch size 1, so
this equals running ``Extractor(min_confidence=<the 10% quantile>, fallback=[strong])``).

    python benchmarks/confidence.py [--docs 100] [--strong-shots 10] [--fraction 0.1]
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: python benchmarks/confidence.py
    sys.path[0] = str(Path(__file__).resolve().parents[1])

from benchmarks.datasets import (
    JSON,
    Record,
    data_dir,
    load_schemas,
    load_split,
    normalize,
    pick_examples,
    stratified,
)
from extractly import BackendRequest, Example, ExtractlyError, Extractor, LlamaCppBackend
from extractly.adapter_registry import lookup
from extractly.json_schema import join_pointer
from extractly.validate import json_span

MAX_TOKENS = 256
N_SHOTS = 3
DEFAULT_OUT = Path(__file__).resolve().parent / "results" / "confidence.json"


@dataclass
class DocRun:
    """One document through one prompt."""

    id: str
    intent: str
    prediction: JSON | None
    fields_right: dict[str, bool]
    field_confidence: dict[str, float]
    confidence: float
    seconds: float
    error: str = ""

    @property
    def exact(self) -> bool:
        return self.prediction is not None and all(self.fields_right.values())


def judge_fields(prediction: JSON | None, gold: JSON) -> dict[str, bool]:
    pred = prediction or {}
    return {k: normalize(pred.get(k)) == normalize(g) for k, g in gold.items()}


def run_base(extractor: Extractor[dict[str, Any]], doc: Record) -> DocRun:
    started = time.perf_counter()
    try:
        result = extractor.run(doc.text)
    except ExtractlyError as exc:
        return DocRun(doc.id, doc.schema, None, judge_fields(None, doc.gold), {}, 0.0,
                      time.perf_counter() - started, f"{type(exc).__name__}: {exc}"[:300])
    return DocRun(doc.id, doc.schema, result.value, judge_fields(result.value, doc.gold),
                  dict(result.field_confidence), result.confidence,
                  time.perf_counter() - started)


def nearest(train: Sequence[Record], doc: Record, k: int) -> list[Example]:
    """The ``k`` training examples of the intent most like ``doc`` (Jaccard over lowercased
    words), least similar first so the closest sits right before the document."""
    words = set(doc.text.lower().split())

    def similarity(r: Record) -> float:
        other = set(r.text.lower().split())
        return len(words & other) / max(1, len(words | other))

    pool = [r for r in train if r.schema == doc.schema]
    best = sorted(pool, key=lambda r: (-similarity(r), r.id))[:k]
    return [Example(r.text, r.gold) for r in reversed(best)]


def run_strong(backend: LlamaCppBackend, extractor: Extractor[dict[str, Any]],
               doc: Record, examples: Sequence[Example] | None) -> DocRun:
    """The stronger backend through the backend contract, validated like the chain does."""
    started = time.perf_counter()
    request = BackendRequest(text=doc.text, spec=extractor.spec, max_tokens=MAX_TOKENS,
                             examples=examples)
    try:
        answer = backend.generate(request)
        value = extractor.validator.parse(json_span(answer.raw_text), answer.stop_reason)
    except ExtractlyError as exc:
        return DocRun(doc.id, doc.schema, None, judge_fields(None, doc.gold), {}, 0.0,
                      time.perf_counter() - started, f"{type(exc).__name__}: {exc}"[:300])
    fields = dict(answer.field_confidence or {})
    return DocRun(doc.id, doc.schema, value, judge_fields(value, doc.gold), fields,
                  min(fields.values(), default=1.0), time.perf_counter() - started)


def auroc(right: Sequence[float], wrong: Sequence[float]) -> float | None:
    """P(a right field's confidence > a wrong field's), ties counting one half."""
    if not right or not wrong:
        return None
    ranked = sorted([(c, 1) for c in right] + [(c, 0) for c in wrong])
    rank_sum, i = 0.0, 0
    while i < len(ranked):  # average ranks over ties
        j = i
        while j < len(ranked) and ranked[j][0] == ranked[i][0]:
            j += 1
        mean_rank = (i + 1 + j) / 2
        rank_sum += mean_rank * sum(label for _, label in ranked[i:j])
        i = j
    n_right, n_wrong = len(right), len(wrong)
    return (rank_sum - n_right * (n_right + 1) / 2) / (n_right * n_wrong)


def field_scores(runs: Sequence[DocRun], gold: dict[str, JSON], filled_only: bool) -> JSON:
    right: list[float] = []
    wrong: list[float] = []
    for run in runs:
        if run.prediction is None:
            continue
        for name, ok in run.fields_right.items():
            has_value = normalize(gold[run.id].get(name)) is not None or (
                normalize(run.prediction.get(name)) is not None
            )
            if filled_only and not has_value:
                continue
            confidence = run.field_confidence.get(join_pointer([name]))
            if confidence is None:
                continue
            (right if ok else wrong).append(confidence)
    return {
        "auroc": auroc(right, wrong),
        "right_fields": len(right),
        "wrong_fields": len(wrong),
        "mean_confidence_right": statistics.fmean(right) if right else None,
        "mean_confidence_wrong": statistics.fmean(wrong) if wrong else None,
    }


def field_accuracy(run: DocRun) -> float:
    return sum(run.fields_right.values()) / max(1, len(run.fields_right))


def escalation(base: Sequence[DocRun], strong: Sequence[DocRun], fraction: float,
               seed: int, per_schema: bool) -> JSON:
    """Document exact match (and, as a finer view, mean field accuracy) when ``fraction`` of the
    documents are answered by the strong backend instead: the least confident ones, a random
    choice (exact expectation and the 5th-95th percentile of 2,000 draws), or the best choice
    in hindsight (oracle). ``per_schema`` takes the fraction within each intent (a
    ``min_confidence`` is set per Extractor, i.e. per schema) instead of over all documents."""
    n = len(base)
    groups: list[list[int]] = []
    if per_schema:
        for intent in dict.fromkeys(r.intent for r in base):
            groups.append([i for i, r in enumerate(base) if r.intent == intent])
    else:
        groups.append(list(range(n)))
    sizes = [max(1, round(fraction * len(g))) for g in groups]
    picked = [i for g, k in zip(groups, sizes, strict=True)
              for i in sorted(g, key=lambda i: (base[i].confidence, i))[:k]]
    rng = random.Random(seed)
    draws_idx = [[i for g, k in zip(groups, sizes, strict=True) for i in rng.sample(g, k)]
                 for _ in range(2000)]
    out: JSON = {
        "documents": n,
        "escalated": len(picked),
        "per_schema": per_schema,
        "least_confident_ids": [base[i].id for i in picked],
    }
    metrics = {"exact_match": lambda r: float(r.exact), "field_accuracy": field_accuracy}
    for name, score in metrics.items():
        before = [score(b) for b in base]
        gain = [score(s) - score(b) for b, s in zip(base, strong, strict=True)]
        base_mean = sum(before) / n
        draws = sorted(sum(gain[i] for i in idx) / n for idx in draws_idx)
        expected = sum(k * statistics.fmean(gain[i] for i in g)
                       for g, k in zip(groups, sizes, strict=True)) / n
        oracle = sum(sum(sorted((gain[i] for i in g), reverse=True)[:k])
                     for g, k in zip(groups, sizes, strict=True)) / n
        out[name] = {
            "base": base_mean,
            "strong_everywhere": sum(score(s) for s in strong) / n,
            "least_confident": base_mean + sum(gain[i] for i in picked) / n,
            "random_expected": base_mean + expected,
            "random_p05": base_mean + draws[len(draws) // 20],
            "random_p95": base_mean + draws[-len(draws) // 20],
            "oracle": base_mean + oracle,
        }
    return out


def document_scores(base: Sequence[DocRun], strong: Sequence[DocRun]) -> JSON:
    """How document confidence relates to exact match, to explain the escalation rows."""
    exact = [r.confidence for r in base if r.exact]
    inexact = [r.confidence for r in base if not r.exact]
    order = sorted(range(len(base)), key=lambda i: (base[i].confidence, i))
    tenth = max(1, len(base) // 10)
    return {
        "auroc_exact_vs_not": auroc(exact, inexact),
        "strong_exact_on_least_confident_tenth": sum(strong[i].exact for i in order[:tenth])
        / tenth,
        "strong_exact_on_most_confident_tenth": sum(strong[i].exact for i in order[-tenth:])
        / tenth,
        "mean_fields_least_confident_tenth": statistics.fmean(
            len(base[i].fields_right) for i in order[:tenth]),
        "mean_fields_all": statistics.fmean(len(r.fields_right) for r in base),
    }


def load_runs(path: Path) -> tuple[list[DocRun], list[DocRun], JSON]:
    """The runs of an earlier report (``--rescore``): recompute the tables without the model."""
    report = json.loads(path.read_text(encoding="utf-8"))

    def runs(key: str) -> list[DocRun]:
        return [DocRun(**row) for row in report["runs"][key]]

    return runs("base"), runs("strong"), report


def _registered_adapter(extractor: Extractor[dict[str, Any]]) -> Path:
    found = lookup(extractor.spec, extractor.model_path)
    if found is None:
        raise SystemExit(
            f"no tuned adapter registered for {extractor.spec.name}: run "
            "benchmarks/accuracy.py --sets snips first (it tunes and registers one per intent)"
        )
    return found


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=int, default=100)
    parser.add_argument("--strong-shots", type=int, default=10)
    parser.add_argument("--strong", choices=["retrieved", "fixed", "adapter"],
                        default="retrieved")
    parser.add_argument("--fraction", type=float, default=0.1)
    parser.add_argument("--threads", type=int, default=0, help="llama.cpp threads (0: all)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--rescore", type=Path,
                        help="recompute the tables from an earlier JSON report (no model)")
    args = parser.parse_args(argv)
    if args.rescore:
        base, strong, old = load_runs(args.rescore)
        gold = {r.id: r.gold for r in load_split("test")}
        report = {k: v for k, v in old.items() if k != "runs"}
        finish(report, base, strong, gold, args)
        return

    schemas = load_schemas()
    train = load_split("train")
    docs = stratified(load_split("test"), args.docs, list(schemas))
    gold = {d.id: d.gold for d in docs}
    base_runs: dict[str, DocRun] = {}
    strong_runs: dict[str, DocRun] = {}
    started = time.perf_counter()
    strong_label = (
        "same model with the intent's tuned LoRA adapter (registry), text-only prompt"
        if args.strong == "adapter"
        else f"same model, {args.strong_shots} examples of the intent "
        + ("retrieved per document (word overlap)" if args.strong == "retrieved" else "(fixed)")
    )
    for intent, schema in schemas.items():
        mine = [d for d in docs if d.schema == intent]
        if not mine:
            continue
        shots = [(e.text, e.gold) for e in pick_examples(train, intent, N_SHOTS)]
        fixed = [Example(e.text, e.gold)
                 for e in pick_examples(train, intent, args.strong_shots)]
        with Extractor(schema, examples=shots, max_tokens=MAX_TOKENS,
                       n_threads=args.threads) as extractor:
            adapter = (
                _registered_adapter(extractor) if args.strong == "adapter" else None
            )
            strong_backend = LlamaCppBackend(max_tokens=MAX_TOKENS, n_threads=args.threads,
                                             name=strong_label, adapter=adapter)
            for doc in mine:
                base_runs[doc.id] = run_base(extractor, doc)
                many = (
                    None if adapter is not None
                    else fixed if args.strong == "fixed"
                    else nearest(train, doc, args.strong_shots)
                )
                strong_runs[doc.id] = run_strong(strong_backend, extractor, doc, many)
            strong_backend.close()
        print(f"  {intent}: {len(mine)} docs ({time.perf_counter() - started:.0f} s)",
              file=sys.stderr)
    base = [base_runs[d.id] for d in docs]
    strong = [strong_runs[d.id] for d in docs]

    report = {
        "benchmark": "confidence",
        "model": "Gemma 3 270M base Q4_K_M (embedded)",
        "base_backend": f"same model, {N_SHOTS}-shot per intent (core.py's prompt)",
        "strong_backend": f"{strong_label}, via LlamaCppBackend "
        "(no larger model is available offline)",
        "docs": len(docs),
        "data": str(data_dir() / "snips"),
        "machine": f"{platform.machine()} {platform.system()}",
        "seconds_per_doc_base": statistics.fmean(r.seconds for r in base),
        "seconds_per_doc_strong": statistics.fmean(r.seconds for r in strong),
        "invalid_base": sum(r.prediction is None for r in base),
        "invalid_strong": sum(r.prediction is None for r in strong),
    }
    finish(report, base, strong, gold, args)


def finish(report: JSON, base: list[DocRun], strong: list[DocRun], gold: dict[str, JSON],
           args: argparse.Namespace) -> None:
    report["fields_all"] = field_scores(base, gold, filled_only=False)
    report["fields_with_a_value"] = field_scores(base, gold, filled_only=True)
    report["documents"] = document_scores(base, strong)
    report["escalation"] = escalation(base, strong, args.fraction, args.seed, per_schema=False)
    report["escalation_per_schema"] = escalation(base, strong, args.fraction, args.seed,
                                                 per_schema=True)
    report["runs"] = {"base": [asdict(r) for r in base], "strong": [asdict(r) for r in strong]}
    print_table(report, args.fraction)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n")
    print(f"\nwrote {args.out}")


def print_table(report: JSON, fraction: float) -> None:
    def fmt(x: Any) -> str:
        return "-" if x is None else f"{x:.3f}" if isinstance(x, float) else str(x)

    print(f"\nSNIPS test, {report['docs']} docs; base = {report['base_backend']}")
    print(f"stronger backend = {report['strong_backend']}\n")
    print("| fields | AUROC | right | wrong | mean conf right | mean conf wrong |")
    print("|---|---|---|---|---|---|")
    for label, key in (("all", "fields_all"), ("with a value", "fields_with_a_value")):
        r = report[key]
        print(f"| {label} | {fmt(r['auroc'])} | {r['right_fields']} | {r['wrong_fields']} | "
              f"{fmt(r['mean_confidence_right'])} | {fmt(r['mean_confidence_wrong'])} |")
    pct = f"{fraction:.0%}"
    for key, scope in (("escalation", "of all documents"),
                       ("escalation_per_schema", "within each intent")):
        e = report[key]
        print(f"\n| escalate {pct} {scope} ({e['escalated']} of {e['documents']} docs) "
              "| doc exact match | field accuracy |")
        print("|---|---|---|")
        em, fa = e["exact_match"], e["field_accuracy"]
        rows = [
            ("base only", "base"),
            ("least confident -> strong", "least_confident"),
            ("random -> strong (expected)", "random_expected"),
            ("random, 5th-95th percentile", None),
            ("oracle -> strong", "oracle"),
            ("strong on every doc", "strong_everywhere"),
        ]
        for label, k in rows:
            if k is None:
                print(f"| {label} | {fmt(em['random_p05'])}-{fmt(em['random_p95'])} | "
                      f"{fmt(fa['random_p05'])}-{fmt(fa['random_p95'])} |")
            else:
                print(f"| {label} | {fmt(em[k])} | {fmt(fa[k])} |")
    d = report["documents"]
    print(f"\ndocument confidence vs base exact match: AUROC {fmt(d['auroc_exact_vs_not'])}; "
          f"strong backend exact on the least confident tenth "
          f"{fmt(d['strong_exact_on_least_confident_tenth'])}, on the most confident tenth "
          f"{fmt(d['strong_exact_on_most_confident_tenth'])}; fields per doc "
          f"{fmt(d['mean_fields_least_confident_tenth'])} (least confident tenth) vs "
          f"{fmt(d['mean_fields_all'])} (all)")
    print(f"\ns/doc base {fmt(report['seconds_per_doc_base'])}, "
          f"strong {fmt(report['seconds_per_doc_strong'])}; invalid base "
          f"{report['invalid_base']}, strong {report['invalid_strong']}")


if __name__ == "__main__":
    main()
