"""``run_job``: extract from every row of an input file into a crash-safe, resumable JSONL.

The parent process reads rows, skips ids already done (``resume``), sends usable rows in chunks
to the extraction (in-process, or ``workers`` processes, each with its own Extractor and
``cores // workers`` llama.cpp threads so the threads never outnumber the cores) and is the only
writer: successes go to the output, failures (bad rows and failed extractions, with the reason
and every attempt) to the dead-letter file. Records are flushed and fsynced after each chunk, so
a SIGKILL loses at most the chunks in flight, which a resumed run does again. Decoding is batch
invariant (see ``engine/decoder.py``), so a resumed run gives the same objects as an
uninterrupted one. Ctrl-C or SIGTERM stops after the current chunk, flushed, with a summary.
Before it opens either file, the job locks both for its whole life (``lock.py``): a second job
on the same output is refused with ``OutputLockedError`` and writes nothing.

Not here: reading formats (``rows.py``), file durability (``sink.py``), the one-writer lock
(``lock.py``), the progress display (``progress.py``).
"""

from __future__ import annotations

import multiprocessing as mp
import signal
import sys
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

from pydantic import BaseModel

from ..errors import ExtractlyError
from ..extractor import DEFAULT_BATCH_SIZE, Extractor
from ..result import Extraction
from ..settings import available_cores, thread_count
from .lock import JobLock
from .progress import Progress
from .rows import DEFAULT_MAX_ROW_BYTES, Row, count_rows, read_rows
from .sink import JsonlSink, rewrite_jsonl
from .summary import JobSummary

SchemaRef = type[BaseModel] | Mapping[str, Any]
Outcome = tuple[str, bool, dict[str, Any]]
"""(row id, succeeded, record fields) as a worker reports it."""


@dataclass
class JobConfig:
    schema: SchemaRef
    input: Path
    output: Path
    dead_letter: Path | None = None
    text_field: str = "text"
    id_field: str = "id"
    resume: bool = False
    retry_failed: bool = False
    workers: int = 1
    batch_size: int = DEFAULT_BATCH_SIZE
    max_row_bytes: int = DEFAULT_MAX_ROW_BYTES
    options: dict[str, Any] = field(default_factory=dict)
    """Further ``Extractor`` options (model, max_tokens, examples, ...)."""

    def dead_letter_path(self) -> Path:
        return self.dead_letter or self.output.with_name(self.output.name + ".failed.jsonl")


def run_job(config: JobConfig, *, progress: Progress | None = None) -> JobSummary:
    """Run (or resume, or retry the failures of) one extraction job; see the module docstring.

    Raises ``OutputLockedError``, having written nothing, while another job (in any process)
    writes the same output or dead-letter file.
    """
    if config.workers < 1:
        raise ValueError("workers must be at least 1")
    with JobLock([config.output, config.dead_letter_path()]):
        return _run_locked(config, progress)


def _run_locked(config: JobConfig, progress: Progress | None) -> JobSummary:
    output = JsonlSink(config.output, resume=config.resume or config.retry_failed)
    dead_path = config.dead_letter_path()
    dead = JsonlSink(dead_path, resume=True)
    summary = JobSummary(output=str(config.output), dead_letter=str(dead_path))
    if config.retry_failed:
        wanted = dead.ids - output.ids
        done: set[str] = set(output.ids)
        kept_failures = [r for r in dead.records if str(r["id"]) not in output.ids]
        dead.close()
    else:
        wanted = None
        done = output.ids | dead.ids
    progress = progress or Progress(total=count_rows(config.input))
    stop = _StopFlag()
    new_failures: list[dict[str, Any]] = []
    start = time.perf_counter()
    try:
        with stop.installed(), _executor(config) as executor:
            rows = _rows_to_do(config, done, wanted, summary, progress)
            chunks = _chunks(rows, config, dead, summary, progress, new_failures)
            for chunk_rows, outcomes in executor.map_chunks(chunks, stop):
                for row, (row_id, ok, fields) in zip(chunk_rows, outcomes, strict=True):
                    assert row.id == row_id
                    if ok:
                        output.write({"id": row.id, **fields})
                        summary.ok += 1
                        if fields["escalated"]:
                            backend = fields["backend"]
                            summary.escalated[backend] = summary.escalated.get(backend, 0) + 1
                    elif config.retry_failed:
                        new_failures.append(_failure(row, fields))
                        summary.failed += 1
                    else:
                        dead.write(_failure(row, fields))
                        summary.failed += 1
                output.flush()
                if not config.retry_failed:
                    dead.flush()
                progress.update(summary)
            summary.interrupted = stop.requested
    finally:
        summary.seconds = time.perf_counter() - start
        output.close()
        if config.retry_failed:
            retried = {str(r["id"]) for r in new_failures} | output.ids
            kept = [r for r in kept_failures if str(r["id"]) not in retried]
            rewrite_jsonl(dead_path, kept + new_failures)
        else:
            dead.close()
        progress.finish(summary)
    return summary


def _rows_to_do(
    config: JobConfig,
    done: set[str],
    wanted: set[str] | None,
    summary: JobSummary,
    progress: Progress,
) -> Iterator[Row]:
    seen: set[str] = set()
    for row in read_rows(
        config.input,
        text_field=config.text_field,
        id_field=config.id_field,
        max_row_bytes=config.max_row_bytes,
    ):
        if row.id in done or (wanted is not None and row.id not in wanted):
            summary.skipped += 1
            progress.update(summary)
            continue
        if row.id in seen:
            row = Row(row.id, None, row.source, row.raw, "duplicate id in the input")
        seen.add(row.id)
        yield row


def _chunks(
    rows: Iterator[Row],
    config: JobConfig,
    dead: JsonlSink,
    summary: JobSummary,
    progress: Progress,
    new_failures: list[dict[str, Any]],
) -> Iterator[list[Row]]:
    """Usable rows in chunks of ``batch_size``; unusable ones go straight to the dead letters."""
    chunk: list[Row] = []
    for row in rows:
        if row.problem is not None:
            record = _failure(row, {"error": "BadRow", "message": row.problem, "attempts": []})
            if config.retry_failed:
                new_failures.append(record)
            else:
                dead.write(record)
                dead.flush()
            summary.failed += 1
            progress.update(summary)
            continue
        chunk.append(row)
        if len(chunk) == config.batch_size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _failure(row: Row, fields: dict[str, Any]) -> dict[str, Any]:
    return {"id": row.id, **fields, "source": row.source, **row.raw_for_record()}


# -- extraction, in this process or in workers --------------------------------------------------


def extract_chunk(extractor: Extractor[Any], items: list[tuple[str, str]]) -> list[Outcome]:
    """Extract each (id, text); report each as the record fields of a success or a failure."""
    outcomes: list[Outcome] = []
    results = extractor.run_many([text for _, text in items], return_exceptions=True)
    for (row_id, _), result in zip(items, results, strict=True):
        if isinstance(result, ExtractlyError):
            outcomes.append((row_id, False, _error_fields(result)))
        else:
            outcomes.append((row_id, True, success_fields(result)))
    return outcomes


def success_fields(result: Extraction[Any]) -> dict[str, Any]:
    """The record fields of a success; ``output`` is ``result.data`` (keys by alias).
    ``escalated``: a later backend of the chain answered, not the first one."""
    usage = result.usage
    fields: dict[str, Any] = {
        "output": result.data,
        "backend": result.backend,
        "escalated": bool(result.attempts) and result.backend != result.attempts[0].backend,
        "confidence": round(result.confidence, 6),
        "field_confidence": {k: round(v, 6) for k, v in result.field_confidence.items()},
    }
    spans = getattr(result, "spans", None)
    if spans:
        fields["spans"] = {k: list(v) for k, v in spans.items()}
    fields["seconds"] = round(usage.seconds, 4)
    fields["usage"] = {
        "prompt_tokens": usage.prompt_tokens,
        "sampled_tokens": usage.sampled_tokens,
        "forced_tokens": usage.forced_tokens,
    }
    return fields


def _error_fields(exc: ExtractlyError) -> dict[str, Any]:
    attempts = [
        {"backend": a.backend, "error": a.error, "raw_text": a.raw_text}
        for a in getattr(exc, "attempts", [])
        if hasattr(a, "backend")
    ]
    return {"error": type(exc).__name__, "message": str(exc), "attempts": attempts}


class _InProcess:
    def __init__(self, config: JobConfig) -> None:
        options = {**config.options, "batch_size": config.batch_size}
        self.extractor: Extractor[Any] = Extractor(config.schema, **options)

    def map_chunks(
        self, chunks: Iterable[list[Row]], stop: _StopFlag
    ) -> Iterator[tuple[list[Row], list[Outcome]]]:
        for chunk in chunks:
            yield chunk, extract_chunk(self.extractor, [(r.id, r.text or "") for r in chunk])
            if stop.requested:
                return

    def close(self) -> None:
        self.extractor.close()

    def __enter__(self) -> _InProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _WorkerPool:
    """``workers`` processes with ``n_threads`` llama.cpp threads each if the options name it,
    else sharing ``settings.thread_count()`` ($EXTRACTLY_THREADS, else the cores) evenly."""

    def __init__(self, config: JobConfig) -> None:
        cores = available_cores()
        budget = thread_count()
        if config.workers > cores:
            print(
                f"extractly: {config.workers} workers on {cores} cores would oversubscribe "
                f"the CPU (10-100x slower); using {cores}",
                file=sys.stderr,
            )
        self.size = min(config.workers, cores)
        threads = max(1, budget // self.size)
        options = {"n_threads": threads, **config.options, "batch_size": config.batch_size}
        ctx = mp.get_context("spawn")
        self.tasks: Any = ctx.Queue()
        self.results: Any = ctx.Queue()
        self.procs = [
            ctx.Process(
                target=_worker_main,
                args=(config.schema, options, self.tasks, self.results),
                daemon=True,
            )
            for _ in range(self.size)
        ]
        for p in self.procs:
            p.start()

    def map_chunks(
        self, chunks: Iterable[list[Row]], stop: _StopFlag
    ) -> Iterator[tuple[list[Row], list[Outcome]]]:
        in_flight: dict[int, list[Row]] = {}
        limit = 2 * self.size
        source = iter(enumerate(chunks))
        exhausted = False
        while True:
            while not exhausted and not stop.requested and len(in_flight) < limit:
                try:
                    number, chunk = next(source)
                except StopIteration:
                    exhausted = True
                    break
                in_flight[number] = chunk
                self.tasks.put((number, [(r.id, r.text or "") for r in chunk]))
            if not in_flight or stop.requested:
                return  # on a stop, chunks in flight are abandoned and done again on resume
            number, outcomes = self._next_result()
            yield in_flight.pop(number), outcomes

    def _next_result(self) -> tuple[int, list[Outcome]]:
        while True:
            try:
                number, outcomes = self.results.get(timeout=1.0)
            except Exception:  # queue.Empty; check that the workers are still alive
                dead = [p for p in self.procs if not p.is_alive()]
                if dead:
                    raise RuntimeError(
                        f"an extraction worker died (exit code {dead[0].exitcode}); the output "
                        "so far is safe: rerun with --resume"
                    ) from None
                continue
            if isinstance(outcomes, str):
                raise RuntimeError(f"an extraction worker failed: {outcomes}")
            return number, outcomes

    def close(self) -> None:
        for p in self.procs:
            if p.is_alive():
                p.terminate()
        for p in self.procs:
            p.join(timeout=10)

    def __enter__(self) -> _WorkerPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _worker_main(schema: SchemaRef, options: dict[str, Any], tasks: Any, results: Any) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop
    try:
        extractor: Extractor[Any] = Extractor(schema, **options)
    except Exception as exc:  # report instead of dying silently
        results.put((-1, f"{type(exc).__name__}: {exc}"))
        return
    while True:
        number, items = tasks.get()
        results.put((number, extract_chunk(extractor, items)))


def _executor(config: JobConfig) -> _InProcess | _WorkerPool:
    return _InProcess(config) if config.workers == 1 else _WorkerPool(config)


class _StopFlag:
    """SIGINT / SIGTERM ask the job to stop after the current chunk; a second one is immediate."""

    def __init__(self) -> None:
        self.requested = False

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        print("\nextractly: stopping after the current chunk (again to abort)", file=sys.stderr)

    def installed(self) -> _Installed:
        return _Installed(self)


class _Installed:
    def __init__(self, flag: _StopFlag) -> None:
        self.flag = flag
        self.previous: dict[int, Any] = {}

    def __enter__(self) -> None:
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                self.previous[sig] = signal.signal(sig, self.flag._handle)
            except ValueError:  # not the main thread: leave signals alone
                return

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)
