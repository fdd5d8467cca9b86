"""The guard's checks for every kind, its verdicts, the sample and the properties."""

from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from guard_support import (
    CIUDAD,
    DIRECCION,
    EMPRESA,
    GUARD,
    NIVEL,
    NOMBRES,
    OCUPACION,
    OK,
    rejected,
    sample_leads,
)
from llm_normalize.fields import FieldSpec
from llm_normalize.guard import Verdict
from llm_normalize.postprocessors.address import normalize_address
from llm_normalize.postprocessors.occupations import normalize_occupation
from llm_normalize.postprocessors.organizations import normalize_institution
from llm_normalize.postprocessors.places import normalize_city
from llm_normalize.postprocessors.text import capitalize_words, clean_text, fold
from llm_normalize.profiles.colombia import COLOMBIAN_LEADS, default_registry
from strategies import (
    address_words,
    form_text,
    institution_words,
    occupation_words,
    text_or_form,
)


class TestVerdict:
    def test_verdict_is_frozen(self) -> None:
        """A verdict cannot be changed after the guard returns it."""
        verdict = Verdict(ok=True)
        with pytest.raises(AttributeError):
            verdict.ok = False  # type: ignore[misc]

    def test_check_field_looks_the_spec_up_by_either_spelling(self) -> None:
        """check_field finds the spec by camelCase or snake_case name."""
        assert GUARD.check_field("nivel_educativo", "profesional", "Profesional") == OK
        assert GUARD.check_field("nivelEducativo", "x", "Doctor") == rejected("not_a_label")

    def test_repr_names_the_profile_only(self) -> None:
        """The repr shows the profile name and nothing else."""
        assert repr(GUARD) == "Guard(profile='colombian_leads')"


class TestEveryKind:
    @pytest.mark.parametrize(
        ("spec", "raw", "answer", "expected"),
        [
            (NOMBRES, "Juan", "", rejected("empty")),
            (NOMBRES, "Juan", "  \t ", rejected("empty")),
            (EMPRESA, "Rappi", "-", rejected("empty")),
            (CIUDAD, "bogota", "\u200b", rejected("empty")),
            (NOMBRES, "", "Juan", rejected("invented")),
            (EMPRESA, "-", "Bancolombia", rejected("invented")),
            (CIUDAD, "   ", "Bogotá D.C.", rejected("invented")),
            (NIVEL, "\t\n", "Bachiller", rejected("invented")),
            (NIVEL, "\t\n", "", OK),
            (EMPRESA, "-", "-", OK),
            (EMPRESA, "", "", OK),
            (NOMBRES, "Juan", "Ju\ue000an", rejected("control_chars")),
            (EMPRESA, "Rappi", "Rappi\U000e0001\U000f0000", rejected("control_chars")),
        ],
    )
    def test_content_checks(
        self, spec: FieldSpec, raw: str, answer: str, expected: Verdict
    ) -> None:
        """An answer may neither lose everything typed, invent something from nothing, nor add odd code points."""
        assert GUARD.check(spec, raw, answer) == expected

    @pytest.mark.parametrize(
        ("spec", "raw", "answer"),
        [
            (NOMBRES, "JUAN\u200b CARLOS", "Juan Carlos"),
            (NOMBRES, "juan carlos", "Juan\u200b\u00ad Carlos\x00"),
            (EMPRESA, "BogotÃ¡ S.A.", "Bogotá S.A."),
            (CIUDAD, "BogotÃ¡", "Bogotá D.C.\u200e"),
        ],
    )
    def test_answers_are_judged_after_cleaning(
        self, spec: FieldSpec, raw: str, answer: str
    ) -> None:
        """Control, zero-width and bidi characters and mojibake are cleaned away, not held against an answer."""
        assert GUARD.check(spec, raw, answer) == OK

    def test_answer_may_keep_odd_code_points_the_raw_value_had(self) -> None:
        """A private-use character already in the cleaned raw value does not count against the answer."""
        assert GUARD.check(NOMBRES, "Ju\ue000an", "ju\ue000an") == OK

    def test_answer_longer_than_max_length_is_rejected(self) -> None:
        """An answer over the field's max_length is too long even if the raw value was as long."""
        raw = "María " * 20
        assert len(raw.strip()) > NOMBRES.max_length
        assert GUARD.check(NOMBRES, raw, raw) == rejected("too_long")

    def test_answer_much_longer_than_raw_is_rejected(self) -> None:
        """An answer over three times the raw value plus forty characters is too long."""
        spec = FieldSpec("nota", kind="free_text", instructions="x", max_length=1000)
        raw = "ab " * 10  # 29 characters once cleaned: the limit is 3 * 29 + 40 = 127
        longest = raw.strip() + " de" * 30 + " del" * 2  # connectors may be added
        assert len(longest) == 127
        assert GUARD.check(spec, raw, longest) == OK
        assert GUARD.check(spec, raw, longest + " y") == rejected("too_long")

    def test_error_inside_the_guard_becomes_a_rejection(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A failure inside the guard rejects the answer instead of raising."""

        def boom(text: str) -> list[str]:
            raise RuntimeError("boom")

        monkeypatch.setattr("llm_normalize.guard.free_text.tokens", boom)
        assert GUARD.check(EMPRESA, "Rappi", "Rappi") == rejected("error")


class TestSample:
    """The rules are a sane model: their output, given as the answer, should pass the guard."""

    def test_rules_output_passes_for_every_field(self) -> None:
        """Over the 2,000 sample leads, the only rejections are the two over-long values."""
        rejections: Counter[tuple[str, str | None]] = Counter()
        checked = 0
        for lead in sample_leads():
            for field in COLOMBIAN_LEADS:
                raw = lead.get(field)
                if not isinstance(raw, str):
                    continue
                answer = default_registry.apply(field, raw)
                assert answer is not None
                checked += 1
                verdict = GUARD.check(COLOMBIAN_LEADS[field], raw, answer)
                if not verdict.ok:
                    rejections[(field, verdict.reason)] += 1
        assert checked == 13_999
        assert rejections == Counter(
            {
                ("nombres", "too_long"): 1,
                ("direccion", "too_long"): 1,
            }
        )

    def test_sample_addresses_with_a_digit_added_fail(self) -> None:
        """Every sample address, normalized and given an extra apartment number, is rejected."""
        for lead in sample_leads():
            raw = lead.get("direccion")
            if isinstance(raw, str):
                answer = normalize_address(raw) + " Apto. 9"
                assert GUARD.check(DIRECCION, raw, answer) in (
                    rejected("digits_changed"),
                    rejected("too_long"),
                )

    @pytest.mark.parametrize("field", ["empresa", "ocupacionActual"])
    def test_shuffled_answers_fail(self, field: str) -> None:
        """Another lead's normalized value is rejected, except for true equivalents."""
        spec = COLOMBIAN_LEADS[field]
        values = sorted({v for lead in sample_leads() if isinstance(v := lead.get(field), str)})
        answers = {value: default_registry.apply(field, value) or "" for value in values}
        passed: set[tuple[str, str]] = set()
        compared = 0
        for shift in (1, 7, 31, 101):
            for index, raw in enumerate(values):
                answer = answers[values[(index + shift) % len(values)]]
                if fold(answer) == fold(answers[raw]):
                    continue
                compared += 1
                if GUARD.check(spec, raw, answer).ok:
                    passed.add((raw, answer))
        assert compared > 600
        # What passes is the same thing written another way, or an abbreviation read in the
        # other gender ("Ing." is "Ingeniero" or "Ingeniera").
        assert passed <= {
            ("Ing. Sistemas", "Ingeniera de Sistemas"),
            ("ING. SISTEMAS", "Ingeniera de Sistemas"),
            ("ing sistemas", "Ingeniera de Sistemas"),
            ("Adm. de Empresas", "Administradora de Empresas"),
        }

    def test_other_field_answers_fail(self) -> None:
        """An occupation given as a lead's company (and the other way round) is rejected."""
        passed = 0
        compared = 0
        for lead in sample_leads():
            company, occupation = lead.get("empresa"), lead.get("ocupacionActual")
            if not isinstance(company, str) or not isinstance(occupation, str):
                continue
            as_company = default_registry.apply("ocupacionActual", occupation) or ""
            as_occupation = default_registry.apply("empresa", company) or ""
            if as_company.casefold() == as_occupation.casefold():
                continue  # "Independiente" is both a company and an occupation in the sample
            compared += 2
            passed += GUARD.check(EMPRESA, company, as_company).ok
            passed += GUARD.check(OCUPACION, occupation, as_occupation).ok
        assert compared > 3900
        assert passed == 0


_SPECS = st.sampled_from([COLOMBIAN_LEADS[name] for name in COLOMBIAN_LEADS])
_NON_CATEGORY_SPECS = st.sampled_from(
    [COLOMBIAN_LEADS[name] for name in COLOMBIAN_LEADS if COLOMBIAN_LEADS[name].kind != "category"]
)


class TestProperties:
    @given(_SPECS, text_or_form, text_or_form)
    def test_never_raises(self, spec: FieldSpec, raw: str, answer: str) -> None:
        """Any raw value and any answer give a verdict, never an exception or an internal error."""
        verdict = GUARD.check(spec, raw, answer)
        assert verdict.ok == (verdict.reason is None)
        assert verdict.reason != "error"

    @given(_NON_CATEGORY_SPECS, text_or_form)
    def test_raw_value_itself_passes(self, spec: FieldSpec, raw: str) -> None:
        """Answering the raw value unchanged (or cleaned) is accepted unless it is too long."""
        for answer in (raw, clean_text(raw)):
            verdict = GUARD.check(spec, raw, answer)
            assert verdict.ok or verdict.reason == "too_long"

    @given(form_text)
    def test_rules_names_pass(self, raw: str) -> None:
        """Capitalised names always keep their letters."""
        verdict = GUARD.check(NOMBRES, raw, capitalize_words(raw))
        assert verdict.ok or verdict.reason == "too_long"

    @given(st.one_of(address_words, form_text))
    def test_rules_addresses_pass(self, raw: str) -> None:
        """The address post-processor's output always passes the address check."""
        verdict = GUARD.check(DIRECCION, raw, normalize_address(raw))
        assert verdict.ok or verdict.reason == "too_long"

    @given(form_text)
    def test_rules_cities_pass(self, raw: str) -> None:
        """The city post-processor's output always passes the place check."""
        verdict = GUARD.check(CIUDAD, raw, normalize_city(raw))
        assert verdict.ok or verdict.reason == "too_long"

    @given(st.one_of(institution_words, form_text))
    def test_rules_institutions_pass(self, raw: str) -> None:
        """The institution post-processor's output always passes the free-text check."""
        verdict = GUARD.check(EMPRESA, raw, normalize_institution(raw))
        assert verdict.ok or verdict.reason == "too_long"

    @given(st.one_of(occupation_words, form_text))
    def test_rules_occupations_pass(self, raw: str) -> None:
        """The occupation post-processor's output always passes the free-text check."""
        verdict = GUARD.check(OCUPACION, raw, normalize_occupation(raw))
        assert verdict.ok or verdict.reason == "too_long"

    @given(address_words)
    def test_added_plate_digit_is_rejected(self, raw: str) -> None:
        """An address answer with a digit run the user never typed is rejected."""
        verdict = GUARD.check(DIRECCION, raw, normalize_address(raw) + " Apto. 9")
        assert verdict in (rejected("digits_changed"), rejected("too_long"), rejected("invented"))

    # Filtered on the cleaned text: "Â " is mojibake of a no-break space and cleans to nothing.
    @given(form_text.filter(lambda text: any(char.isalpha() for char in clean_text(text))))
    def test_added_letter_in_a_name_is_rejected(self, raw: str) -> None:
        """A name answer with one more letter is rejected."""
        verdict = GUARD.check(NOMBRES, raw, capitalize_words(raw) + "z")
        assert verdict in (rejected("letters_changed"), rejected("too_long"))
