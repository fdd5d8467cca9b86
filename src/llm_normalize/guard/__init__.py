"""The guard: check a model's answer for one field against the raw value before it is used.

A model can hallucinate: rename a person, invent a street number, move a lead to another
city or replace a company with a better-known one. The pipeline therefore never uses a
model's answer directly. `Guard.check` compares the answer with the raw value that was sent,
by the kind of the field (`FieldSpec.kind`), and returns a `Verdict`. A rejected answer
falls back to the rules' output and the field is flagged; the guard itself never raises.

Both texts are cleaned with `clean_text` first (mojibake repaired, control and zero-width
characters removed, whitespace collapsed), because that is what the post-processors will see.
Then:

- every kind: an answer with no letter or digit is rejected when the raw value had one
  (``"empty"``), and an answer with letters or digits is rejected when the raw value had
  none (``"invented"``); private-use or unassigned code points that survive cleaning are
  rejected unless the raw value had them (``"control_chars"``); the answer is at most ``spec.max_length`` characters and at
  most ``3 * len(raw) + 40`` (``"too_long"``).
- ``name``: the same letters and digits in the same order, ignoring case, accents, spacing
  and punctuation: "JOSE" -> "José" passes, "Jon" -> "John" and "Perez Garcia" ->
  "Garcia Perez" do not (``"letters_changed"``).
- ``address``: the same runs of digits in the same order (``"digits_changed"``): "cl 25 sur
  no. 18-8" -> "Calle 25 Sur # 18 - 8" passes, "Calle 25 # 18 - 80" does not. The same
  quadrants (Sur, Norte, Este, Oeste) in the same order, and every word of four letters or
  more found again in order, maybe abbreviated ("Carrera" -> "Cra.", "Apartamento" ->
  "Apto."), so that a rural address without digits cannot become another farm
  (``"letters_changed"``). Short words are free: a model may expand "cl" to "Calle".
- ``place``: the answer must name a place of the gazetteer (``"unknown_place"``). If the raw
  value names a place itself, the answer must name the same one (``"different_place"``);
  if it does not, the answer's place must be similar to what was typed (a rapidfuzz score of
  at least `PLACE_SIMILARITY` on `fold` keys), so that "Caracas" never becomes "Cali".
  An answer that is the raw value up to case, accents and spacing, or exactly what the rules
  would write, is also accepted: nothing is invented then.
- ``category``: exactly one of ``spec.labels``, up to case and accents (``"not_a_label"``).
- ``free_text``: the same digit runs (``"digits_changed"``), and every word typed must be
  found again, in order, in the answer (``"too_different"``): equal up to a typo, or
  abbreviated ("Ing." -> "Ingeniero", "U" -> "Universidad", "admon" -> "Administración"),
  or an acronym of the answer's words ("EPM" -> "Empresas Públicas de Medellín"), or split or
  joined ("sas" -> "S.A.S.", "homecenter" -> "Home Center"). The answer may add or drop only
  connectors ("de", "en", "la"). A legal form must stay as typed ("S.A." is not "S.A.S.",
  and "Rappi" is not "Rappi S.A.S."), and so must a word's gender ("Ingeniera" is not
  "Ingeniero"). "Ing. Sistemas" -> "Ingeniero de Sistemas" passes; "Rappi" ->
  "Bancolombia" and "Electricista" -> "Ingeniero Eléctrico" do not.

Reasons are short PII-free tags; the guard never logs or returns a value.
"""

from __future__ import annotations

import unicodedata
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
from llm_normalize.postprocessors.text import clean_text
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
        place_similarity: See `PLACE_SIMILARITY`.

    A guard holds no mutable state (the default gazetteer is looked up once, idempotently),
    so one instance can serve many threads.

    Examples:
        >>> guard = Guard()
        >>> guard.check(COLOMBIAN_LEADS["nombres"], "JOSE", "José")
        Verdict(ok=True, reason=None)
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
        place_similarity: float = PLACE_SIMILARITY,
    ) -> None:
        self._profile = profile
        self._gazetteer = gazetteer
        self._place_similarity = place_similarity

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

    @property
    def place_similarity(self) -> float:
        """See `PLACE_SIMILARITY`."""
        return self._place_similarity


_CHECKS: Final[dict[str, Callable[[Case], Verdict]]] = {
    "name": check_name,
    "address": check_address,
    "place": check_place,
    "category": check_category,
    "free_text": check_free_text,
}
