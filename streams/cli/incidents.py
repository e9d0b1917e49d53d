"""`salvo incidents` and `salvo ack`: what is going on, and taking an incident so it stops paging."""

from __future__ import annotations

from typing import Annotated

import typer

from streams.cli.apiclient import ApiClient, ApiToken, ApiUrl, show


def incidents(
    active: Annotated[bool, typer.Option("--active", help="Only incidents not resolved yet.")] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    api_url: ApiUrl = None, api_token: ApiToken = None,
) -> None:  # fmt: skip
    """List incidents, newest first: each alert's latest version, and who acknowledged it."""
    rows = ApiClient(api_url, api_token).call("GET", "/api/incidents", params={"active": str(active).lower()})
    show(
        rows,
        as_json=as_json,
        title=f"{len(rows)} {'active ' if active else ''}incidents",
        columns=("id", "severity", "status", "since", "title", "regions", "acknowledged"),
        rows=[
            [r["id"], r["severity"], f"{r['status']} v{r['version']}" + (f" (replay {r['replay']})" if r["replay"]
             else ""), r["starts_at"], r["title"], ", ".join(r["regions"]),
             f"{r['acknowledged']['by']}: {r['acknowledged']['comment']}" if r["acknowledged"] else ""]
            for r in rows
        ],
    )  # fmt: skip


def ack(
    incident: Annotated[str, typer.Argument(help="The incident (alert) id, from `salvo incidents`.")],
    comment: Annotated[str, typer.Option(help="Why, or who is on it: shown in the delivery log.")] = "",
    by: Annotated[str, typer.Option("--by", help="Who acknowledges.")] = "salvo",
    api_url: ApiUrl = None, api_token: ApiToken = None,
) -> None:  # fmt: skip
    """Acknowledge an incident: its later versions (repeats, escalations) are held for every subscriber and
    logged as `acknowledged`; its resolved version still goes to those who ask for resolved versions."""
    body = {"comment": comment, "by": by}
    done = ApiClient(api_url, api_token).call("POST", f"/api/incidents/{incident}/ack", body=body)
    typer.echo(f"acknowledged {done['incident']} at v{done['version']}; later versions are held")


def register(app: typer.Typer) -> None:
    """Add `incidents` and `ack` to the root app."""
    app.command("incidents")(incidents)
    app.command("ack")(ack)
