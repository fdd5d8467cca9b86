"""Colombian street addresses in one readable convention: ``"CRA 15 NO 100 25"`` -> ``"Cra. 15 # 100 - 25"``.

The convention extends the seed's example (``normalizedData.direccion``):

- the street type first, in one spelling: ``Calle``, ``Cra.``, ``Av.``, ``Av. Calle``,
  ``Av. Cra.``, ``Diagonal``, ``Transversal``, ``Circular``, ``Circunvalar``, ``Autopista``,
  ``Vía``;
- the street number with its letter glued (``45A``), then ``Bis`` and a second letter, then a
  quadrant (``Sur``, ``Este``, ``Norte``, ``Oeste``), each where the user put it:
  ``Calle 45A Bis B Sur``;
- the plate as ``# 100 - 25`` (cross street, its letter and ``Bis``, a dash, the house number),
  whatever marker was typed (``No``, ``No.``, ``N°``, ``Nº``, ``Nro``, ``Num``, ``#`` or none);
- complements after one space each, with canonical keywords (``Torre 5 Apto. 1203``,
  ``Int. 2``, ``Of. 804``, ``Mz. F Casa 3``, ``Barrio La Candelaria``); the separators typed
  between them (``-``, ``,``) become that single space;
- rural forms keep their words: ``Km 5 Vía Cali-Jamundí``, ``Vereda El Salitre Finca La
  Esperanza``, with keywords canonical and names title-cased, Spanish particles lower-case.

Nothing is ever dropped: anything the grammar does not know is kept where it was, with its
case tidied and its spacing as typed. Digits are never dropped, reordered, merged or split,
and letters are only re-cased, except that keywords take their canonical spelling
(``Apartamento`` -> ``Apto.``) and number markers (``No``, ``Nro``, ``N``) become ``#``.

The work is ``render(parse(clean_text(value)))``, and the grammar is built so that parsing a
rendering gives the same rendering: the post-processor is idempotent. A keyword is expanded
only where the expansion at most doubles the text it replaces, so the output is never longer
than ``2 * len(clean_text(value)) + 16``.

Parsing is a hand-written tokenizer and grammar. geographicol, a Colombian address parser on
PyPI, was evaluated and not used: it drops leading zeros (``# 61 - 01`` -> ``61-1``) and any
token it does not understand, which this library's guard would reject.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Final, Literal

from llm_normalize.postprocessors.base import Outcome, assessed_by
from llm_normalize.postprocessors.text import clean_text, recase

__all__ = ["assess_address", "normalize_address"]

_Kind = Literal["word", "num", "punct"]


@dataclass(frozen=True, slots=True)
class _Token:
    text: str
    kind: _Kind
    key: str
    """Matching key: case-folded, accents removed (``"Nº"`` -> ``"no"``)."""
    start: int
    end: int
    spaced: bool
    """Whitespace stood before this token (``False`` for the ``A`` of ``45A``)."""


# Street types, by matching key. The keys are what people type: abbreviations with or
# without their dot, and the typos seen in real form data.
_STREET_TYPES: Final[dict[str, str]] = {
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
_TYPES_NEEDING_NUMBER: Final = frozenset({"c", "k", "au", "via"})
# Long forms matched with one typo (a letter added, dropped, changed or swapped).
_FUZZY_TYPES: Final[dict[str, str]] = {
    "carrera": "Cra.",
    "avenida": "Av.",
    "diagonal": "Diagonal",
    "transversal": "Transversal",
    "circular": "Circular",
    "circunvalar": "Circunvalar",
    "autopista": "Autopista",
}
_AVENUE_KINDS: Final[dict[str, str]] = {"Calle": "Av. Calle", "Cra.": "Av. Cra."}

_QUADRANTS: Final[dict[str, str]] = {
    "sur": "Sur",
    "este": "Este",
    "norte": "Norte",
    "oeste": "Oeste",
    "oriente": "Oriente",
    "occidente": "Occidente",
}
_NUMBER_MARKERS: Final = frozenset({"no", "nro", "nr", "num", "numero", "n"})
_MARKER_PUNCT: Final = frozenset({".", "°"})
_DASHES: Final = frozenset("-‐‑‒–—―−")
_SEPARATORS: Final = frozenset({",", ";", "."} | _DASHES)
# Punctuation that stays inside a name when it has a letter or digit right on both sides:
# "Cali-Jamundí", "D'Andrea", "Sta.Rosa".
_NAME_JOINERS: Final = frozenset({"'", ".", "/"} | _DASHES)
_ROMAN: Final = frozenset({"i", "ii", "iii", "iv", "v", "vi", "vii", "viii", "ix", "x"})

_ValueKind = Literal["number", "name", "either", "decimal"]


@dataclass(frozen=True, slots=True)
class _Keyword:
    canonical: str
    value: _ValueKind
    rural: bool = False


def _keywords(
    canonical: str, value: _ValueKind, keys: str, rural: bool = False
) -> dict[str, _Keyword]:
    return dict.fromkeys(keys.split(), _Keyword(canonical, value, rural))


_COMPLEMENTS: Final[dict[str, _Keyword]] = {
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

# Spanish particles are lower-case inside a name ("Vía al Mar", "Barrio 20 de Julio") and
# articles are lower-case after a preposition ("San José de la Montaña"), but an article
# starting a name is part of it ("Vereda El Salitre").
_PARTICLES: Final = frozenset({"de", "del", "y", "e", "o", "u", "a", "al", "en"})
_ARTICLES: Final = frozenset({"el", "la", "los", "las"})
_PREPOSITIONS: Final = frozenset({"de", "a", "en"})

_MAX_NAME_TOKENS: Final = 12
# An address with more complements than this is more likely several things pasted together.
_MAX_CONFIDENT_PIECES: Final = 7
# The grammar is designed so that parsing a rendering gives the same rendering; the check
# after rendering is a safety net that the property tests never see used.
_MAX_PASSES: Final = 3


def _key(word: str) -> str:
    decomposed = unicodedata.normalize("NFKD", word.casefold())
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def _tokenize(text: str) -> list[_Token]:
    """Split cleaned text into digit runs, letter runs and single punctuation characters."""
    tokens: list[_Token] = []
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
        kind: _Kind
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
            _Token(piece, kind, _key(piece) if kind == "word" else piece, index, end, spaced)
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


def _fuzzy_street_type(key: str) -> str | None:
    if len(key) < 6:
        return None
    found = {canonical for target, canonical in _FUZZY_TYPES.items() if _one_typo(key, target)}
    return found.pop() if len(found) == 1 else None


def _is_cased_letter(token: _Token) -> bool:
    return (
        token.kind == "word" and len(token.text) == 1 and token.text.upper() != token.text.lower()
    )


def _lower(text: str) -> str:
    return text.lower() if text.isascii() else text


def _case_word(token: _Token, previous_key: str | None, first: bool) -> str:
    """Title-case one word of free text: particles lower-case, single letters upper-case.

    `first` is the first word of the whole value, always capitalised. A one-letter particle
    ("a", "o") is lower-case only after another word, so that "Conjunto A" keeps its letter;
    "y" and "e" ("and") are always particles.
    """
    if not first and token.text.isascii():
        if token.key in _PARTICLES and (
            token.key in {"y", "e"} or len(token.key) > 1 or previous_key is not None
        ):
            return _lower(token.text)
        if token.key in _ARTICLES and previous_key in _PREPOSITIONS:
            return _lower(token.text)
    return recase(token.text)


@dataclass(slots=True)
class _Piece:
    text: str
    recognised: bool
    spaced: bool = True


@dataclass(slots=True)
class _Parse:
    pieces: list[_Piece]
    reason: str

    def render(self) -> str:
        out: list[str] = []
        for piece in self.pieces:
            if out and (piece.recognised or piece.spaced):
                out.append(" ")
            out.append(piece.text)
        return "".join(out)


class _Parser:
    """One left-to-right pass over the tokens of a cleaned value."""

    def __init__(self, tokens: list[_Token]) -> None:
        self.tokens = tokens
        self.i = 0
        self.pieces: list[_Piece] = []
        self.previous_key: str | None = None
        # complement[k]: the complement starting at token k, as (rendering, end, rural).
        # Computed right to left, so that reading a name can ask whether a later token starts
        # a complement without recursion.
        self.complement: list[tuple[str, int, bool] | None] = [None] * len(tokens)
        for k in range(len(tokens) - 1, -1, -1):
            self.complement[k] = self._match_complement(k)

    def tok(self, k: int) -> _Token | None:
        return self.tokens[k] if 0 <= k < len(self.tokens) else None

    def _is(self, k: int, kind: _Kind, texts: frozenset[str] | None = None) -> bool:
        token = self.tok(k)
        return token is not None and token.kind == kind and (texts is None or token.key in texts)

    def _skip_dot(self, k: int) -> int:
        token = self.tok(k)
        if token is not None and token.text == "." and not token.spaced:
            return k + 1
        return k

    # Words of free text ------------------------------------------------------------------

    def _word(self, token: _Token) -> str:
        text = _case_word(token, self.previous_key, first=not self.pieces)
        self.previous_key = token.key
        return text

    def _in_name(self, k: int, words_only: bool) -> bool:
        """Whether token `k` can continue a name: a word or number that starts nothing else."""
        token = self.tok(k)
        return (
            token is not None
            and (token.kind == "word" or (token.kind == "num" and not words_only))
            and token.key not in _NUMBER_MARKERS
            and self.complement[k] is None
        )

    def _name(self, start: int, words_only: bool = False) -> tuple[str, int] | None:
        """Read a name (words and numbers) from `start`: ("La Candelaria", end) or None."""
        out: list[str] = []
        previous: str | None = None
        k = start
        count = 0
        while count < _MAX_NAME_TOKENS and self._in_name(k, words_only):
            token = self.tokens[k]
            if out and token.spaced:
                out.append(" ")
            if token.kind == "word":
                out.append(_case_word(token, previous, first=False))
                previous = token.key
            else:
                out.append(token.text)
            count += 1
            k += 1
            joiner, after = self.tok(k), self.tok(k + 1)
            if (
                count < _MAX_NAME_TOKENS
                and joiner is not None
                and after is not None
                and joiner.text in _NAME_JOINERS
                and not joiner.spaced
                and not after.spaced
                and self._in_name(k + 1, words_only)
            ):
                out.append(joiner.text)
                k += 1
        if not out:
            return None
        return "".join(out), k

    # Values of complements ---------------------------------------------------------------

    def _value(self, start: int, needs_number: bool) -> tuple[str, int] | None:
        """Read "301", "501B", "B2", "A" or "II" from `start`."""
        token = self.tok(start)
        if token is None:
            return None
        if token.kind == "num":
            out = [token.text]
        elif needs_number:
            return None
        elif _is_cased_letter(token) and token.key != "y":
            out = [recase(token.text)]
        elif token.kind == "word" and token.key in _ROMAN and token.text.isascii():
            return token.text.upper(), start + 1
        else:
            return None
        k = start + 1
        while (nxt := self.tok(k)) is not None and not nxt.spaced:
            if nxt.kind == "num":
                out.append(nxt.text)
            elif _is_cased_letter(nxt):
                out.append(recase(nxt.text))
            elif (
                nxt.text in _DASHES
                and (after := self.tok(k + 1)) is not None
                and not after.spaced
                and (after.kind == "num" or _is_cased_letter(after))
            ):
                # "Local 1-12", "Apto 5-B": a dash between two parts of one value.
                out.append(nxt.text)
            else:
                break
            k += 1
        return "".join(out), k

    def _decimal(self, start: int) -> tuple[str, int] | None:
        """Read "5", "2.5" or "2,5" from `start`."""
        token = self.tok(start)
        if token is None or token.kind != "num":
            return None
        point, fraction = self.tok(start + 1), self.tok(start + 2)
        if (
            point is not None
            and fraction is not None
            and point.text in {".", ","}
            and not point.spaced
            and fraction.kind == "num"
            and not fraction.spaced
        ):
            return token.text + point.text + fraction.text, start + 3
        return token.text, start + 1

    def _match_complement(self, start: int) -> tuple[str, int, bool] | None:
        token = self.tok(start)
        if token is None or token.kind != "word":
            return None
        keyword = _COMPLEMENTS.get(token.key)
        if keyword is None:
            return None
        k = self._skip_dot(start + 1)
        # "Apto: 301", "Casa No 5", "Int # 2": the marker goes, the number stays.
        if self._is(k, "punct", frozenset({":", "#"})):
            k += 1
        elif self._is(k, "word", _NUMBER_MARKERS) and self._is(self._skip_dot(k + 1), "num"):
            k = self._skip_dot(k + 1)
        value: tuple[str, int] | None = None
        if keyword.value == "decimal":
            value = self._decimal(k)
        if keyword.value in ("number", "either"):
            # A one-letter keyword ("T 2", "P 3") takes only a number, after a space.
            single = len(token.text) == 1
            nxt = self.tok(k)
            if not single or (nxt is not None and nxt.spaced):
                value = self._value(k, needs_number=single)
        if value is None and keyword.value in ("name", "either"):
            # "Vía 40" is a street (see _TYPES_NEEDING_NUMBER); the road "Vía" takes a name.
            value = self._name(k, words_only=keyword.canonical == "Vía")
        if value is None:
            return None
        text, end = value
        rendered = f"{keyword.canonical} {text}"
        # Expand only where the result at most doubles the text it replaces, counting the one
        # space or punctuation mark before it that the rendering turns into its space: this
        # is what bounds the output length.
        gap = token.spaced or self._is(start - 1, "punct")
        replaced = self.tokens[end - 1].end - token.start + (1 if gap else 0)
        if len(rendered) + 1 > 2 * replaced:
            return None
        return rendered, end, keyword.rural

    # The street and the plate ------------------------------------------------------------

    def _street_type(self) -> tuple[str, bool] | None:
        """Match the street type at the current position: (canonical, fuzzy)."""
        token = self.tok(self.i)
        if token is None or token.kind != "word":
            return None
        canonical = _STREET_TYPES.get(token.key)
        fuzzy = False
        if canonical is None:
            canonical = _fuzzy_street_type(token.key)
            fuzzy = canonical is not None
        if canonical is None:
            return None
        k = self._skip_dot(self.i + 1)
        if canonical == "Av.":
            nxt = self.tok(k)
            if nxt is not None and nxt.kind == "word" and len(nxt.key) > 1:
                kind = _AVENUE_KINDS.get(_STREET_TYPES.get(nxt.key, ""))
                if kind is not None:
                    canonical = kind
                    k = self._skip_dot(k + 1)
        if (token.key in _TYPES_NEEDING_NUMBER or fuzzy) and not self._is(k, "num"):
            return None
        self.i = k
        return canonical, fuzzy

    def _is_marker_n(self, k: int) -> bool:
        """A lone "N" before a number is "número", not a letter: "Calle 5 N 10-20"."""
        token = self.tok(k)
        if token is None or token.key != "n" or not token.spaced:
            return False
        after = k + 1
        if self._is(after, "punct", _MARKER_PUNCT) and not self.tokens[after].spaced:
            after += 1
        return self._is(after, "num") or self._is(after, "punct", frozenset({"#"}))

    def _letter(self) -> str | None:
        token = self.tok(self.i)
        if token is None or not _is_cased_letter(token) or self._is_marker_n(self.i):
            return None
        self.i += 1
        return recase(token.text)

    def _suffix(self) -> str:
        """Letter, Bis, letter and quadrant after a number: "A Bis B Sur" as "A Bis B Sur"."""
        out = ""
        token = self.tok(self.i)
        if (
            token is not None
            and token.kind == "word"
            and len(token.text) == 4
            and _key(token.text[1:]) == "bis"
            and token.text[0].upper() != token.text[0].lower()
        ):
            # "28EBIS", "7 DBIS": a letter and Bis typed as one word.
            out += recase(token.text[0]) + " Bis"
            self.i += 1
        else:
            letter = self._letter()
            if letter is not None:
                out += letter
            if self._is(self.i, "word", frozenset({"bis"})):
                out += " Bis"
                self.i += 1
        if out.endswith("Bis"):
            second = self._letter()
            if second is not None:
                out += " " + second
        if self._is(self.i, "word", frozenset(_QUADRANTS)):
            out += " " + _QUADRANTS[self.tokens[self.i].key]
            self.i += 1
        return out

    def _plate(self) -> tuple[str, bool] | None:
        """Read "# 100A - 25 Sur" from the current position: (rendering, complete)."""
        k = self.i
        while True:
            if self._is(k, "punct", frozenset({"#"})):
                k += 1
            elif self._is(k, "word", _NUMBER_MARKERS):
                after = k + 1
                if self._is(after, "punct", _MARKER_PUNCT) and not self.tokens[after].spaced:
                    after += 1
                if not (self._is(after, "num") or self._is(after, "punct", frozenset({"#"}))):
                    break
                k = after
            else:
                break
        cross = self.tok(k)
        if cross is None or cross.kind != "num":
            return None
        self.i = k + 1
        rendered = f"# {cross.text}{self._suffix()}"
        numbers = [cross.text]
        k = self.i
        if self._is(k, "punct", _DASHES):
            k += 1
        plate = self.tok(k)
        if plate is not None and plate.kind == "num":
            self.i = k + 1
            rendered += f" - {plate.text}"
            numbers.append(plate.text)
            letter = self.tok(self.i)
            if letter is not None and not letter.spaced and _is_cased_letter(letter):
                rendered += recase(letter.text)
                self.i += 1
            if self._is(self.i, "word", frozenset(_QUADRANTS)):
                rendered += " " + _QUADRANTS[self.tokens[self.i].key]
                self.i += 1
        complete = len(numbers) == 2 and all(len(n) <= 3 and n.isascii() for n in numbers)
        return rendered, complete

    def _head(self) -> str | None:
        """Parse the street and plate at the start; return why it is not confident, or None."""
        matched = self._street_type()
        if matched is None:
            return "no_street"
        canonical, fuzzy = matched
        problem: str | None = "fuzzy" if fuzzy else None
        rendered = canonical
        number = self.tok(self.i)
        named = False
        if number is not None and number.kind == "num":
            self.i += 1
            rendered += f" {number.text}{self._suffix()}"
            if len(number.text) > 3 or not number.text.isascii():
                problem = problem or "partial"
        else:
            name = self._name(self.i, words_only=True)
            if name is not None:
                rendered += " " + name[0]
                self.i = name[1]
                problem = problem or "named_street"
                named = True
            else:
                problem = problem or "partial"
        # After a named street only an explicit marker starts the plate ("Av. Boyacá # 12 - 30"):
        # a bare number there may belong to a complement.
        plate = None if named and self._is(self.i, "num") else self._plate()
        if plate is None:
            problem = problem or "partial"
            typed_period = self.tokens[self.i - 1].text == "."
            if rendered == canonical and typed_period and not canonical.endswith("."):
                # A type alone keeps the period typed after it ("Calle.(" stays as it is), so
                # that parsing the rendering consumes the same text.
                self.i -= 1
        else:
            rendered += " " + plate[0]
            if not plate[1]:
                problem = problem or "partial"
        self.pieces.append(_Piece(rendered, recognised=True))
        return problem

    # The whole value ---------------------------------------------------------------------

    def parse(self) -> _Parse:
        while self._is(self.i, "punct", _SEPARATORS):
            self.i += 1
        if self.i >= len(self.tokens):
            return _Parse([], "empty")
        head_problem = self._head()
        rural = False
        leftover = False
        pending: list[_Token] = []
        last_recognised = True
        while self.i < len(self.tokens):
            token = self.tokens[self.i]
            if token.kind == "punct" and token.text in _SEPARATORS:
                pending.append(token)
                self.i += 1
                continue
            match = self.complement[self.i]
            if match is not None:
                text, end, is_rural = match
                if pending and not last_recognised:
                    self._raw(pending)
                pending = []
                self.pieces.append(_Piece(text, recognised=True))
                self.previous_key = None
                rural = rural or is_rural
                last_recognised = True
                self.i = end
                continue
            self._raw([*pending, token])
            pending = []
            leftover = True
            last_recognised = False
            self.i += 1
        if (
            pending
            and pending[0].text == "."
            and not pending[0].spaced
            and self.pieces
            and not self.pieces[-1].recognised
            and len(self.pieces[-1].text) == 1
            and self.pieces[-1].text.isalpha()
        ):
            # Keep the period of a trailing initial: "Bogotá D.C."
            self._raw(pending[:1])
        if rural:
            reason = "rural"
        elif head_problem is not None:
            reason = head_problem
        elif leftover:
            reason = "leftover"
        elif len(self.pieces) > _MAX_CONFIDENT_PIECES:
            reason = "long"
        else:
            reason = "parsed"
        return _Parse(self.pieces, reason)

    def _raw(self, tokens: list[_Token]) -> None:
        for token in tokens:
            text = self._word(token) if token.kind == "word" else token.text
            if token.kind != "word":
                self.previous_key = None
            self.pieces.append(_Piece(text, recognised=False, spaced=token.spaced))


def _parse(text: str) -> _Parse:
    return _Parser(_tokenize(text)).parse()


def assess_address(value: str) -> Outcome:
    """Normalize a Colombian address and say whether the whole of it was understood.

    Confident (reason ``"parsed"``) when the value is a street type, a street number, a
    plate with both numbers (at most three digits each) and at most six known complements.
    Otherwise the value is tidied all the same and reported with a reason: ``"no_street"``
    (no street type at the start), ``"partial"`` (no number or an incomplete plate),
    ``"named_street"``, ``"fuzzy"`` (a misspelt street type), ``"leftover"`` (words or
    symbols the grammar does not know), ``"rural"`` (kilometre, vereda, finca...),
    ``"long"`` (more complements than an address has) or ``"unstable"`` (the cleaned text
    is returned unrecased, see the docs). Empty input gives ``""`` with reason ``"empty"``.

    Examples:
        >>> assess_address("CRA 15 NO 100 25")
        Outcome(value='Cra. 15 # 100 - 25', confident=True, reason='parsed')
        >>> assess_address("km 5 via cali-jamundi")
        Outcome(value='Km 5 Vía Cali-Jamundi', confident=False, reason='rural')
    """
    text = clean_text(value)
    if not text:
        return Outcome("", confident=True, reason="empty")
    parsed = _parse(text)
    out = parsed.render()
    for _ in range(_MAX_PASSES):
        if clean_text(out) != out:
            # Recasing made the text look like mojibake to ftfy ("í°" recased is "Í°", which
            # ftfy reads as "Ͱ"): keep the cleaned value as typed rather than change a letter.
            return Outcome(text, confident=False, reason="unstable")
        again = _parse(out)
        if again.render() == out:
            break
        parsed, out = again, again.render()
    confident = parsed.reason == "parsed"
    return Outcome(out, confident=confident, reason=parsed.reason)


@assessed_by(assess_address)
def normalize_address(value: str) -> str:
    """Normalize a Colombian address to the seed's convention.

    Examples:
        - ``"CRA 15 NO 100 25"`` -> ``"Cra. 15 # 100 - 25"``
        - ``"cl 1 # 138 22 torre 2 apto 301"`` -> ``"Calle 1 # 138 - 22 Torre 2 Apto. 301"``
        - ``"Avenida Calle 2 SUR Nro 26B-39."`` -> ``"Av. Calle 2 Sur # 26B - 39"``
        - ``"CL 7 DBIS # 125 27"`` -> ``"Calle 7D Bis # 125 - 27"``
        - ``"Carrera 12 #136-23 - Conjunto La Candelaria"``
          -> ``"Cra. 12 # 136 - 23 Conjunto La Candelaria"``
        - ``"VEREDA EL SALITRE FINCA LA ESPERANZA"`` -> ``"Vereda El Salitre Finca La Esperanza"``
        - ``"Kilómetro 3 vía al mar"`` -> ``"Km 3 Vía al Mar"``

    Unknown words are kept, with their case tidied; digits are never dropped or reordered.
    See `assess_address` for when the result is confident.
    """
    return assess_address(value).value
