"""Shared fixtures: the real embedded model, loaded once per test session, and llama-cpp-python's
OpenAI-compatible server with it (started once, on first use, for the fallback tests)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from extractly import Extractor
from extractly.model_files import resolve_model_path
from schemas.podcast import PodcastEpisode
from tests.support.servers import LlamaServer


@pytest.fixture(scope="session", autouse=True)
def empty_adapter_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Extractors use a registered tuned adapter by default; tests (and the subprocesses they
    start) see an empty registry of their own, never the adapters tuned on this machine."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("EXTRACTLY_ADAPTERS", str(tmp_path_factory.mktemp("adapters")))
        yield


@pytest.fixture(scope="session")
def podcast() -> Iterator[Extractor[PodcastEpisode]]:
    with Extractor(PodcastEpisode) as extractor:
        yield extractor


@pytest.fixture(scope="session")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlamaServer]:
    log = tmp_path_factory.mktemp("llama-server") / "server.log"
    server = LlamaServer(resolve_model_path(None), log)
    yield server
    server.stop()
