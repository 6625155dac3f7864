"""Every ``Extractor`` option is a flag of ``extract``, ``run`` and ``eval`` (or is marked Python
only, with a reason), each flag reaches the option through the real parser, and the README
lists the flags as ``flag_table`` renders them. No model is loaded."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest

from extractly.adapter_registry import SHIPPED_GENERAL, registry_dir
from extractly.cli import build_parser
from extractly.cli_options import OPTION_FLAGS, PYTHON_ONLY, flag_table, options_from_args
from extractly.errors import DataFileError
from extractly.model_files import file_sha256, resolve_model_path
from extractly.options import OPTION_NAMES
from extractly.settings import Safeguards

ROOT = Path(__file__).resolve().parents[1]
COMMANDS = {
    "extract": ["extract", "schema.json", "some text"],
    "run": ["run", "schema.json", "in.jsonl", "-o", "out.jsonl"],
    "eval": ["eval", "schema.json", "gold.jsonl"],
}
SAMPLE = {"N": "3", "X": "0.5", "SECONDS": "2.5"}
"""An argument for each metavar that needs a number; any other flag takes any string."""


def test_every_extractor_option_has_a_flag_or_a_reason() -> None:
    flagged = [spec.option for spec in OPTION_FLAGS]
    assert len(flagged) == len(set(flagged)), "an option mapped twice"
    assert not set(flagged) & set(PYTHON_ONLY), "an option both flagged and Python-only"
    assert set(PYTHON_ONLY) <= OPTION_NAMES and set(flagged) <= OPTION_NAMES
    missing = OPTION_NAMES - set(flagged) - set(PYTHON_ONLY)
    assert not missing, f"Extractor options without a flag or a Python-only reason: {missing}"
    assert all(len(reason) > 20 for reason in PYTHON_ONLY.values())


def _argument(metavar: str | None, choices: object, examples: Path) -> list[str]:
    if isinstance(choices, tuple):
        return [choices[-1]]
    if metavar == "FILE" and examples.suffix == ".jsonl":
        return [str(examples)]
    return [SAMPLE.get(metavar or "", "value")]


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_each_flag_sets_its_option_through_the_real_parser(command: str, tmp_path: Path) -> None:
    examples = tmp_path / "examples.jsonl"
    examples.write_text(json.dumps({"text": "rain in Oslo", "output": {"city": "Oslo"}}) + "\n")
    parser = build_parser()
    for spec in OPTION_FLAGS:
        argv = COMMANDS[command] + [spec.flag]
        if spec.parse is not None:
            argv += _argument(spec.metavar, spec.choices, examples)
        options = options_from_args(parser.parse_args(argv))
        assert spec.option in options, f"{command} {spec.flag} does not set {spec.option}"
        assert set(options) == {spec.option}, f"{command} {spec.flag} set more: {options}"
        if spec.negative is not None:
            negated = parser.parse_args(COMMANDS[command] + ["--no-" + spec.flag[2:]])
            assert options_from_args(negated) == {spec.option: spec.negative}
    assert options_from_args(parser.parse_args(COMMANDS[command])) == {}


def test_flag_values_mean_what_the_python_options_mean(tmp_path: Path) -> None:
    examples = tmp_path / "examples.jsonl"
    examples.write_text(json.dumps({"text": "rain in Oslo", "output": {"city": "Oslo"}}) + "\n")
    argv = [
        *COMMANDS["run"], "--fallback", "openai:http://a/v1#m", "--fallback", "b.gguf",
        "--threads", "2", "--no-reask", "--adapter", "none", "--safeguards", "off",
        "--examples", str(examples), "--long-documents", "split", "--min-confidence", "0.9",
    ]  # fmt: skip
    options = options_from_args(build_parser().parse_args(argv))
    assert options == {
        "fallback": ["openai:http://a/v1#m", "b.gguf"],
        "n_threads": 2,
        "reask": False,
        "adapter": None,
        "safeguards": Safeguards.off(),
        "examples": [("rain in Oslo", {"city": "Oslo"})],
        "long_documents": "split",
        "min_confidence": 0.9,
    }
    verbatim = build_parser().parse_args([*COMMANDS["extract"], "--verbatim"])
    assert options_from_args(verbatim) == {"verbatim": True}
    fields = build_parser().parse_args([*COMMANDS["extract"], "--verbatim", "a", "b"])
    assert options_from_args(fields) == {"verbatim": ["a", "b"]}
    examples.write_text("not json\n")
    bad = build_parser().parse_args([*COMMANDS["eval"], "--examples", str(examples)])
    with pytest.raises(DataFileError, match=re.escape("examples.jsonl:1: not JSON")):
        options_from_args(bad)


@pytest.mark.parametrize(
    ("flag", "value", "message"),
    [
        ("--min-confidence", "1.5", "expected a number from 0 to 1, not 1.5"),
        ("--threads", "0", "expected a whole number of at least 1, not 0"),
        ("--batch-size", "four", "expected a whole number, not 'four'"),
        ("--deadline", "-1", "expected a positive number of seconds, not -1"),
        ("--long-documents", "chop", "invalid choice: 'chop'"),
    ],
)
def test_a_bad_flag_value_is_a_usage_error_naming_the_flag(
    flag: str, value: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args([*COMMANDS["run"], flag, value])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert flag in err and message in err, err


def test_version_and_doctor_print_what_a_bug_report_needs() -> None:
    def cli(*args: str) -> str:
        proc = subprocess.run(
            [sys.executable, "-m", "extractly.cli", *args],
            capture_output=True, text=True, cwd=ROOT, timeout=120, check=True,
        )  # fmt: skip
        return proc.stdout

    assert cli("--version").strip() == f"extractly {version('extractly')}"
    report = cli("doctor")
    model = resolve_model_path(None)
    assert f"sha256: {file_sha256(model)}" in report  # the memo agrees with the file
    assert f"file: {model}" in report
    assert f"llama-cpp-python: {version('llama-cpp-python')}" in report
    assert re.search(r"system info: .*AVX", report)
    assert re.search(r"crash probe: (passed \(marker .+\.ok\)|not run yet)", report)
    assert f"adapter registry: {registry_dir()}" in report  # this session's empty registry
    assert "[adapters]\n  none registered" in report
    # the embedded model gets the shipped general adapter for untuned schemas
    assert f"general (shipped): {SHIPPED_GENERAL} (" in report
    assert "used for schemas with no tuned adapter" in report


def test_the_readme_lists_the_flags_as_the_map_renders_them() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert flag_table() in readme, "README is stale: paste extractly.cli_options.flag_table()"
