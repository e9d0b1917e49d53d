"""`salvo silence add|list|expire`: bounded, visible mutes of matching alerts, over the worker's API."""

from __future__ import annotations

from typing import Annotated

import typer

from streams.cli.apiclient import ApiClient, ApiToken, ApiUrl, show

silence_app = typer.Typer(help="Mute matching alerts for a bounded time.", no_args_is_help=True)


@silence_app.command("add")
def add(
    match: Annotated[list[str], typer.Option("--match", help="NAME=VALUE, NAME!=VALUE, NAME=~RE (all).")],
    for_: Annotated[str, typer.Option("--for", help="How long, e.g. 30m, 2h, 1d (at most 30d).")],
    comment: Annotated[str, typer.Option(help="Why: shown wherever the silence mutes something.")],
    by: Annotated[str, typer.Option("--by", help="Who is silencing.")] = "salvo",
    spanning: Annotated[bool, typer.Option(
        "--spanning", help="Also mute alerts that name other regions besides the matched ones.")] = False,
    api_url: ApiUrl = None, api_token: ApiToken = None,
) -> None:  # fmt: skip
    """Silence alerts matching every --match (region, category, severity, rule_id, status, id, subtype or a
    label). A region matcher mutes an alert only when all its regions match, unless --spanning."""
    body = {"matchers": match, "duration": for_, "comment": comment, "created_by": by, "spanning": spanning}
    silence = ApiClient(api_url, api_token).call("POST", "/api/silences", body=body)
    typer.echo(f"silence {silence['id']} until {silence['ends_at']}")


@silence_app.command("list")
def list_(
    all_: Annotated[bool, typer.Option("--all", help="Include expired silences.")] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    api_url: ApiUrl = None, api_token: ApiToken = None,
) -> None:  # fmt: skip
    """List active and pending silences."""
    silences = ApiClient(api_url, api_token).call("GET", "/api/silences", params={"all": str(all_).lower()})
    show(
        silences,
        as_json=as_json,
        title=f"{len(silences)} silences",
        columns=("id", "matchers", "until", "active", "by", "comment"),
        rows=[
            [s["id"], " ".join(f"{m['name']}{m['op']}{m['value']}" for m in s["matchers"])
             + (" (spanning)" if s.get("spanning") else ""), s["ends_at"],
             "yes" if s["active"] else "no", s["created_by"], s["comment"]]
            for s in silences
        ],
    )  # fmt: skip


@silence_app.command("expire")
def expire(
    silence_id: Annotated[str, typer.Argument()], api_url: ApiUrl = None, api_token: ApiToken = None
) -> None:
    """End a silence now; it stays listed with --all."""
    ApiClient(api_url, api_token).call("DELETE", f"/api/silences/{silence_id}")
    typer.echo(f"expired {silence_id}")


def register(app: typer.Typer) -> None:
    """Add `silence` to the root app."""
    app.add_typer(silence_app, name="silence")
