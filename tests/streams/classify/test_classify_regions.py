"""The region gazetteer and language detection: spellings in three languages map to one canonical name."""

from __future__ import annotations

import pytest

from streams.classify import REGIONS, detect_language, normalise_region
from streams.classify.regions import find_regions


def test_twenty_seven_regions() -> None:
    assert len(REGIONS) == 27 == len(set(REGIONS))


@pytest.mark.parametrize(
    ("name", "region"),
    [
        ("Kharkiv", "Kharkiv"), ("Kharkov", "Kharkiv"), ("Харків", "Kharkiv"), ("Харьков", "Kharkiv"),
        ("Харківська область", "Kharkiv"), ("Харьковской области", "Kharkiv"), ("Kyiv", "Kyiv City"),
        ("Kyiv Oblast", "Kyiv"), ("Київщина", "Kyiv"), ("Kiev region", "Kyiv"), ("Odessa", "Odesa"),
        ("Одещині", "Odesa"), ("Dnipropetrovsk Oblast", "Dnipropetrovsk"), ("Кривий Ріг", "Dnipropetrovsk"),
        ("Zaporizhia", "Zaporizhzhia"), ("Запорізька область", "Zaporizhzhia"), ("АР Крим", "Crimea"),
        ("Севастополь", "Sevastopol"), ("Ivano-Frankivsk", "Ivano-Frankivsk"), ("Sumska oblast", "Sumy"),
        ("Mariupol", "Donetsk"), ("Lugansk", "Luhansk"), ("Закарпатська", "Zakarpattia"),
    ],
)
def test_normalise_region(name: str, region: str) -> None:
    assert normalise_region(name) == region


@pytest.mark.parametrize("name", ["", "Москва", "рівень води", "сума", "кримінальне провадження", "Belgorod"])
def test_not_a_region(name: str) -> None:
    assert normalise_region(name) is None


def test_find_regions_in_order_with_spans() -> None:
    text = "Russia attacked Kyiv region and Kharkiv, also Одещину"
    found = find_regions(text)
    assert [r for r, _, _ in found] == ["Kyiv", "Kharkiv", "Odesa"]
    assert [text[s:e] for _, s, e in found] == ["Kyiv region", "Kharkiv", "Одещину"]


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("Russia launched 400 drones", "en"), ("Росія запустила 400 дронів", "uk"),
        ("Россия запустила 400 беспилотников", "ru"), ("Зеленський провів розмову", "uk"),
        ("Путин провел переговоры", "ru"), ("Zażółć gęślą jaźń, ćma łódź", "other"), ("12345", "other"),
    ],
)
def test_detect_language(text: str, lang: str) -> None:
    assert detect_language(text) == lang
