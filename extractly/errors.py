"""The exception tree of extractly.

Every error the library raises on purpose derives from ``ExtractlyError``::

    ExtractlyError
    ├── SchemaError                 the schema cannot be used (raised when an Extractor is built)
    │   └── UnsupportedSchemaError  a feature the decoder cannot enforce; names field and keyword
    ├── InputError                  the text cannot be extracted from as given
    │   ├── EmptyInputError         empty or whitespace-only text
    │   └── InputTooLongError       the prompt does not fit the model's context
    ├── BackendError                the model could not be loaded or run
    │   ├── ModelNotFoundError      no GGUF at the given path, or the embedded one is missing
    │   ├── BackendCrashError       the installed llama.cpp build crashes on this machine
    │   ├── BackendRequestError     an HTTP backend failed (refused, timeout, HTTP status);
    │   │                           ``retryable`` says whether the retry policy may try again
    │   └── TeacherUnavailableError ``extractly distill``'s teacher stayed unreachable after
    │                               retries; labelling stops and keeps what was answered
    ├── ExtractionError             decoding ran but produced no valid object; holds raw_text
    │   ├── TruncatedOutputError    max_tokens or the context ran out before the JSON closed
    │   ├── OutputValidationError   the JSON parsed but the schema or a validator rejected it
    │   └── FallbackExhaustedError  every backend of the fallback chain failed; holds them all
    ├── DataFileError               a data file row is unreadable or does not fit the schema;
    │   │                           the message names file:line and how to fix it
    │   ├── EvalDataError           a gold row for ``extractly eval``
    │   └── TuneDataError           a training pair for ``extractly tune``
    ├── OutputLockedError           another ``extractly run`` job is writing the same output or
    │                               dead-letter file; names that process (``extractly.etl``)
    └── AdapterError                a registered adapter cannot be found, pinned or imported (an
                                    unknown id, another base model or schema); says what to do

``ExtractionError`` carries the evidence: ``raw_text`` (what the model wrote) and
``attempts`` (each try). We never reuse pydantic's ``ValidationError`` name.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class ExtractlyError(Exception):
    """Base class of every error extractly raises on purpose."""


class SchemaError(ExtractlyError, ValueError):
    """The schema cannot be used for extraction."""


class UnsupportedSchemaError(SchemaError):
    """A schema feature that constrained decoding cannot enforce.

    ``path`` is the JSON pointer of the offending sub-schema, ``feature`` the keyword.
    """

    def __init__(self, message: str, *, path: str = "", feature: str = "") -> None:
        super().__init__(message)
        self.path = path
        self.feature = feature


class InputError(ExtractlyError, ValueError):
    """The input text cannot be used as given."""


class EmptyInputError(InputError):
    """The text is empty or only whitespace."""


class InputTooLongError(InputError):
    """The prompt for this text is longer than the model's context window."""

    def __init__(self, message: str, *, n_tokens: int, limit: int) -> None:
        super().__init__(message)
        self.n_tokens = n_tokens
        self.limit = limit


class BackendError(ExtractlyError, RuntimeError):
    """The model could not be loaded or run."""


class ModelNotFoundError(BackendError, FileNotFoundError):
    """No usable GGUF file was found."""


class BackendCrashError(BackendError):
    """The installed llama.cpp build dies on this machine (e.g. SIGSEGV in an AMX kernel)."""


class BackendRequestError(BackendError):
    """A request to a remote backend failed: connection refused, timeout or an HTTP error.

    ``status`` is the HTTP status (``None`` when there was no response); ``retryable`` is true
    for timeouts, refused connections, 429 and 5xx. The message never contains an API key.
    """

    def __init__(self, message: str, *, status: int | None = None, retryable: bool = False) -> None:
        super().__init__(message)
        self.status = status
        self.retryable = retryable


class ExtractionError(ExtractlyError):
    """Decoding ran but did not produce a valid object.

    ``raw_text`` is what the model wrote, ``attempts`` every try that was made.
    """

    def __init__(self, message: str, *, raw_text: str = "", attempts: Sequence[Any] = ()) -> None:
        super().__init__(message)
        self.raw_text = raw_text
        self.attempts = list(attempts)


class TruncatedOutputError(ExtractionError):
    """The output hit max_tokens or the end of the context before the JSON was complete."""


class OutputValidationError(ExtractionError):
    """The output was well-formed JSON but failed schema or validator checks."""


class FallbackExhaustedError(ExtractionError):
    """Every backend of the chain (with re-asks and retries) failed for one document.

    ``attempts`` lists each try in order (backend, raw output, error, usage); ``raw_text`` is
    the last output any backend produced.
    """


class DataFileError(ExtractlyError, ValueError):
    """A data file row is unreadable or does not fit the schema.

    The message names the row (``file:line`` for a file) and says how to fix it. Raised as is
    for a distillation log (``read_distill_log``); the readers of gold and training files raise
    the subclasses below.
    """


class EvalDataError(DataFileError):
    """A gold row (``extractly.evaluation``) is unreadable, malformed or does not fit the schema.

    The message names the row (``file:line`` for a file) and says how to fix it.
    """


class TuneDataError(DataFileError):
    """A training file line (``extractly.tune``) is unreadable or its object does not fit the
    schema the decoder enforces; the message names ``file:line`` (or the pair) and the fix."""


class OutputLockedError(ExtractlyError, RuntimeError):
    """Another batch job holds the lock of an output (or dead-letter) file this job would write.

    Raised by ``extractly.etl.run_job`` before anything is opened, so the refused job wrote
    nothing. ``path`` is the file in use, ``lock_file`` its lock, ``pid`` the holder's process
    id when its record could be read (``None`` otherwise). The message says who holds it, since
    when, and what to do. ``extractly run`` exits with status 75 for it.
    """

    def __init__(self, message: str, *, path: str, lock_file: str, pid: int | None) -> None:
        super().__init__(message)
        self.path = path
        self.lock_file = lock_file
        self.pid = pid


class AdapterError(ExtractlyError, ValueError):
    """An ``extractly adapters`` operation was refused: no or several adapters match the given
    id, or a file to import was tuned for another base model or schema, or is damaged. The
    message says which and what to do (``extractly.adapter_store``, ``extractly.adapter_bundle``).
    """


class TeacherUnavailableError(BackendError):
    """The teacher of ``extractly distill`` (``extractly.teacher``) could not be reached: a
    transport failure (refused, timeout, HTTP status) that the retry policy did not overcome.
    Labelling stops at once rather than marking every remaining text as failed; the labels
    already written are kept, and running the same command again continues from them."""
