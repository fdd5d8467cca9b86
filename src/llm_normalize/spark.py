"""Normalize a Spark DataFrame in three phases: rules on the executors, the model once per value.

At data-lake scale the rules settle most values and the rest repeat, so the model work is the
small set of distinct unsure values, not the rows. `normalize_spark` splits the work that way
(see `llm_normalize.phases`):

1. **Rules, on the executors.** A pandas UDF runs `RulesPhase.draft` over every row: each
   field's rules result, and for a value the rules are unsure of, its text. This result is
   persisted, so the rules pass runs once.
2. **The model, on the driver.** The distinct ``(field, text)`` pairs the rules were unsure of,
   a small DataFrame, are collected and decided once each by `TwoPhase.decide` (cache, guard,
   budget, deadline and rate limit, as online) or by a `decide` callable of your own.
3. **Assembly, on the executors.** The decisions are broadcast and a second pandas UDF
   assembles each row's `<column>_normalized`, `<column>_source` and `<column>_flags`, the
   columns `llm_normalize.notebook.normalize_dataframe` adds.

Executors never hold a backend: a retried or speculative task reruns rules and assembly only,
and never calls the model again. Only the normalized columns travel to Python: the others stay
in the JVM and come back untouched.

PySpark, pyarrow and pandas are an optional extra (``pip install 'llm-normalize[spark]'``);
``import llm_normalize`` never imports them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from functools import reduce
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, TypeAlias

from llm_normalize._names import field_key
from llm_normalize.config import NormalizationConfig
from llm_normalize.exceptions import ConfigurationError
from llm_normalize.notebook import FLAGS_SUFFIX, NORMALIZED_SUFFIX, SOURCE_SUFFIX, _matched, _plain
from llm_normalize.phases import Decisions, Draft, Pending, RulesPhase, TwoPhase
from llm_normalize.records import FieldResult

if TYPE_CHECKING:
    import pandas as pd
    from pyspark import Broadcast
    from pyspark.sql import Column, DataFrame

    from llm_normalize.pipeline import Normalizer
    from llm_normalize.report import RunReport

__all__ = ["DEFAULT_BROADCAST_LIMIT", "Decide", "SparkNormalized", "normalize_spark"]

logger = logging.getLogger(__name__)

Decide: TypeAlias = "Callable[[Sequence[tuple[str, str]]], Decisions]"
"""Phase 2: decide the distinct ``(field name, text)`` pairs, sorted; `TwoPhase.decide`'s shape."""

DEFAULT_BROADCAST_LIMIT: Final = 500_000
"""Most distinct unsure values decided and broadcast to the executors (about 110 bytes each, pickled)."""

_DRAFT: Final = "__llm_normalize_draft"
_ASSEMBLED: Final = "__llm_normalize_assembled"
_SOURCES: Final = frozenset({"rules", "llm", "cache"})
_INTEGRAL: Final = frozenset({"tinyint", "smallint", "int", "bigint"})
# The rules result of a field, as phase 1 leaves it: value, source, confident, reason, flags,
# and the text to ask the model (null when the rules decided).
_DRAFT_PARTS: Final = (
    ("v", "string"),
    ("s", "string"),
    ("c", "boolean"),
    ("r", "string"),
    ("f", "string"),
    ("p", "string"),
)

_Names: TypeAlias = tuple[tuple[str, str], ...]  # (column, field name), in the frame's order


class SparkNormalized:
    """What `normalize_spark` returns: the new DataFrame and the report of the model pass.

    The DataFrame is lazy and reads phase 1's persisted result; write or collect it, then call
    `release` (or use the object as a context manager) to unpersist that result.

    Attributes:
        frame: Every column of the input, unchanged and in order, and after each normalized
            column `<column>_normalized` (and `<column>_source`, `<column>_flags`).
        report: The report of phase 2 (model calls, tokens, cost, cache hits, refusals).
            Its record counts are zero: the rows are assembled on the executors.
        distinct_values: The distinct ``(field, text)`` pairs the rules were unsure of.
        decisions: What phase 2 decided, by `llm_normalize.phases.question_key`.
    """

    __slots__ = ("_broadcast", "_drafted", "decisions", "distinct_values", "frame", "report")

    def __init__(
        self,
        frame: DataFrame,
        decisions: Decisions,
        distinct_values: int,
        drafted: DataFrame,
        broadcast: Broadcast[Any],
    ) -> None:
        self.frame = frame
        self.decisions = decisions
        self.report: RunReport = decisions.report
        self.distinct_values = distinct_values
        self._drafted = drafted
        self._broadcast = broadcast

    def __repr__(self) -> str:
        return f"SparkNormalized(distinct_values={self.distinct_values})"

    def release(self) -> None:
        """Unpersist phase 1's result and the broadcast decisions (reading `frame` again reruns them)."""
        self._drafted.unpersist()
        self._broadcast.unpersist()

    def __enter__(self) -> SparkNormalized:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.release()


def normalize_spark(
    df: DataFrame,
    normalizer: Normalizer | None = None,
    *,
    fields: Sequence[str] | str | None = None,
    columns: Mapping[str, str] | None = None,
    config: NormalizationConfig | None = None,
    include_meta: bool = True,
    decide: Decide | None = None,
    stop_when: Callable[[], bool] | None = None,
    broadcast_limit: int = DEFAULT_BROADCAST_LIMIT,
) -> SparkNormalized:
    """Normalize the columns of a Spark DataFrame: rules on the executors, the model once per value.

    Row for row, the columns added equal those of `normalize_dataframe` on the same data with
    the same normalizer, and the model is asked each distinct unsure value once, whatever the
    partitioning. Phases 1 and 2 run now (two Spark jobs); phase 3 runs when the result is
    written or collected. Column matching, missing values (null, NaN: a missing
    `_normalized`), numbers (a whole double counts as an integer) and the added columns are
    those of `normalize_dataframe`.

    Args:
        df: The records, one per row (a classic Spark session: the decisions are broadcast
            through its SparkContext).
        normalizer: Its rules, model, cache, guard and limits are used (default: the rules
            alone). Its `last_report` is phase 2's.
        fields: The columns to normalize, each named as a field. Default: the columns matched
            to the configured fields by name or alias (see `llm_normalize.columns`).
        columns: ``{column: field}`` for columns the matching does not find.
        config: The run's settings (default: the normalizer's).
        include_meta: Add the `_source` and `_flags` columns.
        decide: Phase 2 of your own (e.g. Bedrock batch inference): given the sorted distinct
            ``(field, text)`` pairs, return their `Decisions`. Default: `TwoPhase.decide`.
        stop_when: The model pass's deadline check (default `decide` only).
        broadcast_limit: Most distinct unsure values to decide and broadcast.

    Raises:
        ConfigurationError: No column to normalize, a field is not a column or not
            configured, `decide` and `stop_when` given together, or more distinct unsure
            values than `broadcast_limit` (raised before any model call).
        ModelFailedError: The model cannot be used; its ``report`` says what was done, and
            nothing is returned as decided.
    """
    if decide is not None and stop_when is not None:
        raise ConfigurationError("stop_when applies to the default decide: pass one or the other")
    if broadcast_limit < 0:
        raise ConfigurationError("broadcast_limit must not be negative")
    if normalizer is None:
        from llm_normalize.pipeline import Normalizer

        normalizer = Normalizer()
    headers = list(df.columns)
    if len(set(headers)) != len(headers):
        raise ConfigurationError("the DataFrame has duplicate column names")
    names = _resolve(headers, normalizer, config, fields, columns)
    renamed = {column: name for column, name in names if column != name}
    phases = TwoPhase(normalizer, config=config, columns=renamed)
    chosen = decide or (lambda pairs: phases.decide(pairs, stop_when=stop_when))
    return _run(df, phases.rules, names, chosen, broadcast_limit, include_meta)


def _resolve(
    headers: Sequence[str],
    normalizer: Normalizer,
    config: NormalizationConfig | None,
    fields: Sequence[str] | str | None,
    columns: Mapping[str, str] | None,
) -> _Names:
    """``(column, field)`` of the columns to normalize, as `normalize_dataframe` chooses them."""
    configured = (config or normalizer.config).fields_to_normalize
    if fields is not None:
        chosen = [fields] if isinstance(fields, str) else list(fields)
        if not chosen:
            raise ConfigurationError("fields is empty: name at least one column")
        missing = [name for name in chosen if name not in headers]
        if missing:
            raise ConfigurationError(f"not columns of the DataFrame: {', '.join(missing)}")
        found = {name: name for name in chosen}
    else:
        keys = {field_key(name) for name in configured}
        matched = _matched(headers, normalizer.profile, columns)
        found = {column: name for column, name in matched.items() if field_key(name) in keys}
    outside = [name for name in found.values() if name not in configured]
    if outside:
        raise ConfigurationError(f"the normalizer is not configured for: {', '.join(outside)}")
    if not found:
        raise ConfigurationError(
            "no column to normalize: none of the DataFrame's columns is a configured field; "
            "pass fields=[...] or columns={...}"
        )
    return tuple((column, found[column]) for column in headers if column in found)


def _run(
    df: DataFrame,
    rules: RulesPhase,
    names: _Names,
    decide: Decide,
    broadcast_limit: int,
    include_meta: bool,
) -> SparkNormalized:
    """The three phases; phase 1's result is unpersisted if phase 2 fails."""
    from pyspark import StorageLevel

    drafted = df.withColumn(_DRAFT, _draft_udf(rules, names)(_inputs(df, names)))
    drafted = drafted.persist(StorageLevel.MEMORY_AND_DISK)
    try:
        pairs = _pending_pairs(drafted, names, broadcast_limit)
        logger.info("phase 2: %d distinct unsure values", len(pairs))
        decisions = decide(pairs)
    except BaseException:
        drafted.unpersist()
        raise
    shared = df.sparkSession.sparkContext.broadcast(dict(decisions.results))
    assembled = drafted.withColumn(_ASSEMBLED, _assemble_udf(rules, names, shared)(drafted[_DRAFT]))
    frame = assembled.select(*_output(df, assembled, names, include_meta))
    return SparkNormalized(frame, decisions, len(pairs), drafted, shared)


def _quoted(name: str) -> Column:
    """The column `name`, whatever characters it holds (dots and spaces included)."""
    from pyspark.sql import functions

    return functions.col("`" + name.replace("`", "``") + "`")


def _inputs(df: DataFrame, names: _Names) -> Column:
    """The normalized columns as one struct, integers as text (exact, as `str(int)` gives)."""
    from pyspark.sql import functions

    types = dict(df.dtypes)
    parts = []
    for i, (column, _) in enumerate(names):
        part = _quoted(column)
        if types[column] in _INTEGRAL:  # a long does not survive pandas' float64 with nulls
            part = part.cast("string")
        parts.append(part.alias(f"c{i}"))
    return functions.struct(*parts)


def _draft_schema(count: int) -> str:
    return ", ".join(f"{p}{i} {kind}" for i in range(count) for p, kind in _DRAFT_PARTS)


def _draft_udf(rules: RulesPhase, names: _Names) -> Callable[[Column], Column]:
    """Phase 1 as a pandas UDF: the rules over each row of a batch."""
    import pandas as pd
    from pyspark.sql.pandas.functions import pandas_udf

    columns = [column for column, _ in names]

    def draft(batch: pd.DataFrame) -> pd.DataFrame:
        out: dict[str, list[Any]] = {f"{p}{i}": [] for i in range(len(names)) for p in "vscrfp"}
        cells = [batch[f"c{i}"].tolist() for i in range(len(names))]
        for row in zip(*cells, strict=True):
            record = {column: _plain(value) for column, value in zip(columns, row, strict=True)}
            made = rules.draft(record)
            for i, (_, name) in enumerate(names):
                _put(out, i, made.fields.get(name))
        return pd.DataFrame(out, index=batch.index)

    draft.__annotations__ = {"batch": pd.DataFrame, "return": pd.DataFrame}
    return pandas_udf(draft, _draft_schema(len(names)))  # type: ignore[call-overload,no-any-return]


def _put(out: dict[str, list[Any]], i: int, value: FieldResult | Pending | None) -> None:
    """Append one field's draft to phase 1's columns."""
    result = value.rules if isinstance(value, Pending) else value
    out[f"p{i}"].append(value.text if isinstance(value, Pending) else None)
    out[f"v{i}"].append(None if result is None else result.value)
    out[f"s{i}"].append(None if result is None else result.source)
    out[f"c{i}"].append(None if result is None else result.confident)
    out[f"r{i}"].append(None if result is None else result.reason)
    out[f"f{i}"].append(None if result is None else ",".join(result.flags))


def _pending_pairs(
    drafted: DataFrame, names: _Names, broadcast_limit: int
) -> list[tuple[str, str]]:
    """Phase 1's distinct unsure ``(field, text)`` pairs, sorted (one Spark job)."""
    from pyspark.sql import functions

    draft = drafted[_DRAFT]
    each = [
        drafted.where(draft[f"p{i}"].isNotNull()).select(
            functions.lit(name).alias("field"), draft[f"p{i}"].alias("text")
        )
        for i, (_, name) in enumerate(names)
    ]
    rows = reduce(lambda a, b: a.unionAll(b), each).distinct().limit(broadcast_limit + 1).collect()
    if len(rows) > broadcast_limit:
        raise ConfigurationError(
            f"more than {broadcast_limit} distinct unsure values (broadcast_limit): "
            "raise it if the driver and executors have the memory, or normalize the data in parts"
        )
    return sorted((str(row["field"]), str(row["text"])) for row in rows)


def _assembled_schema(count: int) -> str:
    return ", ".join(f"{p}{i} string" for i in range(count) for p in "nsf")


def _assemble_udf(
    rules: RulesPhase, names: _Names, shared: Broadcast[Any]
) -> Callable[[Column], Column]:
    """Phase 3 as a pandas UDF: each row's drafts and the broadcast decisions, assembled."""
    import pandas as pd
    from pyspark.sql.pandas.functions import pandas_udf

    def assemble(batch: pd.DataFrame) -> pd.DataFrame:
        results: Mapping[tuple[str, str], FieldResult] = shared.value
        out: dict[str, list[str | None]] = {f"{p}{i}": [] for i in range(len(names)) for p in "nsf"}
        for row in _draft_rows(batch, names):
            record = rules.assemble(Draft("", {}, row), results)
            for i, (_, name) in enumerate(names):
                result = record.fields.get(name)
                out[f"n{i}"].append(None if result is None else result.value)
                out[f"s{i}"].append(None if result is None else result.source)
                out[f"f{i}"].append("" if result is None else ",".join(result.flags))
        return pd.DataFrame(out, index=batch.index)

    assemble.__annotations__ = {"batch": pd.DataFrame, "return": pd.DataFrame}
    return pandas_udf(assemble, _assembled_schema(len(names)))  # type: ignore[call-overload,no-any-return]


def _draft_rows(batch: pd.DataFrame, names: _Names) -> Iterator[dict[str, FieldResult | Pending]]:
    """The drafts of phase 1's columns, row by row (a field with no result is left out)."""
    parts = "vscrfp"
    cells = [[batch[f"{p}{i}"].tolist() for p in parts] for i in range(len(names))]
    for n in range(len(batch)):
        row: dict[str, FieldResult | Pending] = {}
        for i, (_, name) in enumerate(names):
            value, source, confident, reason, flags, text = (cells[i][k][n] for k in range(6))
            if _plain(source) is None:
                continue
            result = FieldResult(
                _plain_text(value),
                source=source if source in _SOURCES else "rules",
                confident=bool(confident),
                reason=_plain_text(reason),
                flags=tuple(flags.split(",")) if isinstance(flags, str) and flags else (),
            )
            pending = _plain_text(text)
            row[name] = result if pending is None else Pending(name, pending, result)
        yield row


def _plain_text(value: Any) -> str | None:
    """A text cell back from pandas: missing (None, NaN, NA) as None."""
    return value if isinstance(value, str) else None


def _output(df: DataFrame, assembled: DataFrame, names: _Names, include_meta: bool) -> list[Column]:
    """The result's columns: the input's, each normalized one followed by its added ones."""
    suffixes = (
        (("n", NORMALIZED_SUFFIX), ("s", SOURCE_SUFFIX), ("f", FLAGS_SUFFIX))
        if include_meta
        else (("n", NORMALIZED_SUFFIX),)
    )
    added = {
        column: [assembled[_ASSEMBLED][f"{p}{i}"].alias(column + suffix) for p, suffix in suffixes]
        for i, (column, _) in enumerate(names)
    }
    replaced = {column + suffix for column in added for _, suffix in suffixes}
    order: list[Column] = []
    for column in df.columns:
        if column in replaced:
            continue
        order.append(_quoted(column))
        order.extend(added.get(column, ()))
    return order
