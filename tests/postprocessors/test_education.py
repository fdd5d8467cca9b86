import json
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from llm_normalize.postprocessors.base import Outcome, assess, assessor_of
from llm_normalize.postprocessors.education import (
    EDUCATION_LEVELS,
    assess_education_level,
    normalize_education_level,
    supported_education_levels,
)
from llm_normalize.postprocessors.text import clean_text, fold
from strategies import any_text, education_words, text_or_form

LEADS = Path(__file__).resolve().parents[2] / "examples" / "leads.jsonl"
LABEL_BOUND = max(len(label) for label in EDUCATION_LEVELS)


def _sample_values() -> list[str]:
    with LEADS.open(encoding="utf-8") as lines:
        return [json.loads(line).get("nivelEducativo") or "" for line in lines if line.strip()]


class TestLevels:
    def test_levels_in_order(self) -> None:
        """The canonical levels are the nine agreed labels, lowest first."""
        assert EDUCATION_LEVELS == (
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

    @pytest.mark.parametrize("label", EDUCATION_LEVELS)
    def test_label_maps_to_itself(self, label: str) -> None:
        """Every canonical label is a confident fixed point."""
        assert assess_education_level(label) == Outcome(label, confident=True, reason="known")

    @pytest.mark.parametrize("label", EDUCATION_LEVELS)
    def test_label_in_any_case_and_without_accents(self, label: str) -> None:
        """A label typed upper-case, lower-case or without accents is the label."""
        bare = fold(label)
        for typed in (label.upper(), label.lower(), bare, f"  {bare.upper()}\t"):
            assert assess_education_level(typed) == Outcome(label, True, "known")

    def test_assessor_is_linked(self) -> None:
        """The registry can ask the post-processor how sure it is."""
        assert assessor_of(normalize_education_level) is assess_education_level
        assert assess(normalize_education_level, "PhD") == Outcome("Doctorado", True, "alias")


class TestConfidentMappings:
    @pytest.mark.parametrize(
        ("raw", "expected"),
        [
            ("profesional universitario", "Profesional"),
            ("Profesional universitario", "Profesional"),
            ("PROFESIONAL", "Profesional"),
            ("Universitario", "Profesional"),
            ("universitaria completa", "Profesional"),
            ("pregrado", "Profesional"),
            ("PREGRADO", "Profesional"),
            ("Ingeniero", "Profesional"),
            ("licenciado", "Profesional"),
            ("Licenciada en educación", "Profesional"),
            ("profecional", "Profesional"),
            ("bachiller academico", "Bachiller"),
            ("Bachillerato", "Bachiller"),
            ("BACHILLER", "Bachiller"),
            ("bachiler", "Bachiller"),
            ("bachiller técnico", "Bachiller"),
            ("secundaria completa", "Bachiller"),
            ("secundaria", "Bachiller"),
            ("once", "Bachiller"),
            ("11", "Bachiller"),
            ("grado 11", "Bachiller"),
            ("11 grado", "Bachiller"),
            ("Grado once", "Bachiller"),
            ("primaria", "Primaria"),
            ("basica primaria", "Primaria"),
            ("Básica Primaria", "Primaria"),
            ("grado 5", "Primaria"),
            ("5to grado", "Primaria"),
            ("tecnico laboral", "Técnico"),
            ("Técnico laboral", "Técnico"),
            ("técnico profesional", "Técnico"),
            ("tecnica profesional", "Técnico"),
            ("tecnica", "Técnico"),
            ("TECNICO", "Técnico"),
            ("tecnologo en sistemas", "Tecnólogo"),
            ("Tecnología", "Tecnólogo"),
            ("Tecnologico", "Tecnólogo"),
            ("TECNOLOGO", "Tecnólogo"),
            ("especializacion", "Especialización"),
            ("especialista", "Especialización"),
            ("Esp.", "Especialización"),
            ("posgrado especializacion", "Especialización"),
            ("Especialista en gerencia de proyectos", "Especialización"),
            ("maestria", "Maestría"),
            ("Magister", "Maestría"),
            ("master", "Maestría"),
            ("MBA", "Maestría"),
            ("M.Sc.", "Maestría"),
            ("doctorado", "Doctorado"),
            ("PhD", "Doctorado"),
            ("ph.d.", "Doctorado"),
            ("posdoctorado", "Doctorado"),
            ("Ninguno", "Ninguno"),
            ("sin estudios", "Ninguno"),
            ("BogotÃ¡ bachiller", "Bachiller"),
            ("bachiller\u200b", "Bachiller"),
            ("TecnÃ³logo", "Tecnólogo"),
        ],
    )
    def test_maps_confidently(self, raw: str, expected: str) -> None:
        """A value naming one completed level maps to that level, confidently."""
        outcome = assess_education_level(raw)
        assert outcome.value == expected
        assert outcome.confident

    @pytest.mark.parametrize("raw", ["", "   ", "\t\n", "\u200b"])
    def test_empty(self, raw: str) -> None:
        """Blank input is empty and confident."""
        assert assess_education_level(raw) == Outcome("", confident=True, reason="empty")


class TestUnfinished:
    @pytest.mark.parametrize(
        ("raw", "expected"),
        [
            ("estudiante universitario", "Bachiller"),
            ("universitaria incompleta", "Bachiller"),
            ("UNIVERSIDAD INCOMPLETA", "Bachiller"),
            ("cursando 5 semestre", "Bachiller"),
            ("5 semestre de ingenieria", "Bachiller"),
            ("tecnologo en curso", "Bachiller"),
            ("bachiller incompleto", "Primaria"),
            ("sin bachillerato", "Primaria"),
            ("primaria incompleta", "Ninguno"),
            ("estudiante de maestria", "Profesional"),
            ("profesional, maestria en curso", "Profesional"),
            ("doctorando", "Profesional"),
            ("grado 9", "Primaria"),
            ("noveno grado", "Primaria"),
            ("grado 3", "Ninguno"),
            ("basica secundaria", "Primaria"),
        ],
    )
    def test_highest_completed_level(self, raw: str, expected: str) -> None:
        """An unfinished level maps to the level completed before it, not confidently."""
        assert assess_education_level(raw) == Outcome(expected, False, "incomplete")


class TestAmbiguous:
    @pytest.mark.parametrize(
        ("raw", "expected", "reason"),
        [
            ("posgrado", "Especialización", "ambiguous"),
            ("Postgrado", "Especialización", "ambiguous"),
            ("tec", "Técnico", "ambiguous"),
            ("normalista", "Bachiller", "ambiguous"),
            ("tecnico y profesional", "Profesional", "ambiguous"),
            ("bachiller, tecnico, tecnologo", "Tecnólogo", "ambiguous"),
            ("profesinal", "Profesional", "fuzzy"),
            ("especialisacion", "Especialización", "fuzzy"),
            ("bachiller con muchas palabras que dicen poco mas", "Bachiller", "ambiguous"),
        ],
    )
    def test_not_confident(self, raw: str, expected: str, reason: str) -> None:
        """A vague, multiple or misspelt level maps to a label, not confidently."""
        assert assess_education_level(raw) == Outcome(expected, False, reason)


class TestUnknown:
    @pytest.mark.parametrize(
        ("raw", "expected"),
        [
            ("curso de ingles", "Curso de Ingles"),
            ("Diplomado", "Diplomado"),
            ("DIPLOMADO EN MERCADEO", "Diplomado en Mercadeo"),
            ("quiero estudiar una maestria", "Quiero Estudiar Una Maestria"),
            ("Nivel 3", "Nivel 3"),
            ("estudiante", "Estudiante"),
            ("curso SENA", "Curso SENA"),
            ("null", "Null"),
        ],
    )
    def test_only_tidied(self, raw: str, expected: str) -> None:
        """A value without a level keeps every letter and digit, title-cased, not confident."""
        assert assess_education_level(raw) == Outcome(expected, False, "unknown")

    @pytest.mark.parametrize("raw", ["-", "...", " ? ", "😀"])
    def test_placeholder(self, raw: str) -> None:
        """Punctuation alone is kept and flagged as a placeholder."""
        outcome = assess_education_level(raw)
        assert outcome == Outcome(raw.strip(), False, "placeholder")


class TestProperties:
    @given(st.one_of(text_or_form, education_words))
    def test_idempotent(self, value: str) -> None:
        """Normalizing twice gives the same as normalizing once."""
        once = normalize_education_level(value)
        assert normalize_education_level(once) == once

    @given(any_text)
    def test_total(self, value: str) -> None:
        """Any text at all gives a string and an outcome, never an exception."""
        outcome = assess_education_level(value)
        assert isinstance(outcome.value, str)
        assert normalize_education_level(value) == outcome.value

    @given(st.one_of(text_or_form, education_words))
    def test_length_bound(self, value: str) -> None:
        """The output is a label or the cleaned input re-cased: at most 15 characters longer."""
        assert len(normalize_education_level(value)) <= len(clean_text(value)) + LABEL_BOUND

    @given(st.one_of(text_or_form, education_words))
    def test_label_or_every_letter_kept(self, value: str) -> None:
        """The output is a canonical label, or the input with all its letters and digits."""
        out = normalize_education_level(value)
        assert out in EDUCATION_LEVELS or fold(out) == fold(value)

    @given(st.one_of(text_or_form, education_words))
    def test_confident_means_label(self, value: str) -> None:
        """A confident answer is always a canonical label (or empty)."""
        outcome = assess_education_level(value)
        if outcome.confident:
            assert outcome.value in (*EDUCATION_LEVELS, "")

    @given(st.sampled_from(EDUCATION_LEVELS), st.sampled_from(["", " ", ".", "  "]))
    def test_label_with_debris(self, label: str, debris: str) -> None:
        """Spacing and a trailing period around a label do not matter."""
        assert normalize_education_level(debris + label.upper() + debris) == label


class TestLeadsSample:
    def test_every_value_idempotent(self) -> None:
        """Every value of the sample normalizes to a fixed point."""
        for value in set(_sample_values()):
            once = normalize_education_level(value)
            assert normalize_education_level(once) == once

    def test_share_confident(self) -> None:
        """At least 95% of the sample's leads are mapped confidently."""
        values = _sample_values()
        confident = sum(assess_education_level(value).confident for value in values)
        assert confident / len(values) >= 0.95

    def test_frequent_values_are_labels(self) -> None:
        """Every value typed at least five times maps to a canonical label."""
        counts = Counter(_sample_values())
        frequent = [value for value, count in counts.items() if count >= 5 and value.strip()]
        assert frequent
        for value in frequent:
            assert normalize_education_level(value) in EDUCATION_LEVELS, value


class TestSupportedLevels:
    @pytest.mark.parametrize(
        ("raw", "expected"),
        [
            ("primaria", ("Primaria",)),
            ("PhD", ("Doctorado",)),
            ("grado 11", ("Bachiller",)),
            ("universitaria incompleta", ("Bachiller",)),  # not completed
            ("estudiante de maestria", ("Profesional",)),
            ("universidad incompleta, tecnico", ("Bachiller", "Técnico")),
            ("tecnico y profesional", ("Técnico", "Profesional")),
            ("posgrado", ("Profesional", "Especialización", "Maestría", "Doctorado")),
            ("doctor", ("Profesional", "Doctorado")),
            ("tec", ("Técnico", "Tecnólogo")),
            ("Lic. en educación", ("Profesional",)),  # abbreviations the rules leave alone
            ("tecn", ("Técnico", "Tecnólogo")),
            ("profesinal", ("Profesional",)),
            ("bachiller con muchas palabras que dicen poco mas", ("Bachiller",)),
            ("Diplomado", ()),
            ("curso de ingles", ()),
            ("quiero estudiar una maestria", ()),  # a wish
            ("pre icfes", ()),
            ("", ()),
        ],
    )
    def test_examples(self, raw: str, expected: tuple[str, ...]) -> None:
        """The labels the words of a value support, lowest first."""
        assert supported_education_levels(raw) == expected

    @given(st.one_of(education_words, text_or_form))
    def test_rules_label_is_supported(self, value: str) -> None:
        """The rules' label is always supported, and only labels are."""
        supported = supported_education_levels(value)
        assert set(supported) <= set(EDUCATION_LEVELS)
        assert list(supported) == sorted(supported, key=EDUCATION_LEVELS.index)
        outcome = assess_education_level(value)
        if outcome.value in EDUCATION_LEVELS:
            assert outcome.value in supported
        else:
            assert outcome.reason in {"unknown", "placeholder", "empty"}

    @pytest.mark.parametrize("label", EDUCATION_LEVELS)
    def test_a_label_supports_itself_only(self, label: str) -> None:
        """A canonical label supports no other label."""
        assert supported_education_levels(label.upper()) == (label,)
