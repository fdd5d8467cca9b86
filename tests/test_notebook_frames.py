"""normalize_dataframe across DataFrame libraries: missing values, dtypes, pandas 2 and 3, polars."""

import math
import sys
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import pytest

from llm_normalize import Normalizer
from llm_normalize.exceptions import ConfigurationError
from llm_normalize.notebook import frame_diff_html, normalize_dataframe
from llm_normalize.records import NormalizedRecord

ADDED = ("_normalized", "_source", "_flags")


@pytest.fixture
def pd() -> Any:
    return pytest.importorskip("pandas")


@pytest.fixture
def pl() -> Any:
    return pytest.importorskip("polars")


class _Spy(Normalizer):
    """A normalizer that measures how far its input is read ahead of its output."""

    ahead = 0

    def iter_normalize(
        self, records: Iterable[Mapping[str, Any]], **options: Any
    ) -> Iterator[NormalizedRecord]:
        pulled = 0
        yielded = 0

        def counting() -> Iterator[Mapping[str, Any]]:
            nonlocal pulled
            for record in records:
                pulled += 1
                self.ahead = max(self.ahead, pulled - yielded)
                yield record

        for result in super().iter_normalize(counting(), **options):
            yielded += 1
            yield result


class TestPandasMissingValues:
    def test_added_columns_are_nullable_strings(self, pd: Any) -> None:
        """Every added column has pandas' nullable string dtype, whose missing value is pd.NA."""
        frame = pd.DataFrame({"ciudad": ["cali", None], "nombres": ["ANA", "LUIS"]})
        out = normalize_dataframe(frame, progress=False)
        for field in ("ciudad", "nombres"):
            for suffix in ADDED:
                dtype = out[field + suffix].dtype
                assert isinstance(dtype, pd.StringDtype), field + suffix
                assert dtype.na_value is pd.NA
                assert dtype == "string"

    @pytest.mark.parametrize("dtype", [None, object, "string", "str"])
    def test_missing_in_na_out(self, pd: Any, dtype: Any) -> None:
        """None, NaN and pd.NA, whatever the column's dtype, come back as pd.NA, unflagged."""
        if dtype == "str" and pd.__version__.startswith("2."):
            pytest.skip("the str dtype alias means object under pandas 2")
        cells = ["bogota", None, float("nan"), pd.NA]
        frame = pd.DataFrame({"ciudad": pd.Series(cells, dtype=dtype)})
        out = normalize_dataframe(frame, progress=False)
        values = out["ciudad_normalized"].tolist()
        assert values[0] == "Bogotá D.C."
        assert [v is pd.NA for v in out["ciudad_normalized"].array[1:]] == [True] * 3
        assert out["ciudad_normalized"].isna().tolist() == [False, True, True, True]
        assert out["ciudad_flags"].tolist() == ["", "", "", ""]
        assert out["ciudad_source"].tolist() == ["rules"] * 4

    def test_float_column_with_gap(self, pd: Any) -> None:
        """A float column's NaN is missing, and its whole numbers lose the '.0'."""
        frame = pd.DataFrame({"empresa": [3001234567, None]})
        out = normalize_dataframe(frame, progress=False)
        assert out["empresa_normalized"].iloc[0] == "3001234567"
        assert out["empresa_normalized"].array[1] is pd.NA

    def test_empty_string_is_a_value(self, pd: Any) -> None:
        """An empty or blank string is a value, not a missing one: it comes back as ''."""
        frame = pd.DataFrame({"ciudad": ["", "   ", None]})
        out = normalize_dataframe(frame, progress=False)
        assert out["ciudad_normalized"].iloc[:2].tolist() == ["", ""]
        assert out["ciudad_normalized"].isna().tolist() == [False, False, True]

    def test_original_columns_unchanged(self, pd: Any) -> None:
        """Every input column comes back with the same dtype and the same values."""
        frame = pd.DataFrame(
            {
                "leadId": pd.array([1, 2, None], dtype="Int64"),
                "nombres": pd.array(["ANA", pd.NA, ""], dtype="string"),
                "ciudad": ["cali", None, float("nan")],
                "empresa": [3001234567, None, 7.5],
                "apellidos": pd.Series(["PEREZ", None, "gomez"], dtype=object),
                "otro": [True, False, True],
            }
        )
        before = frame.copy()
        out = normalize_dataframe(frame, progress=False)
        for column in frame.columns:
            pd.testing.assert_series_equal(out[column], before[column])
            assert out[column].dtype == before[column].dtype
        pd.testing.assert_frame_equal(frame, before)

    def test_same_result_from_each_missing_marker(self, pd: Any) -> None:
        """The result does not depend on which marker said 'missing'."""
        results = [
            normalize_dataframe(
                pd.DataFrame({"nombres": pd.Series(["ANA", marker], dtype=object)}),
                progress=False,
            )
            for marker in (None, float("nan"), pd.NA)
        ]
        for other in results[1:]:
            pd.testing.assert_frame_equal(
                other.drop(columns="nombres"), results[0].drop(columns="nombres")
            )

    def test_diff_of_missing_values(self, pd: Any) -> None:
        """frame_diff_html reads pd.NA cells as missing."""
        frame = pd.DataFrame({"ciudad": ["bogota", None]})
        out = normalize_dataframe(frame, progress=False)
        html = frame_diff_html(out, changed_only=False)
        assert "2 rows shown, of 2 rows" in html
        assert "&lt;NA&gt;" not in html


class TestPolars:
    def test_polars_in_polars_out(self, pl: Any) -> None:
        """A polars DataFrame comes back as a polars DataFrame, columns beside their field."""
        frame = pl.DataFrame({"leadId": ["1", "2"], "nombres": ["JUAN", None], "x": [1, 2]})
        out = normalize_dataframe(frame, progress=False)
        assert isinstance(out, pl.DataFrame)
        assert out.columns == [
            "leadId",
            "nombres",
            "nombres_normalized",
            "nombres_source",
            "nombres_flags",
            "x",
        ]
        assert out["nombres_normalized"].to_list() == ["Juan", None]
        assert out["nombres_source"].to_list() == ["rules", "rules"]
        assert out["nombres_flags"].to_list() == ["", ""]

    def test_added_columns_are_strings_with_nulls(self, pl: Any) -> None:
        """Added columns are polars String columns; a missing value is a polars null."""
        frame = pl.DataFrame(
            {"ciudad": ["bogota", None, "", "  "], "empresa": [3001234567.0, None, math.nan, 2.5]}
        )
        out = normalize_dataframe(frame, progress=False)
        for field in ("ciudad", "empresa"):
            for suffix in ADDED:
                assert out.schema[field + suffix] == pl.String, field + suffix
        assert out["ciudad_normalized"].to_list() == ["Bogotá D.C.", None, "", ""]
        # A float NaN is missing too, and a whole float loses its '.0'.
        assert out["empresa_normalized"].to_list() == ["3001234567", None, None, "2.5"]
        assert out["empresa_normalized"].null_count() == 2

    def test_original_columns_unchanged(self, pl: Any) -> None:
        """Every input column comes back with the same dtype and the same values."""
        testing = pytest.importorskip("polars.testing")
        frame = pl.DataFrame(
            {
                "leadId": [1, 2, None],
                "nombres": ["ANA", None, ""],
                "empresa": [3001234567.0, None, math.nan],
                "otro": [True, False, None],
            }
        )
        before = frame.clone()
        out = normalize_dataframe(frame, progress=False)
        testing.assert_frame_equal(out.select(frame.columns), before)
        testing.assert_frame_equal(frame, before)

    def test_without_meta_and_explicit_fields(self, pl: Any) -> None:
        """fields= and include_meta=False work as for pandas."""
        frame = pl.DataFrame({"ciudad": ["cali"], "nombres": ["ANA"]})
        out = normalize_dataframe(frame, ["nombres"], progress=False, include_meta=False)
        assert out.columns == ["ciudad", "nombres", "nombres_normalized"]

    def test_rerun_replaces_columns(self, pl: Any) -> None:
        """Normalizing a result again replaces its added columns, never duplicates them."""
        frame = pl.DataFrame({"ciudad": ["cali", None]})
        once = normalize_dataframe(frame, progress=False)
        twice = normalize_dataframe(once, progress=False)
        assert twice.columns == once.columns
        assert twice.equals(once)

    def test_same_values_as_pandas(self, pd: Any, pl: Any) -> None:
        """The same rows give the same normalized values from pandas and from polars."""
        rows = {"nombres": ["JUAN", None, ""], "ciudad": ["medellin", "cali", None]}
        from_pandas = normalize_dataframe(pd.DataFrame(rows), progress=False)
        from_polars = normalize_dataframe(pl.DataFrame(rows), progress=False)
        added = [c for c in from_polars.columns if c.endswith(ADDED)]
        assert len(added) == 6
        for column in added:
            expected = [None if v is pd.NA else v for v in from_pandas[column].array]
            assert from_polars[column].to_list() == expected, column

    def test_ids_from_id_column(self, pl: Any) -> None:
        """Record ids come from the id column of a polars frame too."""
        normalizer = Normalizer()
        frame = pl.DataFrame({"leadId": ["a", "b"], "ciudad": ["cali", "bogota"]})
        normalize_dataframe(frame, normalizer=normalizer, progress=False)
        assert normalizer.last_report is not None
        assert normalizer.last_report.records_in == 2

    def test_streamed(self, pl: Any) -> None:
        """A large polars frame is read a slice at a time, never all at once."""
        frame = pl.DataFrame({"ciudad": ["cali", "bogota", None, "medellin"] * 1_500})
        normalizer = _Spy(chunk_size=500)
        out = normalize_dataframe(frame, normalizer=normalizer, progress=False)
        assert out.height == 6_000
        assert out["ciudad_normalized"].null_count() == 1_500
        assert normalizer.ahead <= 500

    def test_without_pandas(self, pl: Any, monkeypatch: pytest.MonkeyPatch) -> None:
        """A polars frame is normalized even where pandas cannot be imported."""
        monkeypatch.setitem(sys.modules, "pandas", None)
        out = normalize_dataframe(pl.DataFrame({"ciudad": ["cali"]}), progress=False)
        assert out["ciudad_normalized"].to_list() == ["Cali"]

    def test_diff(self, pl: Any) -> None:
        """frame_diff_html renders a polars result, rows numbered from 0."""
        frame = pl.DataFrame({"ciudad": ["bogota", None, "Cali"]})
        out = normalize_dataframe(frame, progress=False)
        html = frame_diff_html(out, changed_only=False)
        assert "3 rows shown, of 3 rows" in html
        assert "&rarr;" in html
        assert "1 changed or flagged rows shown, of 3 rows" in frame_diff_html(out)

    def test_lazy_frame_refused(self, pl: Any) -> None:
        """A LazyFrame is refused with its type named and a hint to collect it."""
        lazy = pl.DataFrame({"ciudad": ["cali"]}).lazy()
        with pytest.raises(ConfigurationError, match=r"polars\.lazyframe\..*LazyFrame.*collect"):
            normalize_dataframe(lazy, progress=False)


class TestWrongType:
    def test_names_what_was_expected_and_what_came(self, pd: Any) -> None:
        """The error names the accepted types and the given type's module and class."""
        with pytest.raises(
            ConfigurationError, match=r"expects a pandas or polars DataFrame, got builtins\.list"
        ):
            normalize_dataframe([{"ciudad": "cali"}], progress=False)  # type: ignore[call-overload]

    def test_never_shows_values(self, pd: Any) -> None:
        """The error names a type, never the content it was given."""
        with pytest.raises(ConfigurationError) as info:
            normalize_dataframe({"ciudad": ["Calle 5 # 3-2"]}, progress=False)  # type: ignore[call-overload]
        assert "Calle" not in str(info.value)
        assert "builtins.dict" in str(info.value)


class TestColumnsAsTheCommandLineMatchesThem:
    """Headers are matched to fields as the command line matches a file's (issue 12)."""

    def test_spanish_headers_and_aliases(self) -> None:
        pd = pytest.importorskip("pandas")
        frame = pd.DataFrame(
            {
                "Nombres": ["JUAN CARLOS"],
                "Dirección de residencia": ["CRA 15 NO 100 25"],
                "CIUDAD": ["bogota"],
                "Nivel Educativo": ["bachiller academico"],
            }
        )
        out = normalize_dataframe(frame, progress=False)
        assert out["Nombres_normalized"].tolist() == ["Juan Carlos"]
        assert out["Dirección de residencia_normalized"].tolist() == ["Cra. 15 # 100 - 25"]
        assert out["CIUDAD_normalized"].tolist() == ["Bogotá D.C."]
        assert out["Nivel Educativo_normalized"].tolist() == ["Bachiller"]

    def test_explicit_columns_map(self) -> None:
        pd = pytest.importorskip("pandas")
        frame = pd.DataFrame({"Lugar": ["MEDELLIN"], "Otra": ["x"]})
        out = normalize_dataframe(frame, progress=False, columns={"Lugar": "ciudad"})
        assert out["Lugar_normalized"].tolist() == ["Medellín"]
        assert "Otra_normalized" not in out.columns

    def test_explicit_map_of_a_missing_column_is_an_error(self) -> None:
        pd = pytest.importorskip("pandas")
        frame = pd.DataFrame({"Nombres": ["ANA"]})
        with pytest.raises(ConfigurationError, match="no column 'Lugar'"):
            normalize_dataframe(frame, progress=False, columns={"Lugar": "ciudad"})

    def test_polars_aliases(self) -> None:
        pl = pytest.importorskip("polars")
        frame = pl.DataFrame({"Municipio": ["cali"], "Apellido(s)": ["PEÑA MUÑOZ"]})
        out = normalize_dataframe(frame, progress=False)
        assert out["Municipio_normalized"].to_list() == ["Cali"]
        assert out["Apellido(s)_normalized"].to_list() == ["Peña Muñoz"]
