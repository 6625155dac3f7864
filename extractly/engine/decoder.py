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

With a ``HeadRows`` (the sparse head, greedy only), a document whose next choice allows at most
``SPARSE_LIMIT`` tokens is noted before the pass (``_plan``); a pass whose outputs are all such
documents stops before the output head, and their choices are scored from the hidden state on
the allowed rows alone, which equal llama.cpp's logits up to summation order, so outputs equal
the full head's and still depend only on the document. Copy speculation (``max_draft`` > 0,
off by default, see ``SessionConfig.copy_drafts``) verifies several drafted tokens of one
document in one pass, which rounds like a chunk rather than like lockstep: it can change a close
call against the full head, never the batch invariance.

Finished sequences are replaced by the next document (continuous batching). Results come out in
input order. Not here: which token to take (``sampling.py``), prompts and contexts
(``session.py``), parsing or validation of the output (``extractly.validate``).
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
from .sampling import AllowedMask, TokenChooser, logprob
from .sparse_head import SPARSE_LIMIT, HeadRows, TapMode

StopReason = Literal["complete", "max_tokens", "constraint_error"]

MAX_INVARIANT_BATCH = 7
"""The largest batch size whose outputs equal one-by-one decoding (see above)."""
_FILLER_TOKEN = 0
MIN_CHUNK = 2
"""Pending runs at least this long are fed as one chunk, shorter ones (a lone chosen token) go
to the lockstep pass. A chunk pass serves one document, a lockstep pass all of them. With the
full head, on 100 E2E docs at batch 4, chunking every run (2+) took 0.82 s/doc, never chunking
0.72, chunking 6+ 0.68; but a run fed a token per pass costs ``run()`` one pass per token, and
with the sparse head (tuned E2E, 40 docs, one process, 2026-12-02): chunking 2+ took 0.80
s/doc with ``run()`` against 1.44 for 6+, and 0.73 against 0.75 with ``run_many`` at batch 4
(full head: 1.18 against 1.48 with ``run()``, 0.85 against 0.81 with ``run_many``)."""


MAX_DRAFT = 6
"""Tokens drafted from the document per copy-speculation pass (when it is on). Measured on
tuned E2E, 40 documents, one process: drafts were accepted for 4% of sampled tokens, and
``run_many`` went from 1.9-2.0 docs/s without them to 1.6-1.7 with them (a pass of pending
tokens plus a draft costs more than the lockstep token it replaces)."""
DRAFT_NGRAM = 3
"""Longest tail of the output looked up in the document to find where it is copying from."""


def copy_draft(document: list[int], output: list[int], limit: int) -> list[int]:
    """The ``limit`` document tokens after the latest place where the output's last tokens
    occur in ``document`` (the longest tail of up to ``DRAFT_NGRAM`` tokens that occurs);
    [] when none does."""
    for n in range(min(DRAFT_NGRAM, len(output)), 0, -1):
        tail = output[-n:]
        for i in range(len(document) - n - 1, -1, -1):
            if document[i : i + n] == tail:
                return document[i + n : i + n + limit]
    return []


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
    sparse_tokens: int = 0
    """Sampled tokens chosen from the sparse head (logits of the allowed tokens only; their
    ``logprobs`` are over the allowed tokens, not the whole vocabulary)."""
    drafted_tokens: int = 0
    """Tokens proposed by copy speculation (``copy_draft``) and verified in a pass."""
    accepted_draft_tokens: int = 0
    """Of those, the ones the model chose (sampled tokens that cost no pass of their own)."""


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
    allowed: npt.NDArray[np.intp] | None = None
    """The tokens the next choice allows, when few enough for the sparse head."""
    mask_words: npt.NDArray[np.int32] | None = None
    """Otherwise the packed allowed mask, when ``_plan`` computed it (reused on a rejected
    greedy token instead of computing it again)."""
    sparse: int = 0
    drafted: int = 0
    accepted: int = 0


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
        head: HeadRows | None = None,
        sparse_limit: int = SPARSE_LIMIT,
        max_draft: int = MAX_DRAFT,
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
        self.chooser = TokenChooser(
            sampling,
            AllowedMask(tokenizer.vocab_size, ctx.n_vocab),
            repetition_guard=repetition_guard,
            closing_tokens=closing_tokens,
        )
        self.head = head if ctx.tap is not None and sampling.temperature <= 0 else None
        """The tied head's rows: positions allowing at most ``sparse_limit`` tokens are scored
        from the hidden state (greedy decoding only; sampling keeps the full head)."""
        self.sparse_limit = sparse_limit
        self.max_draft = max_draft
        """Longest copy-speculation draft (0: none); speculation needs the sparse head."""
        self.pad_lone = True
        """Give a lone token a filler neighbour, so it rounds as in a lockstep batch and
        ``run_many`` equals ``run``. False (for measurement; ``benchmarks/sparse_head.py
        --lone-alone``): decode it alone, which is faster with the sparse head (a lone
        body-only pass is about half a 2-token one) but changed 3 of 40 tuned E2E outputs and
        2 of 35 SNIPS against the padded path, with either head."""
        self.prefix_evaluations = 0
        self.filler_tokens = 0
        """Filler tokens decoded so far (they only shape llama.cpp's micro-batches)."""
        self._primed: set[int] = set()
        """Sequences whose stream holds the evaluated prefix."""

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
            # A run abandoned half way (its caller stopped iterating) frees its streams; a
            # context closed in the meantime has nothing left to free.
            if self.ctx.ptr is not None:
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
        self._plan(slot)
        index = self._feed(slot.seq, tokens, slot.pos, want_last=True, mode=self._mode([slot]))
        slot.pos += len(tokens)
        return self._advance(slot, index, 0)

    def _feed(
        self, seq: int, tokens: list[int], pos: int, *, want_last: bool, mode: TapMode = "off"
    ) -> int:
        """Decode one sequence's tokens by themselves, in pieces that fit a batch; returns the
        batch index of the last token (``mode`` applies to the piece holding it). Only a
        1-token input makes a 1-token piece (then padded, which needs idle neighbouring
        streams: true for the prefix, the only such input)."""
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
            index = self._decode_padded(entries, mode=mode if last else "off")
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
        for slot in active:
            draft = self._draft(slot)
            if draft and self._speculate(slot, draft):
                finished.append(slot)
        for slot in [s for s in active if len(s.pending) >= MIN_CHUNK and s not in finished]:
            tokens, slot.pending = slot.pending, []
            mode = self._mode([slot])
            index = self._feed(slot.seq, tokens, slot.pos, want_last=True, mode=mode)
            slot.pos += len(tokens)
            if self._advance(slot, index, 0):
                finished.append(slot)
        lone = [s for s in active if 1 <= len(s.pending) < MIN_CHUNK and s not in finished]
        if lone:
            wants = self._step_lockstep(lone, active)
            for out, (slot, batch_index) in enumerate(wants):
                if self._advance(slot, batch_index, out):
                    finished.append(slot)
        return finished

    def _mode(self, slots: list[_Slot]) -> TapMode:
        """How a decode whose outputs are ``slots``' next choices uses the hidden-state tap:
        stop before the head when every one of them is served by the sparse head, read the
        hidden state and run the head when only some are, leave it off when none are."""
        sparse = [slot.allowed is not None for slot in slots]
        if not any(sparse):
            return "off"
        return "stop" if all(sparse) else "observe"

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
        mode = self._mode([slot for slot, _ in wants])
        if len(entries) == 1:
            index = self._decode_padded(entries, next_free, mode=mode)
            return [(wants[0][0], index)] if wants else []
        self.ctx.decode(entries, tap=mode)
        for seq, pos in fillers:
            self.ctx.seq_rm(seq, pos, -1)
        self.filler_tokens += len(fillers)
        return wants

    def _decode_padded(
        self,
        entries: list[tuple[int, int, int, bool]],
        next_free: dict[int, int] | None = None,
        *,
        mode: TapMode = "off",
    ) -> int:
        """Decode one sequence's entries; a single token gets a filler token in a neighbouring
        stream (at its next free cell, per ``next_free`` for streams in use) so that it is
        computed by the same kernels as tokens in a batch. Returns the batch index of the last
        entry."""
        if len(entries) != 1 or not self.pad_lone:
            self.ctx.decode(entries, tap=mode)
            return len(entries) - 1
        seq = entries[0][2]
        other = seq + 1 if seq + 1 < self.ctx.config.n_seq_max else seq - 1
        pos = (next_free or {}).get(other, self._filler_pos(other))
        filler = (_FILLER_TOKEN, pos, other, False)
        pair = [entries[0], filler] if other > seq else [filler, entries[0]]
        self.ctx.decode(pair, tap=mode)
        self.ctx.seq_rm(other, pos, -1)
        self.filler_tokens += 1
        return pair.index(entries[0])

    def _filler_pos(self, seq: int) -> int:
        """The next free position of an idle stream (after the prefix if it holds it)."""
        return len(self.prefix) if seq in self._primed else 0

    def _plan(self, slot: _Slot) -> None:
        """Before a document's next decode: note its next choice's allowed tokens when the
        sparse head can serve it (few enough of them)."""
        slot.allowed = slot.mask_words = None
        if self.head is not None and slot.request.matcher is not None:
            mask = self.chooser.mask
            ids = mask.small_choice(slot.request.matcher, self.sparse_limit)
            if ids is None:
                slot.mask_words = mask.words.copy()
            elif ids and ids[-1] < self.head.n_vocab:
                slot.allowed = np.asarray(ids, dtype=np.intp)

    def _draft(self, slot: _Slot) -> list[int]:
        """Copy speculation: when the next choice is small (a verbatim field, or any value the
        output is copying), the document's tokens that followed the last place the output's
        tail occurs in it, cut to what the constraint accepts; [] when there is none."""
        if self.head is None or slot.allowed is None or self.max_draft <= 0:
            return []
        matcher = slot.request.matcher
        assert matcher is not None
        draft = copy_draft(slot.request.tokens, slot.generated, self.max_draft)
        if draft:
            draft = draft[: matcher.validate_tokens(draft)]
        return draft

    def _speculate(self, slot: _Slot, draft: list[int]) -> bool:
        """Feed the pending tokens and ``draft`` in one pass, stopped before the head, and
        choose at every position from the hidden states while the choices equal the draft:
        the longest such prefix is kept (its KV cells stay), and the first choice that differs
        (or follows the whole draft) is queued as usual. A position whose allowed set is too
        large for the sparse head ends the run one token early (that token is fed again, with
        the full head). True when the document is done."""
        assert self.ctx.tap is not None
        tokens, first = slot.pending + draft, len(slot.pending)
        start = slot.pos
        entries = [(t, start + i, slot.seq, i >= first - 1) for i, t in enumerate(tokens)]
        self.ctx.decode(entries, tap="stop")
        hidden = self.ctx.tap.hidden()
        slot.drafted += len(draft)
        slot.pending = []
        slot.pos = start + len(tokens)  # every cell fed is in the KV cache until cut below
        for j in range(len(draft) + 1):
            if slot.allowed is None:  # no logits here: feed the last kept token again
                self.ctx.seq_rm(slot.seq, start + first + j - 1, -1)
                slot.pos = start + first + j - 1
                slot.pending = [tokens[first + j - 1]]
                self._plan(slot)
                return False
            at = start + first + j
            if self._choose(slot, -1, hidden[j]):
                return True
            if j < len(draft) and slot.pending == [draft[j]]:
                slot.accepted += 1
                slot.pending = []
                continue
            self.ctx.seq_rm(slot.seq, at, -1)
            slot.pos = at
            return False
        return False  # not reached: the last position's choice follows the whole draft

    def _advance(self, slot: _Slot, batch_index: int, output: int) -> bool:
        """Choose the next token from the last decode's ``output``-th output (at
        ``batch_index``) and queue it with any forced tokens; True when done."""
        if slot.request.matcher is None:
            return self._advance_raw(slot, self.ctx.logits(batch_index))
        hidden = None
        if slot.allowed is not None and self.ctx.tap is not None:
            hidden = self.ctx.tap.hidden()[output]
        return self._choose(slot, batch_index, hidden)

    def _choose(
        self, slot: _Slot, batch_index: int, hidden: npt.NDArray[np.float32] | None
    ) -> bool:
        """Choose the next token (from ``hidden`` with the sparse head when the slot's allowed
        set is small, else from the logits at ``batch_index``), consume it and the tokens the
        constraint forces after it, and queue them as pending; True when done."""
        matcher = slot.request.matcher
        assert matcher is not None
        if slot.allowed is not None and self.head is not None and hidden is not None:
            ids = slot.allowed
            values = self.head.logits(hidden, ids)
            choice = self.chooser.choose_among(slot.generated, slot.request.max_tokens, ids, values)
            lp = logprob(values, int(np.searchsorted(ids, choice.token)))
            slot.sparse += 1
        else:
            logits = self.ctx.logits(batch_index)
            choice = self.chooser.choose(
                slot.generated, slot.request.max_tokens, matcher, logits, slot.rng,
                slot.mask_words,
            )
            lp = logprob(logits, choice.token)
        slot.closing = slot.closing or choice.closing
        slot.breaks += choice.broke_loop
        tok = choice.token
        if not matcher.consume_token(tok):
            return True
        slot.generated.append(tok)
        slot.logprobs.append(lp)
        slot.sampled += 1
        mark = len(slot.generated) - 1
        if matcher.is_stopped() or self._fast_forward(slot):
            return True
        if len(slot.generated) >= slot.request.max_tokens:
            return True
        slot.pending = slot.generated[mark:]
        self._plan(slot)
        return False

    def _advance_raw(self, slot: _Slot, logits: npt.NDArray[np.float32]) -> bool:
        tok = int(np.argmax(logits))
        slot.generated.append(tok)
        slot.logprobs.append(logprob(logits, tok))
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
            sparse_tokens=slot.sparse,
            drafted_tokens=slot.drafted,
            accepted_draft_tokens=slot.accepted,
            error=matcher.get_error() if matcher and reason == "constraint_error" else "",
        )

