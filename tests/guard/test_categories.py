"""The guard on categories."""

import pytest
from hypothesis import given

from guard_support import (
    GUARD,
    NIVEL,
    OK,
    rejected,
    sample_leads,
)
from llm_normalize.fields import FieldSpec
from llm_normalize.postprocessors.education import (
    EDUCATION_LEVELS,
    assess_education_level,
)
from llm_normalize.profiles.colombia import default_registry
from llm_normalize.records import FieldResult
from strategies import education_words, text_or_form


def rules_of(raw: str) -> FieldResult:
    """The rules' result for a raw education level, as the pipeline passes it."""
    outcome = default_registry.assess("nivelEducativo", raw)
    return FieldResult(outcome.value, "rules", outcome.confident, outcome.reason)


class TestCategory:
    @pytest.mark.parametrize(
        ("raw", "answer"),
        [
            ("profesional universitario", "Profesional"),
            ("bachiller academico", "Bachiller"),
            ("TECNOLOGO", "tecnologo"),
            ("maestria", "MAESTRÍA"),
            ("esp", " Especialización "),
            ("grado 11", "Bachiller"),
        ],
    )
    def test_accepted(self, raw: str, answer: str) -> None:
        """The rules' label, in any case, with or without accents."""
        assert GUARD.check(NIVEL, raw, answer) == OK
        assert GUARD.check(NIVEL, raw, answer, rules=rules_of(raw)) == OK

    @pytest.mark.parametrize(
        "answer",
        [
            "Doctor",
            "Universitario",
            "Bachiller, Técnico",
            "Bachiller Profesional",
            "Diplomado",
            "N/A",
        ],
    )
    def test_rejected(self, answer: str) -> None:
        """Anything but exactly one label, or the raw value kept, is rejected."""
        assert GUARD.check(NIVEL, "profesional", answer) == rejected("not_a_label")


class TestSupport:
    @pytest.mark.parametrize(
        ("raw", "answer"),
        [
            ("primaria", "Doctorado"),
            ("primaria", "Bachiller"),
            ("bachiller academico", "Profesional"),
            ("Profesional", "Maestría"),
            ("PhD", "Profesional"),
            ("grado 11", "Primaria"),
            ("sin estudios", "Bachiller"),
            ("universitaria incompleta", "Profesional"),  # not completed
            ("estudiante de maestria", "Maestría"),
            ("primaria incompleta", "Primaria"),
            ("tecnico y profesional", "Doctorado"),
            ("posgrado", "Bachiller"),
            ("Diplomado", "Profesional"),  # no level named
            ("curso de ingles", "Bachiller"),
            ("quiero estudiar una maestria", "Maestría"),  # a wish
            ("quiero estudiar una maestria", "Profesional"),
            ("normalista", "Doctorado"),
        ],
    )
    def test_a_label_the_raw_value_does_not_support_is_rejected(
        self, raw: str, answer: str
    ) -> None:
        """Any label is not enough: the raw value must support it (with the rules' result or without)."""
        assert GUARD.check(NIVEL, raw, answer) == rejected("unsupported_label")
        assert GUARD.check(NIVEL, raw, answer, rules=rules_of(raw)) == rejected("unsupported_label")

    @pytest.mark.parametrize(
        ("raw", "answer"),
        [
            ("tecnico y profesional", "Técnico"),  # several levels named
            ("bachiller, tecnico, tecnologo", "Bachiller"),
            ("posgrado", "Maestría"),  # a vague keyword's other readings
            ("Postgrado", "Profesional"),
            ("doctor", "Profesional"),
            ("tec", "Tecnólogo"),
            ("Lic. en educación", "Profesional"),  # an abbreviation the rules leave alone
            ("univ", "Profesional"),
            ("profesinal", "Profesional"),  # the rules' fuzzy match
            ("universidad incompleta, tecnico", "Técnico"),  # a lower level named
            ("profesional, maestria en curso", "Profesional"),
        ],
    )
    def test_a_label_the_raw_value_supports_is_accepted(self, raw: str, answer: str) -> None:
        """When the rules are not confident, another label the raw value's words name passes."""
        assert not assess_education_level(raw).confident
        assert GUARD.check(NIVEL, raw, answer) == OK
        assert GUARD.check(NIVEL, raw, answer, rules=rules_of(raw)) == OK

    @pytest.mark.parametrize(
        ("raw", "answer"),
        [
            ("Diplomado", "Diplomado"),
            ("curso de ingles", "Curso de Inglés"),
            ("bachiller academico", "Bachiller Académico"),
            ("quiero estudiar una maestria", "Quiero estudiar una maestría"),
            ("N/A", "N/A"),
        ],
    )
    def test_no_label_is_always_allowed(self, raw: str, answer: str) -> None:
        """The raw value kept, tidied, is an honest answer whatever the rules made of it."""
        assert GUARD.check(NIVEL, raw, answer) == OK
        assert GUARD.check(NIVEL, raw, answer, rules=rules_of(raw)) == OK

    def test_a_confident_rules_label_must_be_kept(self) -> None:
        """When the rules are confident, their label is the only label accepted, even one the words name."""
        confident = FieldResult("Técnico", "rules", confident=True, reason="alias")
        assert GUARD.check(NIVEL, "tecnico y profesional", "Técnico", rules=confident) == OK
        assert GUARD.check(
            NIVEL, "tecnico y profesional", "Profesional", rules=confident
        ) == rejected("unsupported_label")

    def test_what_the_rules_write_passes(self) -> None:
        """The rules' label, or their tidied value, passes as given by the pipeline."""
        unsure = FieldResult("Tecnólogo", "rules", confident=False, reason="custom")
        assert GUARD.check(NIVEL, "xyz", "Tecnólogo", rules=unsure) == OK
        tidied = FieldResult("Xyz Tidied", "rules", confident=False, reason="unknown")
        assert GUARD.check(NIVEL, "xyz", "Xyz Tidied", rules=tidied) == OK
        assert GUARD.check(NIVEL, "xyz", "Bachiller", rules=tidied) == rejected("unsupported_label")

    def test_answers_swapped_within_a_batch_are_caught(self) -> None:
        """Each answer is judged against its own raw value: labels moved between items fail."""
        batch = ["primaria", "bachiller", "tecnologo en sistemas", "Magister", "PhD"]
        answers = [assess_education_level(raw).value for raw in batch]
        for shift in range(1, len(batch)):
            for index, raw in enumerate(batch):
                answer = answers[(index + shift) % len(batch)]
                assert GUARD.check(NIVEL, raw, answer, rules=rules_of(raw)) == rejected(
                    "unsupported_label"
                )


class TestOtherLabels:
    SPEC = FieldSpec(
        "contrato",
        kind="category",
        instructions="The kind of contract.",
        labels=("Término fijo", "Término indefinido", "Prestación de servicios"),
    )

    @pytest.mark.parametrize(
        ("raw", "answer"),
        [
            ("termino fijo", "Término fijo"),
            ("TERMINO INDEFINIDO", "Término indefinido"),
            ("prest. de servicios", "Prestación de servicios"),
            ("prestacion de servisios", "Prestación de servicios"),
            ("por obra", "Por Obra"),
        ],
    )
    def test_a_label_whose_words_are_typed_passes(self, raw: str, answer: str) -> None:
        """For labels other than education levels, a label is supported when each of its words is typed, maybe abbreviated or misspelt."""
        assert GUARD.check(self.SPEC, raw, answer) == OK

    @pytest.mark.parametrize(
        ("raw", "answer"),
        [
            ("termino fijo", "Término indefinido"),
            ("por obra", "Prestación de servicios"),
            ("indefinido", "Término fijo"),
            ("contrato a termino", "Término fijo"),  # "fijo" was not typed
        ],
    )
    def test_a_label_not_typed_is_rejected(self, raw: str, answer: str) -> None:
        """A label whose words were not typed is rejected."""
        assert GUARD.check(self.SPEC, raw, answer) == rejected("unsupported_label")


class TestCategorySample:
    def test_rules_output_passes(self) -> None:
        """Every sample education level, answered as the rules normalize it, passes (with the rules' result and without)."""
        checked = 0
        for lead in sample_leads():
            raw = lead.get("nivelEducativo")
            if not isinstance(raw, str):
                continue
            rules = rules_of(raw)
            assert rules.value is not None
            checked += 1
            assert GUARD.check(NIVEL, raw, rules.value, rules=rules) == OK, raw
            assert GUARD.check(NIVEL, raw, rules.value) == OK, raw
        assert checked == 2000

    def test_other_labels_fail(self) -> None:
        """Over the sample, a label other than the rules' passes only where the words name several levels or a vague one."""
        passed: set[tuple[str, str]] = set()
        compared = 0
        for raw in sorted(
            {v for lead in sample_leads() if isinstance(v := lead.get("nivelEducativo"), str)}
        ):
            rules = rules_of(raw)
            for label in EDUCATION_LEVELS:
                if label == rules.value:
                    continue
                compared += 1
                if GUARD.check(NIVEL, raw, label, rules=rules).ok:
                    passed.add((raw, label))
        assert compared > 450
        assert passed == {
            ("Postgrado", "Profesional"),
            ("Postgrado", "Maestría"),
            ("Postgrado", "Doctorado"),
            ("tec", "Tecnólogo"),
        }


class TestCategoryProperties:
    @given(text_or_form)
    def test_rules_output_passes(self, raw: str) -> None:
        """Whatever was typed, the rules' output passes, with the rules' result and without."""
        answer = assess_education_level(raw).value
        for verdict in (
            GUARD.check(NIVEL, raw, answer),
            GUARD.check(NIVEL, raw, answer, rules=rules_of(raw)),
        ):
            assert verdict.ok or verdict.reason == "too_long"

    @given(education_words)
    def test_rules_output_of_level_words_passes(self, raw: str) -> None:
        """Level keywords in any mix: the rules' output passes, and a confident label is the only one."""
        rules = rules_of(raw)
        assert rules.value is not None
        verdict = GUARD.check(NIVEL, raw, rules.value, rules=rules)
        assert verdict.ok or verdict.reason == "too_long"
        if rules.confident and rules.value in EDUCATION_LEVELS:
            for label in EDUCATION_LEVELS:
                if label != rules.value:
                    verdict = GUARD.check(NIVEL, raw, label, rules=rules)
                    assert verdict == rejected("unsupported_label")
