"""From a schema, unlabelled texts and a teacher to a registered adapter: ``distill(...)``.

The steps, each written to the output folder as it finishes, so a killed job resumes:

1. **Read** the texts (JSONL, CSV or a folder of .txt, as ``extractly run`` reads them). Rows
   that cannot be used (no text, bad UTF-8, a repeated id) are listed in the report, never
   silently dropped.
2. **Hold out** a seeded random slice (``held_out`` texts) and have the teacher label it: the
   promotion gate's test set. Random, so it measures the texts as they come.
3. **Rounds** (``rounds``, default 1): choose the round's texts (``selection``: ``"random"``;
   ``"diverse"``: one text per cluster of the texts; ``"coverage"``: the texts that together
   cover the wording of all best, in the texts' mix of lengths; from round 2 on the last two
   only among the texts the previous round's student was least sure of), have the teacher
   label them (``labels.label_texts``: every answer on disk as it arrives), tune an adapter on every
   label so far (``extractly.tune``, settings chosen from the data unless ``tune`` says).
   Round ``r`` brings the labels to ``labels * r / rounds``.
4. **Gate** (``gate``): the candidate, the round whose adapter scored best on the held-out
   labels (``best_round``; a tie goes to the later round, which saw more labels), against the
   adapter registered for the schema now, the general adapter shipped in the package (what an
   untuned schema gets) and the base model's few-shot prompt, on the held-out labels. It is
   registered only if it beats all of them; otherwise it stays in the folder and the report
   says why. Choosing among rounds on the same slice favours the candidate slightly (the best
   of a few noisy scores); a rival must still be beaten outright.

Folder layout: ``labels.jsonl`` / ``labels.failed.jsonl`` (``labels``), ``plan.json`` (the held-out
ids and each round's picks, so a resumed job asks about the same texts; a run given more
rounds after its own keeps them and goes on), ``round-N/train.jsonl``
and ``round-N/adapter/`` (``extractly tune``'s output; a round whose adapter was tuned on the same
labels, base model and settings, as ``round-N/tuned-on.json`` records, is not tuned again),
``report.json``. Not here: the command line (``cli_distill``).
"""

from __future__ import annotations

import io
import itertools
import json
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel

from ..adapter_registry import entry_dir, install, lookup, shipped_general, write_atomic
from ..backends import backend_from_spec
from ..backends.base import Backend
from ..errors import ExtractlyError, TuneDataError
from ..etl.rows import read_rows
from ..evaluation import EvalReport, GoldRow, gold_row
from ..extractor import Extractor
from ..model_files import file_sha256, resolve_model_path
from ..progress import ProgressBar
from ..schema import load_schema
from ..settings import Safeguards
from ..tune import TuneConfig, tune
from .gate import BASE, CANDIDATE, GENERAL, REGISTERED, Contender, decide, score_contenders
from .labels import LabelFiles, LabelSummary, Text, label_texts
from .round_inputs import (
    changes,
    forget_round_inputs,
    read_round_inputs,
    round_inputs,
    write_round_inputs,
)
from .select import coverage_pick, diverse_pick, random_pick

Selection = Literal["random", "diverse", "coverage"]
SELECTIONS: tuple[Selection, ...] = ("random", "diverse", "coverage")
PLAN_FILE = "plan.json"
REPORT_FILE = "report.json"
Say = Callable[[str], None]


@dataclass(frozen=True)
class DistillConfig:
    labels: int = 300
    """Teacher labels to train on (the held-out slice comes on top)."""
    held_out: int = 50
    """Teacher labels kept apart for the promotion gate."""
    selection: Selection = "random"
    """``random`` until a selection measures better (README, learning curve): on GetWeather
    ``diverse`` lost at 25-100 labels; ``coverage`` at 150 labels scores about what random
    does at 300 on E2E and US addresses (+0.002 over five seeds, -0.005 over three, inside
    the seeds' spread) and falls short on six SNIPS intents of seven, and rounds led by the
    student's doubt did worse."""
    rounds: int = 1
    round_sizes: tuple[int, ...] | None = None
    """Labels after each round, e.g. ``(25, 50, 100, 200, 300)`` for a learning curve;
    default ``labels`` split evenly over ``rounds``."""
    pool: int = 4
    """From round 2 on, the last round's student scores ``pool`` times the round's quota of
    candidates drawn at random; ``diverse`` and ``coverage`` then pick among the most uncertain
    half (``select.PREFILTER``). 0: no student; every round picks among all the texts not yet
    labelled, extending what the earlier rounds chose (on US addresses the student's doubt did
    worse: 0.746 after rounds of 75 and 75 coverage labels, 0.818 for 150 picked at once)."""
    seed: int = 0
    concurrency: int = 1
    """Teacher requests in flight at once."""
    retry_failed: bool = False
    """Ask again about texts whose earlier answers all failed validation."""
    label_only: bool = False
    """Stop after labelling the held-out slice and the first round (no tune, no gate)."""
    strict_gate: bool = False
    """Register only a lead clear of the held-out slice's noise over every rival (the 95%
    paired-bootstrap interval of the F1 difference above zero; ``gate.f1_difference``). Off by
    default: 50 texts rarely show a clear lead between two tunes of one schema, and the
    reason reports the interval either way."""
    text_field: str = "text"
    id_field: str = "id"
    tune: TuneConfig = field(default_factory=TuneConfig)


@dataclass
class RoundReport:
    round: int
    asked: int
    """Texts chosen for this round."""
    labels: int
    """Labels trained on after this round (failed answers are not labels)."""
    adapter: str | None = None
    held_out_f1: float | None = None
    """The round's adapter on the gate's held-out slice: the learning curve the command
    prints."""
    tune_seconds: float | None = None


def best_round(rounds: Sequence[RoundReport]) -> RoundReport | None:
    """The round the gate weighs: the highest held-out F1, the later round on a tie (more
    labels for the same score); None when no round was tuned and scored."""
    scored = [r for r in rounds if r.held_out_f1 is not None and r.adapter is not None]
    return max(reversed(scored), key=lambda r: r.held_out_f1 or 0.0, default=None)


@dataclass
class DistillReport:
    folder: str
    texts: int
    unusable: list[dict[str, str]]
    held_out: int
    rounds: list[RoundReport]
    labelling: dict[str, int | float]
    scores: dict[str, dict[str, Any]] = field(default_factory=dict)
    promoted: bool | None = None
    reason: str = ""
    registered: str | None = None
    differences: dict[str, dict[str, float]] = field(default_factory=dict)
    """The candidate's F1 minus each rival's on the held-out slice, with the 95% interval
    (``f1``, ``low``, ``high``)."""
    candidate_round: int | None = None
    """The round whose adapter the gate weighed (``best_round``)."""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def format(self) -> str:
        lines = [
            f"texts: {self.texts} ({len(self.unusable)} unusable), held out for the gate: "
            f"{self.held_out}",
            "round  labels  held-out F1  tune s  adapter",
        ]
        for r in self.rounds:
            f1 = "-" if r.held_out_f1 is None else f"{r.held_out_f1:.3f}"
            secs = "-" if r.tune_seconds is None else f"{r.tune_seconds:.0f}"
            lines.append(f"{r.round:>5}  {r.labels:>6}  {f1:>11}  {secs:>6}  {r.adapter or '-'}")
        if self.candidate_round is not None and len(self.rounds) > 1:
            lines.append(f"candidate: round {self.candidate_round}, the best held-out F1")
        if self.scores:
            lines.append("held-out slice      micro F1  field acc  exact  valid")
            for name, s in self.scores.items():
                lines.append(
                    f"{name:<18} {s['f1']:>8.3f}  {s['accuracy']:>9.3f}  {s['exact']:>5.3f}  "
                    f"{s['valid']:>5.3f}"
                )
        if self.promoted is not None:
            verdict = "registered" if self.promoted else "not registered"
            lines.append(f"gate: {verdict}: {self.reason}")
        return "\n".join(lines)


def distill(
    schema: type[BaseModel] | Mapping[str, Any],
    texts_path: str | os.PathLike[str],
    teacher: Backend | str,
    out_dir: str | os.PathLike[str],
    config: DistillConfig | None = None,
    *,
    model: str | os.PathLike[str] | None = None,
    safeguards: Safeguards | None = None,
    say: Say | None = None,
    progress: bool = False,
    on_round: Callable[[RoundReport], None] | None = None,
) -> DistillReport:
    """Label, tune and gate (the module docstring). Safe to call again on the same folder
    after a kill: answers already written are not asked for again, finished tunes are kept.

    ``say`` receives one line per step (and the tune's progress); ``progress`` shows a bar of
    teacher answers on stderr (``extractly.progress``); ``on_round`` receives each round's
    report once its adapter is tuned (or kept from an earlier run) and scored on the held-out
    slice, before the next round starts: a caller can score or ship it without waiting for
    the last round."""
    config = config or DistillConfig()
    _check(config)
    say = say or (lambda line: None)
    safeguards = safeguards or Safeguards()
    spec = load_schema(schema, safeguards)
    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    texts, unusable = read_texts(Path(texts_path), config.text_field, config.id_field)
    if len(texts) <= config.held_out:
        raise TuneDataError(
            f"{texts_path}: {len(texts)} usable text(s), but {config.held_out} are held out for "
            "the promotion gate; give more texts or a smaller --held-out"
        )
    plan = _load_plan(folder, texts_path, config)
    if "held_out" not in plan:
        plan["held_out"] = [t.id for t in random_pick(texts, config.held_out, seed=config.seed)]
        _save_plan(folder, plan)
    teacher_backend = backend_from_spec(teacher)
    try:
        return _distill(schema, spec, config, folder, texts, unusable, plan, teacher_backend,
                        model, safeguards, say, progress, on_round or (lambda _: None))
    finally:
        if teacher_backend is not teacher:  # built here from a spec: ours to close
            teacher_backend.close()


def _distill(
    schema: type[BaseModel] | Mapping[str, Any], spec: Any, config: DistillConfig, folder: Path,
    texts: list[Text], unusable: list[dict[str, str]], plan: dict[str, Any],
    teacher_backend: Backend, model: str | os.PathLike[str] | None, safeguards: Safeguards,
    say: Say, progress: bool, on_round: Callable[[RoundReport], None],
) -> DistillReport:
    by_id = {t.id: t for t in texts}
    missing = [i for ids in [plan["held_out"], *plan.get("rounds", [])] for i in ids
               if i not in by_id]
    if missing:
        raise ValueError(
            f"{folder / PLAN_FILE} chose texts the input no longer has (ids {missing[:5]}); "
            "resume with the input it was made from, or choose another output folder"
        )
    held = [by_id[i] for i in plan["held_out"]]
    tally = LabelSummary()
    report = DistillReport(str(folder), len(texts), unusable, len(held), [], {})
    with LabelFiles(folder) as files:
        def ask(batch: Sequence[Text], what: str) -> None:
            new = len(set(t.id for t in batch) - files.asked(config.retry_failed))
            say(f"distill: {what}: {len(batch)} text(s), {len(batch) - new} answered before; "
                f"asking {teacher_backend.name} about {new}")
            counts = {"ok": 0, "failed": 0}
            with ProgressBar(new, unit="texts", desc=f"extractly distill: {what}",
                             stream=None if progress else io.StringIO()) as bar:
                def answered(_: str, ok: bool) -> None:
                    counts["ok" if ok else "failed"] += 1
                    bar.advance(**counts)

                done = label_texts(batch, teacher_backend, spec, files,
                                   concurrency=config.concurrency,
                                   retry_failed=config.retry_failed, on_answer=answered)
            for key in ("asked", "labelled", "failed", "skipped"):
                setattr(tally, key, getattr(tally, key) + getattr(done, key))
            tally.seconds += done.seconds
            report.labelling = asdict(tally)

        ask(held, "held-out")
        gold = [gold_row(r, f"{files.path}: id {r['id']}")
                for r in files.labelled(plan["held_out"])]
        if not gold:
            raise TuneDataError("the teacher answered none of the held-out texts validly; see "
                                f"{files.failed.path}")
        chosen: list[Text] = []
        adapter: Path | None = None
        scored: dict[int, tuple[Path, EvalReport]] = {}
        for number, size in enumerate(round_sizes(config), start=1):
            picks = plan.setdefault("rounds", [])
            if len(picks) < number:
                quota = size - len(chosen)
                picked = pick_texts(texts, quota, config, chosen=chosen, held=held,
                                    student=adapter, schema=schema, model=model,
                                    safeguards=safeguards, say=say)
                picks.append([t.id for t in picked])
                _save_plan(folder, plan)
            batch = [by_id[i] for i in picks[number - 1]]
            ask(batch, f"round {number}")
            chosen += batch
            train_ids = [t.id for t in chosen]
            labelled = files.labelled(train_ids)
            this = RoundReport(number, len(batch), len(labelled))
            report.rounds.append(this)
            if config.label_only:
                break
            adapter, this.tune_seconds = _tune_round(
                schema, folder / f"round-{number}", labelled, config, model, safeguards, say
            )
            this.adapter = str(adapter)
            held_out = score_contenders(schema, gold, [Contender(CANDIDATE, adapter)],
                                        model=model, safeguards=safeguards)[CANDIDATE]
            scored[number] = adapter, held_out
            this.held_out_f1 = held_out.micro.f1
            say(f"distill: round {number}: {len(labelled)} labels, held-out F1 "
                f"{this.held_out_f1:.3f}")
            _write_report(folder, report)
            on_round(this)
        _write_report(folder, report)
        best = best_round(report.rounds)
        if config.label_only or best is None:
            return report
    report.candidate_round = best.round
    if len(report.rounds) > 1:
        say(f"distill: the candidate is round {best.round}'s adapter "
            f"(held-out F1 {best.held_out_f1:.3f}, the best of {len(report.rounds)} rounds)")
    _gate(schema, spec, *scored[best.round], gold, report, model, safeguards, say,
          strict=config.strict_gate)
    _write_report(folder, report)
    return report


def read_texts(
    path: Path, text_field: str, id_field: str
) -> tuple[list[Text], list[dict[str, str]]]:
    """The usable texts of ``path`` (first of each id) and why the others cannot be used."""
    texts: list[Text] = []
    unusable: list[dict[str, str]] = []
    seen: set[str] = set()
    for row in read_rows(path, text_field=text_field, id_field=id_field):
        if row.problem is not None or row.text is None:
            unusable.append({"id": row.id, "problem": row.problem or "no text"})
        elif row.id in seen:
            unusable.append({"id": row.id, "problem": "repeats an earlier row's id"})
        elif not row.text.strip():
            unusable.append({"id": row.id, "problem": "the text is empty"})
        else:
            seen.add(row.id)
            texts.append(Text(row.id, row.text))
    return texts, unusable


def round_sizes(config: DistillConfig) -> tuple[int, ...]:
    """Labels after each round (cumulative)."""
    if config.round_sizes is not None:
        return config.round_sizes
    return tuple(config.labels * r // config.rounds for r in range(1, config.rounds + 1))


def _check(config: DistillConfig) -> None:
    if config.selection not in SELECTIONS:
        raise ValueError(f"selection must be one of {SELECTIONS}, not {config.selection!r}")
    if config.labels < 1 or config.held_out < 1 or config.rounds < 1:
        raise ValueError("labels, held_out and rounds must each be at least 1")
    if config.pool < 0:
        raise ValueError(f"pool (candidates per label wanted) must be 0 or more, not {config.pool}")
    if config.rounds > config.labels:
        raise ValueError(f"{config.rounds} rounds cannot share {config.labels} labels")
    sizes = config.round_sizes
    if sizes is not None and (
        not sizes or sizes[0] < 1 or any(b <= a for a, b in itertools.pairwise(sizes))
    ):
        raise ValueError(f"round_sizes must grow from at least 1, not {sizes}")


def _load_plan(
    folder: Path, texts_path: str | os.PathLike[str], config: DistillConfig
) -> dict[str, Any]:
    """The plan of an earlier run on this folder, if it had the same input and settings, or
    the same ones with more rounds after its own (round sizes that extend the earlier run's:
    its picks and adapters are kept, the new rounds follow them). A folder used with other
    settings is refused rather than mixed."""
    key = {"texts": str(Path(texts_path).resolve()), "held_out": config.held_out,
           "selection": config.selection, "rounds": list(round_sizes(config)),
           "seed": config.seed}
    path = folder / PLAN_FILE
    if not path.is_file():
        return {"key": key}
    plan = _read_plan(path)
    earlier = plan["key"]
    if earlier == key:
        return plan
    if _extends(earlier, key):
        plan["key"] = key
        _save_plan(folder, plan)
        return plan
    old = earlier.get("rounds")
    sizes = ",".join(str(n) for n in old) if isinstance(old, list) else "A,B"
    raise ValueError(
        f"{folder} holds a distill run with other settings ({earlier}); resume it with those "
        f"(to add labels to it, keep its settings and give round sizes that begin with its own: "
        f"--rounds {sizes},... on the command line, round_sizes=({sizes}, ...) from Python), "
        "or choose another output folder (its labels can be reused with "
        "`extractly tune SCHEMA labels.jsonl`)"
    )


def _read_plan(path: Path) -> dict[str, Any]:
    """``path``'s plan, refused with what to do when it is not one (a hand-edited or truncated
    file is left where it is: the labels beside it are the paid-for part)."""
    try:
        plan = json.loads(path.read_text(encoding="utf-8"))
        wrong = ("not a JSON object" if not isinstance(plan, dict) else
                 "its key is not an object" if not isinstance(plan.get("key"), dict) else "")
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        wrong = str(error)
    if wrong:
        raise ValueError(
            f"{path} is not a distill plan ({wrong}): restore it, or move it away to plan "
            f"again in this folder (texts already labelled in {path.parent} are not asked "
            "again), or choose another folder"
        )
    return dict(plan)


def _extends(earlier: Any, key: Mapping[str, Any]) -> bool:
    """Whether plan ``key`` is ``earlier``'s with more rounds appended after its own."""
    if not isinstance(earlier, dict) or earlier.keys() != key.keys():
        return False
    if any(earlier[k] != key[k] for k in key if k != "rounds"):
        return False
    old, new = earlier["rounds"], key["rounds"]
    return isinstance(old, list) and len(new) > len(old) and new[: len(old)] == old


def _save_plan(folder: Path, plan: Mapping[str, Any]) -> None:
    write_atomic(folder / PLAN_FILE, json.dumps(plan, indent=1).encode())


def pick_texts(
    texts: Sequence[Text], quota: int, config: DistillConfig, *,
    chosen: Sequence[Text], held: Sequence[Text],
    schema: type[BaseModel] | Mapping[str, Any], student: Path | None = None,
    model: str | os.PathLike[str] | None = None, safeguards: Safeguards | None = None,
    say: Say | None = None,
) -> list[Text]:
    """A round's ``quota`` texts, none of ``chosen`` or ``held``, by ``config.selection``; from
    round 2 (a ``student``, the last round's adapter, which extracts with ``schema``)
    ``diverse`` and ``coverage`` weigh its doubt unless ``config.pool`` is 0."""
    taken = frozenset(t.id for t in [*chosen, *held])
    if config.selection == "random":
        return random_pick(texts, quota, seed=config.seed + len(chosen), exclude=taken)
    pick = coverage_pick if config.selection == "coverage" else diverse_pick
    free = [t for t in texts if t.id not in taken]
    if student is None or config.pool == 0:
        return pick(free, quota, chosen=chosen, seed=config.seed)
    pool = random_pick(free, quota * config.pool, seed=config.seed + len(chosen))
    if say is not None:
        say(f"distill: the last round's student scores {len(pool)} candidate texts")
    uncertainty = student_uncertainty(schema, student, pool, model, safeguards or Safeguards())
    return pick(pool, quota, chosen=chosen, uncertainty=uncertainty, seed=config.seed)


def student_uncertainty(
    schema: type[BaseModel] | Mapping[str, Any], adapter: Path, texts: Sequence[Text],
    model: str | os.PathLike[str] | None, safeguards: Safeguards,
) -> dict[str, float]:
    """One minus the least confident field of the student's extraction, per text id (1 for a
    text it failed on)."""
    out: dict[str, float] = {}
    with Extractor(schema, adapter=adapter, model=model, safeguards=safeguards) as student:
        outcomes = student.run_many([t.text for t in texts], return_exceptions=True)
        for text, outcome in zip(texts, outcomes, strict=True):
            confident = None if isinstance(outcome, ExtractlyError) else outcome.confidence
            out[text.id] = 1.0 if confident is None else 1.0 - confident
    return out


def _tune_round(
    schema: type[BaseModel] | Mapping[str, Any], folder: Path,
    labelled: Sequence[Mapping[str, Any]], config: DistillConfig,
    model: str | os.PathLike[str] | None, safeguards: Safeguards, say: Say,
) -> tuple[Path, float | None]:
    """The round's adapter: tuned on ``labelled`` unless an earlier run finished a tune of
    the same inputs (``round_inputs``: labels, base model, starting adapter, settings)."""
    out = folder / "adapter"
    manifest = out / "manifest.json"
    pairs = "".join(json.dumps({"id": record["id"], "text": record["text"],
                                "output": record["output"]}, ensure_ascii=False) + "\n"
                    for record in labelled).encode("utf-8")
    inputs = round_inputs(pairs, resolve_model_path(model), config.tune)
    if manifest.is_file() and (out / "adapter.gguf").is_file():
        changed = changes(read_round_inputs(folder), inputs)
        if not changed:
            say(f"distill: {out} was tuned by an earlier run on the same inputs; kept")
            seconds = json.loads(manifest.read_text()).get("metrics", {}).get("wall_seconds")
            return out / "adapter.gguf", seconds
        say(f"distill: {out} was tuned by an earlier run with {'; '.join(changed)}: "
            "tuning it again")
        forget_round_inputs(folder)
        manifest.unlink()  # a tune killed from here on leaves no finished-looking adapter
    folder.mkdir(parents=True, exist_ok=True)
    train = folder / "train.jsonl"
    write_atomic(train, pairs)
    say(f"distill: tuning on {len(labelled)} teacher labels -> {out}")
    started = time.monotonic()
    result = tune(schema, train, out_dir=out, model=model, config=config.tune,
                  safeguards=safeguards, register_adapter=False, progress=say)
    write_round_inputs(folder, inputs)
    return result.adapter, round(time.monotonic() - started, 1)


def _gate(
    schema: type[BaseModel] | Mapping[str, Any], spec: Any, adapter: Path, scored: EvalReport,
    gold: Sequence[GoldRow], report: DistillReport, model: str | os.PathLike[str] | None,
    safeguards: Safeguards, say: Say, *, strict: bool = False,
) -> None:
    """Score the registered adapter, the shipped general adapter and the base model beside the
    candidate's ``scored`` report, decide (``strict``: see ``DistillConfig.strict_gate``), and
    register the candidate if it won."""
    model_path = resolve_model_path(model)
    registered = lookup(spec, model_path)
    if registered is not None and registered.read_bytes() == adapter.read_bytes():
        report.scores = {CANDIDATE: _score(scored)}
        report.promoted, report.registered = True, str(registered)
        report.reason = "this adapter is already the registered one (an earlier run promoted it)"
        say(f"distill: {report.reason}")
        return
    rivals = [Contender(REGISTERED, registered)] if registered is not None else []
    general = shipped_general(model_path)
    if general is not None:
        rivals.append(Contender(GENERAL, general))
    rivals.append(Contender(BASE, None))
    say(f"distill: the gate scores {len(rivals)} more contender(s) on {len(gold)} held-out labels")
    reports = {CANDIDATE: scored} | score_contenders(schema, gold, rivals, model=model_path,
                                                     safeguards=safeguards)
    report.scores = {name: _score(r) for name, r in reports.items()}
    decision = decide(reports, strict=strict)
    report.promoted, report.reason = decision.promote, decision.reason
    report.differences = {name: asdict(d) for name, d in (decision.differences or {}).items()}
    if decision.promote:
        manifest = json.loads(adapter.with_name("manifest.json").read_text(encoding="utf-8"))
        manifest["promotion"] = {"scores": report.scores, "differences": report.differences,
                                 "reason": decision.reason, "held_out": len(gold)}
        entry = entry_dir(spec, file_sha256(model_path))
        report.registered = str(install(entry, adapter.read_bytes(), manifest))
    say(f"distill: {'registered' if decision.promote else 'not registered'}: {decision.reason}")


def _score(report: EvalReport) -> dict[str, Any]:
    micro = report.micro
    return {"f1": micro.f1, "accuracy": micro.accuracy, "exact": report.exact_match,
            "valid": report.valid_rate, "n": report.n}


def _write_report(folder: Path, report: DistillReport) -> None:
    write_atomic(folder / REPORT_FILE,
                 json.dumps(report.to_json(), indent=1, ensure_ascii=False).encode())
