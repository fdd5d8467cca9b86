"""The words of a Colombian address, and how a value is cut into tokens.

The vocabulary the address grammar (`_address_parser`) knows: street types with the
spellings and typos people type, quadrants, number markers, complements (``Apto.``,
``Torre``, ``Vereda``...) with the kind of value each takes, and how a word of free text
is cased. Keys are `spanish.plain` keys: case-folded, accents removed.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Final, Literal

from llm_normalize.postprocessors.spanish import (
    ADDRESS_PARTICLES,
    ADDRESS_PREPOSITIONS,
    ARTICLES,
    plain,
)
from llm_normalize.postprocessors.text import recase

Kind = Literal["word", "num", "punct"]
"""A letter run, a digit run, or one punctuation character."""


@dataclass(frozen=True, slots=True)
class Token:
    """One token of a cleaned value, where it stands and what it matches."""

    text: str
    kind: Kind
    key: str
    """Matching key: case-folded, accents removed (``"Nº"`` -> ``"no"``)."""
    start: int
    end: int
    spaced: bool
    """Whitespace stood before this token (``False`` for the ``A`` of ``45A``)."""


# Street types, by matching key. The keys are what people type: abbreviations with or
# without their dot, and the typos seen in real form data.
STREET_TYPES: Final[dict[str, str]] = {
    **dict.fromkeys(["calle", "cl", "cll", "clle", "cle", "call", "cale", "c"], "Calle"),
    **dict.fromkeys(
        ["carrera", "cra", "kra", "kr", "cr", "crr", "crra", "carrea", "carera", "karrera", "k"],
        "Cra.",
    ),
    **dict.fromkeys(["avenida", "av", "avda", "avd", "ave"], "Av."),
    "ac": "Av. Calle",
    "ak": "Av. Cra.",
    **dict.fromkeys(["diagonal", "dg", "diag", "dgl"], "Diagonal"),
    **dict.fromkeys(
        ["transversal", "trasversal", "tv", "tr", "trans", "transv", "trv", "tranv"],
        "Transversal",
    ),
    **dict.fromkeys(["circular", "cir", "circ", "cq"], "Circular"),
    **dict.fromkeys(["circunvalar", "circunv"], "Circunvalar"),
    **dict.fromkeys(["autopista", "autop", "au"], "Autopista"),
    "via": "Vía",
}
# Types that must be followed by a number to count: single letters, and "Vía", which is a
# street in Barranquilla ("Vía 40") but a road in the country ("Vía La Calera").
TYPES_NEEDING_NUMBER: Final = frozenset({"c", "k", "au", "via"})
# Long forms matched with one typo (a letter added, dropped, changed or swapped).
FUZZY_TYPES: Final[dict[str, str]] = {
    "carrera": "Cra.",
    "avenida": "Av.",
    "diagonal": "Diagonal",
    "transversal": "Transversal",
    "circular": "Circular",
    "circunvalar": "Circunvalar",
    "autopista": "Autopista",
}
AVENUE_KINDS: Final[dict[str, str]] = {"Calle": "Av. Calle", "Cra.": "Av. Cra."}

QUADRANTS: Final[dict[str, str]] = {
    "sur": "Sur",
    "este": "Este",
    "norte": "Norte",
    "oeste": "Oeste",
    "oriente": "Oriente",
    "occidente": "Occidente",
}
NUMBER_MARKERS: Final = frozenset({"no", "nro", "nr", "num", "numero", "n"})
MARKER_PUNCT: Final = frozenset({".", "°"})
DASHES: Final = frozenset("-‐‑‒–—―−")
SEPARATORS: Final = frozenset({",", ";", "."} | DASHES)
# Punctuation that stays inside a name when it has a letter or digit right on both sides:
# "Cali-Jamundí", "D'Andrea", "Sta.Rosa".
NAME_JOINERS: Final = frozenset({"'", ".", "/"} | DASHES)
ROMAN: Final = frozenset({"i", "ii", "iii", "iv", "v", "vi", "vii", "viii", "ix", "x"})

_ValueKind = Literal["number", "name", "either", "decimal"]


@dataclass(frozen=True, slots=True)
class Keyword:
    """A complement keyword: its canonical spelling and the kind of value it takes."""

    canonical: str
    value: _ValueKind
    rural: bool = False


def _keywords(
    canonical: str, value: _ValueKind, keys: str, rural: bool = False
) -> dict[str, Keyword]:
    return dict.fromkeys(keys.split(), Keyword(canonical, value, rural))


COMPLEMENTS: Final[dict[str, Keyword]] = {
    **_keywords("Apto.", "number", "apartamento apto apt ap aparta apartam"),
    **_keywords("Int.", "number", "interior int inter"),
    **_keywords("Torre", "number", "torre tor t"),
    **_keywords("Bloque", "number", "bloque bl blq bq"),
    **_keywords("Casa", "number", "casa cs"),
    **_keywords("Piso", "number", "piso p"),
    **_keywords("Of.", "number", "oficina of ofc ofi"),
    **_keywords("Local", "number", "local lc loc"),
    **_keywords("Mz.", "number", "manzana mz mza"),
    **_keywords("Etapa", "number", "etapa"),
    **_keywords("Bodega", "number", "bodega bod"),
    **_keywords("Lote", "either", "lote lt"),
    **_keywords("Sector", "either", "sector"),
    **_keywords("Conjunto", "name", "conjunto conj cjto"),
    **_keywords("Edificio", "name", "edificio ed edif"),
    **_keywords("Barrio", "name", "barrio br brr bario"),
    **_keywords("Urbanización", "name", "urbanizacion"),
    **_keywords("Km", "decimal", "km kilometro", rural=True),
    **_keywords("Vía", "name", "via", rural=True),
    **_keywords("Vereda", "name", "vereda vda", rural=True),
    **_keywords("Finca", "name", "finca", rural=True),
    **_keywords("Corregimiento", "name", "corregimiento", rural=True),
}


def tokenize(text: str) -> list[Token]:
    """Split cleaned text into digit runs, letter runs and single punctuation characters."""
    tokens: list[Token] = []
    index = 0
    spaced = False
    length = len(text)
    while index < length:
        char = text[index]
        if char.isspace():
            spaced = True
            index += 1
            continue
        end = index + 1
        kind: Kind
        if char.isdecimal():
            kind = "num"
            while end < length and text[end].isdecimal():
                end += 1
        elif char.isalpha():
            kind = "word"
            while end < length and (text[end].isalpha() or unicodedata.combining(text[end])):
                end += 1
        else:
            kind = "punct"
        piece = text[index:end]
        tokens.append(
            Token(piece, kind, plain(piece) if kind == "word" else piece, index, end, spaced)
        )
        spaced = False
        index = end
    return tokens


def _one_typo(word: str, target: str) -> bool:
    """True when `word` is `target` with one letter added, dropped, changed or swapped."""
    if word == target or abs(len(word) - len(target)) > 1:
        return False
    if len(word) == len(target):
        diffs = [i for i, (a, b) in enumerate(zip(word, target, strict=True)) if a != b]
        if len(diffs) == 1:
            return True
        return (
            len(diffs) == 2
            and diffs[1] == diffs[0] + 1
            and word[diffs[0]] == target[diffs[1]]
            and word[diffs[1]] == target[diffs[0]]
        )
    shorter, longer = sorted((word, target), key=len)
    return any(longer[:i] + longer[i + 1 :] == shorter for i in range(len(longer)))


def fuzzy_street_type(key: str) -> str | None:
    if len(key) < 6:
        return None
    found = {canonical for target, canonical in FUZZY_TYPES.items() if _one_typo(key, target)}
    return found.pop() if len(found) == 1 else None


def is_cased_letter(token: Token) -> bool:
    return (
        token.kind == "word" and len(token.text) == 1 and token.text.upper() != token.text.lower()
    )


def _lower(text: str) -> str:
    return text.lower() if text.isascii() else text


def case_word(token: Token, previous_key: str | None, first: bool) -> str:
    """Title-case one word of free text: particles lower-case, single letters upper-case.

    `first` is the first word of the whole value, always capitalised. A one-letter particle
    ("a", "o") is lower-case only after another word, so that "Conjunto A" keeps its letter;
    "y" and "e" ("and") are always particles.
    """
    if not first and token.text.isascii():
        if token.key in ADDRESS_PARTICLES and (
            token.key in {"y", "e"} or len(token.key) > 1 or previous_key is not None
        ):
            return _lower(token.text)
        if token.key in ARTICLES and previous_key in ADDRESS_PREPOSITIONS:
            return _lower(token.text)
    return recase(token.text)
