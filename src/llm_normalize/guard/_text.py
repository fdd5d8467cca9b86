"""What the guard's checks share: the verdict, and how texts are split into comparable words."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from llm_normalize.fields import FieldSpec
from llm_normalize.postprocessors.spanish import plain
from llm_normalize.postprocessors.text import clean_text
from llm_normalize.records import FieldResult

if TYPE_CHECKING:
    from llm_normalize.guard import Guard

__all__ = [
    "OK",
    "Case",
    "Verdict",
    "digit_runs",
    "has_alnum",
    "letters_key",
    "reject",
    "tokens",
]

_TOKEN: Final = re.compile(r"[^\W_]+")
_DIGITS: Final = re.compile(r"\d+")


@dataclass(frozen=True, slots=True)
class Case:
    """One answer to judge, with what a kind's check may need.

    Attributes:
        raw: The raw value, cleaned (`clean_text`).
        answer: The model's answer, cleaned.
        spec: The field's spec (labels, instructions).
        rules: What the rules made of the raw value, when the caller knows it.
        guard: The guard judging (its gazetteer and settings).
    """

    raw: str
    answer: str
    spec: FieldSpec
    rules: FieldResult | None
    guard: Guard


@dataclass(frozen=True, slots=True)
class Verdict:
    """The guard's judgement of one answer.

    Attributes:
        ok: True when the answer may be used.
        reason: None when ok, else a PII-free tag. Every kind: ``"empty"``,
            ``"invented"``, ``"control_chars"``, ``"too_long"``. Names: ``"letters_changed"``,
            ``"accents_changed"``, ``"words_changed"``, ``"not_typed"``. Addresses:
            ``"digits_changed"``, ``"suffix_changed"``, ``"street_type_changed"``,
            ``"not_typed"``, ``"letters_changed"``. Places: ``"unknown_place"``,
            ``"different_place"``. Categories: ``"not_a_label"``, ``"unsupported_label"``.
            Free text: ``"digits_changed"``, ``"too_different"``. ``"error"`` if the guard
            itself failed (a bug; the answer is not used).
    """

    ok: bool
    reason: str | None = None


OK: Final = Verdict(ok=True)


def reject(reason: str) -> Verdict:
    """A rejection with the PII-free `reason`."""
    return Verdict(ok=False, reason=reason)


def has_alnum(text: str) -> bool:
    """Whether `text` holds a letter or a digit of any script."""
    return any(char.isalnum() for char in text)


def letters_key(text: str) -> str:
    """Every letter and digit of `text`, in order, without case or accents.

    Unlike `fold`, letters of every script count: "Иван" and "Петр" have different keys.
    """
    return "".join(char for char in plain(clean_text(text)) if char.isalnum())


def digit_runs(text: str) -> list[str]:
    """The runs of decimal digits of `text`, as ASCII ("١٢" counts as "12")."""
    return [
        "".join(str(unicodedata.decimal(char)) for char in run) for run in _DIGITS.findall(text)
    ]


def tokens(text: str) -> list[str]:
    """Split into case-folded, accent-free words; runs of single characters are joined.

    "S.A.S." and "sas" are both ``["sas"]``, "N/A" and "na" both ``["na"]``.
    """
    tokens: list[str] = []
    run: list[str] = []
    for token in _TOKEN.findall(plain(text)):
        if len(token) == 1 and token.isalpha():
            run.append(token)
            continue
        if run:
            tokens.append("".join(run))
            run = []
        tokens.append(token)
    if run:
        tokens.append("".join(run))
    return tokens
