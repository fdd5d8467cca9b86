"""Free text (occupation, company): every word of the answer accounted for by a word typed.

Both texts are split into words (`tokens`): case-folded, without accents, punctuation
dropped, and runs of single letters joined ("S.A.S." and "sas" are both ``sas``, "N/A" and
"na" both ``na``). The digit runs must be the same, in the same order
(``"digits_changed"``). Then the typed words and the answer's words must line up, in
order, with nothing left over on either side (``"too_different"``). Each typed word is
written as one answer word that is:

(a) the same word, up to case and accents: "ELECTRICISTA" -> "Electricista",
    "Disenador grafico" -> "Diseñador Gráfico", "S.E.N.A" -> "SENA";
(b) a known expansion of it, from the abbreviation tables the post-processors use
    (`occupations.abbreviation_expansions`, `organizations.abbreviation_expansions`), in
    either gender when the occupation vocabulary knows both, since an abbreviation does not
    say it: "Ing." -> "Ingeniero", "Ingeniera" or "Ingeniería", "Adm." -> "Administrador",
    "Administradora", "Administración" or "Administrativo", "Aux." -> "Auxiliar", "U" ->
    "Universidad". Never any other word its letters start: "Ing." -> "Inglés", "Lic." ->
    "Licorero", "Tec." -> "Tecnólogo" and "U" -> "Unión" are rejected;
(c) a typo corrected: a word the field's vocabulary does not know, changed by at most one
    edit (a word of five letters or more) or two (nine or more) into a word it knows, and
    neither of them holding a digit. A correction keeps the grammatical gender: a word
    ending in "a" or "as" is corrected into one that does too, and the other way round.
    "Konekta" -> "Konecta", "Bancolombiaa" -> "Bancolombia", "Ingenierio" -> "Ingeniero"
    pass; "Rappi" -> "Rappx" and "Estudiante" -> "Estudianteero" (not a known word),
    "Bancolombia" -> "Bancolombiana" and "Konecta" -> "Konekta" (a known word is not a
    typo), "Ingenira" -> "Ingeniero" (gender) do not.

A word may also be split or joined, keeping its letters. A typed word may be written as
two to eight answer words that are known words, connectors or single letters ("senc" ->
"S. en C.", "serviciosgenerales" -> "Servicios Generales"), or as any words if it is an
initialism, whose text does not say where its words end ("N/A S.A." is one word,
``nasa``). Two to eight typed words may be written as one answer word that is a known word
or an initialism ("se.na" -> "SENA", "banco lombia" -> "Bancolombia", "N/A Sa." ->
"N/A S.A."). "homecenter" -> "Home Center" and "Rappi" -> "Rap Pi" are rejected.

Connectors (`CONNECTORS`: de, del, la, las, el, los, en, y, e, o, al, con, por, para) may
be added or dropped anywhere. Nothing else: no word added or dropped ("Rappi" -> "Rappi S.A.S.",
"Teleperformance Colombia" -> "Teleperformance"), no word abbreviated ("Ingeniero" ->
"Ing."), no words moved, and no name or acronym expanded or contracted: "EPM" stays "EPM"
("EPM" -> "Empresas Públicas de Medellín" is rejected, although the organisation
post-processor knows both, because it never turns one into the other either). So a legal
form stays as typed ("S.A." is not "S.A.S." nor "Sociedad Anónima"), and so does a word's
gender ("Ingeniera" is not "Ingeniero").

The vocabulary depends on the field (`spec.name`): an occupation's words are those of
`occupations.known_words` and a company's those of `organizations.known_words`; any other
free-text field knows both. A company may also hold the occupation tables' abbreviations
("Serv. Grales." -> "Servicios Generales"); an occupation only those. The guard judges each
answer alone: it does not learn words from other values of the run. A value of more than
20,000 word pairs (far beyond any field's max_length) is rejected without being compared.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Final, Literal

from llm_normalize._names import field_key
from llm_normalize.guard._text import OK, Case, Verdict, digit_runs, reject
from llm_normalize.postprocessors import occupations, organizations
from llm_normalize.postprocessors.spanish import CONNECTORS, plain

__all__ = ["check_free_text"]

# A word may be split into, or joined from, this many words.
_MAX_SPAN: Final = 8
# The largest alignment table searched; beyond it (far beyond any field's max_length) the
# answer is rejected rather than compared.
_MAX_ALIGNMENT_CELLS: Final = 20_000
# A word this long may be corrected by one edit ("Konekta" -> "Konecta"), from
# _TWO_EDITS_LENGTH by two ("Bancolombiaa" -> "Bancolombia").
_ONE_EDIT_LENGTH: Final = 5
_TWO_EDITS_LENGTH: Final = 9
_FEMININE_ENDINGS: Final = ("a", "as")

_OCCUPATION_FIELD: Final = field_key("ocupacionActual")
_COMPANY_FIELD: Final = field_key("empresa")

_TOKEN: Final = re.compile(r"[^\W_]+")

_Vocabulary = Literal["occupation", "company", "both"]


@dataclass(frozen=True, slots=True)
class _Lexicon:
    """What a field's answers may write for a typed word.

    Attributes:
        expansions: The expansions of each abbreviation, as `plain` words, genders included.
        words: The known words a typo may be corrected into, as `plain` words.
    """

    expansions: Mapping[str, frozenset[str]]
    words: frozenset[str]

    def is_piece(self, word: str) -> bool:
        """Say whether a word may be split off another: a known word, a connector or a letter."""
        return word in self.words or word in CONNECTORS or len(word) == 1


class Words(list[str]):
    """The words of a text (`tokens`), and which of them are initialisms.

    Attributes:
        initialisms: The indexes of the words `tokens` joined from two or more single
            letters ("S.A.S.", "N/A S.A."), where the text does not say where one word ends.
    """

    __slots__ = ("initialisms",)

    def __init__(self, words: list[str], initialisms: frozenset[int]) -> None:
        super().__init__(words)
        self.initialisms = initialisms


def tokens(text: str) -> Words:
    """Split into case-folded, accent-free words; runs of single letters are joined.

    "S.A.S." and "sas" are both ``["sas"]``, "N/A" and "na" both ``["na"]``.
    """
    words: list[str] = []
    initialisms: set[int] = set()
    run: list[str] = []

    def close_run() -> None:
        if len(run) > 1:
            initialisms.add(len(words))
        words.append("".join(run))
        run.clear()

    for token in _TOKEN.findall(plain(text)):
        if len(token) == 1 and token.isalpha():
            run.append(token)
            continue
        if run:
            close_run()
        words.append(token)
    if run:
        close_run()
    return Words(words, frozenset(initialisms))


def _genders(spelling: str, known: frozenset[str]) -> set[str]:
    """The `plain` word and its other gender, if the occupation vocabulary knows it."""
    word = plain(spelling)
    forms = {word}
    if word.endswith(("o", "a")):
        forms.add(word[:-1] + ("a" if word.endswith("o") else "o"))
    elif word.endswith("or"):
        forms.add(word + "a")
    return {form for form in forms if form == word or form in known}


def _vocabulary_of(field: str) -> _Vocabulary:
    """Which vocabulary a field's words come from: "occupation", "company" or "both"."""
    key = field_key(field)
    if key == _OCCUPATION_FIELD:
        return "occupation"
    return "company" if key == _COMPANY_FIELD else "both"


@functools.cache
def _lexicon(vocabulary: _Vocabulary) -> _Lexicon:
    """The lexicon of a vocabulary (`_vocabulary_of`), built once on first use."""
    occupation_words = occupations.known_words()
    tables: list[Mapping[str, frozenset[str]]] = [occupations.abbreviation_expansions()]
    if vocabulary != "occupation":
        tables.append(organizations.abbreviation_expansions())
    expansions: dict[str, set[str]] = {}
    for table in tables:
        for key, spellings in table.items():
            for spelling in spellings:
                expansions.setdefault(key, set()).update(_genders(spelling, occupation_words))
    words = {
        "occupation": occupation_words,
        "company": organizations.known_words(),
        "both": occupation_words | organizations.known_words(),
    }[vocabulary]
    return _Lexicon(
        expansions={key: frozenset(forms) for key, forms in expansions.items()}, words=words
    )


def _is_feminine(word: str) -> bool:
    return word.endswith(_FEMININE_ENDINGS)


def _corrected(typed: str, written: str, words: frozenset[str]) -> bool:
    """Say whether `written` is a known word that fixes a typo in the unknown word `typed`."""
    longest = max(len(typed), len(written))
    if (
        longest < _ONE_EDIT_LENGTH
        or written not in words
        or typed in words
        or not typed.isalpha()
        or not written.isalpha()
        or _is_feminine(typed) != _is_feminine(written)
    ):
        return False
    # Imported here: rapidfuzz is needed only when a correction is possible, and
    # `import llm_normalize` stays light.
    from rapidfuzz.distance import OSA

    allowed = 2 if longest >= _TWO_EDITS_LENGTH else 1
    return OSA.distance(typed, written, score_cutoff=allowed) <= allowed


def _written_as(typed: str, written: str, lexicon: _Lexicon) -> bool:
    """Say whether the typed word may be written as the answer word: (a), (b) or (c)."""
    return (
        typed == written
        or written in lexicon.expansions.get(typed, ())
        or _corrected(typed, written, lexicon.words)
    )


def _span_ends(
    word: str, pieces: Words, start: int, allowed: Callable[[str], bool] | None = None
) -> Iterator[int]:
    """Where two or more pieces from `start` on join into `word` (each `allowed`, if given)."""
    joined = ""
    for end in range(start, min(len(pieces), start + _MAX_SPAN)):
        piece = pieces[end]
        if allowed is not None and not allowed(piece):
            return
        joined += piece
        if joined == word and end > start:
            yield end + 1
        if not word.startswith(joined) or len(joined) >= len(word):
            return


def _aligned(typed: Words, written: Words, lexicon: _Lexicon) -> bool:
    """Say whether the typed words and the written words line up, in order, with nothing left.

    A dynamic programme over (typed index, written index). Each step consumes a typed word
    and the written word it may be written as; or a typed word and the written words it
    was split into (an initialism any way, another word only into known words, connectors
    and single letters: "senc" -> "S. en C."); or typed words and the written word they
    were joined into, if that is an initialism or a known word ("se.na" -> "SENA"); or it
    skips a connector on either side.
    """
    n, m = len(typed), len(written)
    if (n + 1) * (m + 1) > _MAX_ALIGNMENT_CELLS:
        return False
    reached = [[False] * (m + 1) for _ in range(n + 1)]
    reached[0][0] = True
    for i in range(n + 1):
        row = reached[i]
        for j in range(m + 1):
            if not row[j]:
                continue
            if i == n and j == m:
                return True
            if j < m and written[j] in CONNECTORS:
                row[j + 1] = True
            if i == n:
                continue
            word = typed[i]
            if word in CONNECTORS:
                reached[i + 1][j] = True
            if j == m:
                continue
            if _written_as(word, written[j], lexicon):
                reached[i + 1][j + 1] = True
            piece_rule = None if i in typed.initialisms else lexicon.is_piece
            for end in _span_ends(word, written, j, piece_rule):
                reached[i + 1][end] = True
            if j in written.initialisms or written[j] in lexicon.words:
                for end in _span_ends(written[j], typed, i):
                    reached[end][j + 1] = True
    return reached[n][m]


def check_free_text(case: Case) -> Verdict:
    """Judge a free-text answer: the same digits, every word accounted for (module docstring)."""
    raw, answer = case.raw, case.answer
    if digit_runs(raw) != digit_runs(answer):
        return reject("digits_changed")
    lexicon = _lexicon(_vocabulary_of(case.spec.name))
    if _aligned(tokens(raw), tokens(answer), lexicon):
        return OK
    return reject("too_different")
