"""`salvo deliveries list|redrive`: inspect the outbox and resend dead letters, over the worker's API."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

import typer

from streams.cli.apiclient import ApiClient, ApiToken, ApiUrl, show

deliveries_app = typer.Typer(help="Inspect deliveries and resend dead letters.", no_args_is_help=True)
State = Annotated[str | None, typer.Option("--state", help="pending, delivered or dead.")]


@deliveries_app.command("list")
def list_(state: State = None, as_json: Annotated[bool, typer.Option("--json")] = False,
          api_url: ApiUrl = None, api_token: ApiToken = None) -> None:  # fmt: skip
    """List outbox entries with their state, attempts and last error."""
    params = {"state": state} if state else None
    rows = ApiClient(api_url, api_token).call("GET", "/api/deliveries", params=params)
    show(
        rows,
        as_json=as_json,
        title=f"{len(rows)} deliveries",
        columns=("key", "channel", "state", "attempts", "reason", "error"),
        rows=[
            [r["key"], r["channel"], r["state"], str(r["attempts"]), r["reason"] or "", r["error"]]
            for r in rows
        ],
    )


@deliveries_app.command("redrive")
def redrive(
    keys: Annotated[list[str] | None, typer.Argument(help="Outbox keys (alert-id:vN|subscription).")] = None,
    all_dead: Annotated[bool, typer.Option("--all-dead", help="Every dead delivery.")] = False,
    api_url: ApiUrl = None, api_token: ApiToken = None,
) -> None:  # fmt: skip
    """Resend deliveries with fresh attempts (same idempotency key, so receivers can still dedupe)."""
    client = ApiClient(api_url, api_token)
    wanted = list(keys or [])
    if all_dead:
        wanted += [r["key"] for r in client.call("GET", "/api/deliveries", params={"state": "dead"})]
    if not wanted:
        typer.echo("nothing to redrive: give keys or --all-dead", err=True)
        raise typer.Exit(2)
    for key in wanted:
        client.call("POST", f"/api/deliveries/{quote(key, safe='')}/redrive")
        typer.echo(f"redriven {key}")


def register(app: typer.Typer) -> None:
    """Add `deliveries` to the root app."""
    app.add_typer(deliveries_app, name="deliveries")
