"""Fact extraction: the counts (drones, missiles, killed, injured, ...) and places a text reports.

How: `tokenize` marks counts and word roles; each count is linked to the nearest noun or verb that says
what it counts, inside its sentence. Per fact, the first sentence that states it wins (headline over
body); weapons listed in that sentence add up ("39 Shahed ... 2 Orlan" -> 41). A bare singular
("a missile hit", "a man died", "вдарила дроном") counts 1 only when no number is stated.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

from schemas.base import MAX_FACT
from schemas.event import Bound, Evidence, Facts
from streams.classify.lexicon import (
    INTRANSITIVE_PREFIXES,
    MISSILE_CLASS_OF,
    NON_WEAPON_HEADS,
    OBJECT_PRONOUNS,
    PASSIVE_AUXILIARIES,
    SINGLE_DETERMINERS,
    SINGLE_VICTIM_VERBS,
    SINGULAR_BY_NAME,
    SINGULAR_PEOPLE,
    SINGULAR_VERBS,
    SINGULAR_WEAPONS,
    Role,
    role_of,
)
from streams.classify.numbers import word_value
from streams.classify.regions import find_regions
from streams.classify.tokens import Kind, Token, tokenize
from streams.classify.wordindex import words as split_words

_WEAPON_FACT = {Role.DRONE: "drones", Role.MISSILE: "missiles"}
_VERB_FACT = {
    Role.KILL: "killed", Role.INJURE: "injured", Role.CASUALTY: "casualties", Role.LOSS: "casualties",
}
_PEOPLE = (Role.PERSON, Role.CHILD)
_NOUNS = frozenset({*_WEAPON_FACT, *_VERB_FACT, *_PEOPLE, Role.REGIONS})
_CLASSES = {Role.BALLISTIC: "ballistic", Role.CRUISE: "cruise", Role.GUIDED: "guided"}
_BARRIERS = frozenset({Kind.COUNT, Kind.NONCOUNT, Kind.STOP, Kind.SENTENCE})
_SKIP_AFTER_COUNT = frozenset({Role.TIME, Role.MONTH, Role.UNIT})
_EN_VICTIM_VERBS = frozenset({"killed", "wounded", "injured", "murdered", "executed", "died"})
_WOUNDS = frozenset({"поранення", "поранень", "ранения", "ранений", "wounds", "injuries"})
_DIGIT = re.compile(r"\d")
_TRIGGERS: dict[str, bool] = {}  # memo of `_may_state_counts` per word
_TRIGGERS_LIMIT = 100_000
_CLAUSE_END = frozenset({Kind.SENTENCE, Kind.COMMA})
_NOUN_WINDOW, _VERB_RIGHT, _VERB_LEFT, _ROLE_LEFT, _ROLE_RIGHT = 5, 8, 16, 40, 5


@dataclass(slots=True)
class _Mention:
    fact: str
    value: int
    sentence: int
    start: int
    end: int
    rule: str
    strong: bool = True
    destroyed: bool = False
    subordinate: bool = False
    missile_class: str | None = None
    child: bool = False
    qualifier: str | None = None
    low: int | None = None
    clause: int = 0  # clauses end at ";" and sentence ends
    total: bool = False


def extract(text: str, *, words: list[tuple[str, int, int]] | None = None) -> tuple[Facts, list[Evidence]]:
    """The facts in `text` and the spans that stated them.

    :param words: `wordindex.words(text)` when the caller has it already (saves a pass).
    """
    words = words if words is not None else split_words(text)
    regions = find_regions(text, words=words)
    if not _may_state_counts(text, words):
        return _aggregate([], text, regions)
    tokens = tokenize(text)
    sentences = _sentence_index(tokens)
    mentions: list[_Mention] = []
    for i, token in enumerate(tokens):
        if token.kind is Kind.COUNT:
            _link_count(tokens, i, sentences[i], text, mentions)
        elif token.kind is Kind.WORD:
            _link_word(tokens, i, sentences[i], mentions)
    # parties' own clauses are set apart by ";" (brackets and dashes add sources and asides: "[Russian MoD
    # reported 135 fatalities]" repeats the count, it is not another party's)
    clauses = [t.start for t in tokens if t.kind is Kind.SENTENCE or t.text == ";"]
    for mention in mentions:
        mention.clause = bisect.bisect(clauses, mention.start)
    return _aggregate(mentions, text, regions)


def _may_state_counts(text: str, words: list[tuple[str, int, int]]) -> bool:
    """A cheap gate before tokenising: a digit, a number word, a bare singular or a negation.

    About half of all headlines have none, and skip the token pass (the hot-path budget is ~150 us).
    """
    if _DIGIT.search(text):
        return True
    for word, _, _ in words:
        trigger = _TRIGGERS.get(word)
        if trigger is None:
            head = word.split("-", 1)[0]
            trigger = (word in SINGULAR_WEAPONS or word in SINGULAR_BY_NAME or word in SINGULAR_PEOPLE
                       or role_of(word) is Role.NEG
                       or word in SINGLE_VICTIM_VERBS or word in _EN_VICTIM_VERBS
                       or word_value(head) is not None)
            if len(_TRIGGERS) < _TRIGGERS_LIMIT:
                _TRIGGERS[word] = trigger
        if trigger:
            return True
    return False


def _sentence_index(tokens: list[Token]) -> list[int]:
    index, current = [], 0
    for token in tokens:
        index.append(current)
        if token.kind is Kind.SENTENCE:
            current += 1
    return index


def _scan(tokens: list[Token], start: int, step: int, limit: int, roles: frozenset[Role] | set[Role],
          barriers: frozenset[Kind] = _BARRIERS) -> int | None:
    """Index of the first token with one of `roles` within `limit` words, stopping at a barrier.

    Commas do not use up the window ("Three people, including two children, were killed").
    """
    j, seen, n = start + step, 0, len(tokens)
    while 0 <= j < n and seen < limit:
        token = tokens[j]
        if token.kind in barriers:
            return None
        if token.role in roles:
            return j
        seen += token.kind is not Kind.COMMA
        j += step
    return None


def _link_count(tokens: list[Token], i: int, sentence: int, text: str, out: list[_Mention]) -> None:
    """Decide what the count at `i` counts, if anything, and record it."""
    count = tokens[i]
    nxt = tokens[i + 1] if i + 1 < len(tokens) else None
    prev = tokens[i - 1] if i else None
    if (nxt is not None and nxt.role in _SKIP_AFTER_COUNT) or (prev is not None and prev.role is Role.MONTH):
        return
    if text[max(0, count.start - 2):count.start] == ", " and text[count.end:count.end + 1] == ",":
        return  # "Brent Renaud, 50, was killed": an age in apposition
    if prev is not None and prev.role is Role.NEG:
        return  # "no one was hurt" is a zero, read by `_link_word`
    j = _scan(tokens, i, 1, _NOUN_WINDOW, _NOUNS, frozenset({Kind.COUNT, Kind.NONCOUNT, Kind.SENTENCE}))
    if j is not None and tokens[j].role in _PEOPLE and text[tokens[j].end:tokens[j].end + 1] in ("'", "’"):
        j = None  # "~10 invaders' vehicles": the people own what is counted
    if j is not None and tokens[j].role in _VERB_FACT and _claimed(tokens, i, j):
        j = None  # "toll climbs to 23, wounded to 41": "wounded" has its own count
    role = tokens[j].role if j is not None else None
    before = _verb_before(tokens, i)
    if before is not None and role in _VERB_FACT:
        j, role = before, tokens[before].role  # "killing at least 6 and wounding 16": the verb before wins
    fact: str | None = None
    total = False  # a death toll: the sum so far, which replaces the counts beside it rather than adds
    end = tokens[j].end if j is not None else count.end
    child = role is Role.CHILD
    if role in _WEAPON_FACT and j is not None:
        if j + 1 < len(tokens) and tokens[j + 1].text in NON_WEAPON_HEADS:
            return  # "6 missile carriers"
        fact = _WEAPON_FACT[role]  # type: ignore[index]
    elif role in _VERB_FACT and j is not None:
        if j == i + 1 and tokens[j].text in _WOUNDS:
            return  # "three wounds" counts wounds, not wounded people

        fact = "casualties" if _either_or(tokens, j) else _VERB_FACT[role]  # type: ignore[index]
    elif role is Role.REGIONS:
        fact = "regions_count"
    elif role in _PEOPLE and j is not None:
        verb = _nearest_verb(tokens, j, i)
        if verb is not None:
            fact = _VERB_FACT.get(tokens[verb].role, "killed")  # type: ignore[arg-type]
            if _either_or(tokens, verb):
                fact = "casualties"  # "killed or injured" does not split them
            end = max(end, tokens[verb].end)
    else:
        left = _transitive(tokens, _scan(tokens, i, -1, 3, set(_VERB_FACT)))
        if left is None and _scan(tokens, i, -1, 15, {Role.TOLL}, frozenset({Kind.SENTENCE})) is not None:
            fact, total = "killed", True
        elif left is not None:
            fact = _VERB_FACT[tokens[left].role]  # type: ignore[index]
        else:
            elided = _elided_weapon(tokens, i, sentence, out)
            if elided is not None:
                out.append(elided)
                return
    if fact is None:
        return
    start = min(count.start, tokens[j].start) if j is not None else count.start
    mention = _Mention(fact, count.value, sentence, start, max(end, count.end), f"count->{fact}", child=child,
                       qualifier=count.qualifier, low=count.low, total=total)
    if role in _PEOPLE and j is not None:
        mention.subordinate = _part_of_total(tokens, i, j)
    if fact in ("drones", "missiles"):
        _weapon_context(tokens, i, j, mention)
    out.append(mention)


def _claimed(tokens: list[Token], count: int, word: int) -> bool:
    """True when the word at `word`, past a comma after the count, takes a count of its own right after it."""
    return (any(t.kind is Kind.COMMA for t in tokens[count + 1:word])
            and any(t.kind is Kind.COUNT for t in tokens[word + 1:word + 3]))


def _verb_before(tokens: list[Token], i: int) -> int | None:
    """The killing or wounding verb just before the count at `i` ("killing at least 6", "поранено 5"),
    over the qualifier words ("at least", "щонайменше") between them, or None."""
    k, skipped = i - 1, 0
    if tokens[i].qualifier is not None:
        while k >= 0 and skipped < 3 and tokens[k].kind is Kind.WORD and tokens[k].role is None:
            k, skipped = k - 1, skipped + 1
    if k < 0 or tokens[k].role not in (Role.KILL, Role.INJURE):
        return None
    return _transitive(tokens, k)


def _part_of_total(tokens: list[Token], count: int, noun: int) -> bool:
    """True for a subgroup of the people a total counts: "two children among at least 21 killed",
    "including three children", "серед них двоє дітей"."""
    after = tokens[noun + 1] if noun + 1 < len(tokens) else None
    return ((after is not None and after.role is Role.SUBORDINATE)
            or _scan(tokens, count, -1, 3, {Role.SUBORDINATE}) is not None)


def _nearest_verb(tokens: list[Token], noun: int, count: int) -> int | None:
    """The verb that says what happened to counted people: the nearer of right-of-noun and left-of-count."""
    verbs = {*_VERB_FACT, Role.DESTROY}
    right = _scan(tokens, noun, 1, _VERB_RIGHT, verbs, frozenset({Kind.SENTENCE}))
    left = _transitive(tokens, _scan(tokens, count, -1, _VERB_LEFT, verbs, _CLAUSE_END))
    if right is not None and tokens[right].role is Role.DESTROY:
        right = None  # "70 soldiers destroyed" is rare; "destroyed 70 soldiers" (left) is the pattern
    if right is not None and _has_own_count(tokens, right):
        right = None  # "14,000 people, injured at least 30,000": that verb has its own count
    if left is None:
        return right
    if right is None:
        return left
    return right if right - noun <= count - left else left


def _has_own_count(tokens: list[Token], verb: int) -> bool:
    """True when a bare count follows `verb` closely ("injured at least 30,000"), unlike "killed and 13
    injured", where the next count has a word of its own."""
    for j in range(verb + 1, min(len(tokens), verb + 4)):
        if tokens[j].kind is not Kind.WORD and tokens[j].kind is not Kind.COUNT:
            return False
        if tokens[j].kind is Kind.COUNT:
            attached = j == verb + 1 or tokens[j].qualifier is not None
            return attached and all(t.role not in _NOUNS for t in tokens[j + 1:j + 3])
    return False


def _either_or(tokens: list[Token], verb: int) -> bool:
    """True for "killed or injured", "killed and wounded", "загинули або поранені": one count for both, a
    total that does not split (casualties, as the guidelines say)."""
    return (verb + 2 < len(tokens) and tokens[verb + 1].text in ("or", "and", "або", "или", "і", "й", "та", "и")
            and tokens[verb + 2].role in (Role.KILL, Role.INJURE)
            and tokens[verb + 2].role is not tokens[verb].role)


def _transitive(tokens: list[Token], j: int | None) -> int | None:
    """`j` if that verb can say what happened to people counted after it ("killed two"), else None.

    English "died" cannot take an object: in "a girl died, two more were injured" it belongs to the girl.
    """
    if j is None or (tokens[j].text.isascii() and tokens[j].text.startswith(INTRANSITIVE_PREFIXES)):
        return None  # Ukrainian and Russian put the verb first freely: "загинуло 382 дитини"
    return j


def _elided_weapon(tokens: list[Token], i: int, sentence: int, out: list[_Mention]) -> _Mention | None:
    """A bare count beside a shoot-down verb, after weapons were counted in the sentence: the same weapons,
    shot down ("атакував 150 БпЛА, збито 120", "launched 150 drones, 120 were shot down")."""
    verb = _scan(tokens, i, -1, 2, {Role.DESTROY}) or _scan(tokens, i, 1, 2, {Role.DESTROY})
    weapons = [m for m in out if m.sentence == sentence and m.fact in ("drones", "missiles") and m.strong]
    if verb is None or not weapons:
        return None
    count = tokens[i]
    lo, hi = min(count.start, tokens[verb].start), max(count.end, tokens[verb].end)
    return _Mention(weapons[-1].fact, count.value, sentence, lo, hi, f"count->{weapons[-1].fact}",
                    destroyed=True, qualifier=count.qualifier, low=count.low)


def _weapon_context(tokens: list[Token], i: int, noun: int | None, mention: _Mention) -> None:
    """Launched or shot down, part of a larger total ("including 60 Shaheds"), and the missile class."""
    destroy = _scan(tokens, i, -1, _ROLE_LEFT, {Role.DESTROY, Role.LAUNCH}, frozenset({Kind.SENTENCE}))
    after = _scan(tokens, i, 1, _ROLE_RIGHT, {Role.DESTROY, Role.LAUNCH}, frozenset({Kind.SENTENCE}))
    if after is not None and _claimed(tokens, i, after):
        after = None  # "150 БпЛА, збито 120": the shoot-down has its own count
    nearest = destroy if after is None or (destroy is not None and i - destroy <= after - i) else after
    mention.destroyed = nearest is not None and tokens[nearest].role is Role.DESTROY
    mention.subordinate = _scan(tokens, i, -1, 3, {Role.SUBORDINATE}) is not None
    if mention.fact == "missiles" and noun is not None:
        mention.missile_class = MISSILE_CLASS_OF.get(tokens[noun].text)
        for token in tokens[i + 1:noun + 1]:
            mention.missile_class = _CLASSES.get(token.role, mention.missile_class)  # type: ignore[arg-type]


def _link_word(tokens: list[Token], i: int, sentence: int, out: list[_Mention]) -> None:
    """Zeros ("no casualties", "не зазнали поранень") and bare singulars ("a missile hit", "a man died")."""
    token = tokens[i]
    if token.role is Role.NEG:
        j = _scan(tokens, i, 1, 3, set(_VERB_FACT) | _NOUNS - {Role.PERSON, Role.CHILD},
                  frozenset({Kind.STOP, Kind.SENTENCE, Kind.NONCOUNT}))
        if j is not None and tokens[j].role in _VERB_FACT:
            fact = _VERB_FACT[tokens[j].role]  # type: ignore[index]
            out.append(_Mention(fact, 0, sentence, token.start, tokens[j].end, "negated->0"))
        return
    prev = tokens[i - 1] if i else None
    if prev is not None and prev.kind is Kind.COUNT:
        return
    if token.role in (Role.KILL, Role.INJURE) and _one_victim(tokens, i):
        fact = _VERB_FACT[token.role]
        out.append(_Mention(fact, 1, sentence, token.start, token.end, "singular", strong=False))
        return
    named = token.text in SINGULAR_BY_NAME and prev is not None and prev.text in SINGLE_DETERMINERS
    if token.text in SINGULAR_WEAPONS or named:
        nxt = tokens[i + 1] if i + 1 < len(tokens) else None
        modifier = nxt is not None and (nxt.role is Role.ATTRIB or nxt.text in NON_WEAPON_HEADS)
        if not modifier:
            fact = _WEAPON_FACT[token.role]  # type: ignore[index]
            out.append(_Mention(fact, 1, sentence, token.start, token.end, "singular", strong=False))
    elif token.text in SINGULAR_PEOPLE:
        for j in (i + 1, i + 2, i - 1, i - 2):
            if 0 <= j < len(tokens) and tokens[j].text in SINGULAR_VERBS and tokens[j].role in _VERB_FACT:
                fact = _VERB_FACT[tokens[j].role]  # type: ignore[index]
                lo, hi = sorted((token, tokens[j]), key=lambda t: t.start)
                out.append(_Mention(fact, 1, sentence, lo.start, hi.end, "singular", strong=False,
                                    child=token.role is Role.CHILD))
                return


def _one_victim(tokens: list[Token], i: int) -> bool:
    """True when the verb at `i` alone says one person: "загинув", "was (reportedly) killed", "killed him"."""
    word = tokens[i].text
    if word in SINGLE_VICTIM_VERBS:
        return True
    if word not in _EN_VICTIM_VERBS:
        return False
    if i + 1 < len(tokens) and tokens[i + 1].text in OBJECT_PRONOUNS:
        return True
    return any(0 <= k and tokens[k].text in PASSIVE_AUXILIARIES for k in (i - 1, i - 2))


def _aggregate(mentions: list[_Mention], text: str,
               regions: list[tuple[str, int, int]]) -> tuple[Facts, list[Evidence]]:
    """Choose one value per fact from its mentions (see module doc) and collect the evidence.

    A number beyond `MAX_FACT` is no count ("1000000000000000000 drones" is a prank or a typo), and neither is
    a sum that passes it.
    """
    mentions = [m for m in mentions if m.value <= MAX_FACT]
    values: dict[str, int] = {}
    bounds: dict[str, Bound] = {}
    classes: dict[str, int] = {}
    used: list[_Mention] = []
    for fact in ("drones", "missiles", "killed", "injured", "casualties", "regions_count"):
        chosen = _choose(fact, [m for m in mentions if m.fact == fact])
        if not chosen or sum(m.value for m in chosen) > MAX_FACT:
            continue
        values[fact] = sum(m.value for m in chosen)
        used.extend(chosen)
        if len(chosen) == 1 and chosen[0].qualifier:
            bounds[fact] = _bound(chosen[0])
        for m in chosen:
            if m.missile_class:
                classes[m.missile_class] = classes.get(m.missile_class, 0) + m.value
    chosen_sentences = {(m.fact, m.sentence) for m in used if m.fact in ("drones", "missiles")}
    destroyed = [m for m in mentions if m.destroyed and m.strong and not m.subordinate
                 and (m.fact, m.sentence) in chosen_sentences]
    if sum(m.value for m in destroyed) > MAX_FACT:
        destroyed = []
    children = next((m for m in mentions if m.child and m.fact in ("killed", "injured", "casualties")), None)
    facts = Facts(
        drones=values.get("drones"), missiles=values.get("missiles"), missile_classes=classes,
        destroyed=sum(m.value for m in destroyed) if destroyed else None,
        killed=values.get("killed"), injured=values.get("injured"), casualties=values.get("casualties"),
        children=children.value if children else None, regions_count=values.get("regions_count"),
        regions=list(dict.fromkeys(r for r, _, _ in regions))[:32],
        places=list(dict.fromkeys(text[s:e] for _, s, e in regions))[:64], bounds=bounds,
    )
    evidence = [Evidence(kind=m.fact, text=text[m.start:m.end][:512], start=m.start, end=m.end, rule=m.rule)
                for m in used]
    return facts, evidence


def _choose(fact: str, mentions: list[_Mention]) -> list[_Mention]:
    """The mentions that make up a fact's value: the strong ones of the first sentence stating it, else
    one weak (singular) mention."""
    strong = [m for m in mentions if m.strong]
    if not strong:
        return mentions[:1]
    first = [m for m in strong if m.sentence == strong[0].sentence]
    main = [m for m in first if not m.subordinate] or first
    if fact not in ("drones", "missiles"):
        totals = [m for m in main if m.total]
        if totals:  # "five were killed; the toll later rose to seven" is seven
            return [max(totals, key=lambda m: m.value)]
        # one per clause: "one dead and three hurt in Kharkiv; on the other side two dead and five hurt"
        # adds up the parties, as the guidelines do; within a clause the first count says it
        return list({m.clause: m for m in reversed(main)}.values())[::-1]
    launched = [m for m in main if not m.destroyed]
    return launched or main


def _bound(mention: _Mention) -> Bound:
    if mention.qualifier == "range":
        return Bound(qualifier="range", low=mention.low, high=mention.value)
    if mention.qualifier == "at_least":
        return Bound(qualifier="at_least", low=mention.value)
    if mention.qualifier == "at_most":
        return Bound(qualifier="at_most", high=mention.value)
    return Bound(qualifier="about", low=mention.value, high=mention.value)
