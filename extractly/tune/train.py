"""LoRA fine-tuning of the base GGUF model for one schema, on the CPU. Needs the ``[tune]`` extra.

The only weights are the embedded Q4_K_M GGUF. transformers dequantizes it to float32; that
plain checkpoint is saved once under the cache directory (``hf-base/<sha256[:16]>``) so later
tunes skip the dequantization, and so the GGUF quantizer transformers attaches to a GGUF-loaded
model (which blocks training) is never in the way.

Loss is cross-entropy on the target (JSON) tokens the decoder chooses (tokens the constraint
forces are context, never sampled, so they carry no loss), and the 262k-way output head runs
only at those positions: hidden states are gathered before ``lm_head``, which is most of the
cost of a naive full-sequence loss. The head and its loss are fused (``head_loss``): logits
are made a chunk of positions at a time and the gradient with respect to the hidden states is
taken in the same pass, so a 262k-wide logits tensor is never kept for the backward pass.

Precision: on a CPU with native bfloat16 matrix units (AVX512-BF16 / AMX, as here) the frozen
base weights are held in bfloat16 and the LoRA matrices, their gradients and the optimizer in
float32; log-sum-exp and the loss are float32. On this machine a step over 8 address-length
sequences (220 tokens) took 6.0 s and 4.6 GB peak against 8.8 s and 6.6 GB in float32.
``TuneConfig(precision="fp32")`` keeps everything in float32. Deterministic for a given seed,
precision and thread count. Progress (step, loss, validation loss, ETA) goes to stderr. This
module does not write the GGUF adapter (``export.py``) or register it (``registry.py``).
"""

from __future__ import annotations

import copy
import math
import random
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ..engine.build_flags import cpu_flags
from ..model_files import cache_dir
from ..progress import ProgressBar
from ..settings import thread_count
from .config import Progress, TuneConfig, stderr_progress
from .dataset import Encoded
from .plan import Schedule


@dataclass
class TrainOutcome:
    lora: dict[str, npt.NDArray[np.float32]]
    """PEFT state-dict names -> LoRA A/B matrices (the best validation checkpoint)."""
    metrics: dict[str, Any]


def load_torch() -> Any:
    """Import torch. Done before llama.cpp loads in a tuning process: ``engine.cpu_share``
    sets ``GOMP_SPINCOUNT`` low for llama.cpp's threads (they share the CPU with other
    processes), and torch's own OpenMP runtime would read it too if loaded after, which made
    training steps about 10% slower here (4.6 against 5.1 s a step on E2E)."""
    import torch

    return torch


def load_base(gguf_path: Path, base_sha256: str) -> Any:
    """The base model in float32 as a transformers model (dequantized once, then cached)."""
    import torch
    from transformers import AutoModelForCausalLM

    ckpt = cache_dir() / "hf-base" / base_sha256[:16]
    if not (ckpt / "config.json").is_file():
        model = AutoModelForCausalLM.from_pretrained(
            str(gguf_path.parent), gguf_file=gguf_path.name, dtype=torch.float32
        )
        # A GGUF-loaded model carries the GGUF quantizer, which refuses training and saving.
        model.hf_quantizer = None
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        tmp = ckpt.with_name(ckpt.name + ".tmp")
        model.save_pretrained(str(tmp))
        tmp.replace(ckpt)
        del model
    return AutoModelForCausalLM.from_pretrained(
        str(ckpt), dtype=torch.float32, attn_implementation="sdpa"
    )


def base_dtype(precision: str) -> Any:
    """The torch dtype for the frozen base weights under ``precision``."""
    import torch

    if precision == "fp32":
        return torch.float32
    # without bfloat16 dot-product instructions bf16 is emulated, slower than float32
    if precision == "bf16" or cpu_flags() & {"avx512_bf16", "amx_bf16"}:
        return torch.bfloat16
    return torch.float32


def train_lora(
    base: Any,
    train: Sequence[Encoded],
    val: Sequence[Encoded],
    config: TuneConfig,
    schedule: Schedule,
    *,
    deadline: float | None = None,
    progress: Progress | None = stderr_progress,
    initial: Mapping[str, npt.NDArray[np.float32]] | None = None,
) -> TrainOutcome:
    """Train a LoRA on ``train``, validating on ``val`` every ``schedule.eval_every`` steps.
    ``deadline`` (``time.monotonic()``): once step times are known the schedule is shortened so
    that training ends by then.

    Which weights are kept: the last step's when the schedule runs to its end (the learning rate
    has decayed to 0 there), the best validation checkpoint's only when validation stopped the
    run early. The held-out slice is small (30 pairs for 300) and its loss jumps 2x between
    passes, so in a finished run its best checkpoint is mostly noise taken at a high learning
    rate: on SNIPS SearchScreeningEvent (100 test documents) keeping step 68 of 102 gave 0.915
    slot F1, keeping step 102 gave 0.920.

    ``initial``: LoRA weights to begin from instead of PEFT's initialization (GGUF tensor names,
    ``export.read_adapter``); every LoRA tensor of the model must be in it, in its shape."""
    import torch

    threads = thread_count(config.threads or None)
    torch.set_num_threads(threads)
    torch.manual_seed(config.seed)
    say = _Reporter(progress)

    train = [_clip(e, config.max_seq_len) for e in train]
    val = [_clip(e, config.max_seq_len) for e in val]
    model = _peft_model(base, config, initial)
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=schedule.learning_rate, weight_decay=0.0)
    steps_per_epoch = max(1, math.ceil(len(train) / config.batch_size))
    planned = steps_per_epoch * schedule.epochs
    if config.max_steps is not None:
        planned = min(planned, config.max_steps)
    plan = Steps(planned)
    eval_every = config.eval_every or schedule.eval_every
    # warm-up over the first 10% and linear decay to 0 of the steps that will run: a plan cut
    # to fit the budget gets a shorter warm-up too
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer,
        lambda s: min(1.0, (s + 1) / max(1, plan.total // 10)) * max(0.0, 1 - s / plan.total),
    )
    rng = random.Random(config.seed)
    inner = model.get_base_model()

    best = math.inf
    best_step = 0
    best_state = _lora_state(model)
    stale = 0
    step = 0
    losses: list[float] = []
    history: list[dict[str, float]] = []
    start = time.monotonic()
    stopped: str | None = None
    while step < plan.total and stopped is None:
        order = list(range(len(train)))
        rng.shuffle(order)
        for i in range(0, len(order), config.batch_size):
            if step >= plan.total:
                break
            batch = [train[j] for j in order[i : i + config.batch_size]]
            optimizer.zero_grad(set_to_none=True)
            loss = accumulate_batch(inner, batch, config.micro_batch)
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            optimizer.step()
            scheduler.step()
            step += 1
            losses.append(float(loss.detach()))
            say.step(step, plan.total, losses[-1], time.monotonic() - start)
            if val and (step % eval_every == 0 or step == plan.total):
                val_loss = _evaluate(inner, val, config.batch_size)
                history.append({"step": step, "train_loss": losses[-1], "val_loss": val_loss})
                shown = min(best, val_loss)
                say(f"tune: step {step} validation loss {val_loss:.4f} (best {shown:.4f})")
                if val_loss < best - 1e-4:
                    best, best_step, stale = val_loss, step, 0
                    best_state = _lora_state(model)
                else:
                    stale += 1
                    if schedule.patience is not None and stale >= schedule.patience:
                        say(f"tune: early stop at step {step} (no improvement in {stale} passes)")
                        stopped = "early"
                        break
            if deadline is not None and step >= 3:
                fits = plan.fit(step, time.monotonic() - start, deadline - time.monotonic())
                if fits is not None:
                    say(fits)
                say.retotal(plan.total)
                if step >= plan.total and plan.total < planned:
                    stopped = "budget"
                    break
    say.close()
    kept_step = best_step if val and stopped == "early" else step
    if kept_step == step:
        best_state = _lora_state(model)
    metrics: dict[str, Any] = {
        "steps": step,
        "planned_steps": planned,
        "best_step": best_step if val else step,
        "kept_step": kept_step,
        "train_pairs": len(train),
        "validation_pairs": len(val),
        "final_train_loss": losses[-1] if losses else None,
        "best_validation_loss": None if best == math.inf else best,
        "stopped_early": stopped == "early",
        "stopped_by_budget": stopped == "budget",
        "seconds": round(time.monotonic() - start, 1),
        "threads": threads,
        "history": history,
        "config": {k: v for k, v in asdict(config).items() if k != "target_modules"}
        | {"target_modules": list(config.target_modules)}
        | {"schedule": asdict(schedule)},
    }
    return TrainOutcome(lora=best_state, metrics=metrics)


class Steps:
    """The planned number of steps, fitted to a deadline once step times are known: shortened
    when the steps so far took too long, lengthened again (up to the plan) when they sped up."""

    def __init__(self, planned: int) -> None:
        self.planned = planned
        self.total = planned
        self.told = False

    def fit(self, step: int, elapsed: float, left: float) -> str | None:
        """Set ``total`` so the remaining steps (at the mean time a step has taken so far,
        validation included) end within ``left`` seconds; a message the first time the plan
        is cut."""
        per_step = elapsed / step
        affordable = step + max(0, math.floor(left / per_step))
        self.total = max(step, min(self.planned, affordable))
        if self.total >= self.planned or self.told:
            return None
        self.told = True
        return (f"tune: the time budget allows {self.total} of {self.planned} steps "
                f"({per_step:.1f} s a step so far); the schedule is shortened to end within it")


class _Reporter:
    """Training progress to ``progress``: the default (``stderr_progress``) gets a bar of steps
    with the loss (``extractly.progress``); any other callable gets one line per step, as
    ``tune: step 3/40 loss 0.8123 elapsed 12s eta 148s``; ``None`` gets nothing."""

    def __init__(self, progress: Progress | None) -> None:
        self.progress = progress
        self.bar: ProgressBar | None = None

    def step(self, step: int, total: int, loss: float, elapsed: float) -> None:
        if self.progress is stderr_progress:
            if self.bar is None:
                self.bar = ProgressBar(total, unit="steps", desc="extractly tune")
            self.bar.update(step, loss=f"{loss:.4f}")
        elif self.progress is not None:
            eta = elapsed / step * (total - step)
            self.progress(
                f"tune: step {step}/{total} loss {loss:.4f} elapsed {elapsed:.0f}s eta {eta:.0f}s"
            )

    def __call__(self, line: str) -> None:
        """A line that is not a step (validation loss, early stop)."""
        if self.bar is not None:
            self.bar.write(line)
        elif self.progress is not None:
            self.progress(line)

    def retotal(self, total: int) -> None:
        if self.bar is not None and self.bar.total != total:
            self.bar.set_total(total)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def accumulate_batch(model: Any, batch: Sequence[Encoded], micro: int,
                     share_prompt: bool = True) -> Any:
    """Backpropagate the mean loss over the chosen tokens of ``batch``, ``micro`` sequences at
    a time; return that mean (detached). ``share_prompt=False`` runs a prompt prefix the micro
    batch shares in every sequence (the "before" of ``shared_prompt_length``)."""
    import torch

    parts = [batch[k : k + max(1, micro)] for k in range(0, len(batch), max(1, micro))]
    counts = [sum(sum(e.free) if e.free else len(e.target) for e in p) for p in parts]
    total = max(1, sum(counts))
    value = torch.zeros(())
    for part, count in zip(parts, counts, strict=True):
        if not count:
            continue
        loss, _ = _loss(model, part, share_prompt)
        (loss * (count / total)).backward()
        value += loss.detach() * (count / total)
    return value


def _clip(e: Encoded, max_len: int) -> Encoded:
    """Trim the prompt's text (never the target) so prompt + target fit ``max_len``."""
    room = max_len - len(e.target)
    if room <= 1 or len(e.prompt) <= room:
        return e
    return Encoded(prompt=e.prompt[:room], target=e.target, free=e.free, allowed=e.allowed)


def _loss(model: Any, batch: Sequence[Encoded], share_prompt: bool = True) -> tuple[Any, int]:
    """Mean cross-entropy over the chosen target tokens of ``batch`` and how many there are.

    Where the constraint allowed few tokens (``Encoded.allowed``) the softmax is over those
    only: the decoder picks the best allowed token, so that ranking is all there is to learn,
    and it skips the 262k-token head there. Elsewhere the softmax is over the whole vocabulary.
    A prompt prefix the whole batch shares is run once (``shared_prompt_length``) unless
    ``share_prompt`` is False.
    """
    import torch

    shared = shared_prompt_length(batch) if share_prompt else 0
    seqs = [list(e.prompt[shared:]) + list(e.target) for e in batch]
    width = max(len(s) for s in seqs)
    ids = torch.zeros((len(seqs), width), dtype=torch.long)
    mask = torch.zeros((len(seqs), width), dtype=torch.long)
    full: tuple[list[int], list[int], list[int]] = ([], [], [])
    small: tuple[list[int], list[int], list[int]] = ([], [], [])
    choices: list[tuple[int, ...]] = []
    for b, (e, s) in enumerate(zip(batch, seqs, strict=True)):
        ids[b, : len(s)] = torch.tensor(s)
        mask[b, : len(s)] = 1
        p = len(e.prompt) - shared
        for k, tok in enumerate(e.target):
            if e.free and not e.free[k]:
                continue  # forced by the constraint at extraction time: nothing to learn
            few = e.allowed[k] if e.allowed else None
            rows, cols, labels = full if few is None else small
            rows.append(b)
            cols.append(p + k - 1)  # the position whose output predicts target token k
            labels.append(tok)
            if few is not None:
                choices.append(few)
    hidden = _hidden_states(model, ids, mask, batch[0].prompt[:shared])
    cap = getattr(model.config, "final_logit_softcapping", None)
    weight = model.lm_head.weight
    n = len(full[2]) + len(small[2])
    total = hidden.new_zeros((), dtype=torch.float32)
    if full[2]:
        picked = hidden[torch.tensor(full[0]), torch.tensor(full[1])]
        total = total + head_loss(picked, weight, torch.tensor(full[2]), cap) * len(full[2])
    if small[2]:
        picked = hidden[torch.tensor(small[0]), torch.tensor(small[1])]
        total = total + choice_loss(picked, weight, choices, small[2], cap)
    return total / max(1, n), n


SHARED_PROMPT_MIN = 32
"""Fewest leading prompt tokens every sequence of a micro batch must share before that prefix
is run once for all of them (``shared_prompt_length``)."""


def shared_prompt_length(batch: Sequence[Encoded]) -> int:
    """How many leading prompt tokens the sequences of ``batch`` share and ``_loss`` runs once.

    A tune behind a schema's prompt (``TuneConfig.start_from`` a general adapter: instructions
    and a field list before each text) sends the same few hundred tokens before every text;
    run once and broadcast, they cost one sequence's share of the step instead of every
    sequence's. At least one prompt token stays in each sequence's own part, since the last
    prompt position predicts the first target token. 0 when the batch shares fewer than
    ``SHARED_PROMPT_MIN`` tokens (a schema tune's text-only prompt, a general adapter's
    mixed schemas) or is one sequence.
    """
    if len(batch) < 2:
        return 0
    first = batch[0].prompt
    limit = min(len(e.prompt) for e in batch) - 1
    n = 0
    while n < limit and all(e.prompt[n] == first[n] for e in batch[1:]):
        n += 1
    return n if n >= SHARED_PROMPT_MIN else 0


def _hidden_states(model: Any, ids: Any, mask: Any, prefix: Sequence[int]) -> Any:
    """The last hidden states of ``prefix + ids[b]`` for each row ``b``, the prefix run once.

    Its keys and values are computed for one sequence, repeated across the batch (the repeat
    is differentiable, so the prefix's LoRA weights get the whole batch's gradient) and
    attended to from each row's own tokens: the same states as running every row whole, less
    the prefix's repeated compute.
    """
    import torch
    from transformers import DynamicCache

    if not prefix:
        return model.model(input_ids=ids, attention_mask=mask).last_hidden_state
    cache = DynamicCache(config=model.config)
    model.model(input_ids=torch.tensor([list(prefix)]), cache=cache, use_cache=True)
    cache.batch_repeat_interleave(ids.shape[0])
    seen = torch.ones((ids.shape[0], len(prefix)), dtype=mask.dtype)
    out = model.model(input_ids=ids, attention_mask=torch.cat([seen, mask], dim=1),
                      cache=cache, use_cache=True)
    return out.last_hidden_state


CHOICE_ROWS = 65536
"""Head rows gathered at once by the restricted loss (65536 x 640 bf16 is 84 MB)."""


def choice_loss(
    hidden: Any,
    weight: Any,
    choices: Sequence[Sequence[int]],
    labels: Sequence[int],
    cap: float | None,
) -> Any:
    """Summed cross-entropy of each position's label against its own allowed tokens only.

    Positions go in groups of at most ``CHOICE_ROWS`` allowed tokens, laid end to end
    (segment ``i`` holds position ``i``'s): logits are row-wise dot products with their head
    rows, log-sum-exp is taken per segment, and the gradient with respect to ``hidden`` is
    formed in the same pass.
    """
    import torch

    groups: list[tuple[int, int]] = []
    begin, rows_in = 0, 0
    for i, c in enumerate(choices):
        if rows_in and rows_in + len(c) > CHOICE_ROWS:
            groups.append((begin, i))
            begin, rows_in = i, 0
        rows_in += len(c)
    groups.append((begin, len(choices)))
    want_grad = torch.is_grad_enabled() and hidden.requires_grad

    def group_loss(h: Any, lo: int, hi: int) -> tuple[Any, Any]:
        part = choices[lo:hi]
        flat = torch.tensor([t for c in part for t in c], dtype=torch.long)
        sizes = torch.tensor([len(c) for c in part])
        seg = torch.repeat_interleave(torch.arange(len(part)), sizes)
        starts = sizes.cumsum(0) - sizes
        label_at = starts + torch.tensor(
            [list(c).index(y) for c, y in zip(part, labels[lo:hi], strict=True)]
        )
        rows = weight[flat]  # the head rows of every allowed token in the group
        z = (h[seg].to(rows.dtype) * rows).sum(-1).float()
        t = None
        if cap:
            t = torch.tanh(z / cap)
            z = t * cap
        n = len(part)
        peak = torch.full((n,), -torch.inf).scatter_reduce(0, seg, z, "amax")
        e = torch.exp(z - peak[seg])
        lse = peak + torch.zeros(n).index_add_(0, seg, e).log()
        loss = (lse - z[label_at]).sum()
        if not want_grad:
            return loss, None
        g = e / torch.exp(lse - peak)[seg]  # softmax within each segment
        g[label_at] -= 1.0
        if t is not None:
            g *= 1.0 - t * t
        grad = torch.zeros(n, rows.shape[1]).index_add_(0, seg, g[:, None] * rows.float())
        return loss, grad

    class _ChoiceLoss(torch.autograd.Function):
        @staticmethod
        def forward(ctx: Any, h: Any) -> Any:
            total = torch.zeros((), dtype=torch.float32)
            grads = []
            for lo, hi in groups:
                loss, grad = group_loss(h[lo:hi], lo, hi)
                total += loss
                grads.append(grad)
            if want_grad:
                ctx.save_for_backward(torch.cat(grads).to(h.dtype))
            return total

        @staticmethod
        def backward(ctx: Any, grad_out: Any) -> Any:
            (grad_h,) = ctx.saved_tensors
            return grad_h * grad_out.to(grad_h.dtype)

    return _ChoiceLoss.apply(hidden)  # type: ignore[no-untyped-call]


HEAD_CHUNK = 64
"""Positions per chunk of the fused head loss: 64 x 262k float32 logits is 67 MB."""


def head_loss(hidden: Any, weight: Any, labels: Any, cap: float | None) -> Any:
    """Mean cross-entropy of ``hidden @ weight.T`` (optionally soft-capped) against ``labels``.

    One pass over the vocabulary per chunk of positions computes both the loss and its gradient
    with respect to ``hidden`` (softmax minus one-hot, times the head). The frozen head gets no
    gradient. Memory: one chunk of logits instead of all of them plus their softmax and grads.
    """
    import torch

    want_grad = torch.is_grad_enabled() and hidden.requires_grad

    class _FusedHeadLoss(torch.autograd.Function):
        @staticmethod
        def forward(ctx: Any, h: Any) -> Any:
            total = torch.zeros((), dtype=torch.float32)
            grads = []
            for start in range(0, h.shape[0], HEAD_CHUNK):
                h_c = h[start : start + HEAD_CHUNK]
                y = labels[start : start + HEAD_CHUNK]
                z = (h_c @ weight.T).float()
                if cap:
                    t = torch.tanh(z / cap)
                    z = t * cap
                lse = torch.logsumexp(z, dim=-1)
                total += (lse - z.gather(1, y[:, None]).squeeze(1)).sum()
                if want_grad:
                    # softmax minus one-hot, in place in the logits' buffer (no second copy)
                    g = z.sub_(lse[:, None]).exp_()
                    g[torch.arange(y.shape[0]), y] -= 1.0
                    if cap:
                        g *= t.mul_(t).neg_().add_(1.0)
                    grads.append(g.to(weight.dtype) @ weight)
            n = max(1, h.shape[0])
            if want_grad:
                ctx.save_for_backward(torch.cat(grads).to(h.dtype) / n)
            return total / n

        @staticmethod
        def backward(ctx: Any, grad_out: Any) -> Any:
            (grad_h,) = ctx.saved_tensors
            return grad_h * grad_out.to(grad_h.dtype)

    return _FusedHeadLoss.apply(hidden)  # type: ignore[no-untyped-call]


def _evaluate(model: Any, data: Sequence[Encoded], batch_size: int) -> float:
    import torch

    total = 0.0
    count = 0
    with torch.no_grad():
        for i in range(0, len(data), batch_size):
            loss, n = _loss(model, data[i : i + batch_size])
            total += float(loss) * n
            count += n
    return total / max(1, count)


def _peft_model(base: Any, config: TuneConfig,
                initial: Mapping[str, npt.NDArray[np.float32]] | None) -> Any:
    from peft import LoraConfig, get_peft_model

    lora_config = LoraConfig(
        r=config.rank,
        lora_alpha=int(config.alpha),
        lora_dropout=0.0,
        target_modules=list(config.target_modules),
        bias="none",
    )
    base = base.to(base_dtype(config.precision))
    model = get_peft_model(base, lora_config)  # LoRA matrices stay float32 (peft's default)
    if initial is not None:
        load_lora(model, initial)
    return model


def load_lora(model: Any, tensors: Mapping[str, npt.NDArray[np.float32]]) -> None:
    """Set ``model``'s LoRA matrices to ``tensors`` (GGUF names); ``ValueError`` when the two
    do not hold the same matrices in the same shapes (another rank or other target modules)."""
    import torch

    from .export import gguf_name

    params = {gguf_name(n): p for n, p in model.named_parameters() if "lora_" in n}
    missing, extra = sorted(set(params) - set(tensors)), sorted(set(tensors) - set(params))
    if missing or extra:
        raise ValueError(f"the starting adapter does not match this tune's LoRA: "
                         f"{len(missing)} matrices missing (e.g. {missing[:1]}), {len(extra)} "
                         f"not trained here (e.g. {extra[:1]})")
    with torch.no_grad():
        for name, param in params.items():
            value = tensors[name]
            if tuple(value.shape) != tuple(param.shape):
                raise ValueError(f"the starting adapter's {name} is {tuple(value.shape)}, this "
                                 f"tune's is {tuple(param.shape)} (another rank?)")
            param.copy_(torch.from_numpy(np.ascontiguousarray(value, dtype=np.float32)))


def _lora_state(model: Any) -> dict[str, npt.NDArray[np.float32]]:
    return {
        name: copy.deepcopy(p.detach().cpu().numpy()).astype(np.float32)
        for name, p in model.named_parameters()
        if "lora_" in name
    }
