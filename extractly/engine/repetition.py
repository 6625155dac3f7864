"""Detect a small model's loops ("Gemma 3 270M", "Gemma 3 270M", ...) in a token stream.

``loop_token`` returns the token that would extend a cycle already repeated ``min_repeats``
times at the end of the stream, so the sampler can refuse it and let the constraint steer the
model elsewhere (usually closing the string or list). Pure: no model, no numpy.
"""

from __future__ import annotations

from collections.abc import Sequence


def loop_token(
    tokens: Sequence[int], *, min_repeats: int = 3, max_period: int = 16, min_span: int = 8
) -> int | None:
    """The token that continues a loop at the end of ``tokens``, or ``None`` if there is none.

    A loop is a block of ``p <= max_period`` tokens repeated back to back at least
    ``min_repeats`` times and covering at least ``min_span`` tokens (so "1000" is not a loop).
    """
    n = len(tokens)
    for period in range(1, max_period + 1):
        repeats = max(min_repeats, -(-min_span // period))
        if n < period * repeats:
            break
        tail = tokens[n - period :]
        if all(tokens[n - (k + 1) * period : n - k * period] == tail for k in range(1, repeats)):
            return tokens[n - period]
    return None
