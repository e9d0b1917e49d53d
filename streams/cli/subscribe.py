"""`salvo subscribe add|list|update|remove|test`, `salvo route ALERT.json` over the worker's API, and
`salvo secrets key`, which makes the key that seals subscription secrets at rest."""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Annotated, Any

import typer

from schemas.secrets import Sealer
from streams.cli.apiclient import ApiClient, ApiToken, ApiUrl, show

subscribe_app = typer.Typer(help="Manage subscriptions: who receives which alerts.", no_args_is_help=True)
secrets_app = typer.Typer(help="Keys for subscription secrets at rest.", no_args_is_help=True)

Webhook = Annotated[str | None, typer.Option(help="Webhook URL (signed JSON POST).")]
Secret = Annotated[
    str | None, typer.Option(help="Webhook signing secret (default: generated, printed once).")
]
Slack = Annotated[str | None, typer.Option(help="Slack incoming-webhook URL.")]
Email = Annotated[list[str] | None, typer.Option("--email", help="E-mail recipient (repeatable).")]
Alertmanager = Annotated[
    str | None, typer.Option(help="Alertmanager base URL (alerts go to /api/v2/alerts).")
]
Kafka = Annotated[str | None, typer.Option(help="Kafka topic to receive matching alerts as JSON.")]
Category = Annotated[
    list[str] | None, typer.Option("--category", help="attack|talks|statement|other (repeatable).")
]
Subtype = Annotated[list[str] | None, typer.Option("--subtype", help="Sub-type, e.g. drone_strike (repeatable).")]
Severity = Annotated[str | None, typer.Option("--min-severity", help="info|warning|critical.")]
Region = Annotated[list[str] | None, typer.Option("--region", help="Oblast, any spelling (repeatable).")]
Rule = Annotated[list[str] | None, typer.Option("--rule", help="Rule id (repeatable).")]
Label = Annotated[list[str] | None, typer.Option("--label", help="Label NAME=VALUE (repeatable).")]
Quiet = Annotated[str | None, typer.Option("--quiet-hours", help="HH:MM-HH:MM local time, e.g. 22:00-07:00.")]
QuietZone = Annotated[str, typer.Option("--quiet-tz", help="Time zone of the quiet hours.")]
Rate = Annotated[int | None, typer.Option("--rate-per-minute", help="Per-receiver rate limit (default 60).")]
Resolved = Annotated[bool | None, typer.Option(
    "--send-resolved/--no-send-resolved",
    help="Send resolved versions too (default: only to Alertmanager, as Alertmanager's own default).")]


def _target(webhook: str | None, secret: str | None, slack: str | None, email: list[str] | None,
            alertmanager: str | None, kafka: str | None) -> dict[str, Any] | None:  # fmt: skip
    """The target from whichever one channel flag was given; None when none was."""
    given = {
        "webhook": webhook and {"type": "webhook", "url": webhook, "secret": secret or ""},
        "slack": slack and {"type": "slack", "url": slack},
        "email": email and {"type": "email", "to": email},
        "alertmanager": alertmanager and {"type": "alertmanager", "url": alertmanager},
        "kafka": kafka and {"type": "kafka", "topic": kafka},
    }
    chosen = [target for target in given.values() if target]
    if len(chosen) > 1:
        typer.echo("give one channel: --webhook, --slack, --email, --alertmanager or --kafka", err=True)
        raise typer.Exit(2)
    return chosen[0] if chosen else None


def _filters(category: list[str] | None, subtype: list[str] | None, min_severity: str | None,
             region: list[str] | None, rule: list[str] | None, label: list[str] | None,
             quiet_hours: str | None, quiet_tz: str) -> dict[str, Any]:  # fmt: skip
    """Only the filters given on the command line (so `update` changes just those)."""
    filters: dict[str, Any] = {}
    for key, value in (
        ("categories", category),
        ("subtypes", subtype),
        ("regions", region),
        ("rule_ids", rule),
    ):
        if value:
            filters[key] = value
    if min_severity:
        filters["min_severity"] = min_severity
    if label:
        pairs = [item.partition("=") for item in label]
        if any(not sep for _, sep, _ in pairs):
            typer.echo("--label takes NAME=VALUE", err=True)
            raise typer.Exit(2)
        filters["labels"] = {name: value for name, _, value in pairs}
    if quiet_hours:
        start, sep, end = quiet_hours.partition("-")
        if not sep:
            typer.echo("--quiet-hours takes HH:MM-HH:MM", err=True)
            raise typer.Exit(2)
        filters["quiet_hours"] = {"start": start, "end": end, "timezone": quiet_tz}
    return filters


def _describe(sub: dict[str, Any]) -> tuple[str, str]:
    """Short target and filter summaries for the list table."""
    target = sub["target"]
    where = {"email": ", ".join(target.get("to", [])), "kafka": target.get("topic", "")}.get(
        target["type"], target.get("url", "")
    )
    f = sub["filters"]
    parts = [f"severity>={f['min_severity']}"]
    for key in ("categories", "subtypes", "regions", "rule_ids"):
        if f[key]:
            parts.append(f"{key}={','.join(f[key])}")
    parts += [f"{k}={v}" for k, v in f["labels"].items()]
    if f.get("quiet_hours"):
        parts.append(f"quiet {f['quiet_hours']['start'][:5]}-{f['quiet_hours']['end'][:5]}")
    return where, " ".join(parts)


@subscribe_app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="Subscription name (its key).")],
    webhook: Webhook = None, secret: Secret = None, slack: Slack = None, email: Email = None,
    alertmanager: Alertmanager = None, kafka: Kafka = None,
    category: Category = None, subtype: Subtype = None, min_severity: Severity = None, region: Region = None,
    rule: Rule = None, label: Label = None, quiet_hours: Quiet = None, quiet_tz: QuietZone = "Europe/Kyiv",
    rate_per_minute: Rate = None, send_resolved: Resolved = None,
    from_file: Annotated[Path | None, typer.Option("--file", help="Subscription JSON, not flags.")] = None,
    api_url: ApiUrl = None, api_token: ApiToken = None,
) -> None:  # fmt: skip
    """Subscribe one receiver; invalid URLs, unknown regions and bad filters are refused with the reason."""
    if from_file is not None:
        body = json.loads(from_file.read_text())
    else:
        target = _target(webhook, secret, slack, email, alertmanager, kafka)
        if target is None:
            typer.echo("give a channel: --webhook, --slack, --email, --alertmanager or --kafka", err=True)
            raise typer.Exit(2)
        generated = target["type"] == "webhook" and not secret
        if generated:
            target["secret"] = secrets.token_urlsafe(32)
        body = {
            "name": name,
            "target": target,
            "filters": _filters(category, subtype, min_severity, region, rule, label, quiet_hours, quiet_tz),
        }
        if rate_per_minute:
            body["rate_per_minute"] = rate_per_minute
        if send_resolved is not None:
            body["send_resolved"] = send_resolved
    created = ApiClient(api_url, api_token).call("POST", "/api/subscriptions", body=body)
    typer.echo(f"subscribed {created['name']} ({created['target']['type']})")
    if from_file is None and generated:
        typer.echo(f"signing secret (shown once, verify X-Salvo-Signature with it): {target['secret']}")


@subscribe_app.command("list")
def list_(as_json: Annotated[bool, typer.Option("--json")] = False,
          api_url: ApiUrl = None, api_token: ApiToken = None) -> None:  # fmt: skip
    """List subscriptions (secrets masked)."""
    subs = ApiClient(api_url, api_token).call("GET", "/api/subscriptions")
    rows = []
    for sub in subs:
        where, filters = _describe(sub)
        rows.append([sub["name"], sub["target"]["type"], where, filters, "yes" if sub["enabled"] else "no"])
    columns = ("name", "channel", "target", "filters", "enabled")
    show(subs, as_json=as_json, title=f"{len(subs)} subscriptions", columns=columns, rows=rows)


@subscribe_app.command("update")
def update(
    name: Annotated[str, typer.Argument()],
    webhook: Webhook = None, secret: Secret = None, slack: Slack = None, email: Email = None,
    alertmanager: Alertmanager = None, kafka: Kafka = None,
    category: Category = None, subtype: Subtype = None, min_severity: Severity = None, region: Region = None,
    rule: Rule = None, label: Label = None, quiet_hours: Quiet = None, quiet_tz: QuietZone = "Europe/Kyiv",
    rate_per_minute: Rate = None, send_resolved: Resolved = None,
    enabled: Annotated[bool | None, typer.Option("--enable/--disable")] = None,
    api_url: ApiUrl = None, api_token: ApiToken = None,
) -> None:  # fmt: skip
    """Change only what the flags name; everything else (secrets too) stays as stored."""
    patch: dict[str, Any] = {}
    target = _target(webhook, secret, slack, email, alertmanager, kafka)
    if target is not None:
        if target["type"] == "webhook" and not secret:
            target.pop("secret")  # keep the stored secret
        patch["target"] = target
    elif secret:
        patch["target"] = {"secret": secret}
    if filters := _filters(category, subtype, min_severity, region, rule, label, quiet_hours, quiet_tz):
        patch["filters"] = filters
    if rate_per_minute:
        patch["rate_per_minute"] = rate_per_minute
    if enabled is not None:
        patch["enabled"] = enabled
    if send_resolved is not None:
        patch["send_resolved"] = send_resolved
    if not patch:
        typer.echo("nothing to change: give at least one option", err=True)
        raise typer.Exit(2)
    ApiClient(api_url, api_token).call("PATCH", f"/api/subscriptions/{name}", body=patch)
    typer.echo(f"updated {name}")


@subscribe_app.command("remove")
def remove(
    name: Annotated[str, typer.Argument()], api_url: ApiUrl = None, api_token: ApiToken = None
) -> None:
    """Delete a subscription (a tombstone on the compacted topic)."""
    ApiClient(api_url, api_token).call("DELETE", f"/api/subscriptions/{name}")
    typer.echo(f"removed {name}")


@subscribe_app.command("test")
def test(name: Annotated[str, typer.Argument()], api_url: ApiUrl = None, api_token: ApiToken = None) -> None:
    """Send a sample alert through the subscription's real channel and report the outcome and its timing."""
    result = ApiClient(api_url, api_token).call("POST", f"/api/subscriptions/{name}/test")
    typer.echo(f"test alert {result['alert']} delivered to {name} in {result['elapsed_ms']:.0f} ms")


def route(
    alert_file: Annotated[Path, typer.Argument(help="Alert JSON (as on the `alerts` topic).", exists=True)],
    as_json: Annotated[bool, typer.Option("--json")] = False,
    api_url: ApiUrl = None, api_token: ApiToken = None,
) -> None:  # fmt: skip
    """Show which subscriptions an alert would reach, and why (filters, silences, quiet hours)."""
    decisions = ApiClient(api_url, api_token).call(
        "POST", "/api/route", body=json.loads(alert_file.read_text())
    )
    show(
        decisions,
        as_json=as_json,
        title=f"{sum(d['deliver'] for d in decisions)} of {len(decisions)} subscriptions reached",
        columns=("subscription", "channel", "verdict", "why"),
        rows=[
            [d["subscription"], d["channel"], f"[{'green' if d['deliver'] else 'yellow'}]{d['verdict']}[/]",
             "; ".join(d["reasons"])]
            for d in decisions
        ],
    )  # fmt: skip


@secrets_app.command("key")
def new_key() -> None:
    """Print a new random SALVO_SECRETS_KEY (give every worker the same one; see docs/delivery.md, "Security")."""
    typer.echo(Sealer.new_key())


def register(app: typer.Typer) -> None:
    """Add `subscribe`, `route` and `secrets` to the root app."""
    app.add_typer(subscribe_app, name="subscribe")
    app.command("route")(route)
    app.add_typer(secrets_app, name="secrets")
