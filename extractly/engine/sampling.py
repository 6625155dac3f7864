"""Token choice: which token the decoder takes next, among those the constraint allows.

``TokenChooser.choose`` is the whole rule, in order of cost:

- greedy and nothing to adjust: the model's top token, if the constraint accepts it (checking
  one token is far cheaper than building the 262k-token mask);
- otherwise the allowed mask is built (``AllowedMask``), narrowed to tokens that close a value
  when the output is in its last quarter of ``max_tokens`` (``close_before_limit``), minus the
  token that would extend a loop (``repetition_guard``), and the best (greedy) or a sampled
  (temperature, top-k) token is taken from what is left.

``AllowedMask`` is also how ``extractly.tune`` reads the small allowed sets it trains on, so
training and decoding see the same mask. Not here: the decode loop and its scheduling
(``decoder.py``), the constraint itself (``extractly.constraint``).
"""

from __future__ import annotations

from dataclasses import dataclass

import llguidance
import numpy as np
import numpy.typing as npt

from ..settings import Sampling
from .repetition import loop_token


class AllowedMask:
    """The constraint's allowed-token mask, read into one reused buffer.

    ``n_vocab`` cuts the mask to the model's logits row (llguidance's vocabulary may be padded).
    """

    def __init__(self, vocab_size: int, n_vocab: int | None = None) -> None:
        self.words = np.zeros((vocab_size + 31) // 32, dtype=np.int32)
        self.n_vocab = vocab_size if n_vocab is None else n_vocab

    def read(
        self, matcher: llguidance.LLMatcher, words: npt.NDArray[np.int32] | None = None
    ) -> npt.NDArray[np.bool_]:
        """One bool per token: may the constraint's next token be this one. ``words``: the
        packed mask ``small_choice`` already computed for the matcher in its current state."""
        if words is None:
            self._compute(matcher)
            words = self.words
        bits = np.unpackbits(words.view(np.uint8), bitorder="little")[: self.n_vocab]
        return bits.astype(bool)

    def small_choice(self, matcher: llguidance.LLMatcher, limit: int) -> tuple[int, ...] | None:
        """The allowed token ids when there are at most ``limit`` of them, else ``None`` (the
        packed mask is then in ``words`` until the next computation)."""
        self._compute(matcher)
        if int(np.count_nonzero(self.words.view(np.uint32))) > limit:  # >= 1 token per word
            return None
        ids = np.flatnonzero(np.unpackbits(self.words.view(np.uint8), bitorder="little"))
        return tuple(int(i) for i in ids) if ids.size <= limit else None

    def _compute(self, matcher: llguidance.LLMatcher) -> None:
        matcher.unsafe_compute_mask_ptr(self.words.ctypes.data, self.words.nbytes)


@dataclass(frozen=True)
class Choice:
    token: int
    closing: bool = False
    """The wrap-up rule narrowed the choice to tokens that close a value."""
    broke_loop: bool = False
    """The repetition guard refused the token that would extend a loop."""


class TokenChooser:
    """Chooses each output token of a document (see the module docstring)."""

    def __init__(
        self,
        sampling: Sampling,
        mask: AllowedMask,
        *,
        repetition_guard: bool,
        closing_tokens: npt.NDArray[np.bool_] | None,
    ) -> None:
        self.sampling = sampling
        self.mask = mask
        self.repetition_guard = repetition_guard
        self.closing_tokens = closing_tokens

    def choose(
        self,
        generated: list[int],
        max_tokens: int,
        matcher: llguidance.LLMatcher,
        logits: npt.NDArray[np.float32],
        rng: np.random.Generator,
        words: npt.NDArray[np.int32] | None = None,
    ) -> Choice:
        """The next token from a full logits row; ``words``: the packed mask, when the caller
        already computed it for the matcher's current state (see ``AllowedMask.read``)."""
        banned = loop_token(generated) if self.repetition_guard else None
        wrap_up = self.should_wrap_up(len(generated), max_tokens)
        if self.sampling.temperature <= 0 and not wrap_up:
            tok = int(np.argmax(logits))
            if tok != banned and matcher.validate_tokens([tok]) == 1:
                return Choice(tok)
        allowed = self.mask.read(matcher, words)
        closing = False
        if wrap_up and self.closing_tokens is not None:
            closers = allowed & self.closing_tokens[: allowed.size]
            if closers.any():
                allowed = closers
                closing = True
        broke = False
        if (
            banned is not None
            and banned < allowed.size
            and allowed[banned]
            and np.count_nonzero(allowed) > 1
        ):
            allowed[banned] = False
            broke = True
        masked = np.where(allowed, logits[: allowed.size], -np.inf)
        if self.sampling.temperature <= 0:
            return Choice(int(np.argmax(masked)), closing, broke)
        return Choice(self._sample(masked, rng), closing, broke)

    def choose_among(
        self,
        generated: list[int],
        max_tokens: int,
        ids: npt.NDArray[np.intp],
        values: npt.NDArray[np.float32],
    ) -> Choice:
        """The greedy choice when the constraint allows only ``ids`` and ``values`` are their
        logits (the sparse head): the same rules as ``choose``, on the allowed rows alone. The
        token equals ``choose``'s on the same logits; ``broke_loop`` is set only when the
        refused token would have been taken."""
        keep = np.ones(ids.size, dtype=bool)
        closing = False
        if self.closing_tokens is not None and self.should_wrap_up(len(generated), max_tokens):
            closers = self.closing_tokens[ids]
            if closers.any():
                keep = closers
                closing = True
        broke = False
        banned = loop_token(generated) if self.repetition_guard else None
        if banned is not None and np.count_nonzero(keep) > 1:
            hit = keep & (ids == banned)
            if hit.any():
                broke = bool(ids[int(np.argmax(np.where(keep, values, -np.inf)))] == banned)
                keep &= ~hit
        return Choice(int(ids[int(np.argmax(np.where(keep, values, -np.inf)))]), closing, broke)

    def should_wrap_up(self, n_generated: int, max_tokens: int) -> bool:
        """Past three quarters of max_tokens, end each value as soon as the constraint allows,
        so a run-away value closes into a valid object instead of being truncated."""
        if self.closing_tokens is None:
            return False
        return n_generated >= max_tokens - max(12, max_tokens // 4)

    def _sample(self, masked: npt.NDArray[np.float32], rng: np.random.Generator) -> int:
        scaled = masked / self.sampling.temperature
        if self.sampling.top_k > 0:
            k = min(self.sampling.top_k, int(np.count_nonzero(np.isfinite(scaled))))
            cut = np.partition(scaled, -k)[-k]
            scaled = np.where(scaled >= cut, scaled, -np.inf)
        scaled = scaled - np.max(scaled)
        probs = np.exp(scaled)
        probs /= probs.sum()
        return int(rng.choice(probs.size, p=probs))


def logprob(logits: npt.NDArray[np.float32], token: int) -> float:
    """log softmax(logits)[token], computed stably. Over the whole vocabulary for a full logits
    row; over the allowed tokens for the sparse head's row (``token`` is then an index into
    it)."""
    top = float(np.max(logits))
    return float(logits[token]) - top - float(np.log(np.sum(np.exp(logits - top))))
