"""Per-field confidence from the probabilities of the tokens the model chose.

The decoder records, for every output token, the log-probability the model gave it over the
whole vocabulary (before the constraint's mask), or ``None`` when the constraint forced it.
Where the sparse head chose the token (at most 512 tokens allowed; ``Usage.sparse_tokens``
counts them), the probability is over the allowed tokens only: the full vocabulary's logits
were never computed. Such a probability is never lower than the whole-vocabulary one.
Here the decoded JSON text is scanned for its leaf values (strings, numbers, booleans, nulls and
empty containers); a field's confidence is the lowest probability among the *sampled* tokens
that overlap the value's characters, closing quote included, so both "which value" and "where
does it end" count. A value made only of forced tokens (an enum with one option left, say) has
confidence 1.0.

Keys are JSON Pointers into the decoded JSON (``/title``, ``/guests/0``), before absent-key nulls
are pruned. Not here: decoding, validation, thresholds or escalation.
"""

from __future__ import annotations

import bisect
import contextlib
import json
import math
from collections.abc import Mapping, Sequence

from .json_schema import escape

_WHITESPACE = " \t\r\n"


def field_confidence(
    token_bytes: Sequence[bytes], logprobs: Sequence[float | None]
) -> dict[str, float]:
    """Map each leaf value's JSON Pointer to its confidence in [0, 1].

    ``token_bytes[i]`` is the text of output token ``i`` and ``logprobs[i]`` its natural-log
    probability, ``None`` for a forced token. Text that is not complete JSON (a truncated output)
    yields the values that could be scanned.
    """
    data = b"".join(token_bytes)
    text = data.decode("utf-8", errors="replace")
    char_at_byte = _char_offsets(text)
    starts: list[int] = []
    ends: list[int] = []
    probs: list[float] = []
    offset = 0
    for piece, logprob in zip(token_bytes, logprobs, strict=True):
        if logprob is not None:
            starts.append(_to_char(char_at_byte, offset))
            ends.append(_to_char(char_at_byte, offset + max(len(piece), 1) - 1) + 1)
            probs.append(math.exp(logprob))
        offset += len(piece)
    result: dict[str, float] = {}
    for pointer, (start, end) in _leaf_spans(text).items():
        lowest = 1.0
        # Sampled tokens overlapping [start, end): those starting before end and ending after start.
        for i in range(bisect.bisect_left(starts, end)):
            if ends[i] > start:
                lowest = min(lowest, probs[i])
        result[pointer] = lowest
    return result


def overall_confidence(fields: Mapping[str, float]) -> float:
    """The least confident field (1.0 when nothing was sampled)."""
    return min(fields.values(), default=1.0)


def _char_offsets(text: str) -> list[int]:
    """Byte offset at which each character starts, plus the total length."""
    offsets = []
    position = 0
    for ch in text:
        offsets.append(position)
        position += len(ch.encode("utf-8", errors="replace"))
    offsets.append(position)
    return offsets


def _to_char(char_at_byte: list[int], byte_offset: int) -> int:
    """The index of the character containing ``byte_offset`` (a token may split a character)."""
    return max(0, bisect.bisect_right(char_at_byte, byte_offset) - 1)


def _leaf_spans(text: str) -> dict[str, tuple[int, int]]:
    spans: dict[str, tuple[int, int]] = {}
    with contextlib.suppress(_Incomplete):
        _Scanner(text, spans).value(0, "")
    return spans


class _Incomplete(Exception):
    """The text ends (or breaks) before the JSON does."""


class _Scanner:
    """A minimal JSON scanner that records where each leaf value lies. It assumes the text is
    JSON as the constraint produces it and stops at the first thing it does not understand."""

    def __init__(self, text: str, spans: dict[str, tuple[int, int]]) -> None:
        self.text = text
        self.spans = spans

    def skip(self, i: int) -> int:
        while i < len(self.text) and self.text[i] in _WHITESPACE:
            i += 1
        if i >= len(self.text):
            raise _Incomplete
        return i

    def value(self, i: int, pointer: str) -> int:
        i = self.skip(i)
        ch = self.text[i]
        if ch == "{":
            end = self.container(i, pointer, "}", keyed=True)
        elif ch == "[":
            end = self.container(i, pointer, "]", keyed=False)
        elif ch == '"':
            end = self.string_end(i)
        else:
            end = i
            while end < len(self.text) and self.text[end] not in ",]}" + _WHITESPACE:
                end += 1
            if end == i:
                raise _Incomplete
        if ch not in "{[" or end - i == 2:
            self.spans[pointer] = (i, end)
        return end

    def container(self, i: int, pointer: str, close: str, *, keyed: bool) -> int:
        i = self.skip(i + 1)
        index = 0
        while self.text[i] != close:
            if keyed:
                key_end = self.string_end(i)
                key = _unescape(self.text[i + 1 : key_end - 1])
                i = self.skip(key_end)
                if self.text[i] != ":":
                    raise _Incomplete
                child = f"{pointer}/{escape(key)}"
                i = self.value(i + 1, child)
            else:
                i = self.value(i, f"{pointer}/{index}")
            index += 1
            i = self.skip(i)
            if self.text[i] == ",":
                i = self.skip(i + 1)
            elif self.text[i] != close:
                raise _Incomplete
        return i + 1

    def string_end(self, i: int) -> int:
        if self.text[i] != '"':
            raise _Incomplete
        j = i + 1
        while j < len(self.text):
            if self.text[j] == "\\":
                j += 2
                continue
            if self.text[j] == '"':
                return j + 1
            j += 1
        raise _Incomplete


def _unescape(raw: str) -> str:
    if "\\" not in raw:
        return raw
    try:
        decoded: str = json.loads(f'"{raw}"')
    except ValueError:
        return raw
    return decoded
