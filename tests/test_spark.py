"""`llm_normalize.spark`: rules on the executors, the model once per distinct value, on Spark.

One local Spark session serves the module (``local[2,4]``: two cores, and a failed task is
retried up to four times, as a cluster does, so the retry tests need no second session).
"""

from __future__ import annotations

import math
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import pytest

from guard_lies import LIE_CLASS, LyingResponder, profile_for, sample_leads
from llm_normalize import Budget, Normalizer
from llm_normalize.backends.fake import FakeBackend
from llm_normalize.exceptions import BackendAccessDeniedError, ConfigurationError, ModelFailedError
from llm_normalize.fields import Profile
from llm_normalize.phases import Decisions, TwoPhase
from llm_normalize.records import FLAG_NOT_SENT

pytest.importorskip("pyspark", reason="the spark extra is not installed")
pytest.importorskip("pyarrow", reason="the spark extra is not installed")
pytest.importorskip("pandas", reason="the spark extra is not installed")

import pandas as pd

from llm_normalize.notebook import normalize_dataframe
from llm_normalize.spark import SparkNormalized, normalize_spark

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

pytestmark = [
    pytest.mark.skipif(shutil.which("java") is None, reason="Spark needs Java: no java on PATH"),
    # PySpark 4 warns on every pandas conversion that it does not fully support pandas 3, and
    # its toPandas passes pandas 3 a deprecated `copy=` keyword.
    pytest.mark.filterwarnings(
        "ignore:PySpark does not yet fully support pandas >= 3.0.0:FutureWarning"
    ),
    pytest.mark.filterwarnings("ignore:The copy keyword is deprecated:DeprecationWarning"),
]

FAST: Final = 10_000.0  # requests per second: no waiting on the fake
SUFFIXES: Final = ("_normalized", "_source", "_flags")


def _leads(n: int) -> pd.DataFrame:
    frame = pd.DataFrame(list(sample_leads()[:n]))
    frame.insert(0, "row", range(len(frame)))
    return frame


def _normalizer(
    responder: Callable[..., Any] | None = None, profile: Profile | None = None, **kw: Any
) -> tuple[Normalizer, FakeBackend]:
    backend = FakeBackend(responder)
    return Normalizer(backend, profile=profile, requests_per_second=FAST, **kw), backend


def _cells(frame: pd.DataFrame, columns: Sequence[str]) -> dict[str, list[Any]]:
    """The columns as plain lists, a missing value (NA, NaN, None) as None."""
    return {
        c: [
            None if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA else v
            for v in frame[c].astype(object).tolist()
        ]
        for c in columns
    }


def _added(frame: pd.DataFrame) -> list[str]:
    return [c for c in frame.columns if str(c).endswith(SUFFIXES)]


def _collected(out: SparkNormalized, order: str = "row") -> pd.DataFrame:
    with out:
        return out.frame.orderBy(order).toPandas()


def _items(backend: FakeBackend) -> list[tuple[str, str]]:
    return [(item.field, item.value) for request in backend.requests for item in request.items]


def _expected_pairs(normalizer: Normalizer, frame: pd.DataFrame) -> set[tuple[str, str]]:
    """The distinct unsure values, found without Spark: the phases over the rows in one process."""
    rules = TwoPhase(normalizer).rules
    records = frame.drop(columns="row").to_dict("records")
    return {p.key for n, r in enumerate(records) for p in rules.draft(r, n).pending}


class TestEquality:
    @pytest.mark.parametrize("parts", [1, 3, 7])
    @pytest.mark.parametrize("lie", ["none", "city_swapped"])
    def test_equal_to_normalize_dataframe_row_for_row(
        self, spark: SparkSession, parts: int, lie: str
    ) -> None:
        """Values, sources and flags equal normalize_dataframe's; each distinct value asked once."""
        frame = _leads(200)
        profile = profile_for("forced" if lie != "none" else "auto")

        def responder() -> LyingResponder | None:
            return None if lie == "none" else LyingResponder(LIE_CLASS[lie])

        online_normalizer, _ = _normalizer(responder(), profile)
        online = normalize_dataframe(frame, normalizer=online_normalizer)
        normalizer, backend = _normalizer(responder(), profile)
        out = normalize_spark(spark.createDataFrame(frame).repartition(parts), normalizer)
        got = _collected(out)

        assert list(got.columns) == list(online.columns)
        assert _cells(got, list(got.columns)) == _cells(online, list(online.columns))
        sent = _items(backend)
        expected = _expected_pairs(_normalizer(None, profile)[0], frame)
        assert len(sent) == len(set(sent)) == out.distinct_values == len(expected) > 0
        assert {(f.casefold(), v) for f, v in sent} == {(f.casefold(), v) for f, v in expected}
        assert out.report.values_sent_to_model == len(expected)
        if lie != "none":
            assert any(
                "guard_rejected" in f for c in _added(got) for f in got[c] if isinstance(f, str)
            )

    def test_the_batches_do_not_depend_on_the_partitioning(self, spark: SparkSession) -> None:
        """One partition or seven, shuffled: the model gets the very same requests."""
        frame = _leads(300)
        seen = []
        for parts, seed in [(1, 0), (7, 1)]:
            normalizer, backend = _normalizer()
            shuffled = frame.sample(frac=1, random_state=seed)
            with normalize_spark(spark.createDataFrame(shuffled).repartition(parts), normalizer):
                pass
            seen.append([[(i.field, i.value) for i in r.items] for r in backend.requests])
        assert seen[0] == seen[1]
        assert seen[0]


class TestRetries:
    @pytest.mark.parametrize("phase", ["rules", "assembly"])
    def test_a_retried_task_makes_no_second_model_call(
        self, spark: SparkSession, tmp_path: Path, phase: str
    ) -> None:
        """Each task fails on its first attempt and is retried: same result, each value asked once."""
        from pyspark import TaskContext
        from pyspark.sql.pandas.functions import pandas_udf

        marks = str(tmp_path)

        def flaky(values: pd.Series) -> pd.Series:
            context = TaskContext.get()
            assert context is not None
            if context.attemptNumber() == 0:
                Path(marks, f"failed-{context.stageId()}-{context.partitionId()}").touch()
                raise RuntimeError("the first attempt of every task fails")
            return values

        flaky.__annotations__ = {"values": pd.Series, "return": pd.Series}
        fail = pandas_udf(flaky, "string")  # type: ignore[call-overload]
        frame = _leads(200)
        online = normalize_dataframe(frame, normalizer=_normalizer()[0])
        normalizer, backend = _normalizer()
        df = spark.createDataFrame(frame).repartition(3)
        if phase == "rules":  # the rules run in the same tasks, after the failing step
            df = df.withColumn("ciudad", fail(df["ciudad"]))
        out = normalize_spark(df, normalizer)
        frame_out = out.frame
        if phase == "assembly":  # the assembly runs in the same tasks, before the failing step
            frame_out = frame_out.withColumn("ciudad_normalized", fail("ciudad_normalized"))
        with out:
            got = frame_out.orderBy("row").toPandas()

        assert list(Path(marks).iterdir())  # tasks did fail, and were retried
        assert _cells(got, list(got.columns)) == _cells(online, list(online.columns))
        sent = _items(backend)
        assert len(sent) == len(set(sent)) == out.distinct_values > 0


class TestFailures:
    def test_a_model_that_cannot_be_used_fails_the_call_with_its_report(
        self, spark: SparkSession
    ) -> None:
        """Access denied: ModelFailedError with a report, no frame, phase 1 unpersisted."""
        backend = FakeBackend(faults=[BackendAccessDeniedError("denied")] * 50)
        normalizer = Normalizer(backend, requests_per_second=FAST)
        cached_before = spark._jsparkSession.sharedState().cacheManager().isEmpty()
        with pytest.raises(ModelFailedError) as failed:
            normalize_spark(spark.createDataFrame(_leads(100)), normalizer)
        assert failed.value.report is not None
        assert backend.calls > 0
        assert spark._jsparkSession.sharedState().cacheManager().isEmpty() == cached_before

    def test_a_budget_stop_leaves_values_not_sent_never_llm(self, spark: SparkSession) -> None:
        """Past the budget, the values keep the rules' value flagged not_sent, source rules."""
        rows = pd.DataFrame({"row": range(300), "ciudad": [f"ciudad rara {n}" for n in range(300)]})
        normalizer, backend = _normalizer(budget=Budget(max_tokens=1_500), concurrency=1)
        got = _collected(normalize_spark(spark.createDataFrame(rows), normalizer))
        flags, sources = got["ciudad_flags"].tolist(), got["ciudad_source"].tolist()
        unsent = [n for n, f in enumerate(flags) if FLAG_NOT_SENT in f.split(",")]
        asked = {value for _, value in _items(backend)}
        assert 0 < len(unsent) < len(rows)
        assert all(sources[n] == "rules" for n in unsent)
        assert all(rows["ciudad"][n] in asked for n, s in enumerate(sources) if s == "llm")
        assert normalizer.last_report is not None
        assert normalizer.last_report.stopped_early == "budget"

    def test_a_deadline_stop_leaves_values_not_sent(self, spark: SparkSession) -> None:
        """stop_when stops the model pass; what it kept from the model is flagged not_sent."""
        rows = pd.DataFrame({"row": range(80), "ciudad": [f"ciudad rara {n}" for n in range(80)]})
        normalizer, backend = _normalizer(concurrency=1)
        out = normalize_spark(
            spark.createDataFrame(rows), normalizer, stop_when=lambda: backend.calls >= 1
        )
        got = _collected(out)
        assert backend.calls == 1
        assert out.report.stopped_early == "deadline"
        unsent = got[got["ciudad_flags"].str.contains(FLAG_NOT_SENT)]
        assert len(unsent) == out.report.values_not_sent > 0
        assert set(unsent["ciudad_source"]) == {"rules"}

    def test_a_decision_missing_from_phase_2_is_not_sent(self, spark: SparkSession) -> None:
        """A decide of your own that leaves values out: those are not_sent, never llm."""
        normalizer, backend = _normalizer()
        phases = TwoPhase(normalizer)
        given: list[tuple[str, str]] = []

        def half(pairs: Sequence[tuple[str, str]]) -> Decisions:
            given.extend(pairs)
            return phases.decide(pairs[::2])

        frame = _leads(150)
        got = _collected(normalize_spark(spark.createDataFrame(frame), normalizer, decide=half))
        assert given == sorted(set(given))  # distinct and sorted
        left_out = {text for _, text in given[1::2]}
        assert left_out
        for column in ("direccion", "ciudad", "empresa", "ocupacionActual"):
            for raw, source, flags in zip(
                got[column], got[f"{column}_source"], got[f"{column}_flags"], strict=True
            ):
                if raw in left_out and FLAG_NOT_SENT in flags:
                    assert source == "rules"
        assert sum(FLAG_NOT_SENT in f for c in _added(got) for f in got[c] if isinstance(f, str))
        assert len(_items(backend)) == len(given[::2])

    def test_too_many_distinct_values_to_broadcast_is_refused_before_any_call(
        self, spark: SparkSession
    ) -> None:
        """Past broadcast_limit: a ConfigurationError, and the model is never called."""
        df = spark.createDataFrame(_leads(200))
        normalizer, backend = _normalizer()
        with normalize_spark(df, normalizer) as out:
            distinct = out.distinct_values
        calls = backend.calls
        with pytest.raises(ConfigurationError, match="broadcast_limit"):
            normalize_spark(df, _normalizer()[0], broadcast_limit=distinct - 1)
        assert backend.calls == calls
        with normalize_spark(df, _normalizer()[0], broadcast_limit=distinct) as exact:
            assert exact.distinct_values == distinct

    def test_contradictions_are_refused(self, spark: SparkSession) -> None:
        """decide with stop_when, or no column to normalize, is a ConfigurationError."""
        df = spark.createDataFrame(pd.DataFrame({"x": ["a"]}))
        with pytest.raises(ConfigurationError, match="no column"):
            normalize_spark(df)
        with pytest.raises(ConfigurationError, match="stop_when"):
            normalize_spark(
                df,
                decide=lambda pairs: TwoPhase(Normalizer()).decide(pairs),
                stop_when=lambda: False,
            )
        with pytest.raises(ConfigurationError, match="not columns"):
            normalize_spark(df, fields=["ciudad"])


class TestValues:
    def test_missing_values_and_numbers_as_normalize_dataframe(self, spark: SparkSession) -> None:
        """null and NaN give a missing value, "" gives "", numbers are read as the notebook does."""
        from pyspark.sql.types import DoubleType, LongType, StringType, StructField, StructType

        schema = StructType(
            [
                StructField("row", LongType()),
                StructField("ciudad", StringType()),
                StructField("empresa", LongType()),
                StructField("direccion", DoubleType()),
            ]
        )
        rows = [
            (0, "bogota", 3001234567, 7.0),
            (1, None, None, float("nan")),
            (2, "", 2**60 + 1, None),
            (3, "  ", 42, 12.5),
        ]
        df = spark.createDataFrame(rows, schema)
        named = ["row", "ciudad", "empresa", "direccion"]
        # The longs as Python ints, exact, as Spark holds them (a float64 column would round).
        pandas_rows = pd.DataFrame(
            {c: pd.Series([r[n] for r in rows], dtype=object if c == "empresa" else None)
             for n, c in enumerate(named)}
        )  # fmt: skip
        got = _collected(normalize_spark(df, _normalizer()[0]))
        online = normalize_dataframe(pandas_rows, normalizer=_normalizer()[0])
        assert _cells(got, _added(got)) == _cells(online, _added(online))
        assert got["ciudad_normalized"].isna().tolist() == [False, True, False, False]
        assert got["ciudad_normalized"][2] == ""
        assert got["empresa_normalized"][2] == str(2**60 + 1)
        assert got["ciudad_source"][1] == "rules"
        assert got["ciudad_flags"][1] == ""

    def test_an_empty_frame(self, spark: SparkSession) -> None:
        """No rows: the added columns, no rows, no model call."""
        df = spark.createDataFrame([], "row long, ciudad string, nombres string")
        normalizer, backend = _normalizer()
        out = normalize_spark(df, normalizer)
        got = _collected(out)
        assert len(got) == 0
        assert list(got.columns) == [
            "row", "ciudad", "ciudad_normalized", "ciudad_source", "ciudad_flags",
            "nombres", "nombres_normalized", "nombres_source", "nombres_flags",
        ]  # fmt: skip
        assert backend.calls == 0
        assert out.distinct_values == 0

    def test_columns_by_alias_and_by_map_originals_untouched(self, spark: SparkSession) -> None:
        """Headers matched by alias, a column given by columns=, the others kept as they were."""
        from pyspark.sql import functions

        frame = _leads(120)[["row", "nombres", "ciudad", "direccion", "empresa", "createdAt"]]
        frame = frame.rename(
            columns={
                "nombres": "Nombres",
                "ciudad": "Lugar",
                "direccion": "Dirección de residencia",
            }
        )
        mapping = {"Lugar": "ciudad"}
        online = normalize_dataframe(frame, normalizer=_normalizer()[0], columns=mapping)
        df = spark.createDataFrame(frame).withColumn("tags", functions.array(functions.lit("x")))
        got = _collected(normalize_spark(df, _normalizer()[0], columns=mapping))
        assert "Lugar_normalized" in got.columns
        assert "Dirección de residencia_normalized" in got.columns
        assert _cells(got, _added(online)) == _cells(online, _added(online))
        kept = [c for c in frame.columns]
        assert _cells(got, kept) == _cells(frame, kept)
        assert [list(t) for t in got["tags"]] == [["x"]] * len(frame)

    def test_include_meta_false_and_existing_columns_replaced(self, spark: SparkSession) -> None:
        """Only <column>_normalized is added, and a column of that name is replaced."""
        frame = pd.DataFrame({"row": [0, 1], "ciudad": ["bogota", "medellin"],
                              "ciudad_normalized": ["old", "old"]})  # fmt: skip
        got = _collected(
            normalize_spark(spark.createDataFrame(frame), fields="ciudad", include_meta=False)
        )
        assert list(got.columns) == ["row", "ciudad", "ciudad_normalized"]
        assert got["ciudad_normalized"].tolist() == ["Bogotá D.C.", "Medellín"]

    def test_release_unpersists_phase_one(self, spark: SparkSession) -> None:
        """Phase 1 is persisted until release."""
        out = normalize_spark(spark.createDataFrame(_leads(20)))
        assert out._drafted.storageLevel.useMemory
        out.release()
        assert not out._drafted.storageLevel.useMemory
        assert not out._drafted.is_cached
