"""The address grammar: one left-to-right pass from tokens to rendered pieces.

`parse` reads a cleaned value as an optional prefix (a city, a building, a shopping
centre), a street type, a street number, a plate and complements, keeping anything it does
not know where it was (see `llm_normalize.postprocessors.address` for the convention, and
`_address_lexicon` for the words).

A lone ``N`` after a number is read by where it stands:

- glued to the street or cross number, or to its letter (``5N``, ``17AN``), it is Norte;
- apart, after the street number and before the plate marker (``Calle 17 N # 6N 28``,
  ``Calle 7 N No 3 30``) or before nothing that could be a plate, it is Norte;
- apart, after the cross number (``# 6 N 28``), it is Norte;
- apart, between the street number and a number (``Calle 7 N 3 30``), it is Norte in Cali
  and Cúcuta but "número" elsewhere: it is "número" after a quadrant (``Calle 5 Sur N 10
  20``) and Norte when the cross street carries a Norte too (``Calle 17 N 6N 28``);
  otherwise it is kept as typed, with no ``#`` added, and the reading is ``ambiguous``.

Norte typed as ``N`` stays ``N``, where it was typed: ``Av. 6 N # 17AN - 31``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from llm_normalize.postprocessors._address_complements import (
    MAX_VALUE_DIGITS,
    QUADRANT_KEYS,
    Complement,
    ComplementsMixin,
    spell,
)
from llm_normalize.postprocessors._address_lexicon import (
    AVENUE_KINDS,
    COMPLEMENTS,
    CORNER,
    DASHES,
    INITIALS,
    MARKER_PUNCT,
    NORTH_LETTER,
    NUMBER_MARKERS,
    PHRASES,
    QUADRANTS,
    SEPARATORS,
    STREET_TYPES,
    TYPES_NEEDING_NUMBER,
    Token,
    case_word,
    fuzzy_street_type,
    is_cased_letter,
    split_suffix_word,
    tokenize,
)
from llm_normalize.postprocessors.text import recase

# An address with more complements than this is more likely several things pasted together.
_MAX_CONFIDENT_COMPLEMENTS: Final = 6
# Separators typed between the street and its plate: "Calle 45, # 13-23", "Calle 45 - 13-23".
_PLATE_SEPARATORS: Final = frozenset({",", ";"} | DASHES)
_MAX_PLATE_SEPARATORS: Final = 2
_HASH: Final = frozenset({"#"})
# Separators written against the word before them: "Calle 45 # 13 - 23, Bogotá".
_GLUED_SEPARATORS: Final = frozenset({",", ";", "."})
_BIS: Final = frozenset({"bis"})
_CORNER: Final = frozenset({CORNER})
# Words of a place name written in capitals whatever the case typed ("Bogotá DC").
_PLACE_ACRONYMS: Final = frozenset({"dc"})

# The first words of the complements of more than one word (besides `COMPLEMENTS`' keys,
# the only tokens where a complement can start).
_PHRASE_STARTS: Final = frozenset(
    {first for first, _ in PHRASES} | {initials[0] for initials in INITIALS}
)

# Spanish words that read like a letter and Norte ("en" is E and N): typed apart after a
# number, they are words.
_WORDS_LIKE_SUFFIXES: Final = frozenset({"en", "un"})

_NORTH: Final = "north"
_AMBIGUOUS: Final = "ambiguous"


@dataclass(slots=True)
class Piece:
    """A rendered part of the address; `recognised` parts always get a space before them."""

    text: str
    recognised: bool
    spaced: bool = True


@dataclass(slots=True)
class Parse:
    """The pieces of one value and the reason its reading is, or is not, confident."""

    pieces: list[Piece]
    reason: str

    def render(self) -> str:
        out: list[str] = []
        for piece in self.pieces:
            if out and (piece.recognised or piece.spaced):
                out.append(" ")
            out.append(piece.text)
        return "".join(out)


class Parser(ComplementsMixin):
    """One left-to-right pass over the tokens of a cleaned value."""

    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.i = 0
        self.pieces: list[Piece] = []
        self.previous_key: str | None = None
        self.leftover = False
        self.rural = False
        self.roles: set[str] = set()
        self.complements = 0
        # street_at[k]: token k starts a street type followed by its number ("Cra 15", "Av.
        # Calle 26"), where a prefix ends and a name stops.
        self.street_at = [
            token.kind == "word" and token.key in STREET_TYPES and self._street_at(k)
            for k, token in enumerate(tokens)
        ]
        # complement[k]: the complement starting at token k. Computed right to left, so that
        # reading a name can ask whether a later token starts a complement without recursion.
        self.complement: list[Complement | None] = [None] * len(tokens)
        for k in range(len(tokens) - 1, -1, -1):
            token = tokens[k]
            if token.kind == "word" and (token.key in COMPLEMENTS or token.key in _PHRASE_STARTS):
                self.complement[k] = self._match_complement(k)

    # The street and the plate ------------------------------------------------------------

    def _avenue(self, canonical: str, k: int) -> tuple[str, int]:
        """The avenue type that "Av." followed by "Calle" or "Cra." is ("Av. Calle")."""
        nxt = self.tok(k)
        if (
            canonical == "Av."
            and nxt is not None
            and nxt.kind == "word"
            # "Av. C 45" is Av. Calle 45, but "Av. C" alone is Av. C.
            and (len(nxt.key) > 1 or self._is(self._skip_dot(k + 1), "num"))
        ):
            kind = AVENUE_KINDS.get(STREET_TYPES.get(nxt.key, ""))
            if kind is not None:
                return kind, self._skip_dot(k + 1)
        return canonical, k

    def _type_at(self, k: int) -> tuple[str, int] | None:
        """The street type spelt exactly at token `k`: (canonical, the token after it)."""
        token = self.tok(k)
        if token is None or token.kind != "word":
            return None
        canonical = STREET_TYPES.get(token.key)
        if canonical is None:
            return None
        return self._avenue(spell(canonical, token), self._skip_dot(k + 1))

    def _street_at(self, k: int) -> bool:
        token, dot, initial = self.tok(k), self.tok(k - 1), self.tok(k - 2)
        if (
            token is not None
            and not token.spaced
            and dot is not None
            and dot.text == "."
            and not dot.spaced
            and initial is not None
            and is_cased_letter(initial)
        ):
            return False  # the C of "D.C. 2" is an initial, not Calle
        found = self._type_at(k)
        return found is not None and self._is(found[1], "num")

    def _street_type(self) -> tuple[str, bool] | None:
        """Match the street type at the current position: (canonical, fuzzy)."""
        token = self.tok(self.i)
        if token is None or token.kind != "word":
            return None
        found = self._type_at(self.i)
        fuzzy = False
        if found is None:
            canonical = fuzzy_street_type(token.key)
            if canonical is None:
                return None
            fuzzy = True
            found = self._avenue(canonical, self._skip_dot(self.i + 1))
        canonical, k = found
        if (token.key in TYPES_NEEDING_NUMBER or fuzzy) and not self._is(k, "num"):
            return None
        self.i = k
        return canonical, fuzzy

    def _lone_north(self, k: int) -> bool:
        """Whether token `k` is a lone "N" typed apart (not "N." or "N°")."""
        token = self.tok(k)
        if token is None or token.key != NORTH_LETTER or not token.spaced:
            return False
        after = self.tok(k + 1)
        return not (after is not None and after.text in MARKER_PUNCT and not after.spaced)

    def _letter(self) -> str | None:
        token = self.tok(self.i)
        if token is None or not is_cased_letter(token) or self._starts_initials(self.i):
            return None
        if token.key == NORTH_LETTER and token.spaced:
            return None  # a quadrant or a number marker, never a letter
        self.i += 1
        return recase(token.text)

    def _hyphen_letter(self) -> None:
        """Skip the dash of a letter typed after one ("68-D", "24-B Bis")."""
        dash, letter, after = self.tok(self.i), self.tok(self.i + 1), self.tok(self.i + 2)
        if (
            dash is not None
            and dash.text in DASHES
            and not dash.spaced
            and letter is not None
            and letter.kind == "word"
            and not letter.spaced
            and letter.key != NORTH_LETTER
            and (is_cased_letter(letter) or split_suffix_word(letter) is not None)
            and (after is None or after.spaced or after.kind == "punct")
        ):
            self.i += 1

    def _suffix(self, street: bool) -> tuple[str, str]:
        """Letter, Bis, letter and quadrant after a number: "A Bis B Sur", and what N says.

        The second value is ``"north"`` when a Norte was read, ``"ambiguous"`` when a lone
        "N" after the street number stands before a number (left unread, at `self.i`), and
        ``""`` otherwise.
        """
        self._hyphen_letter()
        out = ""
        north = ""
        token = self.tok(self.i)
        word = split_suffix_word(token) if token is not None else None
        if (
            token is not None
            and word is not None
            and (not token.spaced or token.key not in _WORDS_LIKE_SUFFIXES)
        ):
            # "17AN", "50FF", "7 DBIS": a letter, Bis and quadrant typed as one word.
            out += word.letter + (" Bis" if word.bis else "")
            out += f" {word.second}" if word.second else ""
            if word.quadrant == NORTH_LETTER:
                out += NORTH_LETTER.upper()  # "17AN": Norte glued, as typed
                north = _NORTH
            elif word.quadrant:
                out += " " + QUADRANTS[word.quadrant]
                north = _NORTH if QUADRANTS[word.quadrant] == "Norte" else ""
            self.i += 1
            if word.quadrant:
                return out, north
        else:
            letter = self._letter()
            if letter is not None:
                out += letter
                north = _NORTH if letter == NORTH_LETTER.upper() else ""
            if self._is(self.i, "word", _BIS):
                out += " Bis"
                self.i += 1
        if out.endswith("Bis"):
            second = self._letter()
            if second is not None:
                out += " " + second
        if self._is(self.i, "word", QUADRANT_KEYS):
            quadrant = QUADRANTS[self.tokens[self.i].key]
            out += " " + quadrant
            north = _NORTH if quadrant == "Norte" else ""
            self.i = self._skip_dot(self.i + 1)
        elif self._lone_north(self.i):
            if street and self._is(self.i + 1, "num"):
                return out, _AMBIGUOUS
            out += " " + recase(self.tokens[self.i].text)
            north = _NORTH
            self.i += 1
        return out, north

    def _plate(self, marked_only: bool = False) -> tuple[str, bool, bool] | None:
        """Read "# 100A - 25 Sur" from the current position: (rendering, complete, north).

        With `marked_only`, only a plate after a marker ("#", "No"...) is read.
        """
        k = self.i
        skipped = 0
        while skipped < _MAX_PLATE_SEPARATORS and self._is(k, "punct", _PLATE_SEPARATORS):
            k += 1
            skipped += 1
        marked = False
        while True:
            if self._is(k, "punct", _HASH):
                k += 1
            elif self._is(k, "word", NUMBER_MARKERS):
                after = self._after_marker(k)
                if not (self._is(after, "num") or self._is(after, "punct", _HASH)):
                    break
                k = after
            else:
                break
            marked = True
        cross = self.tok(k)
        if cross is None or cross.kind != "num" or (marked_only and not marked):
            return None
        start = self.i
        self.i = k + 1
        suffix, north = self._suffix(street=False)
        rendered = f"# {cross.text}{suffix}"
        numbers = [cross.text]
        k = self.i
        if self._is(k, "punct", DASHES):
            k += 1
        plate = self.tok(k)
        if plate is not None and plate.kind == "num":
            self.i = k + 1
            rendered += f" - {plate.text}"
            numbers.append(plate.text)
            letter = self.tok(self.i)
            if letter is not None and not letter.spaced and is_cased_letter(letter):
                rendered += recase(letter.text)
                self.i += 1
            if self._is(self.i, "word", QUADRANT_KEYS):
                rendered += " " + QUADRANTS[self.tokens[self.i].key]
                self.i += 1
        complete = len(numbers) == 2 and all(
            len(n) <= MAX_VALUE_DIGITS and n.isascii() for n in numbers
        )
        if skipped and not (marked or complete):
            # After a comma or dash only a marked or whole plate is one ("Calle 45, Torre 3").
            self.i = start
            return None
        return rendered, complete, north == _NORTH

    def _second_street(self) -> tuple[str, bool, Token | None] | None:
        """Read the cross street of a corner: (its rendering, complete, the "con" typed).

        "con Cra 13" is ("Cra. 13", True, con); "Calle 31 -54", with its house number, is
        ("Calle 31 - 54", True, None).
        """
        k = self.i
        corner = self.tokens[k] if self._is(k, "word", _CORNER) else None
        if corner is not None:
            k += 1
        if not (0 <= k < len(self.tokens) and self.street_at[k]):
            return None
        found = self._type_at(k)
        if found is None:  # pragma: no cover - street_at[k] says there is one
            return None
        canonical, k = found
        number = self.tokens[k]
        self.i = k + 1
        suffix, north = self._suffix(street=True)
        text = f"{canonical} {number.text}{suffix}"
        complete = north != _AMBIGUOUS and len(number.text) <= MAX_VALUE_DIGITS
        if corner is not None:
            return text, complete, corner
        k = self.i
        if self._is(k, "punct", DASHES):
            k += 1
        plate = self.tok(k)
        if north == _AMBIGUOUS or plate is None or plate.kind != "num":
            return text, False, None
        self.i = k + 1
        complete = complete and len(plate.text) <= MAX_VALUE_DIGITS
        return f"{text} - {plate.text}", complete, None

    def _head(self) -> str | None:
        """Parse the street and plate at the current position; return why it is not confident."""
        matched = self._street_type()
        if matched is None:
            return "no_street"
        canonical, fuzzy = matched
        problem: str | None = "fuzzy" if fuzzy else None
        rendered = canonical
        number = self.tok(self.i)
        named = False
        north = ""
        if number is not None and number.kind == "num":
            self.i += 1
            suffix, north = self._suffix(street=True)
            rendered += f" {number.text}{suffix}"
            if len(number.text) > MAX_VALUE_DIGITS or not number.text.isascii():
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
        lone_north = self.i  # where an ambiguous N stands, read by the plate as its marker
        plate = self._plate(marked_only=named)
        second = None if plate is not None or named else self._second_street()
        if plate is not None:
            rendered, plate_problem = self._with_plate(rendered, plate, north, lone_north)
            problem = problem or plate_problem
        elif second is not None:
            if not second[1]:
                problem = problem or "partial"
        else:
            problem = problem or "partial"
            typed_period = self.tokens[self.i - 1].text == "."
            if rendered == canonical and typed_period and not canonical.endswith("."):
                # A type alone keeps the period typed after it ("Calle.(" stays as it is), so
                # that parsing the rendering consumes the same text.
                self.i -= 1
        self.pieces.append(Piece(rendered, recognised=True))
        if second is not None:
            # The cross street is a piece of its own, so that a style writes its type too.
            text, _, corner = second
            if corner is not None:
                self.pieces.append(Piece(CORNER, recognised=False))
            self.pieces.append(Piece(text, recognised=True))
        return problem

    def _with_plate(
        self, rendered: str, plate: tuple[str, bool, bool], north: str, lone_north: int
    ) -> tuple[str, str | None]:
        """Add the plate read after the street: (the rendering, why it is not confident).

        `north` is what the street number's suffix said, `lone_north` where a lone N stands.
        """
        text, complete, north_cross = plate
        problem: str | None = None
        if north != _AMBIGUOUS:
            rendered += " " + text
        elif north_cross:
            # "Calle 17 N 6N 28": a Norte on the cross street makes the lone N one too.
            rendered += f" {recase(self.tokens[lone_north].text)} {text}"
        else:
            # "Calle 7 N 3 30": Norte in Cali, "número" elsewhere; kept as typed.
            rendered += f" {recase(self.tokens[lone_north].text)}{text[1:]}"
            problem = "ambiguous"
        if not complete:
            problem = problem or "partial"
        return rendered, problem

    # The whole value ---------------------------------------------------------------------

    def parse(self) -> Parse:
        while self._is(self.i, "punct", SEPARATORS):
            self.i += 1
        if self.i >= len(self.tokens):
            return Parse([], "empty")
        head_problem = self._head()
        pending: list[Token] = []
        if head_problem == "no_street":
            # A city, a building or a shopping centre before the street: "Cali Cra. 9 # 11 - 50".
            pending = self._walk(before_head=True)
            if self.i < len(self.tokens):
                self._separators(pending)
                head_problem = self._head()
        if self.i < len(self.tokens):
            pending = self._walk(before_head=False)
        if (
            pending
            and pending[0].text == "."
            and not pending[0].spaced
            and self.pieces
            and not self.pieces[-1].recognised
            and len(self.pieces[-1].text) == 1
            and self.pieces[-1].text.isalpha()
        ):
            # Keep the period of a trailing initial: "Bogotá D."
            self._raw(pending[:1])
        return Parse(self.pieces, self._reason(head_problem))

    def _reason(self, head_problem: str | None) -> str:
        if self.rural:
            return "rural"
        if head_problem == "no_street":
            # "Urbanización Villa Real Mz. B Casa 6": a named place and a unit in it.
            located = {"place", "unit"} <= self.roles
            return "parsed" if located and not self.leftover else head_problem
        if head_problem is not None:
            return head_problem
        if self.leftover:
            return "leftover"
        if self.complements > _MAX_CONFIDENT_COMPLEMENTS:
            return "long"
        return "parsed"

    def _walk(self, before_head: bool) -> list[Token]:
        """Read complements, places and anything else up to the end, or to a street.

        Returns the separators typed after the last piece, not yet rendered.
        """
        pending: list[Token] = []
        last_recognised = True
        while self.i < len(self.tokens):
            token = self.tokens[self.i]
            if before_head and self.street_at[self.i] and (token.spaced or pending):
                if last_recognised:
                    pending = []
                return pending
            if token.kind == "punct" and token.text in SEPARATORS:
                pending.append(token)
                self.i += 1
                continue
            match = self.complement[self.i]
            if match is not None:
                if pending and not last_recognised:
                    self._raw(pending)
                pending = []
                self.pieces.append(Piece(match.text, recognised=True))
                self.previous_key = None
                self.rural = self.rural or match.keyword.rural
                self.roles.add(match.keyword.role)
                self.complements += 1
                last_recognised = True
                self.i = match.end
                continue
            end = self._place_end(self.i)
            if end is not None:
                self._separators(pending)
                self._raw(self.tokens[self.i : end], place=True, spaced=bool(pending) or None)
                self.i = end
            else:
                self._raw([*pending, token])
                self.leftover = True
                self.i += 1
            pending = []
            last_recognised = False
        return pending

    def _separators(self, tokens: list[Token]) -> None:
        """Render the separators typed before a place or a street as written: "Cali, Valle"."""
        for index, token in enumerate(tokens):
            spaced = token.spaced if index else token.text not in _GLUED_SEPARATORS
            self.pieces.append(Piece(token.text, recognised=False, spaced=spaced))
            self.previous_key = None

    def _word(self, token: Token) -> str:
        text = case_word(token, self.previous_key, first=not self.pieces)
        self.previous_key = token.key
        return text

    def _raw(self, tokens: list[Token], place: bool = False, spaced: bool | None = None) -> None:
        """Render tokens as typed, case tidied; `spaced` overrides the spacing of the first."""
        for index, token in enumerate(tokens):
            if token.kind != "word":
                text = token.text
                self.previous_key = None
            elif place and token.key in _PLACE_ACRONYMS and token.text.isascii():
                text = token.text.upper()
                self.previous_key = token.key
            else:
                text = self._word(token)
            first_spaced = spaced if index == 0 and spaced is not None else token.spaced
            self.pieces.append(Piece(text, recognised=False, spaced=first_spaced))


def parse(text: str) -> Parse:
    """Parse a cleaned value (see `llm_normalize.postprocessors.text.clean_text`)."""
    return Parser(tokenize(text)).parse()
