"""Extract a PodcastEpisode from show notes with the embedded model: `make demo`."""

from __future__ import annotations

import time

from extractly import Extractor, extract
from schemas.podcast import PodcastEpisode

SHOW_NOTES = [
    (
        "Episode 57 of Kitchen Science with host Priya Raman. This week Priya welcomes chef "
        "Marco Bianchi to talk about fermentation and sourdough starters. Released January 12, "
        "2025. Length: 38 minutes."
    ),
    (
        "The Long Run, episode 203: Jamal Carter interviews marathoner Sofia Alvarez about "
        "altitude training. Published 2023-09-18, 1 hour 5 minutes."
    ),
]


def main() -> None:
    # One call: the simplest way in.
    episode = extract(SHOW_NOTES[0], PodcastEpisode)
    print(episode.model_dump_json(indent=2))

    # An Extractor is built once and reused; each result says how it was obtained.
    extractor = Extractor(PodcastEpisode)
    for text in SHOW_NOTES[1:]:
        start = time.perf_counter()
        result = extractor.run(text)
        print(result.value.model_dump_json(indent=2))
        u = result.usage
        print(
            f"backend={result.backend} prompt={u.prompt_tokens} cached={u.cached_prompt_tokens} "
            f"sampled={u.sampled_tokens} forced={u.forced_tokens} "
            f"seconds={time.perf_counter() - start:.2f}"
        )


if __name__ == "__main__":
    main()
