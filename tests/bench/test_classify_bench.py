"""Throughput of classify + extract on headlines, as a ratio to a dictionary coder timed in the same run.

Why a ratio: absolute timings move with the machine and with whoever else is using it; a keyword
dictionary coder (lower-case, split, look words up, vote) run on the same headlines in the same process
moves with them. The absolute figure is printed too; the issue's target is 5,000 items/s on one core.
Run with `make bench` (or `pytest -m bench tests/bench -o addopts='' -s`).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from streams.classify import Classifier
from streams.classify.classifier import analyse
from streams.classify.encoder import CASCADE_BELOW

DATA = Path(__file__).resolve().parents[2] / "streams" / "classify" / "data" / "dev.jsonl"
_KEYWORDS = {"attack": "attack", "strike": "attack", "drones": "attack", "missiles": "attack",
             "killed": "attack", "shelling": "attack", "talks": "talks", "meeting": "talks",
             "ceasefire": "talks", "said": "statement", "says": "statement", "warns": "statement",
             "condemns": "statement", "обстріл": "attack",
             "атакували": "attack", "переговори": "talks", "заявив": "statement"}
_SPLIT = re.compile(r"\w+")
_ROUNDS = 5


def _headlines() -> list[str]:
    lines = DATA.read_text(encoding="utf-8").splitlines()
    texts = [json.loads(line)["text"] for line in lines if line.strip()]
    return [re.split(r"(?<=[.!?])\s", text, maxsplit=1)[0][:200] for text in texts]


def _dictionary_coder(text: str) -> str:
    votes: dict[str, int] = {}
    for word in _SPLIT.findall(text.lower()):
        category = _KEYWORDS.get(word)
        if category:
            votes[category] = votes.get(category, 0) + 1
    return max(votes, key=votes.__getitem__) if votes else "other"


def _best_rate(fn: Callable[[str], object], items: list[str]) -> float:
    """Items per CPU second (the process's, every thread's: the encoder runs on two), from the fastest of
    several rounds (the least disturbed by other processes); CPU time, not wall time, so a busy machine does
    not read as a slow classifier."""
    best = float("inf")
    for _ in range(_ROUNDS):
        start = time.process_time()
        for item in items:
            fn(item)
        best = min(best, time.process_time() - start)
    return len(items) / best


@pytest.mark.bench
def test_classify_throughput_against_a_dictionary_coder() -> None:
    headlines = _headlines()
    classifier = Classifier()
    for text in headlines:  # warm the per-word memos, as a running worker has
        classifier.classify(text)
    baseline = _best_rate(_dictionary_coder, headlines)
    salvo = _best_rate(classifier.classify, headlines)
    ratio = salvo / baseline
    print(f"\nclassify+extract: {salvo:,.0f} headlines per CPU second (one core); dictionary coder: {baseline:,.0f}/s; "
          f"ratio {ratio:.3f} (n={len(headlines)}, best of {_ROUNDS})")
    # Measured on the reference machine: ratio ~0.029 at ~7,000 headlines/s. A fall below half of that
    # means the hot path has grown (a regex alternation, a per-call allocation).
    assert ratio > 0.014


@pytest.mark.bench
def test_both_modes_on_the_dev_mix() -> None:
    """Items per CPU second of each mode on whole dev texts (the issue's "dev mix"), and how many items the
    accurate mode sent through the encoder. Targets: fast ≥ 5,000 headlines/s/core (above), accurate ≥ 30
    items/s/core here. The dev items trained the fast model, so fewer are unsure than on new items: the
    share sent is printed to read the figure by."""
    texts = [json.loads(line)["text"] for line in DATA.read_text(encoding="utf-8").splitlines() if line.strip()]
    fast = Classifier()
    accurate = Classifier(mode="accurate")
    for text in texts[:50]:
        accurate.classify(text)
    sent = sum(1 for text in texts
               if max(fast.model.score(analyse(text).features).probabilities.values()) < CASCADE_BELOW)
    fast_rate = _best_rate(fast.classify, texts)
    accurate_rate = _best_rate(accurate.classify, texts[:400])
    print(f"\nfast: {fast_rate:,.0f} items per CPU second; accurate: {accurate_rate:,.1f} items per CPU second "
          f"({sent}/{len(texts)} = {sent / len(texts):.0%} of the dev mix through the encoder)")
    assert accurate_rate > 0 and fast_rate > accurate_rate
