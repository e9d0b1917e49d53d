"""The region gazetteer: Ukraine's 27 first-level regions from English, Ukrainian and Russian spellings.

Canonical names are English without "Oblast" (`REGIONS`). Cities and well-known towns map to the region
they lie in, so "Kryvyi Rih" and "Кривий Ріг" both give "Dnipropetrovsk"; "Kyiv" / "Київ" alone is the
city ("Kyiv City"), while "Kyiv region" / "Київщина" / "Kyiv Oblast" is the oblast ("Kyiv").
"""

from __future__ import annotations

import re

from streams.classify.wordindex import PhraseIndex
from streams.classify.wordindex import words as split_words

REGIONS: tuple[str, ...] = (
    "Cherkasy", "Chernihiv", "Chernivtsi", "Crimea", "Dnipropetrovsk", "Donetsk", "Ivano-Frankivsk",
    "Kharkiv", "Kherson", "Khmelnytskyi", "Kirovohrad", "Kyiv", "Kyiv City", "Luhansk", "Lviv", "Mykolaiv",
    "Odesa", "Poltava", "Rivne", "Sevastopol", "Sumy", "Ternopil", "Vinnytsia", "Volyn", "Zakarpattia",
    "Zaporizhzhia", "Zhytomyr",
)

# Stems (lower case) per region, matched at a word start; an inflected ending may follow. Phrases and
# longer stems win, so "Kyiv region" and "Київщина" are the oblast while "Kyiv" / "Київ" is the city.
_ALIASES: dict[str, tuple[str, ...]] = {
    "Kyiv": ("kyiv oblast", "kyiv region", "kyiv province", "kiev oblast", "kiev region", "kiev province",
             "kyivska", "київщин", "київськ", "киевск", "киевщин", "tserkva", "бровар", "brovary", "bucha",
             "буча", "бучі", "irpin", "ірпін", "ирпен", "borodianka", "бородянк", "біла церкв", "белая церк"),
    "Kyiv City": ("kyiv", "kiev", "київ", "києв", "киев", "києві"),
    "Cherkasy": ("cherkasy", "cherkas", "черкас", "черкащин"),
    "Chernihiv": ("chernihiv", "chernigov", "чернігів", "чернігов", "чернигов", "чернігівщин"),
    "Chernivtsi": ("chernivtsi", "chernivet", "chernovtsy", "чернівц", "чернівец", "черновц", "буковин",
    "bukovyna"),
    "Crimea": ("crimea", "krym", "крим", "крым", "simferopol", "сімферопол", "симферопол", "kerch", "керч",
               "yalta", "ялт", "feodosi", "феодосі", "феодоси", "dzhankoi", "джанкой", "saky", "alupka"),
    "Dnipropetrovsk": ("dnipropetrovsk", "dnepropetrovsk", "дніпропетровськ", "днепропетровск", "дніпр",
                       "днепр", "dnipro", "dnepr", "kryvyi", "krivoy", "кривий ріг",
                       "кривого рог", "кривому рогу", "кривой рог", "кривом рог",
                       "nikopol", "нікопол", "никопол", "pavlohrad", "павлоград", "павлоград",
                       "дніпропетровщин", "дніпровщин"),
    "Donetsk": ("donetsk", "донецьк", "донецк", "донеччин", "донбас", "donbas", "mariupol", "маріупол",
                "мариупол", "bakhmut", "бахмут", "kramatorsk", "краматорськ", "краматорск", "sloviansk",
                "sloviansk", "словʼянськ", "слов'янськ", "славянск", "pokrovsk", "покровськ", "покровск",
                "avdiivka", "авдіївк", "авдеевк", "horlivka", "horlovka", "горлівк", "горловк",
                "kostiantynivka", "костянтинівк", "константиновк", "druzhkivka", "дружківк", "yasynuvata",
                "ясинуват", "vuhledar", "вугледар", "угледар", "svitlodarsk", "kurakhove", "курахов"),
    "Ivano-Frankivsk": ("ivano-frankivsk", "ivano frankivsk", "івано-франківськ", "івано-франківщин",
                        "ивано-франковск", "прикарпатт", "франківськ"),
    "Kharkiv": ("kharkiv", "kharkov", "харків", "харьков", "харківщин", "харьковщин", "izium", "izyum",
    "ізюм",
                "изюм", "kupiansk", "kupyansk", "куп'янськ", "купʼянськ", "купянськ", "купянск", "chuhuiv",
                "чугуїв", "чугуев", "zolochiv", "золочів", "золочев", "vovchansk", "вовчанськ", "волчанск",
                "балакл", "balakliia", "lozova", "лозов"),
    "Kherson": ("kherson", "херсон", "херсонщин", "nova kakhovka", "нова каховк", "новая каховк", "kakhovka",
                "каховк", "oleshky", "олешк", "гола пристан", "голій пристан"),
    "Khmelnytskyi": ("khmelnytskyi", "khmelnytsk", "khmelnitsky", "хмельницьк", "хмельницк", "хмельниччин",
                     "starokostiantyniv", "старокостянтинів"),
    "Kirovohrad": ("kirovohrad", "kirovograd", "kropyvnytskyi", "kropyvnytskyi", "кропивницьк", "кировоград",
                   "кіровоград", "кропивницк"),
    "Luhansk": ("luhansk", "lugansk", "луганськ", "луганск", "луганщин", "sievierodonetsk", "severodonetsk",
                "сєвєродонецьк", "северодонецк", "lysychansk", "лисичанськ", "лисичанск", "rubizhne",
                "рубіжн", "рубежн"),
    "Lviv": ("lviv", "lvov", "львів", "львов", "львівщин", "sheptytskyi", "шептицьк", "drohobych",
    "дрогобич"),
    "Mykolaiv": ("mykolaiv", "nikolaev", "nikolayev", "миколаїв", "николаев", "миколаївщин", "ochakiv",
                 "очаків", "очаков", "voznesensk", "вознесенськ"),
    "Odesa": ("odesa", "odessa", "odesk", "одес", "одещин", "izmail", "ізмаїл", "измаил", "chornomorsk",
    "чорноморськ",
              "bilhorod-dnistrovskyi", "білгород-дністровськ", "zatoka", "затока"),
    "Poltava": ("poltava", "полтав", "kremenchuk", "кременчук", "myrhorod", "миргород", "lubny", "лубн"),
    "Rivne": ("rivne", "rovno", "rivnensk", "рівне", "рівного", "рівному", "рівненщин", "рівненськ",
    "ровно", "ровенск"),
    "Sevastopol": ("sevastopol", "севастопол",),
    "Sumy": ("sumy", "sumsk", "суми", "сумах", "сумам", "сумщин", "сумськ", "сумск", "konotop", "конотоп",
    "shostka",
             "шостк", "okhtyrka", "охтирк", "ахтырк"),
    "Ternopil": ("ternopil", "ternopol", "тернопіл", "тернопол"),
    "Vinnytsia": ("vinnytsia", "vinnitsa", "vinnytsk", "вінниц", "винниц", "вінниччин", "kalynivka",
    "калинівк"),
    "Volyn": ("volyn", "волин", "волын", "lutsk", "луцьк", "луцк", "kovel", "ковел"),
    "Zakarpattia": ("zakarpat", "transcarpathia", "закарпат", "uzhhorod", "ужгород",
                    "mukachevo", "мукачев"),
    "Zaporizhzhia": ("zaporizhzhia", "zaporizhia", "zaporizk", "запоріз", "zaporozhye", "zaporozhzhia",
    "запоріжж", "запоріж",
                     "запорож", "запоріжжі", "melitopol", "мелітопол", "мелитопол", "enerhodar", "energodar",
                     "енергодар", "энергодар", "berdiansk", "бердянськ", "бердянск", "orikhiv", "оріхів",
                     "huliaipole", "гуляйпол", "tokmak", "токмак", "kamianka-dniprovska",
                     "kamenka-dniprovska"),
    "Zhytomyr": ("zhytomyr", "zhitomir", "житомир", "korosten", "коростен", "berdychiv", "бердичів"),
}

_INDEX: PhraseIndex[str] = PhraseIndex(
    (alias, region) for region, aliases in _ALIASES.items() for alias in aliases
)
_NOT_PLACES = ("кримінал", "криміна")
_NOISE = re.compile(r"\b(?:oblast|region|province|область|обл\.?|регіон|регион|city|місто|город)\b", re.I)


def find_regions(text: str, *, words: list[tuple[str, int, int]] | None = None) -> list[tuple[str, int, int]]:
    """Every region named in `text` as (canonical name, start, end), in order of appearance.

    :param words: `wordindex.words(text)` when the caller has it already.
    """
    return [(region, start, end) for region, start, end in _INDEX.find(words or split_words(text))
            if not text[start:end].lower().startswith(_NOT_PLACES)]


def normalise_region(name: str) -> str | None:
    """The canonical region for a place name in any of the three languages, or None if it is not one.

    "Kharkov" / "Харків" / "Харьковская область" -> "Kharkiv"; "Київщина" -> "Kyiv"; "Kyiv" -> "Kyiv City".
    Strike reports' "affected region" and target columns use this too.
    """
    text = name.strip()
    if not text:
        return None
    found = find_regions(text)
    if not found:
        return None
    region = found[0][0]
    if region == "Kyiv City" and _NOISE.search(text) and not re.search(r"city|місто|город", text, re.I):
        return "Kyiv"
    return region
