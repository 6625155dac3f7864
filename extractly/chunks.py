"""Split a long text into overlapping chunks on sentence boundaries. Pure.

``sentence_spans`` cuts a text into sentences (after ``.``, ``!``, ``?`` or ``…`` followed by
whitespace, and at blank lines); ``plan_chunks`` groups consecutive sentences into chunks whose
token count stays within a budget, each chunk starting with the last ``overlap`` sentences of
the previous one so that a fact cut by a chunk boundary is still seen whole once. A sentence
longer than the whole budget is cut at whitespace into pieces that fit.

Chunks are ``(start, end)`` character offsets into the original text; nothing is copied or
rewritten, so offsets found inside a chunk map back to the document by adding ``start``.

Not here: tokenization (the caller passes a ``count_tokens`` function, the model's own),
extraction, merging.
"""

from __future__ import annotations

import re
from collections.abc import Callable

Span = tuple[int, int]

# A sentence ends after terminal punctuation (and closing quotes/brackets) followed by
# whitespace, or at a blank line. Abbreviations ("Dr. Smith") cause an early cut, which only
# costs a slightly shorter sentence: chunk boundaries still fall between words.
_BOUNDARY = re.compile(r"(?<=[.!?…])[\"')\]]*\s+|\n\s*\n")


def sentence_spans(text: str) -> list[Span]:
    """Sentences of ``text`` as ``(start, end)`` offsets, whitespace between them excluded."""
    spans: list[Span] = []
    start = 0
    for match in _BOUNDARY.finditer(text):
        closers = len(match.group(0)) - len(match.group(0).lstrip("\"')]"))
        end = match.start() + closers
        _append(spans, text, start, end)
        start = match.end()
    _append(spans, text, start, len(text))
    return spans


def _append(spans: list[Span], text: str, start: int, end: int) -> None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if end > start:
        spans.append((start, end))


def plan_chunks(
    text: str,
    count_tokens: Callable[[str], int],
    budget: int,
    *,
    overlap: int = 2,
) -> list[Span]:
    """Chunks of ``text`` of at most ``budget`` tokens each (as ``count_tokens`` counts them),
    made of whole sentences, consecutive chunks sharing up to ``overlap`` sentences.

    Token counts of sentences are added up with one token of slack per sentence for the
    whitespace between them; the caller should still check each chunk (tokenization across a
    boundary can differ) and pass a budget with a little margin.
    """
    if budget < 1:
        raise ValueError(f"budget must be at least 1 token, not {budget}")
    pieces: list[tuple[Span, int]] = []
    for span in sentence_spans(text):
        pieces.extend(_fit(text, span, count_tokens, budget))
    chunks: list[Span] = []
    first = 0
    while first < len(pieces):
        last, used = first, 0
        while last < len(pieces) and (last == first or used + pieces[last][1] + 1 <= budget):
            used += pieces[last][1] + 1
            last += 1
        chunks.append((pieces[first][0][0], pieces[last - 1][0][1]))
        if last == len(pieces):
            break
        # Step back ``overlap`` sentences, but always move forward and keep the overlap under
        # half the budget so the next chunk has room for new text.
        back = last
        shared = 0
        while back - 1 > first and last - back < overlap:
            shared += pieces[back - 1][1] + 1
            if shared > budget // 2:
                break
            back -= 1
        first = back
    return chunks


def _fit(
    text: str, span: Span, count_tokens: Callable[[str], int], budget: int
) -> list[tuple[Span, int]]:
    """``span`` with its token count, or cut at whitespace into parts that fit ``budget``."""
    n = count_tokens(text[span[0] : span[1]])
    if n + 1 <= budget or span[1] - span[0] <= 1:
        return [(span, n)]
    start, end = span
    # Aim for parts of about half the budget, judged by characters per token of this span.
    target = max(1, (end - start) * budget // (2 * n))
    cut = text.rfind(" ", start + 1, start + target)
    if cut <= start:
        cut = min(end - 1, start + target) if target < end - start else end - 1
    head = (start, cut)
    tail_start = cut
    while tail_start < end and text[tail_start].isspace():
        tail_start += 1
    parts = _fit(text, head, count_tokens, budget)
    if tail_start < end:
        parts.extend(_fit(text, (tail_start, end), count_tokens, budget))
    return parts
