"""Scoring predictions against labelled items: per-class P/R/F1, macro-F1 per language, confusion, counts.

Labelled items follow ../shared/data/labeled/dev.jsonl (`id, lang, text, label, also, historical,
drones, missiles, killed, injured, casualties`). A count is "exact" when the label has a number and the
prediction equals it, and "not invented" when the label has none and neither does the prediction.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from schemas.errors import ValidationError
from schemas.event import Classification
from streams.classify.model import CATEGORIES

COUNTED = ("drones", "missiles", "killed", "injured", "casualties")
_REQUIRED = ("text", "label")


@dataclass
class ClassScore:
    """Precision, recall and F1 of one category, with its number of labelled items."""

    precision: float
    recall: float
    f1: float
    support: int


@dataclass
class CountScore:
    """How one fact's counts compare: exact on labelled-with-a-number items, none invented on the rest."""

    exact: int = 0
    labelled: int = 0
    not_invented: int = 0
    unlabelled: int = 0

    @property
    def exact_rate(self) -> float:
        return self.exact / self.labelled if self.labelled else 1.0

    @property
    def not_invented_rate(self) -> float:
        return self.not_invented / self.unlabelled if self.unlabelled else 1.0


@dataclass
class Report:
    """The whole evaluation; `format_report` prints it, `asdict` serialises it."""

    items: int
    accuracy: float
    macro_f1: float
    per_class: dict[str, ClassScore]
    macro_f1_by_lang: dict[str, float]
    items_by_lang: dict[str, int]
    confusion: dict[str, dict[str, int]]
    counts: dict[str, CountScore] = field(default_factory=dict)
    historical_f1: float = 0.0


def load_labelled(path: Path) -> list[dict[str, object]]:
    """Read a labelled JSONL file; a line without text or label is a ValidationError naming the line."""
    rows = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except ValueError as exc:
                raise ValidationError(f"{path}:{number}: not JSON: {exc}") from exc
            if any(key not in row for key in _REQUIRED) or row["label"] not in CATEGORIES:
                raise ValidationError(f"{path}:{number}: needs text and a label in {CATEGORIES}")
            rows.append(row)
    return rows


def load_unlabelled(path: Path) -> list[dict[str, object]]:
    """Texts without labels (`{"id", "source", "text", "lang"}` per line), for distillation."""
    out = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            row = json.loads(line)
            if not isinstance(row, dict) or not isinstance(row.get("text"), str):
                raise ValueError(f"{path}:{number}: expected an object with a text")
            out.append(row)
    return out


def _f1(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    return precision, recall, (2 * precision * recall / (precision + recall) if precision + recall else 0.0)


def _per_class(pairs: list[tuple[str, str]]) -> dict[str, ClassScore]:
    """Scores for every category seen in gold or predictions (sklearn's default for macro averaging)."""
    present = [c for c in CATEGORIES if any(c in pair for pair in pairs)]
    out = {}
    for c in present:
        tp = sum(g == c and p == c for g, p in pairs)
        fp = sum(g != c and p == c for g, p in pairs)
        fn = sum(g == c and p != c for g, p in pairs)
        out[c] = ClassScore(*_f1(tp, fp, fn), support=sum(g == c for g, _ in pairs))
    return out


def _macro(scores: dict[str, ClassScore]) -> float:
    return sum(s.f1 for s in scores.values()) / len(scores) if scores else 0.0


def evaluate(rows: list[dict[str, object]], predictions: Iterable[Classification]) -> Report:
    """Compare `predictions` (in the order of `rows`) with the labels."""
    preds = list(predictions)
    pairs = [(str(r["label"]), p.category) for r, p in zip(rows, preds, strict=True)]
    per_class = _per_class(pairs)
    langs = sorted({str(r.get("lang", "other")) for r in rows})
    by_lang = {lang: [pair for r, pair in zip(rows, pairs, strict=True) if r.get("lang") == lang]
               for lang in langs}
    if "uk" in by_lang and "ru" in by_lang:  # the target is on Ukrainian and Russian together
        by_lang["uk+ru"] = by_lang["uk"] + by_lang["ru"]
    confusion = {g: {p: sum(pair == (g, p) for pair in pairs) for p in CATEGORIES} for g in CATEGORIES}
    counts = {fact: CountScore() for fact in COUNTED}
    for row, pred in zip(rows, preds, strict=True):
        for fact in COUNTED:
            want, got, score = row.get(fact), getattr(pred.facts, fact), counts[fact]
            if want is None:
                score.unlabelled += 1
                score.not_invented += got is None
            else:
                score.labelled += 1
                score.exact += got == want
    hist = [(bool(r.get("historical")), p.historical) for r, p in zip(rows, preds, strict=True)]
    return Report(
        items=len(rows), accuracy=sum(g == p for g, p in pairs) / len(pairs) if pairs else 0.0,
        macro_f1=_macro(per_class), per_class=per_class,
        macro_f1_by_lang={lang: _macro(_per_class(p)) for lang, p in by_lang.items()},
        items_by_lang={lang: len(p) for lang, p in by_lang.items()}, confusion=confusion, counts=counts,
        historical_f1=_f1(sum(g and p for g, p in hist), sum(p and not g for g, p in hist),
                          sum(g and not p for g, p in hist))[2],
    )


def format_report(report: Report, *, title: str = "") -> str:
    """A plain-text report: the tables `salvo eval` prints."""
    lines = [title] if title else []
    lines.append(f"items {report.items}  accuracy {report.accuracy:.3f}  macro-F1 {report.macro_f1:.3f}")
    lines.append(f"{'class':<10} {'prec':>6} {'rec':>6} {'f1':>6} {'n':>5}")
    for c, s in report.per_class.items():
        lines.append(f"{c:<10} {s.precision:6.3f} {s.recall:6.3f} {s.f1:6.3f} {s.support:5d}")
    lines.append("macro-F1 by language: " + "  ".join(
        f"{lang} {f1:.3f} (n={report.items_by_lang[lang]})" for lang, f1 in report.macro_f1_by_lang.items()))
    lines.append("confusion (rows gold, columns predicted):")
    lines.append(" " * 10 + "".join(f"{c:>10}" for c in CATEGORIES))
    for g in CATEGORIES:
        lines.append(f"{g:<10}" + "".join(f"{report.confusion[g][p]:>10d}" for p in CATEGORIES))
    lines.append("counts: exact where labelled / none invented where unlabelled")
    for fact, s in report.counts.items():
        lines.append(f"{fact:<11} exact {s.exact}/{s.labelled} = {s.exact_rate:.3f}   "
                     f"not invented {s.not_invented}/{s.unlabelled} = {s.not_invented_rate:.3f}")
    lines.append(f"historical F1 {report.historical_f1:.3f}")
    return "\n".join(lines)


def report_dict(report: Report) -> dict[str, object]:
    """The report as plain data, for `salvo eval --json`."""
    return asdict(report)
