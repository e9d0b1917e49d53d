"""Retraining: the script fits a model from repo data that the scorer reads back, and folds are stratified."""

from __future__ import annotations

from pathlib import Path

import pytest

from streams.classify import Classifier
from streams.classify.evaluate import load_labelled
from streams.classify.model import LinearModel
from streams.classify.train import DATA_PATH, cross_validate, fit, folds, spread

pytest.importorskip("sklearn", reason="scikit-learn is a training-only dependency")


def test_fit_writes_a_model_the_scorer_reads(tmp_path: Path) -> None:
    rows = load_labelled(DATA_PATH)[:300]
    model = fit(rows)
    path = tmp_path / "model.json"
    path.write_text(model.to_json(meta={"items": len(rows)}), encoding="utf-8")
    loaded = LinearModel.load(path)
    assert loaded.weights.keys() == model.weights.keys()
    assert Classifier(loaded).classify("Russia shelled Kharkiv, two killed").category == "attack"


def test_folds_partition_and_stratify() -> None:
    rows = load_labelled(DATA_PATH)
    parts = folds(rows, 5)
    assert sorted(i for part in parts for i in part) == list(range(len(rows)))
    ru = [sum(rows[i]["lang"] == "ru" for i in part) for part in parts]
    assert max(ru) - min(ru) <= 1


def test_fold_shuffles_differ_and_spread_reports_each_language() -> None:
    rows = load_labelled(DATA_PATH)
    assert folds(rows, 5, 1) != folds(rows, 5, 2)
    sample = rows[:200] + [r for r in rows if r["lang"] == "uk"][:40]
    text = spread([cross_validate(sample, 3, seed) for seed in (1, 2)])
    assert "over 2 fold shuffles" in text
    assert all(f"{name} " in text for name in ("en", "uk", "attack", "other"))
