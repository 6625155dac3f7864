"""The one map from ``Extractor`` options (``extractly.options``) to command-line flags.

``OPTION_FLAGS`` gives each option its flag, with the same name and meaning as in Python
(``n_threads`` is ``--threads``); ``PYTHON_ONLY`` names the options that have no flag and says
why. ``extract``, ``run`` and ``eval`` all add their flags with ``add_option_flags`` and read
them back with ``options_from_args``, so every command gets every flag, and an option added to
the catalogue without a flag or a reason fails ``tests/test_cli_options.py``. ``flag_table``
renders the list for the README (the test checks the README shows it).

A flag left out sets nothing, so the library's default holds. Not here: the flags that belong
to one command (``run``'s ``--workers``, ``eval``'s ``--limit``), which ``cli.py`` adds.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .labelled_rows import read_labelled_rows
from .settings import Safeguards


@dataclass(frozen=True)
class OptionFlag:
    """How one ``Extractor`` option appears on the command line."""

    option: str
    """The ``Extractor`` keyword (``n_threads``)."""
    flag: str
    """Its flag (``--threads``); ``negative`` adds a ``--no-`` form for some options."""
    help: str
    metavar: str | None = None
    parse: Callable[[str], Any] | None = None
    """Checks one argument and converts it (argparse reports an ``ArgumentTypeError`` as a usage
    error); ``None``: a switch without an argument."""
    choices: Sequence[str] | None = None
    negative: Any = None
    """The value ``--no-<name>`` sets; ``None``: there is no ``--no-`` form."""
    many: bool = False
    """Takes zero or more arguments (``--verbatim [FIELD ...]``)."""
    repeat: bool = False
    """May be given several times; the values are collected in order (``--fallback``)."""
    finish: Callable[[Any], Any] = field(default=lambda value: value)
    """Turns what argparse collected into the option's value, when the command runs (reading a
    file here, not at parse time, lets its error be an ``ExtractlyError``)."""


def _positive_int(text: str) -> int:
    value = int(_number(text, int))
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, not {text}")
    return value


def _positive_seconds(text: str) -> float:
    value = _number(text, float)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, not {text}")
    return value


def _share(text: str) -> float:
    value = _number(text, float)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"expected a number from 0 to 1, not {text}")
    return value


def _number(text: str, kind: type[int] | type[float]) -> float:
    try:
        return kind(text)
    except ValueError:
        what = "a whole number" if kind is int else "a number"
        raise argparse.ArgumentTypeError(f"expected {what}, not {text!r}") from None


def _adapter(text: str) -> str | None:
    return None if text.lower() == "none" else text


def _examples(path: str) -> list[tuple[str, Mapping[str, Any]]]:
    """Worked examples from a JSONL file of ``{"text", "output"}`` lines (the ``tune`` format)."""
    return [(row.text, row.output) for row in read_labelled_rows(path, keys=("output",))]


def _safeguards(choice: str) -> Safeguards:
    return Safeguards() if choice == "on" else Safeguards.off()


def _verbatim(value: list[str] | bool) -> list[str] | bool:
    """``--verbatim`` alone: every top-level free string; with fields: those."""
    return value if isinstance(value, bool) else (value or True)


OPTION_FLAGS: tuple[OptionFlag, ...] = (
    OptionFlag("model", "--model", "GGUF to load (default: $EXTRACTLY_MODEL or the embedded "
               "Gemma 3 270M)", "PATH", str),
    OptionFlag("adapter", "--adapter", "LoRA adapter GGUF from `extractly tune`; 'auto' "
               "(default): the one registered for the schema, if any; 'none': the base model's "
               "prompt", "PATH|auto|none", str, finish=_adapter),
    OptionFlag("examples", "--examples", 'worked examples for the prompt: JSONL of {"text", '
               '"output"} lines (default: the schema\'s own)', "FILE", str, finish=_examples),
    OptionFlag("instructions", "--instructions", "text before the examples ('' sends none; "
               "default: rendered from the schema)", "TEXT", str),
    OptionFlag("max_tokens", "--max-tokens", "cap on output tokens (default: derived from the "
               "schema)", "N", _positive_int),
    OptionFlag("max_input_tokens", "--max-input-tokens", "longest document accepted, in "
               "tokens (default 2048)", "N", _positive_int),
    OptionFlag("long_documents", "--long-documents", "a text too long for the prompt: 'error' "
               "(default) or 'split' into overlapping chunks whose objects are merged", "MODE",
               str, choices=("error", "split")),
    OptionFlag("chunk_tokens", "--chunk-tokens", "text tokens per chunk with --long-documents "
               "split (default 128)", "N", _positive_int),
    OptionFlag("verbatim", "--verbatim", "copy these top-level free-string fields word for word "
               "from the text (alone: every one; --no-verbatim: none, schema markers included); "
               "give it last, after the positional arguments", "FIELD", str, negative=False,
               many=True, finish=_verbatim),
    OptionFlag("allow_post_checks", "--allow-post-checks", "let schema keywords the decoder "
               "cannot enforce be checked after decoding instead of refused"),
    OptionFlag("safeguards", "--safeguards", "small-model guards (list and string caps, every "
               "key present, repetition guard, early close): 'on' (default) or 'off'", None,
               str, choices=("on", "off"), finish=_safeguards),
    OptionFlag("fallback", "--fallback", "a backend tried when the answer fails validation, is "
               "truncated or under-confident: 'openai:http://host/v1#model' or a GGUF path; "
               "repeat for a longer chain", "SPEC", str, repeat=True),
    OptionFlag("min_confidence", "--min-confidence", "escalate answers whose least confident "
               "field is below this (0-1; default: never)", "X", _share),
    OptionFlag("reask", "--reask", "feed a validation error back to the same backend once "
               "before moving on (default: on with a chain)", negative=False),
    OptionFlag("deadline", "--deadline", "seconds per document across the whole chain; no "
               "backend starts after it", "SECONDS", _positive_seconds),
    OptionFlag("distill_log", "--distill-log", "append (text, output) of documents a fallback "
               "answered to this JSONL (the `extractly tune` format)", "FILE", str),
    OptionFlag("batch_size", "--batch-size", "documents decoded together (default 4; up to 7 "
               "the objects equal one-by-one decoding)", "N", _positive_int),
    OptionFlag("n_ctx", "--n-ctx", "context size in tokens (default: sized for the batch)", "N",
               _positive_int),
    OptionFlag("sparse_head", "--sparse-head", "score positions that allow few tokens from the "
               "hidden state instead of the full output head (default on where the model "
               "allows it; --no-sparse-head: always the full head)", negative=False),
    OptionFlag("copy_drafts", "--copy-drafts", "with the sparse head, draft the text's next "
               "tokens where the output copies it and verify them in one pass (default off: "
               "slower on short values)", negative=False),
    OptionFlag("n_threads", "--threads", "llama.cpp threads per process (default: "
               "`$EXTRACTLY_THREADS`, else every core; with `run --workers`, that / workers)",
               "N", _positive_int),
)

PYTHON_ONLY: Mapping[str, str] = {
    "sampling": "greedy decoding is what makes a job's objects the same alone, in a batch and "
    "on resume; sampling is for Python callers who want it (Sampling(...))",
    "shadow": "a Shadow object (teacher, share, log); Extractor.shadow_stats() reports the "
    "agreement, which a batch job's summary does not show yet",
    "retry": "a RetryPolicy object (tries, waits, jitter); its default suits HTTP servers, and "
    "a job retries failed rows with `run --retry-failed`",
}
"""Options without a flag, each with the reason."""


def add_option_flags(parser: argparse.ArgumentParser) -> None:
    """Add every ``OPTION_FLAGS`` flag to ``parser`` (a command's), in one titled group."""
    group = parser.add_argument_group("extraction options (as in Python's Extractor)")
    for spec in OPTION_FLAGS:
        kwargs: dict[str, Any] = {"dest": spec.option, "default": None, "help": spec.help}
        if spec.parse is None:
            kwargs.update(action="store_const", const=True)
        else:
            kwargs.update(type=spec.parse, metavar=spec.metavar, choices=spec.choices)
            if spec.many:
                kwargs["nargs"] = "*"
            if spec.repeat:
                kwargs["action"] = "append"
        group.add_argument(spec.flag, **kwargs)
        if spec.negative is not None:
            group.add_argument(
                "--no-" + spec.flag.removeprefix("--"),
                dest=spec.option,
                action="store_const",
                const=spec.negative,
                help=f"the opposite of {spec.flag}",
            )


def options_from_args(args: argparse.Namespace) -> dict[str, Any]:
    """The ``Extractor`` options the flags in ``args`` set (a flag left out sets nothing).

    Values that need reading (``--examples FILE``, ``--safeguards``) are read here, so call it
    where the command reports ``ExtractlyError`` (a bad examples file raises ``DataFileError``).
    """
    options: dict[str, Any] = {}
    for spec in OPTION_FLAGS:
        value = getattr(args, spec.option, None)
        if value is not None:
            options[spec.option] = spec.finish(value)
    return options


def flag_table() -> str:
    """The flags as a Markdown table (option, flag, meaning), for the README."""
    lines = ["| Flag | Extractor option | Meaning |", "| --- | --- | --- |"]
    for spec in OPTION_FLAGS:
        arg = spec.metavar or ("{" + ",".join(spec.choices) + "}" if spec.choices else "")
        flag = spec.flag + (f" {arg}" if arg else "")
        if spec.many:
            flag = f"{spec.flag} [{spec.metavar} ...]"
        if spec.negative is not None:
            flag += f", --no-{spec.flag.removeprefix('--')}"
        lines.append(f"| `{flag}` | `{spec.option}` | {spec.help.replace('|', '/')} |")
    for option, reason in PYTHON_ONLY.items():
        lines.append(f"| (Python only) | `{option}` | {reason} |")
    return "\n".join(lines) + "\n"
