"""Shared fixtures: the real embedded model, loaded once per test session, and llama-cpp-python's
OpenAI-compatible server with it (started once, on first use, for the fallback tests)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from extractly import Extractor
from extractly.model_files import resolve_model_path
from schemas.podcast import PodcastEpisode
from tests.support.servers import LlamaServer


def pytest_configure(config: pytest.Config) -> None:
    """Under pytest-xdist, pin each worker (and every process it starts) to a core of its own.

    ggml's threads spin at a barrier after every operation, so two workers whose threads share
    the cores slow each other many times over; a worker on one core sees one core
    (``available_cores``) and runs everything there with one thread."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    count = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    if not worker.startswith("gw") or not hasattr(os, "sched_setaffinity"):
        return
    cores = sorted(os.sched_getaffinity(0))
    if count <= len(cores):
        os.sched_setaffinity(0, {cores[int(worker[2:]) % len(cores)]})


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
