"""Categories (nivelEducativo): one of the field's labels."""

from __future__ import annotations

from collections.abc import Sequence

from llm_normalize.guard._text import OK, Verdict, letters_key, reject

__all__ = ["check_category"]


def check_category(labels: Sequence[str], answer: str) -> Verdict:
    """Judge a category answer: one of `labels`, up to case and accents."""
    key = letters_key(answer)
    if any(key == letters_key(label) for label in labels):
        return OK
    return reject("not_a_label")
