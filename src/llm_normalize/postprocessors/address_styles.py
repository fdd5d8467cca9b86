"""Address styles: one address written the seed's way, in full words, or in the cadastral codes.

The address grammar (`_address_parser`) reads a value and renders it in one canonical form,
``Calle 45A Bis Sur # 12 - 30 Apto. 301``. A style is applied after that, as a separate step,
to the pieces the grammar recognised: the street type and each complement keyword take the
style's spelling, and the code style also writes everything in capitals without ``#`` and
``-``:

- ``"abbreviated"`` (the seed's, the default): ``Cl. 45A Bis Sur # 12 - 30 Apto. 301``;
- ``"full"``: ``Calle 45A Bis Sur # 12 - 30 Apartamento 301``;
- ``"code"`` (the cadastral codes): ``CL 45A BIS SUR 12 30 APTO 301``;
- ``"legacy"`` (deprecated): the canonical form itself, which earlier versions wrote.

A style never changes what the address says: the styled value must read back as the same
canonical form (a piece that would not read back keeps a spelling that does, and an unsure
value that still would not keeps the canonical form; see `restyle`). So
every style is idempotent and keeps every digit, letter and ``Bis``, and converting from one
style to another and back gives the first output again.

The grammar's lexicon does not know every code of the official tables, so `read_address`
reads those codes (``CA 5``, ``PI 4``, ``BG 1``, ``CCV 5``...) as their keywords before
parsing; a code the lexicon learns is left to it. A canonical spelling these tables do not
know (a street type or complement added to the lexicon later) passes through unchanged.
"""

from __future__ import annotations

import functools
import re
import warnings
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Final, Literal, NamedTuple, TypeAlias, get_args

from llm_normalize.exceptions import ConfigurationError
from llm_normalize.postprocessors._address_lexicon import (
    COMPLEMENTS,
    NUMBER_MARKERS,
    ROMAN,
    SEPARATORS,
    STREET_TYPES,
    Token,
    is_cased_letter,
    tokenize,
)
from llm_normalize.postprocessors._address_parser import Parse, Piece, parse
from llm_normalize.postprocessors.base import Outcome
from llm_normalize.postprocessors.spanish import plain
from llm_normalize.postprocessors.text import clean_text

__all__ = [
    "ADDRESS_STYLES",
    "COMPLEMENT_SPELLINGS",
    "DEFAULT_ADDRESS_STYLE",
    "STREET_TYPE_SPELLINGS",
    "AddressStyle",
    "Spellings",
    "check_address_style",
    "read_address",
    "restyle",
    "warn_if_deprecated",
]

AddressStyle: TypeAlias = Literal["abbreviated", "full", "code", "legacy"]
"""How an address is written: ``"abbreviated"`` (the seed's, the default), ``"full"``,
``"code"`` (the cadastral codes), or ``"legacy"`` (the output of earlier versions,
deprecated)."""

ADDRESS_STYLES: Final[tuple[AddressStyle, ...]] = get_args(AddressStyle)
"""Every address style, the default first."""

DEFAULT_ADDRESS_STYLE: Final[AddressStyle] = "abbreviated"
"""The seed's style: ``Cl. 45A Bis Sur # 12 - 30``."""


class Spellings(NamedTuple):
    """How one keyword of the canonical form is written in each style."""

    abbreviated: str
    full: str
    code: str


# Street types, by the grammar's canonical spelling. The code column follows the cadastral
# table ("Nomenclatura catastral", as republished by UIAF in 2025); the DIAN writes CR for
# Carrera, CRV for Circunvalar and AUT for Autopista, which are read as input too.
STREET_TYPE_SPELLINGS: Final[Mapping[str, Spellings]] = MappingProxyType(
    {
        "Calle": Spellings("Cl.", "Calle", "CL"),
        "Cra.": Spellings("Cra.", "Carrera", "KR"),
        "Av.": Spellings("Av.", "Avenida", "AV"),
        "Av. Calle": Spellings("Ac.", "Avenida Calle", "AC"),
        "Av. Cra.": Spellings("Ak.", "Avenida Carrera", "AK"),
        "Diagonal": Spellings("Dg.", "Diagonal", "DG"),
        "Transversal": Spellings("Tr.", "Transversal", "TV"),
        "Circular": Spellings("Cir.", "Circular", "CIR"),
        "Circunvalar": Spellings("Circunv.", "Circunvalar", "CCV"),
        "Autopista": Spellings("Autop.", "Autopista", "AUTOP"),
        # "Vía" keeps the accent as typed (none is ever added), so its code does too.
        "Vía": Spellings("Vía", "Vía", "VÍA"),
        "Via": Spellings("Via", "Via", "VIA"),
    }
)
"""Each street type of the canonical form, in each style."""

# Complement keywords, by canonical spelling. The abbreviated style keeps the canonical ones.
COMPLEMENT_SPELLINGS: Final[Mapping[str, Spellings]] = MappingProxyType(
    {
        "Apto.": Spellings("Apto.", "Apartamento", "APTO"),
        "Int.": Spellings("Int.", "Interior", "IN"),
        "Torre": Spellings("Torre", "Torre", "TO"),
        "Bloque": Spellings("Bloque", "Bloque", "BL"),
        "Casa": Spellings("Casa", "Casa", "CA"),
        "Piso": Spellings("Piso", "Piso", "PI"),
        "Of.": Spellings("Of.", "Oficina", "OF"),
        "Local": Spellings("Local", "Local", "LC"),
        "Mz.": Spellings("Mz.", "Manzana", "MZ"),
        "Etapa": Spellings("Etapa", "Etapa", "ET"),
        "Bodega": Spellings("Bodega", "Bodega", "BG"),
        "Lote": Spellings("Lote", "Lote", "LT"),
        "Sector": Spellings("Sector", "Sector", "SEC"),
        "Conjunto": Spellings("Conjunto", "Conjunto", "CONJ"),
        "Edificio": Spellings("Edificio", "Edificio", "ED"),
        "Barrio": Spellings("Barrio", "Barrio", "BR"),
        "Urbanización": Spellings("Urbanización", "Urbanización", "URB"),
        "Consultorio": Spellings("Consultorio", "Consultorio", "CONSULTORIO"),
        "Ciudadela": Spellings("Ciudadela", "Ciudadela", "CIUDADELA"),
        "Condominio": Spellings("Condominio", "Condominio", "CONDOMINIO"),
        "Conjunto Residencial": Spellings(
            "Conjunto Residencial", "Conjunto Residencial", "CONJUNTO RESIDENCIAL"
        ),
        "Unidad Residencial": Spellings(
            "Unidad Residencial", "Unidad Residencial", "UNIDAD RESIDENCIAL"
        ),
        "C.C.": Spellings("C.C.", "Centro Comercial", "CC"),
        "Centro Comercial": Spellings("Centro Comercial", "Centro Comercial", "CENTRO COMERCIAL"),
        "Km": Spellings("Km", "Kilómetro", "KM"),
        "Vía": Spellings("Vía", "Vía", "VÍA"),
        "Via": Spellings("Via", "Via", "VIA"),
        "Vereda": Spellings("Vereda", "Vereda", "VDA"),
        "Finca": Spellings("Finca", "Finca", "FINCA"),
        "Hacienda": Spellings("Hacienda", "Hacienda", "HACIENDA"),
        "Parcela": Spellings("Parcela", "Parcela", "PARCELA"),
        "Corregimiento": Spellings("Corregimiento", "Corregimiento", "CORREGIMIENTO"),
    }
)
"""Each complement keyword of the canonical form, in each style."""

# Codes of the DIAN's table that differ from the cadastral ones: read as input, never written.
_DIAN_STREET_CODES: Final = {"crv": "Circunvalar", "aut": "Autopista"}
_DIAN_COMPLEMENT_CODES: Final = {"vrd": "Vereda"}

_STYLE_SET: Final = frozenset(ADDRESS_STYLES)
_PLATE_MARKS: Final = ("#", "-")
# Street types longest first, so that "Av. Calle" is matched before "Av.".
_STREET_PREFIXES: Final = sorted(STREET_TYPE_SPELLINGS, key=len, reverse=True)
_COMPLEMENT_PREFIXES: Final = sorted(COMPLEMENT_SPELLINGS, key=len, reverse=True)


def check_address_style(style: object) -> AddressStyle:
    """Return `style` if it names an address style.

    Raises:
        ConfigurationError: `style` is not one of `ADDRESS_STYLES`.
    """
    if isinstance(style, str) and style in _STYLE_SET:
        return style
    raise ConfigurationError(
        f"unknown address style {style!r}; use one of {', '.join(ADDRESS_STYLES)}"
    )


def warn_if_deprecated(style: AddressStyle, *, stacklevel: int = 3) -> None:
    """Warn (`DeprecationWarning`) when `style` is ``"legacy"``, where a caller selects it.

    Args:
        style: The style selected.
        stacklevel: Where the warning points, as for `warnings.warn`: the default is the
            caller of the function that calls this one.
    """
    if style == "legacy":
        warnings.warn(
            "the 'legacy' address style is deprecated: it keeps the output of earlier "
            "versions (Calle, Diagonal, Transversal and Av. Calle written out, Cra. "
            "abbreviated) for a transition; move to 'abbreviated' (the default), 'full' or "
            "'code'",
            DeprecationWarning,
            stacklevel=stacklevel,
        )


# Reading codes back ----------------------------------------------------------------------


class _Code(NamedTuple):
    """A code the lexicon does not know: the word to read it as, and where it counts."""

    word: str
    canonical: str
    street: bool
    value: str  # what a complement takes: "number", "name" or "either" (`Keyword.value`)


def _unknown_codes() -> dict[str, _Code]:
    """The written spellings of every style, and the DIAN's codes, that the lexicon misses."""
    codes: dict[str, _Code] = {}
    for canonical, spellings in STREET_TYPE_SPELLINGS.items():
        for spelling in spellings:
            key = plain(spelling.rstrip("."))
            if " " not in key and key not in STREET_TYPES:
                codes[key] = _Code(spellings.full, canonical, street=True, value="number")
    for key, word in _DIAN_STREET_CODES.items():
        if key not in STREET_TYPES:
            codes[key] = _Code(word, word, street=True, value="number")
    complements = [(s.full, s) for s in COMPLEMENT_SPELLINGS.values()]
    complements += [
        (word, Spellings(key, word, key)) for key, word in _DIAN_COMPLEMENT_CODES.items()
    ]
    for word, spellings in complements:
        keyword = COMPLEMENTS.get(plain(word))
        if keyword is None:
            continue  # a word the lexicon does not read: nothing to read it as
        for spelling in spellings:
            key = plain(spelling.rstrip("."))
            if key not in COMPLEMENTS:
                codes[key] = _Code(word, keyword.canonical, street=False, value=keyword.value)
    return codes


def _value_length(tokens: list[Token], k: int, value: str) -> int:
    """The length of the value a complement keyword reads at token `k`, or 0 if none.

    An underestimate for names (the words after a space, up to the next keyword or mark),
    so that a code is never read where the grammar would not expand its keyword.
    """
    if k >= len(tokens) or not tokens[k].spaced:
        return 0
    token = tokens[k]
    if value in ("number", "either") and (
        token.kind == "num"
        or (is_cased_letter(token) and token.key != "y")
        or (token.kind == "word" and token.key in ROMAN and token.text.isascii())
    ):
        return len(token.text)
    if value not in ("name", "either"):
        return 0
    end = k
    while (
        end < len(tokens)
        and (end == k or tokens[end].spaced)
        and tokens[end].kind in ("word", "num")
        and tokens[end].key not in NUMBER_MARKERS
        and tokens[end].key not in COMPLEMENTS
        and tokens[end].key not in _CODES
    ):
        end += 1
    return tokens[end - 1].end - token.start if end > k else 0


def _reads_as_code(tokens: list[Token], k: int, code: _Code, first: int) -> bool:
    """Whether the code at token `k` stands where its keyword would."""
    after = k + 1
    if after < len(tokens) and tokens[after].text == "." and not tokens[after].spaced:
        after += 1  # "IN. 2": a period glued to the code
    if code.street:
        return (
            k == first
            and after < len(tokens)
            and tokens[after].kind == "num"
            and tokens[after].spaced
        )
    token = tokens[k]
    gap = token.spaced or (k > 0 and tokens[k - 1].kind == "punct")
    if k > 0 and not gap:
        return False  # glued to a word or number: "30CA"
    length = _value_length(tokens, after, code.value)
    if not length:
        return False
    # The grammar expands a keyword only where its canonical spelling at most doubles the
    # text it replaces (what bounds the output's length): read a code only there too.
    replaced = tokens[after].start - token.start + length + (1 if gap else 0)
    return len(code.canonical) + 1 + length + 1 <= 2 * replaced


def read_address(text: str) -> Parse:
    """Parse a cleaned address, reading the style codes the lexicon does not know.

    A code counts only where its keyword would: a street type's code as the first word,
    before a number (``CCV 5``), a complement's code after a space and before its value
    (``CA 5``, ``PI 4``, ``VRD El Salitre``), where its keyword's spelling at most
    doubles what was typed. It is read as its full word; everywhere else it is a word like
    any other.
    """
    if _CODE_WORDS is None or not _CODE_WORDS.search(text):
        return parse(text)  # nothing to read: most values, so no second tokenization
    tokens = tokenize(text)
    first = next((k for k, t in enumerate(tokens) if t.text not in SEPARATORS), len(tokens))
    edits = [
        (token, code.word)
        for k, token in enumerate(tokens)
        if token.kind == "word"
        and (code := _CODES.get(token.key)) is not None
        and _reads_as_code(tokens, k, code, first)
    ]
    for token, word in reversed(edits):
        text = text[: token.start] + word + text[token.end :]
    return parse(text)


_CODES: Final = _unknown_codes()
# A quick test for the codes, on the typed text (they are ASCII words).
_CODE_WORDS: Final = (
    re.compile(r"(?<![^\W\d_])(?:" + "|".join(sorted(_CODES)) + r")(?![^\W\d_])", re.IGNORECASE)
    if _CODES
    else None
)


# Writing a style -----------------------------------------------------------------------


def _upper(text: str) -> str:
    """Upper-case `text` where each letter's case pair leads back to it (``µ`` is kept)."""
    out = []
    for char in text:
        upper = char.upper()
        out.append(upper if len(upper) == 1 and upper.lower() == char else char)
    return "".join(out)


def _split(text: str, prefixes: Iterable[str]) -> tuple[str, str] | None:
    """(keyword, rest) when `text` starts with one of `prefixes` as a whole word."""
    for prefix in prefixes:
        if text == prefix or text.startswith(prefix + " "):
            return prefix, text[len(prefix) + 1 :]
    return None


def _joined(keyword: str, rest: str) -> str:
    return f"{keyword} {rest}" if rest else keyword


def _rest_words(rest: str, style: AddressStyle, *, types: bool) -> list[str]:
    """The words after the street type in `style`: in capitals in the code style.

    With `types`, the type of a second street before its number takes the style's spelling
    too: "Cra. 12 Calle 31 - 54", "Calle 45 con Cra. 13".
    """
    words = rest.split(" ") if rest else []
    out: list[str] = []
    i = 0
    while i < len(words):
        for size in (2, 1):
            phrase = " ".join(words[i : i + size])
            if (
                types
                and i + size < len(words)
                and phrase in STREET_TYPE_SPELLINGS
                and words[i + size][:1].isdecimal()
            ):
                out.append(getattr(STREET_TYPE_SPELLINGS[phrase], style))
                i += size
                break
        else:
            out.append(_upper(words[i]) if style == "code" else words[i])
            i += 1
    return out


def _head_variants(keyword: str, rest: str, style: AddressStyle) -> list[str]:
    """The street and plate in `style`, the most styled first."""
    spelled = getattr(STREET_TYPE_SPELLINGS[keyword], style)
    if not rest and spelled.endswith(".") and not keyword.endswith("."):
        # A type alone before other words: the grammar would read the period of "Cl." as
        # typed ("Cl. - Mz" is "Calle. - Mz"), so "Cl" it is.
        return [spelled, spelled[:-1]]
    variants = []
    for types in (True, False):
        words = _rest_words(rest, style, types=types)
        if style != "code":
            variants.append(_joined(spelled, " ".join(words)))
            continue
        # The code writes no "#" or "-"; where the plate would not read back without them (a
        # named street: "AV BOYACÁ # 12 30"), the "#" stays, then the dash too.
        for kept in ((), ("#",), _PLATE_MARKS):
            marks = {mark for mark in _PLATE_MARKS if mark not in kept}
            variants.append(_joined(spelled, " ".join(w for w in words if w not in marks)))
    return variants


def _complement_variants(keyword: str, rest: str, style: AddressStyle) -> list[str]:
    """A complement in `style`, the most styled first."""
    spellings = COMPLEMENT_SPELLINGS[keyword]
    if style != "code":
        return [_joined(getattr(spellings, style), rest)]
    # A code the grammar would not read back with this value ("ED 5", shorter than half of
    # "Edificio 5") is written as its word instead.
    value = _upper(rest)
    return [_joined(spellings.code, value), _joined(_upper(spellings.full), value)]


# The grammar reads a digit run by its length and script only, never by its digits, so a
# piece is styled by its shape, each ASCII digit a 0 ("Calle 00 # 00 - 00"), and its own
# digits are put back: the streets of distinct addresses share a few hundred shapes.
_ZEROS: Final = str.maketrans("123456789", "000000000")
_ASCII_DIGITS: Final = re.compile(r"[0-9]+")


def _styled_piece(piece: Piece, style: AddressStyle, *, first: bool, last: bool) -> str:
    """One piece of the canonical form in `style`: words in capitals in the code style."""
    text = piece.text
    if not piece.recognised:
        return _upper(text) if style == "code" else text
    shape = text.translate(_ZEROS)
    styled = _styled_recognised(shape, style, first, last)
    if shape == text:
        return styled
    # A style keeps every digit run, in order (only words and marks change).
    runs = iter(_ASCII_DIGITS.findall(text))
    return _ASCII_DIGITS.sub(lambda _: next(runs), styled)


# Shapes repeat from value to value ("Apto. 000", "Calle 00 # 00 - 00"): their styles are
# remembered.
@functools.lru_cache(maxsize=4096)
def _styled_recognised(text: str, style: AddressStyle, first: bool, last: bool) -> str:
    """A recognised piece of the canonical form in `style`; what the tables do not know, as it is.

    Each variant is read back where it stands: first in the value or after a space, which
    decides whether a short code is expanded ("BL 5" is "Bloque 5" after a space only), and
    last or before something else, which decides whether a period after a type is typed.
    """
    head = _split(text, _STREET_PREFIXES)
    if head is not None:
        variants = _head_variants(*head, style)
    else:
        complement = _split(text, _COMPLEMENT_PREFIXES)
        if complement is None:
            return text
        variants = _complement_variants(*complement, style)
    # A leading separator is skipped and a lone "@" left as it is: they stand for the space
    # before the piece and for whatever follows it.
    before = "" if first else "- "
    after = "" if last else " @"
    for variant in variants:
        if variant == text:
            return variant  # the canonical spelling reads back as itself
        if read_address(before + variant + after).render() == text + after:
            return variant
    return text


def _render(pieces: list[Piece], style: AddressStyle) -> str:
    out: list[str] = []
    for index, piece in enumerate(pieces):
        if out and (piece.recognised or piece.spaced):
            out.append(" ")
        text = _styled_piece(piece, style, first=not out, last=index == len(pieces) - 1)
        following = pieces[index + 1] if index + 1 < len(pieces) else None
        if (
            text.endswith(".")
            and not piece.text.endswith(".")
            and following is not None
            and not following.spaced
            and following.text.startswith(".")
        ):
            # "Calle." as typed: the period is the user's ("Cl.", not "Cl.."), as the grammar
            # keeps it after a type that has none of its own.
            text = text[:-1]
        out.append(text)
    return "".join(out)


def restyle(
    outcome: Outcome, style: AddressStyle, *, reading: Parse | None = None, check: bool = False
) -> Outcome:
    """Write an address outcome of the grammar, in the canonical form, in `style`.

    The styled value must read back as `outcome.value`, or the canonical form is returned, so
    that the result is idempotent whatever the style; the confidence and reason are kept.
    Each styled piece is one that reads back as itself where it stands (`_styled_recognised`).
    In a confident reading (a street, a whole plate, known complements) that is enough: the
    pieces do not lean on each other. An unsure one is read back whole, since there a piece
    can (``CL 148 IN 8``: the ``IN`` of ``Int.`` read as the street's letter and Norte).

    Args:
        outcome: What the grammar made of a value (its value a fixed point of the grammar).
        style: The style to write it in; ``"legacy"`` is the canonical form itself.
        reading: The parse that `outcome.value` is the rendering of, when the caller has it
            (it saves parsing the value once more).
        check: Read a confident value back whole too (a second parse): what the property
            tests do, to show that it never changes the result.
    """
    if style == "legacy" or not outcome.value or outcome.reason == "unstable":
        return outcome
    parsed = reading if reading is not None else read_address(outcome.value)
    if parsed.render() != outcome.value:
        return outcome  # not a fixed point of the grammar: nothing to read a style back as
    styled = _render(parsed.pieces, style)
    if styled == outcome.value or clean_text(styled) != styled:
        return outcome
    if (check or not outcome.confident) and read_address(styled).render() != outcome.value:
        return outcome
    return Outcome(styled, confident=outcome.confident, reason=outcome.reason)
