"""Salvo's classifier: category, sub-types, facts and evidence for a conflict-news text (pure Python).

No faust / kafka import here: the streaming agent, `salvo classify` and `salvo eval` call the same code.
"""

from __future__ import annotations

from functools import lru_cache

from schemas.event import Classification
from streams.classify.classifier import Classifier
from streams.classify.lang import detect_language
from streams.classify.regions import REGIONS, normalise_region

__all__ = ["REGIONS", "Classifier", "classify", "default_classifier", "detect_language", "normalise_region"]


@lru_cache(maxsize=1)
def default_classifier() -> Classifier:
    """The process-wide classifier over the committed model, loaded on first use."""
    return Classifier()


def classify(text: str, *, lang: str | None = None) -> Classification:
    """Classify one text with the committed model. :param lang: the feed's language, if it states one."""
    return default_classifier().classify(text, lang=lang)
