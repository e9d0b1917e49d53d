"""The backtest over real strike data: the 810-drone night is one critical incident, every run is identical."""

from __future__ import annotations

import json
import time
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

import typer
from typer.testing import CliRunner

from alerts.backtest import BacktestResult, load_events, replay, run_backtest
from alerts.engine import RuleEngine
from alerts.rules import default_rules
from schemas import Alert
from streams.cli import rules as rules_cli
from streams.sources import KYIV
from tests.alerts.fixtures import JsonTable

SAMPLE = Path(__file__).parent / "testdata" / "strikes_2025-07-01_2025-09-12.csv"


def _night(alert: Alert) -> date:
    """The Kyiv date a night's reports end on (reports arrive from evening to about 10:00)."""
    return (alert.starts_at.astimezone(KYIV) + timedelta(hours=10)).date()


def _salvo_critical_810(result: BacktestResult) -> list[Alert]:
    """The first version of the 810-drone night that states its 810 drones."""
    return [a for a in result.alerts
            if a.rule_id == "attack-night" and a.facts.drones == 810 and a.status != "resolved"][:1]


def test_the_810_drone_night_is_one_critical_incident_and_each_night_one_alert() -> None:
    result = run_backtest([SAMPLE], default_rules())
    assert result.events == 269 and not result.rejected and not result.late
    [alert] = _salvo_critical_810(result)
    assert (alert.severity, _night(alert)) == ("critical", date(2025, 9, 7))
    assert alert.title.startswith("Attack night: 810 drones")
    assert "large-drone-salvo: 810 drones >= 300 (critical)" in alert.summary

    nights = [a for a in result.alerts if a.rule_id == "attack-night"]
    firing = Counter(_night(a) for a in nights if a.status == "firing")
    assert firing and max(firing.values()) == 1
    assert len({a.id for a in nights}) == len(firing)  # updates are versions, not new alerts
    # what used to be five rules about the same night are the night's triggers, named in its summary
    met = " ".join(a.summary for a in nights)
    assert all(trigger in met for trigger in ("large-drone-salvo", "missile-salvo", "combined-salvo", "drone-spike"))
    assert {a.rule_id for a in result.alerts} <= {"attack-night", "regional-surge"}


def test_two_runs_are_byte_identical_and_date_bounds_apply() -> None:
    once = [a.model_dump_json() for a in run_backtest([SAMPLE], default_rules()).alerts]
    again = [a.model_dump_json() for a in run_backtest([SAMPLE], default_rules()).alerts]
    assert once == again
    september = run_backtest([SAMPLE], default_rules(), since=date(2025, 9, 1), until=date(2025, 9, 7))
    assert all(date(2025, 8, 31) <= a.starts_at.date() <= date(2025, 9, 7) for a in september.alerts)
    assert len(_salvo_critical_810(september)) == 1


def test_backtest_command_prints_json_lines_and_a_summary() -> None:
    app = typer.Typer()
    rules_cli.register(app)
    result = CliRunner().invoke(app, ["backtest", str(SAMPLE), "--json"])
    assert result.exit_code == 0, result.stderr
    alerts = [Alert.model_validate(json.loads(line)) for line in result.stdout.splitlines()]
    assert any(a.value == 810 and a.severity == "critical" for a in alerts)
    assert "attack-night" in result.stderr and "269 events, 0 late, 0 rows rejected" in result.stderr
    # what the night rule left out, by reason (the sample's regional rows and reconnaissance drones)
    said = " ".join(result.stderr.split())
    assert "left out: attack-night covered by national: 73; attack-night subtype reconnaissance: 52" in said
    table = CliRunner().invoke(app, ["backtest", str(SAMPLE), "--from", "2025-09-06", "--to", "2025-09-07"])
    assert table.exit_code == 0 and "attack-night" in table.output and "critical" in table.output


def test_the_whole_real_strike_file_takes_seconds(shared_data: Path) -> None:
    started = time.perf_counter()
    result = run_backtest([shared_data / "strikes" / "missile_attacks_daily.csv"], default_rules())
    assert time.perf_counter() - started < 15
    assert result.events == 3770 and not result.rejected
    [alert] = _salvo_critical_810(result)
    assert _night(alert) == date(2025, 9, 7) and alert.severity == "critical"


def test_real_events_keep_the_state_plain_json_and_small() -> None:
    result = BacktestResult()
    events = load_events([SAMPLE], result=result)
    state = JsonTable()  # values must survive JSON, as in the worker's Faust table
    replay(RuleEngine(default_rules(), state), events, result)
    assert [a.model_dump_json() for a in result.alerts] == [
        a.model_dump_json() for a in run_backtest([SAMPLE], default_rules()).alerts]
    assert len(state) < 80, sorted(state)  # closed windows and incidents are dropped as time passes


def test_a_night_reads_its_known_figures_and_links_the_air_force_post() -> None:
    """The desk read "? drones, 50 missiles, ? regions (unknown regions)" and `kpszsu/posts/…` ids."""
    result = run_backtest([SAMPLE], default_rules())
    titles = {a.title for a in result.alerts if a.rule_id == "attack-night"}
    assert not any("?" in title or "unknown regions" in title for title in titles)
    [alert] = _salvo_critical_810(result)
    assert all(source.startswith("https://www.facebook.com/") for source in alert.sources), alert.sources
