"""Cue lexicons: the words that signal each category, sub-type and retrospective, in en / uk / ru.

One compiled alternation finds every cue in one pass (`find_cues`). Cues feed the linear model as
language-independent features (a Ukrainian "обстріл" and an English "shelling" fire the same feature, so
what the model learns on English transfers), and they are the evidence and sub-types shown to operators.
Entries are stems matched at a word start, exact words ("met$") or phrases of stems, on lower-cased words.
"""

from __future__ import annotations

from streams.classify.wordindex import PhraseIndex

# cue name -> (category, stems). Sub-type cues carry their category; `attack`, `talks`, `statement`,
# `other` are the generic cues of each category.
CUES: dict[str, tuple[str, tuple[str, ...]]] = {
    "drone_strike": ("attack", ("drone", "uav", "shahed", "geran", "kamikaze", "дрон", "бпла", "безпілот",
                                "беспилот", "шахед", "герань", "fpv")),
    "missile_strike": ("attack", ("missile", "rocket", "kalibr", "iskander", "kinzhal", "kh-", "ракет",
                                  "калібр", "калибр", "іскандер", "искандер", "кинджал", "кинжал", "х-")),
    "airstrike": ("attack", ("airstrike", "air strike", "air raid", "bomb", "авіаудар", "авиаудар",
    "авіабомб",
                             "авиабомб", "кааб", "бомб", "fab-", "авіац", "авиац")),
    "shelling": ("attack", ("shell", "artillery", "mortar", "mlrs", "grad", "howitzer", "обстріл", "обстрел",
                            "артилер", "артиллер", "міномет", "миномет", "рсзв", "рсзо", "град", "ураган",
                            "fired at", "fired on", "opened fire", "gunfire")),
    "ground_combat": ("attack", ("clash", "fighting", "battle", "assault", "offensive", "combat", "skirmish",
                                 "storm", "бої", "бій", "боях", "бою", "штурм", "наступ", "зіткн", "столкнов",
                                 "бой", "сражен", "counteroffensive", "advance")),
    "interception": ("attack", ("shot down", "shoots down", "intercept", "air defen", "downed", "збит",
    "збил",
                                "знищено", "перехоп", "сбит", "сбил", "ппо", "пво", "уничтожен")),
    "attack": ("attack", ("attack", "strike", "struck", "hit", "explosion", "blast", "kill", "wound",
                          "injur", "dead", "died", "casualt", "destroy", "damag", "eliminat", "liquidat",
                          "атак", "удар", "вдари", "вибух", "взрыв", "загин", "загибл", "поран", "ранен",
                          "погиб", "вбит", "убит", "зруйн", "пошкод", "разруш", "поврежд", "влуч", "прилет",
                          "ліквід", "ликвид", "уразил", "уражен", "знищ", "massive", "масован",
                          "массирован", "комбінован", "shelled", "killed", "victims", "жертв", "bombard",
                          "rubble", "ruins", "destruct", "devastat", "on fire", "burn", "sank", "sunk",
                          "ambush",
                          "knocked", "recaptur", "detonat", "sabotag", "raid", "captur", "mass grave",
                          "tortur",
                          "execut", "sniper", "руїн", "пожеж", "підрив", "диверс", "катув", "розстріл",
                          "разрушен", "пожар", "взорв", "liberat", "звільн", "освобод", "fire")),
    "meeting": ("talks", ("meet", "met$", "summit", "visit", "met with", "зустр", "встреч", "саміт", "саммит",
                          "візит", "визит", "talks with", "held talks")),
    "planned": ("talks", ("will meet", "to meet", "plan", "upcoming", "next week", "scheduled", "запланов",
                          "відбудеться", "анонс", "планує", "планиру", "состоится", "зустрінеться",
                          "will hold", "will discuss", "обговорять", "обсудят", "propos", "запропон",
                          "предлож")),
    "agreement": ("talks", ("agree", "deal", "memorandum", "signed", "accord", "домовил", "угод",
                            "договор", "меморандум", "підписал", "подписал", "соглаш", "договір")),
    "ceasefire_or_exchange": ("talks", ("ceasefire", "cease-fire", "truce", "exchange", "swap", "prisoner",
                                        "перемир", "обмін", "обмен", "полонен", "пленн", "repatriat",
                                        "припинення вогню", "прекращение огня")),
    "call_reject_halt": ("talks", ("phone", "call with", "spoke with", "conversation", "reject", "halt",
                                   "suspend", "cancel", "pause", "refus", "розмов", "телефон", "зідзвон",
                                   "созвон", "разговор", "відмов", "отказ", "призупин", "приостанов",
                                   "скасув", "отмен", "walked out")),
    "talks": ("talks", ("negotiat", "talks", "diplomat", "mediat", "peace", "переговор", "дипломат",
                        "посередн", "мирн", "мирн", "delegation", "делегац", "envoy", "посланц",
                        "спецпосланц")),
    "condemnation": ("statement", ("condemn", "denounce", "outrage", "terrorist", "barbaric", "crime",
                                   "genocide", "засуд", "осуд", "обур", "терор", "геноцид", "злочин",
                                   "преступ", "shame", "ганьб")),
    "threat_warning": ("statement", ("threat", "warn", "will strike", "could strike", "nuclear", "погроз",
                                     "пригроз", "загроз", "попередж", "угрож", "предупред", "ultimatum",
                                     "ультиматум", "will respond", "retaliat")),
    "demand_appeal": ("statement", ("demand", "urge", "call on", "calls on", "call for", "calls for",
                                    "appeal", "must", "вимага", "закли", "звернул", "требу", "призыв",
                                    "призва", "просить", "просит", "need", "should")),
    "claim_denial": ("statement", ("claim", "deny", "denied", "denies", "accuse", "alleg", "false", "fake",
                                   "запереч", "спростув", "звинуват", "обвин", "отрица", "опроверг",
                                   "propaganda", "пропаганд")),
    "comment": ("statement", ("said", "says", "stated", "according", "told", "believe", "think", "analys",
                              "expert", "opinion", "interview", "сказав", "каже", "вважа", "експерт",
                              "аналіт", "считает", "эксперт", "мнение", "пояснив", "explain", "why",
                              "analysis", "column", "editorial", "view")),
    "statement": ("statement", ("statement", "address", "speech", "заяв", "звернен", "высказ", "declar",
                                "slam", "berate", "vow", "criticis", "criticiz", "concern", "welcome",
                                "thank",
                                "speak out", "speaks out", "insist", "admit", "praise", "hail", "blame",
                                "наголос", "підкресл", "розкритик", "подяк", "похвал", "критик", "признал",
                                "announce", "заявил", "заявив", "заявила", "допис", "post", "tweet")),
    "other": ("other", ("sanction", "aid", "deliver", "package", "supply", "supplies", "weapons",
                        "refugee", "econom", "price", "gas", "oil", "energy", "mobilis", "mobiliz",
                        "arrest", "court", "sport", "football", "match", "weather", "recipe",
                        "horoscope", "санкці", "санкци", "допомог", "помощ", "постач", "постав", "біжен",
                        "беженц", "економ", "эконом", "ціни", "цены", "мобіліз", "мобилиз", "арешт",
                        "спорт", "матч", "погод", "рецепт", "гороскоп", "теніс", "волейбол", "футбол",
                        "концерт", "фільм", "кіно", "evacuat", "евакуац", "эвакуац", "humanitarian",
                        "гуманітар", "гуманитар", "exercise", "навчан", "military aid", "donat",
                        "благодій", "пенсі", "tank", "howitzers", "troops", "deploy", "bill", "market",
                        "ruble", "rouble", "student", "visa", "festival", "music", "parade", "sworn",
                        "decree", "martial law", "hacker", "cyber", "explainer", "what we know",
                        "as it happened", "weekly", "podcast", "briefing", "аварі", "дтп", "корупц",
                        "тариф", "школ", "освіт", "здоров", "весілл", "шоу", "серіал", "прогноз",
                        "культур", "музе", "выстав", "виставк", "ціна", "цін", "курс")),
    "future_attack": ("statement", ("will strike", "could strike", "threatens to strike", "threatens to hit",
                                    "threatened to strike", "threatened to hit", "will hit", "may strike",
                                    "plans to strike", "погрожує вдарити", "пригрозив ударом",
                                    "погрожує ударом",
                                    "угрожает ударить", "пригрозил ударом", "готує удар", "готовит удар",
                                    "will attack", "threatens to attack", "could attack")),
    "negated_attack": ("other", ("no strikes", "no attacks", "no shelling", "without strikes",
                                 "обстрілів не", "без обстріл", "атак не було", "обстрелов не")),
    "historical": ("historical", ("since the start", "since the beginning of the war",
    "since the beginning of the invasion",
                                  "since the beginning of russia", "since feb", "since 24 feb", "since oct",
                                  "since late", "invasion began", "war began", "losses of the russian",
                                  "full-scale invasion", "повномасштабного вторгнення", "since march",
                                  "since april",
                                  "since the full-scale", "since 2014", "since 2022", "in total", "total of",
                                  "to date", "anniversary", "over the past", "since the invasion",
                                  "since the war", "за весь час", "з початку", "с начала", "від початку",
                                  "роковин", "річниц", "годовщин", "since russia", "since the russian",
                                  "cumulative", "years ago", "in 2014", "за час війни", "since laid siege",
                                  "since russian forces", "in one week", "this year", "this month")),
    "historical_total": ("historical", ("already", "вже", "уже", "so far", "as of now", "as of", "загалом",
                                        "всього", "усього", "total")),
}

CATEGORY_OF: dict[str, str] = {name: category for name, (category, _) in CUES.items()}
SUBTYPES: dict[str, tuple[str, ...]] = {
    "attack": ("drone_strike", "missile_strike", "airstrike", "shelling", "ground_combat", "interception",
               "combined_salvo"),
    "talks": ("meeting", "planned", "agreement", "ceasefire_or_exchange", "call_reject_halt"),
    "statement": ("condemnation", "threat_warning", "demand_appeal", "claim_denial", "comment"),
    "other": (),
}

_INDEX: PhraseIndex[str] = PhraseIndex(
    (stem, name) for name, (_, stems) in CUES.items() for stem in stems
)


# Talks under way ("as talks open in Geneva", "the third round of negotiations"), and the meeting sub-type of a
# talks story that names no other (talks are meetings). The guidelines put talks in "also" when a story reports
# them beside its main news, which a model trained on main labels rarely scores. Kept out of `CUES`, so the
# trained model's features stay what it was trained on.
TALKS_UNDER_WAY: tuple[str, ...] = (
    *(f"{noun} {verb}" for noun in ("talks", "negotiations") for verb in (
        "open", "begin", "began", "start", "resum", "held", "took place", "are under way", "continu", "end",
        "conclud", "kick off", "kicked off", "get under way", "got under way")),
    "round of talks", "round of negotiat", "talks between", "talks with", "negotiations between",
    "negotiations with", "переговори почал", "переговори розпоч", "переговори трива", "переговори відбул",
    "переговори між", "переговоры начал", "переговоры прош", "переговоры между", "раунд переговор",
    "раунді переговор", "раунде переговор",
)
# What a talks story is when its cues name no sub-type: a humanitarian corridor is a local ceasefire.
TALKS_IMPLIED: PhraseIndex[str] = PhraseIndex([
    *((stem, "meeting") for stem in ("negotiat", "talks$", "delegation", "переговор", "делегац")),
    *((stem, "ceasefire_or_exchange") for stem in ("corridor", "коридор")),
])


# Threats a lead states without a threat cue word ("Belarus will instantly respond to any aggression"): they make
# a statement's lead a `threat_warning`. Kept out of `CUES` for the same reason as `TALKS_UNDER_WAY`.
THREATS_IMPLIED: tuple[str, ...] = (
    "respond to any", "instantly respond", "harsh response", "will fight", "act of war", "high alert",
    "will pay", "відповімо", "ответим", "жорстка відповідь", "жорстку відповідь", "жесткий ответ",
)


def find_cues(tokens: list[tuple[str, int, int]]) -> list[tuple[str, int, int]]:
    """Every cue among the words of a text (`wordindex.words`) as (cue name, start, end)."""
    return _INDEX.find(tokens)
