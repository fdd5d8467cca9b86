"""DANE's DIVIPOLA places, as the package data lists them: `Place` and the data loader.

The data is three CSV files of the package (see `docs/postprocessors/city.md`):
the departments with their aliases, the municipalities with their official names and
whether each is the preferred namesake, and further aliases of places.
`load_data` reads them into the indexes a `Gazetteer` matches against, by `place_key`,
and derives the short forms people call places by (`short_forms`): the name without its
leading article ("La Calera": "Calera") or without a trailing qualifier ("San Andrés de
Cuerquía": "San Andrés"). A short form that another place is named or called makes that
name shared, so that the gazetteer knows which names are ambiguous.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from typing import Final

from llm_normalize.postprocessors.text import fold

__all__ = ["Department", "GazetteerData", "Place", "load_data", "place_key", "short_forms"]

_DATA_PACKAGE: Final = "llm_normalize.postprocessors"
_DATA_DIR: Final = "data"

# Abbreviations expanded inside matching keys: "Pto. López", "Sta Marta", "Sto Tomás".
_TOKEN_EXPANSIONS: Final = {"pto": "puerto", "sta": "santa", "sto": "santo"}

# A department on its own is recognised by its name, or by an alias this long ("valle",
# "guajira"), so that abbreviations such as "ant" or "bol" count only next to a city.
_MIN_DEPARTMENT_ONLY_KEY: Final = 5

# Short forms (`short_forms`): a leading article dropped, or a trailing qualifier starting
# with one of these prepositions ("San Andrés de Cuerquía", "Cartagena del Chairá").
_LEADING_ARTICLES: Final = frozenset({"el", "la", "los", "las"})
_QUALIFIER_PREPOSITIONS: Final = frozenset({"de", "del"})

# The `preferred` column: a place preferred over its namesakes only, or also over every place
# that shortens to its name or is also called by it.
_PREFERRED_OVER_NAMESAKES: Final = "namesakes"
_PREFERRED_OVER_ALL: Final = "all"


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
    aliases: Mapping[str, tuple[Place, ...]]  # key of an alias of the data -> places
    preferred: frozenset[str]  # DIVIPOLA codes preferred over their namesakes
    # Codes also preferred over the places that shorten to their name or are called by it.
    dominant: frozenset[str] = frozenset()
    # Key of a short form that counts (see `load_data`) -> the places it shortens.
    readings: Mapping[str, tuple[Place, ...]] = field(default_factory=dict)
    # Key of a user alias (`Gazetteer.with_aliases`) -> its one place; replaces the others.
    custom: Mapping[str, tuple[Place, ...]] = field(default_factory=dict)


def place_key(value: str) -> str:
    """Return the matching key of `value`: `fold`, plus a few abbreviations expanded."""
    words = fold(value).split()
    return " ".join(_TOKEN_EXPANSIONS.get(word, word) for word in words)


def short_forms(name: str) -> list[tuple[str, bool]]:
    """Return the keys of the shorter forms a place name is called by, and which drop an article.

    Each item is (key, whole): `whole` is True for the name without its leading article
    ("La Jagua de Ibirico": "jagua de ibirico"), False for the name cut before a trailing
    qualifier ("San Andrés de Cuerquía": "san andres"; "La Jagua de Ibirico": "la jagua" and
    "jagua"). These are readings, not aliases: many are common words or surnames ("Gloria",
    "Castillo", "Juan"), so the gazetteer counts them only where they make a name shared
    or, without an article, still have two words.

    Examples:
        >>> short_forms("El Santuario")
        [('santuario', True)]
        >>> short_forms("San Andrés de Cuerquía")
        [('san andres', False)]
    """
    words = place_key(name).split()
    article = len(words) > 1 and words[0] in _LEADING_ARTICLES
    forms: dict[str, bool] = {}
    if article:
        forms[" ".join(words[1:])] = True
    for index in range(1, len(words)):
        if words[index] in _QUALIFIER_PREPOSITIONS:
            forms.setdefault(" ".join(words[:index]), False)
            if article and index > 1:
                forms.setdefault(" ".join(words[1:index]), False)
    return list(forms.items())


def _readings(
    places: tuple[Place, ...],
    names: Mapping[str, tuple[Place, ...]],
    aliases: Mapping[str, tuple[Place, ...]],
    department_keys: Mapping[str, str],
) -> dict[str, tuple[Place, ...]]:
    """Index the short forms that count: shared with another place, or two words long.

    A short form counts when it is also a name or an alias ("santuario": Santuario and El
    Santuario), when several places shorten to it ("san vicente", "la union" without its
    article), or when it is a whole name without its article and still has two words
    ("carmen de bolivar"). A department's name counts only where it is a place's name too
    ("San Andrés"): otherwise it stays the department ("Valle", not Valle de San Juan).
    """
    found: dict[str, tuple[Place, ...]] = {}
    whole: set[str] = set()
    for place in places:
        own = place_key(place.name)
        for key, article_only in short_forms(place.name):
            if key == own or (key in department_keys and key not in names):
                continue
            _add(found, key, place)
            if article_only and " " in key:
                whole.add(key)
    counted: dict[str, tuple[Place, ...]] = {}
    for key, readers in found.items():
        others = {*names.get(key, ()), *aliases.get(key, ())} - set(readers)
        if others or len(readers) > 1 or key in whole:
            counted[key] = readers
    return counted


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
    dominant: set[str] = set()
    by_code: dict[str, Place] = {}
    for row in _read_csv("municipalities.csv"):
        place = Place(row["name"], departments[row["code"][:2]].name, row["code"])
        places.append(place)
        by_code[place.code] = place
        _add(names, place_key(place.name), place)
        if row["official_name"]:
            _add(aliases, place_key(row["official_name"]), place)
        if row["preferred"] in {_PREFERRED_OVER_NAMESAKES, _PREFERRED_OVER_ALL}:
            preferred.add(place.code)
        if row["preferred"] == _PREFERRED_OVER_ALL:
            dominant.add(place.code)
    for row in _read_csv("aliases.csv"):
        _add(aliases, place_key(row["alias"]), by_code[row["code"]])
    all_places = tuple(places)
    return GazetteerData(
        places=all_places,
        departments=departments,
        department_keys=department_keys,
        standalone_department_keys=frozenset(standalone),
        names=names,
        aliases=aliases,
        preferred=frozenset(preferred),
        dominant=frozenset(dominant),
        readings=_readings(all_places, names, aliases, department_keys),
    )
