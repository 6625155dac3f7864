"""Progress of the long commands (``run``, ``eval``, ``tune``) in one style, drawn by tqdm.

Everything goes to stderr (or the stream given), never stdout, so output piped from a command
stays clean. On a terminal the bar is live: count, rate and ETA redrawn in place about five
times a second. Anywhere else (a log file, CI, a pipe) the same text is written as plain
lines, one every ``log_every`` seconds at most, plus one at the end, so a log holds no carriage
returns and does not grow with every row.

Not here: what a command counts (its caller says, with ``update`` and the status fields) or the
summary it prints at the end (``write`` prints a line that does not break the bar).
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from typing import Any, TextIO, TypeVar

from tqdm import tqdm

LOG_EVERY = 10.0
"""Seconds between plain progress lines when the stream is not a terminal."""
LIVE_EVERY = 0.2
"""Seconds between redraws of the live bar."""

T = TypeVar("T")


class ProgressBar:
    """A bar of ``total`` ``unit``s (``None``: unknown) labelled ``desc``; see the module
    docstring. Use ``update`` with the absolute count done, or ``advance`` by a step."""

    def __init__(
        self,
        total: int | None,
        *,
        unit: str,
        desc: str,
        stream: TextIO | None = None,
        log_every: float = LOG_EVERY,
    ) -> None:
        self.stream = stream or sys.stderr
        self.live = _is_terminal(self.stream)
        self._bar: Any = tqdm(
            total=total,
            unit=unit,
            desc=desc,
            file=self.stream if self.live else _PlainLines(self.stream),
            mininterval=LIVE_EVERY if self.live else log_every,
            miniters=1,  # check the clock on every update: rows can be seconds apart
            dynamic_ncols=self.live,
            ascii=not self.live,
            smoothing=0.1,
        )

    def update(self, done: int, **status: object) -> None:
        """Show ``done`` units finished so far, with ``status`` fields (``ok=3, failed=1``)."""
        if status:
            self._bar.set_postfix({k: v for k, v in status.items()}, refresh=False)
        if done != self._bar.n:
            self._bar.update(done - self._bar.n)

    def advance(self, step: int = 1, **status: object) -> None:
        """Count ``step`` more units done."""
        self.update(self._bar.n + step, **status)

    @property
    def total(self) -> int | None:
        total: int | None = self._bar.total
        return total

    def set_total(self, total: int | None) -> None:
        """Change the number of units expected (a schedule shortened to fit a time budget)."""
        self._bar.total = total
        self._bar.refresh()

    def write(self, line: str) -> None:
        """Print ``line`` above a live bar (or as a plain line), without breaking the bar."""
        self._bar.write(line, file=self.stream)

    def close(self) -> None:
        """Draw the final state once more and end the bar's line."""
        self._bar.close()

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def tracked(
    items: Iterable[T], total: int | None, *, unit: str, desc: str, stream: TextIO | None = None
) -> Iterator[T]:
    """Yield ``items``, counting each on a ``ProgressBar`` that closes when they run out."""
    with ProgressBar(total, unit=unit, desc=desc, stream=stream) as bar:
        for item in items:
            yield item
            bar.advance()


class _PlainLines:
    """A stream for tqdm that turns each redraw (``"\\r" + text``) into one plain line."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def write(self, text: str) -> None:
        line = text.replace("\r", "").rstrip()
        if line:
            self.stream.write(line + "\n")

    def flush(self) -> None:
        self.stream.flush()


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # a closed or minimal stream
        return False
