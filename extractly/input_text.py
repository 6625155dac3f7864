"""The checks every document passes once, before anything tokenizes it: ``clean_text``.

A document must be ``str`` (or UTF-8 ``bytes``), non-empty, encodable as UTF-8 (no lone
surrogates), and not absurdly longer than the token limit. Each failure is an ``InputError``
that says what to do. Not here: the exact token count against the context (the local backend
measures that with the model's own tokenizer).
"""

from __future__ import annotations

from typing import Any

from .errors import EmptyInputError, InputError, InputTooLongError

CHARS_PER_TOKEN_CAP = 16
"""A token covers at least one character in practice; a text over this many characters per
allowed token is refused before it is tokenized."""


def clean_text(text: Any, max_input_tokens: int | None) -> str:
    """``text`` as a checked ``str``; ``max_input_tokens=None`` skips the length check (a long
    document that will be split)."""
    if isinstance(text, bytes | bytearray):
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InputError(
                f"text is not valid UTF-8 (byte {exc.start}: "
                f"{bytes(text)[exc.start : exc.start + 4]!r}). "
                "Decode it yourself, e.g. data.decode('utf-8', errors='replace'), "
                "or with the right encoding."
            ) from exc
    if not isinstance(text, str):
        raise InputError(f"text must be str or bytes, not {type(text).__name__}")
    if not text.strip():
        raise EmptyInputError("text is empty or whitespace; there is nothing to extract from")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InputError(
            f"text contains a lone surrogate at index {exc.start} and cannot be encoded as UTF-8; "
            "clean it with text.encode('utf-8', 'replace').decode()"
        ) from exc
    if max_input_tokens is not None and len(text) > CHARS_PER_TOKEN_CAP * max_input_tokens:
        raise InputTooLongError(
            f"the text is {len(text):,} characters, "
            f"far beyond max_input_tokens={max_input_tokens}. Split it into parts, pass "
            "long_documents='split' to extract it in overlapping chunks, or raise "
            "max_input_tokens.",
            n_tokens=-1,
            limit=max_input_tokens,
        )
    return text
