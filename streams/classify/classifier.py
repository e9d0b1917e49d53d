"""The classifier: one text in, a `Classification` out (category, sub-types, facts, evidence).

`Classifier` loads the model once; `analyse` is the shared feature pipeline, so training, `salvo eval`,
`salvo classify` and the streaming agent all run exactly the same code.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from schemas.event import Classification, Evidence, Facts
from streams.classify.cues import CATEGORY_OF, SUBTYPES, find_cues
from streams.classify.facts import extract
from streams.classify.lang import detect_language
from streams.classify.model import MODEL_PATH, Feature, LinearModel, word_features
from streams.classify.wordindex import words

_LANGS = frozenset({"en", "uk", "ru", "other"})
_FACT_FIELDS = ("drones", "missiles", "killed", "injured", "casualties", "destroyed", "regions_count")
_QUOTES = ("“", "‘", "«", '"', "„")
_ALSO_MIN_PROBABILITY = 0.2
_TOTAL_SCALE, _CHILDREN_TOTAL, _RUNNING_TOTAL = 1000, 100, 100
_RULE_CONFIDENCE = 0.8  # a guideline rule decided, not the model
_MODEL_VOTES = 3
_CUE_EVIDENCE = 6


@dataclass(frozen=True, slots=True)
class Analysis:
    """Everything read from a text before the model scores it."""

    lang: str
    facts: Facts
    fact_evidence: list[Evidence]
    cues: list[tuple[str, int, int]]
    features: list[Feature]


def analyse(text: str, *, lang: str | None = None) -> Analysis:
    """Facts, cues and model features of `text`; `lang` is detected when not given or not one we know."""
    language = lang if lang in _LANGS else detect_language(text)
    tokens = words(text)
    facts, fact_evidence = extract(text, words=tokens)
    cues = find_cues(tokens)
    features = word_features(tokens)
    features.extend(("c:" + name, start, end) for name, start, end in cues)
    features.extend((f"f:{name}", -1, -1) for name in _FACT_FIELDS if getattr(facts, name) is not None)
    features.append(("l:" + language, -1, -1))
    if any(mark in text for mark in _QUOTES):
        features.append(("p:quote", -1, -1))  # a quotation makes the speech act likely the news
    return Analysis(language, facts, fact_evidence, cues, features)


class Classifier:
    """Classifies texts with one loaded model; create once per process and share."""

    def __init__(self, model: LinearModel | None = None, *, model_path: Path = MODEL_PATH) -> None:
        """:param model: an in-memory model (training, cross-validation); default reads `model_path`."""
        self.model = model if model is not None else LinearModel.load(model_path)

    def classify(self, text: str, *, lang: str | None = None) -> Classification:
        """The full verdict on `text`. :param lang: the feed's language if it states one, else detected."""
        analysis = analyse(text, lang=lang)
        scored = self.model.score(analysis.features)
        probabilities = scored.probabilities
        category = max(probabilities, key=probabilities.__getitem__)
        confidence = probabilities[category]
        cue_names = {name for name, _, _ in analysis.cues}
        ruled = _guideline_rule(category, analysis, cue_names)
        if ruled is not None:
            category, confidence = ruled, max(confidence, _RULE_CONFIDENCE)
        cue_categories = {CATEGORY_OF[name] for name in cue_names}
        also = [c for c, p in probabilities.items()
                if c != category and p >= _ALSO_MIN_PROBABILITY and c in cue_categories]
        evidence = list(analysis.fact_evidence)
        evidence.extend(_cue_evidence(text, analysis.cues, category))
        evidence.extend(_model_evidence(text, scored.votes, self.model.classes.index(category), category))
        return Classification(
            category=category,  # type: ignore[arg-type]
            subtypes=_subtypes(category, analysis, cue_names),
            also=also,  # type: ignore[arg-type]
            historical=_historical(analysis, cue_names),
            confidence=round(confidence, 4),
            lang=analysis.lang,  # type: ignore[arg-type]
            evidence=evidence[:64],
            facts=analysis.facts,
        )


def _guideline_rule(category: str, analysis: Analysis, cue_names: set[str]) -> str | None:
    """The guidelines' explicit rules, which the model sees too rarely to learn: a negated attack ("no
    strikes overnight") is other, and a threatened or future attack ("threatens to strike") is a statement,
    unless the text also reports counts of a real strike."""
    facts = analysis.facts
    if any(getattr(facts, name) for name in ("drones", "missiles", "killed", "injured", "casualties")):
        return None
    if "negated_attack" in cue_names and category != "other":
        return "other"
    if "future_attack" in cue_names and category == "attack":
        return "statement"
    return None


def _subtypes(category: str, analysis: Analysis, cue_names: set[str]) -> list[str]:
    """Sub-types of the chosen category, in the order the text names them."""
    allowed = SUBTYPES[category]
    found = list(dict.fromkeys(name for name, _, _ in analysis.cues if name in allowed))
    facts = analysis.facts
    if category == "attack":
        if facts.drones is not None and "drone_strike" not in found:
            found.append("drone_strike")
        if facts.missiles is not None and "missile_strike" not in found:
            found.append("missile_strike")
        if "drone_strike" in found and "missile_strike" in found:
            found.append("combined_salvo")
        if facts.destroyed is not None and "interception" not in found:
            found.append("interception")
    elif category == "statement":
        if "future_attack" in cue_names and "threat_warning" not in found:
            found.append("threat_warning")
        if not found:
            found.append("comment")
    return found


def _historical(analysis: Analysis, cue_names: set[str]) -> bool:
    """A retrospective or running total: a strong cue ("since the start"), a running-total cue ("already",
    "so far") with a large count, or a count no single strike reaches (thousands killed, 100+ children)."""
    if "historical" in cue_names:
        return True
    facts = analysis.facts
    largest = max(getattr(facts, name) or 0 for name in ("killed", "injured", "missiles", "casualties"))
    if largest >= _TOTAL_SCALE or (facts.children or 0) >= _CHILDREN_TOTAL:
        return True
    return "historical_total" in cue_names and max(largest, facts.drones or 0) >= _RUNNING_TOTAL


def _cue_evidence(text: str, cues: list[tuple[str, int, int]], category: str) -> list[Evidence]:
    out: list[Evidence] = []
    for name, start, end in cues:
        kind = CATEGORY_OF[name]
        if kind in (category, "historical"):
            label = "historical" if kind == "historical" else (
                "subtype" if name in SUBTYPES.get(kind, ()) else "category")
            out.append(Evidence(kind=label, text=text[start:end], start=start, end=end, rule=f"cue:{name}"))
            if len(out) >= _CUE_EVIDENCE:
                break
    return out


def _model_evidence(text: str, votes: list[tuple[Feature, tuple[float, ...]]], index: int,
                    category: str) -> list[Evidence]:
    """The features that pushed hardest towards the chosen category, as spans of the text."""
    n = len(votes[0][1]) if votes else 1
    ranked = sorted(votes, key=lambda v: v[1][index] - sum(v[1]) / n, reverse=True)[:_MODEL_VOTES]
    out = []
    for (name, start, end), weights in ranked:
        if start < 0 or weights[index] - sum(weights) / n <= 0:
            continue
        out.append(Evidence(kind="model", text=text[start:end], start=start, end=end,
                            rule=f"{name} +{weights[index] - sum(weights) / n:.2f} {category}"))
    return out
