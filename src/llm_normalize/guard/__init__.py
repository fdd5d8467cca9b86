"""The guard: check a model's answer for one field against the raw value before it is used.

A model can hallucinate or lie: rename a person, strip an accent, change the letter of a
street number, move a lead to a similar-sounding town, pick any education level, expand an
acronym into a company that does not exist, or append instructions of its own. The pipeline
therefore never uses a model's answer directly. `Guard.check` decides whether the answer is
something a normalization of the raw value can be, by the kind of the field
(`FieldSpec.kind`), and returns a `Verdict`. A rejected answer falls back to the rules'
output and the field is flagged ``guard_rejected``; the guard itself never raises.

Both texts are cleaned with `clean_text` first (mojibake repaired, control and zero-width
characters removed, whitespace collapsed), because that is what the post-processors will see.
Then, for every kind: an answer with no letter or digit is rejected when the raw value had
one (``"empty"``), one with letters or digits when the raw value had none (``"invented"``);
private-use or unassigned code points must have been typed (``"control_chars"``); the answer
is at most ``spec.max_length`` characters and at most ``3 * len(raw) + 40`` (``"too_long"``).
Then each kind states what a normalization of the raw value may be; its module has the rule
and its examples:

- ``name`` (`llm_normalize.guard.names`): the raw value re-cased and re-spaced, nothing
  else: accents kept exactly, word boundaries kept, no mark or symbol that was not typed.
- ``address`` (`llm_normalize.guard.addresses`): read with the address post-processor's own
  grammar; the same digits, letters glued to numbers, ``Bis`` and quadrants, the same street
  type, and every other word standing for a word typed: nothing appended.
- ``place`` (`llm_normalize.guard.places`): nothing invented, or a place of the gazetteer
  that the raw value can be read as (`Gazetteer.candidate_places`).
- ``category`` (`llm_normalize.guard.categories`): no label, or a label the raw value
  supports (the rules' confident label, or one their evidence allows).
- ``free_text`` (`llm_normalize.guard.free_text`): every word typed written as itself, a
  known expansion from the post-processors' tables, or a typo fixed onto a known word; no
  name or acronym expanded.

Reasons are short PII-free tags (see `Verdict`); the guard never logs or returns a value.
"""

from __future__ import annotations

import unicodedata
import warnings
from collections.abc import Callable
from typing import Final

from llm_normalize.fields import FieldSpec, Profile
from llm_normalize.guard._text import OK, Case, Verdict, has_alnum, reject
from llm_normalize.guard.addresses import check_address
from llm_normalize.guard.categories import check_category
from llm_normalize.guard.free_text import check_free_text
from llm_normalize.guard.names import check_name
from llm_normalize.guard.places import PLACE_SIMILARITY, check_place
from llm_normalize.postprocessors.places import Gazetteer
from llm_normalize.postprocessors.text import clean_text, is_name_placeholder
from llm_normalize.profiles.colombia import COLOMBIAN_LEADS
from llm_normalize.records import FieldResult

__all__ = ["PLACE_SIMILARITY", "Guard", "Verdict"]

# An answer may be this many times longer than the raw value, plus a constant: an
# abbreviation expanded ("Adm." -> "Administrador", "EPM" -> "Empresas Públicas de Medellín")
# grows a lot, a paragraph of chatter grows more.
_LENGTH_FACTOR: Final = 3
_LENGTH_SLACK: Final = 40

# Code points that `clean_text` keeps but no answer should add: private use (Co) and
# unassigned (Cn). (ftfy can turn mojibake-looking input such as "Óíº" into U+E4BC, so a
# raw value may hold them; an answer may then keep them.)
_SUSPECT_CATEGORIES: Final = frozenset({"Co", "Cn"})


class Guard:
    """Check model answers against the raw values they came from, by kind of field.

    Args:
        profile: The field specs that `check_field` looks fields up in.
        gazetteer: The places a ``place`` answer must resolve to; the built-in one
            (`Gazetteer.default()`, loaded on first use) when None.
        place_similarity: Deprecated and ignored: places are checked against the raw
            value's candidates (`Gazetteer.candidate_places`), not a similarity threshold.

    A guard holds no mutable state (the default gazetteer is looked up once, idempotently),
    so one instance can serve many threads.

    Examples:
        >>> guard = Guard()
        >>> guard.check(COLOMBIAN_LEADS["nombres"], "JOSE", "Jose")
        Verdict(ok=True, reason=None)
        >>> guard.check(COLOMBIAN_LEADS["nombres"], "JOSE", "José")
        Verdict(ok=False, reason='accents_changed')
        >>> guard.check(COLOMBIAN_LEADS["nombres"], "Jon", "John")
        Verdict(ok=False, reason='letters_changed')
        >>> guard.check(COLOMBIAN_LEADS["empresa"], "Rappi", "Bancolombia")
        Verdict(ok=False, reason='too_different')
    """

    def __init__(
        self,
        profile: Profile = COLOMBIAN_LEADS,
        *,
        gazetteer: Gazetteer | None = None,
        place_similarity: float | None = None,
    ) -> None:
        if place_similarity is not None:
            warnings.warn(
                "Guard(place_similarity=...) is ignored: a place answer must be one of the "
                "raw value's candidates (Gazetteer.candidate_places); drop the argument",
                DeprecationWarning,
                stacklevel=2,
            )
        self._profile = profile
        self._gazetteer = gazetteer

    def __repr__(self) -> str:
        return f"Guard(profile={self._profile.name!r})"

    @property
    def gazetteer(self) -> Gazetteer:
        """The gazetteer place answers are checked against."""
        if self._gazetteer is None:
            self._gazetteer = Gazetteer.default()
        return self._gazetteer

    def check_field(
        self, field: str, raw: str, answer: str, *, rules: FieldResult | None = None
    ) -> Verdict:
        """Check an answer for a field of the profile, named in camelCase or snake_case.

        Raises:
            UnknownFieldError: The profile has no such field (a caller's mistake,
                the only error this class raises).
        """
        return self.check(self._profile[field], raw, answer, rules=rules)

    def check(
        self, spec: FieldSpec, raw: str, answer: str, *, rules: FieldResult | None = None
    ) -> Verdict:
        """Say whether `answer` is an acceptable normalization of `raw` for the field `spec`.

        Args:
            spec: The field's spec: its kind decides the checks.
            raw: The raw value the model was sent.
            answer: The model's answer for it.
            rules: What the rules made of `raw` (the pipeline passes it), when known: a
                category answer must then agree with a confident rules' label.

        Never raises, whatever the two texts hold. See the module docstring for the checks.
        """
        try:
            return self._check(spec, raw, answer, rules)
        except Exception:  # a guard must answer; an error of its own means "do not use it"
            return reject("error")

    def _check(self, spec: FieldSpec, raw: str, answer: str, rules: FieldResult | None) -> Verdict:
        raw_clean = clean_text(raw if isinstance(raw, str) else "")
        answer_clean = clean_text(answer if isinstance(answer, str) else "")
        raw_has_content = has_alnum(raw_clean)
        answer_has_content = has_alnum(answer_clean)
        if raw_has_content and not answer_has_content:
            # A name placeholder ("N/A", "sin dato") stands for no name: empty is its value.
            if spec.kind == "name" and is_name_placeholder(raw_clean):
                return OK
            return reject("empty")
        if not raw_has_content:
            # Nothing typed to lose; an answer with letters or digits would be made up.
            return reject("invented") if answer_has_content else OK
        if any(
            unicodedata.category(char) in _SUSPECT_CATEGORIES and char not in raw_clean
            for char in answer_clean
        ):
            return reject("control_chars")
        limit = min(spec.max_length, _LENGTH_FACTOR * len(raw_clean) + _LENGTH_SLACK)
        if len(answer_clean) > limit:
            return reject("too_long")
        case = Case(raw=raw_clean, answer=answer_clean, spec=spec, rules=rules, guard=self)
        return _CHECKS.get(spec.kind, check_free_text)(case)


_CHECKS: Final[dict[str, Callable[[Case], Verdict]]] = {
    "name": check_name,
    "address": check_address,
    "place": check_place,
    "category": check_category,
    "free_text": check_free_text,
}
