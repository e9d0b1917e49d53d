"""Word roles for fact extraction: which words name drones, missiles, people, killing, wounding, time.

Ukrainian and Russian inflect, so most entries are stems matched on a word's first letters
(`role_of`). One table per role keeps every language's spelling of a concept in one place.
"""

from __future__ import annotations

from enum import Enum

from streams.classify.wordindex import PrefixIndex


class Role(Enum):
    """What a word contributes to a count next to it."""

    DRONE = "drone"
    MISSILE = "missile"
    PERSON = "person"
    CHILD = "child"
    KILL = "kill"
    INJURE = "injure"
    CASUALTY = "casualty"
    LOSS = "loss"
    TOLL = "toll"
    DESTROY = "destroy"
    LAUNCH = "launch"
    TIME = "time"
    MONTH = "month"
    UNIT = "unit"
    REGIONS = "regions"
    NEG = "neg"
    HIT = "hit"
    ARTICLE = "article"
    ATTRIB = "attrib"
    SUBORDINATE = "subordinate"
    BALLISTIC = "ballistic"
    CRUISE = "cruise"
    GUIDED = "guided"


_EXACT: dict[Role, tuple[str, ...]] = {
    Role.DRONE: ("drone", "drones", "uav", "uavs", "shahed", "shaheds", "geran", "gerans", "bpla", "бпла",
                 "дрон", "дрона", "дроном", "дрони", "дронів", "дронами", "дронам", "дроны", "дронов",
                 "unmanned", "orlan", "shahed-136", "mohajer", "lancet", "ланцет", "fpv-дрон",
                 "fpv-дроном", "fpv-дрона", "fpv-drone", "fpv-drones", "fpv", "bayraktar", "bayraktars",
                 "байрактар", "байрактара"),
    Role.MISSILE: ("missile", "missiles", "rocket", "rockets", "кр", "кар", "ракета", "ракети", "ракет",
                   "ракетою", "ракетами", "ракету", "ракеты", "ракетой", "ракетам", "ракеті", "ракетах",
                   "kalibr", "kalibrs", "iskander", "iskanders", "kinzhal", "kinzhals", "tochka", "grad"),
    Role.PERSON: ("people", "person", "persons", "civilians", "civilian", "man", "woman", "men", "women",
                  "residents", "resident", "soldiers", "soldier", "servicemen", "serviceman", "troops",
                  "rescuers", "invaders", "occupiers", "fighters", "militants", "policemen", "policeman",
                  "personnel", "individuals", "citizens", "workers", "volunteers", "journalists", "boy",
                  "girl",
                  "officer", "officers", "commander", "correspondent", "journalist", "filmmaker", "son",
                  "daughter", "father", "mother", "worker", "employee", "pedestrian", "pilot", "cameraman",
                  "photographer", "reporter", "doctor", "nurse", "priest", "farmer", "paramedic", "general",
                  "пішохід", "працівник",
                  "медик", "медики", "рятувальник", "волонтер", "teenager", "driver", "людей", "людина",
                  "люди", "людини",
                  "особи", "осіб", "жінка", "жінки", "чоловік", "чоловіки", "чоловіків", "жителів", "житель",
                  "мешканців", "мешканець", "мешканка", "окупанти", "окупантів", "окупантов", "військових",
                  "військові", "військовий", "цивільних", "цивільні", "поліцейський", "поліцейських",
                  "рятувальників", "рятувальники", "людини", "человек", "люди", "женщина", "мужчина",
                  "жителей", "житель", "мирных", "военных", "военнослужащих", "военнослужащий", "бійців",
                  "бойовиків", "солдат", "водій", "водійка", "пенсіонерка", "пенсіонер"),
    Role.CHILD: ("children", "child", "kids", "toddler", "дітей", "діти", "дитина", "дитини", "дітьми",
                 "дитину", "дети", "детей", "ребенок", "ребёнок", "дитя", "підлітки", "підліток",
                 "неповнолітніх", "немовля", "младенец", "підлітка", "baby", "newborn"),
    Role.KILL: ("killed", "dead", "died", "die", "dies", "kill", "kills", "killing", "fatalities", "deaths",
                "eliminated", "liquidated", "perished", "murdered", "executed", "lives", "загинув",
                "загинула",
                "загинули", "загинуло", "загиблих", "загиблі", "загибла", "загиблий", "вбито", "вбили",
                "вбив", "загибель", "загиблими", "убиты", "убито", "убили", "погибли", "погиб", "погибла",
                "погибших", "помер", "померла", "померли", "загибли", "ліквідували", "ліквідовано",
                "ликвидировали", "ликвидированы", "мертвих", "мертвыми"),
    Role.INJURE: ("wounded", "injured", "injuring", "injuries", "wounding", "hurt", "injures", "wounds",
                  "поранені", "поранено", "поранених", "поранений", "поранена", "поранення", "поранень",
                  "травмовані", "травмованих", "травми", "травмувались", "ранены", "ранено", "раненых",
                  "ранения", "пострадали", "госпіталізовано", "постраждали", "постраждала", "пострадал",
                  "пострадала"),
    Role.CASUALTY: ("casualties", "casualty", "victims", "victim", "жертв", "жертви", "жертвами",
                    "постраждалих", "постраждав", "потерпілих", "пострадавших",
                    "пострадавшие"),
    Role.LOSS: ("lost", "loses", "losses", "lose", "втратив", "втратили", "втрати", "втрат", "потерял",
                "потеряли", "потери", "потерь"),
    Role.TOLL: ("toll",),
    Role.DESTROY: ("destroyed", "downed", "intercepted", "shot", "neutralised", "neutralized", "знищено",
                   "знищили", "збито", "збили", "знешкоджено", "уражено", "сбито", "сбиты", "уничтожены",
                   "уничтожено", "перехвачено", "сбили", "перехоплено", "подавлено", "збиті", "знищені"),
    Role.LAUNCH: ("launched", "fired", "launch", "запустили", "випустили", "запустив", "запущено",
                  "випущено", "выпустили", "запустили", "атакували", "атакувала", "attacked"),
    Role.MONTH: ("january", "february", "march", "april", "may", "june", "july", "august", "september",
                 "october", "november", "december", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep",
                 "sept", "oct", "nov", "dec", "січня", "лютого", "березня", "квітня", "травня", "червня",
                 "липня", "серпня", "вересня", "жовтня", "листопада", "грудня", "января", "февраля", "марта",
                 "апреля", "мая", "июня", "июля", "августа", "сентября", "октября", "ноября", "декабря"),
    Role.UNIT: ("meters", "metres", "km", "kilometers", "kilometres", "mm", "percent", "%", "tons", "tonnes",
                "hryvnias", "uah", "dollars", "euros", "billion", "million", "millions", "bn", "mln",
                "times", "km/h", "square",
                "метрів", "метров", "км", "відсотків", "процентов", "тонн", "гривень", "доларів", "млн",
                "млрд", "разів", "раз", "гектарів", "kg", "кг", "m", "м", "mph", "°c", "pm", "am",
                "доба", "доби", "добу", "лет", "суток", "суток", "днів", "дні", "день", "дня"),
    Role.REGIONS: ("regions", "oblasts", "provinces", "областей", "областях", "регіонах", "регіонів",
                   "регионах", "регионов", "областям", "области"),
    Role.HIT: ("hit", "hits", "hitting", "struck", "fell", "exploded", "crashed", "damaged", "landed",
               "slammed"),
    Role.NEG: ("no", "nobody", "без", "не", "ні", "never", "none"),
    Role.ARTICLE: ("a", "an", "another", "single"),
    Role.ATTRIB: ("strike", "strikes", "attack", "attacks", "defense", "defence", "defenses", "system",
                  "systems", "threat", "program", "programme", "launchers", "launcher", "production",
                  "alert", "alarm", "danger", "warning", "maker", "makers", "factory", "plant", "technology",
                  "operators", "operator", "units", "unit", "wall", "industry", "sites", "site", "shield",
                  "carrier", "carriers", "boat", "boats", "testing", "test", "tests", "tech", "deal",
                  "небезпека", "загроза", "тривога", "удар", "удари", "атака", "атаки", "оборона", "оборони"),
    Role.SUBORDINATE: ("including", "incl", "which", "includes", "них", "зокрема", "числі", "числе",
                       "among", "серед", "среди"),
    Role.BALLISTIC: ("ballistic", "балістичних", "балістичні", "балістична", "балістичну", "балістичними",
                     "баліст", "баллистических", "баллистические", "баллистическая", "балістичною"),
    Role.CRUISE: ("cruise", "крилатих", "крилаті", "крилата", "крилату", "крылатых", "крылатые",
                  "крилатими", "крылатая"),
    Role.GUIDED: ("guided", "керованих", "керовані", "керована", "керовану", "керованими",
                  "управляемых", "управляемые", "управляемая"),
}

# Stems for inflected forms, tried on a word's first letters when it is not in `_EXACT`.
_STEMS: dict[Role, tuple[str, ...]] = {
    Role.DRONE: ("безпілот", "беспилот", "шахед", "шахід", "герань", "гераней", "дронів"),
    Role.HIT: ("вдари", "влуч", "ударил", "атакува", "атаковал", "прилет", "упав", "впав", "попал", "уразил",
               "поцілил"),
    Role.MISSILE: ("ракет", "калібр", "калибр", "іскандер", "искандер", "кинджал", "кинжал"),
    Role.KILL: ("загин", "загибл", "погиб", "вбит", "убит", "ліквід", "ликвид", "помер", "smert", "смерт"),
    Role.INJURE: ("поран", "ранен", "травм", "injur", "wound", "госпіталіз", "госпитализ", "hospitali",
                  "ушпитал"),
    Role.CASUALTY: ("постражд", "пострада", "потерпіл"),
    Role.TIME: ("day", "hour", "week", "month", "year", "night", "minute", "decade", "годин", "тижн",
                "місяц", "років", "рок", "річн", "недел", "месяц", "минут", "хвилин", "ночі", "ніч"),
}

_EXACT_INDEX: dict[str, Role] = {w: role for role, words in _EXACT.items() for w in words}
_STEM_INDEX: PrefixIndex[Role] = PrefixIndex({s: role for role, stems in _STEMS.items() for s in stems})

# Left of a count, only a verb that takes an object says what happened to the counted: "killed two
# residents", never "a girl died, two more people were injured".
INTRANSITIVE_PREFIXES: tuple[str, ...] = ("die", "dead", "death", "perish", "fatal", "загин", "загибл",
                                          "помер",
                                          "погиб", "мертв", "умер")
# Words after a weapon noun that make it a modifier of something else ("6 missile carriers").
NON_WEAPON_HEADS: frozenset[str] = frozenset({
    "carrier", "carriers", "launcher", "launchers", "system", "systems", "boat", "boats", "pod", "pods",
    "operators", "operator", "units", "unit", "factory", "factories", "plant", "plants", "sites", "site",
    "crews", "crew", "footage", "tactics", "production", "program", "programme", "maker", "makers",
    "носії", "носіїв", "носіях", "комплекси", "комплексів", "розрахунків", "операторів", "установок",
    # a weapon word that names something else: "under rocket fire", "the missile cruiser Moskva"
    "fire", "cruiser", "cruisers", "ship", "ships", "frigate", "defence", "defense", "threat", "threats",
    "danger", "alert", "alerts", "range", "shield", "крейсер", "крейсера", "обстріл", "небезпека", "загроза",
})
# Abbreviations that name a missile and its class at once ("5 КР «Калібр»", "1 КАР Х-59").
MISSILE_CLASS_OF: dict[str, str] = {"кр": "cruise", "кар": "guided"}
SINGULAR_WEAPONS: frozenset[str] = frozenset({
    "drone", "uav", "missile", "rocket", "дроном", "дрона", "fpv-дрон", "fpv-дроном", "fpv-дрона",
    "безпілотником", "беспилотником", "ракетою", "ракетой", "ракета", "ракету", "fpv-drone", "kalibr",
})
# Weapon types that name one weapon only after "a" or "one" ("a Bayraktar was downed"); bare, they name the
# type ("buying Bayraktar TB2 attack drones").
SINGULAR_BY_NAME: frozenset[str] = frozenset({"bayraktar", "shahed", "iskander", "kinzhal", "байрактар"})
SINGLE_DETERMINERS: frozenset[str] = frozenset({"a", "an", "one", "один", "одна", "одну"})
SINGULAR_PEOPLE: frozenset[str] = frozenset({
    "person", "man", "woman", "civilian", "resident", "soldier", "serviceman", "policeman", "boy", "girl",
    "teenager", "driver", "child", "toddler", "людина", "жінка", "чоловік", "житель", "мешканець",
    "мешканка", "поліцейський", "військовий", "дитина", "водій", "водійка", "пенсіонер", "пенсіонерка",
    "женщина", "мужчина", "ребенок", "ребёнок", "підліток", "officer", "commander", "correspondent",
    "journalist", "filmmaker", "son", "daughter", "father", "mother", "worker", "employee", "pedestrian",
    "пішохід", "працівник", "медик", "рятувальник", "волонтер", "немовля", "младенец", "підлітка", "baby",
    "newborn", "pilot", "cameraman", "photographer", "reporter", "doctor", "nurse", "priest", "farmer",
    "paramedic", "general",
})
SINGULAR_VERBS: frozenset[str] = frozenset({
    "died", "killed", "dead", "wounded", "injured", "hurt", "загинув", "загинула", "загибла", "загиблий",
    "помер", "померла", "поранений", "поранена", "погиб", "погибла", "ранен", "ранена", "травмована",
    "травмований", "дістав", "дістала", "зазнав", "зазнала", "injuring", "wounding", "killing",
    "постраждала", "пострадал", "пострадала", "поранено", "ранено",
})
# Verb forms that by themselves say one person was killed or wounded ("у бою загинув доброволець",
# "є загиблий"); they count 1 only when no number is stated.
SINGLE_VICTIM_VERBS: frozenset[str] = frozenset({
    "загинув", "загинула", "загиблий", "помер", "померла", "погиб", "погибла", "поранений", "поранена",
    "ранен", "ранена",
})
# English needs the passive or an object pronoun to say one person: "was killed", "killed him".
PASSIVE_AUXILIARIES: frozenset[str] = frozenset({"was", "been", "has"})
OBJECT_PRONOUNS: frozenset[str] = frozenset({"him", "her"})

def role_of(word: str) -> Role | None:
    """The role of one lower-cased word, or None: exact forms first, then the last part of a hyphenated
    word ("fpv-дроном"), then stems."""
    role = _EXACT_INDEX.get(word)
    if role is None and "-" in word and len(tail := word.rsplit("-", 1)[1]) >= 3:
        role = _EXACT_INDEX.get(tail)
    return role if role is not None else _STEM_INDEX.get(word)
