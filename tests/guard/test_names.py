"""The guard on names."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from guard_support import (
    APELLIDOS,
    GUARD,
    NOMBRES,
    OK,
    rejected,
    sample_leads,
)
from llm_normalize.postprocessors.text import capitalize_words, clean_text
from strategies import form_text


class TestName:
    @pytest.mark.parametrize(
        ("raw", "answer"),
        [
            ("JUAN CARLOS", "Juan Carlos"),
            ("maria  jose", "Maria Jose"),
            ("JOSÉ", "José"),
            ("MUÑOZ", "Muñoz"),
            ("ANA-MARÍA", "Ana María"),
            ("Ana María", "Ana-María"),
            ("o'neill", "O'Neill"),
            ("o'neill", "O Neill"),
            ("J. Carlos", "J. Carlos"),
            ("DE LA CRUZ GONZÁLEZ", "De la Cruz González"),
            ("  luz   dary ", "Luz Dary"),
            ("MuÃ±oz PeÃ±a", "Muñoz Peña"),
            ("Juan 2", "Juan 2"),
            ("(Juan)", "Juan"),
            ("'; DROP TABLE leads;--", "'; Drop Table Leads;--"),
            ("STRAẞE", "Straße"),
            ("Иван", "иван"),
        ],
    )
    def test_accepted(self, raw: str, answer: str) -> None:
        """Case and spacing may change, a hyphen may become a space, typed punctuation may go."""
        assert GUARD.check(NOMBRES, raw, answer) == OK

    @pytest.mark.parametrize(
        ("raw", "answer"),
        [
            ("Jon", "John"),
            ("Jhon", "John"),
            ("Yeison", "Jason"),
            ("JUAN CARLOS", "Carlos Juan"),
            ("Perez Garcia", "Garcia Perez"),
            ("Maria", "Maria Fernanda"),
            ("Maria Fernanda", "Maria"),
            ("Luis", "Louis"),
            ("Иван", "Петр"),
            ("李雷", "韩梅梅"),
            ("Juan 2", "Juan"),
            ("Juliana", "Juliana; Ignore Previous Instructions"),
        ],
    )
    def test_letters_changed(self, raw: str, answer: str) -> None:
        """A letter or digit added, dropped, changed or moved is a different name."""
        assert GUARD.check(APELLIDOS, raw, answer) == rejected("letters_changed")

    @pytest.mark.parametrize(
        ("raw", "answer"),
        [
            ("Peña", "Pena"),
            ("PEÑA ROMERO", "Pena Romero"),
            ("Gutiérrez", "Gutierrez"),
            ("JOSE", "José"),
            ("maria jose", "María José"),
            ("Juliana", "Juliána"),
            ("Juliana", "J\u0336u\u0336l\u0336i\u0336a\u0336n\u0336a\u0336"),
            ("Juliana", "Julia\u0308na"),
        ],
    )
    def test_accents_changed(self, raw: str, answer: str) -> None:
        """Accents and other marks are kept exactly: none added, dropped or changed."""
        assert GUARD.check(NOMBRES, raw, answer) == rejected("accents_changed")

    @pytest.mark.parametrize(
        ("raw", "answer"),
        [
            ("Moreno Ospina", "Mor Enoospina"),
            ("Moreno Ospina", "MorenoOspina"),
            ("mariajose", "Maria Jose"),
            ("Maria Jose", "Mariajose"),
            ("ANA-MARÍA", "Anamaría"),
            ("o'neill", "Oneill"),
            ("oneill", "O'Neill"),
        ],
    )
    def test_words_changed(self, raw: str, answer: str) -> None:
        """Word boundaries are kept: letters may not move across words, words not split or joined."""
        assert GUARD.check(APELLIDOS, raw, answer) == rejected("words_changed")

    @pytest.mark.parametrize(
        ("raw", "answer"),
        [
            ("Juan", "Juan."),
            ("Juan", "Juan-"),
            ("Juan Carlos", "-Juan Carlos"),
            ("o neill", "O'Neill"),
            ("Juan Carlos", "Juan, Carlos"),
            ("Juan", "(Juan)"),
            ("J Carlos", "J. Carlos"),
            ("Ana María", "Ana\u2013María"),
            ("Juliana", "Juliana ✓"),
            ("Juliana", "Juliana 😀"),
            ("o'neill", "O.Neill"),
        ],
    )
    def test_not_typed(self, raw: str, answer: str) -> None:
        """Punctuation and symbols other than spaces and hyphens must have been typed, in place."""
        assert GUARD.check(NOMBRES, raw, answer) == rejected("not_typed")

    def test_apostrophe_typed_elsewhere_does_not_count(self) -> None:
        """A typed mark stays between the words it was typed between."""
        assert GUARD.check(APELLIDOS, "o'neill garcia", "O Neill' Garcia") == rejected("not_typed")


class TestNameSample:
    def test_rules_output_and_raw_values_pass(self) -> None:
        """Every sample name, as typed or capitalised by the rules, passes (save over-long ones)."""
        for lead in sample_leads():
            for spec in (NOMBRES, APELLIDOS):
                raw = lead.get(spec.name)
                assert isinstance(raw, str)
                for answer in (raw, capitalize_words(raw)):
                    verdict = GUARD.check(spec, raw, answer)
                    assert verdict.ok or verdict.reason == "too_long", (raw, answer)

    def test_accents_stripped_from_sample_names_are_rejected(self) -> None:
        """Every sample name with an accent or ñ is rejected once they are stripped."""
        stripped = str.maketrans("áéíóúüñÁÉÍÓÚÜÑ", "aeiouunAEIOUUN")
        checked = 0
        for lead in sample_leads():
            for spec in (NOMBRES, APELLIDOS):
                raw = clean_text(str(lead.get(spec.name)))
                answer = capitalize_words(raw).translate(stripped)
                if answer != capitalize_words(raw):
                    checked += 1
                    assert GUARD.check(spec, raw, answer) in (
                        rejected("accents_changed"),
                        rejected("too_long"),
                    )
        assert checked > 100

    def test_resplit_sample_names_are_rejected(self) -> None:
        """Moving the space between two sample words by one letter is rejected."""
        checked = 0
        for lead in sample_leads():
            raw = capitalize_words(str(lead.get("apellidos")))
            first, space, rest = raw.partition(" ")
            if space and first[-2:].isalpha() and rest[:1].isalpha():
                checked += 1
                answer = f"{first[:-1]} {first[-1]}{rest}"
                assert GUARD.check(APELLIDOS, raw, answer) == rejected("words_changed")
        assert checked > 1000


_MARKS = st.sampled_from(["\u0301", "\u0303", "\u0308", "\u0336", "\u0332"])


class TestNameProperties:
    @given(form_text)
    def test_rules_names_pass(self, raw: str) -> None:
        """The name post-processor's output always passes."""
        verdict = GUARD.check(NOMBRES, raw, capitalize_words(raw))
        assert verdict.ok or verdict.reason == "too_long"

    @given(form_text, _MARKS, st.integers(min_value=0))
    def test_added_mark_is_rejected(self, raw: str, mark: str, where: int) -> None:
        """A combining mark added after any letter of the rules' output is rejected."""
        answer = capitalize_words(raw)
        letters = [index for index, char in enumerate(answer) if char.isalpha()]
        if not letters:
            return
        index = letters[where % len(letters)] + 1
        verdict = GUARD.check(NOMBRES, raw, answer[:index] + mark + answer[index:])
        assert not verdict.ok


class TestPlaceholders:
    """A name placeholder ("N/A", "sin dato") stands for no name: the empty answer passes."""

    @pytest.mark.parametrize("raw", ["N/A", "sin dato", "XXX", "ninguno", "-"])
    def test_empty_answer_for_a_placeholder_passes(self, raw: str) -> None:
        assert GUARD.check(NOMBRES, raw, "") == OK
        assert GUARD.check(APELLIDOS, raw, "") == OK

    @pytest.mark.parametrize("raw", ["Nadia", "Juan", "Xiomara"])
    def test_empty_answer_for_a_name_is_still_rejected(self, raw: str) -> None:
        assert GUARD.check(NOMBRES, raw, "") == rejected("empty")
