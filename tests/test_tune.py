"""Fine-tuning end to end: a real short LoRA tune -> adapter GGUF -> llama.cpp -> extraction.

The tune is tiny (20 SNIPS GetWeather pairs, 6 steps) so it proves the pipeline, not accuracy.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from benchmarks.datasets import data_dir
from extractly import Extractor
from extractly.adapter_registry import SHIPPED_GENERAL, lookup
from extractly.errors import ModelNotFoundError
from extractly.evaluation import evaluate, gold_row
from extractly.model_files import resolve_model_path
from extractly.options import Safeguards
from extractly.schema import load_schema
from extractly.tune import TuneConfig, TuneDataError, inspect_data, tune
from extractly.tune.dataset import read_pairs

pytest.importorskip("peft")


def _schema(name: str = "GetWeather") -> dict[str, Any]:
    schemas: dict[str, Any] = json.loads((data_dir() / "snips" / "schemas.json").read_text())
    return dict(schemas[name])


def _rows(split: str, n: int, name: str = "GetWeather") -> list[dict[str, Any]]:
    rows = []
    with open(data_dir() / "snips" / f"{split}.jsonl", encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            if row["schema"] == name:
                rows.append(row)
            if len(rows) == n:
                break
    return rows


@pytest.fixture(scope="module")
def tuned(tmp_path_factory: pytest.TempPathFactory) -> Any:
    tmp = tmp_path_factory.mktemp("tune")
    train = tmp / "train.jsonl"
    train.write_text("".join(json.dumps(r) + "\n" for r in _rows("train", 20)))
    mp = pytest.MonkeyPatch()
    mp.setenv("EXTRACTLY_ADAPTERS", str(tmp / "registry"))
    result = tune(
        _schema(),
        train,
        out_dir=tmp / "out",
        config=TuneConfig(max_steps=6, batch_size=4, epochs=10),
        progress=None,
    )
    yield result
    mp.undo()


@pytest.fixture(scope="module")
def tuned_music(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A second schema's adapter, for hot-swapping (never registered), tuned for verbatim
    extraction."""
    tmp = tmp_path_factory.mktemp("tune_music")
    train = tmp / "train.jsonl"
    train.write_text("".join(json.dumps(r) + "\n" for r in _rows("train", 12, "PlayMusic")))
    return tune(
        _schema("PlayMusic"),
        train,
        out_dir=tmp / "out",
        config=TuneConfig(max_steps=3, batch_size=4, verbatim=True),
        register_adapter=False,
        progress=None,
    )


def test_training_tokens_replay_the_constrained_decoder() -> None:
    """The target ids are the decoder's: forced runs as the constraint forces them, loss only
    on the tokens the model chooses."""
    from extractly.constraint import compile_constraint
    from extractly.engine.llama import load_model
    from extractly.engine.tokenizer import tokenizer_for
    from extractly.tune.dataset import encode, make_pair

    spec = load_schema(_schema(), Safeguards())
    llama = load_model(resolve_model_path(None))
    tok = tokenizer_for(llama)
    constraint = compile_constraint(spec.decode_schema, tok)
    rows = _rows("train", 5)
    pairs = [make_pair(r["text"], r["gold"], spec) for r in rows]
    for pair, enc in zip(pairs, encode(pairs, spec, llama.tokenize, llama.bos, constraint, tok),
                         strict=True):
        assert tok.decode_bytes(list(enc.target)).decode() == pair.target
        assert len(enc.free) == len(enc.target) and 0 < sum(enc.free) < len(enc.target)
        matcher = constraint.new_matcher()
        for token, free in zip(enc.target, enc.free, strict=True):
            forced = matcher.compute_ff_tokens()
            assert (not free) == bool(forced)  # a chosen token is never one the grammar forces
            assert matcher.consume_token(token)
        assert matcher.is_stopped() or matcher.is_accepting()
        assert enc.prompt[0] == llama.bos and "Text: " in tok.decode_str(list(enc.prompt))


def test_training_target_is_the_decoder_output() -> None:
    spec = load_schema(_schema(), Safeguards())
    path = data_dir() / "snips" / "train.jsonl"
    row = _rows("train", 1)[0]
    pair = read_pairs_from(path, spec, row)
    # compact, schema order, every key present
    assert pair.target == json.dumps(row["gold"], separators=(",", ":"), ensure_ascii=False)
    assert list(json.loads(pair.target)) == list(_schema()["properties"])


def test_a_label_without_its_optional_lists_and_defaults_is_learned_as_decoded() -> None:
    """A label may leave out what the user's schema lets it leave out (a list with a default,
    an optional field inside objects in a list): the pair is accepted, and its target is what
    the constrained decoder writes, token for token."""
    from extractly.constraint import compile_constraint
    from extractly.engine.llama import load_model
    from extractly.engine.tokenizer import tokenizer_for
    from extractly.tune.dataset import encode, make_pair
    from schemas.podcast import PodcastEpisode

    spec = load_schema(PodcastEpisode, Safeguards())
    llama = load_model(resolve_model_path(None))
    tok = tokenizer_for(llama)
    constraint = compile_constraint(spec.decode_schema, tok)
    text = "Episode 3 of Night Owls, hosted by Ann Lee."
    pair = make_pair(text, {"title": "Night Owls", "episode_number": 3, "host": "Ann Lee"}, spec)
    assert json.loads(pair.target)["guests"] == [] and json.loads(pair.target)["topics"] == []
    (enc,) = encode([pair], spec, llama.tokenize, llama.bos, constraint, tok)
    assert tok.decode_bytes(list(enc.target)).decode() == pair.target


def read_pairs_from(path: Path, spec: Any, row: dict[str, Any]) -> Any:
    from extractly.tune.dataset import make_pair

    return make_pair(row["text"], {k: v for k, v in row["gold"].items() if v is not None}, spec)


def test_bad_line_names_file_and_line(tmp_path: Path) -> None:
    spec = load_schema(_schema(), Safeguards())
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "rain in Oslo", "output": {"city": "Oslo"}}\n'
                   '{"text": "x", "output": {"city": 3}}\n')
    with pytest.raises(TuneDataError, match=r"bad.jsonl:2: .* at /city"):
        read_pairs(bad, spec)


def test_verbatim_tune_ranks_the_allowed_tokens_and_extracts_copies(tuned_music: Any) -> None:
    """Tuned with verbatim fields: the targets' value tokens are choices among few allowed
    tokens (the restricted loss), the manifest lists the fields, and an Extractor using the
    adapter copies them from the text."""
    from extractly.constraint import compile_constraint
    from extractly.engine.llama import load_model
    from extractly.engine.tokenizer import tokenizer_for
    from extractly.tune.dataset import SMALL_CHOICE, encode, make_pair

    fields = list(_schema("PlayMusic")["properties"])
    assert tuned_music.manifest["verbatim"] == fields  # every slot is a free string
    spec = load_schema(_schema("PlayMusic"), Safeguards())
    llama = load_model(resolve_model_path(None))
    tok = tokenizer_for(llama)
    plain = compile_constraint(spec.decode_schema, tok)
    copying = compile_constraint(spec.decode_schema, tok, verbatim_fields=tuple(fields))
    pairs = [make_pair(r["text"], r["gold"], spec) for r in _rows("train", 5, "PlayMusic")]
    small = {}
    for name, constraint in (("plain", plain), ("verbatim", copying)):
        encoded = encode(pairs, spec, llama.tokenize, llama.bos, constraint, tok)
        chosen = [a for e in encoded for a, f in zip(e.allowed, e.free, strict=True) if f]
        assert all(a is None or 0 < len(a) <= SMALL_CHOICE for a in chosen)
        small[name] = sum(a is not None for a in chosen) / len(chosen)
        for e, pair in zip(encoded, pairs, strict=True):  # the same target either way
            assert tok.decode_bytes(list(e.target)).decode() == pair.target
    assert small["verbatim"] > 0.9 > small["plain"]  # copying: (almost) every choice is small
    with Extractor(_schema("PlayMusic"), adapter=tuned_music.adapter) as ex:
        assert ex.verbatim == tuple(fields)
        for row in _rows("test", 3, "PlayMusic"):
            value = ex.run(row["text"]).value
            assert all(v is None or v in row["text"] for v in value.values())


def test_tuned_adapter_extracts_with_only_the_text(tuned: Any) -> None:
    assert tuned.adapter.stat().st_size > 100_000
    assert tuned.manifest["metrics"]["steps"] == 6
    history = tuned.manifest["metrics"]["history"]
    assert history and history[-1]["val_loss"] < 2.0  # the base model starts near 3
    with Extractor(_schema(), adapter=tuned.adapter) as ex:
        assert ex.prefix_tokens == 1  # BOS only: no instructions, no examples
        assert ex.render_prompt("rain in Oslo?") == "Text: rain in Oslo?\nJSON:\n"
        for row in _rows("test", 3):
            value = ex.run(row["text"]).value
            assert list(value) == list(_schema()["properties"])
        rows = [gold_row(r, f"test:{i}") for i, r in enumerate(_rows("test", 3))]
        tuned_report = evaluate(ex, rows).to_json()
    assert tuned_report["adapter"] == str(tuned.adapter)
    with Extractor(_schema(), adapter=None) as base:
        base_report = evaluate(base, rows).to_json()
    assert base_report["adapter"] is None
    # the text-only prompt: far fewer prompt tokens than the base model's instructions
    assert tuned_report["prompt_tokens_mean"] < base_report["prompt_tokens_mean"] / 2


def test_registry_finds_adapter_and_never_a_stale_one(
    tuned: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EXTRACTLY_ADAPTERS", str(tuned.registered.parent.parent))
    model = resolve_model_path(None)
    spec = load_schema(_schema(), Safeguards())
    assert lookup(spec, model) == tuned.registered
    changed = _schema()
    changed["properties"] = dict(reversed(list(changed["properties"].items())))
    assert lookup(load_schema(changed, Safeguards()), model) is None
    with Extractor(changed, adapter="auto") as ex:
        # never the stale adapter: the general one shipped in the package, with the schema's
        # instructions in the prompt
        assert ex.adapter_path == SHIPPED_GENERAL and ex.prefix_tokens > 1
    with pytest.raises(ModelNotFoundError, match="no adapter GGUF"):
        Extractor(_schema(), adapter=tuned.adapter.parent / "missing.gguf")


_SEPARATE = """
import json, sys
from extractly import Extractor
schema, adapter, texts = json.loads(sys.stdin.read())
with Extractor(schema, adapter=adapter) as ex:
    print(json.dumps([ex.run(t).value for t in texts]))
"""


def test_two_adapters_alternating_in_one_process_equal_separate_processes(
    tuned: Any, tuned_music: Any
) -> None:
    import subprocess
    import sys

    weather = [r["text"] for r in _rows("test", 3)]
    music = [r["text"] for r in _rows("test", 3, "PlayMusic")]
    with (
        Extractor(_schema(), adapter=tuned.adapter) as ex_weather,
        Extractor(_schema("PlayMusic"), adapter=tuned_music.adapter) as ex_music,
    ):
        alternating: dict[str, list[Any]] = {"weather": [], "music": []}
        for w, m in zip(weather, music, strict=True):
            alternating["weather"].append(ex_weather.run(w).value)
            alternating["music"].append(ex_music.run(m).value)
        # and batched, interleaved with the other schema's batch
        assert [e.value for e in ex_music.run_many(music)] == alternating["music"]
        assert [e.value for e in ex_weather.run_many(weather)] == alternating["weather"]

    def separate(schema: dict[str, Any], adapter: Path, texts: list[str]) -> list[Any]:
        done = subprocess.run(
            [sys.executable, "-c", _SEPARATE],
            input=json.dumps([schema, str(adapter), texts]),
            capture_output=True,
            text=True,
            check=True,
            timeout=300,
        )
        values: list[Any] = json.loads(done.stdout)
        return values

    assert separate(_schema(), tuned.adapter, weather) == alternating["weather"]
    assert separate(_schema("PlayMusic"), tuned_music.adapter, music) == alternating["music"]


def _lora_on_a_batch(n: int, zero_shot: bool = False) -> tuple[Any, Any, list[Any]]:
    """A PEFT LoRA model with moved weights (B starts at zero; moved, A gets a gradient too),
    its inner causal LM, and ``n`` encoded GetWeather pairs (behind the general adapter's
    zero-shot prompt with ``zero_shot``, else text only)."""
    import torch
    from peft import LoraConfig, get_peft_model

    from extractly.constraint import compile_constraint
    from extractly.engine.llama import load_model
    from extractly.engine.tokenizer import tokenizer_for
    from extractly.model_files import file_sha256
    from extractly.prompt import build_prompt
    from extractly.tune.dataset import encode, make_pair
    from extractly.tune.train import load_base

    spec = load_schema(_schema(), Safeguards())
    path = resolve_model_path(None)
    llama = load_model(path)
    tok = tokenizer_for(llama)
    constraint = compile_constraint(spec.decode_schema, tok)
    pairs = [make_pair(r["text"], r["gold"], spec) for r in _rows("train", n)]
    prompt = build_prompt(spec, zero_shot=True) if zero_shot else None
    batch = encode(pairs, spec, llama.tokenize, llama.bos, constraint, tok, prompt)
    torch.manual_seed(0)
    config = LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "down_proj"])
    model = get_peft_model(load_base(path, file_sha256(path)), config)
    for p in model.parameters():
        if p.requires_grad:
            p.data.normal_(0, 0.02)
    return model, model.get_base_model(), batch


def _value_and_grads(model: Any, inner: Any, batch: list[Any], micro: int,
                     share_prompt: bool = True) -> tuple[float, Any]:
    from extractly.tune.train import accumulate_batch

    model.zero_grad(set_to_none=True)
    value = float(accumulate_batch(inner, batch, micro, share_prompt))
    chosen = [p.grad for p in model.parameters() if p.requires_grad]
    assert all(g is not None for g in chosen)
    return value, [g.clone() for g in chosen if g is not None]


@pytest.mark.filterwarnings("ignore::FutureWarning")  # transformers deprecations inside peft
def test_micro_batches_accumulate_the_whole_batch_gradient() -> None:
    """A batch split into micro batches (the default bounds peak memory) gets the gradient of
    the whole batch, weighted by chosen tokens."""
    import torch

    model, inner, batch = _lora_on_a_batch(5)
    (whole_value, whole), (split_value, split) = (
        _value_and_grads(model, inner, batch, micro) for micro in (5, 2)
    )
    assert whole_value == pytest.approx(split_value, rel=1e-5)
    for a, b in zip(whole, split, strict=True):
        assert torch.allclose(a, b, rtol=1e-3, atol=1e-6)


@pytest.mark.filterwarnings("ignore::FutureWarning")  # transformers deprecations inside peft
def test_a_shared_prompt_run_once_gives_the_loss_and_gradient_of_whole_sequences() -> None:
    """Behind a general adapter's prompt every sequence starts with the same instructions and
    field list; the step runs them once and broadcasts their keys and values. Loss and LoRA
    gradients match running every sequence whole (bf16 base weights: to rounding)."""
    import torch

    from extractly.tune import train

    model, inner, batch = _lora_on_a_batch(4, zero_shot=True)
    shared = train.shared_prompt_length(batch)
    assert shared >= train.SHARED_PROMPT_MIN  # the instructions and field list
    assert all(len(e.prompt) > shared for e in batch)
    once_value, once = _value_and_grads(model, inner, batch, 4)
    whole_value, whole = _value_and_grads(model, inner, batch, 4, share_prompt=False)
    assert once_value == pytest.approx(whole_value, rel=2e-3)
    for a, b in zip(once, whole, strict=True):
        assert torch.allclose(a, b, rtol=2e-2, atol=2e-4), float((a - b).abs().max())


def test_the_manifest_records_what_the_data_showed_and_what_was_chosen(tmp_path: Path) -> None:
    """A real (two-step) tune on the made-up orders: each detector's finding and the choice it
    led to are in the manifest, the plan is printed, the held-out slice is extracted with the
    new adapter and scored per field, and an Extractor using the adapter copies the fields the
    plan chose."""
    from tests.support.orders import ORDER_SCHEMA, write_orders

    train = write_orders(tmp_path / "orders.jsonl", 30)
    lines: list[str] = []
    config = TuneConfig(max_steps=2, batch_size=4)
    inspected = inspect_data(ORDER_SCHEMA, train, config)  # as `--explain` does first
    result = tune(ORDER_SCHEMA, train, out_dir=tmp_path / "out", config=config,
                  register_adapter=False, progress=lines.append, inspection=inspected)
    manifest = result.manifest
    assert manifest == json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["plan"] == inspected.plan.to_json()
    assert manifest["metrics"]["kept_step"] == manifest["metrics"]["steps"] == 2  # ran its plan
    found = manifest["data_profile"]["fields"]
    assert found["customer"]["verbatim_share"] == 1.0 and found["customer"]["distinct"] == 4
    assert found["date"]["verbatim_share"] == 0.0
    assert found["size"]["value_counts"] == {"small": 16, "medium": 14, "large": 2}
    assert found["gift_note"]["null_share"] > 0.95
    assert manifest["data_profile"]["duplicates"] == [[f"{train}:1", f"{train}:31"]]
    choices = {c["setting"]: c for c in manifest["plan"]["choices"]}
    assert choices["verbatim"]["value"] == ["customer", "city", "gift_note"]
    assert choices["synthetic_values"]["value"] == 0.5
    assert "customer (4 values" in choices["synthetic_values"]["reason"]
    assert choices["swap_enums"]["value"] == ["size"]
    assert choices["epochs"]["source"] == "data"
    assert manifest["verbatim"] == ["customer", "city", "gift_note"]
    assert any("gift_note is null" in w for w in manifest["plan"]["warnings"])
    assert "tune: verbatim = [\"customer\", \"city\", \"gift_note\"] (data)" in lines
    held_out = manifest["held_out"]
    assert held_out["n"] == 3 and list(held_out["fields"]) == list(ORDER_SCHEMA["properties"])
    assert result.held_out is not None and result.held_out.n == 3
    table = next(line for line in lines if "held-out" in line)
    assert "field" in table and "customer" in table and "(micro)" in table
    with Extractor(ORDER_SCHEMA, adapter=result.adapter) as ex:
        assert ex.verbatim == ("customer", "city", "gift_note")
