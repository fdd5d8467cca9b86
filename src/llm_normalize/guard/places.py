"""Places (ciudad): an answer names a place the raw value can be read as, or invents nothing.

The rule, in order:

1. An answer that is the raw value up to case, accents, spacing and punctuation, or exactly
   what the rules write for it, is accepted: nothing is invented ("san juan de la costa" ->
   "San Juan de la Costa", "valle" -> "Valle del Cauca", "Barbosa" -> "Barbosa").
2. Otherwise the answer must resolve to a place of the guard's gazetteer, typos tolerated
   as by the city post-processor (``"unknown_place"``: "Cali" -> "Atlantis",
   "Caracas" -> "Caracas, Venezuela").
3. And that place must be a candidate for the raw value, `Gazetteer.candidate_places`
   (``"different_place"``):

   - the place the raw value resolves to, when it resolves ("medallo" -> "Medellín,
     Antioquia" passes, "medellin" -> "Envigado" and "Armenia" -> "Armenia (Antioquia)" do
     not);
   - else the places it names exactly, every namesake ("Barbosa" -> "Barbosa (Santander)"
     passes, "Barbosa" -> "Barbacoas" does not);
   - else the nearest places within a bounded fuzzy match, on the folded key or a Spanish
     spelling key (letters of one sound count as one: "z", "s" and a soft "c"; "ll" and
     "y"; "qu", "k" and a hard "c"; "v" and "b"): below five characters only the same
     spelling ("Kali" -> "Cali"), one edit below twelve, two from twelve on ("barankilla"
     -> "Barranquilla", "medejin" -> "Medellín" and "bucaramamga" -> "Bucaramanga" pass;
     "Caracas" -> "Arauca", "Quito" -> "Quibdó" and "Valera" -> "La Calera" do not);
   - with a department typed before or after the name, exactly or within those bounds,
     only that department's places ("Barbosa, Santnder" -> "Barbosa (Antioquia)" does
     not pass); words for the country, a part of town or an island at either end are set
     aside ("bogota colombia sur" -> "Bogotá D.C." and "San Andres isla" -> "San Andrés"
     pass).

A department alone, the country, a value with digits, a city next to another department
("Cali, Antioquia") and a sentence have no candidate place: only rule 1 can accept an
answer for them.

The rules' own output always passes: either it is the raw value tidied or what the rules
write (rule 1), or a place the raw value resolves to (rule 3).
"""

from __future__ import annotations

import functools
from typing import Final

from llm_normalize.guard._text import OK, Case, Verdict, letters_key, reject
from llm_normalize.postprocessors.spanish import plain

__all__ = ["PLACE_SIMILARITY", "check_place"]

PLACE_SIMILARITY: Final = 70.0
"""Deprecated: no longer read by the place check; kept so that code importing it still works.

It was the lowest rapidfuzz score (0-100) between an unrecognised raw city and the place a
model named. A score against any place let a model move "Caracas" to Arauca and nine other
places, so the check now asks for a candidate place of the raw value instead
(`Gazetteer.candidate_places`), and ``Guard(place_similarity=...)`` has no effect.
"""

# The `assess_city` reasons of a value that names exactly one place.
_RESOLVED: Final = frozenset({"known", "alias", "fuzzy"})


def check_place(case: Case) -> Verdict:
    """Say whether the answer may stand for the place typed (see the module docstring)."""
    gazetteer = case.guard.gazetteer
    answer_key = _key(case.answer)
    if answer_key == _key(case.raw):
        return OK
    written = (
        case.rules.value
        if case.rules is not None and case.rules.value is not None
        else gazetteer.normalize(case.raw)
    )
    if answer_key == _written_key(written):
        return OK
    # `assess` is memoised, and writes a resolved place as `render` does: compare those.
    outcome = gazetteer.assess(case.answer)
    if outcome.reason not in _RESOLVED:
        return reject("unknown_place")
    candidates = gazetteer.candidate_places(case.raw)
    if any(gazetteer.render(place) == outcome.value for place in candidates):
        return OK
    return reject("different_place")


def _key(cleaned: str) -> str:
    """`letters_key` of a text the guard has already cleaned (without cleaning it again)."""
    return "".join(char for char in plain(cleaned) if char.isalnum())


@functools.lru_cache(maxsize=4096)
def _written_key(value: str) -> str:
    """`letters_key` of what the rules wrote: few distinct values, met again and again."""
    return letters_key(value)
