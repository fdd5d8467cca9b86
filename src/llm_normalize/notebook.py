"""Notebook helpers: normalize a pandas or polars DataFrame, and see what normalization did.

- `normalize_dataframe` returns a new DataFrame, of the library it was given, with a
  `<field>_normalized` column beside each normalized column (and `<field>_source`,
  `<field>_flags`), streaming rows through `Normalizer.iter_normalize` a chunk at a time,
  with a progress bar in a terminal or notebook.
- `frame_diff_html` renders such a DataFrame as a before -> after table.
- `records_html`, `record_html`, `report_html` and `Html` come from `llm_normalize.display`
  (re-exported here): they render `NormalizedRecord`s and a `RunReport` as HTML tables.

pandas is an optional extra (``pip install 'llm-normalize[notebook]'``): it is imported inside
`normalize_dataframe`, never by ``import llm_normalize``. polars is never imported here: a
polars frame is recognised by its type's module, and its own methods do the work.

The added columns hold text or a missing value, the same under pandas 2 and 3: pandas' nullable
string dtype (``"string"``, missing is `pd.NA`) for pandas, ``pl.String`` (missing is null) for
polars.
"""

from __future__ import annotations

import itertools
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, cast, overload

from llm_normalize._names import field_key
from llm_normalize.backends.base import Backend
from llm_normalize.columns import NoFieldColumnsError, match_columns
from llm_normalize.config import NormalizationConfig
from llm_normalize.display import (
    Html,
    needs_review,
    record_html,
    records_html,
    records_table,
    report_html,
)
from llm_normalize.exceptions import ConfigurationError
from llm_normalize.fields import Profile
from llm_normalize.pipeline import Normalizer
from llm_normalize.profiles.colombia import COLOMBIAN_LEADS
from llm_normalize.records import FieldResult, NormalizedRecord

if TYPE_CHECKING:
    import pandas as pd
    import polars as pl

__all__ = [
    "Html",
    "frame_diff_html",
    "normalize_dataframe",
    "record_html",
    "records_html",
    "report_html",
]

NORMALIZED_SUFFIX: Final = "_normalized"
SOURCE_SUFFIX: Final = "_source"
FLAGS_SUFFIX: Final = "_flags"
_SUFFIXES: Final = (NORMALIZED_SUFFIX, SOURCE_SUFFIX, FLAGS_SUFFIX)

# Rows converted to records at once; the normalizer then holds its own `chunk_size`.
_ROWS_PER_SLICE: Final = 2_000
_PROGRESS_STEP: Final = 500

_EXPECTED: Final = "a pandas or polars DataFrame"

# The added columns, by name: text, or None where there is no value.
_Added = dict[str, list[str | None]]


# -- normalize_dataframe --------------------------------------------------------------------


@overload
def normalize_dataframe(
    df: pd.DataFrame,
    fields: Sequence[str] | str | None = None,
    backend: Backend | None = None,
    *,
    normalizer: Normalizer | None = None,
    progress: bool | None = None,
    id_column: str | None = None,
    include_meta: bool = True,
    columns: Mapping[str, str] | None = None,
) -> pd.DataFrame: ...


@overload
def normalize_dataframe(
    df: pl.DataFrame,
    fields: Sequence[str] | str | None = None,
    backend: Backend | None = None,
    *,
    normalizer: Normalizer | None = None,
    progress: bool | None = None,
    id_column: str | None = None,
    include_meta: bool = True,
    columns: Mapping[str, str] | None = None,
) -> pl.DataFrame: ...


def normalize_dataframe(
    df: pd.DataFrame | pl.DataFrame,
    fields: Sequence[str] | str | None = None,
    backend: Backend | None = None,
    *,
    normalizer: Normalizer | None = None,
    progress: bool | None = None,
    id_column: str | None = None,
    include_meta: bool = True,
    columns: Mapping[str, str] | None = None,
) -> pd.DataFrame | pl.DataFrame:
    """Normalize the columns of a DataFrame; return a new DataFrame, the input untouched.

    `df` may be a pandas or a polars DataFrame, and the result is of the same library.
    The result holds every column of `df`, in order and unchanged, and after each normalized
    column `<field>_normalized` (the normalized value, missing where the original was
    missing), and with `include_meta`, `<field>_source` (``rules``, ``llm`` or ``cache``) and
    `<field>_flags` (the review flags joined by commas, ``""`` when none). Columns of those
    names already in `df` are replaced. A pandas index is kept.

    The added columns hold text or a missing value: in pandas they have the nullable string
    dtype (``"string"``), whose missing value is `pd.NA` under pandas 2 and 3 alike; in
    polars they are ``pl.String`` columns, missing values null. Missing values in `df`
    (`None`, `NaN`, `pd.NA`, `NaT`, polars null) are treated as empty and give a missing
    value; an empty string is a value and gives ``""``. Whole floats count as integers
    (pandas stores an integer column with gaps as floats). Rows are streamed through
    `Normalizer.iter_normalize` a slice at a time, so a large frame never has all its records,
    prompts or results in memory at once; the run's report is then in the normalizer's
    `last_report`.

    Args:
        df: The records, one per row: a pandas or polars DataFrame.
        fields: The columns to normalize, each named as a field. Default: the columns of `df`
            matched to the profile's fields (the normalizer's, else the Colombian one) by
            name or alias, ignoring case, accents and spaces, as the command line matches a
            file's headers (``Nombres``, ``CIUDAD``, ``Dirección de residencia``; see
            `llm_normalize.columns`); with a normalizer, only its configured fields.
        backend: The model backend for a new `Normalizer` (`None`: the rules alone).
        normalizer: A normalizer of your own (then `backend` must be `None`); pass one to
            read its `last_report` afterwards.
        progress: Show a progress bar (`tqdm.auto`: a widget in Jupyter, text in a terminal).
            Default: only when attached to a terminal or a notebook.
        id_column: The column identifying a row (default: the config's `id_field`,
            ``leadId``); record ids come from it.
        include_meta: Add the `_source` and `_flags` columns.
        columns: ``{column: field}`` for columns the matching does not find, e.g.
            ``{"Lugar": "ciudad"}`` (the command line's ``--map``). The added columns are
            named after the column: ``Lugar_normalized``.

    Raises:
        ConfigurationError: `df` is not a pandas or polars DataFrame, pandas is not installed
            for a non-polars `df`, a field is not a column of `df`, or `fields` / `backend` /
            `id_column` contradict `normalizer`.

    Examples:
        >>> import pandas as pd
        >>> frame = pd.DataFrame({"ciudad": ["bogota", None], "nombres": ["JUAN", "ana maria"]})
        >>> out = normalize_dataframe(frame, progress=False)
        >>> out["nombres_normalized"].tolist()
        ['Juan', 'Ana Maria']
        >>> out["ciudad_normalized"].tolist()
        ['Bogotá D.C.', <NA>]
        >>> list(out.columns)[:3]
        ['ciudad', 'ciudad_normalized', 'ciudad_source']
    """
    choice = _Choice(fields, backend, normalizer, id_column, columns, include_meta, progress)
    if _is_polars(df):
        return _normalize_polars(_polars_frame(df), choice)
    pandas = _import_pandas()
    return _normalize_pandas(pandas, _pandas_frame(pandas, df), choice)


@dataclass(frozen=True)
class _Choice:
    """What `normalize_dataframe` was asked to do, for either library."""

    fields: Sequence[str] | str | None
    backend: Backend | None
    normalizer: Normalizer | None
    id_column: str | None
    columns: Mapping[str, str] | None
    include_meta: bool
    progress: bool | None

    def resolve(self, headers: Sequence[str]) -> tuple[Normalizer, dict[str, str]]:
        return _resolve(
            headers, self.fields, self.backend, self.normalizer, self.id_column, self.columns
        )


def _normalize_polars(frame: pl.DataFrame, choice: _Choice) -> pl.DataFrame:
    normalizer, names = choice.resolve(frame.columns)
    added = _normalized_columns(
        lambda wanted: _polars_rows(frame, wanted),
        frame.columns,
        frame.height,
        normalizer,
        names,
        choice.include_meta,
        choice.progress,
    )
    return _joined_polars(frame, list(names), added)


def _normalize_pandas(pandas: Any, frame: pd.DataFrame, choice: _Choice) -> pd.DataFrame:
    headers = [c for c in frame.columns if isinstance(c, str)]
    normalizer, names = choice.resolve(headers)
    added = _normalized_columns(
        lambda wanted: _iter_rows(frame, wanted),
        headers,
        len(frame),
        normalizer,
        names,
        choice.include_meta,
        choice.progress,
    )
    return _joined(pandas, frame, list(names), added)


def _diff_record(
    record_id: str, cells: Mapping[Any, Any], names: Sequence[str]
) -> NormalizedRecord:
    """A row of a `normalize_dataframe` result as the record it came from, for display."""
    original: dict[str, Any] = {}
    results: dict[str, FieldResult] = {}
    for name in names:
        before = cells.get(name)
        original[name] = None if _missing(before) else before
        after = cells.get(name + NORMALIZED_SUFFIX)
        source = cells.get(name + SOURCE_SUFFIX)
        raw_flags = cells.get(name + FLAGS_SUFFIX)
        flags = tuple(raw_flags.split(",")) if isinstance(raw_flags, str) and raw_flags else ()
        results[name] = FieldResult(
            None if _missing(after) else str(after),
            source=source if source in ("rules", "llm", "cache") else "rules",
            confident="not_confident" not in flags,
            flags=flags,
        )
    return NormalizedRecord(id=record_id, original=original, fields=results)


def _is_polars(df: object) -> bool:
    """Whether `df` comes from polars, told by its type alone so that polars is never imported."""
    return type(df).__module__.partition(".")[0] == "polars"


def _type_name(value: object) -> str:
    """The module and class of `value`'s type (never its content, which may be personal data)."""
    kind = type(value)
    return f"{kind.__module__}.{kind.__qualname__}"


def _wrong_type(df: object) -> ConfigurationError:
    message = f"normalize_dataframe expects {_EXPECTED}, got {_type_name(df)}"
    if _is_polars(df) and type(df).__name__ == "LazyFrame":
        message += "; call .collect() on it first"
    return ConfigurationError(message)


def _polars_frame(df: object) -> pl.DataFrame:
    """`df`, once known to be a polars DataFrame (and not, say, a LazyFrame)."""
    # `df` came from polars, so polars is imported already: this import costs nothing.
    import polars

    if not isinstance(df, polars.DataFrame):
        raise _wrong_type(df)
    return df


def _pandas_frame(pandas: Any, df: object) -> pd.DataFrame:
    """`df`, once known to be a pandas DataFrame with unique column names."""
    if not isinstance(df, pandas.DataFrame):
        raise _wrong_type(df)
    frame = cast("pd.DataFrame", df)
    if not frame.columns.is_unique:
        raise ConfigurationError("the DataFrame has duplicate column names")
    return frame


def _normalized_columns(
    rows: Callable[[Sequence[str]], Iterator[dict[str, Any]]],
    columns: Sequence[str],
    total: int,
    normalizer: Normalizer,
    names: Mapping[str, str],
    include_meta: bool,
    progress: bool | None,
) -> _Added:
    """Normalize the `rows` of a frame; the new columns, by name, each field's side by side."""
    id_field = normalizer.config.id_field
    wanted = [*names, id_field] if id_field in columns and id_field not in names else [*names]
    values: _Added = {name: [] for name in names}
    sources: _Added = {name: [] for name in names}
    flags: _Added = {name: [] for name in names}
    bar = _progress_bar(total, progress)
    try:
        done = 0
        renamed = {column: name for column, name in names.items() if column != name}
        for record in normalizer.iter_normalize(rows(wanted), columns=renamed):
            for name, field_name in names.items():
                result = record.fields.get(field_name)
                values[name].append(None if result is None else result.value)
                if include_meta:
                    sources[name].append(None if result is None else result.source)
                    flags[name].append("" if result is None else ",".join(result.flags))
            done += 1
            if bar is not None and done % _PROGRESS_STEP == 0:
                bar.update(_PROGRESS_STEP)
        if bar is not None:
            bar.update(done - bar.n)
    finally:
        if bar is not None:
            bar.close()
    added: _Added = {}
    for name in names:
        added[name + NORMALIZED_SUFFIX] = values[name]
        if include_meta:
            added[name + SOURCE_SUFFIX] = sources[name]
            added[name + FLAGS_SUFFIX] = flags[name]
    return added


def _order(kept: Sequence[Any], names: Sequence[str], added: _Added) -> list[Any]:
    """The result's columns: those kept, each field's added ones right after it."""
    order: list[Any] = []
    for column in kept:
        order.append(column)
        if column in names:
            order.extend(c for c in added if c.startswith(column) and c[len(column) :] in _SUFFIXES)
    return order


def _joined(pandas: Any, df: pd.DataFrame, names: Sequence[str], added: _Added) -> pd.DataFrame:
    """`df` with the `added` columns, each field's right after its original column."""
    kept = [c for c in df.columns if c not in added]
    # The nullable string dtype, explicitly: left to infer, pandas 2 makes object columns
    # holding None and pandas 3 `str` columns holding NaN. StringDtype() has pd.NA in both.
    text = pandas.StringDtype()
    new = pandas.DataFrame(
        {name: pandas.array(column, dtype=text) for name, column in added.items()},
        index=df.index,
    )
    out = pandas.concat([df[kept], new], axis=1)
    frame: pd.DataFrame = out[_order(kept, names, added)]
    return frame


def _joined_polars(df: pl.DataFrame, names: Sequence[str], added: _Added) -> pl.DataFrame:
    """`df` with the `added` columns as polars String columns, None becoming null."""
    import polars

    kept = [c for c in df.columns if c not in added]
    new = [polars.Series(name, column, dtype=polars.String) for name, column in added.items()]
    return df.select(kept).with_columns(new).select(_order(kept, names, added))


def _import_pandas() -> Any:
    try:
        import pandas
    except ImportError as exc:
        raise ConfigurationError(
            "normalize_dataframe needs pandas (or a polars DataFrame): "
            "pip install 'llm-normalize[notebook]'"
        ) from exc
    return pandas


def _resolve(
    columns: Sequence[str],
    fields: Sequence[str] | str | None,
    backend: Backend | None,
    normalizer: Normalizer | None,
    id_column: str | None,
    mapping: Mapping[str, str] | None,
) -> tuple[Normalizer, dict[str, str]]:
    """The normalizer to use and ``{column: field}`` of the frame's text `columns` it normalizes."""
    chosen = [fields] if isinstance(fields, str) else None if fields is None else list(fields)
    if chosen is not None:
        if not chosen:
            raise ConfigurationError("fields is empty: name at least one column")
        missing = [name for name in chosen if name not in columns]
        if missing:
            raise ConfigurationError(f"not columns of the DataFrame: {', '.join(missing)}")
    if id_column is not None and id_column not in columns:
        raise ConfigurationError(f"id_column {id_column!r} is not a column of the DataFrame")
    if normalizer is not None:
        if backend is not None:
            raise ConfigurationError("pass either backend or normalizer, not both")
        if id_column is not None and id_column != normalizer.config.id_field:
            raise ConfigurationError(
                f"id_column {id_column!r} differs from the normalizer's id_field "
                f"{normalizer.config.id_field!r}"
            )
        configured = normalizer.config.fields_to_normalize
        if chosen is None:
            keys = {field_key(name) for name in configured}
            found = _matched(columns, normalizer.profile, mapping)
            names = {c: f for c, f in found.items() if field_key(f) in keys}
        else:
            names = {name: name for name in chosen}
        outside = [name for name in names.values() if name not in configured]
        if outside:
            raise ConfigurationError(f"the normalizer is not configured for: {', '.join(outside)}")
    else:
        names = (
            _matched(columns, COLOMBIAN_LEADS, mapping)
            if chosen is None
            else {name: name for name in chosen}
        )
        if names:
            settings: dict[str, Any] = {"fields_to_normalize": tuple(dict.fromkeys(names.values()))}
            if id_column is not None:
                settings["id_field"] = id_column
            normalizer = Normalizer(backend, NormalizationConfig(**settings))
    if not names or normalizer is None:
        raise ConfigurationError(
            "no column to normalize: none of the DataFrame's columns is a known field "
            f"({', '.join(COLOMBIAN_LEADS.names)}); pass fields=[...] or columns={{...}}"
        )
    return normalizer, names


def _matched(
    columns: Sequence[str], profile: Profile, mapping: Mapping[str, str] | None
) -> dict[str, str]:
    """``{column: field}`` of the columns matched to the profile's fields (none: empty)."""
    try:
        found = match_columns(columns, profile, explicit=mapping)
    except NoFieldColumnsError:
        if mapping:
            raise
        return {}
    return {column: name for name, column in found.items()}


def _missing(value: Any) -> bool:
    """Whether a cell is pandas' idea of missing (None, NaN, NA, NaT), for scalars only."""
    if value is None:
        return True
    if isinstance(value, str | list | tuple | dict | set):
        return False
    try:
        return value != value or type(value).__name__ in ("NAType", "NaTType")
    except (TypeError, ValueError):  # pd.NA refuses comparisons in some versions
        return True


def _iter_rows(df: pd.DataFrame, columns: Sequence[str]) -> Iterator[dict[str, Any]]:
    """The rows of `df` as plain dicts of Python values, a slice at a time."""
    for start in range(0, len(df), _ROWS_PER_SLICE):
        piece = df.iloc[start : start + _ROWS_PER_SLICE]
        # tolist() turns numpy scalars into Python ones, which the rules understand.
        lists = [piece[column].tolist() for column in columns]
        for row in zip(*lists, strict=True):
            yield {column: _plain(value) for column, value in zip(columns, row, strict=True)}


def _polars_rows(df: pl.DataFrame, columns: Sequence[str]) -> Iterator[dict[str, Any]]:
    """The rows of a polars `df` as plain dicts of Python values, a slice at a time."""
    for piece in df.select(columns).iter_slices(n_rows=_ROWS_PER_SLICE):
        for row in piece.iter_rows(named=True):
            yield {column: _plain(value) for column, value in row.items()}


def _plain(value: Any) -> Any:
    """A cell as the rules should see it: missing as None, a whole float as an int."""
    if _missing(value):
        return None
    # pandas turns an integer column with a gap into floats: 3001234567 must not become
    # "3001234567.0".
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _attached() -> bool:
    """Whether output goes to a person: a Jupyter kernel, or a terminal on stderr."""
    if "ipykernel.zmqshell" in sys.modules:
        ipython = sys.modules.get("IPython")
        shell = getattr(ipython, "get_ipython", lambda: None)() if ipython else None
        if shell is not None and type(shell).__name__ == "ZMQInteractiveShell":
            return True
    stream = sys.stderr
    return stream is not None and hasattr(stream, "isatty") and stream.isatty()


def _progress_bar(total: int, progress: bool | None) -> Any:
    if progress is False or (progress is None and not _attached()):
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="normalizing", unit="row", leave=True)


# -- HTML ----------------------------------------------------------------------------------


def frame_diff_html(
    frame: pd.DataFrame | pl.DataFrame,
    fields: Sequence[str] | None = None,
    *,
    limit: int | None = 20,
    changed_only: bool = True,
) -> str:
    """Render a `normalize_dataframe` result as a before -> after table, like `records_html`.

    A row is named by its pandas index label, or for polars, by its number from 0.

    Args:
        frame: A pandas or polars DataFrame with `<field>` and `<field>_normalized` columns
            (and optionally `_source` and `_flags`).
        fields: The fields to show (default: every column with a `_normalized` partner).
        limit: Show at most this many rows (`None`: all).
        changed_only: Show only the rows that normalization changed or flagged.
    """
    columns: list[Any] = list(frame.columns)
    names = (
        list(fields)
        if fields is not None
        else [c for c in columns if isinstance(c, str) and f"{c}{NORMALIZED_SUFFIX}" in columns]
    )
    labels: Iterable[Any]
    tuples: Iterable[Sequence[Any]]
    if _is_polars(frame):
        labels, tuples = itertools.count(), _polars_frame(frame).iter_rows()
    else:
        pandas_frame = cast("pd.DataFrame", frame)
        labels, tuples = pandas_frame.index, pandas_frame.itertuples(index=False)

    def records() -> Iterator[NormalizedRecord]:
        for index, row in zip(labels, tuples, strict=False):
            cells = dict(zip(columns, row, strict=True))
            yield _diff_record(str(index), cells, names)

    rows: Iterable[NormalizedRecord] = records()
    if changed_only:
        rows = (r for r in rows if needs_review(r))
    # Read the frame only as far as needed: a big frame is never turned into records whole.
    shown = list(rows if limit is None else itertools.islice(rows, limit))
    what = "changed or flagged rows" if changed_only else "rows"
    footer = f"{len(shown)} {what} shown, of {len(frame)} rows"
    return records_table(shown, names, footer)
