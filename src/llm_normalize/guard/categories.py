"""Categories (nivelEducativo): one of the field's labels."""

from __future__ import annotations

from llm_normalize.guard._text import OK, Case, Verdict, letters_key, reject

__all__ = ["check_category"]


def check_category(case: Case) -> Verdict:
    """Judge a category answer: one of `labels`, up to case and accents."""
    key = letters_key(case.answer)
    if any(key == letters_key(label) for label in case.spec.labels):
        return OK
    return reject("not_a_label")
