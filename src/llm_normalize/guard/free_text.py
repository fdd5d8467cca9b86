"""Free text (occupation, company): every word typed found again, in order, in the answer."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from llm_normalize.guard._text import (
    FILLERS,
    OK,
    Case,
    Verdict,
    digit_runs,
    reject,
    tokens,
    word_matches,
)

__all__ = ["check_free_text"]

_MAX_SPAN: Final = 8
_MAX_ALIGNMENT_CELLS: Final = 20_000


def _initials(words: Sequence[str]) -> str | None:
    """The initials of `words` without fillers; None unless the span starts and ends in a word."""
    if not words or words[0] in FILLERS or words[-1] in FILLERS:
        return None
    if not all(word.isalpha() for word in words):
        return None
    return "".join(word[0] for word in words if word not in FILLERS)


def _aligned(typed: list[str], written: list[str]) -> bool:
    """Say whether every typed word is found again, in order, in the written words.

    A dynamic programme over (typed index, written index): each step consumes one typed word
    and one written word that match (`word_matches`), a typed acronym and the words it
    abbreviates, or a word and the words it was split into; or it skips a filler on
    either side.
    """
    n, m = len(typed), len(written)
    if (n + 1) * (m + 1) > _MAX_ALIGNMENT_CELLS:
        return False
    reached = [[False] * (m + 1) for _ in range(n + 1)]
    reached[0][0] = True
    for i in range(n + 1):
        for j in range(m + 1):
            if not reached[i][j]:
                continue
            if i == n and j == m:
                return True
            if i < n and typed[i] in FILLERS:
                reached[i + 1][j] = True
            if j < m and written[j] in FILLERS:
                reached[i][j + 1] = True
            if i == n or j == m:
                continue
            if word_matches(typed[i], written[j]):
                reached[i + 1][j + 1] = True
            for span in range(2, min(_MAX_SPAN, m - j) + 1):
                words = written[j : j + span]
                if "".join(words) == typed[i] or _initials(words) == typed[i]:
                    reached[i + 1][j + span] = True
            for span in range(2, min(_MAX_SPAN, n - i) + 1):
                words = typed[i : i + span]
                if "".join(words) == written[j] or _initials(words) == written[j]:
                    reached[i + span][j + 1] = True
    return reached[n][m]


def check_free_text(case: Case) -> Verdict:
    """Judge a free-text answer: the same digits, every typed word found again in order."""
    raw, answer = case.raw, case.answer
    if digit_runs(raw) != digit_runs(answer):
        return reject("digits_changed")
    if _aligned(tokens(raw), tokens(answer)):
        return OK
    return reject("too_different")
