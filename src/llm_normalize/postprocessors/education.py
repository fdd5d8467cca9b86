"""Education levels: the `nivelEducativo` post-processor.

The convention: a value that names an education level comes out as one of nine canonical
labels, `EDUCATION_LEVELS`, in ascending order:
"Ninguno", "Primaria", "Bachiller", "Técnico", "Tecnólogo", "Profesional",
"Especialización", "Maestría", "Doctorado".

- The label is the **highest level completed**. A level being studied or left unfinished
  ("estudiante universitario", "universitaria incompleta", "cursando 5 semestre") maps to the
  level that admission to it requires ("Bachiller" for anything after secondary school,
  "Profesional" for postgraduate studies), and is never confident: that is a judgement.
- Keywords are recognised anywhere in the value, after `fold` (case, accents, punctuation and
  spacing do not matter): "tecnologo en sistemas" -> "Tecnólogo", "bachiller academico" ->
  "Bachiller", "Ing. industrial" -> "Profesional". When a value names several levels
  ("técnico y profesional"), the highest wins, not confidently.
- Grades: "11", "once", "grado 11" -> "Bachiller"; "grado 5" -> "Primaria"; grades 6 to 10
  -> "Primaria" and 1 to 4 -> "Ninguno", both not confident (unfinished school).
- "posgrado" on its own says neither which postgraduate level nor whether it was finished:
  it maps to "Especialización", the first postgraduate level, not confidently;
  "posgrado especialización" is confident. "Posdoctorado" maps to "Doctorado" (a postdoc is
  a research stay after a doctorate, not a degree).
- A few common typos are known ("profecional", "bachiler"); other near misses of a keyword
  ("profesinal") are matched fuzzily, not confidently.
- Anything else ("Diplomado", "curso de inglés", a sentence, "quiero estudiar una maestría") is
  only tidied: cleaned and title-cased, every letter and digit kept, not confident.

Dropping digits is acceptable here only in a mapping to a label: "grado 11" becomes
"Bachiller", but an unknown "Nivel 3" stays "Nivel 3". The output of a mapping is at most 15
characters and an unknown value keeps its cleaned length, so
`len(normalize_education_level(x)) <= len(clean_text(x)) + 15`.
"""

from __future__ import annotations

import functools
from typing import Final

from llm_normalize.postprocessors._vocab import is_placeholder, settle, title_case
from llm_normalize.postprocessors.base import Outcome, assessed_by
from llm_normalize.postprocessors.text import clean_text, fold

__all__ = [
    "EDUCATION_LEVELS",
    "assess_education_level",
    "normalize_education_level",
    "supported_education_levels",
]

EDUCATION_LEVELS: Final[tuple[str, ...]] = (
    "Ninguno",
    "Primaria",
    "Bachiller",
    "Técnico",
    "Tecnólogo",
    "Profesional",
    "Especialización",
    "Maestría",
    "Doctorado",
)
"""The canonical education levels, lowest first."""

_NONE, _PRIMARY, _SECONDARY, _TECHNICIAN, _TECHNOLOGIST, _PROFESSIONAL = range(6)
_SPECIALIZATION, _MASTER, _DOCTORATE = range(6, 9)

# What admission to a level requires: the highest level that someone studying it completed.
_PREREQUISITE: Final = (
    _NONE,
    _NONE,
    _PRIMARY,
    _SECONDARY,
    _SECONDARY,
    _SECONDARY,
    _PROFESSIONAL,
    _PROFESSIONAL,
    _PROFESSIONAL,
)

# Whole values that mean a level without containing a level keyword.
_WHOLE_VALUES: Final[dict[str, int]] = {
    "ninguno": _NONE,
    "ninguna": _NONE,
    "ningun estudio": _NONE,
    "sin estudios": _NONE,
    "sin estudio": _NONE,
    "sin escolaridad": _NONE,
    "no estudio": _NONE,
    "no estudie": _NONE,
    "no tengo estudios": _NONE,
    "analfabeta": _NONE,
    "11": _SECONDARY,
    "11o": _SECONDARY,
    "11vo": _SECONDARY,
    "once": _SECONDARY,
    "undecimo": _SECONDARY,
    "quinto de primaria": _PRIMARY,
    "5 de primaria": _PRIMARY,
}

# Kinds of keyword: a plain level; a vague one (not confident unless a plain keyword names the
# same level); a level being studied (the prerequisite is what was completed); an unfinished
# stage of a level whose completed level is already known ("grado 9" completed primary school).
_LEVEL, _VAGUE, _STUDYING, _PARTIAL = "level", "vague", "studying", "partial"

# Keyword phrases (fold keys, as word tuples) -> level and kind. Longest phrases match first.
_PHRASES: Final[dict[tuple[str, ...], tuple[int, str]]] = {
    ("ninguno",): (_NONE, _LEVEL),
    ("ninguna",): (_NONE, _LEVEL),
    ("primaria",): (_PRIMARY, _LEVEL),
    ("primario",): (_PRIMARY, _LEVEL),
    ("basica", "secundaria"): (_PRIMARY, _PARTIAL),
    ("secundaria", "basica"): (_PRIMARY, _PARTIAL),
    ("bachiller",): (_SECONDARY, _LEVEL),
    ("bachilleres",): (_SECONDARY, _LEVEL),
    ("bachillerato",): (_SECONDARY, _LEVEL),
    ("bachiler",): (_SECONDARY, _LEVEL),
    ("bachiller", "tecnico"): (_SECONDARY, _LEVEL),
    ("bachillerato", "tecnico"): (_SECONDARY, _LEVEL),
    ("bachiller", "tecnologico"): (_SECONDARY, _LEVEL),
    ("secundaria",): (_SECONDARY, _LEVEL),
    ("educacion", "media"): (_SECONDARY, _LEVEL),
    ("media", "vocacional"): (_SECONDARY, _LEVEL),
    ("normalista",): (_SECONDARY, _VAGUE),
    ("tecnico",): (_TECHNICIAN, _LEVEL),
    ("tecnica",): (_TECHNICIAN, _LEVEL),
    ("tecnicos",): (_TECHNICIAN, _LEVEL),
    ("tecnico", "profesional"): (_TECHNICIAN, _LEVEL),
    ("tecnica", "profesional"): (_TECHNICIAN, _LEVEL),
    ("tec",): (_TECHNICIAN, _VAGUE),
    ("tecnologo",): (_TECHNOLOGIST, _LEVEL),
    ("tecnologa",): (_TECHNOLOGIST, _LEVEL),
    ("tecnologia",): (_TECHNOLOGIST, _LEVEL),
    ("tecnologico",): (_TECHNOLOGIST, _LEVEL),
    ("tecnologica",): (_TECHNOLOGIST, _LEVEL),
    ("profesional",): (_PROFESSIONAL, _LEVEL),
    ("profecional",): (_PROFESSIONAL, _LEVEL),
    ("universitario",): (_PROFESSIONAL, _LEVEL),
    ("universitaria",): (_PROFESSIONAL, _LEVEL),
    ("universidad",): (_PROFESSIONAL, _LEVEL),
    ("pregrado",): (_PROFESSIONAL, _LEVEL),
    ("licenciado",): (_PROFESSIONAL, _LEVEL),
    ("licenciada",): (_PROFESSIONAL, _LEVEL),
    ("licenciatura",): (_PROFESSIONAL, _LEVEL),
    ("ingeniero",): (_PROFESSIONAL, _LEVEL),
    ("ingeniera",): (_PROFESSIONAL, _LEVEL),
    ("ingenieria",): (_PROFESSIONAL, _LEVEL),
    ("ing",): (_PROFESSIONAL, _LEVEL),
    ("semestre",): (_PROFESSIONAL, _STUDYING),
    ("semestres",): (_PROFESSIONAL, _STUDYING),
    ("especializacion",): (_SPECIALIZATION, _LEVEL),
    ("especialista",): (_SPECIALIZATION, _LEVEL),
    ("especializado",): (_SPECIALIZATION, _LEVEL),
    ("especializada",): (_SPECIALIZATION, _LEVEL),
    ("esp",): (_SPECIALIZATION, _LEVEL),
    ("posgrado",): (_SPECIALIZATION, _VAGUE),
    ("postgrado",): (_SPECIALIZATION, _VAGUE),
    ("pos", "grado"): (_SPECIALIZATION, _VAGUE),
    ("post", "grado"): (_SPECIALIZATION, _VAGUE),
    ("maestria",): (_MASTER, _LEVEL),
    ("magister",): (_MASTER, _LEVEL),
    ("master",): (_MASTER, _LEVEL),
    ("mba",): (_MASTER, _LEVEL),
    ("msc",): (_MASTER, _LEVEL),
    ("m", "sc"): (_MASTER, _LEVEL),
    ("maestrante",): (_MASTER, _STUDYING),
    ("doctorado",): (_DOCTORATE, _LEVEL),
    ("phd",): (_DOCTORATE, _LEVEL),
    ("ph", "d"): (_DOCTORATE, _LEVEL),
    ("posdoctorado",): (_DOCTORATE, _LEVEL),
    ("postdoctorado",): (_DOCTORATE, _LEVEL),
    ("doctor",): (_DOCTORATE, _VAGUE),
    ("doctora",): (_DOCTORATE, _VAGUE),
    ("doctorando",): (_DOCTORATE, _STUDYING),
}
_LONGEST_PHRASE: Final = max(len(phrase) for phrase in _PHRASES)

# Words and phrases saying the level was not (yet) completed.
_UNFINISHED: Final[frozenset[tuple[str, ...]]] = frozenset(
    {
        ("incompleto",),
        ("incompleta",),
        ("incompletos",),
        ("incompletas",),
        ("inconcluso",),
        ("inconclusa",),
        ("trunco",),
        ("trunca",),
        ("aplazado",),
        ("aplazada",),
        ("cursando",),
        ("estudiante",),
        ("estudiando",),
        ("actualmente",),
        ("en", "curso"),
        ("en", "proceso"),
        ("sin", "terminar"),
        ("sin", "titulo"),
        ("sin", "graduar"),
        ("no", "termine"),
        ("no", "terminado"),
        ("no", "terminada"),
        ("sin",),
        ("no",),
    }
)

# Words saying the value is a wish, not a level held: the whole value stays unknown.
_INTENT: Final = frozenset(
    {"quiero", "quisiera", "deseo", "gustaria", "interesado", "interesada", "aspiro", "busco"}
)

# Ordinal words for school grades; digits are read directly ("5to", "11vo", "11o" too).
_ORDINALS: Final = {
    "primero": 1,
    "segundo": 2,
    "tercero": 3,
    "cuarto": 4,
    "quinto": 5,
    "sexto": 6,
    "septimo": 7,
    "octavo": 8,
    "noveno": 9,
    "decimo": 10,
    "once": 11,
    "undecimo": 11,
}
_GRADE_WORDS: Final = frozenset({"grado", "grados"})
_LAST_GRADE: Final = 11
_LAST_PRIMARY_GRADE: Final = 5
_ORDINAL_SUFFIXES: Final = ("vo", "to", "no", "ro", "do", "mo", "o")

# Values this long are sentences, not levels: a keyword in them is not confident.
_MAX_CONFIDENT_WORDS: Final = 6

# Fuzzy matching of single words against keywords (rapidfuzz ratio, 0-100).
_MIN_FUZZY_LENGTH: Final = 5
_FUZZY_CUTOFF: Final = 85.0


@functools.cache
def _label_keys() -> dict[str, int]:
    """The `fold` key of each label, and its index.

    Made on first use: folding "Técnico" loads ftfy, which `import llm_normalize` must not.
    """
    return {fold(label): index for index, label in enumerate(EDUCATION_LEVELS)}


# Words that are neither keywords nor typos of one: never matched fuzzily.
_NOT_FUZZY: Final = frozenset(
    {word for phrase in _UNFINISHED for word in phrase}
    | {
        "completo",
        "completa",
        "terminado",
        "terminada",
        "graduado",
        "graduada",
        "titulado",
        "titulada",
        "academico",
        "academica",
        "laboral",
        "sistemas",
        "empresas",
        "administracion",
        "educacion",
        "superior",
        "basica",
        "media",
        "carrera",
        "titulo",
        "estudios",
        "curso",
        "cursos",
        "ingles",
        "diplomado",
    }
)

# Other readings of a vague keyword that its words support (`supported_education_levels`):
# "posgrado" says neither which postgraduate level nor whether it was finished, "doctor" is
# also the courtesy title of lawyers and physicians, "tec" abbreviates both technical levels.
_VAGUE_READINGS: Final[dict[tuple[str, ...], tuple[int, ...]]] = {
    **dict.fromkeys(
        [("posgrado",), ("postgrado",), ("pos", "grado"), ("post", "grado")],
        (_PROFESSIONAL, _SPECIALIZATION, _MASTER, _DOCTORATE),
    ),
    **dict.fromkeys([("doctor",), ("doctora",)], (_PROFESSIONAL, _DOCTORATE)),
    ("tec",): (_TECHNICIAN, _TECHNOLOGIST),
}
# A word this long that begins a keyword ("lic", "univ", "bach", "especial") is read as an
# abbreviation of it by `supported_education_levels`; the rules do not map it.
_MIN_STEM_LENGTH: Final = 3
# Short words that begin a keyword by chance: "más" (master), "pre-ICFES" (pregrado).
_NOT_STEMS: Final = frozenset({"mas", "pre"})

# The few acronyms an unknown value may hold.
_ACRONYMS: Final = {"sena": "SENA", "icfes": "ICFES", "mba": "MBA"}


def _grade_number(word: str) -> int | None:
    if word in _ORDINALS:
        return _ORDINALS[word]
    digits = word
    for suffix in _ORDINAL_SUFFIXES:
        if digits.endswith(suffix) and digits[: -len(suffix)].isdigit():
            digits = digits[: -len(suffix)]
            break
    if digits.isascii() and digits.isdigit() and len(digits) <= 2:
        return int(digits)
    return None


def _grade_level(number: int) -> tuple[int, str] | None:
    # The highest level completed after finishing grade `number`.
    if number == _LAST_GRADE:
        return _SECONDARY, _LEVEL
    if number == _LAST_PRIMARY_GRADE:
        return _PRIMARY, _LEVEL
    if _LAST_PRIMARY_GRADE < number < _LAST_GRADE:
        return _PRIMARY, _PARTIAL
    if 1 <= number < _LAST_PRIMARY_GRADE:
        return _NONE, _PARTIAL
    return None


@functools.cache
def _fuzzy_choices() -> tuple[str, ...]:
    return tuple(sorted(phrase[0] for phrase in _PHRASES if len(phrase) == 1))


def _fuzzy_keyword(word: str) -> tuple[int, str] | None:
    if len(word) < _MIN_FUZZY_LENGTH or word in _NOT_FUZZY or not word.isalpha():
        return None
    # rapidfuzz costs import time: load it only when a value needs it.
    from rapidfuzz import fuzz, process

    match = process.extractOne(
        word, _fuzzy_choices(), scorer=fuzz.ratio, score_cutoff=_FUZZY_CUTOFF
    )
    if match is None:
        return None
    return _PHRASES[(match[0],)]


@functools.cache
def _stems() -> tuple[tuple[str, int], ...]:
    """The one-word keywords that name a level (not a stage of one), with their level."""
    return tuple(
        (phrase[0], level)
        for phrase, (level, kind) in _PHRASES.items()
        if len(phrase) == 1 and kind in (_LEVEL, _VAGUE)
    )


def _stem_levels(words: list[str]) -> set[int]:
    """The levels whose keywords some word abbreviates: "lic" -> Profesional."""
    levels: set[int] = set()
    for word in words:
        if (
            len(word) < _MIN_STEM_LENGTH
            or not word.isalpha()
            or (word,) in _PHRASES
            or word in _NOT_STEMS
            or word in _NOT_FUZZY
            or word in _INTENT
        ):
            continue
        levels.update(
            level for keyword, level in _stems() if keyword.startswith(word) and keyword != word
        )
    return levels


def _vague_levels(words: list[str]) -> set[int]:
    """The other readings of the vague keywords among `words`."""
    levels: set[int] = set()
    for phrase, readings in _VAGUE_READINGS.items():
        size = len(phrase)
        if any(tuple(words[i : i + size]) == phrase for i in range(len(words) - size + 1)):
            levels.update(readings)
    return levels


class _Scan:
    """What the words of one value say: levels named, unfinished markers, doubts."""

    def __init__(self, words: list[str]) -> None:
        self.kinds: dict[int, set[str]] = {}
        self.unfinished = False
        self.fuzzy = False
        self.intent = any(word in _INTENT for word in words)
        index = 0
        while index < len(words):
            index += self._step(words, index)

    def _add(self, level: int, kind: str) -> None:
        self.kinds.setdefault(level, set()).add(kind)
        if kind == _STUDYING:
            self.unfinished = True

    def _step(self, words: list[str], index: int) -> int:
        for size in range(min(_LONGEST_PHRASE, len(words) - index), 0, -1):
            phrase = tuple(words[index : index + size])
            if phrase in _PHRASES:
                self._add(*_PHRASES[phrase])
                return size
        word = words[index]
        following = words[index + 1] if index + 1 < len(words) else ""
        grade = _grade_number(following) if word in _GRADE_WORDS else None
        if grade is None and following in _GRADE_WORDS:
            grade = _grade_number(word)
        if grade is not None and (level := _grade_level(grade)) is not None:
            self._add(*level)
            return 2
        for size in (2, 1):
            if tuple(words[index : index + size]) in _UNFINISHED:
                self.unfinished = True
                return size
        fuzzy = _fuzzy_keyword(word)
        if fuzzy is not None:
            self._add(*fuzzy)
            self.fuzzy = True
        return 1


def _unknown(text: str) -> Outcome:
    words = text.split(" ")
    value = settle(title_case(words, acronyms=_ACRONYMS), text)
    reason = "placeholder" if is_placeholder(text) else "unknown"
    return Outcome(value, confident=False, reason=reason)


@functools.lru_cache(maxsize=4096)
def assess_education_level(value: str) -> Outcome:
    """Map an education level to its canonical label and say whether that is certain.

    Confident for a canonical label in any case or spelling of accents (reason "known") and
    for a value naming exactly one completed level in at most six words (reason "alias").
    Not confident: an unfinished level ("incomplete"), several levels or a vague one such as
    "posgrado" ("ambiguous"), a keyword typo ("fuzzy"), a value with no level at all
    ("unknown", or "placeholder" with no letter or digit), which is only tidied.

    Examples:
        >>> assess_education_level("profesional universitario")
        Outcome(value='Profesional', confident=True, reason='alias')
        >>> assess_education_level("estudiante universitario")
        Outcome(value='Bachiller', confident=False, reason='incomplete')
    """
    text = clean_text(value)
    if not text:
        return Outcome("", confident=True, reason="empty")
    key = fold(text)
    label_keys = _label_keys()
    if key in label_keys:
        return Outcome(EDUCATION_LEVELS[label_keys[key]], confident=True, reason="known")
    if key in _WHOLE_VALUES:
        return Outcome(EDUCATION_LEVELS[_WHOLE_VALUES[key]], confident=True, reason="alias")
    words = key.split()
    scan = _Scan(words)
    if scan.intent or not scan.kinds:
        return _unknown(text)
    level = max(scan.kinds)
    if scan.unfinished:
        return Outcome(EDUCATION_LEVELS[_PREREQUISITE[level]], confident=False, reason="incomplete")
    label = EDUCATION_LEVELS[level]
    if _PARTIAL in scan.kinds[level]:
        return Outcome(label, confident=False, reason="incomplete")
    if len(scan.kinds) > 1 or _LEVEL not in scan.kinds[level] or len(words) > _MAX_CONFIDENT_WORDS:
        return Outcome(label, confident=False, reason="ambiguous")
    if scan.fuzzy:
        return Outcome(label, confident=False, reason="fuzzy")
    return Outcome(label, confident=True, reason="alias")


@functools.lru_cache(maxsize=4096)
def supported_education_levels(value: str) -> tuple[str, ...]:
    """Return the labels the words of `value` support, lowest first; () when none does.

    What a model may answer for the value besides leaving it as typed: the rules' own label
    (`assess_education_level`), and the other labels its words name. The same keywords and
    the same fuzzy match as the rules count, plus:

    - a word of three letters or more that begins a keyword reads as that keyword ("lic",
      "univ" -> "Profesional"; "tecn" -> "Técnico" or "Tecnólogo");
    - a value naming several levels supports each ("técnico y profesional");
    - a vague keyword supports its other readings: "posgrado" any of "Profesional" to
      "Doctorado", "doctor" "Profesional" or "Doctorado", "tec" "Técnico" or "Tecnólogo".

    A level not completed ("incompleta", "estudiante", "en curso", "semestre") is not
    supported itself: the level completed before the highest one named is, and the lower
    levels named. A wish ("quiero estudiar") and a value without a level support none.
    A canonical label, or a whole value the rules know, supports only its own label.

    Examples:
        >>> supported_education_levels("primaria")
        ('Primaria',)
        >>> supported_education_levels("universitaria incompleta")
        ('Bachiller',)
        >>> supported_education_levels("posgrado")
        ('Profesional', 'Especialización', 'Maestría', 'Doctorado')
        >>> supported_education_levels("Diplomado")
        ()
    """
    outcome = assess_education_level(value)
    levels: set[int] = set()
    if outcome.value in EDUCATION_LEVELS:
        levels.add(EDUCATION_LEVELS.index(outcome.value))
    key = fold(value)
    if key and key not in _label_keys() and key not in _WHOLE_VALUES:
        words = key.split()
        scan = _Scan(words)
        named = set(scan.kinds) | _stem_levels(words)
        if named and not scan.intent:
            top = max(named)
            if scan.unfinished:
                levels.add(_PREREQUISITE[top])
                levels.update(level for level in named if level < top)
            else:
                levels.update(named | _vague_levels(words))
    return tuple(EDUCATION_LEVELS[level] for level in sorted(levels))


@assessed_by(assess_education_level)
def normalize_education_level(value: str) -> str:
    """Map free text to one of `EDUCATION_LEVELS`, the highest level completed.

    Examples of input -> output:

    - "profesional universitario", "PREGRADO", "Ingeniero" -> "Profesional"
    - "bachiller academico", "secundaria completa", "grado 11", "once" -> "Bachiller"
    - "Técnico laboral", "tecnica profesional" -> "Técnico"
    - "tecnologo en sistemas", "Tecnología" -> "Tecnólogo"
    - "especialista", "Esp.", "posgrado" (not confident) -> "Especialización"
    - "Magister", "MBA" -> "Maestría"; "PhD" -> "Doctorado"
    - "estudiante universitario", "universitaria incompleta" -> "Bachiller" (not confident)
    - "curso de ingles" -> "Curso de Ingles" (unknown: only tidied)

    See the module documentation for the full convention.
    """
    return assess_education_level(value).value
