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

import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

from llm_normalize.fields import FieldSpec, Profile
from llm_normalize.postprocessors.places import Gazetteer
from llm_normalize.postprocessors.spanish import CONNECTORS, plain
from llm_normalize.postprocessors.text import clean_text, fold
from llm_normalize.profiles.colombia import COLOMBIAN_LEADS

__all__ = ["PLACE_SIMILARITY", "Guard", "Verdict"]

PLACE_SIMILARITY: Final = 70.0
"""The lowest similarity (0-100) between an unrecognised raw city and the place a model names.

The score is the best rapidfuzz `ratio` or `token_set_ratio` between the `fold` keys of the
raw value and of the answer (or of the place's canonical name). Typos the gazetteer does not
resolve by itself pass ("barankilla" -> "Barranquilla" 82, "medejin" -> "Medellín" 80,
"bogota colombia sur" -> "Bogotá D.C." 75), and so do namesakes made precise ("Barbosa" ->
"Barbosa (Santander)" 100); another city does not ("Caracas" -> "Cali" 36,
"Caracas" -> "Cartagena" 62, "Valera" -> "La Calera" 67).
"""

# An answer may be this many times longer than the raw value, plus a constant: an
# abbreviation expanded ("Adm." -> "Administrador", "EPM" -> "Empresas Públicas de Medellín")
# grows a lot, a paragraph of chatter grows more.
_LENGTH_FACTOR: Final = 3
_LENGTH_SLACK: Final = 40

# Code points that `clean_text` keeps but no answer should add: private use (Co) and
# unassigned (Cn). (ftfy can turn mojibake-looking input such as "Óíº" into U+E4BC, so a
# raw value may hold them; an answer may then keep them.)
_SUSPECT_CATEGORIES: Final = frozenset({"Co", "Cn"})

# Words a free-text answer may add or drop: Spanish connectors ("Ing. Sistemas" ->
# "Ingeniero de Sistemas"; which ones, and why, in `spanish.CONNECTORS`). Legal forms (S.A.S., Ltda.) are not among them: adding,
# dropping or swapping one changes which company is meant.
_FILLERS: Final = CONNECTORS
# Legal forms of companies, once initialisms are joined ("S.A.S." is "sas"). They match only
# themselves or what they abbreviate ("Sociedad Anónima" -> "S.A."): "S.A." is not "S.A.S.".
_LEGAL_FORMS: Final = frozenset({"sa", "sas", "ltda", "cia", "eu", "bic", "esp", "sca", "scs"})

# Addresses: the quadrants must be the same, in the same order ("Sur" never becomes "Norte");
# every other word of four letters or more (a keyword, a neighbourhood, a farm's name) must be
# found again, in order, maybe abbreviated ("Carrera" -> "Cra."). Number markers become "#".
_QUADRANTS: Final = frozenset({"sur", "norte", "este", "oeste"})
_MARKERS: Final = frozenset({"numero", "nro", "num"})
_MIN_ADDRESS_WORD: Final = 4

# Bounds of the free-text alignment: abbreviations matched as subsequences are short,
# acronyms and split words span a few tokens, and the search table stays small.
_MIN_SUBSEQUENCE_ABBREVIATION: Final = 3
_MAX_SUBSEQUENCE_ABBREVIATION: Final = 6
_MAX_SPAN: Final = 8
_MAX_ALIGNMENT_CELLS: Final = 20_000
# A token this long may differ by one edit ("Konecta"/"Konekta"), from _TWO_EDITS_LENGTH by two.
_ONE_EDIT_LENGTH: Final = 5
_TWO_EDITS_LENGTH: Final = 9

_TOKEN: Final = re.compile(r"[^\W_]+")
_DIGITS: Final = re.compile(r"\d+")
_LETTERS_OR_DIGITS: Final = re.compile(r"\d+|[^\W\d_]+")


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


_OK: Final = Verdict(ok=True)


def _reject(reason: str) -> Verdict:
    return Verdict(ok=False, reason=reason)


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

    def check_field(self, field: str, raw: str, answer: str) -> Verdict:
        """Check an answer for a field of the profile, named in camelCase or snake_case.

        Raises:
            UnknownFieldError: The profile has no such field (a caller's mistake,
                the only error this class raises).
        """
        return self.check(self._profile[field], raw, answer)

    def check(self, spec: FieldSpec, raw: str, answer: str) -> Verdict:
        """Say whether `answer` is an acceptable normalization of `raw` for the field `spec`.

        Never raises, whatever the two texts hold. See the module docstring for the checks.
        """
        try:
            return self._check(spec, raw, answer)
        except Exception:  # a guard must answer; an error of its own means "do not use it"
            return _reject("error")

    def _check(self, spec: FieldSpec, raw: str, answer: str) -> Verdict:
        raw_clean = clean_text(raw if isinstance(raw, str) else "")
        answer_clean = clean_text(answer if isinstance(answer, str) else "")
        raw_has_content = _has_alnum(raw_clean)
        answer_has_content = _has_alnum(answer_clean)
        if raw_has_content and not answer_has_content:
            return _reject("empty")
        if not raw_has_content:
            # Nothing typed to lose; an answer with letters or digits would be made up.
            return _reject("invented") if answer_has_content else _OK
        if any(
            unicodedata.category(char) in _SUSPECT_CATEGORIES and char not in raw_clean
            for char in answer_clean
        ):
            return _reject("control_chars")
        limit = min(spec.max_length, _LENGTH_FACTOR * len(raw_clean) + _LENGTH_SLACK)
        if len(answer_clean) > limit:
            return _reject("too_long")
        if spec.kind == "name":
            return _check_name(raw_clean, answer_clean)
        if spec.kind == "address":
            return _check_address(raw_clean, answer_clean)
        if spec.kind == "place":
            return self._check_place(raw_clean, answer_clean)
        if spec.kind == "category":
            return _check_category(spec.labels, answer_clean)
        return _check_free_text(raw_clean, answer_clean)

    def _check_place(self, raw: str, answer: str) -> Verdict:
        gazetteer = self.gazetteer
        answer_place = gazetteer.resolve(answer)
        raw_place = gazetteer.resolve(raw)
        if answer_place is None:
            # Left as typed, or written as the rules write it (a department, an ambiguous
            # namesake): nothing is invented, so it is acceptable.
            key = _letters_key(answer)
            if key in (_letters_key(raw), _letters_key(gazetteer.normalize(raw))):
                return _OK
            return _reject("unknown_place")
        if raw_place is not None:
            return _OK if answer_place == raw_place else _reject("different_place")
        typed = fold(raw)
        score = max(_similarity(typed, fold(answer)), _similarity(typed, fold(answer_place.name)))
        return _OK if score >= self._place_similarity else _reject("different_place")


def _has_alnum(text: str) -> bool:
    return any(char.isalnum() for char in text)


def _letters_key(text: str) -> str:
    """Every letter and digit of `text`, in order, without case or accents.

    Unlike `fold`, letters of every script count: "Иван" and "Петр" have different keys.
    """
    return "".join(char for char in plain(clean_text(text)) if char.isalnum())


def _digit_runs(text: str) -> list[str]:
    """The runs of decimal digits of `text`, as ASCII ("١٢" counts as "12")."""
    return [
        "".join(str(unicodedata.decimal(char)) for char in run) for run in _DIGITS.findall(text)
    ]


def _check_name(raw: str, answer: str) -> Verdict:
    return _OK if _letters_key(raw) == _letters_key(answer) else _reject("letters_changed")


def _check_digits(raw: str, answer: str) -> Verdict:
    return _OK if _digit_runs(raw) == _digit_runs(answer) else _reject("digits_changed")


def _check_address(raw: str, answer: str) -> Verdict:
    if _digit_runs(raw) != _digit_runs(answer):
        return _reject("digits_changed")
    typed = _tokens(raw)
    # "7D Bis" may have been typed "7 DBIS": letters glued to digits are words of their own.
    written = [part for token in _tokens(answer) for part in _LETTERS_OR_DIGITS.findall(token)]
    if [t for t in typed if t in _QUADRANTS] != [w for w in written if w in _QUADRANTS]:
        return _reject("letters_changed")
    words = [t for t in typed if len(t) >= _MIN_ADDRESS_WORD and t.isalpha() and t not in _MARKERS]
    if _in_order(words, written, _address_word_matches):
        return _OK
    return _reject("letters_changed")


def _address_word_matches(typed: str, written: str) -> bool:
    """Like `_word_matches`, but keywords may be abbreviated either way, as letters kept in order.

    "Carrera" -> "Cra.", "Apartamento" -> "Apto.", "tranv" -> "Transversal".
    """
    if _word_matches(typed, written):
        return True
    if not (typed.isalpha() and written.isalpha() and len(written) >= 2):
        return False
    if typed.startswith("k"):  # "Karrera", "Kra" are how many people spell "Carrera"
        typed = "c" + typed[1:]
    shorter, longer = sorted((typed, written), key=len)
    return shorter[0] == longer[0] and _is_subsequence(shorter, longer)


def _check_category(labels: Sequence[str], answer: str) -> Verdict:
    key = _letters_key(answer)
    if any(key == _letters_key(label) for label in labels):
        return _OK
    return _reject("not_a_label")


def _similarity(left: str, right: str) -> float:
    # Imported here: rapidfuzz is needed only for unrecognised places and free text, and
    # `import llm_normalize` stays light.
    from rapidfuzz import fuzz

    return max(fuzz.ratio(left, right), fuzz.token_set_ratio(left, right))


# -- free text --------------------------------------------------------------------------------


def _tokens(text: str) -> list[str]:
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


def _is_subsequence(short: str, long: str) -> bool:
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


def _word_matches(typed: str, written: str) -> bool:
    """Say whether the typed word `typed` may be written `written` in an answer."""
    if typed == written:
        return True
    if typed in _LEGAL_FORMS or written in _LEGAL_FORMS:
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
            and _is_subsequence(typed, written)
        ):
            return True
    return _within_edits(typed, written)


def _in_order(typed: list[str], written: list[str], match: Callable[[str, str], bool]) -> bool:
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


def _initials(words: Sequence[str]) -> str | None:
    """The initials of `words` without fillers; None unless the span starts and ends in a word."""
    if not words or words[0] in _FILLERS or words[-1] in _FILLERS:
        return None
    if not all(word.isalpha() for word in words):
        return None
    return "".join(word[0] for word in words if word not in _FILLERS)


def _aligned(typed: list[str], written: list[str]) -> bool:
    """Say whether every typed word is found again, in order, in the written words.

    A dynamic programme over (typed index, written index): each step consumes one typed word
    and one written word that match (`_word_matches`), a typed acronym and the words it
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
            if i < n and typed[i] in _FILLERS:
                reached[i + 1][j] = True
            if j < m and written[j] in _FILLERS:
                reached[i][j + 1] = True
            if i == n or j == m:
                continue
            if _word_matches(typed[i], written[j]):
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


def _check_free_text(raw: str, answer: str) -> Verdict:
    if _digit_runs(raw) != _digit_runs(answer):
        return _reject("digits_changed")
    if _aligned(_tokens(raw), _tokens(answer)):
        return _OK
    return _reject("too_different")
