"""Who a story is about and who speaks in it: the leaders and envoys named in a text, in en / uk / ru.

Why: a talks story is one incident per meeting ("Macron and Putin in Moscow"), not one per day of any talks,
so talks incidents are grouped by the actors they name. And a threat by a head of state is a threat the head
of state makes: a keyword rule that fired on any text naming Putin alerted on "US voters who admire Mr
Putin" and on Biden threatening Putin with sanctions (about 10 of its 45 alerts were real). So the speaker is
extracted from how the lead names an actor:

- the actor is the subject of a speech or threat verb: "Putin warns …", "Lukashenko said, …",
  "Путін заявив …" (a title or first name may stand between: "Putin, speaking in Minsk" does not count);
- a verb of saying comes first: "…, said Putin", "заявив Путін" (a threat verb first makes the name its
  object: "Biden warns Putin");
- the actor opens its sentence with a quote: "Scholz: we have heard …";
- the actor closes an attribution at the end of its line: "… troops will be withdrawn - Lukashenko" (not
  "… - Putin Spokesman Peskov").

A possessive ("Putin's spokesman said") makes the actor's aide the speaker, not the actor. Only the lead
(the first two sentences, at most `LEAD_CHARS`) is read: a long article quotes many people, and its news is
who speaks first.
"""

from __future__ import annotations

import re

from streams.classify.wordindex import PhraseIndex

# canonical name -> stems (word starts, "$" for an exact word, phrases of stems); the classifier finds them in
# the same scan as the other story marks (`streams.classify.classifier._MARKS`)
ACTORS: dict[str, tuple[str, ...]] = {
    "Putin": ("putin", "путін", "путин"),
    "Zelensky": ("zelensk", "zelenskyy", "зеленськ", "зеленск"),
    "Biden": ("biden", "байден"),
    "Trump": ("trump", "трамп"),
    "Macron": ("macron", "макрон"),
    "Scholz": ("scholz", "шольц"),
    "Merz": ("merz$", "мерц"),
    "Erdogan": ("erdogan", "erdoğan", "ердоган", "эрдоган"),
    "Lukashenko": ("lukashenk", "лукашенк"),
    "Xi Jinping": ("xi jinping", "xi$", "сі цзіньпін", "си цзиньпин"),
    "Kim Jong Un": ("kim jong", "кім чен", "ким чен"),
    "Johnson": ("boris johnson", "johnson$", "джонсон"),
    "Sunak": ("sunak", "сунак"),
    "Starmer": ("starmer", "стармер"),
    "Modi": ("modi$", "моді$", "моди$"),
    "Orban": ("orban", "orbán", "орбан"),
    "Lavrov": ("lavrov", "лавров"),
    "Kuleba": ("kuleba", "кулеба"),
    "Sybiha": ("sybiha", "сибіга", "сибига"),
    "Blinken": ("blinken", "блінкен", "блинкен"),
    "Rubio": ("rubio", "рубіо", "рубио"),
    "Peskov": ("peskov", "пєсков", "песков"),
    "Medvedev": ("medvedev", "медведєв", "медведев"),
    "Shoigu": ("shoigu", "шойгу"),
    "Yermak": ("yermak", "єрмак", "ермак"),
    "Guterres": ("guterres", "гутерреш", "гутерриш"),
    "Witkoff": ("witkoff", "віткофф", "уиткофф", "уиткоф"),
    "Stoltenberg": ("stoltenberg", "столтенберг"),
    "Rutte": ("rutte", "рютте"),
}

# Verbs whose subject is the one speaking: speech, threat, demand, decision.
_SPEECH = (
    "say", "said", "warn", "threaten", "vow", "tell", "told", "declar", "announc", "stated$", "states$", "claim",
    "insist", "urge", "accus", "promis", "pledg", "order", "signal", "hint", "demand", "reject", "respond", "repl",
    "slam", "blast", "lash", "call", "admit", "suggest", "reiterat", "put$", "puts$", "made the statement",
    "заяв", "сказа", "пригроз", "погрож", "угрож", "попереди", "предупреди", "наголос", "пообіц", "пообещ",
    "звинув", "обвин", "вимага", "требу", "наказа", "приказа", "відпові", "ответи", "назва", "назвал",
    "пояснив", "объясн", "запевни", "заверил", "визнав", "признал",
)
_SPEECH_INDEX: PhraseIndex[bool] = PhraseIndex((stem, True) for stem in _SPEECH)
# Verbs of an attribution that precedes its speaker ("…, said Putin", "заявив Путін"); a threat verb before a
# name makes the name its object ("Biden warns Putin"), so these are the verbs of saying only.
_SAID = ("said$", "says$", "added$", "told$", "quoting", "quoted", "заяв", "сказа", "наголоси", "зазначи",
         "отметил", "додав", "добавил", "підкресли", "подчеркну", "пояснив", "объяснил")
_SAID_INDEX: PhraseIndex[bool] = PhraseIndex((stem, True) for stem in _SAID)
# Words that may stand between a name and its verb: first names, titles, "Jong Un", "also", "has".
_BETWEEN = frozenset({
    "vladimir", "володимир", "владимир", "volodymyr", "joe", "donald", "emmanuel", "olaf", "recep", "tayyip",
    "alexander", "aleksandr", "alaxandr", "олександр", "александр", "sergei", "sergey", "сергій", "сергей",
    "dmytro", "дмитро", "дмитрий", "jong", "un", "ин", "ын", "also", "has", "have", "had", "again", "now",
    "then", "reportedly", "allegedly", "once", "publicly", "directly", "openly", "тепер", "також",
    "знову", "вкотре", "снова", "также", "нібито", "якобы", "jinping",
})
_MAX_BETWEEN = 2
_ATTRIBUTION = re.compile(r"(?:\s[-–—]|[-–—]\s)\s*$")  # "… withdrawn - Lukashenko": a dash right before the name
LEAD_CHARS = 400
_SENTENCE_END = re.compile(r"[.!?](?:\s|$)")

Mention = tuple[str, int, int]  # an actor's name as the text names it: (canonical name, start, end)


def lead_end(text: str) -> int:
    """Where the lead ends: after the second sentence, and at most `LEAD_CHARS` in."""
    ends = [m.end() for m in _SENTENCE_END.finditer(text, 0, LEAD_CHARS)]
    return ends[1] if len(ends) > 1 else LEAD_CHARS


def speakers(text: str, tokens: list[tuple[str, int, int]], named: list[Mention], end: int) -> list[str]:
    """The actors who speak in the lead of `text` (up to `end`, `lead_end`), in the order they do (see the
    module doc); `named` are the actors' mentions in the text (`ACTORS` stems, found with the classifier's one
    scan of its words)."""
    lead = [token for token in tokens if token[1] < end]
    first = {token[1]: k for k, token in enumerate(lead)}
    last = {token[2]: k for k, token in enumerate(lead)}
    found: list[str] = []
    for name, start, stop in named:
        if start >= end:
            break
        i, j = first[start], last[stop]
        if not lead[j][0].endswith(("'s", "'")) and _speaks(text, lead, i, j, stop):
            found.append(name)
    return list(dict.fromkeys(found))


def _speaks(text: str, lead: list[tuple[str, int, int]], first: int, last: int, stop: int) -> bool:
    """Whether the name at tokens `first..last` (ending at character `stop`) is the one speaking."""
    start = _title_start(lead, first)
    opens = start == 0 or _gap(text, lead[start - 1][2], lead[start][1])
    if opens and text[stop:stop + 2].lstrip().startswith(":"):
        return True
    if _ATTRIBUTION.search(text[max(0, lead[start][1] - 4):lead[start][1]]) and _ends(text, stop):
        return True
    k = last + 1
    skipped = 0
    while k < len(lead) and lead[k][0] in _BETWEEN and skipped < _MAX_BETWEEN:
        k, skipped = k + 1, skipped + 1
    if k < len(lead) and _starts(_SPEECH_INDEX, lead, k) and not _gap(text, lead[k - 1][2], lead[k][1]):
        return True
    k = _title_start(lead, first) - 1
    return k >= 0 and _starts(_SAID_INDEX, lead, k) and not _gap(text, lead[k][2], lead[k + 1][1])


def _title_start(lead: list[tuple[str, int, int]], first: int) -> int:
    """The first token of the name's titles and first names ("Russian President Vladimir Putin")."""
    k = first
    while k > 0 and first - k <= _MAX_BETWEEN and (lead[k - 1][0] in _BETWEEN or lead[k - 1][0] in _TITLES):
        k -= 1
    return k


_TITLES = frozenset({
    "president", "президент", "prime", "minister", "міністр", "министр", "chancellor", "канцлер", "leader",
    "лідер", "лидер", "russian", "russia's", "belarusian", "ukrainian", "french", "german", "us", "u.s",
    "american", "chinese", "turkish", "north", "korean", "російський", "российский", "білоруський",
    "белорусский", "глава", "голова", "mr", "dictator", "диктатор", "кремлівський", "кремлевский",
})


def _ends(text: str, stop: int) -> bool:
    """Nothing but links and punctuation after `stop` on its line: the name closes an attribution."""
    rest = _LINK.sub("", text[stop:].split("\n", 1)[0])
    return not any(ch.isalnum() for ch in rest)


_LINK = re.compile(r"https?://\S+")


def _starts(index: PhraseIndex[bool], lead: list[tuple[str, int, int]], k: int) -> bool:
    """Whether a stem or phrase of `index` starts at token `k` ("made the statement" spans three)."""
    found = index.find(lead[k:k + 3])
    return bool(found) and found[0][1] == lead[k][1]


def _gap(text: str, left: int, right: int) -> bool:
    """A sentence, clause or quote boundary between two words: they are not subject and verb."""
    between = text[left:right]
    return any(mark in between for mark in ".;!?\"«»“”()")
