"""Salvo's classifier: category, sub-types, facts and evidence for a conflict-news text (pure Python).

No faust / kafka import here: the streaming agent, `salvo classify` and `salvo eval` call the same code.
"""

from __future__ import annotations

import os
from functools import lru_cache

from schemas.event import Classification
from streams.classify.classifier import Classifier
from streams.classify.encoder import EncoderMissing, Mode
from streams.classify.lang import detect_language
from streams.classify.regions import REGIONS, normalise_region

__all__ = ["REGIONS", "Classifier", "EncoderMissing", "classify", "configured_mode", "default_classifier",
           "detect_language", "normalise_region"]


def configured_mode() -> Mode:
    """The mode `SALVO_CLASSIFIER` asks for (`fast`, the default, or `accurate`), as the worker reads it too."""
    mode = os.environ.get("SALVO_CLASSIFIER", "fast").strip().lower() or "fast"
    if mode not in ("fast", "accurate"):
        raise ValueError(f"SALVO_CLASSIFIER={mode!r}: use fast or accurate")
    return mode  # type: ignore[return-value]


@lru_cache(maxsize=1)
def default_classifier() -> Classifier:
    """The process-wide classifier over the committed model in the configured mode, loaded on first use."""
    return Classifier(mode=configured_mode())


def classify(text: str, *, lang: str | None = None) -> Classification:
    """Classify one text with the committed model. :param lang: the feed's language, if it states one."""
    return default_classifier().classify(text, lang=lang)
