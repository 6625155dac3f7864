"""extractly: unstructured text to validated JSON with a small local model.

from extractly import extract
episode = extract(text, PodcastEpisode)
"""

from ._api import extract, extract_many
from .errors import (
    BackendCrashError,
    BackendError,
    EmptyInputError,
    ExtractionError,
    ExtractlyError,
    InputError,
    InputTooLongError,
    ModelNotFoundError,
    OutputValidationError,
    SchemaError,
    TruncatedOutputError,
    UnsupportedSchemaError,
)
from .extractor import Extractor
from .options import Safeguards, Sampling
from .result import Attempt, Extraction, Usage
from .schema import EXAMPLES_KEY, Example

__all__ = [
    "EXAMPLES_KEY",
    "Attempt",
    "BackendCrashError",
    "BackendError",
    "EmptyInputError",
    "Example",
    "Extraction",
    "ExtractionError",
    "ExtractlyError",
    "Extractor",
    "InputError",
    "InputTooLongError",
    "ModelNotFoundError",
    "OutputValidationError",
    "Safeguards",
    "Sampling",
    "SchemaError",
    "TruncatedOutputError",
    "UnsupportedSchemaError",
    "Usage",
    "extract",
    "extract_many",
]
