"""Notebook helpers: normalize a pandas DataFrame, and see what normalization did.

- `normalize_dataframe` returns a new DataFrame with a `<field>_normalized` column beside each
  normalized column (and `<field>_source`, `<field>_flags`), streaming rows through
  `Normalizer.iter_normalize` a chunk at a time, with a progress bar in a terminal or notebook.
- `frame_diff_html` renders such a DataFrame as a before -> after table.
- `records_html`, `record_html`, `report_html` and `Html` come from `llm_normalize.display`
  (re-exported here): they render `NormalizedRecord`s and a `RunReport` as HTML tables.

pandas is an optional extra (``pip install 'llm-normalize[notebook]'``): it is imported inside
`normalize_dataframe`, never by ``import llm_normalize``.
"""

from __future__ import annotations

import itertools
import sys
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, Final

from llm_normalize.backends.base import Backend
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
from llm_normalize.pipeline import Normalizer
from llm_normalize.profiles.colombia import COLOMBIAN_LEADS
from llm_normalize.records import FieldResult, NormalizedRecord

if TYPE_CHECKING:
    import pandas as pd

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


# -- normalize_dataframe --------------------------------------------------------------------


def normalize_dataframe(
    df: pd.DataFrame,
    fields: Sequence[str] | str | None = None,
    backend: Backend | None = None,
    *,
    normalizer: Normalizer | None = None,
    progress: bool | None = None,
    id_column: str | None = None,
    include_meta: bool = True,
) -> pd.DataFrame:
    """Normalize the columns of a DataFrame; return a new DataFrame, the input untouched.

    The result holds every column of `df`, in order, and after each normalized column
    `<field>_normalized` (the normalized value, missing where the original was missing),
    and with `include_meta`, `<field>_source` (``rules``, ``llm`` or ``cache``) and
    `<field>_flags` (the review flags joined by commas, ``""`` when none). Columns of those
    names already in `df` are replaced. The index is kept.

    Missing values (`None`, `NaN`, `pd.NA`) are treated as empty, and whole floats as
    integers (pandas stores an integer column with gaps as floats). Rows are streamed through
    `Normalizer.iter_normalize` a slice at a time, so a large frame never has all its records,
    prompts or results in memory at once; the run's report is then in the normalizer's
    `last_report`.

    Args:
        df: The records, one per row.
        fields: The columns to normalize. Default: the normalizer's fields present in `df`,
            or without a normalizer, the columns of `df` that the Colombian profile knows.
        backend: The model backend for a new `Normalizer` (`None`: the rules alone).
        normalizer: A normalizer of your own (then `backend` must be `None`); pass one to
            read its `last_report` afterwards.
        progress: Show a progress bar (`tqdm.auto`: a widget in Jupyter, text in a terminal).
            Default: only when attached to a terminal or a notebook.
        id_column: The column identifying a row (default: the config's `id_field`,
            ``leadId``); record ids come from it.
        include_meta: Add the `_source` and `_flags` columns.

    Raises:
        ConfigurationError: pandas is not installed, a field is not a column of `df`, or
            `fields` / `backend` / `id_column` contradict `normalizer`.

    Examples:
        >>> import pandas as pd
        >>> frame = pd.DataFrame({"ciudad": ["bogota", None], "nombres": ["JUAN", "ana maria"]})
        >>> out = normalize_dataframe(frame, progress=False)
        >>> out["nombres_normalized"].tolist()
        ['Juan', 'Ana Maria']
        >>> list(out.columns)[:3]
        ['ciudad', 'ciudad_normalized', 'ciudad_source']
    """
    pandas = _import_pandas()
    _check_frame(pandas, df)
    normalizer, names = _resolve(df, fields, backend, normalizer, id_column)
    added = _normalized_columns(df, normalizer, names, include_meta, progress)
    return _joined(pandas, df, names, added)


def _check_frame(pandas: Any, df: Any) -> None:
    if not isinstance(df, pandas.DataFrame):
        raise ConfigurationError(
            f"normalize_dataframe expects a DataFrame, got {type(df).__name__}"
        )
    if not df.columns.is_unique:
        raise ConfigurationError("the DataFrame has duplicate column names")


def _normalized_columns(
    df: pd.DataFrame,
    normalizer: Normalizer,
    names: Sequence[str],
    include_meta: bool,
    progress: bool | None,
) -> dict[str, list[str | None]]:
    """Normalize the rows of `df`; the new columns, by name, each field's side by side."""
    id_field = normalizer.config.id_field
    wanted = [*names, id_field] if id_field in df.columns and id_field not in names else names
    values: dict[str, list[str | None]] = {name: [] for name in names}
    sources: dict[str, list[str | None]] = {name: [] for name in names}
    flags: dict[str, list[str | None]] = {name: [] for name in names}
    bar = _progress_bar(len(df), progress)
    try:
        done = 0
        for record in normalizer.iter_normalize(_iter_rows(df, wanted)):
            for name in names:
                result = record.fields.get(name)
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
    added: dict[str, list[str | None]] = {}
    for name in names:
        added[name + NORMALIZED_SUFFIX] = values[name]
        if include_meta:
            added[name + SOURCE_SUFFIX] = sources[name]
            added[name + FLAGS_SUFFIX] = flags[name]
    return added


def _joined(
    pandas: Any, df: pd.DataFrame, names: Sequence[str], added: dict[str, list[str | None]]
) -> pd.DataFrame:
    """`df` with the `added` columns, each field's right after its original column."""
    kept = [c for c in df.columns if c not in added]
    new = pandas.DataFrame(added, index=df.index)
    out = pandas.concat([df[kept], new], axis=1)
    order: list[Any] = []
    for column in kept:
        order.append(column)
        if column in names:
            order.extend(c for c in added if c.startswith(column) and c[len(column) :] in _SUFFIXES)
    frame: pd.DataFrame = out[order]
    return frame


def _import_pandas() -> Any:
    try:
        import pandas
    except ImportError as exc:
        raise ConfigurationError(
            "normalize_dataframe needs pandas: pip install 'llm-normalize[notebook]'"
        ) from exc
    return pandas


def _resolve(
    df: pd.DataFrame,
    fields: Sequence[str] | str | None,
    backend: Backend | None,
    normalizer: Normalizer | None,
    id_column: str | None,
) -> tuple[Normalizer, list[str]]:
    """The normalizer to use and the columns it normalizes."""
    columns = [c for c in df.columns if isinstance(c, str)]
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
            chosen = [name for name in configured if name in columns]
        outside = [name for name in chosen if name not in configured]
        if outside:
            raise ConfigurationError(f"the normalizer is not configured for: {', '.join(outside)}")
    else:
        if chosen is None:
            chosen = [c for c in columns if c in COLOMBIAN_LEADS]
        if chosen:
            settings: dict[str, Any] = {"fields_to_normalize": tuple(chosen)}
            if id_column is not None:
                settings["id_field"] = id_column
            normalizer = Normalizer(backend, NormalizationConfig(**settings))
    if not chosen or normalizer is None:
        raise ConfigurationError(
            "no column to normalize: none of the DataFrame's columns is a known field "
            f"({', '.join(COLOMBIAN_LEADS.names)}); pass fields=[...]"
        )
    return normalizer, chosen


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
    frame: pd.DataFrame,
    fields: Sequence[str] | None = None,
    *,
    limit: int | None = 20,
    changed_only: bool = True,
) -> str:
    """Render a `normalize_dataframe` result as a before -> after table, like `records_html`.

    Args:
        frame: A DataFrame with `<field>` and `<field>_normalized` columns (and optionally
            `_source` and `_flags`).
        fields: The fields to show (default: every column with a `_normalized` partner).
        limit: Show at most this many rows (`None`: all).
        changed_only: Show only the rows that normalization changed or flagged.
    """
    names = (
        list(fields)
        if fields is not None
        else [
            c
            for c in frame.columns
            if isinstance(c, str) and f"{c}{NORMALIZED_SUFFIX}" in frame.columns
        ]
    )

    def records() -> Iterator[NormalizedRecord]:
        for index, row in zip(frame.index, frame.itertuples(index=False), strict=True):
            cells = dict(zip(frame.columns, row, strict=True))
            original: dict[str, Any] = {}
            results: dict[str, FieldResult] = {}
            for name in names:
                before = cells.get(name)
                original[name] = None if _missing(before) else before
                after = cells.get(name + NORMALIZED_SUFFIX)
                source = cells.get(name + SOURCE_SUFFIX)
                raw_flags = cells.get(name + FLAGS_SUFFIX)
                flags = (
                    tuple(raw_flags.split(",")) if isinstance(raw_flags, str) and raw_flags else ()
                )
                results[name] = FieldResult(
                    None if _missing(after) else str(after),
                    source=source if source in ("rules", "llm", "cache") else "rules",
                    confident="not_confident" not in flags,
                    flags=flags,
                )
            yield NormalizedRecord(id=str(index), original=original, fields=results)

    rows: Iterable[NormalizedRecord] = records()
    if changed_only:
        rows = (r for r in rows if needs_review(r))
    # Read the frame only as far as needed: a big frame is never turned into records whole.
    shown = list(rows if limit is None else itertools.islice(rows, limit))
    what = "changed or flagged rows" if changed_only else "rows"
    footer = f"{len(shown)} {what} shown, of {len(frame)} rows"
    return records_table(shown, names, footer)
