"""The classifier end to end on the committed model: contract, evidence, clear cases, and real data checks."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest

from schemas.event import Classification
from streams.classify import Classifier, classify, default_classifier
from streams.classify.evaluate import evaluate, load_labelled
from streams.classify.facts import extract
from streams.classify.model import MODEL_PATH, LinearModel

SHARED = Path(__file__).resolve().parents[3].parent / "shared" / "data"
COMMITTED = Path(__file__).resolve().parents[3] / "streams" / "classify" / "data" / "dev.jsonl"


def test_returns_the_contract_with_evidence_inside_the_text() -> None:
    text = "Russia launched 400 drones and 40 missiles at Kyiv overnight, two people were killed"
    result = classify(text)
    assert isinstance(result, Classification)
    assert result.category == "attack"
    assert {"drone_strike", "missile_strike", "combined_salvo"} <= set(result.subtypes)
    assert (result.facts.drones, result.facts.missiles, result.facts.killed) == (400, 40, 2)
    assert result.facts.regions == ["Kyiv City"]
    assert 0.0 <= result.confidence <= 1.0 and result.lang == "en"
    assert result.evidence and all(text[e.start:e.end] == e.text for e in result.evidence)


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("Russian forces shelled Kherson, killing three civilians", "attack"),
        ("Обстріл Харкова: загинули двоє людей", "attack"),
        ("Zelensky and Erdogan held talks on a prisoner exchange", "talks"),
        ("Kremlin rejects peace talks proposal", "talks"),
        ("Lavrov warns the West against sending long-range missiles", "statement"),
        ("Гороскоп на 15 червня: Ракам - радість", "other"),
    ],
)
def test_clear_cases(text: str, category: str) -> None:
    assert classify(text).category == category


def test_language_is_taken_from_the_feed_when_given() -> None:
    assert classify("Russia launched 400 drones", lang="uk").lang == "uk"
    assert classify("Russia launched 400 drones", lang="xx").lang == "en"


def test_historical_totals() -> None:
    result = classify("Since February 24, the Russians have launched more than 900 missiles at Ukraine")
    assert result.historical and result.facts.missiles == 900


def test_default_classifier_loads_once() -> None:
    assert default_classifier() is default_classifier()


def test_committed_model_is_small_and_loads() -> None:
    assert MODEL_PATH.stat().st_size < 50 * 1024 * 1024
    model = LinearModel.load()
    assert Classifier(model).classify("test").category in model.classes


def test_evaluate_on_the_committed_data_is_the_full_fit_figure() -> None:
    """The committed model saw these items: this checks the pipeline, not generalisation (see README)."""
    rows = load_labelled(COMMITTED)[:200]
    report = evaluate(rows, (classify(str(r["text"])) for r in rows))
    assert report.items == 200 and report.macro_f1 > 0.9
    assert report.counts["drones"].not_invented_rate > 0.95


@pytest.mark.skipif(
    not (SHARED / "extraction").is_dir(), reason=f"needs {SHARED / 'extraction'} (only beside the team's checkout)"
)
def test_ukrainian_air_force_counts() -> None:
    """Drone and missile counts of the Ukrainian Air Force "ЗНИЩЕНО" texts against their parsed counts."""
    drones_cols = ("uav_drones", "shahed", "orlan", "orion", "lancet", "merlin", "granat_4", "zala",
                   "mohajer_6")
    missile_cols = ("missiles", "ballistic_missiles", "missile_kh_31p", "cruise_missiles", "kh_59_missile",
                    "kalibr_missile", "kinzhal_missile", "iskander_m_missile", "iskander_k_missile")
    with (SHARED / "extraction" / "kpszsu_destroyed_counts.csv").open(encoding="utf-8") as handle:
        counts: dict[tuple[str, str], list[dict[str, str]]] = {}
        for row in csv.DictReader(handle):
            counts.setdefault((row["checkpoint_date"], row["checkpoint_time"]), []).append(row)
    stamp = re.compile(r"(\d\d)\.(\d\d)\.(\d\d(?:\d\d)?)\s*\((?:станом на )?(\d\d)[.:](\d\d)")
    total = drones_ok = missiles_ok = 0
    with (SHARED / "extraction" / "kpszsu_destroyed_texts_uk.jsonl").open(encoding="utf-8") as handle:
        for line in handle:
            text = json.loads(line)["text_ocr_uk"]
            m = stamp.search(text)
            if not m:
                continue
            year = m.group(3) if len(m.group(3)) == 4 else "20" + m.group(3)
            rows = counts.get((f"{year}-{m.group(2)}-{m.group(1)}", f"{m.group(4)}:{m.group(5)}:00"), [])
            if len(rows) != 1:
                continue
            want_d = sum(int(float(rows[0][c])) for c in drones_cols if rows[0][c]) or None
            want_m = sum(int(float(rows[0][c])) for c in missile_cols if rows[0][c]) or None
            facts, _ = extract(text)
            total += 1
            drones_ok += facts.drones == want_d
            missiles_ok += facts.missiles == want_m
    assert total > 200
    assert drones_ok / total >= 0.95 and missiles_ok / total >= 0.95


@pytest.mark.parametrize("text", ["", "🔥🔥", "12345", "a" * 5000])
def test_degenerate_inputs(text: str) -> None:
    result = classify(text)
    assert result.category == "other" and result.facts.drones is None


def test_a_call_on_others_about_sanctions_is_a_statement_the_announcement_other() -> None:
    """The guidelines: "Aid and sanctions announcements are other; calls on others to impose sanctions or send
    weapons are statement" (3 dev items the model read as other, none lost, in 5-fold CV)."""
    assert classify("Poland calls on the EU to impose tougher sanctions on Russian banks").category == "statement"
    assert classify("The EU imposes new sanctions on Russian banks").category == "other"
