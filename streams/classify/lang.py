"""Language detection for feeds that do not say: English, Ukrainian, Russian or other, from letters alone.

Why letters and not a model: the three languages separate on script and on a handful of letters
(і ї є ґ are Ukrainian only; ы э ъ ё are Russian only), which is exact and costs one pass over the text.
"""

from __future__ import annotations

import re

_UK_ONLY = frozenset("іїєґ")
_RU_ONLY = frozenset("ыэъё")
_UK_WORDS = re.compile(r"(?<!\w)(?:що|та|від|який|яка|які|це|як|його|її|для|після|під час|вже)(?!\w)")
_RU_WORDS = re.compile(r"(?<!\w)(?:что|это|как|от|который|которая|его|для|после|уже|и|в)(?!\w)")
_CYRILLIC = re.compile(r"[а-яіїєґё]")
_LATIN = re.compile(r"[a-z]")
_FOREIGN = re.compile(r"[ąęłńśźżčřěůäöüßàèéìòùçñãõ]")


def detect_language(text: str) -> str:
    """"en", "uk", "ru" or "other" for `text`.

    Cyrillic decides between Ukrainian and Russian by their own letters, then by frequent function
    words; Latin script is English unless letters of other Latin alphabets are frequent.
    """
    lowered = text.lower()
    cyrillic = len(_CYRILLIC.findall(lowered))
    latin = len(_LATIN.findall(lowered))
    if cyrillic > latin:
        uk = sum(lowered.count(ch) for ch in _UK_ONLY)
        ru = sum(lowered.count(ch) for ch in _RU_ONLY)
        if uk != ru:
            return "uk" if uk > ru else "ru"
        uk_words, ru_words = len(_UK_WORDS.findall(lowered)), len(_RU_WORDS.findall(lowered))
        if uk_words != ru_words:
            return "ru" if ru_words > uk_words else "uk"
        return "uk" if uk else "ru"  # Ukrainian prose without і, ї, є or ґ is rare
    if latin == 0:
        return "other"
    foreign = len(_FOREIGN.findall(lowered))
    return "other" if foreign * 20 > latin else "en"
