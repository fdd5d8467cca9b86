"""Reading the parts of an address that are not its street: names, places, complements.

`ComplementsMixin` holds the token helpers and the readers of names, places and
complement values ("Apto 301", "Mz. B 06", "Conjunto Los Pinos") that `_address_parser.Parser`
builds on; it reads the tokens and the precomputed tables the parser sets up.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from llm_normalize.postprocessors._address_lexicon import (
    COMPLEMENTS,
    DASHES,
    INITIALS,
    MARKER_PUNCT,
    MAX_PLACE_WORDS,
    NAME_JOINERS,
    NAMED_UNITS,
    NUMBER_MARKERS,
    PHONE_WORDS,
    PHRASES,
    QUADRANTS,
    ROMAN,
    SPACED_CODES,
    Keyword,
    Kind,
    Token,
    case_word,
    is_cased_letter,
    place_keys,
)
from llm_normalize.postprocessors.spanish import plain
from llm_normalize.postprocessors.text import recase

_MAX_NAME_TOKENS: Final = 12
# A number this long is no part of a name: a phone number ("Conjunto Los Pinos 3104567890").
_MAX_NAME_DIGITS: Final = 4
MAX_VALUE_DIGITS: Final = 3
_VALUE_MARKS: Final = frozenset({":", "#"})
QUADRANT_KEYS: Final = frozenset(QUADRANTS)
_OPEN: Final = frozenset({"("})
_CLOSE: Final = frozenset({")"})


@dataclass(frozen=True, slots=True)
class Complement:
    """A complement found at some token: its rendering, the token after it, its keyword."""

    text: str
    end: int
    keyword: Keyword


def spell(canonical: str, token: Token) -> str:
    """A keyword's spelling: a full word keeps the accents typed ("Via" stays "Via")."""
    if not canonical.isascii() and plain(canonical) == token.key:
        return recase(token.text)
    return canonical


class ComplementsMixin:
    """Token helpers and the readers of names, places and complements, for `Parser`."""

    # Set by `Parser.__init__`.
    tokens: list[Token]
    # street_at[k]: token k starts a street type followed by its number.
    street_at: list[bool]
    # complement[k]: the complement starting at token k, filled right to left.
    complement: list[Complement | None]

    def tok(self, k: int) -> Token | None:
        tokens = self.tokens
        return tokens[k] if 0 <= k < len(tokens) else None

    def _is(self, k: int, kind: Kind, texts: frozenset[str] | None = None) -> bool:
        tokens = self.tokens
        if not 0 <= k < len(tokens):
            return False
        token = tokens[k]
        return token.kind == kind and (texts is None or token.key in texts)

    def _starts_initials(self, k: int) -> bool:
        """Whether token `k` is the first of initials with periods: the C of "C.C."."""
        dot, initial = self.tok(k + 1), self.tok(k + 2)
        return (
            dot is not None
            and dot.text == "."
            and not dot.spaced
            and initial is not None
            and is_cased_letter(initial)
            and not initial.spaced
        )

    def _skip_dot(self, k: int) -> int:
        tokens = self.tokens
        if 0 <= k < len(tokens) and tokens[k].text == "." and not tokens[k].spaced:
            return k + 1
        return k

    # Names -------------------------------------------------------------------------------

    def _in_name(self, k: int, words_only: bool) -> bool:
        """Whether token `k` can continue a name: a word or number that starts nothing else."""
        token = self.tok(k)
        return (
            token is not None
            and (
                (token.kind == "word" and token.key not in PHONE_WORDS)
                or (token.kind == "num" and not words_only and len(token.key) <= _MAX_NAME_DIGITS)
            )
            and token.key not in NUMBER_MARKERS
            and self.complement[k] is None
            and not self.street_at[k]
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
        last = self.tokens[k - 1]
        if last.kind == "word" and len(last.key) == 1 and self._skip_dot(k) > k:
            out.append(".")  # the period of a final initial: "Los Pinos Bogotá D.C."
            k += 1
        return "".join(out), k

    # Places ------------------------------------------------------------------------------

    def _place_end(self, start: int) -> int | None:
        """The end of the longest place name at `start` ("Bogotá D.C.", "(Cali)"), or None."""
        k = start
        opened = self._is(k, "punct", _OPEN)
        if opened:
            k += 1
        keys = place_keys()
        words: list[str] = []
        end: int | None = None
        while len(words) < MAX_PLACE_WORDS and self._is(k, "word"):
            token = self.tokens[k]
            if words and (
                (not token.spaced and self.tokens[k - 1].kind == "word")
                or self.complement[k] is not None
                or self.street_at[k]
            ):
                break
            words.append(token.key)
            k += 1
            if len(token.key) == 1:
                k = self._skip_dot(k)  # "D.C."
            if " ".join(words) in keys:
                end = k
        if end is None:
            return None
        if opened:
            if not self._is(end, "punct", _CLOSE):
                return None
            end += 1
        return end

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
            if self._starts_initials(start):
                return None  # "C.C.", "D.C.": initials, not a value
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

    def _second_value(self, canonical: str, value: str, end: int) -> tuple[str, int]:
        """Extend "Mz. B" by its lot ("Mz. B 06") and "Local 2" by its number ("Local 2 173")."""
        nxt, after = self.tok(end), self.tok(end + 1)
        if (
            nxt is None
            or nxt.kind != "num"
            or not nxt.spaced
            or len(nxt.text) > MAX_VALUE_DIGITS
            or (
                after is not None
                and not after.spaced
                and (after.kind != "punct" or after.text in DASHES or after.text == "#")
            )
        ):
            return value, end
        if (canonical == "Mz." and len(value) == 1 and value.isalpha()) or (
            canonical == "Local" and value.isdecimal() and len(value) <= 2
        ):
            return f"{value} {nxt.text}", end + 1
        return value, end

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

    def _keyword(self, start: int) -> tuple[Keyword, str, int] | None:
        """The complement keyword at `start`: (keyword, its spelling, the token after it)."""
        token = self.tokens[start]
        initials = self._initials(start)
        if initials is not None:
            keyword, end = initials
            return keyword, keyword.canonical, end
        after = self._skip_dot(start + 1)
        second = self.tok(after)
        if second is not None and second.kind == "word":
            phrase = PHRASES.get((token.key, second.key))
            if phrase is not None:
                return phrase, phrase.canonical, self._skip_dot(after + 1)
        single = COMPLEMENTS.get(token.key)
        if single is None:
            return None
        return single, spell(single.canonical, token), after

    def _after_marker(self, k: int) -> int:
        """The token after the number marker at `k` and its glued period or degree sign."""
        after = k + 1
        if self._is(after, "punct", MARKER_PUNCT) and not self.tokens[after].spaced:
            after += 1
        return after

    def _initials(self, start: int) -> tuple[Keyword, int] | None:
        """A keyword typed as initials with periods ("C.C."): (keyword, the token after it)."""
        letters: list[str] = []
        k = start
        before = self.tok(start - 1)
        if before is not None and before.text == "." and not self.tokens[start].spaced:
            return None  # inside a longer run of initials
        while (
            (letter := self.tok(k)) is not None
            and letter.kind == "word"
            and len(letter.key) == 1
            and (k == start or not letter.spaced)
            and (dot := self.tok(k + 1)) is not None
            and dot.text == "."
            and not dot.spaced
        ):
            letters.append(letter.key)
            k += 2
        after = self.tok(k)
        if after is not None and not after.spaced and after.kind == "word":
            return None  # "C.C.X": a longer run
        keyword = INITIALS.get("".join(letters)) if len(letters) > 1 else None
        return None if keyword is None else (keyword, k)

    def _match_complement(self, start: int) -> Complement | None:
        token = self.tok(start)
        if token is None or token.kind != "word":
            return None
        found = self._keyword(start)
        if found is None:
            return None
        keyword, spelling, k = found
        gap = token.spaced or self._is(start - 1, "punct")
        if token.key in SPACED_CODES and not gap and start > 0:
            return None
        single = len(token.text) == 1 and keyword is COMPLEMENTS.get(token.key)
        # "Apto: 301", "Casa No 5", "Int # 2": the marker goes, the number stays.
        marked = False
        while True:
            if self._is(k, "punct", _VALUE_MARKS):
                k += 1
            elif self._is(k, "word", NUMBER_MARKERS) and (
                self._is(self._after_marker(k), "num")
                or self._is(self._after_marker(k), "punct", _VALUE_MARKS)
            ):
                k = self._after_marker(k)
            else:
                break
            marked = True
        nxt = self.tok(k)
        if (
            marked
            and keyword is COMPLEMENTS.get(token.key)
            and nxt is not None
            and nxt.kind == "word"
            and (token.key, nxt.key) in PHRASES
        ):
            # "Conj # Res Los Pinos": the marker goes, and the two words are one keyword.
            keyword = PHRASES[(token.key, nxt.key)]
            spelling, single, k = keyword.canonical, False, self._skip_dot(k + 1)
        value = self._complement_value(keyword, single, k)
        if value is None:
            return None
        text, end = value
        rendered = f"{spelling} {text}"
        # Expand only where the result at most doubles the text it replaces, counting the one
        # space or punctuation mark before it that the rendering turns into its space: this
        # is what bounds the output length.
        replaced = self.tokens[end - 1].end - token.start + (1 if gap else 0)
        if len(rendered) + 1 > 2 * replaced:
            return None
        return Complement(rendered, end, keyword)

    def _complement_value(self, keyword: Keyword, single: bool, k: int) -> tuple[str, int] | None:
        """Read the value of `keyword` from `k`: (its rendering, the token after it) or None.

        `single` says the keyword was typed as one letter.
        """
        value: tuple[str, int] | None = None
        if keyword.value == "decimal":
            value = self._decimal(k)
        if keyword.value in ("number", "either"):
            # A one-letter keyword ("T 2", "P 3") takes only a number, after a space.
            nxt = self.tok(k)
            if not single or (nxt is not None and nxt.spaced):
                value = self._value(k, needs_number=single)
            if value is not None:
                value = self._second_value(keyword.canonical, *value)
            elif (
                keyword.canonical in NAMED_UNITS
                and not single
                and self._is(k, "word", QUADRANT_KEYS)
            ):
                value = QUADRANTS[self.tokens[k].key], k + 1  # "Torre Sur"
        if value is None and keyword.value in ("name", "either") and not single:
            # "Vía 40" is a street (see TYPES_NEEDING_NUMBER); the road "Vía" takes a name.
            value = self._name(k, words_only=keyword.canonical == "Vía")
        return value
