"""The CLI's client of the worker's HTTP API (`alerts/api.py`): base URL, token and error reporting."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from typing import Annotated, Any

import httpx
import typer
from rich.console import Console
from rich.table import Table

ApiUrl = Annotated[
    str | None,
    typer.Option("--api-url", help="Worker API base URL [env SALVO_API_URL, default http://127.0.0.1:6066]"),
]
ApiToken = Annotated[str | None, typer.Option("--api-token", help="Bearer token [env SALVO_API_TOKEN]")]


class ApiClient:
    """A thin synchronous client; every failure becomes a readable message and exit code 1."""

    def __init__(self, url: str | None = None, token: str | None = None) -> None:
        self.url = (url or os.environ.get("SALVO_API_URL") or "http://127.0.0.1:6066").rstrip("/")
        self._token = token or os.environ.get("SALVO_API_TOKEN") or ""

    def call(self, method: str, path: str, *, body: Any = None, params: dict[str, str] | None = None) -> Any:
        """Send one request and return the decoded JSON (None for 204)."""
        headers = {"Authorization": f"Bearer {self._token}"}
        try:
            response = httpx.request(method, f"{self.url}{path}", json=body, params=params, headers=headers,
                                     timeout=30.0)  # fmt: skip
        except httpx.HTTPError as error:
            typer.echo(f"cannot reach the Salvo API at {self.url} ({type(error).__name__}): "
                       "is `salvo worker` "
                       "running, and SALVO_API_URL right?", err=True)  # fmt: skip
            raise typer.Exit(1) from None
        if response.status_code == 204:
            return None
        try:
            data = response.json()
        except ValueError:
            data = {"error": response.text[:500]}
        if response.status_code >= 400:
            typer.echo(f"error: {data.get('error', response.status_code)}", err=True)
            for detail in data.get("details", []):
                typer.echo(f"  {detail}", err=True)
            raise typer.Exit(1)
        return data


def show(data: Any, *, as_json: bool, title: str, columns: Sequence[str], rows: list[Sequence[str]]) -> None:
    """Print `data` as JSON, or `rows` as a table (the one output convention of the API commands)."""
    if as_json:
        typer.echo(json.dumps(data, indent=2))
        return
    table = Table(title=title)
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*row)
    Console().print(table)
