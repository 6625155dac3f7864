"""Seconds per tune step behind a general adapter's prompt, its shared prefix run once against
run in every sequence (the "before"), beside a text-only step, in one process.

A tune that starts from a general adapter (``extractly tune --start-from``) trains behind the
adapter's zero-shot prompt: the schema's instructions and field list, the same tokens before
every text. ``extractly.tune.train`` runs that shared prefix once per micro batch and
broadcasts its keys and values (``shared_prompt_length``); with ``share_prompt=False`` it runs
every sequence whole, as before. For each set: one batch of
``--batch`` training pairs of one schema, a LoRA on the base weights (``TuneConfig``'s rank,
targets and micro batch), and a forward and backward pass over the batch, the three ways
taken in turn ``--repeats`` times (so drift on this VM falls on each alike).

    python benchmarks/tune_step.py [--sets snips:GetWeather,usaddress:USAddress]
        [--batch 8] [--repeats 5] [--out FILE.json]

Run it alone on the machine: it is a timing benchmark.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path[0] = str(Path(__file__).resolve().parents[1])

from benchmarks.datasets import load_schemas, load_split
from extractly.constraint import compile_constraint
from extractly.engine.llama import load_model
from extractly.engine.tokenizer import tokenizer_for
from extractly.model_files import file_sha256, resolve_model_path
from extractly.options import Safeguards
from extractly.prompt import build_prompt
from extractly.schema import load_schema
from extractly.settings import thread_count
from extractly.tune import train
from extractly.tune.config import TuneConfig
from extractly.tune.dataset import Encoded, encode, make_pair

JSON = dict[str, Any]
WAYS = ("text only", "general prompt, whole", "general prompt, shared once")


def batches(dataset: str, schema_name: str, n: int) -> tuple[list[Encoded], list[Encoded]]:
    """``n`` training pairs of one schema, encoded text-only and behind the zero-shot prompt."""
    schema = load_schemas(dataset)[schema_name]
    spec = load_schema(schema, Safeguards())
    path = resolve_model_path(None)
    llama = load_model(path)
    tok = tokenizer_for(llama)
    constraint = compile_constraint(spec.decode_schema, tok)
    rows = [r for r in load_split("train", dataset) if r.schema == schema_name][:n]
    pairs = [make_pair(r.text, r.gold, spec) for r in rows]
    plain = encode(pairs, spec, llama.tokenize, llama.bos, constraint, tok)
    general = encode(pairs, spec, llama.tokenize, llama.bos, constraint, tok,
                     build_prompt(spec, zero_shot=True))
    return plain, general


def step_seconds(inner: Any, model: Any, batch: list[Encoded], micro: int, shared: bool) -> float:
    """One forward and backward pass over ``batch``, the shared prefix run once or not."""
    model.zero_grad(set_to_none=True)
    start = time.perf_counter()
    train.accumulate_batch(inner, batch, micro, share_prompt=shared)
    return time.perf_counter() - start


def measure(dataset: str, schema_name: str, n: int, repeats: int) -> JSON:
    import torch
    from peft import LoraConfig, get_peft_model

    config = TuneConfig()
    torch.set_num_threads(thread_count())
    plain, general = batches(dataset, schema_name, n)
    path = resolve_model_path(None)
    torch.manual_seed(0)
    lora = LoraConfig(r=config.rank, lora_alpha=config.alpha,
                      target_modules=list(config.target_modules), lora_dropout=0.0)
    model = get_peft_model(train.load_base(path, file_sha256(path)), lora)
    inner = model.get_base_model()
    runs = ((plain, False), (general, False), (general, True))
    step_seconds(inner, model, general, config.micro_batch, True)  # warm-up
    times: list[list[float]] = [[] for _ in runs]
    for _ in range(repeats):
        for k, (batch, shared) in enumerate(runs):
            times[k].append(step_seconds(inner, model, batch, config.micro_batch, shared))
    medians = [statistics.median(t) for t in times]
    return {
        "set": f"{dataset}:{schema_name}",
        "batch": len(plain),
        "micro_batch": config.micro_batch,
        "prompt_tokens_text_only": statistics.mean(len(e.prompt) for e in plain),
        "prompt_tokens_general": statistics.mean(len(e.prompt) for e in general),
        "target_tokens": statistics.mean(len(e.target) for e in plain),
        "shared_prefix_tokens": train.shared_prompt_length(general[: config.micro_batch]),
        "seconds": {way: {"median": m, "all": t} for way, m, t in zip(WAYS, medians, times,
                                                                       strict=True)},
        "whole_over_shared": medians[1] / medians[2],
        "shared_over_text_only": medians[2] / medians[0],
        "whole_over_text_only": medians[1] / medians[0],
    }


def table(rows: Sequence[JSON]) -> str:
    head = ("| set | prompt tokens text / general (shared) | target tokens | s/step text only | "
            "general whole (before) | general shared once | whole / shared | shared / text |")
    lines = [head, "|" + "---|" * 8]
    for r in rows:
        s = r["seconds"]
        lines.append(
            f"| {r['set']} | {r['prompt_tokens_text_only']:.0f} / "
            f"{r['prompt_tokens_general']:.0f} ({r['shared_prefix_tokens']}) | "
            f"{r['target_tokens']:.0f} | {s[WAYS[0]]['median']:.2f} | "
            f"{s[WAYS[1]]['median']:.2f} | {s[WAYS[2]]['median']:.2f} | "
            f"{r['whole_over_shared']:.2f}x | {r['shared_over_text_only']:.2f}x |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument("--sets", default="snips:GetWeather,usaddress:USAddress",
                    help="comma-separated DATASET:SCHEMA")
    ap.add_argument("--batch", type=int, default=TuneConfig().batch_size)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--out", default="benchmarks/results/tune_step.json")
    args = ap.parse_args(argv)
    rows = []
    for item in args.sets.split(","):
        dataset, _, schema_name = item.partition(":")
        rows.append(measure(dataset, schema_name, args.batch, args.repeats))
        print(table(rows[-1:]), flush=True)
    print(table(rows))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"threads": thread_count(), "rows": rows}, indent=1))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
