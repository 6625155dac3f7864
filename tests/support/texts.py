"""Short sample texts that several test modules run through the podcast schema."""

from __future__ import annotations

SHOW_NOTES = [
    "Episode 42 of Tech Talk Weekly, hosted by Sarah Johnson, with guest Alan Park on "
    "compilers. Published 2023-06-05, 47 minutes.",
    "Garden Hour: Tom Okafor on winter pruning. 20 minutes.",
    "Episode 7 of Money Matters. Host: Ana Ruiz. Guests: Ben Stone and Kim Lee. "
    "Topic: index funds.",
]
