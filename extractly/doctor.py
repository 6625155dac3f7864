"""``extractly doctor``: the facts a bug report needs, as plain text.

Versions (extractly, Python, llama-cpp-python, the OS), the llama.cpp build's CPU features
(``llama_print_system_info``), whether that build passed the crash probe for the model
(``engine/probe.py``), the model file and its sha256, the cache folders, and the adapters in the
registry with what their manifests say, and whether the general adapter shipped in the package
applies to the model (schemas with no tune are read through it). It loads the llama.cpp
library but no model and decodes nothing; the sha256 of the model is read from the registry's
memo when the file is unchanged.
Not here: fixing anything (the probe's failure message says how to rebuild), or the adapters
command's list / pin / remove.
"""

from __future__ import annotations

import json
import os
import platform
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from .adapter_registry import MANIFEST_FILE, SHIPPED_GENERAL, registry_dir, shipped_general
from .engine.probe import probe_marker
from .errors import ExtractlyError
from .model_files import CACHE_ENV, MODEL_ENV, cache_dir, file_sha256, resolve_model_path


def report() -> str:
    """The whole report, one ``name: value`` line per fact, in sections."""
    sections = [
        ("versions", _versions()),
        ("llama.cpp", _llama_cpp()),
        ("model", _model()),
        ("cache folders", _caches()),
        ("adapters", [*_adapters(), _general()]),
    ]
    out: list[str] = []
    for title, lines in sections:
        out.append(f"[{title}]")
        out.extend(f"  {line}" for line in lines)
    return "\n".join(out)


def package_version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


def _versions() -> list[str]:
    return [
        f"extractly: {package_version('extractly')}",
        f"python: {sys.version.split()[0]} ({sys.executable})",
        f"llama-cpp-python: {package_version('llama-cpp-python')}",
        f"platform: {platform.platform()} ({platform.machine()}, {os.cpu_count()} cores)",
    ]


def _llama_cpp() -> list[str]:
    try:
        import llama_cpp
    except (ImportError, OSError) as exc:  # a missing or unloadable shared library
        return [f"cannot load llama_cpp: {type(exc).__name__}: {exc}"]
    text = llama_system_info()
    return [f"system info: {' '.join(text.split())}", f"library: {Path(llama_cpp.__file__).parent}"]


def llama_system_info() -> str:
    """llama.cpp's report of its build (``llama_print_system_info``): the CPU features its
    kernels use, e.g. ``CPU : SSE3 = 1 | ... | AVX2 = 1 | ...``."""
    import llama_cpp

    info = llama_cpp.llama_print_system_info()
    return info.decode("utf-8", "replace") if isinstance(info, bytes) else str(info)


def _model() -> list[str]:
    source = f"${MODEL_ENV}" if os.environ.get(MODEL_ENV) else "embedded default"
    try:
        path = resolve_model_path(None)
    except ExtractlyError as exc:
        return [f"model: not found ({source}): {exc}"]
    marker = probe_marker(path)
    probe = (
        f"passed (marker {marker})"
        if marker.is_file()
        else "not run yet for this build and model (the first Extractor runs it, about 1 s)"
    )
    return [
        f"file: {path} ({source})",
        f"size: {path.stat().st_size:,} bytes",
        f"sha256: {file_sha256(path)}",
        f"crash probe: {probe}",
    ]


def _caches() -> list[str]:
    env = f" (${CACHE_ENV})" if os.environ.get(CACHE_ENV) else ""
    return [f"cache: {cache_dir()}{env}", f"adapter registry: {registry_dir()}"]


def _adapters() -> list[str]:
    folder = registry_dir()
    entries = sorted(p for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []
    if not entries:
        return ["none registered"]
    return [_describe_entry(entry) for entry in entries]


def _general() -> str:
    """Whether ``adapter="auto"`` reads an untuned schema through the shipped general adapter."""
    if not SHIPPED_GENERAL.is_file():
        return "general (shipped): not in this install: untuned schemas use the base model"
    size = f"{SHIPPED_GENERAL} ({SHIPPED_GENERAL.stat().st_size / 1e6:.1f} MB)"
    try:
        model = resolve_model_path(None)
    except ExtractlyError:
        return f"general (shipped): {size}; no model to check it against"
    if shipped_general(model) is None:
        return (f"general (shipped): {size}; not for this model (trained on another): "
                "untuned schemas use the base model")
    return f"general (shipped): {size}; used for schemas with no tuned adapter"


def _describe_entry(entry: Path) -> str:
    try:
        manifest: dict[str, Any] = json.loads((entry / MANIFEST_FILE).read_text("utf-8"))
    except (OSError, ValueError) as exc:
        return f"{entry.name}: unreadable manifest ({type(exc).__name__})"
    metrics = manifest.get("metrics") or {}
    shown = {k: metrics[k] for k in ("steps", "final_train_loss", "best_val_loss") if k in metrics}
    return (
        f"{entry.name}: schema {manifest.get('schema_name')!r}, created "
        f"{manifest.get('created')}, {manifest.get('pairs', '?')} pairs, metrics {shown}"
    )
