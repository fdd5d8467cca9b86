"""The guard on categories."""

import pytest

from guard_support import (
    GUARD,
    NIVEL,
    OK,
    rejected,
)


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
        """One label, in any case, with or without accents."""
        assert GUARD.check(NIVEL, raw, answer) == OK

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
        """Anything but exactly one label is rejected."""
        assert GUARD.check(NIVEL, "profesional", answer) == rejected("not_a_label")
