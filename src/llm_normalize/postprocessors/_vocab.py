"""Helpers shared by the vocabulary post-processors: education, organizations, occupations.

Three things they all need:

- `match_key`: a whole value's `fold` key for vocabulary lookups, but only when folding loses
  no letter, digit or symbol, so that replacing a matched value by its canonical spelling
  never drops anything the user typed (only case, accents, spacing and punctuation change).
- `title_case`: free text in title case with Spanish particles lower-case and acronyms kept,
  the rendering of every value that is not in a vocabulary.
- `load_json`: package data loaded once, lazily.

And `plain_words`, the words of a vocabulary as `plain` keys, for the guard's free-text check.

Title case is designed to be idempotent. Its one judgement is whether an upper-case token
the user typed ("BBVA" in "Banco BBVA Colombia") is an acronym: that is believed only when the
user also typed lower-case elsewhere in the value (the *evidence*). Evidence is a typed part
that has a lower-case letter and keeps one after `recase`, so a rendered value has evidence
whenever its input had: running `title_case` again keeps the same tokens upper-case.
In an ALL-CAPS value nothing tells an acronym from a word, so only known acronyms stay upper.
A word typed with a capital inside it, as brands are written ("ExcelCredit", "DevOps",
"McDonald's", "iOS"), is kept as typed (`is_brand_cased`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from importlib import resources
from typing import Final

from llm_normalize.postprocessors.spanish import (
    ARTICLES,
    PREPOSITIONS,
    TITLE_MIDDLE_ONLY,
    TITLE_PARTICLES,
    plain,
)
from llm_normalize.postprocessors.text import clean_text, fold, recase

__all__ = [
    "is_brand_cased",
    "is_placeholder",
    "load_json",
    "match_key",
    "plain_words",
    "settle",
    "title_case",
]

_DATA_PACKAGE: Final = "llm_normalize.postprocessors"
_DATA_DIR: Final = "data"

# Punctuation that a vocabulary match may drop or rewrite ("Ecopetrol." -> "Ecopetrol",
# "n/a" -> "N/A"). Any other non-alphanumeric character (an emoji, a symbol, a letter that
# folding cannot spell in ASCII such as "ø") blocks the match, so it is kept in the output.
_MATCH_PUNCTUATION: Final = frozenset(" .,;:-_/&'\"()´`")
# What `fold` keeps; anything else it turns into a space ("™" decomposes to upper-case "TM").
_FOLD_ALPHABET: Final = frozenset("abcdefghijklmnopqrstuvwxyz0123456789")

# An upper-case word the user typed is kept as an acronym only at this length.
_MIN_ACRONYM: Final = 2
_MAX_ACRONYM: Final = 5

_ALNUM_RUN: Final = re.compile(r"([^\W_]+)")
# `_is_camel` on a word's shape, "U" for a capital and "l" for a lower-case letter.
_CAMEL_SHAPE: Final = re.compile(r"(?:Ul+)+(?:Ul+|U{1,3})")
# "S.E.N.A", "i.b.m.": single letters each followed by a period (the last one optional).
_DOTTED: Final = re.compile(r"(?:[^\W\d_]\.)+[^\W\d_]?")


def load_json(name: str) -> object:
    """Read a JSON file from the package data folder (callers cache the result)."""
    path = resources.files(_DATA_PACKAGE).joinpath(_DATA_DIR, name)
    return json.loads(path.read_text(encoding="utf-8"))


def plain_words(texts: Iterable[str]) -> frozenset[str]:
    """The words of `texts` as `plain` keys: runs of letters and digits, case-folded, accent-free.

    `plain_words(["Almacenes Éxito", "N/A"])` is ``{"almacenes", "exito", "n", "a"}``.
    """
    return frozenset(word for text in texts for word in _ALNUM_RUN.findall(plain(text)))


def match_key(text: str) -> str | None:
    """Return `fold(text)` if folding drops nothing but case, accents and punctuation.

    Returns None when `text` holds a character that `fold` would turn into a space although
    it is neither whitespace nor ordinary punctuation (an emoji, "ø", "™"): a vocabulary
    match would silently drop it.
    """
    for char in plain(text):
        if char.isspace() or char in _MATCH_PUNCTUATION:
            continue
        if char not in _FOLD_ALPHABET:
            return None
    return fold(text)


def is_placeholder(text: str) -> bool:
    """Say whether a cleaned value has no letter or digit at all ("-", "...", "?")."""
    return not any(char.isalnum() for char in text)


def settle(rendered: str, typed: str) -> str:
    """Return `rendered`, or the cleaned `typed` value if cleaning would change `rendered`.

    A change of case can make text look like mojibake to `clean_text` ("â•" upper-cased is
    "Â•", which ftfy repairs to "•", losing a letter). Then the value is kept as typed:
    cleaning it again changes nothing, so the post-processor stays idempotent.
    """
    return rendered if clean_text(rendered) == rendered else typed


def _is_particle(keys: Sequence[str], index: int) -> bool:
    # Particles are capitalised only as the first word (see `spanish.TITLE_PARTICLES`).
    # Articles are particles only after a preposition: "Universidad de los Andes" but
    # "Distribuidora Los Andes", "Droguería El Porvenir", as Colombian company names are written.
    if index == 0:
        return False
    key = keys[index]
    last = index == len(keys) - 1
    if key in TITLE_PARTICLES:
        return True
    if key in ARTICLES:
        return keys[index - 1] in PREPOSITIONS
    if key in TITLE_MIDDLE_ONLY:
        return not last
    # "e" is the conjunction only before an i- sound ("Ciencia e Innovación").
    if key == "e":
        return not last and plain(keys[index + 1]).startswith(("i", "hi"))
    return False


def _has_lower(text: str) -> bool:
    return any(char.islower() for char in text)


def _is_evidence(part: str, acronyms: Mapping[str, str]) -> bool:
    # A part the user typed with a lower-case letter that survives rendering (see module doc).
    return plain(part) not in acronyms and _has_lower(part) and _has_lower(recase(part))


def _is_camel(part: str) -> bool:
    # Humps of a capital and lower-case letters, two or more ("ExcelCredit", "McDonald",
    # "DevOps"); the last may be up to three capitals ("PayU", "PowerBI").
    shape = "".join("U" if char.isupper() else "l" if char.islower() else "?" for char in part)
    return _CAMEL_SHAPE.fullmatch(shape) is not None


def is_brand_cased(part: str) -> bool:
    """Say whether a typed word of letters is written as a brand is: a capital inside it.

    "ExcelCredit", "DevOps", "JavaScript", "McDonald", "LinkedIn", "PayU", "PowerBI"; and an "i" or
    "e" before a capitalised word or up to three capitals: "iOS", "iPhone", "eBay".
    Not a word typed with caps lock reversed ("gOMEZ", "eSTRELLA") or all in one case.
    """
    if len(part) < 3 or not part.isalpha():
        return False
    if part[0] in "ie" and part[1].isupper():
        rest = part[1:]
        return (rest.isupper() and len(rest) <= 3) or rest.istitle() or _is_camel(rest)
    return len(part) > 3 and _is_camel(part)


def _render_part(part: str, acronyms: Mapping[str, str], keep_upper: bool) -> str:
    known = acronyms.get(plain(part))
    if known is not None:
        return known
    if part[0].isdigit():
        # "80", "3M", "2do": case inside a code is the user's business.
        return part
    if is_brand_cased(part):
        return part
    if (
        keep_upper
        and part.isalpha()
        and part.isupper()
        and _MIN_ACRONYM <= len(part) <= _MAX_ACRONYM
    ):
        return part
    return recase(part)


def title_case(
    words: Sequence[str],
    *,
    acronyms: Mapping[str, str],
    generated: frozenset[int] = frozenset(),
) -> str:
    """Render words in title case with Spanish particles lower-case and acronyms kept.

    Args:
        words: The words of a cleaned value (split on single spaces).
        acronyms: Known spellings by `plain` key, e.g. ``{"sena": "SENA"}``; a part of a word
            with that key is written that way, whatever the case it was typed in. Each
            spelling must have the same `plain` key as its entry.
        generated: Indexes of words the caller produced itself (an expanded abbreviation, an
            inserted "de"): they are kept exactly and never count as evidence of case.

    Returns:
        The words joined by spaces: "banco BBVA colombia" -> "Banco BBVA Colombia" (mixed
        case: a typed acronym is kept), "BANCO DE BOGOTA" -> "Banco de Bogota".
    """
    # Particles match exactly modulo case: "dé" is not "de" and keeps its accent.
    keys = [word.casefold() for word in words]
    evidence = any(
        _is_evidence(part, acronyms)
        for index, word in enumerate(words)
        if index not in generated
        for part in _ALNUM_RUN.findall(word)
    )
    out: list[str] = []
    for index, word in enumerate(words):
        if index in generated:
            out.append(word)
        elif _is_particle(keys, index):
            out.append(keys[index])
        elif _DOTTED.fullmatch(word) and (known := acronyms.get(plain(word).replace(".", ""))):
            out.append(known)
        else:
            pieces = _ALNUM_RUN.split(word)
            for position in range(1, len(pieces), 2):
                piece = pieces[position]
                if len(piece) == 1 and pieces[position - 1].endswith("'"):
                    # A possessive or elided letter: "Donald's", not "Donald'S".
                    pieces[position] = piece.lower() if len(piece.lower()) == 1 else piece
                else:
                    pieces[position] = _render_part(piece, acronyms, evidence)
            out.append("".join(pieces))
    return " ".join(out)
