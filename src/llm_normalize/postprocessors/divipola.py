"""DANE's DIVIPOLA places, as the package data lists them: `Place` and the data loader.

The data is three CSV files of the package (see `docs/postprocessors/city.md`):
the departments with their aliases, the municipalities with their official names and
whether each is the preferred namesake, and further aliases of places.
`load_data` reads them into the indexes a `Gazetteer` matches against, by `place_key`.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Final

from llm_normalize.postprocessors.text import fold

__all__ = ["Department", "GazetteerData", "Place", "load_data", "place_key"]

_DATA_PACKAGE: Final = "llm_normalize.postprocessors"
_DATA_DIR: Final = "data"

# Abbreviations expanded inside matching keys: "Pto. López", "Sta Marta", "Sto Tomás".
_TOKEN_EXPANSIONS: Final = {"pto": "puerto", "sta": "santa", "sto": "santo"}

# A department on its own is recognised by its name, or by an alias this long ("valle",
# "guajira"), so that abbreviations such as "ant" or "bol" count only next to a city.
_MIN_DEPARTMENT_ONLY_KEY: Final = 5


@dataclass(frozen=True, slots=True)
class Place:
    """One DIVIPOLA place: a municipality, the Capital District or a non-municipal area.

    Attributes:
        name: The canonical name, as the post-processor writes it ("Medellín").
        department: The department's official name ("Antioquia"); Bogotá's is "Bogotá D.C.".
        code: The five-digit DIVIPOLA code ("05001"); its first two digits are the
            department's code.
    """

    name: str
    department: str
    code: str

    @property
    def department_code(self) -> str:
        """The two-digit DIVIPOLA code of the department ("05" for Antioquia)."""
        return self.code[:2]


@dataclass(frozen=True, slots=True)
class Department:
    """A department: its DIVIPOLA code, official name and short label."""

    code: str
    name: str
    label: str  # short form used in "Name (Label)" renderings


@dataclass(frozen=True, slots=True)
class GazetteerData:
    """Everything a gazetteer knows, indexed by `place_key`."""

    places: tuple[Place, ...]
    departments: Mapping[str, Department]
    department_keys: Mapping[str, str]  # key -> department code, abbreviations included
    standalone_department_keys: frozenset[str]  # keys that name a department on their own
    names: Mapping[str, tuple[Place, ...]]  # key of a canonical or official name -> places
    aliases: Mapping[str, tuple[Place, ...]]  # key of an alias -> places
    preferred: frozenset[str]  # DIVIPOLA codes


def place_key(value: str) -> str:
    """Return the matching key of `value`: `fold`, plus a few abbreviations expanded."""
    words = fold(value).split()
    return " ".join(_TOKEN_EXPANSIONS.get(word, word) for word in words)


def _read_csv(name: str) -> list[dict[str, str]]:
    text = resources.files(_DATA_PACKAGE).joinpath(_DATA_DIR, name).read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    return list(csv.DictReader(lines))


def _add(index: dict[str, tuple[Place, ...]], key: str, place: Place) -> None:
    current = index.get(key, ())
    if place not in current:
        index[key] = (*current, place)


def load_data() -> GazetteerData:
    """Read the package's DIVIPOLA data (callers cache the result)."""
    departments: dict[str, Department] = {}
    department_keys: dict[str, str] = {}
    standalone: set[str] = set()
    for row in _read_csv("departments.csv"):
        department = Department(row["code"], row["name"], row["label"])
        departments[department.code] = department
        own_keys = {place_key(department.name), place_key(department.label)}
        alias_keys = {place_key(alias) for alias in row["aliases"].split("|")} - {""}
        standalone |= own_keys
        standalone |= {key for key in alias_keys if len(key) >= _MIN_DEPARTMENT_ONLY_KEY}
        for key in own_keys | alias_keys:
            department_keys.setdefault(key, department.code)
    places: list[Place] = []
    names: dict[str, tuple[Place, ...]] = {}
    aliases: dict[str, tuple[Place, ...]] = {}
    preferred: set[str] = set()
    by_code: dict[str, Place] = {}
    for row in _read_csv("municipalities.csv"):
        place = Place(row["name"], departments[row["code"][:2]].name, row["code"])
        places.append(place)
        by_code[place.code] = place
        _add(names, place_key(place.name), place)
        if row["official_name"]:
            _add(aliases, place_key(row["official_name"]), place)
        if row["preferred"]:
            preferred.add(place.code)
    for row in _read_csv("aliases.csv"):
        _add(aliases, place_key(row["alias"]), by_code[row["code"]])
    return GazetteerData(
        places=tuple(places),
        departments=departments,
        department_keys=department_keys,
        standalone_department_keys=frozenset(standalone),
        names=names,
        aliases=aliases,
        preferred=frozenset(preferred),
    )
