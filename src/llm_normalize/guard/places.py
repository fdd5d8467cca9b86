"""Places (ciudad): an answer that names the raw value's place, or one that looks like it."""

from __future__ import annotations

from typing import Final

from llm_normalize.guard._text import OK, Case, Verdict, letters_key, reject, similarity
from llm_normalize.postprocessors.text import fold

__all__ = ["PLACE_SIMILARITY", "check_place"]

PLACE_SIMILARITY: Final = 70.0
"""The lowest similarity (0-100) between an unrecognised raw city and the place a model names.

The score is the best rapidfuzz `ratio` or `token_set_ratio` between the `fold` keys of the
raw value and of the answer (or of the place's canonical name). Typos the gazetteer does not
resolve by itself pass ("barankilla" -> "Barranquilla" 82, "medejin" -> "Medellín" 80,
"bogota colombia sur" -> "Bogotá D.C." 75), and so do namesakes made precise ("Barbosa" ->
"Barbosa (Santander)" 100); another city does not ("Caracas" -> "Cali" 36,
"Caracas" -> "Cartagena" 62, "Valera" -> "La Calera" 67).
"""


def check_place(case: Case) -> Verdict:
    """Say whether the answer may stand for the place typed (see the module docstring)."""
    gazetteer, raw, answer = case.guard.gazetteer, case.raw, case.answer
    threshold = case.guard.place_similarity
    answer_place = gazetteer.resolve(answer)
    raw_place = gazetteer.resolve(raw)
    if answer_place is None:
        # Left as typed, or written as the rules write it (a department, an ambiguous
        # namesake): nothing is invented, so it is acceptable.
        key = letters_key(answer)
        if key in (letters_key(raw), letters_key(gazetteer.normalize(raw))):
            return OK
        return reject("unknown_place")
    if raw_place is not None:
        return OK if answer_place == raw_place else reject("different_place")
    typed = fold(raw)
    score = max(similarity(typed, fold(answer)), similarity(typed, fold(answer_place.name)))
    return OK if score >= threshold else reject("different_place")
