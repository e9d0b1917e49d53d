"""The linear category model: features of a text, and a pure-Python scorer over weights read from JSON.

Why this shape: a multinomial logistic regression over sparse binary features is explainable (each
feature's weight is its vote, so the top votes are the evidence) and scores a headline in microseconds
without numpy or scikit-learn on the hot path. `streams.classify.train` fits it and writes the JSON.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

from schemas.errors import ValidationError

CATEGORIES: tuple[str, ...] = ("attack", "talks", "statement", "other")
MODEL_PATH = Path(__file__).parent / "data" / "model.json"
MODEL_VERSION = 1

_STEM = 5

Feature = tuple[str, int, int]  # name, start, end (the span that fired it; -1 when it has none)


def word_features(tokens: list[tuple[str, int, int]]) -> list[Feature]:
    """Word and word-pair features.

    Cyrillic words are cut to their first 5 letters, a crude stemmer that folds Ukrainian and Russian case
    endings ("обстріл", "обстрілу", "обстрілів" -> "обстр"); 5 did better than 6 or 7 in cross-validation.
    Word pairs are English only: they helped English and hurt the smaller Ukrainian set.
    """
    out: list[Feature] = []
    prev = ""
    for word, start, end in tokens:
        if word[0].isdigit():
            continue
        stem = word[:-1] if word.isascii() and len(word) > 3 and word.endswith("s") else word
        if not word.isascii():
            stem = word[:_STEM]
        out.append(("w:" + stem, start, end))
        if prev and stem.isascii():
            out.append((f"b:{prev}_{stem}", start, end))
        prev = stem if stem.isascii() else ""
    return out


@dataclass(frozen=True, slots=True)
class Scored:
    """The model's verdict: probabilities per category and the features that voted, with their weights."""

    probabilities: dict[str, float]
    votes: list[tuple[Feature, tuple[float, ...]]]


class LinearModel:
    """Weights per feature and category; `score` sums the weights of the features present."""

    def __init__(self, *, classes: tuple[str, ...], bias: tuple[float, ...],
                 weights: dict[str, tuple[float, ...]]) -> None:
        self.classes = classes
        self.bias = bias
        self.weights = weights

    @classmethod
    def load(cls, path: Path = MODEL_PATH) -> LinearModel:
        """Read a model written by `to_json`; a wrong version or shape is a ValidationError naming the
        file: rebuild it with `python -m streams.classify.train`."""
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ValidationError(f"read classifier model {path}: {exc}") from exc
        if raw.get("version") != MODEL_VERSION or tuple(raw.get("classes", ())) != CATEGORIES:
            raise ValidationError(
                f"classifier model {path}: expected version {MODEL_VERSION} over {CATEGORIES}")
        return cls(classes=CATEGORIES, bias=tuple(raw["bias"]),
                   weights={k: tuple(v) for k, v in raw["weights"].items()})

    def to_json(self, *, meta: dict[str, object]) -> str:
        """The model as compact JSON, weights rounded to 4 decimals (plenty for a sum of ~50 terms)."""
        return json.dumps({
            "version": MODEL_VERSION, "classes": list(self.classes), "meta": meta,
            "bias": [round(b, 4) for b in self.bias],
            "weights": {k: [round(x, 4) for x in v] for k, v in sorted(self.weights.items())},
        }, ensure_ascii=False, separators=(",", ":"))

    def score(self, features: list[Feature]) -> Scored:
        """Sum the weights of each distinct feature present, then softmax."""
        get = self.weights.get
        votes = list({f[0]: (f, w) for f in reversed(features) if (w := get(f[0])) is not None}.values())
        totals = list(self.bias)
        if votes:
            columns = zip(*(w for _, w in votes), strict=True)
            totals = [b + sum(column) for b, column in zip(totals, columns, strict=True)]
        top = max(totals)
        exps = [math.exp(t - top) for t in totals]
        norm = sum(exps)
        return Scored({c: e / norm for c, e in zip(self.classes, exps, strict=True)}, votes)
