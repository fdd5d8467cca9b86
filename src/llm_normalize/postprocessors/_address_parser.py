"""The address grammar: one left-to-right pass from tokens to rendered pieces.

`parse` reads a cleaned value as a street type, a street number, a plate and complements,
keeping anything it does not know where it was (see `llm_normalize.postprocessors.address`
for the convention, and `_address_lexicon` for the words).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from llm_normalize.postprocessors._address_lexicon import (
    AVENUE_KINDS,
    COMPLEMENTS,
    DASHES,
    MARKER_PUNCT,
    NAME_JOINERS,
    NUMBER_MARKERS,
    QUADRANTS,
    ROMAN,
    SEPARATORS,
    STREET_TYPES,
    TYPES_NEEDING_NUMBER,
    Kind,
    Token,
    case_word,
    fuzzy_street_type,
    is_cased_letter,
    tokenize,
)
from llm_normalize.postprocessors.spanish import plain
from llm_normalize.postprocessors.text import recase

_MAX_NAME_TOKENS: Final = 12
# An address with more complements than this is more likely several things pasted together.
_MAX_CONFIDENT_PIECES: Final = 7


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


class Parser:
    """One left-to-right pass over the tokens of a cleaned value."""

    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.i = 0
        self.pieces: list[Piece] = []
        self.previous_key: str | None = None
        # complement[k]: the complement starting at token k, as (rendering, end, rural).
        # Computed right to left, so that reading a name can ask whether a later token starts
        # a complement without recursion.
        self.complement: list[tuple[str, int, bool] | None] = [None] * len(tokens)
        for k in range(len(tokens) - 1, -1, -1):
            self.complement[k] = self._match_complement(k)

    def tok(self, k: int) -> Token | None:
        return self.tokens[k] if 0 <= k < len(self.tokens) else None

    def _is(self, k: int, kind: Kind, texts: frozenset[str] | None = None) -> bool:
        token = self.tok(k)
        return token is not None and token.kind == kind and (texts is None or token.key in texts)

    def _skip_dot(self, k: int) -> int:
        token = self.tok(k)
        if token is not None and token.text == "." and not token.spaced:
            return k + 1
        return k

    # Words of free text ------------------------------------------------------------------

    def _word(self, token: Token) -> str:
        text = case_word(token, self.previous_key, first=not self.pieces)
        self.previous_key = token.key
        return text

    def _in_name(self, k: int, words_only: bool) -> bool:
        """Whether token `k` can continue a name: a word or number that starts nothing else."""
        token = self.tok(k)
        return (
            token is not None
            and (token.kind == "word" or (token.kind == "num" and not words_only))
            and token.key not in NUMBER_MARKERS
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
                out.append(case_word(token, previous, first=False))
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
                and joiner.text in NAME_JOINERS
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
        elif is_cased_letter(token) and token.key != "y":
            out = [recase(token.text)]
        elif token.kind == "word" and token.key in ROMAN and token.text.isascii():
            return token.text.upper(), start + 1
        else:
            return None
        k = start + 1
        while (nxt := self.tok(k)) is not None and not nxt.spaced:
            if nxt.kind == "num":
                out.append(nxt.text)
            elif is_cased_letter(nxt):
                out.append(recase(nxt.text))
            elif (
                nxt.text in DASHES
                and (after := self.tok(k + 1)) is not None
                and not after.spaced
                and (after.kind == "num" or is_cased_letter(after))
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
        keyword = COMPLEMENTS.get(token.key)
        if keyword is None:
            return None
        k = self._skip_dot(start + 1)
        # "Apto: 301", "Casa No 5", "Int # 2": the marker goes, the number stays.
        if self._is(k, "punct", frozenset({":", "#"})):
            k += 1
        elif self._is(k, "word", NUMBER_MARKERS) and self._is(self._skip_dot(k + 1), "num"):
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
            # "Vía 40" is a street (see TYPES_NEEDING_NUMBER); the road "Vía" takes a name.
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
        canonical = STREET_TYPES.get(token.key)
        fuzzy = False
        if canonical is None:
            canonical = fuzzy_street_type(token.key)
            fuzzy = canonical is not None
        if canonical is None:
            return None
        k = self._skip_dot(self.i + 1)
        if canonical == "Av.":
            nxt = self.tok(k)
            if nxt is not None and nxt.kind == "word" and len(nxt.key) > 1:
                kind = AVENUE_KINDS.get(STREET_TYPES.get(nxt.key, ""))
                if kind is not None:
                    canonical = kind
                    k = self._skip_dot(k + 1)
        if (token.key in TYPES_NEEDING_NUMBER or fuzzy) and not self._is(k, "num"):
            return None
        self.i = k
        return canonical, fuzzy

    def _is_marker_n(self, k: int) -> bool:
        """A lone "N" before a number is "número", not a letter: "Calle 5 N 10-20"."""
        token = self.tok(k)
        if token is None or token.key != "n" or not token.spaced:
            return False
        after = k + 1
        if self._is(after, "punct", MARKER_PUNCT) and not self.tokens[after].spaced:
            after += 1
        return self._is(after, "num") or self._is(after, "punct", frozenset({"#"}))

    def _letter(self) -> str | None:
        token = self.tok(self.i)
        if token is None or not is_cased_letter(token) or self._is_marker_n(self.i):
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
            and plain(token.text[1:]) == "bis"
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
        if self._is(self.i, "word", frozenset(QUADRANTS)):
            out += " " + QUADRANTS[self.tokens[self.i].key]
            self.i += 1
        return out

    def _plate(self) -> tuple[str, bool] | None:
        """Read "# 100A - 25 Sur" from the current position: (rendering, complete)."""
        k = self.i
        while True:
            if self._is(k, "punct", frozenset({"#"})):
                k += 1
            elif self._is(k, "word", NUMBER_MARKERS):
                after = k + 1
                if self._is(after, "punct", MARKER_PUNCT) and not self.tokens[after].spaced:
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
            if self._is(self.i, "word", frozenset(QUADRANTS)):
                rendered += " " + QUADRANTS[self.tokens[self.i].key]
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
        self.pieces.append(Piece(rendered, recognised=True))
        return problem

    # The whole value ---------------------------------------------------------------------

    def parse(self) -> Parse:
        while self._is(self.i, "punct", SEPARATORS):
            self.i += 1
        if self.i >= len(self.tokens):
            return Parse([], "empty")
        head_problem = self._head()
        rural = False
        leftover = False
        pending: list[Token] = []
        last_recognised = True
        while self.i < len(self.tokens):
            token = self.tokens[self.i]
            if token.kind == "punct" and token.text in SEPARATORS:
                pending.append(token)
                self.i += 1
                continue
            match = self.complement[self.i]
            if match is not None:
                text, end, is_rural = match
                if pending and not last_recognised:
                    self._raw(pending)
                pending = []
                self.pieces.append(Piece(text, recognised=True))
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
        return Parse(self.pieces, reason)

    def _raw(self, tokens: list[Token]) -> None:
        for token in tokens:
            text = self._word(token) if token.kind == "word" else token.text
            if token.kind != "word":
                self.previous_key = None
            self.pieces.append(Piece(text, recognised=False, spaced=token.spaced))


def parse(text: str) -> Parse:
    """Parse a cleaned value (see `llm_normalize.postprocessors.text.clean_text`)."""
    return Parser(tokenize(text)).parse()
