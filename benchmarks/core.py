"""Core benchmark: extractly against peer libraries on SNIPS slot filling.

Every path gets the same documents, the same 3-shot prompt per intent (rendered by extractly),
greedy decoding and the same ``max_tokens``; the paths run one after the other in this process:

    a   extractly ``Extractor.run`` one document at a time (rows a-b4, a-b8: ``run_many``)
    b   llama-cpp-python ``Llama`` + ``LlamaGrammar.from_json_schema`` (GBNF)
    c   outlines 1.3.3 ``from_llamacpp`` + JSON Schema output type (outlines_core index)
    d   llama-cpp-python unconstrained, ``stop=["\\n\\n"]``, then ``json.loads``

Paths b, c and d share one ``Llama``. Peers get the intent's schema from ``schemas.json`` by
default; ``--gbnf-schema decode`` / ``--outlines-schema decode`` give them extractly's decode
schema instead, whose ``maxLength: 256`` per string is very slow for both (in trials, over 100 s
per document with llama.cpp's grammar sampler, and about 5 minutes to build the outlines_core
index for BookRestaurant). Path b checks the grammar against all 262k Gemma tokens at every
step, so by default it runs on the first 14 documents (``--cap b=14``, stratified); every ratio
to extractly is taken on the same documents.

Reported per path: seconds per document, documents per second, schema-valid rate (jsonschema
against the intent's schema from ``schemas.json``), slot micro precision / recall / F1 (see
``datasets.py``; an invalid output predicts nothing), the per-schema build time ("compile":
Extractor construction, JSON Schema -> GBNF, outlines ``Generator``), the extra time of the first
document per schema over the others (prompt prefix evaluation, lazy setup), and the speed ratio
to extractly (peer s/doc / extractly s/doc).

    python benchmarks/core.py [--docs 100] [--paths a,b,c,d] [--cap b=14] [--out FILE.json]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from functools import partial
from importlib import metadata
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: python benchmarks/core.py
    # Put the repository root where the script's folder was: benchmarks/coverage.py must not
    # shadow the ``coverage`` package (numba imports it).
    sys.path[0] = str(Path(__file__).resolve().parents[1])

from benchmarks.datasets import (
    JSON,
    Record,
    SlotCounts,
    data_dir,
    is_valid,
    load_schemas,
    load_split,
    pick_examples,
    score_slots,
    stratified,
)
from extractly import Extraction, ExtractlyError, Extractor
from extractly.scoring import total

MAX_TOKENS = 256
N_CTX = 4096
N_SHOTS = 3
DEFAULT_OUT = Path(__file__).resolve().parent / "results" / "core.json"
PATHS = ("a", "b", "c", "d")
LABELS = {
    "a": "extractly Extractor.run (batch 1)",
    "b": "llama-cpp-python + GBNF from_json_schema",
    "c": "outlines 1.3.3 from_llamacpp + JsonSchema",
    "d": "llama-cpp-python unconstrained + json.loads",
}

Generate = Callable[[str], tuple[str, int | None]]
"""prompt -> (raw output text, output tokens if known)."""


@dataclass
class Task:
    """One intent: its documents, their prompts and the schemas."""

    intent: str
    user_schema: JSON
    decode_schema: JSON
    docs: list[Record]
    prompts: list[str]
    example_ids: list[str]
    extractor: Extractor[dict[str, Any]] | None
    compile_s: float


@dataclass
class Outcome:
    """One document through one path."""

    id: str
    intent: str
    seconds: float
    valid: bool
    prediction: JSON | None
    raw: str
    counts: SlotCounts
    output_tokens: int | None = None
    error: str = ""


@dataclass
class PathRun:
    key: str
    label: str
    schema: str
    setup_s: float = 0.0
    compile_s: dict[str, float] = field(default_factory=dict)
    first_call_extra_s: dict[str, float] = field(default_factory=dict)
    outcomes: list[Outcome] = field(default_factory=list)
    error: str = ""
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Config:
    docs: int
    paths: tuple[str, ...]
    batch_sizes: tuple[int, ...]
    threads: int
    max_tokens: int
    gbnf_schema: str
    outlines_schema: str
    caps: dict[str, int]
    out: Path


# -- judging --------------------------------------------------------------------------------


def judge(doc: Record, schema: JSON, raw: str, seconds: float, tokens: int | None) -> Outcome:
    """Parse a peer's raw output, validate it against the intent's schema and score it."""
    error, value = "", None
    try:
        value = json.loads(raw.strip())
        valid = is_valid(value, schema)
        if not valid:
            error = "schema-invalid"
    except json.JSONDecodeError as exc:
        valid, error = False, f"not JSON: {exc}"
    prediction = value if valid else None
    return Outcome(doc.id, doc.schema, seconds, valid, prediction, raw,
                   score_slots(prediction, doc.gold), tokens, error)


def failed(doc: Record, seconds: float, raw: str, exc: BaseException) -> Outcome:
    error = f"{type(exc).__name__}: {exc}"[:500]
    return Outcome(doc.id, doc.schema, seconds, False, None, raw, score_slots(None, doc.gold),
                   None, error)


def first_call_extra(outcomes: Sequence[Outcome]) -> float | None:
    """Time of the first document minus the mean of the others (one schema)."""
    if len(outcomes) < 2:
        return None
    return outcomes[0].seconds - statistics.fmean(o.seconds for o in outcomes[1:])


def record_first_calls(run: PathRun, task: Task, outcomes: list[Outcome]) -> None:
    extra = first_call_extra(outcomes)
    if extra is not None:
        run.first_call_extra_s[task.intent] = extra
    run.outcomes.extend(outcomes)


def capped(tasks: Sequence[Task], config: Config, key: str) -> list[Task]:
    """``tasks`` cut to the path's ``--cap`` (the first documents of each intent, stratified)."""
    cap = config.caps.get(key)
    docs = [d for t in tasks for d in t.docs]
    if cap is None or cap >= len(docs):
        return list(tasks)
    keep = {d.id for d in stratified(docs, cap, [t.intent for t in tasks])}
    out = []
    for t in tasks:
        pairs = [(d, p) for d, p in zip(t.docs, t.prompts, strict=True) if d.id in keep]
        if pairs:
            out.append(replace(t, docs=[d for d, _ in pairs], prompts=[p for _, p in pairs]))
    return out


# -- preparation (extractly renders every prompt) ---------------------------------------------


def warm_up(threads: int) -> tuple[float, Path]:
    """Load the model once (probe, weights, vocabulary) so per-schema builds time only that."""
    started = time.perf_counter()
    schema = {"type": "object", "properties": {"x": {"type": "string"}}}
    extractor = Extractor(schema, max_tokens=8, n_threads=threads)
    extractor.close()
    return time.perf_counter() - started, extractor.model_path


def prepare(config: Config, keep_extractors: bool) -> list[Task]:
    schemas = load_schemas()
    train = load_split("train")
    docs = stratified(load_split("test"), config.docs, list(schemas))
    tasks = []
    for intent, schema in schemas.items():
        mine = [d for d in docs if d.schema == intent]
        if not mine:
            continue
        shots = pick_examples(train, intent, N_SHOTS)
        started = time.perf_counter()
        extractor: Extractor[dict[str, Any]] = Extractor(
            schema,
            examples=[(e.text, e.gold) for e in shots],
            max_tokens=config.max_tokens,
            n_threads=config.threads,
        )
        compile_s = time.perf_counter() - started
        prompts = [extractor.render_prompt(d.text) for d in mine]
        if not keep_extractors:
            extractor.close()
        tasks.append(Task(intent, schema, extractor.spec.decode_schema, mine, prompts,
                          [e.id for e in shots], extractor if keep_extractors else None,
                          compile_s))
    return tasks


# -- path a: extractly ----------------------------------------------------------------------


def extractly_one(extractor: Extractor[dict[str, Any]], task: Task, doc: Record) -> Outcome:
    started = time.perf_counter()
    item: Extraction[dict[str, Any]] | ExtractlyError
    try:
        item = extractor.run(doc.text)
    except ExtractlyError as exc:
        item = exc
    return extractly_outcome(task, doc, item, time.perf_counter() - started)


def extractly_outcome(
    task: Task, doc: Record, item: Extraction[dict[str, Any]] | ExtractlyError, seconds: float
) -> Outcome:
    """Judge extractly's raw text like a peer's, but score the value it returned."""
    if isinstance(item, ExtractlyError):
        return failed(doc, seconds, str(getattr(item, "raw_text", "") or ""), item)
    outcome = judge(doc, task.user_schema, item.raw_text, seconds, item.usage.output_tokens)
    if outcome.valid:
        outcome.prediction = item.value
        outcome.counts = score_slots(item.value, doc.gold)
    return outcome


def run_extractly(tasks: Sequence[Task], setup_s: float) -> PathRun:
    run = PathRun("a", LABELS["a"], "decode", setup_s=setup_s)
    run.notes.append("setup = first Extractor in the process (probe, model, vocabulary)")
    for task in tasks:
        assert task.extractor is not None
        run.compile_s[task.intent] = task.compile_s
        outcomes = [extractly_one(task.extractor, task, d) for d in task.docs]
        record_first_calls(run, task, outcomes)
    return run


def run_extractly_batched(tasks: Sequence[Task], size: int) -> PathRun:
    """``run_many`` over each intent's documents; per-document time is the intent's share."""
    run = PathRun(f"a-b{size}", f"extractly run_many(batch_size={size})", "decode")
    run.notes.append("reuses the batch-1 Extractors (no compile); time per doc = batch wall / n")
    for task in tasks:
        assert task.extractor is not None
        started = time.perf_counter()
        items = list(task.extractor.run_many(
            [d.text for d in task.docs], batch_size=size, return_exceptions=True))
        share = (time.perf_counter() - started) / len(task.docs)
        pairs = zip(task.docs, items, strict=True)
        run.outcomes.extend(extractly_outcome(task, d, item, share) for d, item in pairs)
    return run


# -- peers: one Llama, one builder per path ---------------------------------------------------


Builder = Callable[[Task], tuple[Generate, str]]
"""Per intent: build the path's generator (timed as compile); name the schema it uses."""


def run_peer(key: str, tasks: Sequence[Task], build: Builder) -> PathRun:
    """Build each intent's generator (timed as compile), then decode its documents one by one."""
    run = PathRun(key, LABELS[key], "")
    used: list[str] = []
    for task in tasks:
        started = time.perf_counter()
        generate, schema_name = build(task)
        run.compile_s[task.intent] = time.perf_counter() - started
        used.append(schema_name)
        pairs = zip(task.docs, task.prompts, strict=True)
        outcomes = [peer_one(generate, task, d, p) for d, p in pairs]
        record_first_calls(run, task, outcomes)
    run.schema = "/".join(dict.fromkeys(used))
    return run


def peer_one(generate: Generate, task: Task, doc: Record, prompt: str) -> Outcome:
    started = time.perf_counter()
    try:
        raw, tokens = generate(prompt)
    except Exception as exc:  # a peer library may raise anything; record it, keep going
        return failed(doc, time.perf_counter() - started, "", exc)
    return judge(doc, task.user_schema, raw, time.perf_counter() - started, tokens)


def load_llama(model_path: Path, threads: int) -> Any:
    import llama_cpp

    return llama_cpp.Llama(
        model_path=str(model_path), n_ctx=N_CTX, n_threads=threads, verbose=False, seed=0
    )


def llama_complete(llm: Any, max_tokens: int, **options: Any) -> Generate:
    def generate(prompt: str) -> tuple[str, int | None]:
        out = llm(prompt, max_tokens=max_tokens, temperature=0, **options)
        return str(out["choices"][0]["text"]), int(out["usage"]["completion_tokens"])

    return generate


def gbnf_builder(llm: Any, max_tokens: int, which: str) -> Builder:
    """GBNF from the user schema, or (``which="decode"``) from the decode schema when the
    converter accepts it, else from the user schema."""
    from llama_cpp.llama_grammar import LlamaGrammar

    def convert(schema: JSON) -> Any:
        return LlamaGrammar.from_json_schema(json.dumps(schema), verbose=False)

    def build(task: Task) -> tuple[Generate, str]:
        if which == "decode":
            # the converter raises plain exceptions for unsupported keywords
            with contextlib.suppress(Exception):
                return llama_complete(llm, max_tokens, grammar=convert(task.decode_schema)), which
        return llama_complete(llm, max_tokens, grammar=convert(task.user_schema)), "user"

    return build


def outlines_builder(model: Any, max_tokens: int, which: str) -> Builder:
    import outlines
    from outlines.types import JsonSchema

    def build(task: Task) -> tuple[Generate, str]:
        schema = task.decode_schema if which == "decode" else task.user_schema
        generator = outlines.Generator(model, JsonSchema(schema))

        def generate(prompt: str) -> tuple[str, int | None]:
            return str(generator(prompt, max_tokens=max_tokens, temperature=0)), None

        return generate, which

    return build


def run_peers(tasks: Sequence[Task], config: Config, model_path: Path) -> list[PathRun]:
    wanted = [k for k in ("b", "c", "d") if k in config.paths]
    if not wanted:
        return []
    started = time.perf_counter()
    llm = load_llama(model_path, config.threads)
    load_s = time.perf_counter() - started
    runs = []
    for key in wanted:
        llm.reset()  # no path starts with another path's KV cache
        mine = capped(tasks, config, key)
        runs.append(guarded(key, partial(run_one_peer, key, mine, config, llm)))
        runs[-1].setup_s += load_s
        runs[-1].notes.append(f"setup includes Llama load ({load_s:.2f} s, shared by b/c/d)")
    return runs


def run_one_peer(key: str, tasks: Sequence[Task], config: Config, llm: Any) -> PathRun:
    if key == "b":
        return run_peer("b", tasks, gbnf_builder(llm, config.max_tokens, config.gbnf_schema))
    if key == "d":
        complete = llama_complete(llm, config.max_tokens, stop=["\n\n"])
        return run_peer("d", tasks, lambda task: (complete, "none"))
    import outlines

    # outlines_core's numpy kernels need numba. Import them now: inside llama.cpp's sampler
    # callback the ImportError is printed and swallowed, and decoding silently runs unconstrained.
    import outlines_core.kernels.numpy  # noqa: F401

    started = time.perf_counter()
    model = outlines.from_llamacpp(llm, chat_mode=False)  # a base model: send the raw prompt
    wrap_s = time.perf_counter() - started
    run = run_peer("c", tasks, outlines_builder(model, config.max_tokens, config.outlines_schema))
    run.setup_s += wrap_s
    run.notes.append(f"setup includes outlines.from_llamacpp vocabulary scan ({wrap_s:.2f} s)")
    run.notes.append("outlines resets the Llama after every call: no prompt-prefix KV reuse")
    return run


def guarded(key: str, body: Callable[[], PathRun]) -> PathRun:
    """Run a path; a path that fails as a whole is reported with its error, not fatal."""
    try:
        return body()
    except Exception as exc:
        return PathRun(key, LABELS.get(key, key), "", error=f"{type(exc).__name__}: {exc}"[:1000])


# -- reporting --------------------------------------------------------------------------------


def mean_or_none(values: Sequence[float]) -> float | None:
    return statistics.fmean(values) if values else None


def same_docs_baseline(run: PathRun, base: PathRun | None) -> JSON | None:
    """Path a's s/doc and F1 on exactly this run's documents (None if a lacks some)."""
    if base is None:
        return None
    by_id = {o.id: o for o in base.outcomes}
    same = [by_id[o.id] for o in run.outcomes if o.id in by_id]
    if not same or len(same) < len(run.outcomes):
        return None
    return {
        "docs": len(same),
        "s_per_doc": statistics.fmean(o.seconds for o in same),
        "f1": total(o.counts for o in same).f1,
    }


def summarize(run: PathRun, base: PathRun | None) -> JSON:
    n = len(run.outcomes)
    seconds = [o.seconds for o in run.outcomes]
    busy = math.fsum(seconds)
    counts = total(o.counts for o in run.outcomes)
    s_doc = statistics.fmean(seconds) if n else None
    a_same = same_docs_baseline(run, base)
    return {
        "path": run.key,
        "label": run.label,
        "schema": run.schema,
        "docs": n,
        "s_per_doc": s_doc,
        "docs_per_s": n / busy if busy else None,
        "valid_rate": sum(o.valid for o in run.outcomes) / n if n else None,
        "precision": counts.precision,
        "recall": counts.recall,
        "f1": counts.f1,
        "slot_counts": asdict(counts),
        "compile_s_mean": mean_or_none(list(run.compile_s.values())),
        "first_call_extra_s_mean": mean_or_none(list(run.first_call_extra_s.values())),
        "setup_s": run.setup_s,
        "ratio_vs_a": s_doc / a_same["s_per_doc"] if s_doc and a_same else None,
        "a_same_docs": a_same,
        "error": run.error,
    }


def fmt(value: Any, spec: str) -> str:
    return "-" if value is None else format(value, spec)


HEADER = (f"{'path':<6}{'schema':<8}{'docs':>5}{'s/doc':>8}{'docs/s':>8}{'valid':>7}"
          f"{'P':>7}{'R':>7}{'F1':>7}{'compile s':>11}{'1st+ s':>8}{'x a':>7}  label")


def table_line(r: JSON) -> str:
    line = (f"{r['path']:<6}{r['schema']:<8}{r['docs']:>5}{fmt(r['s_per_doc'], '.3f'):>8}"
            f"{fmt(r['docs_per_s'], '.2f'):>8}{fmt(r['valid_rate'], '.0%'):>7}"
            f"{r['precision']:>7.3f}{r['recall']:>7.3f}{r['f1']:>7.3f}"
            f"{fmt(r['compile_s_mean'], '.3f'):>11}{fmt(r['first_call_extra_s_mean'], '.3f'):>8}"
            f"{fmt(r['ratio_vs_a'], '.2f'):>7}  {r['label']}")
    return line + (f"  FAILED: {r['error']}" if r["error"] else "")


def print_table(rows: Sequence[JSON]) -> None:
    print(HEADER)
    print("-" * len(HEADER))
    for r in rows:
        print(table_line(r))
    full = max((r["docs"] for r in rows), default=0)
    for r in rows:
        same = r["a_same_docs"]
        if same and r["docs"] < full:
            print(f"  {r['path']}: capped to {r['docs']} docs; path a on the same docs: "
                  f"{same['s_per_doc']:.3f} s/doc, F1 {same['f1']:.3f} ('x a' uses these)")


def versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for dist in ("extractly", "llama_cpp_python", "outlines", "outlines_core", "llguidance"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = "not installed"
    return out


def report(config: Config, tasks: Sequence[Task], runs: Sequence[PathRun], wall_s: float,
           model_path: Path) -> JSON:
    base = next((r for r in runs if r.key == "a" and r.outcomes), None)
    rows = [summarize(r, base) for r in runs]
    print_table(rows)
    return {
        "benchmark": "core",
        "config": {
            "docs": sum(len(t.docs) for t in tasks),
            "docs_per_intent": {t.intent: len(t.docs) for t in tasks},
            "examples_per_intent": {t.intent: t.example_ids for t in tasks},
            "paths": list(config.paths),
            "caps": config.caps,
            "gbnf_schema": config.gbnf_schema,
            "outlines_schema": config.outlines_schema,
            "max_tokens": config.max_tokens,
            "n_threads": config.threads,
            "llama_n_ctx": N_CTX,
            "decoding": "greedy (temperature 0)",
            "model": str(model_path),
            "data": str(data_dir() / "snips"),
            "scoring": "invalid output predicts nothing; exact match after strip; null/'' absent",
            "versions": versions(),
            "argv": sys.argv,
            "wall_s": wall_s,
        },
        "rows": rows,
        "runs": [
            {**{k: v for k, v in asdict(r).items() if k != "outcomes"},
             "docs": [asdict(o) for o in r.outcomes]}
            for r in runs
        ],
    }


# -- main -------------------------------------------------------------------------------------


def run_all(config: Config) -> tuple[list[Task], list[PathRun], Path]:
    setup_s, model_path = warm_up(config.threads)
    tasks = prepare(config, keep_extractors="a" in config.paths)
    runs: list[PathRun] = []
    if "a" in config.paths:
        runs.append(guarded("a", partial(run_extractly, capped(tasks, config, "a"), setup_s)))
        runs.extend(
            guarded(f"a-b{k}", partial(run_extractly_batched, capped(tasks, config, f"a-b{k}"), k))
            for k in config.batch_sizes
        )
        for task in tasks:
            if task.extractor is not None:
                task.extractor.close()
    runs.extend(run_peers(tasks, config, model_path))
    return tasks, runs, model_path


def parse_args(argv: Sequence[str] | None = None) -> Config:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--docs", type=int, default=100, help="test documents, stratified by intent")
    p.add_argument("--paths", default=",".join(PATHS), help="comma-separated subset of a,b,c,d")
    p.add_argument("--batch-sizes", default="4,8", help="extractly run_many rows ('' for none)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--max-tokens", type=int, default=MAX_TOKENS)
    p.add_argument("--gbnf-schema", choices=("user", "decode"), default="user",
                   help="schema for path b; 'decode' (maxLength 256 per string, as extractly) "
                        "took over 100 s per document in trials")
    p.add_argument("--outlines-schema", choices=("user", "decode"), default="user",
                   help="schema for path c; 'decode' took about 5 min to compile one intent")
    p.add_argument("--cap", default="b=14",
                   help="run some paths on fewer docs, e.g. 'b=14,c=50' ('' for none); their "
                        "ratio to a is taken on the same docs")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT)
    a = p.parse_args(argv)
    paths = tuple(k for k in PATHS if k in {s.strip() for s in a.paths.split(",")})
    sizes = tuple(int(s) for s in a.batch_sizes.split(",") if s.strip())
    caps = {k.strip(): int(v) for k, v in (c.split("=") for c in a.cap.split(",") if c.strip())}
    return Config(a.docs, paths, sizes, a.threads, a.max_tokens, a.gbnf_schema,
                  a.outlines_schema, caps, a.out)


def main(argv: Sequence[str] | None = None) -> int:
    config = parse_args(argv)
    load_before = os.getloadavg()
    started = time.perf_counter()
    tasks, runs, model_path = run_all(config)
    result = report(config, tasks, runs, time.perf_counter() - started, model_path)
    result["config"]["loadavg_before_after"] = [load_before, os.getloadavg()]
    config.out.parent.mkdir(parents=True, exist_ok=True)
    config.out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"\nwall {result['config']['wall_s']:.1f} s; wrote {config.out}")
    return 1 if any(r.error for r in runs) else 0


if __name__ == "__main__":
    sys.exit(main())
