"""Reading counts out of text: digits, English / Ukrainian / Russian number words, and their qualifiers.

A count is only ever read from a token that is a number on its own: a digit run glued to letters
(Kh-101, S-300, Shahed-136, 16-year-old, 82-mm) is never a count, nor is a dotted date (02.01.2023).
"""

from __future__ import annotations

import re

from streams.classify.wordindex import PrefixIndex

# Units (0-9), teens, tens and hundreds, as stems that inflected forms start with. The suffix after a stem
# must be short (see `_MAX_SUFFIX`) so that "сім'я" or "тривога" never read as 7 or 3.
_UNITS: dict[str, int] = {
    # English
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
    "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16,
    "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50,
    "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90,
    # Ukrainian
    "один": 1, "одна": 1, "одну": 1, "одне": 1, "одного": 1, "одній": 1, "одним": 1, "одною": 1,
    "два": 2, "дві": 2, "двох": 2, "двома": 2, "двом": 2, "двоє": 2, "двоїх": 2,
    "три": 3, "трьох": 3, "трьома": 3, "трьом": 3, "троє": 3, "трьоє": 3,
    "чотири": 4, "чотирьох": 4, "чотирьома": 4, "четверо": 4,
    "п'ять": 5, "п'яти": 5, "п'ятьма": 5, "п'ятеро": 5, "шість": 6, "шести": 6, "шістьма": 6, "шестеро": 6,
    "сім": 7, "семи": 7, "сімома": 7, "сьома": 7, "семеро": 7, "вісім": 8, "восьми": 8, "вісьмома": 8,
    "восьмеро": 8, "дев'ять": 9, "дев'яти": 9, "дев'ятьма": 9, "дев'ятеро": 9,
    "десять": 10, "десяти": 10, "десятьма": 10, "десятеро": 10,
    "одинадцят": 11, "дванадцят": 12, "тринадцят": 13, "чотирнадцят": 14, "п'ятнадцят": 15,
    "шістнадцят": 16, "сімнадцят": 17, "вісімнадцят": 18, "дев'ятнадцят": 19,
    "двадцят": 20, "тридцят": 30, "сорок": 40, "п'ятдесят": 50, "шістдесят": 60, "сімдесят": 70,
    "вісімдесят": 80, "дев'яност": 90, "сто": 100, "ста": 100, "двісті": 200, "двохсот": 200,
    "двомастами": 200, "триста": 300, "трьохсот": 300, "чотириста": 400, "чотирьохсот": 400,
    "п'ятсот": 500, "шістсот": 600, "сімсот": 700, "вісімсот": 800, "дев'ятсот": 900,
    # Russian (forms that differ from Ukrainian)
    "одно": 1, "одной": 1, "две": 2, "двое": 2, "трое": 3, "четыре": 4, "четырех": 4, "четырёх": 4,
    "пять": 5, "пяти": 5, "пятеро": 5, "шесть": 6, "семь": 7, "восемь": 8, "девять": 9, "девяти": 9,
    "одиннадцат": 11, "двенадцат": 12, "тринадцат": 13, "четырнадцат": 14, "пятнадцат": 15,
    "шестнадцат": 16, "семнадцат": 17, "восемнадцат": 18, "девятнадцат": 19,
    "двадцат": 20, "тридцат": 30, "пятьдесят": 50, "шестьдесят": 60, "семьдесят": 70, "восемьдесят": 80,
    "девяност": 90, "двести": 200, "двухсот": 200, "четыреста": 400, "пятьсот": 500,
}
_SCALES: dict[str, int] = {
    "hundred": 100, "thousand": 1000, "тисяч": 1000, "тисяча": 1000, "тисячі": 1000,
    "тис": 1000, "тыс": 1000, "тысяч": 1000, "тысяча": 1000, "тысячи": 1000, "dozen": 12,
}
_STEMS: PrefixIndex[int] = PrefixIndex({k: v for k, v in _UNITS.items() if len(k) >= 4}, max_tail=3)

_APOSTROPHES = str.maketrans({"’": "'", "ʼ": "'", "`": "'", "‘": "'"})

# Qualifiers read on the words just before a number (lower-cased, apostrophes normalised).
_ABOUT = ("nearly", "almost", "about", "around", "approximately", "roughly", "some", "близько", "майже",
          "приблизно", "орієнтовно", "около", "почти", "примерно", "порядка")
_AT_LEAST = ("more than", "over", "at least", "no fewer than", "no less than", "in excess of", "понад",
             "більше", "більш ніж", "щонайменше", "не менше", "не менш ніж", "свыше", "более", "больше",
             "не менее", "минимум", "как минимум", "більше ніж", "больше чем", "більше за")
_AT_MOST = ("up to", "fewer than", "less than", "under", "до", "менше", "менш ніж", "не більше", "не более",
            "менее", "меньше", "не больше")
QUALIFIERS: tuple[tuple[str, str], ...] = tuple(
    (phrase, kind)
    for kind, phrases in (("at_least", _AT_LEAST), ("about", _ABOUT), ("at_most", _AT_MOST))
    for phrase in sorted(phrases, key=len, reverse=True)
)



def word_value(word: str) -> int | None:
    """The value of one number word ("nine", "сімдесятьма", "трьох"), or None.

    Why stems: Ukrainian and Russian inflect numerals in six cases; a stem plus a short ending covers them
    without listing every form.
    """
    w = word.translate(_APOSTROPHES)
    if w in _UNITS:
        return _UNITS[w]
    if w in _SCALES:
        return _SCALES[w]
    value = _STEMS.get(w)
    if value is None and len(w) > 3:
        value = _SCALES.get(w[:-1]) or _SCALES.get(w[:-2])
    return value


def is_scale(word: str) -> bool:
    """True for "hundred", "тисяч" and the like, which multiply what came before."""
    return word in _SCALES or (len(word) > 3 and (word[:-1] in _SCALES or word[:-2] in _SCALES))


def combine(values: list[tuple[int, bool]]) -> int:
    """Fold a run of number words into one value: [(200,F),(70,F),(3,F)] -> 273; [(2,F),(1000,T)] -> 2000."""
    total, current = 0, 0
    for value, scale in values:
        if scale:
            current = max(current, 1) * value
            if value >= 1000:
                total, current = total + current, 0
        else:
            current += value
    return total + current


def digits_value(token: str) -> int | None:
    """A digit token's value: "400" -> 400, "4,000" / "4 000" -> 4000; decimals and dates -> None."""
    if token.isdigit():
        return int(token)
    compact = token.replace(",", "").replace(" ", "").replace("\u00a0", "")
    if compact.isdigit() and all(len(g) == 3 for g in re.split(r"[, \u00a0]", token)[1:]):
        return int(compact)
    return None


def qualifier_before(lowered: str, start: int) -> str | None:
    """The qualifier ("about", "at_least", "at_most") stated in the few characters before `start`."""
    window = lowered[max(0, start - 24):start].translate(_APOSTROPHES).rstrip()
    for phrase, kind in QUALIFIERS:
        if window.endswith(phrase) and (len(window) == len(phrase) or not window[-len(phrase) - 1].isalnum()):
            return kind
    return None
