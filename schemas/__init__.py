"""Ready-made extraction schemas: ``from schemas.podcast import PodcastEpisode``."""
