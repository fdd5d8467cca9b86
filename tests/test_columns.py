"""Matching an input's headers to fields (`llm_normalize.columns`) and reading through the map."""

from __future__ import annotations

import pytest

from llm_normalize import Normalizer
from llm_normalize.columns import NoFieldColumnsError, column_key, match_columns, parse_column_map
from llm_normalize.exceptions import ConfigurationError, UnknownFieldError
from llm_normalize.fields import FieldSpec, Profile
from llm_normalize.profiles.colombia import COLOMBIAN_LEADS

EXCEL_HEADERS = ["ID", "Nombres", "Apellidos", "Dirección", "CIUDAD", "Nivel Educativo", "Teléfono"]


class TestColumnKey:
    @pytest.mark.parametrize(
        ("header", "key"),
        [
            ("Nivel Educativo", "niveleducativo"),
            ("nivel_educativo", "niveleducativo"),
            ("  NIVEL-EDUCATIVO ", "niveleducativo"),
            ("Dirección", "direccion"),
            ("Nombre(s)", "nombres"),
            ("Último nivel educativo", "ultimoniveleducativo"),
        ],
    )
    def test_case_accents_spaces_and_punctuation_are_ignored(self, header: str, key: str) -> None:
        assert column_key(header) == key


class TestMatchColumns:
    def test_spanish_excel_headers(self) -> None:
        """The headers of an es-CO export match five of the seven fields, in profile order."""
        assert match_columns(EXCEL_HEADERS, COLOMBIAN_LEADS) == {
            "nombres": "Nombres",
            "apellidos": "Apellidos",
            "direccion": "Dirección",
            "ciudad": "CIUDAD",
            "nivelEducativo": "Nivel Educativo",
        }

    @pytest.mark.parametrize(
        ("header", "field"),
        [
            ("Direccion de residencia", "direccion"),
            ("Dirección de residencia", "direccion"),
            ("Ciudad de residencia", "ciudad"),
            ("Nombre(s)", "nombres"),
            ("Ocupación actual", "ocupacionActual"),
            ("Empresa donde trabaja", "empresa"),
            ("nivel_educativo", "nivelEducativo"),
            ("ocupacionActual", "ocupacionActual"),
        ],
    )
    def test_aliases(self, header: str, field: str) -> None:
        assert match_columns([header], COLOMBIAN_LEADS) == {field: header}

    def test_explicit_map_wins_and_adds(self) -> None:
        headers = ["Nombres", "Lugar", "Estudios"]
        found = match_columns(
            headers, COLOMBIAN_LEADS, explicit={"Lugar": "ciudad", "Estudios": "nivel_educativo"}
        )
        assert found == {"nombres": "Nombres", "ciudad": "Lugar", "nivelEducativo": "Estudios"}

    def test_explicit_map_of_a_missing_column(self) -> None:
        with pytest.raises(NoFieldColumnsError, match="no column 'Lugar' to map to 'ciudad'"):
            match_columns(["Nombres"], COLOMBIAN_LEADS, explicit={"Lugar": "ciudad"})

    def test_explicit_map_to_an_unknown_field(self) -> None:
        with pytest.raises(UnknownFieldError, match="ciudadd"):
            match_columns(["Lugar"], COLOMBIAN_LEADS, explicit={"Lugar": "ciudadd"})

    def test_no_field_at_all_names_the_headers_and_the_fields(self) -> None:
        with pytest.raises(NoFieldColumnsError) as caught:
            match_columns(["Col A", "Col B"], COLOMBIAN_LEADS)
        message = str(caught.value)
        assert "'Col A', 'Col B'" in message
        assert "'nombres'" in message
        assert "--map" in message
        assert caught.value.headers == ("Col A", "Col B")
        assert caught.value.wanted == tuple(COLOMBIAN_LEADS)

    def test_a_requested_field_must_be_found(self) -> None:
        with pytest.raises(NoFieldColumnsError, match="'empresa'"):
            match_columns(EXCEL_HEADERS, COLOMBIAN_LEADS, fields=["nombres", "empresa"])

    def test_requested_fields_only(self) -> None:
        assert match_columns(EXCEL_HEADERS, COLOMBIAN_LEADS, fields=["ciudad"]) == {
            "ciudad": "CIUDAD"
        }

    def test_two_candidates_are_ambiguous(self) -> None:
        with pytest.raises(ConfigurationError, match="could all be field 'direccion'"):
            match_columns(["Dirección", "Domicilio"], COLOMBIAN_LEADS)

    def test_the_exact_name_wins_over_an_alias(self) -> None:
        assert match_columns(["direccion", "Domicilio"], COLOMBIAN_LEADS) == {
            "direccion": "direccion"
        }

    def test_no_alias_of_the_profile_is_shared(self) -> None:
        """Each header key leads to one field of the built-in profile."""
        owners: dict[str, str] = {}
        for spec in COLOMBIAN_LEADS.values():
            for label in (spec.name, *spec.aliases):
                assert owners.setdefault(column_key(label), spec.name) == spec.name


class TestParseColumnMap:
    def test_entries(self) -> None:
        assert parse_column_map(["Nivel Educativo=nivelEducativo", "a=b=ciudad"]) == {
            "Nivel Educativo": "nivelEducativo",
            "a=b": "ciudad",
        }

    @pytest.mark.parametrize("entry", ["ciudad", "=ciudad", "Lugar=", " = "])
    def test_malformed(self, entry: str) -> None:
        with pytest.raises(ConfigurationError, match="COLUMN=FIELD"):
            parse_column_map([entry])


class TestNormalizeThroughAMap:
    def test_values_are_read_from_the_columns_and_keyed_by_field(self) -> None:
        record = {
            "ID": "7",
            "Nombres": "JUAN CARLOS",
            "CIUDAD": "bogota",
            "Dirección": "CRA 15 NO 100 25",
        }
        columns = {v: k for k, v in match_columns(record, COLOMBIAN_LEADS).items()}
        [result] = Normalizer().normalize([record], columns=columns)
        assert result.normalized == {
            "nombres": "Juan Carlos",
            "direccion": "Cra. 15 # 100 - 25",
            "ciudad": "Bogotá D.C.",
        }
        assert dict(result.original) == record

    def test_without_a_map_nothing_is_read_from_other_names(self) -> None:
        [result] = Normalizer().normalize([{"CIUDAD": "bogota"}])
        assert result.normalized == {}

    def test_a_map_to_an_unknown_field_is_refused(self) -> None:
        with pytest.raises(UnknownFieldError):
            Normalizer().normalize([{"Lugar": "x"}], columns={"Lugar": "lugar"})


class TestFieldSpecAliases:
    def test_blank_alias_is_refused(self) -> None:
        with pytest.raises(ConfigurationError, match="aliases"):
            FieldSpec("x", "free_text", "Tidy it.", aliases=(" ",))

    def test_custom_profile_aliases(self) -> None:
        profile = Profile("p", [FieldSpec("correo", "free_text", "Tidy it.", aliases=("E-mail",))])
        assert match_columns(["EMAIL"], profile) == {"correo": "EMAIL"}
