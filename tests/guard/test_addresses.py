"""The guard on addresses."""

import pytest

from guard_support import (
    DIRECCION,
    GUARD,
    OK,
    rejected,
)


class TestAddress:
    @pytest.mark.parametrize(
        ("raw", "answer"),
        [
            ("CRA 15 NO 100 25", "Cra. 15 # 100 - 25"),
            ("cl 25 sur no. 18-8 int 1", "Calle 25 Sur # 18 - 8 Int. 1"),
            ("cl 25 sur no. 18-8 int 1", "Calle 25 Sur Número 18 - 8 Interior 1"),
            ("CL 7 DBIS # 125 27 APTO 402", "Calle 7D Bis # 125 - 27 Apto. 402"),
            ("KR 3 # 137-38 - BARRIO ENGATIVÁ", "Carrera 3 # 137 - 38 Barrio Engativá"),
            ("AK 68 # 13-20", "Avenida Carrera 68 # 13 - 20"),
            ("Carrera 5 numero 3-2 apartamento 301", "Cra. 5 # 3 - 2 Apto. 301"),
            ("karrera 5 # 3-2", "Cra. 5 # 3 - 2"),
            ("tranv 5 # 3-2", "Transversal 5 # 3 - 2"),
            ("CALLE 17 N° 173A-11 - CASA 38", "Calle 17 # 173A - 11 Casa 38"),
            ("cra 7 # 45-05", "Cra. 7 # 45 - 05"),
            ("VEREDA EL SALITRE FINCA LA FORTUNA", "Vereda El Salitre Finca La Fortuna"),
            ("Calle 5 # 3-2 Bogota", "Calle 5 # 3 - 2 Bogotá"),
        ],
    )
    def test_accepted(self, raw: str, answer: str) -> None:
        """Keywords may be expanded or abbreviated and separators changed; digits and names stay."""
        assert GUARD.check(DIRECCION, raw, answer) == OK

    @pytest.mark.parametrize(
        ("raw", "answer", "reason"),
        [
            ("CRA 15 NO 100 25", "Cra. 15 # 100 - 26", "digits_changed"),
            ("CRA 15 NO 100 25", "Cra. 15 # 10 - 25", "digits_changed"),
            ("CRA 15 NO 100 25", "Cra. 15 # 100 - 25 Apto. 3", "digits_changed"),
            ("CRA 15 NO 10025", "Cra. 15 # 100 - 25", "digits_changed"),
            ("cra 7 # 45-05", "Cra. 7 # 45 - 5", "digits_changed"),
            ("calle 5 # 3-2", "Calle 3 # 5 - 2", "digits_changed"),
            ("calle primera # 3-2", "Calle 1 # 3 - 2", "digits_changed"),
            ("cl 25 sur no. 18-8", "Calle 25 Norte # 18 - 8", "letters_changed"),
            ("cl 25 sur no. 18-8", "Calle 25 # 18 - 8", "letters_changed"),
            ("cl 25 no. 18-8", "Calle 25 Este # 18 - 8", "letters_changed"),
            (
                "Vereda El Salitre Finca La Fortuna",
                "Vereda El Rosal Finca La Fortuna",
                "letters_changed",
            ),
            ("Calle 5 # 3-2 Barrio Modelia", "Calle 5 # 3 - 2 Barrio Kennedy", "letters_changed"),
            ("Calle 5 # 3-2 Barrio Modelia", "Calle 5 # 3 - 2", "letters_changed"),
        ],
    )
    def test_rejected(self, raw: str, answer: str, reason: str) -> None:
        """A digit run changed, added or split, a quadrant changed, or a name replaced is rejected."""
        assert GUARD.check(DIRECCION, raw, answer) == rejected(reason)
