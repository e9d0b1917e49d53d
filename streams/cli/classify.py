"""`salvo classify` and `salvo eval`: the classifier from the command line, on exactly the streaming code."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from schemas.errors import ValidationError
from schemas.event import Classification

if TYPE_CHECKING:  # the model loads on first use, not when the CLI starts
    from streams.classify import Classifier

_JSONL_FIELDS = ("category", "subtypes", "also", "historical", "confidence", "lang", "evidence")
_JSONL_FACTS = ("drones", "missiles", "killed", "injured", "casualties", "regions")


def _jsonl_line(item_id: object, result: Classification) -> str:
    """One output line of `salvo classify --jsonl`."""
    data = result.model_dump(mode="json")
    out: dict[str, object] = {"id": item_id, **{k: data[k] for k in _JSONL_FIELDS}}
    out["facts"] = {k: data["facts"][k] for k in _JSONL_FACTS}
    return json.dumps(out, ensure_ascii=False)


def classify_command(
    text: Annotated[str | None, typer.Argument(help="The text to classify.")] = None,
    jsonl: Annotated[bool, typer.Option("--jsonl", help='Read {"id","text"[,"lang"]} lines on stdin.')]
    = False,
    lang: Annotated[str | None, typer.Option(help="en, uk, ru or other; detected when omitted.")] = None,
) -> None:
    """Classify TEXT and print the full result as JSON, or classify JSON lines from stdin (--jsonl)."""
    classifier = _classifier()
    if not jsonl:
        if text is None:
            raise typer.BadParameter("give TEXT or --jsonl")
        typer.echo(classifier.classify(text, lang=lang).model_dump_json(indent=2))
        return
    for number, line in enumerate(sys.stdin, 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            body = item["text"]
        except (ValueError, KeyError, TypeError) as exc:
            raise ValidationError(f"stdin line {number}: expected JSON with a text field: {exc}") from exc
        typer.echo(_jsonl_line(item.get("id"), classifier.classify(str(body), lang=item.get("lang") or lang)))


def eval_command(
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False,
                                         help="Labelled JSONL (dev.jsonl format).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Per-class precision/recall/F1, macro-F1 per language, confusion matrix and count accuracy for PATH.

    Languages are detected, not read from the labels, as for a feed that does not state one. Scoring the
    labelled data the committed model was trained on is optimistic: the README has cross-validated
    figures.
    """
    from streams.classify.evaluate import evaluate, format_report, load_labelled, report_dict

    rows = load_labelled(path)
    classifier = _classifier()
    report = evaluate(rows, (classifier.classify(str(r["text"])) for r in rows))
    if as_json:
        typer.echo(json.dumps(report_dict(report), indent=2))
    else:
        typer.echo(format_report(report, title=f"salvo eval {path} ({classifier.mode} mode)"))


def _classifier() -> Classifier:
    """The classifier in the configured mode (`SALVO_CLASSIFIER`), or exit 2 saying what accurate mode needs."""
    from streams.classify import EncoderMissing, default_classifier

    try:
        return default_classifier()
    except (EncoderMissing, ValueError) as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from None


def register(app: typer.Typer) -> None:
    """Add `classify` and `eval` to the root app."""
    app.command("classify")(classify_command)
    app.command("eval")(eval_command)
