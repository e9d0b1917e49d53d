"""Every command the README and docs/ show is one the CLI has, with options it takes, every path they name exists
in a fresh clone (or under `$SALVO_DATA`, the team's real data), and every link between the pages resolves.

Why: a newcomer follows the README in order, and a renamed option or a path that exists only in one
directory layout (`../shared/data/...` worked from one checkout only) stops them at the first step. Every
command is parsed by the real CLI (click's own parser); the ones that need no broker run as shown; the rest
run in the end-to-end tests (`tests/e2e/test_subscribers.py` follows "Try it", `tests/e2e/test_demo.py` the
demo, `tests/e2e/test_replay.py` the replay, `tests/streams/cli` the API commands).
"""

from __future__ import annotations

import os
import re
import shlex
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from streams.cli import _register, app

REPO = Path(__file__).resolve().parents[1]
PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]  # the README and the reference it links
README = "\n".join(page.read_text(encoding="utf-8") for page in PAGES)
_LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")
_BLOCK = re.compile(r"^```[a-z]*\n(.*?)^```", re.S | re.M)
_PROMPT = re.compile(r"^(?:\$ )?(?:time )?(?:\.venv/bin/)?(salvo .*)$")
_PATH = re.compile(r"^(?:\$SALVO_DATA/|[\w.-]+/)[\w./*-]*\.(?:csv|jsonl|json|yaml|tsv)$")


def commands() -> list[str]:
    """The `salvo …` lines of the README's code blocks, without comments, redirections and `&`; synopsis
    lines (with `…` or `[OPTIONS]`) are descriptions, not commands."""
    found = []
    for block in _BLOCK.findall(README):
        for line in block.splitlines():
            match = _PROMPT.match(line.strip())
            if match is None:
                continue
            command = re.split(r"\s+#\s", match.group(1))[0]
            command = re.split(r"\s[>|]\s|\s&$", command)[0].strip()
            if "…" not in command and not re.search(r"\[--?\w", command):
                found.append(command)
    return found


COMMANDS = commands()


def test_the_readme_shows_the_commands_a_newcomer_needs() -> None:
    shown = {shlex.split(c)[1] for c in COMMANDS}
    assert {"broker", "worker", "send", "tail", "backtest", "replay", "subscribe", "silence", "incidents",
            "ack", "deliveries", "classify", "eval"} <= shown, sorted(shown)


def _kinds(error: BaseException) -> set[str]:
    """The names of an error's classes: typer runs on its own copy of click, whose classes are private."""
    return {cls.__name__ for cls in type(error).__mro__}


@pytest.mark.parametrize("command", COMMANDS)
def test_each_readme_command_parses_and_its_paths_exist(command: str) -> None:
    _register()
    group = typer.main.get_command(app)
    args = shlex.split(command)[1:]
    context = group.make_context("salvo", list(args), resilient_parsing=True)
    current = group
    while hasattr(current, "get_command") and args and not args[0].startswith("-"):
        found = current.get_command(context, args[0])
        assert found is not None, f"{command}: no command {args[0]!r} under {current.name!r}"
        current, args = found, args[1:]
    try:
        current.make_context(current.name or "salvo", list(args), parent=context)
    except Exception as error:  # noqa: BLE001 - sorted out by kind below
        kinds = _kinds(error)
        if "UsageError" not in kinds:
            raise
        # a path that does not exist is a bad parameter: only $SALVO_DATA may be absent
        if "NoSuchOption" in kinds or "BadParameter" not in kinds or "$SALVO_DATA" not in command:
            pytest.fail(f"{command}: {error.format_message()}")  # type: ignore[attr-defined]
    for word in shlex.split(command):
        if _PATH.match(word) and not word.startswith("$SALVO_DATA"):
            assert list(REPO.glob(word)), f"{command}: {word} is not in a fresh clone"


@pytest.mark.parametrize("page", PAGES, ids=[page.name for page in PAGES])
def test_every_relative_link_resolves(page: Path) -> None:
    for target in _LINK.findall(page.read_text(encoding="utf-8")):
        if "://" not in target:
            assert (page.parent / target).exists(), f"{page.name}: link to {target} resolves to nothing"


OFFLINE = {"classify", "eval", "backtest", "rules", "schemas", "secrets"}  # commands that need no broker or worker


@pytest.mark.parametrize("command", [c for c in COMMANDS if shlex.split(c)[1] in OFFLINE])
def test_each_offline_readme_command_runs_as_shown(command: str, tmp_path: Path) -> None:
    """The commands that need no broker run here as the README shows them, from the clone's root; the others
    run in the end-to-end tests (`tests/e2e/test_subscribers.py` follows "Try it", `test_demo.py` the demo)."""
    if "$SALVO_DATA" in command:
        data = os.environ.get("SALVO_DATA") or str(REPO.parent / "shared" / "data")
        if not Path(data).is_dir():
            pytest.skip("the team's real data is not beside this checkout")
        command = command.replace("$SALVO_DATA", data)
    _register()
    result = CliRunner().invoke(app, shlex.split(command)[1:], catch_exceptions=False,
                                env={"SALVO_TOPIC_PREFIX": f"readme-{tmp_path.name}."})
    expected = 1 if ".bad." in command else 0  # `rules check` of the bad files shows how errors read
    assert result.exit_code == expected, f"{command}\n{result.output[-2000:]}"
