"""Addresses (direccion): the same digits, quadrants and long words, in the same order."""

from __future__ import annotations

from typing import Final

from llm_normalize.guard._text import (
    LETTERS_OR_DIGITS,
    OK,
    Case,
    Verdict,
    digit_runs,
    in_order,
    is_subsequence,
    reject,
    tokens,
    word_matches,
)

__all__ = ["check_address"]

# Addresses: the quadrants must be the same, in the same order ("Sur" never becomes "Norte");
# every other word of four letters or more (a keyword, a neighbourhood, a farm's name) must be
# found again, in order, maybe abbreviated ("Carrera" -> "Cra."). Number markers become "#".
_QUADRANTS: Final = frozenset({"sur", "norte", "este", "oeste"})
_MARKERS: Final = frozenset({"numero", "nro", "num"})
_MIN_ADDRESS_WORD: Final = 4


def check_address(case: Case) -> Verdict:
    """Judge an address answer: digits, quadrants and long words kept, in order."""
    raw, answer = case.raw, case.answer
    if digit_runs(raw) != digit_runs(answer):
        return reject("digits_changed")
    typed = tokens(raw)
    # "7D Bis" may have been typed "7 DBIS": letters glued to digits are words of their own.
    written = [part for token in tokens(answer) for part in LETTERS_OR_DIGITS.findall(token)]
    if [t for t in typed if t in _QUADRANTS] != [w for w in written if w in _QUADRANTS]:
        return reject("letters_changed")
    words = [t for t in typed if len(t) >= _MIN_ADDRESS_WORD and t.isalpha() and t not in _MARKERS]
    if in_order(words, written, _address_word_matches):
        return OK
    return reject("letters_changed")


def _address_word_matches(typed: str, written: str) -> bool:
    """Like `word_matches`, but keywords may be abbreviated either way, as letters kept in order.

    "Carrera" -> "Cra.", "Apartamento" -> "Apto.", "tranv" -> "Transversal".
    """
    if word_matches(typed, written):
        return True
    if not (typed.isalpha() and written.isalpha() and len(written) >= 2):
        return False
    if typed.startswith("k"):  # "Karrera", "Kra" are how many people spell "Carrera"
        typed = "c" + typed[1:]
    shorter, longer = sorted((typed, written), key=len)
    return shorter[0] == longer[0] and is_subsequence(shorter, longer)
