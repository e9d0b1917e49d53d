"""Rule files: the shipped defaults load, and each bad file fails with its file, line and reason."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from alerts.exceptions import RuleFileError
from alerts.rules import NightRule, default_rules, load_rules
from streams.cli import rules as rules_cli
from tests.alerts.fixtures import event

TESTDATA = Path(__file__).parent / "testdata"
BAD = sorted(TESTDATA.glob("rules.*.bad.yaml"))


def _expected(path: Path) -> tuple[int, str]:
    """The `# expect: LINE: text` comment on a bad file's first line."""
    match = re.match(r"# expect: (\d+): (.*)", path.read_text().splitlines()[0])
    assert match, f"{path.name} lacks its '# expect: LINE: text' first line"
    return int(match.group(1)), match.group(2)


def test_the_shipped_rules_load_and_cover_every_kind() -> None:
    ruleset = default_rules()
    assert {rule.kind for rule in ruleset} == {"night", "window", "absence", "match"}
    night = next(r for r in ruleset if r.id == "attack-night")
    assert isinstance(night, NightRule)
    salvo = next(t for t in night.triggers if t.id == "large-drone-salvo")
    assert [salvo.severity_for(v) for v in (99, 100, 299, 300, 810)] == [
        None, "warning", "warning", "critical", "critical"]


@pytest.mark.parametrize("path", BAD, ids=[p.name for p in BAD])
def test_a_bad_rule_file_names_its_line_and_reason(path: Path) -> None:
    line, text = _expected(path)
    with pytest.raises(RuleFileError) as raised:
        load_rules(path)
    assert any(found == line and reason.startswith(text) for found, reason in raised.value.problems), (
        raised.value.problems)
    assert f"{path}:{line}: {text}" in str(raised.value)


def test_filters_match_sources_by_prefix_and_all_given_lists() -> None:
    rule = load_rules(TESTDATA / "rules.filters.yaml").rules[0]
    assert rule.filters.accepts(event("a", 0, drones=5, source="kpszsu/posts/1", regions=["Kyiv"]))
    assert not rule.filters.accepts(event("b", 0, drones=5, source="kpszsu-fake", regions=["Kyiv"]))
    assert not rule.filters.accepts(event("c", 0, drones=5, source="kpszsu", regions=["Lviv"]))


def test_rules_check_command_exits_non_zero_with_file_line_and_reason(tmp_path: Path) -> None:
    app = typer.Typer()
    rules_cli.register(app)
    runner = CliRunner()
    good = runner.invoke(app, ["rules", "check", str(TESTDATA / "rules.filters.yaml")])
    assert good.exit_code == 0, good.output
    bad = TESTDATA / "rules.window-without-key.bad.yaml"
    result = runner.invoke(app, ["rules", "check", str(bad)])
    assert result.exit_code == 1
    line, text = _expected(bad)
    assert f"{bad}:{line}: {text}" in result.output
