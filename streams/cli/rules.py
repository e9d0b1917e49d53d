"""The rule commands: `salvo rules check FILE` and `salvo backtest FILE… [--rules] [--from] [--to] [--json]`."""

from __future__ import annotations

import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from alerts.backtest import BacktestResult, run_backtest
from alerts.exceptions import RuleFileError
from alerts.rules import NightRule, RuleSet, default_rules, load_rules
from streams.settings import SalvoSettings

rules_app = typer.Typer(help="Check alert rule files.", no_args_is_help=True)
err = Console(stderr=True)


@rules_app.command("check")
def check(files: Annotated[list[Path], typer.Argument(help="Rule files to validate.", exists=True)]) -> None:
    """Validate rule files; print `file:line: reason` for each error and exit 1 when there is one."""
    failed = False
    for path in files:
        try:
            ruleset = load_rules(path)
        except RuleFileError as exc:
            failed = True
            for line, reason in exc.problems:
                typer.echo(f"{exc.path}:{line}: {reason}", err=True)
            continue
        typer.echo(f"{path}: {len(ruleset.rules)} rules OK")
    if failed:
        raise typer.Exit(1)


def _ruleset(path: Path | None) -> RuleSet:
    try:
        return default_rules() if path is None else load_rules(path)
    except RuleFileError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None


def _print_table(result: BacktestResult, out: Console) -> None:
    table = Table(title=f"{len(result.alerts)} alert versions from {result.events} events")
    # When each version would have gone out (the event time that made it), not when its window starts: a
    # night's incident starts at 15:00 the day before, its figures arrive in the morning.
    for column in ("sent at (UTC)", "rule", "severity", "status", "v", "group", "value", "title", "id"):
        table.add_column(column, overflow="fold")
    for a, at in zip(result.alerts, result.emitted, strict=True):
        table.add_row(at.astimezone(UTC).strftime("%Y-%m-%d %H:%M"), a.rule_id, a.severity, a.status, str(a.version),
                      a.group_key, f"{a.value:g}" if a.value is not None else "", a.title, a.id)
    out.print(table)


def _print_summary(result: BacktestResult, rules: RuleSet, seconds: float, out: Console) -> None:
    table = Table(title="summary by rule and severity (severity: the highest an alert reached)")
    for column in ("rule", "severity", "alerts", "versions"):
        table.add_column(column)
    for (rule, severity), (alerts, versions) in result.summary().items():
        table.add_row(rule, severity, str(alerts), str(versions))
    out.print(table)
    out.print(f"{result.events} events, {len(result.late)} late, {len(result.rejected)} rows rejected, "
              f"{seconds:.2f} s")
    if result.left_out:  # what a rule's filters and reconciliation did not count: never a silent filter
        out.print("left out: " + "; ".join(f"{rule} {reason}: {reports}"
                                           for (rule, reason), reports in result.left_out.items()), markup=False)
    waves = any(alert.facts.alerted for alert in result.alerts)  # the lead time is an air-raid feed's figure
    for rule in rules:
        if waves and isinstance(rule, NightRule) and rule.waves and (leads := result.leads(rule.id)):
            hours = [lead.hours for lead in leads]
            out.print(f"lead time, {rule.id}: the {len(leads)} largest nights first alerted a median "
                      f"{statistics.median(hours):.1f} h before their first count (min {min(hours):.1f}, max "
                      f"{max(hours):.1f}); {sum(lead.early for lead in leads)} opened by an air-raid wave")
    for rejection in result.rejected[:20]:
        out.print(f"rejected {rejection}", markup=False)


def backtest(
    files: Annotated[list[Path], typer.Argument(help="Strike CSV, air-raid alerts CSV and news JSONL/CSV/TSV files.",
                                                exists=True)],
    rules: Annotated[Path | None, typer.Option("--rules", help="Rules YAML (default: the shipped rules).")] = None,
    since: Annotated[datetime | None, typer.Option("--from", help="First event day (the event's own zone), inclusive.",
                                                   formats=["%Y-%m-%d"])] = None,
    until: Annotated[datetime | None, typer.Option("--to", help="Last event day (the event's own zone), inclusive.",
                                                   formats=["%Y-%m-%d"])] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Alerts as JSON lines; summary to stderr.")] = False,
) -> None:
    """Run the rules over historical files with the live worker's pure core and print the alerts."""
    ruleset = _ruleset(rules)
    settings = SalvoSettings()  # the worker's lateness and time bounds, so both give the same alerts
    started = time.perf_counter()
    result = run_backtest(files, ruleset, since=since.date() if since else None,
                          until=until.date() if until else None, allowed_lateness=settings.allowed_lateness,
                          bounds=settings.time_bounds, now=datetime.now(UTC))
    seconds = time.perf_counter() - started
    if as_json:
        for alert in result.alerts:
            sys.stdout.write(alert.model_dump_json() + "\n")
        _print_summary(result, ruleset, seconds, err)
        return
    out = Console()
    _print_table(result, out)
    _print_summary(result, ruleset, seconds, out)


def register(app: typer.Typer) -> None:
    """Add `rules check` and `backtest` to the root app."""
    app.add_typer(rules_app, name="rules")
    app.command("backtest")(backtest)
