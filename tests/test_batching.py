"""Batched decoding gives exactly the one-by-one results, and why it can.

The first test pins the engine behaviour the decoder's scheduling relies on (see the docstring of
``extractly/engine/decoder.py``): a token computed beside a filler token in another stream gets
bit-identical logits to the same token computed in a lockstep step of up to seven sequences.
"""

from __future__ import annotations

import numpy as np

from extractly import Extractor
from extractly.engine.decoder import MAX_INVARIANT_BATCH
from extractly.engine.llama import ContextConfig, LlamaContext
from schemas.podcast import PodcastEpisode
from tests.support.texts import SHOW_NOTES

MORE_NOTES = [
    "The Daily Bake #118: host Priya Nair talks sourdough starters with baker Luis Ortega. "
    "Released 2024-02-14, runs 35 minutes.",
    "In this 58-minute episode of Space Hour, Dr. Mae Lin explains exoplanet atmospheres.",
    "History Rewind, episode 3: the fall of Constantinople, told by Omar Haddad.",
]


def _logits_per_step(ctx: LlamaContext, prompts: list[list[int]], steps: int) -> list[np.ndarray]:
    """Prompts one by one, then ``steps`` lockstep steps; logits of sequence 0 at each step."""
    for seq, prompt in enumerate(prompts):
        ctx.decode([(t, i, seq, False) for i, t in enumerate(prompt)])
    out = []
    for step in range(steps):
        entries = [(1000 + step, len(p) + step, seq, seq == 0) for seq, p in enumerate(prompts)]
        if len(entries) == 1:  # the decoder's filler: a token in the idle neighbouring stream
            ctx.seq_rm(1)
            entries.append((0, 0, 1, False))
        ctx.decode(entries)
        out.append(ctx.logits(0).copy())
    return out


def test_a_token_beside_a_filler_matches_the_same_token_in_a_lockstep_batch(
    podcast: Extractor[PodcastEpisode],
) -> None:
    model = podcast.session.model
    prompts = [model.tokenize(t, add_bos=True) for t in SHOW_NOTES + MORE_NOTES]
    prompts = (prompts * 3)[:MAX_INVARIANT_BATCH]
    alone = LlamaContext(model, ContextConfig(n_ctx=512, n_batch=512, n_seq_max=2))
    batched = LlamaContext(
        model, ContextConfig(n_ctx=256 * len(prompts), n_batch=512, n_seq_max=len(prompts))
    )
    try:
        expected = _logits_per_step(alone, prompts[:1], 4)
        got = _logits_per_step(batched, prompts, 4)
    finally:
        alone.close()
        batched.close()
    for a, b in zip(expected, got, strict=True):
        assert np.array_equal(a, b)


def test_run_many_equals_run_one_by_one(podcast: Extractor[PodcastEpisode]) -> None:
    texts = SHOW_NOTES + MORE_NOTES
    one_by_one = [podcast.run(t).raw_text for t in texts]
    for batch_size in (4, MAX_INVARIANT_BATCH):
        batched = [r.raw_text for r in podcast.run_many(texts, batch_size=batch_size)]
        assert batched == one_by_one, f"batch_size={batch_size}"
