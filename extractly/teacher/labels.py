"""Ask a teacher for labels, durably: ``label_texts(texts, teacher, spec, files)``.

The teacher is any backend the fallback chain takes (an OpenAI-compatible server, a larger
GGUF), asked through a one-backend ``Chain``: its answers are validated exactly like any answer
(schema, Pydantic validators), a validation error is fed back once, and transport failures are
retried with backoff (``RetryPolicy``). Every answer goes to disk the moment it arrives:

- ``labels.jsonl``: ``{"id", "text", "output", "teacher", "seconds"}`` per accepted answer,
  the format ``extractly tune`` reads (``text`` + ``output``) with where it came from;
- ``labels.failed.jsonl``: ``{"id", "text", "error", "attempts"}`` per text whose answers all
  failed validation (paid for, so it is not asked again unless ``retry_failed``).

Each line is one ``write`` on an append-mode file, fsynced before the next text's answer is
waited for (``etl.sink.JsonlSink``), so a killed job loses at most the answers in flight. A
rerun opens both files (a torn last line is cut away) and skips every id already in them: no
text is labelled twice, and no teacher call is repeated for a text whose answer was written.

A teacher that cannot be reached after its retries stops the labelling with
``TeacherUnavailableError`` instead of writing every remaining text off as failed; the answers
already in flight are written first. Not here: which texts to ask about (``select``), tuning,
the promotion gate.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..backends.base import Backend, BackendRequest
from ..budget import max_output_tokens
from ..chain import Chain
from ..errors import BackendRequestError, ExtractlyError, TeacherUnavailableError
from ..etl.sink import JsonlSink
from ..input_text import clean_text
from ..result import Extraction
from ..retry import RetryPolicy
from ..schema import SchemaSpec
from ..validate import OutputValidator

TEACHER_TOKENS = 2
"""The teacher's ``max_tokens``, in multiples of what the schema needs compact: a server without
structured output may indent its JSON."""
LABELS_FILE = "labels.jsonl"
FAILED_FILE = "labels.failed.jsonl"


@dataclass(frozen=True)
class Text:
    """One unlabelled text: a stable id (the input's id field, file name or line) and the text."""

    id: str
    text: str


class LabelFiles:
    """``labels.jsonl`` and ``labels.failed.jsonl`` in ``folder``, open for appending; what is
    already in them is read first (a torn last line from a killed run is cut away)."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.labels = JsonlSink(self.folder / LABELS_FILE, resume=True)
        self.failed = JsonlSink(self.folder / FAILED_FILE, resume=True)
        self._records = {str(r["id"]): r for r in self.labels.records}
        self._lock = threading.Lock()

    @property
    def path(self) -> Path:
        return self.labels.path

    def labelled(self, ids: Iterable[str] | None = None) -> list[dict[str, Any]]:
        """The label records, in ``ids``' order (those labelled) or in file order."""
        if ids is None:
            return list(self._records.values())
        return [self._records[i] for i in ids if i in self._records]

    def asked(self, retry_failed: bool = False) -> set[str]:
        """Ids the teacher already answered: labelled, and failed unless ``retry_failed``."""
        done = set(self._records)
        return done if retry_failed else done | self.failed.ids

    def add_label(self, record: dict[str, Any]) -> None:
        with self._lock:
            self.labels.write(record)
            self.labels.flush()
            self._records[str(record["id"])] = record

    def add_failure(self, record: dict[str, Any]) -> None:
        with self._lock:
            self.failed.write(record)
            self.failed.flush()

    def close(self) -> None:
        self.labels.close()
        self.failed.close()

    def __enter__(self) -> LabelFiles:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


@dataclass
class LabelSummary:
    asked: int = 0
    """Texts sent to the teacher by this call."""
    labelled: int = 0
    failed: int = 0
    skipped: int = 0
    """Texts already answered by an earlier run."""
    seconds: float = 0.0
    """Sum of the accepted answers' own times (the teacher's latency, not wall time)."""


def label_texts(
    texts: Sequence[Text],
    teacher: Backend,
    spec: SchemaSpec,
    files: LabelFiles,
    *,
    concurrency: int = 1,
    retry: RetryPolicy | None = None,
    retry_failed: bool = False,
    max_input_tokens: int | None = None,
    on_answer: Callable[[str, bool], None] | None = None,
) -> LabelSummary:
    """Ask ``teacher`` for every text of ``texts`` not yet answered in ``files``, at most
    ``concurrency`` at a time, and write each answer as it arrives (see the module docstring).

    ``on_answer(id, ok)`` is called after each answer is on disk (for progress). Raises
    ``TeacherUnavailableError`` when the teacher cannot be reached after the retry policy."""
    done = files.asked(retry_failed)
    todo = [t for t in texts if t.id not in done]
    summary = LabelSummary(skipped=len(texts) - len(todo))
    chain = Chain([teacher], reask=True, retry=retry or RetryPolicy())
    validator = OutputValidator(spec)
    max_tokens = TEACHER_TOKENS * max_output_tokens(spec.decode_schema)

    def ask(item: Text) -> Extraction[Any] | ExtractlyError:
        try:
            text = clean_text(item.text, max_input_tokens)
        except ExtractlyError as exc:
            return exc
        request = BackendRequest(text=text, spec=spec, max_tokens=max_tokens)
        return chain.run(request, validator)

    unavailable: ExtractlyError | None = None
    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        pending: dict[Future[Extraction[Any] | ExtractlyError], Text] = {}
        queue: Iterator[Text] = iter(todo)
        while True:
            while unavailable is None and len(pending) < max(1, concurrency):
                item = next(queue, None)
                if item is None:
                    break
                pending[pool.submit(ask, item)] = item
            if not pending:
                break
            finished, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in finished:
                item = pending.pop(future)
                outcome = future.result()
                summary.asked += 1
                if isinstance(outcome, Extraction):
                    files.add_label(_label_record(item, outcome))
                    summary.labelled += 1
                    summary.seconds += outcome.usage.seconds
                elif _unreachable(outcome):
                    unavailable = unavailable or outcome
                    summary.asked -= 1  # never answered: asked again by the next run
                    continue
                else:
                    files.add_failure(_failure_record(item, outcome))
                    summary.failed += 1
                if on_answer is not None:
                    on_answer(item.id, isinstance(outcome, Extraction))
    if unavailable is not None:
        raise TeacherUnavailableError(
            f"the teacher {teacher.name} could not be reached ({unavailable}); "
            f"{len(files.labelled())} label(s) are kept in {files.path}. Check the server, then "
            "run the same command again: it continues where this one stopped."
        ) from unavailable
    return summary


TEXT_STATUSES = frozenset({400, 413, 422})
"""HTTP statuses that refuse this request (too long, malformed for this text), not the teacher:
the text is written off as failed and labelling goes on."""


def _unreachable(outcome: ExtractlyError) -> bool:
    """A failure of the teacher rather than of the text: no answer at all after the retries
    (refused, timeouts, 429, 5xx), or a refusal such as 401, 403 or 404."""
    if isinstance(outcome, BackendRequestError):
        return outcome.status not in TEXT_STATUSES
    attempts = getattr(outcome, "attempts", None) or ()
    return bool(attempts) and all(
        not a.raw_text and (a.error or "").startswith("BackendRequestError") for a in attempts
    )


def _label_record(item: Text, result: Extraction[Any]) -> dict[str, Any]:
    return {
        "id": item.id,
        "text": item.text,
        "output": result.data,
        "teacher": result.backend,
        "seconds": round(result.usage.seconds, 3),
    }


def _failure_record(item: Text, error: ExtractlyError) -> dict[str, Any]:
    attempts = getattr(error, "attempts", None) or ()
    return {
        "id": item.id,
        "text": item.text,
        "error": f"{type(error).__name__}: {error}",
        "attempts": [
            {"backend": a.backend, "step": a.step, "error": a.error, "raw_text": a.raw_text}
            for a in attempts
        ],
    }
