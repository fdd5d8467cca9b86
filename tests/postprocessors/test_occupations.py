import json
import unicodedata
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from llm_normalize.postprocessors import occupations
from llm_normalize.postprocessors._vocab import load_json
from llm_normalize.postprocessors.base import Outcome, assess, assessor_of
from llm_normalize.postprocessors.occupations import assess_occupation, normalize_occupation
from llm_normalize.postprocessors.spanish import plain
from llm_normalize.postprocessors.text import clean_text, fold
from strategies import any_text, occupation_words, text_or_form

LEADS = Path(__file__).resolve().parents[2] / "examples" / "leads.jsonl"
# Documented bound: four expansions and three inserted particles.
GROWTH = 64


def _sample_values() -> list[str]:
    with LEADS.open(encoding="utf-8") as lines:
        return [json.loads(line).get("ocupacionActual") or "" for line in lines if line.strip()]


def _letters(text: str) -> list[str]:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return [char for char in decomposed if char.isalnum()]


def _is_subsequence(needle: list[str], haystack: list[str]) -> bool:
    remaining = iter(haystack)
    return all(char in remaining for char in needle)


def _known() -> list[str]:
    data = load_json("occupations_known.json")
    assert isinstance(data, dict)
    return list(data["occupations"])


KNOWN = _known()


class TestAbbreviations:
    @pytest.mark.parametrize(
        ("raw", "expected"),
        [
            ("Ing. Sistemas", "Ingeniero de Sistemas"),
            ("ING. SISTEMAS", "Ingeniero de Sistemas"),
            ("ing sistemas", "Ingeniero de Sistemas"),
            ("Ing.Sistemas", "Ingeniero de Sistemas"),
            ("ing. sist.", "Ingeniero de Sistemas"),
            ("Ing. Civil", "Ingeniero Civil"),
            ("ing ind", "Ingeniero Industrial"),
            ("Lic. en matemáticas", "Licenciado en Matemáticas"),
            ("lic. en matematicas", "Licenciado en Matemáticas"),
            ("Adm. de Empresas", "Administrador de Empresas"),
            ("adm empresas", "Administrador de Empresas"),
            ("Tec. en sistemas", "Técnico en Sistemas"),
            ("Téc. en sistemas", "Técnico en Sistemas"),
            ("tec sistemas", "Técnico en Sistemas"),
            ("Aux. administrativa", "Auxiliar Administrativa"),
            ("aux administrativo", "Auxiliar Administrativo"),
            ("Aux. Admin.", "Auxiliar Administrativo"),
            ("AUX. ADM.", "Auxiliar Administrativo"),
            ("Aux.Adm.", "Auxiliar Administrativo"),
            ("Asist. administrativa", "Asistente Administrativa"),
            ("Aux. Cont.", "Auxiliar Contable"),
            ("aux. de enf.", "Auxiliar de Enfermería"),
            ("Cont. Público", "Contador Público"),
            ("Prof.", "Profesor"),
            ("Coord. SST", "Coordinador SST"),
            ("coord. de proyectos", "Coordinador de Proyectos"),
            ("Coordinadora adm", "Coordinadora Administrativa"),
            ("ger. general", "Gerente General"),
            ("gerente gral", "Gerente General"),
            ("Medico gral", "Médico General"),
            ("Aux. serv. generales", "Auxiliar de Servicios Generales"),
            ("Tec. mant.", "Técnico en Mantenimiento"),
        ],
    )
    def test_known_after_expansion(self, raw: str, expected: str) -> None:
        """Abbreviations are written out and the result is a known occupation."""
        assert assess_occupation(raw) == Outcome(expected, confident=True, reason="alias")

    @pytest.mark.parametrize(
        ("raw", "expected"),
        [
            ("Estudiante de Ing. Civil", "Estudiante de Ingeniería Civil"),
            ("Técnico en Adm.", "Técnico en Administración"),
            ("Tecnologo en cont.", "Tecnologo en Contabilidad"),
            ("dir. comercial y de mercadeo", "Director Comercial y de Mercadeo"),
            ("ing. de procesos senior", "Ingeniero de Procesos Senior"),
            ("Dr. en derecho", "Dr. en Derecho"),
            ("DRA. PEDIATRA", "Dra. Pediatra"),
            ("Ing Xyz ABC", "Ingeniero Xyz ABC"),
            ("ING XYZ", "Ingeniero Xyz"),
        ],
    )
    def test_unknown_after_expansion(self, raw: str, expected: str) -> None:
        """Expansions also apply to unknown values, which stay not confident."""
        assert assess_occupation(raw) == Outcome(expected, confident=False, reason="unknown")

    def test_too_many_abbreviations(self) -> None:
        """A value with more than four abbreviations is left unexpanded."""
        assert normalize_occupation("aux aux aux aux aux") == "Aux Aux Aux Aux Aux"
        assert normalize_occupation("aux. ing. lic. adm. tec.") == "Aux. Ing. Lic. Adm. Tec."
        assert normalize_occupation("aux. ing. lic. adm.") == (
            "Auxiliar Ingeniero Licenciado Administrador"
        )

    def test_expansions_are_not_abbreviations(self) -> None:
        """No expansion is itself an abbreviation, so expanding is done once."""
        tables = [
            occupations._ABBREVIATIONS,
            occupations._FIELD_ABBREVIATIONS,
            occupations._ENGINEERING_ABBREVIATIONS,
        ]
        spelled = {word for table in tables for word in table.values()}
        spelled |= {word for pair in occupations._ROLE_ADJECTIVES.values() for word in pair}
        abbreviations = {key for table in tables for key in table}
        for word in spelled:
            assert plain(word) not in abbreviations, word

    def test_expansions_keep_the_letters(self) -> None:
        """Each abbreviation's letters appear, in order, in what it expands to."""
        tables = {
            **occupations._ABBREVIATIONS,
            **{f"{key}!": value for key, value in occupations._FIELD_ABBREVIATIONS.items()},
        }
        for key, value in tables.items():
            assert _is_subsequence(list(key.rstrip("!")), list(plain(value))), key

    def test_growth_constant_covers_tables(self) -> None:
        """Four expansions and three particles fit in the documented growth of 64."""
        longest = max(
            len(value) - len(key)
            for table in (occupations._ABBREVIATIONS, occupations._FIELD_ABBREVIATIONS)
            for key, value in table.items()
        )
        adjective = max(
            len(word) - len(key)
            for key, pair in occupations._ROLE_ADJECTIVES.items()
            for word in pair
        )
        per_split = 1  # "Ing.Sistemas" gains a space
        assert 4 * (max(longest, adjective) + per_split) + 3 * len(" de") <= GROWTH


class TestParticles:
    @pytest.mark.parametrize(
        ("raw", "expected"),
        [
            ("Ingeniero Sistemas", "Ingeniero de Sistemas"),
            ("ingeniera sistemas", "Ingeniera de Sistemas"),
            ("Ingeniero Industrial", "Ingeniero Industrial"),
            ("Tecnico Sistemas", "Técnico en Sistemas"),
            ("TECNICO SISTEMAS", "Técnico en Sistemas"),
            ("Técnico Electricista", "Técnico Electricista"),
            ("Licenciado Matematicas", "Licenciado en Matemáticas"),
            ("Analista Datos", "Analista de Datos"),
            ("Administradora Empresas", "Administradora de Empresas"),
            ("Auxiliar enfermeria", "Auxiliar de Enfermería"),
            ("Desarrollador Software", "Desarrollador de Software"),
            ("Jefe Ventas", "Jefe de Ventas"),
        ],
    )
    def test_known_pairs_joined(self, raw: str, expected: str) -> None:
        """A role and a field Spanish joins with a particle get it."""
        assert normalize_occupation(raw) == expected

    @pytest.mark.parametrize(
        ("raw", "expected"),
        [
            ("Docente matematicas", "Docente de Matematicas"),
            ("estudiante derecho", "Estudiante de Derecho"),
            ("Tecnologo Soldadura", "Tecnologo en Soldadura"),
            ("Gerente tienda", "Gerente de Tienda"),
        ],
    )
    def test_no_accent_added_outside_known(self, raw: str, expected: str) -> None:
        """Particles are added to unknown values too, but accents are not."""
        assert normalize_occupation(raw) == expected

    def test_at_most_three_particles(self) -> None:
        """More than three missing particles: the value is left as typed."""
        value = "analista datos analista datos analista datos analista datos"
        assert normalize_occupation(value) == (
            "Analista Datos Analista Datos Analista Datos Analista Datos"
        )


class TestKnownOccupations:
    @pytest.mark.parametrize(
        ("raw", "expected"),
        [
            ("estudiante", "Estudiante"),
            ("ESTUDIANTE", "Estudiante"),
            ("Estudiante universitario", "Estudiante Universitario"),
            ("estudiante sena", "Estudiante SENA"),
            ("independiente", "Independiente"),
            ("Trabajador independiente", "Trabajador Independiente"),
            ("DESEMPLEADA", "Desempleada"),
            ("Ama de casa", "Ama de Casa"),
            ("AMA  DE CASA ", "Ama de Casa"),
            ("docente", "Docente"),
            ("CONTADOR PUBLICO", "Contador Público"),
            ("contadora", "Contadora"),
            ("asesora comercial", "Asesora Comercial"),
            ("ELECTRICISTA", "Electricista"),
            ("Disenador grafico", "Diseñador Gráfico"),
            ("PSICOLOGA", "Psicóloga"),
            ("Medico general", "Médico General"),
            ("MÉDICO  GENERAL", "Médico General"),
            ("policia", "Policía"),
            ("enfermera jefe", "Enfermera Jefe"),
            ("COORDINADOR SST", "Coordinador SST"),
            ("Analista de TI", "Analista de TI"),
            ("analista qa", "Analista QA"),
            ("community manager", "Community Manager"),
            ("CEO", "CEO"),
            ("call center", "Call Center"),
            ("BACTERIOLOGO", "Bacteriólogo"),
            ("pensionado", "Pensionado"),
            ("DesempleadÃ³", "Desempleado"),
        ],
    )
    def test_canonical_spelling(self, raw: str, expected: str) -> None:
        """A known occupation gets its canonical spelling, accents and acronyms included."""
        outcome = assess_occupation(raw)
        assert outcome.value == expected
        assert outcome.confident

    @pytest.mark.parametrize("occupation", KNOWN)
    def test_every_known_occupation_is_a_fixed_point(self, occupation: str) -> None:
        """Each canonical occupation maps to itself, confidently, and so does its folded form."""
        assert assess_occupation(occupation) == Outcome(occupation, True, "known")
        assert normalize_occupation(fold(occupation).upper()) == occupation

    def test_known_spellings_have_same_letters(self) -> None:
        """A canonical spelling is its key with case and accents only."""
        for occupation in KNOWN:
            assert len(occupation) == len(fold(occupation)), occupation

    def test_assessor_is_linked(self) -> None:
        """The registry can ask the post-processor how sure it is."""
        assert assessor_of(normalize_occupation) is assess_occupation
        assert assess(normalize_occupation, "Docente") == Outcome("Docente", True, "known")


class TestUnknown:
    @pytest.mark.parametrize(
        ("raw", "expected"),
        [
            ("desarrollador ti", "Desarrollador TI"),
            ("DESARROLLADOR TI", "Desarrollador TI"),
            ("Auxiliar sst", "Auxiliar SST"),
            ("Analista de datos SR", "Analista de Datos SR"),
            ("ANALISTA DE DATOS SR", "Analista de Datos Sr"),
            ("piloto de drones", "Piloto de Drones"),
            ("ingeniero de la energia", "Ingeniero de la Energia"),
            ("null", "Null"),
            ("Operario 2", "Operario 2"),
            ("dueño de tienda", "Dueño de Tienda"),
            ("mecanico automotriz", "Mecanico Automotriz"),
        ],
    )
    def test_tidied(self, raw: str, expected: str) -> None:
        """An unknown occupation is title-cased with acronyms kept, not confident."""
        assert assess_occupation(raw) == Outcome(expected, confident=False, reason="unknown")

    @pytest.mark.parametrize("raw", ["-", "...", "😀"])
    def test_placeholder(self, raw: str) -> None:
        """A value with no letter or digit is kept and flagged."""
        assert assess_occupation(raw) == Outcome(raw, confident=False, reason="placeholder")

    @pytest.mark.parametrize("raw", ["", " ", "\t\n", "\u200b"])
    def test_empty(self, raw: str) -> None:
        """Blank input is empty and confident."""
        assert assess_occupation(raw) == Outcome("", confident=True, reason="empty")


class TestBrandCasing:
    @pytest.mark.parametrize(
        ("raw", "expected"),
        [
            ("Senior DevOps Engineer", "Senior DevOps Engineer"),
            ("desarrollador JavaScript", "Desarrollador JavaScript"),
            ("Desarrollador iOS", "Desarrollador iOS"),
            ("analista de datos PowerBI", "Analista de Datos PowerBI"),
            ("Community manager de McDonald's", "Community Manager de McDonald's"),
            ("SENIOR DEVOPS ENGINEER", "Senior Devops Engineer"),  # no capital typed inside
            ("senior devops engineer", "Senior Devops Engineer"),
            ("aNALISTA dE dATOS", "Analista de Datos"),  # caps lock reversed
        ],
    )
    def test_brand_words_keep_their_case(self, raw: str, expected: str) -> None:
        """A word typed with a capital inside it, as products and trades write it, is kept."""
        outcome = assess_occupation(raw)
        assert outcome.value == expected
        assert normalize_occupation(outcome.value) == outcome.value


class TestProperties:
    @given(st.one_of(text_or_form, occupation_words))
    def test_idempotent(self, value: str) -> None:
        """Normalizing twice gives the same as normalizing once."""
        once = normalize_occupation(value)
        assert normalize_occupation(once) == once

    @given(any_text)
    def test_total(self, value: str) -> None:
        """Any text at all gives a string, never an exception."""
        assert normalize_occupation(value) == assess_occupation(value).value

    @given(st.one_of(text_or_form, occupation_words))
    def test_length_bound(self, value: str) -> None:
        """The output is at most 64 characters longer than the cleaned input."""
        assert len(normalize_occupation(value)) <= len(clean_text(value)) + GROWTH

    @given(st.one_of(text_or_form, occupation_words))
    def test_keeps_every_letter_and_digit(self, value: str) -> None:
        """Every letter and digit typed is in the output, in order (modulo case and accents)."""
        out = normalize_occupation(value)
        assert _is_subsequence(_letters(clean_text(value)), _letters(out))


class TestLeadsSample:
    def test_every_value_idempotent(self) -> None:
        """Every value of the sample normalizes to a fixed point."""
        for value in set(_sample_values()):
            once = normalize_occupation(value)
            assert normalize_occupation(once) == once

    def test_share_confident(self) -> None:
        """At least 98% of the sample's leads are known occupations."""
        values = _sample_values()
        confident = sum(assess_occupation(value).confident for value in values)
        assert confident / len(values) >= 0.98

    def test_seed_example(self) -> None:
        """The seed's example: "Ing. Sistemas" is "Ingeniero de Sistemas"."""
        assert "Ing. Sistemas" in _sample_values()
        assert normalize_occupation("Ing. Sistemas") == "Ingeniero de Sistemas"


class TestVocabularyForTheGuard:
    """Read-only views of the tables, for the guard's free-text check."""

    def test_expansions_are_the_union_of_the_tables(self) -> None:
        """Each abbreviation maps to every spelling any table writes it as, whatever the context."""
        expansions = occupations.abbreviation_expansions()
        assert expansions["ing"] == {"Ingeniero", "Ingeniería"}
        assert expansions["adm"] == {
            "Administrador",
            "Administración",
            "Administrativo",
            "Administrativa",
        }
        assert expansions["cont"] == {"Contador", "Contabilidad", "Contable"}
        assert expansions["ind"] == {"Industrial"}
        assert expansions["lic"] == {"Licenciado", "Licenciatura"}
        assert "dr" not in expansions  # a title, kept as typed

    def test_expansions_cover_every_table_entry(self) -> None:
        """Nothing the rules can write out is missing from the view."""
        expansions = occupations.abbreviation_expansions()
        for table in (
            occupations._ABBREVIATIONS,
            occupations._FIELD_ABBREVIATIONS,
            occupations._ENGINEERING_ABBREVIATIONS,
        ):
            for key, spelling in table.items():
                assert spelling in expansions[key]
        for key, pair in occupations._ROLE_ADJECTIVES.items():
            assert set(pair) <= expansions[key]

    def test_expansions_are_read_only(self) -> None:
        """The view cannot be used to change the tables."""
        expansions = occupations.abbreviation_expansions()
        with pytest.raises(TypeError):
            expansions["xyz"] = frozenset({"Xyz"})  # type: ignore[index]

    def test_known_words(self) -> None:
        """The words of known occupations, expansions, particle fields and acronyms, as plain keys."""
        words = occupations.known_words()
        assert {"ingeniero", "ingeniera", "disenador", "sistemas", "sst"} <= words
        assert {"mantenimiento", "principal", "videojuegos", "licenciatura"} <= words
        assert all(word == plain(word) and word.isalnum() for word in words)
        assert "ingles" in words  # "Profesor de Inglés"
        assert "licorero" not in words

    def test_helpers_do_not_change_the_rules(self) -> None:
        """Reading the views leaves the post-processor as it was."""
        occupations.abbreviation_expansions()
        occupations.known_words()
        assert normalize_occupation("Ing. Sistemas") == "Ingeniero de Sistemas"
        assert normalize_occupation("Aux. Adm.") == "Auxiliar Administrativo"
