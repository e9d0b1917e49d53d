"""Splitting a text into the tokens fact extraction reasons over: words, counts, non-counts, punctuation.

A count token carries its value and qualifier. Digits glued to letters (Kh-101, 16-year-old, 82-mm, 9M79)
and dotted or timed numbers (02.01.2023, 07:00) become NONCOUNT tokens, so they can never be read as a count.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from streams.classify.lexicon import Role, role_of
from streams.classify.numbers import combine, digits_value, is_scale, qualifier_before, word_value


class Kind(Enum):
    """The broad class of a token."""

    WORD = "word"
    COUNT = "count"
    NONCOUNT = "noncount"
    STOP = "stop"  # punctuation that ends a clause
    COMMA = "comma"  # bounds the search for a verb to the left of a count
    SENTENCE = "sentence"  # punctuation that ends a sentence


@dataclass(slots=True)
class Token:
    """One token with its span in the original text; `value` is set on COUNT tokens only."""

    kind: Kind
    text: str
    start: int
    end: int
    role: Role | None = None
    value: int = 0
    qualifier: str | None = None
    low: int | None = None


_LETTERS = r"[^\W\d_]"
_TOKEN = re.compile(
    rf"(?P<weapon>{_LETTERS}+[-‑]?\d(?:[\w/-]|\.(?=\w))*)"  # Kh-101, S-300, Shahed-136/131, Х-59, Tu-95MS
    rf"|(?P<num>\d{{1,3}}(?:,\d{{3}})+(?![\d,])|\d+(?:[.:,]\d+)*)(?P<glued>[-‑]?{_LETTERS}[\w-]*|%)?"
    rf"|(?P<word>{_LETTERS}+(?:['’ʼ`]{_LETTERS}+)*(?:[-‑]{_LETTERS}+)*)"
    r"|(?P<sentence>[.!?…]+|\n\s*\n)"
    r"|(?P<comma>,)"
    r"|(?P<stop>[;:()\[\]«»\"“”—–]|\s-\s|\n\s*[-•*]\s)",
)
_INFO: dict[str, tuple[int | None, Role | None]] = {}  # memo: a word's number value and role
_INFO_LIMIT = 100_000
_RANGE_JOIN = re.compile(r"\s*(?:-|–|to|до|по|or|або|или)\s*$")


def tokenize(text: str) -> list[Token]:
    """The token list of `text`, with runs of number words folded into one COUNT token."""
    tokens: list[Token] = []
    lowered = text.lower()
    for m in _TOKEN.finditer(text):
        group = m.lastgroup
        start, end = m.start(), m.end()
        if group == "word":
            word = m.group("word").lower()
            info = _INFO.get(word)
            if info is None:
                info = (_hyphenated_value(word) if "-" in word else word_value(word), role_of(word))
                if len(_INFO) < _INFO_LIMIT:
                    _INFO[word] = info
            value, role = info
            if value is not None and _fold_number_word(tokens, word, value, start, end, lowered):
                continue
            tokens.append(Token(Kind.WORD, word, start, end, role))
        elif group == "weapon":
            tokens.append(Token(Kind.WORD, m.group("weapon").lower(), start, end))
        elif m.group("num") is not None:
            _add_digits(tokens, m, lowered)
        elif group == "sentence":
            nxt = text[end:end + 2].lstrip()
            if m.group(0) == "." and nxt[:1].islower():
                continue  # an abbreviation ("баліст. ракету"), not a sentence end
            tokens.append(Token(Kind.SENTENCE, m.group(0), start, end))
        elif group == "comma":
            tokens.append(Token(Kind.COMMA, ",", start, end))
        else:
            tokens.append(Token(Kind.STOP, m.group(0).strip() or "-", start, end))
    return tokens


def _add_digits(tokens: list[Token], m: re.Match[str], text: str) -> None:
    """Append a digit token from the lower-cased `text`: a COUNT when it stands alone, else a NONCOUNT;
    "20-30" joins into one range."""
    raw, glued = m.group("num"), m.group("glued")
    value = digits_value(raw)
    start, end = m.start(), m.end()
    if glued and any(c.isdigit() for c in glued):
        tokens.append(Token(Kind.WORD, m.group(0).lower(), start, end))  # a model code: 9M79-1
        return
    if value is None or glued or text[start - 1:start] in ("$", "€", "£", "₴", "#", "№"):
        tokens.append(Token(Kind.NONCOUNT, m.group(0).lower(), start, end))
        return
    prev = tokens[-1] if tokens else None
    if prev is not None and prev.kind is Kind.COUNT and _RANGE_JOIN.fullmatch(text[prev.end:start]):
        prev.low, prev.value, prev.qualifier, prev.end = prev.value, value, "range", end
        return
    tokens.append(Token(Kind.COUNT, raw, start, end, value=value, qualifier=qualifier_before(text, start)))


def _hyphenated_value(word: str) -> int | None:
    """"seventy-three" -> 73; None when any part is not a number word ("two-day" is a duration)."""
    values = [word_value(part) for part in word.split("-")]
    if any(v is None or v >= 100 for v in values):
        return None
    return sum(v for v in values if v is not None)


def _fold_number_word(tokens: list[Token], word: str, value: int, start: int, end: int, text: str) -> bool:
    """Fold a number word into the COUNT token before it ("двомастами сімдесятьма трьома") or start one.

    Returns False for a lone scale word ("thousands", "тисячі"): a vague amount is not a count.
    Hyphenated words like "two-day" are NONCOUNT: a duration, not a number of things.
    """
    scale = is_scale(word)
    prev = tokens[-1] if tokens else None
    if prev is not None and prev.kind is Kind.COUNT and text[prev.end:start].strip() == "":
        parts = [(prev.value, False), (value, scale)] if prev.qualifier != "range" else None
        if parts is not None and (scale or (prev.value >= 20 and prev.value % 10 == 0 and value < 10)
                                  or (prev.value >= 100 and prev.value % 100 == 0 and value < 100)):
            prev.value = combine(parts) if scale else prev.value + value
            prev.end = end
            return True
    if scale:
        return False
    tokens.append(Token(Kind.COUNT, word, start, end, value=value, qualifier=qualifier_before(text, start)))
    return True
