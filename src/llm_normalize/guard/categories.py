"""Categories (nivelEducativo): a label the raw value supports, or the raw value kept.

The rule, in order:

1. An answer that is the raw value up to case, accents, spacing and punctuation, or exactly
   what the rules write for it when they pick no label, is accepted: "no label" is always
   an honest answer ("Diplomado" -> "Diplomado", "curso de ingles" -> "Curso de Inglés",
   "bachiller academico" -> "Bachiller Académico").
2. Otherwise the answer must be exactly one of ``spec.labels``, up to case and accents
   (``"not_a_label"``: "Doctor", "Bachiller, Técnico", "Diplomado" for "profesional").
3. And the raw value must support that label (``"unsupported_label"``):

   - when the rules are confident of a label, only that label ("primaria" -> "Primaria"
     passes, "primaria" -> "Doctorado" does not);
   - otherwise the rules' label, or another label the raw value's words support. For the
     education levels that is `supported_education_levels`: the levels named by keywords,
     abbreviations ("lic", "univ") and the rules' fuzzy match ("profesinal"), each level
     of a value naming several ("técnico y profesional"), the readings of a vague keyword
     ("posgrado": "Profesional" to "Doctorado"), and for a level not completed only the
     level completed before it ("universitaria incompleta" -> "Bachiller" passes,
     "Profesional" does not). For other labels, a label whose every word is typed, maybe
     abbreviated (three letters or more) or within an edit (five letters or more, two
     from nine).

The rules' view is the ``rules`` result the pipeline passes; a direct caller that passes
none gets the education post-processor's (`assess_education_level`) when the labels are
education levels. Each answer is checked against its own raw value, so answers swapped
between the items of one batch are caught.

The rules' own output always passes: either a label they are confident of, a label they
support, or the raw value tidied.
"""

from __future__ import annotations

import functools
from typing import Final

from llm_normalize.guard._text import OK, Case, Verdict, letters_key, reject, tokens
from llm_normalize.postprocessors.education import (
    EDUCATION_LEVELS,
    assess_education_level,
    supported_education_levels,
)
from llm_normalize.postprocessors.spanish import CONNECTORS, plain

__all__ = ["check_category"]

# Bounds of the generic support of a label by the raw value's words (labels other than the
# education levels): a typed word that begins a label word abbreviates it from this length,
# and a typed word may differ by one edit from _ONE_EDIT_LENGTH letters, two from
# _TWO_EDITS_LENGTH (as in the free-text check).
_MIN_ABBREVIATION: Final = 3
_ONE_EDIT_LENGTH: Final = 5
_TWO_EDITS_LENGTH: Final = 9


@functools.lru_cache(maxsize=64)
def _label_keys(labels: tuple[str, ...]) -> dict[str, str]:
    """Each label by its `letters_key`."""
    return {letters_key(label): label for label in labels}


@functools.lru_cache(maxsize=64)
def _are_education_levels(labels: tuple[str, ...]) -> bool:
    return set(_label_keys(labels)) <= set(_label_keys(EDUCATION_LEVELS))


def check_category(case: Case) -> Verdict:
    """Judge a category answer: a label the raw value supports, or the raw value kept."""
    labels = case.spec.labels
    keys = _label_keys(labels)
    education = _are_education_levels(labels)
    if case.rules is not None:
        written, confident = case.rules.value, case.rules.confident
    elif education:
        outcome = assess_education_level(case.raw)
        written, confident = outcome.value, outcome.confident
    else:
        written, confident = None, False
    written_key = _written_key(written) if written else None
    written_label = keys.get(written_key) if written_key is not None else None
    answer_key = _key(case.answer)
    if answer_key == _key(case.raw):
        return OK
    label = keys.get(answer_key)
    if label is None:
        tidied = written_label is None and answer_key == written_key
        return OK if tidied else reject("not_a_label")
    if label == written_label:
        return OK
    if confident and written_label is not None:
        return reject("unsupported_label")
    if education:
        supported = {
            keys.get(_written_key(level)) for level in supported_education_levels(case.raw)
        }
    else:
        supported = _named_labels(case.raw, labels)
    return OK if label in supported else reject("unsupported_label")


def _key(cleaned: str) -> str:
    """`letters_key` of a text the guard has already cleaned (without cleaning it again)."""
    return "".join(char for char in plain(cleaned) if char.isalnum())


@functools.lru_cache(maxsize=4096)
def _written_key(value: str) -> str:
    """`letters_key` of what the rules wrote: few distinct values, met again and again."""
    return letters_key(value)


def _named_labels(raw: str, labels: tuple[str, ...]) -> set[str | None]:
    """The labels whose every word (connectors aside) a word of `raw` may stand for."""
    typed = tokens(raw)
    return {
        label
        for label in labels
        if (words := [word for word in tokens(label) if word not in CONNECTORS])
        and all(any(_stands_for(word, label_word) for word in typed) for label_word in words)
    }


def _stands_for(typed: str, word: str) -> bool:
    """Say whether a typed word may stand for a label's word: equal, abbreviated or a typo."""
    if typed == word:
        return True
    if not (typed.isalpha() and word.isalpha()):
        return False
    if len(typed) >= _MIN_ABBREVIATION and word.startswith(typed):
        return True
    longest = max(len(typed), len(word))
    if longest < _ONE_EDIT_LENGTH:
        return False
    from rapidfuzz.distance import OSA  # only for labels outside the education levels

    allowed = 2 if longest >= _TWO_EDITS_LENGTH else 1
    return OSA.distance(typed, word, score_cutoff=allowed) <= allowed
