"""Check, in a child process, that the installed llama.cpp build can run on this CPU.

A llama.cpp built with the wrong CPU features does not raise: it kills the process (SIGSEGV in
``ggml_backend_amx_mul_mat`` on VMs that report AMX but do not allow it, SIGILL for an
instruction the CPU lacks). Loading it in the caller would take the caller down with it, so the
first Extractor built with a given llama.cpp library and model runs a tiny decode in a child
process. Success is remembered in the cache directory, so this costs about a second once per
build. ``EXTRACTLY_SKIP_PROBE=1`` skips it.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

from ..errors import BackendCrashError, BackendError
from ..model_files import cache_dir
from .cpu_share import quiet_idle_threads

_checked: set[str] = set()
_lock = threading.Lock()

REBUILD_HINT = (
    "Rebuild llama-cpp-python for this CPU with AMX off: `rm -rf .venv && make demo` in the "
    "extractly checkout, or\n"
    '  CMAKE_ARGS="$(python extractly/engine/build_flags.py)" pip install --no-cache-dir '
    "--force-reinstall --no-binary llama-cpp-python llama-cpp-python==0.3.36\n"
    "(--no-cache-dir matters: pip's wheel cache ignores CMAKE_ARGS and returns the old build)."
)


def _library_identity() -> str:
    quiet_idle_threads()  # before libgomp loads with llama_cpp: it reads the policy once
    import llama_cpp

    lib_dir = Path(llama_cpp.__file__).parent / "lib"
    parts = [llama_cpp.__version__]
    for path in sorted(lib_dir.glob("*")) if lib_dir.is_dir() else []:
        stat = path.stat()
        parts.append(f"{path.name}:{stat.st_size}:{int(stat.st_mtime)}")
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


def probe_marker(model_path: Path) -> Path:
    """The file whose presence records that this llama.cpp build ran ``model_path`` here."""
    model_key = hashlib.sha256(str(model_path.resolve()).encode()).hexdigest()[:12]
    return cache_dir() / "probe" / f"{_library_identity()}-{model_key}.ok"


def ensure_llama_runs(model_path: Path) -> None:
    """Raise ``BackendCrashError`` if a tiny decode with ``model_path`` kills the process."""
    if os.environ.get("EXTRACTLY_SKIP_PROBE"):
        return
    marker = probe_marker(model_path)
    key = marker.stem
    with _lock:
        if key in _checked:
            return
        if marker.is_file():
            _checked.add(key)
            return
        env = dict(os.environ, EXTRACTLY_SKIP_PROBE="1")
        try:
            proc = subprocess.run(
                [sys.executable, "-m", "extractly.engine.probe", str(model_path)],
                capture_output=True,
                text=True,
                timeout=300,
                env=env,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise BackendCrashError(
                f"llama.cpp probe did not finish in 300 s. {REBUILD_HINT}"
            ) from exc
        tail = "\n".join(proc.stderr.strip().splitlines()[-5:])
        if proc.returncode > 0:
            # A Python-level failure (unreadable GGUF, ...): the build itself did not crash.
            raise BackendError(f"llama.cpp could not run {model_path}:\n{tail}")
        if proc.returncode < 0:
            try:
                how = f"was killed by {signal.Signals(-proc.returncode).name}"
            except ValueError:
                how = f"was killed by signal {-proc.returncode}"
            raise BackendCrashError(
                f"the installed llama.cpp build cannot run here: a test decode {how}.\n"
                f"{tail}\n{REBUILD_HINT}"
            )
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.touch()
        _checked.add(key)


def _run_probe(model_path: str) -> None:
    from .llama import ContextConfig, LlamaContext, load_model

    model = load_model(Path(model_path))
    ctx = LlamaContext(model, ContextConfig(n_ctx=512, n_batch=128, n_seq_max=2))
    tokens = model.tokenize("The quick brown fox jumps over the lazy dog. " * 6, add_bos=True)[:100]
    ctx.decode([(t, i, 0, i == len(tokens) - 1) for i, t in enumerate(tokens)])
    ctx.decode([(tokens[0], len(tokens), 0, True)])
    assert ctx.logits(0).shape == (model.n_vocab,)
    ctx.close()


if __name__ == "__main__":
    _run_probe(sys.argv[1])
