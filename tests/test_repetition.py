"""``engine.repetition``: the token that would extend a repetition loop (no model)."""

from __future__ import annotations

from extractly.engine.repetition import loop_token


def test_loop_token_finds_the_token_that_extends_a_loop() -> None:
    assert loop_token([5, 1, 2, 1, 2, 1, 2, 1, 2]) == 1
    assert loop_token([7, 7, 7, 7, 7, 7, 7, 7]) == 7
    assert loop_token([1, 0, 0, 0]) is None  # "1000" is not a loop
    assert loop_token([1, 2, 3, 4, 5, 6]) is None
    assert loop_token([]) is None
