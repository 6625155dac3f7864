"""``PodcastEpisode``: the facts a show-notes page states about one episode.

``extract(text, PodcastEpisode)`` reads it through the general adapter shipped in the package
(no tune for this schema). Worked examples travel with the schema (``x-extractly-examples``)
for the base model's few-shot prompt (``adapter=None``, or a model the general adapter was not
trained on). The examples are deliberately varied (numbers, missing facts, guest counts) so
the model copies the format, not the values.
"""

from __future__ import annotations

import datetime

from pydantic import BaseModel, ConfigDict, Field, JsonValue

EXAMPLES: list[JsonValue] = [
    {
        "text": (
            "Episode 112 of The Data Engineering Show: Maria Chen talks with guests Raj Patel "
            "and Lena Fischer about stream processing, Kafka and data contracts. Published "
            "March 3, 2024. Runtime 54 minutes."
        ),
        "output": {
            "title": "The Data Engineering Show",
            "episode_number": 112,
            "host": "Maria Chen",
            "guests": ["Raj Patel", "Lena Fischer"],
            "duration_minutes": 54,
            "published": "2024-03-03",
            "topics": ["stream processing", "Kafka", "data contracts"],
        },
    },
    {
        "text": (
            "New on Garden Hour! Host Tom Okafor walks through winter pruning and composting "
            "in this solo episode (1 h 20 min)."
        ),
        "output": {
            "title": "Garden Hour",
            "episode_number": None,
            "host": "Tom Okafor",
            "guests": [],
            "duration_minutes": 80,
            "published": None,
            "topics": ["winter pruning", "composting"],
        },
    },
]


class PodcastEpisode(BaseModel):
    """One podcast episode as described in its show notes."""

    model_config = ConfigDict(json_schema_extra={"x-extractly-examples": EXAMPLES})

    title: str = Field(description="Name of the show or episode")
    episode_number: int | None = Field(default=None, ge=0, description="Episode number")
    host: str | None = Field(default=None, description="Who hosts the show")
    guests: list[str] = Field(default_factory=list, description="People interviewed")
    duration_minutes: int | None = Field(
        default=None, ge=0, le=1440, description="Length in minutes"
    )
    published: datetime.date | None = Field(default=None, description="Publication date")
    topics: list[str] = Field(default_factory=list, description="Subjects discussed")
