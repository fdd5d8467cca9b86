"""Occupations and job titles: the `ocupacionActual` post-processor.

The convention: title case with Spanish particles lower-case, abbreviations expanded, and
known occupations in their canonical spelling: "Ing. Sistemas" -> "Ingeniero de Sistemas".

- **Abbreviations** (a word of letters with or without its period) are written out:
  "Ing." -> "Ingeniero", "Lic." -> "Licenciado", "Adm." -> "Administrador",
  "Tec."/"Téc." -> "Técnico", "Aux." -> "Auxiliar", "Asist." -> "Asistente",
  "Cont." -> "Contador", "Prof." -> "Profesor", "Coord." -> "Coordinador",
  "Dir." -> "Director", "Ger." -> "Gerente", "Sist." -> "Sistemas", "Gral." -> "General",
  "Serv." -> "Servicios", "Mant." -> "Mantenimiento"...
  The word before decides some of them: after a role ("Aux. Adm.") "Adm." is
  "Administrativo" (or "Administrativa" after a feminine role) and "Cont." is "Contable";
  after "de" or "en" a field is meant ("Estudiante de Ing. Civil" -> "Estudiante de
  Ingeniería Civil", "Técnico en Adm." -> "Técnico en Administración"); "Ind." is
  "Industrial" only after "Ingeniero". Masculine forms are the default ("Ing." ->
  "Ingeniero"): an abbreviation does not say more. "Dr." and "Dra." are titles, not
  occupations, and stay as typed. A value with more than four abbreviations is not an
  occupation written short, and none is expanded.
- **Missing particles** are added between a role and a field that Spanish joins with one:
  "Ingeniero Sistemas" -> "Ingeniero de Sistemas", "Analista Datos" -> "Analista de Datos",
  "Técnico Sistemas" -> "Técnico en Sistemas", "Licenciado Matemáticas" -> "Licenciado en
  Matemáticas"; "Ingeniero Industrial" and "Técnico Electricista" are left alone.
  Only known pairs are joined, at most three in a value.
- **Known occupations** (a whole value after the steps above, modulo case, accents, spacing
  and punctuation) get their canonical spelling, accents included: "CONTADOR PUBLICO" ->
  "Contador Público", "disenador grafico" -> "Diseñador Gráfico". Masculine and feminine
  forms are both known ("Psicóloga", "Ingeniera de Sistemas"). Accents are added only this
  way (and in the expansions above), never to a word of an unknown value.
- **Everything else** is title-cased with particles lower-case, known acronyms upper-case
  ("Desarrollador TI", "Analista QA", "Coordinador SST"), and upper-case words of two to
  five letters kept when the value was typed in mixed case.

Confident: a known occupation. Anything else is tidied but not confident.
Letters and digits are never dropped, and the output is at most 64 characters longer than
the cleaned input (four expansions, three particles).

The guard reads the same tables, without their contexts, through `abbreviation_expansions`
and `known_words`.
"""

from __future__ import annotations

import functools
import types
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from llm_normalize.postprocessors._vocab import (
    is_placeholder,
    load_json,
    match_key,
    plain_words,
    settle,
    title_case,
)
from llm_normalize.postprocessors.base import Outcome, assessed_by
from llm_normalize.postprocessors.spanish import plain
from llm_normalize.postprocessors.text import clean_text

__all__ = [
    "abbreviation_expansions",
    "assess_occupation",
    "known_words",
    "normalize_occupation",
]


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Abbreviations by their letters (case-folded, without accents or period).
_ABBREVIATIONS: Final = {
    "ing": "Ingeniero",
    "lic": "Licenciado",
    "adm": "Administrador",
    "admin": "Administrador",
    "admon": "Administración",
    "admvo": "Administrativo",
    "admtivo": "Administrativo",
    "adtivo": "Administrativo",
    "admva": "Administrativa",
    "adtiva": "Administrativa",
    "tec": "Técnico",
    "tco": "Técnico",
    "tecnol": "Tecnólogo",
    "tlgo": "Tecnólogo",
    "aux": "Auxiliar",
    "asist": "Asistente",
    "cont": "Contador",
    "prof": "Profesor",
    "coord": "Coordinador",
    "dir": "Director",
    "ger": "Gerente",
    "sist": "Sistemas",
    "gral": "General",
    "grales": "Generales",
    "serv": "Servicios",
    "ppal": "Principal",
    "mant": "Mantenimiento",
    "mtto": "Mantenimiento",
    "ejec": "Ejecutivo",
}
# After "de" or "en" an abbreviation names a field of study or work, not a person.
_FIELD_ABBREVIATIONS: Final = {
    "ing": "Ingeniería",
    "lic": "Licenciatura",
    "adm": "Administración",
    "admin": "Administración",
    "cont": "Contabilidad",
    "enf": "Enfermería",
}
_FIELD_PREPOSITIONS: Final = frozenset({"de", "en"})
# After a role an abbreviation is an adjective: "Aux. Adm." is "Auxiliar Administrativo".
_ROLE_ADJECTIVES: Final = {
    "adm": ("Administrativo", "Administrativa"),
    "admin": ("Administrativo", "Administrativa"),
    "cont": ("Contable", "Contable"),
}
_MASCULINE_ROLES: Final = frozenset(
    {
        "auxiliar",
        "asistente",
        "analista",
        "coordinador",
        "jefe",
        "director",
        "gerente",
        "secretario",
        "profesional",
        "gestor",
        "asesor",
        "tecnico",
        "tecnologo",
        "ejecutivo",
        "apoyo",
        "lider",
        "supervisor",
    }
)
_FEMININE_ROLES: Final = frozenset(
    {
        "coordinadora",
        "directora",
        "secretaria",
        "gestora",
        "asesora",
        "tecnica",
        "tecnologa",
        "ejecutiva",
        "supervisora",
    }
)
# "Ind." is "Industrial" after these words only: elsewhere it could be "Independiente".
_ENGINEERING: Final = frozenset({"ingeniero", "ingeniera", "ingenieria"})
_ENGINEERING_ABBREVIATIONS: Final = {"ind": "Industrial"}
_MAX_ABBREVIATIONS: Final = 4

# Roles and the fields Spanish joins to them with a particle, by `plain` key.
_PARTICLE_FIELDS: Final[tuple[tuple[frozenset[str], str, frozenset[str]], ...]] = (
    (
        frozenset({"ingeniero", "ingeniera", "ingenieria"}),
        "de",
        _words(
            "sistemas software alimentos petroleos minas materiales telecomunicaciones "
            "produccion sonido procesos datos redes mercados costos proyectos soporte "
            "desarrollo calidad mantenimiento ventas diseno"
        ),
    ),
    (
        frozenset({"administrador", "administradora", "administracion"}),
        "de",
        _words("empresas negocios sistemas redes obras proyectos fincas"),
    ),
    (
        frozenset({"auxiliar", "asistente"}),
        "de",
        _words(
            "enfermeria bodega cocina farmacia servicios sistemas ventas archivo odontologia "
            "laboratorio mantenimiento logistica contabilidad nomina cartera compras gerencia "
            "recepcion produccion almacen calidad facturacion vuelo tienda oficina"
        ),
    ),
    (
        frozenset({"analista"}),
        "de",
        _words(
            "datos sistemas calidad credito cartera nomina riesgos compras procesos mercadeo "
            "soporte costos inventarios negocio seguridad informacion operaciones talento "
            "seleccion ventas"
        ),
    ),
    (
        frozenset({"desarrollador", "desarrolladora"}),
        "de",
        _words("software aplicaciones videojuegos sistemas"),
    ),
    (
        frozenset({"disenador", "disenadora"}),
        "de",
        _words("modas moda interiores producto sonido videojuegos"),
    ),
    (
        frozenset({"asesor", "asesora"}),
        "de",
        _words("ventas seguros credito servicio cobranza"),
    ),
    (
        _words(
            "jefe coordinador coordinadora director directora gerente supervisor supervisora "
            "ejecutivo ejecutiva lider"
        ),
        "de",
        _words(
            "ventas sistemas proyectos produccion mercadeo compras calidad logistica "
            "mantenimiento operaciones bodega cartera nomina obra personal seguridad tienda "
            "almacen zona area planta turno tecnologia recursos talento"
        ),
    ),
    (
        frozenset({"profesor", "profesora", "docente"}),
        "de",
        _words(
            "matematicas ingles espanol fisica quimica biologia sociales musica artes danza "
            "primaria preescolar idiomas informatica tecnologia ciencias historia filosofia "
            "lenguaje castellano frances natacion"
        ),
    ),
    (
        frozenset({"estudiante"}),
        "de",
        _words(
            "ingenieria derecho medicina enfermeria psicologia administracion contaduria "
            "economia arquitectura odontologia diseno comunicacion licenciatura maestria "
            "doctorado especializacion bachillerato idiomas"
        ),
    ),
    (
        _words(
            "tecnico tecnica tecnologo tecnologa licenciado licenciada licenciatura "
            "profesional especialista"
        ),
        "en",
        _words(
            "sistemas contabilidad enfermeria electricidad electronica mantenimiento redes "
            "programacion ventas logistica mecanica soldadura construccion gestion "
            "administracion farmacia cocina gastronomia salud contaduria finanzas mercadeo "
            "marketing educacion matematicas ingles idiomas lenguas ciencias biologia quimica "
            "fisica historia musica artes filosofia pedagogia telecomunicaciones informatica "
            "software alimentos comercio automatizacion refrigeracion instrumentacion "
            "topografia multimedia diseno psicologia derecho economia nutricion"
        ),
    ),
)
_MAX_PARTICLES: Final = 3

# Acronyms written upper-case wherever they appear, by `plain` key.
_ACRONYMS: Final = {
    acronym.casefold(): acronym
    for acronym in _words(
        "TI IT QA SST HSE HSEQ RRHH CEO CFO CTO COO CIO CMO UX UI BI SEO SQL SAP ERP CRM PHP "
        "AWS SENA DJ CNC UCI APH TIC PYME IPS EPS ARL PQRS BPO DBA ETL NOC PMO PMP CCTV HVAC "
        "ICBF DIAN PC CAD SIG SISO NET IA RPA IOT GIS BIM SG"
    )
}

_KNOWN_FILE: Final = "occupations_known.json"
_ASSESS_CACHE_SIZE: Final = 4096


@dataclass(frozen=True, slots=True)
class _Words:
    """A value's words after expansion, and which of them the rules wrote."""

    words: list[str]
    generated: frozenset[int]


def _abbreviation_key(word: str) -> str | None:
    # "Ing.", "ing", "TÉC." -> "ing", "ing", "tec"; None for anything but letters and a period.
    body = word.removesuffix(".")
    if not body or not body.isalpha():
        return None
    return plain(body)


def _split_abbreviations(words: Sequence[str]) -> list[str]:
    # "Ing.Sistemas" -> "Ing." "Sistemas": an abbreviation glued to the next word by its period.
    out: list[str] = []
    for word in words:
        rest = word
        while "." in rest[:-1]:
            head, _, tail = rest.partition(".")
            if not tail[:1].isalpha() or _abbreviation_key(head) not in _ABBREVIATIONS:
                break
            out.append(head + ".")
            rest = tail
        out.append(rest)
    return out


def _expansion(key: str, previous: str) -> str | None:
    """Spell out the abbreviation `key` given the `plain` key of the word before it."""
    if previous in _ENGINEERING and key in _ENGINEERING_ABBREVIATIONS:
        return _ENGINEERING_ABBREVIATIONS[key]
    if previous in _FIELD_PREPOSITIONS and key in _FIELD_ABBREVIATIONS:
        return _FIELD_ABBREVIATIONS[key]
    if key in _ROLE_ADJECTIVES and (previous in _MASCULINE_ROLES or previous in _FEMININE_ROLES):
        masculine, feminine = _ROLE_ADJECTIVES[key]
        return feminine if previous in _FEMININE_ROLES else masculine
    return _ABBREVIATIONS.get(key)


def _expand(words: Sequence[str]) -> _Words:
    split = _split_abbreviations(words)
    out: list[str] = []
    generated: set[int] = set()
    previous = ""
    for word in split:
        key = _abbreviation_key(word)
        expanded = _expansion(key, previous) if key is not None else None
        if expanded is not None:
            generated.add(len(out))
            out.append(expanded)
        else:
            out.append(word)
        previous = plain(out[-1])
    if len(generated) > _MAX_ABBREVIATIONS:
        # Not an occupation written short: keep every word as typed (and unsplit, so that
        # the decision is the same when the output comes back).
        return _Words(list(words), frozenset())
    return _Words(out, frozenset(generated))


def _particles_needed(words: Sequence[str]) -> list[tuple[int, str]]:
    keys = [plain(word) for word in words]
    needed: list[tuple[int, str]] = []
    for index in range(1, len(keys)):
        for roles, particle, fields in _PARTICLE_FIELDS:
            if keys[index - 1] in roles and keys[index] in fields:
                needed.append((index, particle))
                break
    return needed


def _add_particles(expanded: _Words) -> _Words:
    needed = _particles_needed(expanded.words)
    if not needed or len(needed) > _MAX_PARTICLES:
        return expanded
    words: list[str] = []
    generated: set[int] = set()
    insert_at = dict(needed)
    for index, word in enumerate(expanded.words):
        if index in insert_at:
            generated.add(len(words))
            words.append(insert_at[index])
        if index in expanded.generated:
            generated.add(len(words))
        words.append(word)
    return _Words(words, frozenset(generated))


@functools.cache
def _known() -> dict[str, str]:
    data = load_json(_KNOWN_FILE)
    assert isinstance(data, dict)
    entries = data["occupations"]
    assert isinstance(entries, list)
    known: dict[str, str] = {}
    for entry in entries:
        spelling = str(entry)
        key = match_key(spelling)
        if key:
            known[key] = spelling
    return known


@functools.cache
def abbreviation_expansions() -> Mapping[str, frozenset[str]]:
    """Every spelling the rules may write each abbreviation out as, whatever the context.

    Keys are the abbreviations' letters (`plain`, without the period); values are the union
    of what every table writes for them: ``"adm"`` is ``{"Administrador", "Administración",
    "Administrativo", "Administrativa"}``, ``"ing"`` is ``{"Ingeniero", "Ingeniería"}``.
    A read-only view: the rules themselves pick one spelling by the word before.
    """
    expansions: dict[str, set[str]] = {}
    for table in (_ABBREVIATIONS, _FIELD_ABBREVIATIONS, _ENGINEERING_ABBREVIATIONS):
        for key, spelling in table.items():
            expansions.setdefault(key, set()).add(spelling)
    for key, spellings in _ROLE_ADJECTIVES.items():
        expansions.setdefault(key, set()).update(spellings)
    return types.MappingProxyType(
        {key: frozenset(spellings) for key, spellings in expansions.items()}
    )


@functools.cache
def known_words() -> frozenset[str]:
    """Every word the occupation rules know, as `plain` keys.

    The words of the known occupations (both genders), of the abbreviations' expansions, of
    the roles and fields joined by a particle, and the acronyms: ``"ingeniera"``,
    ``"sistemas"``, ``"mantenimiento"``, ``"sst"``.
    """
    spellings = [*_known().values()]
    spellings += [spelling for values in abbreviation_expansions().values() for spelling in values]
    for roles, particle, fields in _PARTICLE_FIELDS:
        spellings += [*roles, particle, *fields]
    spellings += _ACRONYMS.values()
    return plain_words(spellings)


@functools.lru_cache(maxsize=_ASSESS_CACHE_SIZE)
def assess_occupation(value: str) -> Outcome:
    """Tidy an occupation or job title and say whether it is a known occupation.

    Reasons: "known" (already the canonical spelling) and "alias" (a known occupation in
    another case, spacing, accents or abbreviated), both confident; "unknown" and
    "placeholder" (no letter or digit), not confident.

    Examples:
        >>> assess_occupation("Ing. Sistemas")
        Outcome(value='Ingeniero de Sistemas', confident=True, reason='alias')
        >>> assess_occupation("desarrollador ti")
        Outcome(value='Desarrollador TI', confident=False, reason='unknown')
    """
    text = clean_text(value)
    if not text:
        return Outcome("", confident=True, reason="empty")
    raw = text.split(" ")
    known = _known()
    candidates = [raw]
    expanded = _add_particles(_expand(raw))
    candidates.append(expanded.words)
    for words in candidates:
        key = match_key(" ".join(words))
        if key and key in known:
            spelling = known[key]
            return Outcome(
                spelling, confident=True, reason="known" if spelling == text else "alias"
            )
    rendered = settle(
        title_case(expanded.words, acronyms=_ACRONYMS, generated=expanded.generated), text
    )
    reason = "placeholder" if is_placeholder(text) else "unknown"
    return Outcome(rendered, confident=False, reason=reason)


@assessed_by(assess_occupation)
def normalize_occupation(value: str) -> str:
    """Write an occupation or job title in full, in title case.

    Examples of input -> output:

    - "Ing. Sistemas", "ing sistemas", "INGENIERO DE SISTEMAS" -> "Ingeniero de Sistemas"
    - "Adm. de Empresas" -> "Administrador de Empresas"
    - "Aux. Admin." -> "Auxiliar Administrativo"; "aux administrativa" -> "Auxiliar Administrativa"
    - "Tec. en sistemas", "Tecnico Sistemas" -> "Técnico en Sistemas"
    - "lic. en matematicas" -> "Licenciado en Matemáticas"
    - "CONTADOR PUBLICO" -> "Contador Público"; "ama de casa" -> "Ama de Casa"
    - "COORDINADOR SST" -> "Coordinador SST"; "desarrollador ti" -> "Desarrollador TI"

    See the module documentation for the full convention.
    """
    return assess_occupation(value).value
