"""Decode podcast show notes for a given number of seconds, one at a time; print the count.

Run as a separate process by ``tests/test_cpu_share.py``, whose assertions read its stderr
(where the contention warning goes). Usage: ``python -m tests.support.decode_for SECONDS``.
"""

from __future__ import annotations

import sys
import time

from extractly import Extractor
from schemas.podcast import PodcastEpisode
from tests.support.texts import SHOW_NOTES


def main() -> None:
    seconds = float(sys.argv[1])
    done = 0
    with Extractor(PodcastEpisode) as extractor:
        extractor.run(SHOW_NOTES[0])  # load and warm up before the clock starts
        started = time.monotonic()
        while time.monotonic() - started < seconds:
            extractor.run(SHOW_NOTES[done % len(SHOW_NOTES)])
            done += 1
    print(done)


if __name__ == "__main__":
    main()
