"""Names (nombres, apellidos): the same letters and digits, in the same order."""

from __future__ import annotations

from llm_normalize.guard._text import OK, Case, Verdict, letters_key, reject

__all__ = ["check_name"]


def check_name(case: Case) -> Verdict:
    """Judge a name answer: the same letters and digits in order, up to case and accents."""
    return OK if letters_key(case.raw) == letters_key(case.answer) else reject("letters_changed")
