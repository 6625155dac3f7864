"""Resolve a schema reference given as text: ``module:Class`` or a JSON Schema file path.

The command line, the Ray integration and anything else that takes a schema by name use this,
so the library never imports the CLI. ``module:Class`` imports the module (the current
directory is put on ``sys.path`` first, as ``python -m`` would) and takes a Pydantic model class
or a JSON Schema dict from it; a path ending in ``.json``, or any existing file, is read as a
JSON Schema. Failures raise ``SchemaError``. Not here: normalizing the schema
(``extractly.schema``) or choosing one schema from a file of named schemas
(``extractly.evaluation.select_schema``).
"""

from __future__ import annotations

import importlib
import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from .errors import SchemaError


def load_schema_ref(ref: str) -> type[BaseModel] | Mapping[str, Any]:
    """Resolve ``module:Class`` or a JSON Schema file path."""
    path = Path(ref)
    if path.suffix == ".json" or path.is_file():
        try:
            loaded = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise SchemaError(f"cannot read JSON Schema from {ref}: {exc}") from exc
        if not isinstance(loaded, dict):
            raise SchemaError(f"{ref} does not hold a JSON object")
        return loaded
    module_name, sep, attr = ref.partition(":")
    if not sep:
        raise SchemaError(f"SCHEMA must be module:Class or a .json file, not {ref!r}")
    sys.path.insert(0, str(Path.cwd()))
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise SchemaError(f"cannot import {module_name}: {exc}") from exc
    obj = getattr(module, attr, None)
    if isinstance(obj, type) and issubclass(obj, BaseModel):
        return obj
    if isinstance(obj, Mapping):
        return obj
    raise SchemaError(f"{ref} is not a Pydantic model class or a JSON Schema dict")
