"""The guard on names."""

import pytest

from guard_support import (
    APELLIDOS,
    GUARD,
    NOMBRES,
    OK,
    rejected,
)


class TestName:
    @pytest.mark.parametrize(
        ("raw", "answer"),
        [
            ("JUAN CARLOS", "Juan Carlos"),
            ("maria  jose", "Maria Jose"),
            ("Jose", "José"),
            ("JOSÉ", "Jose"),
            ("maria jose", "María José"),
            ("mariajose", "Maria Jose"),
            ("ANA-MARÍA", "Ana María"),
            ("o'neill", "O'Neill"),
            ("PEÑA", "Pena"),
            ("DE LA CRUZ GONZÁLEZ", "De la Cruz González"),
            ("  luz   dary ", "Luz Dary"),
        ],
    )
    def test_accepted(self, raw: str, answer: str) -> None:
        """Case, accents, spacing and punctuation may change."""
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
        ],
    )
    def test_rejected(self, raw: str, answer: str) -> None:
        """A letter added, dropped, changed or moved is a different name."""
        assert GUARD.check(APELLIDOS, raw, answer) == rejected("letters_changed")
