"""Writing records back to JSONL and CSV files, beside their normalized values.

Every write goes to a temporary file beside the target and is moved in place only when it
is complete, so a failed run never leaves half a file behind. An exception, SIGTERM and
SIGHUP all remove the temporary file: while a write runs, those two signals raise
`Terminated` (exit status 143 or 129) in the main thread instead of ending the process
before any cleanup can run (see `cleanup_on_signals`).

The files hold personal data, so every file written here is readable by its owner only
(mode 0600), whatever the umask: the temporary file is made 0600 before the first byte is
written, and the move keeps that mode. A file that already exists is replaced, not
rewritten, so it ends up 0600 too, even if it was more open before (a file an earlier
version created world-readable is closed on the next write); ``chmod`` it afterwards to
share it.

CSV comes in two dialects (`CsvDialect`): ``"standard"`` (``,``, UTF-8, CRLF, RFC 4180) and
``"excel"`` (``;``, UTF-8 with a BOM, CRLF), the one Excel in Colombia opens by double-click.
Every CSV cell that a spreadsheet would run as a formula gets a leading ``'`` (see
`write_csv`); JSONL is never altered. A path of ``None`` or ``-`` means standard output;
wrap a write there in `quiet_broken_pipe` so that a reader closing early ends it quietly.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from llm_normalize.io._atomic import PRIVATE_FILE_MODE, atomic_writer
from llm_normalize.io._csv_write import (
    CsvDialect,
    CsvDialectName,
    cell_text,
    csv_rows,
    export_csv,
    resolve_dialect,
)
from llm_normalize.io.read import FileFormat
from llm_normalize.records import (
    NORMALIZATION_META,
    NORMALIZED_DATA,
    NormalizedRecord,
    normalization_meta,
)

__all__ = [
    "PRIVATE_FILE_MODE",
    "record_to_json",
    "write_csv",
    "write_items",
    "write_jsonl",
    "write_text",
]

# The private name from before the split into `_atomic`, for code written against it.
_atomic_writer = atomic_writer


def record_to_json(result: NormalizedRecord) -> dict[str, Any]:
    """The original record plus `normalizedData` and a PII-free `normalizationMeta`."""
    out = dict(result.original)
    out[NORMALIZED_DATA] = result.normalized
    out[NORMALIZATION_META] = normalization_meta(result)
    return out


def write_text(path: str | os.PathLike[str] | None, text: str) -> None:
    """Write `text` to `path` (``None`` or ``-``: standard output), owner-only and atomically.

    For files holding personal data, such as the quality report's HTML: the file is created
    with mode 0600 and moved in place only when complete (see the module docstring).
    """
    with atomic_writer(path) as stream:
        stream.write(text)


def write_jsonl(
    results: Iterator[NormalizedRecord], path: str | os.PathLike[str] | None
) -> Iterator[NormalizedRecord]:
    """Write each result as a JSON line and pass it on (so callers can count as it streams).

    Values are written exactly as they are: no formula neutralisation, which is for CSV only.
    """
    with atomic_writer(path) as stream:
        for result in results:
            stream.write(json.dumps(record_to_json(result), ensure_ascii=False, default=str))
            stream.write("\n")
            yield result


def write_csv(
    results: Iterator[NormalizedRecord],
    path: str | os.PathLike[str] | None,
    *,
    columns: Sequence[str],
    fields: Sequence[str],
    dialect: CsvDialect | CsvDialectName = "standard",
    neutralize_formulas: bool = True,
) -> Iterator[NormalizedRecord]:
    """Write the original columns, a `<field>_normalized` column per field, and `normalization_review`.

    `normalization_review` lists the fields whose value the rules were not confident about
    (separated by `;`), so a reviewer can filter on it. Each record is written as it arrives
    and passed on, so memory stays flat; the columns are given up front.

    Formula neutralisation (on unless `neutralize_formulas` is false): a cell whose first
    character is ``=``, ``+``, ``-``, ``@``, tab or carriage return is written with a ``'``
    in front, header cells included: ``=HYPERLINK("http://x","y")`` becomes
    ``'=HYPERLINK("http://x","y")``, and so do ``+57 304 585 7609`` and ``-5``, as OWASP
    advises (whether a cell is a phone number or a formula is what an attacker plays on).
    Spreadsheets take the ``'`` as a mark that the cell is text; programs reading the CSV see
    it as part of the value. Only the CSV text changes: the records are untouched, and
    `write_jsonl` never alters a value.

    Args:
        results: The records to write.
        path: The file to write; ``None`` or ``-`` for standard output, which gets the same
            bytes a file would (UTF-8, CRLF, the BOM of the Excel dialect).
        columns: The original columns, in order.
        fields: The normalized fields, in order.
        dialect: ``"standard"`` (``,``, no BOM), ``"excel"`` (``;``, UTF-8 BOM) or a
            `CsvDialect`.
        neutralize_formulas: Whether to prefix formula-like cells with ``'`` (see above).

    Raises:
        ConfigurationError: At the call, for an unknown dialect.
    """
    chosen = resolve_dialect(dialect)
    header = [*columns, *(f"{name}_normalized" for name in fields), "normalization_review"]
    return _write_csv_rows(results, path, header, columns, fields, chosen, neutralize_formulas)


def _write_csv_rows(
    results: Iterator[NormalizedRecord],
    path: str | os.PathLike[str] | None,
    header: list[str],
    columns: Sequence[str],
    fields: Sequence[str],
    dialect: CsvDialect,
    neutralize: bool,
) -> Iterator[NormalizedRecord]:
    with csv_rows(path, dialect, neutralize=neutralize) as writerow:
        writerow(header)
        for result in results:
            normalized = result.normalized
            row = [cell_text(result.original.get(name)) for name in columns]
            row += [cell_text(normalized.get(name)) for name in fields]
            row.append(";".join(sorted(result.flags)))
            writerow(row)
            yield result


def write_items(
    items: Iterable[Mapping[str, Any]],
    path: str | os.PathLike[str] | None,
    fmt: FileFormat,
    *,
    dialect: CsvDialect | CsvDialectName = "standard",
    neutralize_formulas: bool = True,
) -> int:
    """Write stored lead items (the export command); returns how many.

    JSONL: each item as stored, never altered. CSV: the original attributes, then a
    `<field>_normalized` column for every field found in any `normalizedData`, then
    `normalization_review` (the fields flagged for review), in `dialect`, with formula cells
    neutralised as `write_csv` describes.

    CSV streams: its columns are only known once every item has been seen, so the items'
    cells go to a spool file on disk first (owner-only and nameless, beside the output), and
    the CSV is written from it. Memory holds one item at a time; the disk briefly holds the
    data twice.

    Raises:
        ConfigurationError: For an unknown dialect.
    """
    chosen = resolve_dialect(dialect)
    if fmt == "jsonl":
        count = 0
        with atomic_writer(path) as stream:
            for item in items:
                stream.write(json.dumps(dict(item), ensure_ascii=False, default=str))
                stream.write("\n")
                count += 1
        return count
    return export_csv(items, path, chosen, neutralize=neutralize_formulas)
