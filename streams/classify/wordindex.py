"""Fast word lookups shared by the lexicons: one word regex, and a memoised longest-prefix index.

Why: Ukrainian and Russian inflect, so lexicons hold stems; a regex alternation over hundreds of stems
costs milliseconds per text, while a per-word prefix lookup with a memo costs about a microsecond.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Generic, TypeVar

T = TypeVar("T")

WORD = re.compile(r"[^\W_][\w'’ʼ]*(?:-[\w'’ʼ]+)*")
_APOSTROPHES = str.maketrans({"’": "'", "ʼ": "'", "`": "'"})
_CACHE_LIMIT = 100_000


def words(text: str) -> list[tuple[str, int, int]]:
    """The lower-cased words of `text` with their spans (apostrophes normalised to ')."""
    lowered = text.lower().translate(_APOSTROPHES)  # same length: spans stay valid
    return [(m.group(), m.start(), m.end()) for m in WORD.finditer(lowered)]


class PrefixIndex(Generic[T]):
    """Maps a word to the value of the longest key that starts it.

    :param max_tail: at most this many letters may follow the key (None: any), so that a numeral stem
        "сім" does not read "сімейний" as 7.
    """

    def __init__(self, mapping: Mapping[str, T], *, max_tail: int | None = None,
                 exclude: Iterable[str] = ()) -> None:
        self._keys = dict(mapping)
        self._lengths = sorted({len(k) for k in self._keys}, reverse=True)
        self._max_tail = max_tail
        self._exclude = tuple(exclude)
        self._cache: dict[str, T | None] = {}

    def get(self, word: str) -> T | None:
        """The value for `word`, memoised (headline vocabularies repeat)."""
        try:
            return self._cache[word]
        except KeyError:
            pass
        value = None
        if not (self._exclude and word.startswith(self._exclude)):
            for length in self._lengths:
                if length <= len(word) and (self._max_tail is None or len(word) - length <= self._max_tail):
                    found = self._keys.get(word[:length])
                    if found is not None:
                        value = found
                        break
        if len(self._cache) < _CACHE_LIMIT:
            self._cache[word] = value
        return value


class PhraseIndex(Generic[T]):
    """Single-word stems, exact words (a key ending in "$": "met$" is not "metro") and multi-word phrases
    ("shot down", "since the start") over a word list."""

    def __init__(self, entries: Iterable[tuple[str, T]]) -> None:
        single: dict[str, T] = {}
        self._exact: dict[str, T] = {}
        self._phrases: dict[str, list[tuple[tuple[str, ...], T]]] = {}
        for key, value in entries:
            parts = tuple(key.split())
            if len(parts) == 1 and key.endswith("$"):
                self._exact.setdefault(key[:-1], value)
            elif len(parts) == 1:
                single.setdefault(key, value)
            else:
                self._phrases.setdefault(parts[0], []).append((parts, value))
        for options in self._phrases.values():
            options.sort(key=lambda option: -len(option[0]))
        self._single = PrefixIndex(single)

    def find(self, tokens: list[tuple[str, int, int]]) -> list[tuple[T, int, int]]:
        """Every (value, start, end) in `tokens`; a phrase wins over a stem at the same word."""
        out: list[tuple[T, int, int]] = []
        n = len(tokens)
        i = 0
        while i < n:
            word, start, end = tokens[i]
            matched = False
            for parts, value in self._phrases.get(word, ()):
                k = len(parts)
                if i + k <= n and all(tokens[i + j][0].startswith(parts[j]) for j in range(1, k)):
                    out.append((value, start, tokens[i + k - 1][2]))
                    i += k
                    matched = True
                    break
            if matched:
                continue
            value = self._exact.get(word)
            if value is None:
                value = self._single.get(word)
            if value is not None:
                out.append((value, start, end))
            i += 1
        return out
