"""Names (nombres, apellidos): the raw value re-cased and re-spaced, nothing else.

A name answer is accepted only if it can be reached from the raw value by changing the case
of letters, the spaces and hyphens between words, and by dropping typed punctuation. Both
texts are already cleaned (`clean_text`: mojibake repaired, invisible characters removed,
NFC), which is the only step allowed to change an accent.

Each text is read as words (maximal runs of letters, digits and combining marks) and the gaps
between them (everything else, the text's ends included). Then, in this order:

- the words' letters and digits, case-folded and with every mark removed, must be the same,
  in the same order (``"letters_changed"``): "Jon" -> "John", "Perez Garcia" ->
  "Garcia Perez", "Maria Fernanda" -> "Maria" and "Juan 2" -> "Juan" are rejected;
- with their marks, compared case-insensitively only, they must still be the same
  (``"accents_changed"``): diacritics are kept exactly, so "Peña" -> "Pena",
  "JOSE" -> "José" and "Juliana" -> "J̶u̶l̶i̶a̶n̶a̶" (a combining overlay) are rejected;
- the words themselves must be the same: no word split, joined or re-cut
  (``"words_changed"``): "Moreno Ospina" -> "Mor Enoospina" and "mariajose" ->
  "Maria Jose" are rejected;
- in each gap, anything but spaces, and hyphens between two words, must have been typed in
  the same gap, in the same order (``"not_typed"``): "o'neill" -> "O'Neill" and "(Juan)"
  -> "Juan" pass, "Juan" -> "Juan.", "Juan" -> "Juan-" and "o neill" -> "O'Neill" do not;
  "Juliana" -> "Juliana ✓" neither.

So "ANA-MARÍA" -> "Ana María", "Ana María" -> "Ana-María", "DE LA CRUZ" -> "De la Cruz" and
"o'neill" -> "O Neill" pass. A split word is refused although an honest model might make it
("mariajose" -> "Maria Jose"): the prompt asks for every letter as typed, no name of the
2,000-lead sample is two names glued together, and the rules' value is used instead.
"""

from __future__ import annotations

import unicodedata
from typing import Final

from llm_normalize.guard._text import OK, Case, Verdict, reject
from llm_normalize.postprocessors.spanish import plain

__all__ = ["check_name"]

# What may appear in a gap without having been typed there: spaces, and between two words the
# hyphen that joins compound names ("Ana-María"), which may also become a space or replace one.
_BETWEEN_WORDS: Final = frozenset(" -\u2010\u2011")
_AT_THE_ENDS: Final = frozenset(" ")


def _split(text: str) -> tuple[list[str], list[str]]:
    """Cut a cleaned text into case-folded words and the gaps around them.

    There is always one more gap than words: the text before the first word, between each
    two words, and after the last.
    """
    words: list[str] = []
    gaps: list[str] = []
    current: list[str] = []
    gap: list[str] = []
    for char in unicodedata.normalize("NFC", text.casefold()):
        if char.isalnum() or unicodedata.category(char)[0] == "M":
            if not current:
                gaps.append("".join(gap))
                gap = []
            current.append(char)
        else:
            if current:
                words.append("".join(current))
                current = []
            gap.append(char)
    if current:
        words.append("".join(current))
    gaps.append("".join(gap))
    return words, gaps


def _typed_in(gap: str, typed: str, free: frozenset[str]) -> bool:
    """Whether a gap of the answer holds only `free` characters and what was typed, in order."""
    chars = iter(typed)
    return all(char in free or char in chars for char in gap)


def check_name(case: Case) -> Verdict:
    """Judge a name answer: the raw value re-cased and re-spaced (see the module docstring)."""
    raw_words, raw_gaps = _split(case.raw)
    answer_words, answer_gaps = _split(case.answer)
    if raw_words != answer_words:
        raw_letters, answer_letters = "".join(raw_words), "".join(answer_words)
        if plain(raw_letters) != plain(answer_letters):
            return reject("letters_changed")
        if raw_letters != answer_letters:
            return reject("accents_changed")
        return reject("words_changed")
    last = len(answer_gaps) - 1
    if all(
        _typed_in(gap, typed, _BETWEEN_WORDS if 0 < index < last else _AT_THE_ENDS)
        for index, (gap, typed) in enumerate(zip(answer_gaps, raw_gaps, strict=True))
    ):
        return OK
    return reject("not_typed")
