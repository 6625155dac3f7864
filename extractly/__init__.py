"""extractly: unstructured text to validated JSON with a small local model.

from extractly import extract
episode = extract(text, PodcastEpisode)
"""

from ._api import extract, extract_many
from .backends import Backend, BackendAnswer, BackendRequest, LlamaCppBackend, OpenAIBackend
from .chain import Chain
from .distill import DistillLog, read_distill_log
from .errors import (
    BackendCrashError,
    BackendError,
    BackendRequestError,
    EmptyInputError,
    EvalDataError,
    ExtractionError,
    ExtractlyError,
    FallbackExhaustedError,
    InputError,
    InputTooLongError,
    ModelNotFoundError,
    OutputValidationError,
    SchemaError,
    TeacherUnavailableError,
    TruncatedOutputError,
    UnsupportedSchemaError,
)
from .evaluation import EvalReport, GoldRow, evaluate, read_gold
from .extractor import Extractor
from .result import Attempt, Extraction, Usage
from .retry import RetryPolicy
from .schema import EXAMPLES_KEY, Example
from .settings import Safeguards, Sampling
from .shadow import Shadow, ShadowStats

__all__ = [
    "EXAMPLES_KEY",
    "Attempt",
    "Backend",
    "BackendAnswer",
    "BackendCrashError",
    "BackendError",
    "BackendRequest",
    "BackendRequestError",
    "Chain",
    "DistillLog",
    "EmptyInputError",
    "EvalDataError",
    "EvalReport",
    "Example",
    "Extraction",
    "ExtractionError",
    "ExtractlyError",
    "Extractor",
    "FallbackExhaustedError",
    "GoldRow",
    "InputError",
    "InputTooLongError",
    "LlamaCppBackend",
    "ModelNotFoundError",
    "OpenAIBackend",
    "OutputValidationError",
    "RetryPolicy",
    "Safeguards",
    "Sampling",
    "SchemaError",
    "Shadow",
    "ShadowStats",
    "TeacherUnavailableError",
    "TruncatedOutputError",
    "UnsupportedSchemaError",
    "Usage",
    "evaluate",
    "extract",
    "extract_many",
    "read_distill_log",
    "read_gold",
]
