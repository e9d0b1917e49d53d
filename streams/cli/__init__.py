"""The `salvo` command: one typer app whose sub-commands live in one module per area."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="salvo",
    help="Real-time alerts for conflict news on Kafka.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _register() -> None:
    """The explicit table of sub-command modules: each adds its commands to `app`, once per process (tests
    call this before each invocation; a second call would register every command again)."""
    if app.registered_commands:
        return
    # cli-registry: one import and one `register(app)` per area, in this order.
    from streams.cli import classify, connect, core, deliveries, incidents, replay, rules, silence, subscribe

    core.register(app)
    classify.register(app)
    rules.register(app)
    subscribe.register(app)
    silence.register(app)
    incidents.register(app)
    deliveries.register(app)
    replay.register(app)
    connect.register(app)


def main() -> None:
    """Console-script entry point."""
    _register()
    app()
