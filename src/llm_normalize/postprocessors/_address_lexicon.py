"""The words of a Colombian address, and how a value is cut into tokens.

The vocabulary the address grammar (`_address_parser`) knows: street types with the
spellings and typos people type, quadrants, number markers, complements (``Apto.``,
``Torre``, ``Vereda``...) with the kind of value each takes, the names of places that may
stand before or after an address, and how a word of free text is cased. Keys are
`spanish.plain` keys: case-folded, accents removed.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass
from typing import Final, Literal

from llm_normalize.postprocessors.divipola import load_data
from llm_normalize.postprocessors.spanish import (
    ADDRESS_PARTICLES,
    ADDRESS_PREPOSITIONS,
    ARTICLES,
    plain,
)
from llm_normalize.postprocessors.text import recase

Kind = Literal["word", "num", "punct"]
"""A letter run, a digit run, or one punctuation character."""


# Not frozen: a frozen dataclass sets each field through `object.__setattr__`, three times
# slower, and every address makes a dozen tokens. Nothing changes a token once made.
@dataclass(slots=True)
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
    # The avenue types, also typed as one word ("AVCL", the DIAN's "AC" and "AK").
    **dict.fromkeys(["ac", "avcl", "avcll", "avcalle"], "Av. Calle"),
    **dict.fromkeys(["ak", "avkr", "avcr", "avcra"], "Av. Cra."),
    **dict.fromkeys(["diagonal", "dg", "diag", "dgl"], "Diagonal"),
    **dict.fromkeys(
        ["transversal", "trasversal", "tv", "tr", "trans", "transv", "trv", "tranv"],
        "Transversal",
    ),
    **dict.fromkeys(["circular", "cir", "circ", "cq"], "Circular"),
    **dict.fromkeys(["circunvalar", "circunv"], "Circunvalar"),
    **dict.fromkeys(["autopista", "autop", "aut", "au"], "Autopista"),
    **dict.fromkeys(["via", "vi"], "Vía"),
}
# Types that must be followed by a number to count: single letters, and "Vía", which is a
# street in Barranquilla ("Vía 40", "VI 40") but a road in the country ("Vía La Calera");
# "VI" is also a Roman numeral ("Etapa VI").
TYPES_NEEDING_NUMBER: Final = frozenset({"c", "k", "au", "via", "vi"})
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
    "nte": "Norte",
    "oeste": "Oeste",
    "oriente": "Oriente",
    "occidente": "Occidente",
}
NUMBER_MARKERS: Final = frozenset({"no", "nro", "nr", "num", "numero", "n"})
NORTH_LETTER: Final = "n"
"""A lone "N" after a street or cross number: Cali's and Cúcuta's Norte, or "número"."""
MARKER_PUNCT: Final = frozenset({".", "°"})
DASHES: Final = frozenset("-‐‑‒–—―−")
SEPARATORS: Final = frozenset({",", ";", ".", "/"} | DASHES)
# The word between two streets that names their corner: "Calle 45 con Cra. 13".
CORNER: Final = "con"
# Punctuation that stays inside a name when it has a letter or digit right on both sides:
# "Cali-Jamundí", "D'Andrea", "Sta.Rosa".
NAME_JOINERS: Final = frozenset({"'", ".", "/"} | DASHES)
ROMAN: Final = frozenset({"i", "ii", "iii", "iv", "v", "vi", "vii", "viii", "ix", "x"})

_ValueKind = Literal["number", "name", "either", "decimal"]
Role = Literal["place", "unit", "rural", "other"]
"""What a complement locates: a named place (``Barrio``, ``Conjunto``...), a unit in it
(``Mz.``, ``Casa``, ``Apto.``...), a rural place, or neither (``Etapa``, ``Sector``)."""


@dataclass(frozen=True, slots=True)
class Keyword:
    """A complement keyword: its canonical spelling, the kind of value it takes, its role."""

    canonical: str
    value: _ValueKind
    role: Role = "other"

    @property
    def rural(self) -> bool:
        """Whether the keyword names a rural place (its names are free text)."""
        return self.role == "rural"


def _keywords(canonical: str, value: _ValueKind, keys: str, role: Role) -> dict[str, Keyword]:
    return dict.fromkeys(keys.split(), Keyword(canonical, value, role))


COMPLEMENTS: Final[dict[str, Keyword]] = {
    **_keywords("Apto.", "number", "apartamento apto apt ap aparta apartam", "unit"),
    # "In", "To", "Ca", "Pi", "Et", "Ofic", "Sec", "Urb": the DIAN's standard abbreviations.
    **_keywords("Int.", "number", "interior int inter in", "unit"),
    **_keywords("Torre", "number", "torre tor to t", "unit"),
    **_keywords("Bloque", "number", "bloque bl blq bq", "unit"),
    **_keywords("Casa", "number", "casa cs ca", "unit"),
    **_keywords("Piso", "number", "piso pi p", "unit"),
    **_keywords("Of.", "number", "oficina of ofc ofi ofic", "unit"),
    **_keywords("Consultorio", "number", "consultorio cons", "unit"),
    **_keywords("Local", "number", "local lc loc", "unit"),
    **_keywords("Mz.", "number", "manzana mz mza mzna mnz mzn manz", "unit"),
    **_keywords("Etapa", "number", "etapa et", "other"),
    **_keywords("Bodega", "number", "bodega bod", "unit"),
    **_keywords("Lote", "either", "lote lt", "unit"),
    **_keywords("Sector", "either", "sector sec sect", "other"),
    **_keywords("Conjunto", "name", "conjunto conj cjto", "place"),
    **_keywords("Edificio", "name", "edificio ed edif edf", "place"),
    **_keywords("Barrio", "name", "barrio br brr bario", "place"),
    **_keywords("Urbanización", "name", "urbanizacion urb", "place"),
    **_keywords("Ciudadela", "name", "ciudadela cdla", "place"),
    **_keywords("Condominio", "name", "condominio", "place"),
    **_keywords("C.C.", "name", "cc", "place"),
    **_keywords("Km", "decimal", "km kilometro", "rural"),
    **_keywords("Vía", "name", "via", "rural"),
    **_keywords("Vereda", "name", "vereda vda", "rural"),
    **_keywords("Finca", "name", "finca fca", "rural"),
    **_keywords("Hacienda", "name", "hacienda hda", "rural"),
    **_keywords("Parcela", "either", "parcela", "rural"),
    **_keywords("Corregimiento", "name", "corregimiento correg", "rural"),
}
# The DIAN's two-letter codes that are also syllables: keywords only apart from what comes
# before them ("CA 4" is Casa 4, "30CA" is not).
SPACED_CODES: Final = frozenset({"in", "to", "ca", "pi", "et"})
# Keywords of two words, by the keys of both ("Conj. Res." is "conj" then "res").
PHRASES: Final[dict[tuple[str, str], Keyword]] = {
    **{
        (first, second): Keyword("Conjunto Residencial", "name", "place")
        for first in ("conjunto", "conj", "cjto")
        for second in ("residencial", "res", "resid")
    },
    ("unidad", "residencial"): Keyword("Unidad Residencial", "name", "place"),
    ("centro", "comercial"): Keyword("Centro Comercial", "name", "place"),
}
# A keyword typed as initials with periods: "C.C." is "CC" (centro comercial).
INITIALS: Final[dict[str, Keyword]] = {"cc": COMPLEMENTS["cc"]}
# Words that start a phone number pasted after an address: a name stops there.
PHONE_WORDS: Final = frozenset({"tel", "telefono", "cel", "celular", "movil", "whatsapp", "fijo"})
# Quadrants a tower or block is named by: "Torre Sur".
NAMED_UNITS: Final = frozenset({"Torre", "Bloque"})


# A word glued to a number that is its letter (doubled in Medellín: "50FF"), Bis, a second
# letter and a quadrant, all typed as one: "17AN" (17A Norte), "7DBIS", "1ASUR".
_SUFFIX_WORD: Final = re.compile(
    r"(?P<letter>([a-z])\2?)(?P<bis>bis(?P<second>[a-z])?)?(?P<quadrant>n|sur|este|norte|oeste)?"
)


@dataclass(frozen=True, slots=True)
class SuffixWord:
    """The parts of a suffix typed as one word: letter(s), Bis, second letter, quadrant key."""

    letter: str
    bis: bool
    second: str
    quadrant: str


def split_suffix_word(token: Token) -> SuffixWord | None:
    """Read a word of two or more letters glued to a number as its suffix ("AN", "DBIS", "FF")."""
    key = token.key
    if token.kind != "word" or len(key) < 2 or key in QUADRANTS or not token.text.isascii():
        return None
    match = _SUFFIX_WORD.fullmatch(key)
    if match is None:
        return None
    return SuffixWord(
        match["letter"].upper(),
        match["bis"] is not None,
        (match["second"] or "").upper(),
        match["quadrant"] or "",
    )


@functools.cache
def place_keys() -> frozenset[str]:
    """The keys of the places that may stand before or after an address, words joined by spaces.

    Every municipality (name, official name and aliases), every department and its
    abbreviations, the country, and Bogotá's localities: "Cali", "Valle del Cauca",
    "Bogotá D.C.", "Kennedy".
    """
    data = load_data()
    return frozenset(
        set(data.names) | set(data.aliases) | set(data.department_keys) | _OTHER_PLACES
    )


# Bogotá's localities, written after an address like a town ("Suba, Bogotá"), and the country.
_OTHER_PLACES: Final = frozenset(
    {
        "colombia",
        "usaquen",
        "chapinero",
        "santa fe",
        "san cristobal",
        "usme",
        "tunjuelito",
        "bosa",
        "kennedy",
        "fontibon",
        "engativa",
        "suba",
        "barrios unidos",
        "teusaquillo",
        "los martires",
        "antonio narino",
        "puente aranda",
        "la candelaria",
        "rafael uribe uribe",
        "ciudad bolivar",
        "sumapaz",
    }
)
# The words of the longest place name ("Archipiélago de San Andrés, Providencia y Santa
# Catalina").
MAX_PLACE_WORDS: Final = 8


def tokenize(text: str) -> list[Token]:
    """Split cleaned text into digit runs, letter runs and single punctuation characters."""
    # One character at a time: a regular expression over the same classes (`\s`, `\d` and
    # letters, checked) measured no faster on addresses, whose cost is the tokens made.
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
