"""Shadow traffic (``extractly.shadow``): the real model extracts, a real teacher server on
127.0.0.1 (``AnswerKeyServer``, answering with each text's true object) gets a sampled share,
agreement is counted per field, pairs land in the distillation log."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from extractly import Extractor, Shadow
from extractly.scoring import normalize
from extractly.shadow import StratifiedSampler, agreement
from extractly.testing import AnswerKeyServer
from tests.support.deliveries import DELIVERY_SCHEMA, delivery_rows
from tests.support.servers import free_port


@pytest.mark.parametrize("share", [0.1, 0.15, 0.5, 0.7, 1.0])
def test_the_sampler_sends_the_share_to_within_one_document(share: float) -> None:
    for seed in range(5):
        sampler = StratifiedSampler(share, seed)
        taken = [sampler.take() for _ in range(1000)]
        assert abs(sum(taken) - 1000 * share) <= 1, (seed, sum(taken))
        for n in (10, 137, 501):  # any prefix too, not only the whole run
            assert abs(sum(taken[:n]) - n * share) <= 1


def test_the_sampler_gives_every_position_the_same_chance() -> None:
    # input order that repeats with the sampling period must not be over- or under-sampled
    hits: Counter[int] = Counter()
    for seed in range(400):
        sampler = StratifiedSampler(0.1, seed)
        hits.update(i % 10 for i in range(100) if sampler.take())
    assert sum(hits.values()) == 4000
    assert all(300 <= hits[r] <= 500 for r in range(10)), hits  # 400 each, binomial sd ~19


def test_agreement_compares_fields_as_eval_scores_them() -> None:
    names = ["a", "b", "c"]
    got = agreement({"a": " Lyon ", "b": None, "c": 2}, {"a": "lyon", "c": 3}, names)
    assert got == {"a": normalize(" Lyon ") == normalize("lyon"), "b": True, "c": False}


def test_shadow_traffic_compares_a_tenth_and_appends_the_pairs(tmp_path: Path) -> None:
    rows = delivery_rows(40, seed=7)
    gold = {r["text"]: r["gold"] for r in rows}
    pairs, log = tmp_path / "pairs.jsonl", tmp_path / "shadow.jsonl"
    with AnswerKeyServer(gold) as server:
        shadow = Shadow(f"openai:{server.url}#answer-key", share=0.1, log=log)
        with Extractor(DELIVERY_SCHEMA, shadow=shadow, distill_log=pairs) as extractor:
            results = list(extractor.run_many([r["text"] for r in rows]))
            stats = extractor.shadow_stats()
        assert stats is not None
        assert (stats.seen, stats.sent, stats.answered, stats.failed) == (40, 4, 4, 0)
        assert sum(server.asked.values()) == 4
    lines = [json.loads(x) for x in log.read_text().splitlines()]
    assert len(lines) == 4
    student = {r["text"]: res.data for r, res in zip(rows, results, strict=True)}
    for line in lines:  # each line: the student's answer as returned, the teacher's, per field
        assert line["student"] == student[line["text"]]
        assert line["teacher"] == gold[line["text"]]
        names = list(gold[line["text"]])
        assert line["agree"] == agreement(line["student"], line["teacher"], names)
    for name in ("recipient", "city", "items", "speed"):
        field = stats.fields[name]
        assert field.compared == 4
        assert field.agree == sum(line["agree"][name] for line in lines)
    logged = [json.loads(x) for x in pairs.read_text().splitlines()]
    assert [(p["text"], p["output"], p["source"]) for p in logged] == [
        (line["text"], line["teacher"], "shadow") for line in lines
    ]


def test_a_teacher_that_is_down_never_reaches_the_caller(tmp_path: Path) -> None:
    rows = delivery_rows(4, seed=3)
    teacher = f"openai:http://127.0.0.1:{free_port()}/v1#gone;timeout=2"
    shadow = Shadow(teacher, share=1.0, log=tmp_path / "shadow.jsonl")
    with Extractor(DELIVERY_SCHEMA, shadow=shadow) as extractor:
        results = list(extractor.run_many([r["text"] for r in rows]))
        stats = extractor.shadow_stats()
    assert len(results) == 4 and stats is not None
    assert (stats.sent, stats.answered, stats.failed) == (4, 0, 4)
    errors: list[Any] = [json.loads(x)["error"] for x in
                         (tmp_path / "shadow.jsonl").read_text().splitlines()]
    assert len(errors) == 4 and all("BackendRequestError" in e or "Fallback" in e for e in errors)


def test_a_share_outside_zero_to_one_is_refused() -> None:
    with pytest.raises(ValueError, match="share"):
        Shadow("openai:http://127.0.0.1:1/v1#x", share=0.0)
