"""``extractly.progress``: a live bar on a terminal (a real pseudo-terminal here), plain periodic
lines elsewhere, never anything on stdout; ``evaluate(..., progress=True)`` uses it (the run's bar
is checked in ``test_cli_chain.py``)."""

from __future__ import annotations

import fcntl
import io
import os
import re
import select
import struct
import termios
import time

import pytest

from extractly import Extractor
from extractly.evaluation import evaluate
from extractly.progress import ProgressBar, tracked
from schemas.podcast import PodcastEpisode


def test_plain_lines_when_not_a_terminal_at_most_one_per_interval(
    capsys: pytest.CaptureFixture[str],
) -> None:
    stream = io.StringIO()
    start = time.monotonic()
    with ProgressBar(60, unit="rows", desc="job", stream=stream, log_every=0.25) as bar:
        for done in range(1, 61):
            time.sleep(0.01)
            bar.update(done, ok=done, failed=0)
    seconds = time.monotonic() - start
    text = stream.getvalue()
    lines = text.splitlines()
    assert "\r" not in text and "\x1b" not in text  # a log stays a log
    assert 2 <= len(lines) <= seconds / 0.25 + 3, lines  # first, periodic, final
    assert all(line.startswith("job:") for line in lines)
    assert re.search(r"60/60 \[.*rows/s, ok=60, failed=0\]$", lines[-1]), lines[-1]
    assert capsys.readouterr().out == ""


def test_a_live_bar_with_rate_and_eta_on_a_terminal() -> None:
    leader, follower = os.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # 100 columns
    with os.fdopen(follower, "w") as terminal:
        bar = ProgressBar(40, unit="docs", desc="eval", stream=terminal)
        assert bar.live
        for _ in range(40):
            time.sleep(0.01)
            bar.advance()
        bar.write("a note above the bar")
        bar.close()
        terminal.flush()
        shown = _read_all(leader)
    os.close(leader)
    assert shown.count("\r") >= 2  # redrawn in place
    assert re.search(r"eval: +\d+%\|.*\| \d+/40 \[\d\d:\d\d<\d\d:\d\d, +[\d.]+docs/s\]", shown)
    assert "a note above the bar" in shown and "40/40" in shown


def _read_all(fd: int) -> str:
    """What the terminal received: a pty hands it over in pieces, so read until it is quiet."""
    data = b""
    while select.select([fd], [], [], 0.5)[0]:
        data += os.read(fd, 1 << 16)
    return data.decode()


def test_tracked_yields_every_item_and_counts_it() -> None:
    stream = io.StringIO()
    assert list(tracked(iter(range(5)), 5, unit="docs", desc="t", stream=stream)) == [0, 1, 2, 3, 4]
    assert re.search(r"t: 100%.* 5/5 \[", stream.getvalue().splitlines()[-1])
    stream = io.StringIO()
    with ProgressBar(None, unit="docs", desc="unknown total", stream=stream) as bar:
        bar.advance(3)
    assert re.search(r"unknown total: 3docs \[", stream.getvalue())


def test_evaluate_counts_documents_on_stderr_only(
    podcast: Extractor[PodcastEpisode], capsys: pytest.CaptureFixture[str]
) -> None:
    gold = {"title": "Bytes", "episode_number": 4, "host": "Li Na", "guests": []}
    rows = [{"text": "Episode 4 of Bytes with host Li Na.", "gold": gold}] * 3
    report = evaluate(podcast, rows, progress=True)
    out, err = capsys.readouterr()
    assert report.n == 3 and out == ""
    assert re.search(r"extractly eval: 100%.* 3/3 \[", err.splitlines()[-1]), err
