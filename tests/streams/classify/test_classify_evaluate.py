"""The evaluation arithmetic on a hand-made set, and the strict reading of labelled files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from schemas.errors import ValidationError
from schemas.event import Classification, Facts
from streams.classify.evaluate import evaluate, format_report, load_labelled


def _row(label: str, lang: str = "en", **counts: int | None) -> dict[str, object]:
    base: dict[str, object] = {"text": "t", "label": label, "lang": lang, "historical": False}
    base.update({k: None for k in ("drones", "missiles", "killed", "injured", "casualties")})
    base.update(counts)
    return base


def _pred(category: str, lang: str = "en", **facts: int) -> Classification:
    return Classification(category=category, confidence=1.0, lang=lang, facts=Facts(**facts))  # type: ignore[arg-type]


def test_metrics() -> None:
    rows = [_row("attack", drones=400), _row("attack", killed=2), _row("talks"), _row("other", "uk"),
            _row("statement", "ru")]
    preds = [_pred("attack", drones=400), _pred("talks", killed=3), _pred("talks"), _pred("other", "uk"),
             _pred("other", "ru", missiles=5)]
    report = evaluate(rows, preds)
    assert report.items == 5 and report.accuracy == pytest.approx(3 / 5)
    attack = report.per_class["attack"]
    assert (attack.precision, attack.recall, attack.support) == (1.0, 0.5, 2)
    assert report.per_class["talks"].precision == pytest.approx(0.5)
    assert report.confusion["attack"]["talks"] == 1 and report.confusion["statement"]["other"] == 1
    assert report.macro_f1_by_lang["uk"] == 1.0 and "uk+ru" in report.macro_f1_by_lang
    drones, killed, missiles = report.counts["drones"], report.counts["killed"], report.counts["missiles"]
    assert (drones.exact, drones.labelled, drones.not_invented, drones.unlabelled) == (1, 1, 4, 4)
    assert (killed.exact, killed.labelled) == (0, 1)
    assert missiles.not_invented_rate == pytest.approx(4 / 5)
    assert "confusion" in format_report(report)


def test_load_labelled_names_the_bad_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps({"text": "ok", "label": "attack"}) + "\n" + json.dumps({"text": "x"}) + "\n")
    with pytest.raises(ValidationError, match=r"bad\.jsonl:2"):
        load_labelled(path)
