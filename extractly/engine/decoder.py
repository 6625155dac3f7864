"""The constrained decode loop: many documents at once over one llama.cpp context.

Each document is a sequence with its own KV stream. The shared prompt prefix (instructions and
worked examples) is evaluated once, into sequence 0, and copied once into each other stream the
first time it is used (``seq_cp``); a finished document's cells past the prefix are dropped, so
the prefix stays in every stream and is never recomputed. A document's own prompt is evaluated
by itself when the document is admitted. Sampling checks the greedy token against the
constraint first and builds the full 262k-token mask only when that token is rejected; tokens
the constraint forces (keys, braces, quotes, enum tails) are never sampled.

Scheduling is shaped by how llama.cpp computes, measured on this machine:

- With one KV stream per sequence, llama.cpp splits a batch into micro-batches of *consecutive*
  sequence ids holding the *same* number of tokens each; every micro-batch is a full pass over
  the weights.
- The CPU kernels round differently for a micro-batch of 1 token, of 2-7 tokens and of 8 or
  more, and attention rounds differently when a sequence has one token in a micro-batch than
  when it has several (``tests/test_batching.py`` pins what we rely on).

So each round (``_step``) does two things. A sequence whose next input is a long *chunk* (its
chosen token plus at least ``MIN_CHUNK - 1`` tokens the constraint forces after it: a closing
quote, a comma and the next key) feeds that chunk by itself, one pass for the whole chunk with
logits at its last token (fast-forward). Then all other sequences with input go into a single
*lockstep* pass, one token per sequence in sequence-id order, a filler token in any stream in
between, and a filler in a neighbouring stream when a token is alone, so that every such token
is computed in a micro-batch of 2-7 tokens. Prompts are evaluated by themselves whatever the
batch. Whether a token is computed in a chunk or in lockstep depends only on its own document,
so ``run_many`` at batch sizes up to 7 gives exactly the outputs of ``run`` one by one, and
results never depend on which documents shared a batch (a resumed job reproduces an
uninterrupted one). Batch sizes above 7 are allowed, but use the 8+ kernels, so greedy outputs
can differ from one-by-one on close calls.

Finished sequences are replaced by the next document (continuous batching). Results come out in
input order. Not here: prompts, parsing or validation of the output (see ``extractor.py``).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Literal

import llguidance
import numpy as np
import numpy.typing as npt

from ..errors import BackendError, ExtractlyError
from ..settings import Sampling
from .llama import LlamaContext
from .repetition import loop_token

StopReason = Literal["complete", "max_tokens", "constraint_error"]

MAX_INVARIANT_BATCH = 7
"""The largest batch size whose outputs equal one-by-one decoding (see above)."""
_FILLER_TOKEN = 0
MIN_CHUNK = 6
"""Pending runs at least this long are fed as one chunk, shorter ones a token per lockstep
step. A chunk pass serves one document, a lockstep pass all of them: on 100 E2E docs at batch 4
chunking every run (2+) took 0.82 s/doc, never chunking 0.72, chunking 6+ 0.68."""


@dataclass
class DecodeRequest:
    tokens: list[int]
    """Prompt tokens of this document, after the shared prefix."""
    matcher: llguidance.LLMatcher | None
    """The constraint; ``None`` decodes unconstrained greedy tokens, exactly ``max_tokens`` of
    them (the engine's raw speed, for benchmarks)."""
    max_tokens: int


@dataclass
class DecodeResult:
    tokens: list[int]
    logprobs: list[float | None]
    """Per output token: the model's log-probability of it (whole vocabulary, before the
    constraint's mask), ``None`` for tokens the constraint forced."""
    text: str
    stop_reason: StopReason
    prompt_tokens: int
    cached_tokens: int
    sampled_tokens: int
    forced_tokens: int
    seconds: float
    repetition_breaks: int = 0
    closed_early: bool = False
    error: str = ""


@dataclass
class _Slot:
    index: int
    seq: int
    request: DecodeRequest
    pos: int
    pending: list[int]
    started: float
    rng: np.random.Generator
    generated: list[int] = field(default_factory=list)
    logprobs: list[float | None] = field(default_factory=list)
    """Per generated token: its log-probability over the full vocabulary, None if forced."""
    sampled: int = 0
    forced: int = 0
    breaks: int = 0
    closing: bool = False


class _Run:
    """The state of one ``Decoder.run`` call."""

    def __init__(
        self, source: Iterator[tuple[int, DecodeRequest | ExtractlyError]], batch_size: int
    ) -> None:
        self.source = source
        self.exhausted = False
        self.free = list(range(batch_size - 1, -1, -1))
        self.active: list[_Slot] = []
        self.done: dict[int, DecodeResult | ExtractlyError] = {}
        self.next_out = 0
        self.window = 4 * batch_size  # bounds the reorder buffer on an endless stream
        self.waiting: tuple[int, DecodeRequest] | None = None


class Decoder:
    """Runs ``DecodeRequest``s over one context that holds a fixed prompt prefix."""

    def __init__(
        self,
        ctx: LlamaContext,
        tokenizer: llguidance.LLTokenizer,
        prefix: list[int],
        *,
        sampling: Sampling,
        repetition_guard: bool,
        closing_tokens: npt.NDArray[np.bool_] | None = None,
    ) -> None:
        if len(prefix) >= ctx.n_ctx_seq:
            raise BackendError(
                f"prompt prefix ({len(prefix)} tokens) does not fit a sequence's "
                f"{ctx.n_ctx_seq} cells"
            )
        self.ctx = ctx
        self.tokenizer = tokenizer
        self.prefix = prefix
        self.sampling = sampling
        self.repetition_guard = repetition_guard
        self.closing_tokens = closing_tokens
        self.prefix_evaluations = 0
        self.filler_tokens = 0
        """Filler tokens decoded so far (they only shape llama.cpp's micro-batches)."""
        self._primed: set[int] = set()
        """Sequences whose stream holds the evaluated prefix."""
        words = (tokenizer.vocab_size + 31) // 32
        self._mask_words = np.zeros(words, dtype=np.int32)
        self._n_vocab = ctx.n_vocab

    @property
    def evaluated_tokens(self) -> int:
        """Tokens of prompts and outputs run through the model (fillers not counted)."""
        return self.ctx.evaluated_tokens - self.filler_tokens

    @property
    def max_seqs(self) -> int:
        """Documents decoded at once; the context keeps one more stream for filler tokens."""
        return self.ctx.config.n_seq_max - 1

    def capacity_for_document(self) -> int:
        """Cells one document may use (its prompt plus its output)."""
        return self.ctx.n_ctx_seq - len(self.prefix)

    def _ensure_prefix(self) -> None:
        if 0 in self._primed:
            return
        self.ctx.seq_rm(0)
        self._primed = set()
        self._feed(0, self.prefix, 0, want_last=False)
        self.prefix_evaluations += 1
        self._primed = {0}

    def invalidate_prefix(self) -> None:
        """Forget the cached prefix (after the weights changed, e.g. an adapter swap)."""
        self._primed = set()
        self.ctx.clear()

    def _reset_seq(self, seq: int) -> None:
        """Drop a document's cells, keeping the prefix in its stream."""
        self.ctx.seq_rm(seq, len(self.prefix), -1)

    def run(
        self, requests: Iterable[DecodeRequest | ExtractlyError], batch_size: int
    ) -> Iterator[DecodeResult | ExtractlyError]:
        """Decode ``requests``, at most ``batch_size`` at once; yield results in input order.

        An ``ExtractlyError`` in the input passes through in its place (a document that
        failed before decoding keeps its position in the output).
        """
        run = _Run(enumerate(requests), max(1, min(batch_size, self.max_seqs)))
        self._ensure_prefix()
        try:
            while True:
                self._fill(run)
                while run.next_out in run.done:
                    yield run.done.pop(run.next_out)
                    run.next_out += 1
                if not run.active:
                    if run.exhausted and run.waiting is None:
                        return
                    continue
                for slot in self._step(run.active):
                    run.active.remove(slot)
                    self._release(run, slot)
        finally:
            for slot in run.active:
                self._reset_seq(slot.seq)

    def _fill(self, run: _Run) -> None:
        """Admit documents while slots and the reorder window allow."""
        while run.free and not run.exhausted:
            if run.waiting is None:
                try:
                    index, item = next(run.source)
                except StopIteration:
                    run.exhausted = True
                    return
                if isinstance(item, ExtractlyError):
                    run.done[index] = item
                    continue
                run.waiting = (index, item)
            index, req = run.waiting
            if run.active and index >= run.next_out + run.window:
                return
            run.waiting = None
            slot = self._admit(index, req, run.free.pop())
            if self._fast_forward(slot) or self._start(slot):
                self._release(run, slot)
                continue
            run.active.append(slot)

    def _release(self, run: _Run, slot: _Slot) -> None:
        self._reset_seq(slot.seq)
        run.free.append(slot.seq)
        run.done[slot.index] = self._finish(slot)

    def _admit(self, index: int, req: DecodeRequest, seq: int) -> _Slot:
        if seq not in self._primed:
            # A cross-stream copy takes sequence 0's whole stream; keep only the prefix.
            self.ctx.seq_rm(seq)
            self.ctx.seq_cp(0, seq)
            self._reset_seq(seq)
            self._primed.add(seq)
        slot = _Slot(
            index=index,
            seq=seq,
            request=req,
            pos=len(self.prefix),
            pending=list(req.tokens),
            started=time.perf_counter(),
            rng=np.random.default_rng(self.sampling.seed),
        )
        return slot

    def _start(self, slot: _Slot) -> bool:
        """Evaluate a new document's prompt (and the tokens forced before its first choice)
        by itself, then choose its first token; True when that already ends it."""
        tokens = slot.pending + slot.generated
        slot.pending = []
        index = self._feed(slot.seq, tokens, slot.pos, want_last=True)
        slot.pos += len(tokens)
        return self._advance(slot, self.ctx.logits(index))

    def _feed(self, seq: int, tokens: list[int], pos: int, *, want_last: bool) -> int:
        """Decode one sequence's tokens by themselves, in pieces that fit a batch; returns the
        batch index of the last token. Only a 1-token input makes a 1-token piece (then padded,
        which needs idle neighbouring streams: true for the prefix, the only such input)."""
        step = self.ctx.config.n_batch
        index = 0
        start = 0
        while start < len(tokens):
            size = min(step, len(tokens) - start)
            if len(tokens) - start - size == 1:
                size -= 1  # never leave a lone last token
            piece = tokens[start : start + size]
            last = start + size == len(tokens)
            entries = [
                (t, pos + start + i, seq, want_last and last and i == size - 1)
                for i, t in enumerate(piece)
            ]
            index = self._decode_padded(entries)
            start += size
        return index

    def _step(self, active: list[_Slot]) -> list[_Slot]:
        """One round over all live sequences; return those that finished.

        A sequence whose pending input is a chunk of at least ``MIN_CHUNK`` tokens (a chosen
        token and the tokens the constraint forces after it) feeds the chunk by itself: one
        model pass, logits at its last token only. Then every sequence with a shorter pending
        input, chunk feeders included, gives its next token to one lockstep pass. Whether a
        token is computed in a chunk or in lockstep depends only on its own document, never on
        the batch, which keeps ``run_many`` equal to ``run``.
        """
        finished = []
        for slot in [s for s in active if len(s.pending) >= MIN_CHUNK]:
            tokens, slot.pending = slot.pending, []
            index = self._feed(slot.seq, tokens, slot.pos, want_last=True)
            slot.pos += len(tokens)
            if self._advance(slot, self.ctx.logits(index)):
                finished.append(slot)
        lone = [s for s in active if 1 <= len(s.pending) < MIN_CHUNK]  # finished: pending []
        if lone:
            for slot, batch_index in self._step_lockstep(lone, active):
                if self._advance(slot, self.ctx.logits(batch_index)):
                    finished.append(slot)
        return finished

    def _step_lockstep(self, lone: list[_Slot], active: list[_Slot]) -> list[tuple[_Slot, int]]:
        """One token for each of ``lone``, in sequence-id order, the streams in between given
        a filler token (at their next free cell, removed afterwards), so llama.cpp runs the
        whole step as one micro-batch."""
        by_seq = {slot.seq: slot for slot in lone}
        next_free = {slot.seq: slot.pos for slot in active}
        entries: list[tuple[int, int, int, bool]] = []
        wants: list[tuple[_Slot, int]] = []
        fillers: list[tuple[int, int]] = []
        for seq in range(min(by_seq), max(by_seq) + 1):
            slot = by_seq.get(seq)
            if slot is None:
                pos = next_free.get(seq, self._filler_pos(seq))
                entries.append((_FILLER_TOKEN, pos, seq, False))
                fillers.append((seq, pos))
                continue
            tok = slot.pending.pop(0)
            last = not slot.pending
            entries.append((tok, slot.pos, seq, last))
            slot.pos += 1
            if last:
                wants.append((slot, len(entries) - 1))
        if len(entries) == 1:
            index = self._decode_padded(entries, next_free)
            return [(wants[0][0], index)] if wants else []
        self.ctx.decode(entries)
        for seq, pos in fillers:
            self.ctx.seq_rm(seq, pos, -1)
        self.filler_tokens += len(fillers)
        return wants

    def _decode_padded(
        self, entries: list[tuple[int, int, int, bool]], next_free: dict[int, int] | None = None
    ) -> int:
        """Decode one sequence's entries; a single token gets a filler token in a neighbouring
        stream (at its next free cell, per ``next_free`` for streams in use) so that it is
        computed by the same kernels as tokens in a batch. Returns the batch index of the last
        entry."""
        if len(entries) != 1:
            self.ctx.decode(entries)
            return len(entries) - 1
        seq = entries[0][2]
        other = seq + 1 if seq + 1 < self.ctx.config.n_seq_max else seq - 1
        pos = (next_free or {}).get(other, self._filler_pos(other))
        filler = (_FILLER_TOKEN, pos, other, False)
        pair = [entries[0], filler] if other > seq else [filler, entries[0]]
        self.ctx.decode(pair)
        self.ctx.seq_rm(other, pos, -1)
        self.filler_tokens += 1
        return pair.index(entries[0])

    def _filler_pos(self, seq: int) -> int:
        """The next free position of an idle stream (after the prefix if it holds it)."""
        return len(self.prefix) if seq in self._primed else 0

    def _advance(self, slot: _Slot, logits: npt.NDArray[np.float32]) -> bool:
        """Choose the next token and queue it with any forced tokens; True when done."""
        matcher = slot.request.matcher
        if matcher is None:
            return self._advance_raw(slot, logits)
        tok = self._choose(slot, matcher, logits)
        if not matcher.consume_token(tok):
            return True
        slot.generated.append(tok)
        slot.logprobs.append(_logprob(logits, tok))
        slot.sampled += 1
        mark = len(slot.generated) - 1
        if matcher.is_stopped() or self._fast_forward(slot):
            return True
        if len(slot.generated) >= slot.request.max_tokens:
            return True
        slot.pending = slot.generated[mark:]
        return False

    def _advance_raw(self, slot: _Slot, logits: npt.NDArray[np.float32]) -> bool:
        tok = int(np.argmax(logits))
        slot.generated.append(tok)
        slot.logprobs.append(_logprob(logits, tok))
        slot.sampled += 1
        slot.pending = [tok]
        return len(slot.generated) >= slot.request.max_tokens

    def _fast_forward(self, slot: _Slot) -> bool:
        """Append the tokens the constraint forces; True if that completes the output."""
        matcher = slot.request.matcher
        if matcher is None:
            return False
        forced = matcher.compute_ff_tokens()
        if forced:
            matcher.consume_tokens(forced)
            slot.generated.extend(forced)
            slot.logprobs.extend([None] * len(forced))
            slot.forced += len(forced)
        return matcher.is_stopped() or matcher.is_error()

    def _choose(
        self, slot: _Slot, matcher: llguidance.LLMatcher, logits: npt.NDArray[np.float32]
    ) -> int:
        banned = loop_token(slot.generated) if self.repetition_guard else None
        wrap_up = self._should_wrap_up(slot)
        if self.sampling.temperature <= 0 and not wrap_up:
            tok = int(np.argmax(logits))
            if tok != banned and matcher.validate_tokens([tok]) == 1:
                return tok
        allowed = self._allowed(matcher)
        if wrap_up and self.closing_tokens is not None:
            closing = allowed & self.closing_tokens[: allowed.size]
            if closing.any():
                allowed = closing
                slot.closing = True
        if (
            banned is not None
            and banned < allowed.size
            and allowed[banned]
            and np.count_nonzero(allowed) > 1
        ):
            allowed[banned] = False
            slot.breaks += 1
        masked = np.where(allowed, logits[: allowed.size], -np.inf)
        if self.sampling.temperature <= 0:
            return int(np.argmax(masked))
        return self._sample(slot, masked)

    def _should_wrap_up(self, slot: _Slot) -> bool:
        """Past three quarters of max_tokens, end each value as soon as the constraint allows,
        so a run-away value closes into a valid object instead of being truncated."""
        if self.closing_tokens is None:
            return False
        budget = slot.request.max_tokens
        return len(slot.generated) >= budget - max(12, budget // 4)

    def _allowed(self, matcher: llguidance.LLMatcher) -> npt.NDArray[np.bool_]:
        words = self._mask_words
        matcher.unsafe_compute_mask_ptr(words.ctypes.data, words.nbytes)
        bits = np.unpackbits(words.view(np.uint8), bitorder="little")[: self._n_vocab]
        return bits.astype(bool)

    def _sample(self, slot: _Slot, masked: npt.NDArray[np.float32]) -> int:
        scaled = masked / self.sampling.temperature
        if self.sampling.top_k > 0:
            k = min(self.sampling.top_k, int(np.count_nonzero(np.isfinite(scaled))))
            cut = np.partition(scaled, -k)[-k]
            scaled = np.where(scaled >= cut, scaled, -np.inf)
        scaled = scaled - np.max(scaled)
        probs = np.exp(scaled)
        probs /= probs.sum()
        return int(slot.rng.choice(probs.size, p=probs))

    def _finish(self, slot: _Slot) -> DecodeResult:
        matcher = slot.request.matcher
        reason: StopReason
        if matcher is None:
            reason = "complete"
        elif matcher.is_error():
            reason = "constraint_error"
        elif matcher.is_stopped() or matcher.is_accepting():
            reason = "complete"
        else:
            reason = "max_tokens"
        return DecodeResult(
            tokens=slot.generated,
            logprobs=slot.logprobs,
            text=self.tokenizer.decode_bytes(slot.generated).decode("utf-8", errors="replace"),
            stop_reason=reason,
            prompt_tokens=len(slot.request.tokens),
            cached_tokens=len(self.prefix),
            sampled_tokens=slot.sampled,
            forced_tokens=slot.forced,
            seconds=time.perf_counter() - slot.started,
            repetition_breaks=slot.breaks,
            closed_early=slot.closing,
            error=matcher.get_error() if matcher and reason == "constraint_error" else "",
        )


def _logprob(logits: npt.NDArray[np.float32], token: int) -> float:
    """log softmax(logits)[token], computed stably."""
    top = float(np.max(logits))
    return float(logits[token]) - top - float(np.log(np.sum(np.exp(logits - top))))
