"""Companies and institutions: the `empresa` post-processor.

The convention: the name as the user typed it, in title case, with its legal suffix in the
standard spelling, and known organisations in their canonical spelling.

- **Legal suffixes** at the end of the value are written the standard way: "sas", "S A S",
  "s.a.s" -> "S.A.S."; "sa", "s.a" -> "S.A."; "ltda" -> "Ltda."; "esp" -> "E.S.P.";
  "s en c" -> "S. en C."; "sca" -> "S.C.A."; "eu" -> "E.U."; "eice" -> "E.I.C.E.";
  "& cia" -> "& Cía."; "inc" -> "Inc."; "llc" -> "LLC"; "ltd" -> "Ltd."; "corp" -> "Corp.";
  "bic" -> "BIC" (only after another suffix: "S.A.S. BIC"). Up to three suffixes are read,
  only as whole words at the end, and never when nothing comes before them ("SAS" alone).
- **Known organisations** (a whole value, modulo case, accents, spacing and punctuation) get
  their canonical spelling, accents included: "bancolombia s.a." -> "Bancolombia S.A.",
  "EMPRESAS PUBLICAS DE MEDELLIN" -> "Empresas Públicas de Medellín",
  "almacenes exito" -> "Almacenes Éxito". A canonical spelling always has the same words as
  the value: "almacenes exito" is not turned into "Grupo Éxito", "UNAL" is not turned into
  "Universidad Nacional de Colombia". Accents are added only this way, never to a word of an
  unknown name.
- **Known acronyms** are upper-case wherever they appear: "sena regional antioquia" ->
  "SENA Regional Antioquia", "S.E.N.A" -> "SENA", "universidad eafit" -> "Universidad EAFIT".
- **Everything else** is title-cased with Spanish particles lower-case ("de", "del", "y", "en";
  "la", "los" after "de"): "DISTRIBUIDORA DE LA COSTA" -> "Distribuidora de la Costa", but
  "Textiles La 80", "Droguería El Porvenir". An upper-case word of two to five letters stays
  upper-case in a value typed in mixed case ("Banco BBVA Colombia", "Grupo XYZ Andina");
  in an ALL-CAPS value nothing tells an acronym from a word, so only known acronyms do.
  A word typed with a capital inside it is a brand and stays as typed ("ExcelCredit S.A.S",
  "McDonald's", "iOS Colombia"). A leading "U" or "U." before a name is "Universidad"
  ("U Nacional" -> "Universidad Nacional").
- **No company**: "ninguna", "N/A", "na", "no aplica", "independiente", "trabajo
  independiente", "desempleado", "estudiante", "hogar"... are kept as the words typed, in
  sentence case ("Ninguna", "N/A", "No aplica", "Trabajo independiente"), and are confident.

Confident: a known organisation, acronym or no-company value, or a plain name (letters,
digits and ordinary punctuation, at most eight words) with a recognised legal suffix,
unless it was typed in ALL CAPS with a short word (two to four letters) that is neither a
known acronym nor a known word ("ACH COLOMBIA SAS": ACH may be an acronym; its case is
for a model to say). Any other value is tidied but not confident. Letters and digits are never dropped; the
output is at most 32 characters longer than the cleaned input.

The guard reads the built-in vocabulary through `abbreviation_expansions` and `known_words`.
"""

from __future__ import annotations

import functools
import re
import types
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from llm_normalize.exceptions import ConfigurationError
from llm_normalize.postprocessors._vocab import (
    is_placeholder,
    load_json,
    match_key,
    plain_words,
    settle,
    title_case,
)
from llm_normalize.postprocessors.base import Outcome, PostProcessor, assessed_by
from llm_normalize.postprocessors.spanish import (
    ARTICLES,
    CONJUNCTIONS,
    CONTRACTIONS,
    PREPOSITIONS,
    plain,
)
from llm_normalize.postprocessors.text import clean_text

__all__ = [
    "abbreviation_expansions",
    "assess_institution",
    "known_words",
    "make_institution_normalizer",
    "normalize_institution",
]

# Legal suffixes by their letters (case-folded, accents and periods removed).
_SUFFIXES: Final = {
    "sas": "S.A.S.",
    "sa": "S.A.",
    "ltda": "Ltda.",
    "esp": "E.S.P.",
    "senc": "S. en C.",
    "sca": "S.C.A.",
    "eu": "E.U.",
    "eice": "E.I.C.E.",
    "inc": "Inc.",
    "llc": "LLC",
    "ltd": "Ltd.",
    "corp": "Corp.",
    "bic": "BIC",
}
# "BIC" (beneficio e interés colectivo) qualifies another suffix; alone it is a word ("Bic").
_QUALIFIER_SUFFIXES: Final = frozenset({"BIC"})
# "& Cía.", "y Cía.": a company word after a conjunction.
_COMPANY_WORD: Final = "cia"
_COMPANY_CONJUNCTIONS: Final = {"&": "& Cía.", "y": "y Cía."}
# "& Cía." is two words, and needs a name before it.
_COMPANY_WORDS: Final = 2
_MAX_SUFFIXES: Final = 3
_MAX_SUFFIX_WORDS: Final = 3

# "U Nacional", "U. Javeriana": a leading "U" before a word of this many letters.
_UNIVERSITY_ABBREVIATIONS: Final = frozenset({"u", "u."})
_UNIVERSITY: Final = "Universidad"
_MIN_UNIVERSITY_NAME: Final = 3

# Values meaning "no company", by their fold key, in the spelling they are written in.
_NO_COMPANY_SPELLINGS: Final = (
    "Ninguna",
    "Ninguno",
    "Ninguna empresa",
    "Ningún lugar",
    "N/A",
    "No aplica",
    "No",
    "Nada",
    "Independiente",
    "Trabajo independiente",
    "Trabajador independiente",
    "Desempleado",
    "Desempleada",
    "Cesante",
    "Sin empresa",
    "Sin empleo",
    "Sin trabajo",
    "No trabajo",
    "No tengo",
    "No labora",
    "No laboro",
    "Ama de casa",
    "Hogar",
    "Estudiante",
    "Pensionado",
    "Pensionada",
    "Jubilado",
    "Jubilada",
    "Particular",
    "Empresa propia",
    "Negocio propio",
    "Propia",
    "Freelance",
)
# Spellings that gain punctuation: "na" is the "N/A" typed without its slash.
_NO_COMPANY_EXTRA_KEYS: Final = {"na": "N/A", "noaplica": "No aplica"}

# A plain name with a legal suffix is confident at this size.
_MAX_CONFIDENT_WORDS: Final = 8
_MAX_CONFIDENT_LENGTH: Final = 80
_PLAIN_NAME_PUNCTUATION: Final = frozenset(" .,&-'")

_ACRONYMS_FILE: Final = "organizations_acronyms.json"
_NAMES_FILE: Final = "organizations_names.json"
_WORDS_FILE: Final = "organizations_words.json"
# An upper-case word of a known name this long is an acronym everywhere ("WOM", "SURA");
# shorter ones ("AV" of "AV Villas") are too often a word or an abbreviation elsewhere.
_MIN_DERIVED_ACRONYM: Final = 3
# In an ALL-CAPS value, a word of letters this long may be an acronym or a word.
_MIN_SHORT_WORD: Final = 2
_MAX_SHORT_WORD: Final = 4
_ASSESS_CACHE_SIZE: Final = 4096

_LETTER_RUN: Final = re.compile(r"[^\W\d_]+")
# Small words of Spanish names and titles: never taken for an acronym.
_PARTICLES: Final = ARTICLES | CONTRACTIONS | PREPOSITIONS | CONJUNCTIONS


def _is_suffix_word(word: str) -> bool:
    return any(char.isalpha() for char in word) and all(
        char.isalpha() or char == "." for char in word
    )


def _suffix_letters(words: Sequence[str]) -> str:
    return plain("".join(words)).replace(".", "")


def _peel_one(words: Sequence[str]) -> tuple[int, str] | None:
    # The legal suffix ending `words`, as (number of words, standard spelling), leaving at
    # least one word before it.
    if len(words) > _COMPANY_WORDS and words[-2].casefold() in _COMPANY_CONJUNCTIONS:
        last = words[-1]
        if _is_suffix_word(last) and _suffix_letters([last]) == _COMPANY_WORD:
            return 2, _COMPANY_CONJUNCTIONS[words[-2].casefold()]
    for size in range(min(_MAX_SUFFIX_WORDS, len(words) - 1), 0, -1):
        window = words[-size:]
        if all(_is_suffix_word(word) for word in window):
            spelling = _SUFFIXES.get(_suffix_letters(window))
            if spelling is not None:
                return size, spelling
    return None


def _split_suffixes(words: Sequence[str], limit: int) -> tuple[list[str], list[str]]:
    """Split words into the name and its legal suffixes (standard spellings, in order)."""
    name = list(words)
    peeled: list[tuple[int, str]] = []  # last suffix first
    while len(peeled) < limit and (found := _peel_one(name)) is not None:
        peeled.append(found)
        name = name[: -found[0]]
    # A qualifier such as "BIC" needs a suffix before it: give an unqualified one back.
    while peeled and peeled[-1][1] in _QUALIFIER_SUFFIXES:
        size, _ = peeled.pop()
        name = list(words[: len(name) + size])
    return name, [spelling for _, spelling in reversed(peeled)]


def _is_plain_name(words: Sequence[str]) -> bool:
    text = " ".join(words)
    return (
        len(words) <= _MAX_CONFIDENT_WORDS
        and len(text) <= _MAX_CONFIDENT_LENGTH
        and any(char.isalpha() for char in text)
        and all(char.isalnum() or char in _PLAIN_NAME_PUNCTUATION for char in text)
    )


@dataclass(frozen=True, slots=True)
class _Vocabulary:
    acronyms: Mapping[str, str]
    names: Mapping[str, str]
    no_company: Mapping[str, str]
    # `plain` keys of the short words that are words in an ALL-CAPS name ("san", "ruiz").
    words: frozenset[str] = frozenset()


class _InstitutionRules:
    """One vocabulary of organisations and the assessor built on it."""

    def __init__(self, vocabulary: _Vocabulary) -> None:
        self._vocabulary = vocabulary
        self.assess = functools.lru_cache(maxsize=_ASSESS_CACHE_SIZE)(self._assess)

    @property
    def vocabulary(self) -> _Vocabulary:
        """The acronyms, names and no-company values the rules know."""
        return self._vocabulary

    def _known(self, words: Sequence[str]) -> tuple[str, str] | None:
        key = match_key(" ".join(words))
        if not key:
            return None
        vocabulary = self._vocabulary
        if key in vocabulary.no_company:
            return vocabulary.no_company[key], "no_company"
        if key in vocabulary.names:
            return vocabulary.names[key], "known"
        # One word, "SENA" or "S.E.N.A": a known acronym.
        compact = key.replace(" ", "")
        if len(words) == 1 and compact in vocabulary.acronyms:
            return vocabulary.acronyms[compact], "known"
        return None

    def _maybe_acronym(self, words: Sequence[str]) -> bool:
        """Whether an ALL-CAPS name has a short word that may be an acronym ("ACH COLOMBIA").

        Title case writes it as a word ("Ach"); that is sure only for a known word.
        """
        if any(char.islower() for word in words for char in word):
            return False
        vocabulary = self._vocabulary
        for word in words:
            for part in _LETTER_RUN.findall(word):
                key = plain(part)
                if (
                    _MIN_SHORT_WORD <= len(part) <= _MAX_SHORT_WORD
                    and key not in vocabulary.acronyms
                    and key not in vocabulary.words
                    and key not in _PARTICLES
                ):
                    return True
        return False

    def _assess(self, value: str) -> Outcome:
        text = clean_text(value)
        if not text:
            return Outcome("", confident=True, reason="empty")
        name, suffixes = _split_suffixes(text.split(" "), _MAX_SUFFIXES)
        expanded = list(name)
        generated: frozenset[int] = frozenset()
        if (
            len(name) > 1
            and name[0].casefold() in _UNIVERSITY_ABBREVIATIONS
            and name[1].isalpha()
            and len(name[1]) >= _MIN_UNIVERSITY_NAME
        ):
            expanded[0] = _UNIVERSITY
            generated = frozenset({0})
        known = self._known(name) or (self._known(expanded) if generated else None)
        if known is not None:
            rendered, reason = known
            return Outcome(" ".join([rendered, *suffixes]), confident=True, reason=reason)
        rendered = title_case(expanded, acronyms=self._vocabulary.acronyms, generated=generated)
        output = settle(" ".join([rendered, *suffixes]), text)
        if suffixes and _is_plain_name(name) and not self._maybe_acronym(name):
            return Outcome(output, confident=True, reason="legal_suffix")
        reason = "placeholder" if is_placeholder(text) else "unknown"
        return Outcome(output, confident=False, reason=reason)


def _acronym_entry(acronym: str) -> tuple[str, str]:
    spelling = clean_text(acronym)
    key = plain(spelling)
    if not spelling or not key.isascii() or not key.isalnum():
        raise ConfigurationError(
            f"an acronym must be one word of letters and digits (got {len(acronym)} characters)"
        )
    return key, spelling


def _name_entry(name: str) -> tuple[str, str]:
    words, _ = _split_suffixes(clean_text(name).split(" "), limit=len(name))
    spelling = " ".join(words)
    key = match_key(spelling)
    if not key:
        raise ConfigurationError(
            "a known name must have letters or digits that fold to ASCII "
            f"(got {len(name)} characters)"
        )
    return key, spelling


def _derived_acronyms(names: Iterable[str]) -> list[str]:
    """The upper-case words of known names, as acronyms: "WOM", "SURA" of "Grupo SURA"."""
    return [
        part
        for name in names
        for part in _LETTER_RUN.findall(name)
        if len(part) >= _MIN_DERIVED_ACRONYM and part.isupper()
    ]


def _build(
    acronyms: Iterable[str],
    names: Iterable[str],
    extra_acronyms: Iterable[str] = (),
    extra_names: Iterable[str] = (),
    words: Iterable[str] = (),
) -> _Vocabulary:
    names = list(names)
    acronym_map = dict(_acronym_entry(acronym) for acronym in _derived_acronyms(names))
    acronym_map.update(_acronym_entry(acronym) for acronym in acronyms)
    name_map = dict(_name_entry(name) for name in names)
    # What the caller adds wins over the built-in vocabulary, whichever list it was in.
    for key, spelling in map(_acronym_entry, extra_acronyms):
        acronym_map[key] = spelling
        name_map.pop(key, None)
    for key, spelling in map(_name_entry, extra_names):
        name_map[key] = spelling
        acronym_map.pop(key, None)
    no_company = {
        folded: spelling
        for spelling in _NO_COMPANY_SPELLINGS
        if (folded := match_key(spelling)) is not None
    }
    no_company.update(_NO_COMPANY_EXTRA_KEYS)
    # Every word of a known name or a no-company value is a word, whatever its case.
    known_words = {plain(word) for word in words} | plain_words(
        [*name_map.values(), *no_company.values()]
    )
    return _Vocabulary(
        acronyms=acronym_map,
        names=name_map,
        no_company=no_company,
        words=frozenset(known_words),
    )


def _data_list(name: str, field: str) -> list[str]:
    data = load_json(name)
    assert isinstance(data, dict)
    entries = data[field]
    assert isinstance(entries, list)
    return [str(entry) for entry in entries]


@functools.cache
def _default_data() -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    return (
        tuple(_data_list(_ACRONYMS_FILE, "acronyms")),
        tuple(_data_list(_NAMES_FILE, "names")),
        tuple(_data_list(_WORDS_FILE, "words")),
    )


@functools.cache
def _default_rules() -> _InstitutionRules:
    acronyms, names, words = _default_data()
    return _InstitutionRules(_build(acronyms, names, words=words))


@functools.cache
def abbreviation_expansions() -> Mapping[str, frozenset[str]]:
    """Every spelling the rules may write each abbreviation out as, by its `plain` letters.

    Only a leading "U" is written out: ``{"u": frozenset({"Universidad"})}``. Legal suffixes
    are respelled, never written out ("S.A." is not "Sociedad Anónima"). A read-only view.
    """
    keys = {plain(abbreviation).rstrip(".") for abbreviation in _UNIVERSITY_ABBREVIATIONS}
    return types.MappingProxyType({key: frozenset({_UNIVERSITY}) for key in keys})


@functools.cache
def known_words() -> frozenset[str]:
    """Every word of the built-in vocabulary, as `plain` keys.

    The words of the known names, the acronyms and the no-company values: ``"bancolombia"``,
    ``"publicas"``, ``"epm"``, ``"ninguna"``. Legal suffixes are not words of a name.
    """
    vocabulary = _default_rules().vocabulary
    return plain_words(
        [*vocabulary.names.values(), *vocabulary.acronyms.values(), *vocabulary.no_company.values()]
    )


def assess_institution(value: str) -> Outcome:
    """Tidy a company or institution name and say whether the rules recognised it.

    Reasons: "known" (a known organisation or acronym), "no_company" ("Ninguna", "N/A",
    "Independiente"...), "legal_suffix" (a plain name with a recognised legal suffix), all
    confident; "unknown" and "placeholder" (no letter or digit), not confident.

    Examples:
        >>> assess_institution("bancolombia s.a.")
        Outcome(value='Bancolombia S.A.', confident=True, reason='known')
        >>> assess_institution("TRANSPORTES RODRIGUEZ SAS")
        Outcome(value='Transportes Rodriguez S.A.S.', confident=True, reason='legal_suffix')
        >>> assess_institution("ferreteria la esperanza")
        Outcome(value='Ferreteria La Esperanza', confident=False, reason='unknown')
    """
    return _default_rules().assess(value)


@assessed_by(assess_institution)
def normalize_institution(value: str) -> str:
    """Write a company or institution name the standard way.

    Examples of input -> output:

    - "sena", "S.E.N.A" -> "SENA"; "Sena regional Antioquia" -> "SENA Regional Antioquia"
    - "bancolombia s.a." -> "Bancolombia S.A."; "ECOPETROL S.A." -> "Ecopetrol S.A."
    - "EMPRESAS PUBLICAS DE MEDELLIN" -> "Empresas Públicas de Medellín"
    - "TRANSPORTES RODRIGUEZ SAS" -> "Transportes Rodriguez S.A.S."
    - "comercializadora integral s a s" -> "Comercializadora Integral S.A.S."
    - "SOLUCIONES EL PORVENIR & CIA" -> "Soluciones El Porvenir & Cía."
    - "Banco BBVA Colombia" -> "Banco BBVA Colombia"
    - "no aplica" -> "No aplica"; "n/a", "NA" -> "N/A"

    See the module documentation for the full convention.
    """
    return assess_institution(value).value


def make_institution_normalizer(
    extra_acronyms: Iterable[str] = (),
    known_names: Iterable[str] = (),
) -> PostProcessor:
    """Build an `empresa` post-processor that also knows your acronyms and organisations.

    The result behaves like `normalize_institution` and has an assessor (see
    `llm_normalize.postprocessors.base.assess`). Build it once and reuse it: each call
    makes a new vocabulary and cache.

    Args:
        extra_acronyms: Acronyms written as given wherever they appear as a word, e.g.
            ``["COOMEVA", "UdeA"]``. Each must be one word of letters and digits.
        known_names: Organisations written as given when a whole value names them modulo
            case, accents, spacing and punctuation, e.g. ``["Tostao' Café & Pan"]``.
            A legal suffix in a name is not part of it: "Bancolombia S.A." teaches
            "Bancolombia", and any suffix typed after it is tidied as usual.
            A name given here replaces a built-in one with the same key.

    Raises:
        ConfigurationError: An acronym is not one word of letters and digits, or a name has
            no letter or digit, or one that cannot be folded to ASCII.

    Examples:
        >>> normalize = make_institution_normalizer(["COOMEVA"], ["Tostao' Café & Pan"])
        >>> normalize("tostao cafe y pan")
        'Tostao Cafe y Pan'
        >>> normalize("TOSTAO CAFE & PAN SAS")
        "Tostao' Café & Pan S.A.S."
        >>> normalize("coomeva eps")
        'COOMEVA EPS'
    """
    acronyms, names, words = _default_data()
    rules = _InstitutionRules(_build(acronyms, names, extra_acronyms, known_names, words))

    def assess_custom_institution(value: str) -> Outcome:
        """Tidy a company or institution name with a custom vocabulary (see the factory)."""
        return rules.assess(value)

    @assessed_by(assess_custom_institution)
    def normalize_custom_institution(value: str) -> str:
        """Write a company or institution name the standard way, with a custom vocabulary."""
        return rules.assess(value).value

    return normalize_custom_institution
