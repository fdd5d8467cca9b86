"""The guard on places."""

import pytest

from guard_support import (
    CIUDAD,
    GUARD,
    OK,
    rejected,
)
from llm_normalize.guard import PLACE_SIMILARITY, Guard
from llm_normalize.postprocessors.places import Gazetteer


class TestPlace:
    @pytest.mark.parametrize(
        ("raw", "answer"),
        [
            ("bogota", "Bogotá D.C."),
            ("BOGOTA", "Bogota"),
            ("bta", "Bogotá D.C."),
            ("MEDELLIN", "Medellín"),
            ("medallo", "Medellín, Antioquia"),
            ("cali valle", "Cali"),
            ("Barranqilla", "Barranquilla"),
            ("barankilla", "Barranquilla"),  # two edits: the gazetteer alone does not resolve it
            ("medejin", "Medellín"),
            ("bogota colombia sur", "Bogotá D.C."),
            ("cali valle del cuaca", "Cali"),
            ("Barbosa", "Barbosa (Santander)"),  # ambiguous namesake made precise
            ("Armenia", "Armenia"),
            ("san juan de la costa", "San Juan de la Costa"),  # unknown, left as typed
            ("valle", "Valle del Cauca"),  # what the rules write for a department
            ("Caracas", "Caracas"),
        ],
    )
    def test_accepted(self, raw: str, answer: str) -> None:
        """The same place, a plausible reading of a typo, or the value left as typed."""
        assert GUARD.check(CIUDAD, raw, answer) == OK

    @pytest.mark.parametrize(
        ("raw", "answer", "reason"),
        [
            ("Cali", "Atlantis", "unknown_place"),
            ("Caracas", "Caracas, Venezuela", "unknown_place"),
            ("bogota", "Bogotá, Colombia, Suramérica, Tierra", "unknown_place"),
            ("medellin", "Envigado", "different_place"),
            ("bogota", "Soacha", "different_place"),
            ("Armenia", "Armenia (Antioquia)", "different_place"),
            ("Caracas", "Cali", "different_place"),
            ("Caracas", "Bogotá D.C.", "different_place"),
            ("Caracas", "Cartagena", "different_place"),
            ("Valera", "La Calera", "different_place"),
            ("Barbosa", "Cali", "different_place"),
            ("N/A", "Bogotá D.C.", "different_place"),
        ],
    )
    def test_rejected(self, raw: str, answer: str, reason: str) -> None:
        """An unknown place, another place, or a known place unlike what was typed is rejected."""
        assert GUARD.check(CIUDAD, raw, answer) == rejected(reason)

    def test_similarity_threshold_is_configurable(self) -> None:
        """A lower threshold lets a looser reading through."""
        assert PLACE_SIMILARITY == 70.0
        assert Guard(place_similarity=60).check(CIUDAD, "Caracas", "Cartagena") == OK

    def test_injected_gazetteer_is_used(self) -> None:
        """A gazetteer with an extra alias makes the alias a place of its own."""
        custom = Gazetteer.default().with_aliases({"la nevera": "Bogotá D.C."})
        assert GUARD.check(CIUDAD, "la nevera", "Bogotá D.C.") == rejected("different_place")
        guard = Guard(gazetteer=custom)
        assert guard.gazetteer is custom
        assert guard.check(CIUDAD, "la nevera", "Bogotá D.C.") == OK
        assert guard.check(CIUDAD, "la nevera", "Cali") == rejected("different_place")
