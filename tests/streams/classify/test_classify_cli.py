"""`salvo classify` and `salvo eval` through typer's runner and through the installed console script."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from streams.cli import classify as classify_cli

COMMITTED = Path(__file__).resolve().parents[3] / "streams" / "classify" / "data" / "dev.jsonl"


@pytest.fixture
def app() -> typer.Typer:
    fresh = typer.Typer()
    classify_cli.register(fresh)
    return fresh


def test_classify_prints_the_full_result(app: typer.Typer) -> None:
    result = CliRunner().invoke(app, ["classify", "Russia launched 400 drones at Odesa"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["category"] == "attack"
    assert data["facts"]["drones"] == 400 and data["facts"]["regions"] == ["Odesa"]


def test_classify_jsonl(app: typer.Typer) -> None:
    lines = [{"id": "a", "text": "Обстріл Херсона: поранені троє людей"},
             {"id": "b", "text": "Russia launched 40 missiles", "lang": "en"}]
    stdin = "\n".join(json.dumps(x, ensure_ascii=False) for x in lines) + "\n"
    result = CliRunner().invoke(app, ["classify", "--jsonl"], input=stdin)
    assert result.exit_code == 0, result.output
    out = [json.loads(line) for line in result.output.splitlines()]
    assert [o["id"] for o in out] == ["a", "b"]
    assert set(out[0]) == {"id", "category", "subtypes", "also", "historical", "confidence", "lang",
                           "evidence", "facts"}
    assert set(out[0]["facts"]) == {"drones", "missiles", "killed", "injured", "casualties", "regions"}
    assert out[0]["lang"] == "uk" and out[0]["facts"]["injured"] == 3
    assert out[0]["facts"]["regions"] == ["Kherson"]
    assert out[1]["facts"]["missiles"] == 40


def test_eval_prints_the_tables(app: typer.Typer, tmp_path: Path) -> None:
    sample = tmp_path / "sample.jsonl"
    sample.write_text("".join(COMMITTED.read_text(encoding="utf-8").splitlines(keepends=True)[:60]))
    result = CliRunner().invoke(app, ["eval", str(sample)])
    assert result.exit_code == 0, result.output
    for heading in ("macro-F1 by language", "confusion", "drones", "killed", "precision"[:4]):
        assert heading in result.output
    as_json = json.loads(CliRunner().invoke(app, ["eval", str(sample), "--json"]).output)
    assert as_json["items"] == 60 and set(as_json["counts"]) >= {"drones", "missiles", "killed", "injured"}


@pytest.mark.skipif(shutil.which("salvo") is None and not Path(".venv/bin/salvo").exists(),
                    reason="the salvo console script is not installed")
def test_console_script() -> None:
    exe = shutil.which("salvo") or ".venv/bin/salvo"
    done = subprocess.run([exe, "classify", "Kremlin rejects peace talks"], capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["category"] == "talks"
