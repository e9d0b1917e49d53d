"""Weapon models of strike reports mapped to drones or missiles (and the missile class).

The table is the bundled `data/missiles_and_uavs.csv`; a few models seen in real reports but missing from it
are added here, and combined models ("X-101/X-555 and Kalibr") take the class of their parts.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from typing import Literal

WeaponKind = Literal["drone", "missile", "other"]
MissileClass = Literal["ballistic", "cruise", "guided", "other"]

# Real report models absent from the table: two Russian UAV families and an unguided bomb.
_EXTRA = {"фенікс": "UAV", "картограф": "UAV", "привет-82": "UAV", "aerial bomb": "bomb"}


@dataclass(frozen=True)
class Weapon:
    """What a model name means for the counts: drones or missiles, which missile class, and whether the drone
    only watches (a reconnaissance drone shot down is not part of an attack's salvo)."""

    kind: WeaponKind
    missile_class: MissileClass | None = None
    reconnaissance: bool = False


def _weapon_of(category: str, use: str = "") -> Weapon:
    category = category.lower()
    if category == "uav":
        return Weapon("drone", reconnaissance=use.strip().lower() == "reconnaissance")
    if "ballistic" in category:
        return Weapon("missile", "ballistic")
    if "cruise" in category:
        return Weapon("missile", "cruise")
    if "surface-to-air" in category:
        return Weapon("missile", "other")
    if "guided" in category:
        return Weapon("missile", "guided")
    return Weapon("other")


@cache
def _table() -> dict[str, Weapon]:
    text = files("streams").joinpath("data/missiles_and_uavs.csv").read_text(encoding="utf-8")
    table = {
        row["model"].strip().lower(): _weapon_of(row["category"], row["type"])
        for row in csv.DictReader(text.splitlines())
    }
    table.update({model: _weapon_of(category) for model, category in _EXTRA.items()})
    return table


def classify_weapon(model: str) -> Weapon:
    """The weapon behind a report's model name; unknown names fall back on words in the name itself."""
    key = model.strip().lower()
    table = _table()
    if key in table:
        return table[key]
    parts = [table.get(part.strip()) for part in key.split(" and ")]
    known = [part for part in parts if part is not None]
    if known:
        return known[0]
    if any(word in key for word in ("uav", "drone", "shahed", "geran")):
        return Weapon("drone", reconnaissance="reconnaissance" in key)
    if "missile" in key:
        return Weapon("missile", "ballistic" if "ballistic" in key else "other")
    return Weapon("other")
