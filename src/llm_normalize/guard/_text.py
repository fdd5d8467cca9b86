"""What the guard's checks share: the verdict, and how texts are split into comparable words."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from llm_normalize.fields import FieldSpec
from llm_normalize.postprocessors.spanish import CONNECTORS, plain
from llm_normalize.postprocessors.text import clean_text
from llm_normalize.records import FieldResult

if TYPE_CHECKING:
    from llm_normalize.guard import Guard

__all__ = [
    "FILLERS",
    "LEGAL_FORMS",
    "LETTERS_OR_DIGITS",
    "OK",
    "Case",
    "Verdict",
    "digit_runs",
    "has_alnum",
    "in_order",
    "is_subsequence",
    "letters_key",
    "reject",
    "similarity",
    "tokens",
    "word_matches",
]

# Words a free-text answer may add or drop: Spanish connectors ("Ing. Sistemas" ->
# "Ingeniero de Sistemas"; which ones, and why, in `spanish.CONNECTORS`). Legal forms (S.A.S., Ltda.) are not among them: adding,
# dropping or swapping one changes which company is meant.
FILLERS: Final = CONNECTORS
# Legal forms of companies, once initialisms are joined ("S.A.S." is "sas"). They match only
# themselves or what they abbreviate ("Sociedad Anónima" -> "S.A."): "S.A." is not "S.A.S.".
LEGAL_FORMS: Final = frozenset({"sa", "sas", "ltda", "cia", "eu", "bic", "esp", "sca", "scs"})

# Bounds of the free-text alignment: abbreviations matched as subsequences are short,
# acronyms and split words span a few tokens, and the search table stays small.
_MIN_SUBSEQUENCE_ABBREVIATION: Final = 3
_MAX_SUBSEQUENCE_ABBREVIATION: Final = 6
_MAX_ALIGNMENT_CELLS: Final = 20_000  # the largest search table `in_order` builds
# A token this long may differ by one edit ("Konecta"/"Konekta"), from _TWO_EDITS_LENGTH by two.
_ONE_EDIT_LENGTH: Final = 5
_TWO_EDITS_LENGTH: Final = 9

_TOKEN: Final = re.compile(r"[^\W_]+")
_DIGITS: Final = re.compile(r"\d+")
LETTERS_OR_DIGITS: Final = re.compile(r"\d+|[^\W\d_]+")


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
        reason: None when ok, else a PII-free tag: ``"empty"``, ``"invented"``,
            ``"control_chars"``, ``"too_long"``, ``"letters_changed"``, ``"digits_changed"``,
            ``"unknown_place"``, ``"different_place"``, ``"not_a_label"``, ``"too_different"``,
            or ``"error"`` if the guard itself failed (a bug; the answer is not used).
    """

    ok: bool
    reason: str | None = None


OK: Final = Verdict(ok=True)


def reject(reason: str) -> Verdict:
    return Verdict(ok=False, reason=reason)


def has_alnum(text: str) -> bool:
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


def similarity(left: str, right: str) -> float:
    # Imported here: rapidfuzz is needed only for unrecognised places and free text, and
    # `import llm_normalize` stays light.
    from rapidfuzz import fuzz

    return max(fuzz.ratio(left, right), fuzz.token_set_ratio(left, right))


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


def is_subsequence(short: str, long: str) -> bool:
    chars = iter(long)
    return all(char in chars for char in short)


def _within_edits(left: str, right: str) -> bool:
    longest = max(len(left), len(right))
    if longest < _ONE_EDIT_LENGTH or any(char.isdigit() for char in left + right):
        return False
    from rapidfuzz.distance import OSA

    allowed = 2 if longest >= _TWO_EDITS_LENGTH else 1
    return OSA.distance(left, right, score_cutoff=allowed) <= allowed


def _gender_changed(left: str, right: str) -> bool:
    """Say whether two words differ only by gender ("ingeniero"/"ingeniera", "asesor"/"asesora")."""
    if len(left) == len(right):
        return left[:-1] == right[:-1] and {left[-1], right[-1]} == {"a", "o"}
    shorter, longer = sorted((left, right), key=len)
    return longer == shorter + "a" and shorter[-1:] not in {"", "a", "e", "i", "o", "u"}


def word_matches(typed: str, written: str) -> bool:
    """Say whether the typed word `typed` may be written `written` in an answer."""
    if typed == written:
        return True
    if typed in LEGAL_FORMS or written in LEGAL_FORMS:
        return False
    if _gender_changed(typed, written):
        # A person's data: "Ingeniera" must not become "Ingeniero", nor "Asesor" "Asesora".
        return False
    if typed.isalpha() and written.isalpha():
        if written.startswith(typed):  # "ing" -> "ingeniero", "u" -> "universidad"
            return True
        if (  # "admon" -> "administracion", "gral" -> "general", "ltda" -> "limitada"
            _MIN_SUBSEQUENCE_ABBREVIATION <= len(typed) <= _MAX_SUBSEQUENCE_ABBREVIATION
            and len(written) > len(typed)
            and typed[0] == written[0]
            and typed[-1] == written[-1]
            and is_subsequence(typed, written)
        ):
            return True
    return _within_edits(typed, written)


def in_order(typed: list[str], written: list[str], match: Callable[[str, str], bool]) -> bool:
    """Say whether each typed word matches a written word, in order; written words may be extra.

    A typed word may also match two written words joined ("dbis" and "D Bis").
    """
    n, m = len(typed), len(written)
    if n > m:
        return False
    if (n + 1) * (m + 1) > _MAX_ALIGNMENT_CELLS:
        return False
    # reach[i]: the fewest written words that the first i typed words need.
    reach = [m + 1] * (n + 1)
    reach[0] = 0
    for i, word in enumerate(typed):
        start = reach[i]
        reach[i + 1] = next(
            (
                j + width
                for j in range(start, m)
                for width in (1, 2)
                if j + width <= m and match(word, "".join(written[j : j + width]))
            ),
            m + 1,
        )
        if reach[i + 1] > m:
            return False
    return True
