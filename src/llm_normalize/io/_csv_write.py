"""CSV output: dialects, formula neutralisation, and the store export streamed through a spool.

Formula neutralisation (OWASP, "CSV Injection"): a spreadsheet runs a cell that starts with
``=``, ``+``, ``-`` or ``@`` as a formula, and tab or carriage return can lead one in. Every
such cell, header cells included, is written with a ``'`` in front, which spreadsheets read as
"this is text". Phone numbers (``+57 304 …``) and negative numbers are prefixed too, as OWASP
advises: telling them apart from a formula is what an attacker would exploit.
"""

from __future__ import annotations

import csv
import json
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO, Any, ClassVar, Final, Literal, TypeAlias

from llm_normalize.exceptions import ConfigurationError
from llm_normalize.io._atomic import atomic_file, cleanup_on_signals, file_target
from llm_normalize.io._stdout import TextSink, stdout_sink
from llm_normalize.records import (
    NORMALIZATION_META,
    NORMALIZATION_PREVIOUS,
    NORMALIZED_AT,
    NORMALIZED_DATA,
    UPDATED_AT,
)

__all__ = [
    "FORMULA_TRIGGERS",
    "CsvDialect",
    "CsvDialectName",
    "cell_text",
    "csv_rows",
    "export_csv",
    "neutralize_formula",
    "resolve_dialect",
]

CsvDialectName: TypeAlias = Literal["standard", "excel"]
"""The named CSV dialects: ``"standard"`` (RFC 4180) and ``"excel"`` (es-CO Excel)."""

FORMULA_TRIGGERS: Final = frozenset("=+-@\t\r")
"""The first characters that make a spreadsheet read a cell as a formula (OWASP)."""

_REVIEW: Final = "normalization_review"
# Never a column of the export: normalization's own attributes, exported otherwise or not at all.
_NOT_COLUMNS: Final = frozenset({NORMALIZED_DATA, NORMALIZATION_META, NORMALIZATION_PREVIOUS})
# Columns, but after the original attributes.
_LATE_COLUMNS: Final = (NORMALIZED_AT, UPDATED_AT)


@dataclass(frozen=True, slots=True)
class CsvDialect:
    """How a CSV file is spelled: its delimiter, and whether it starts with a UTF-8 BOM.

    Every dialect writes UTF-8 with CRLF line ends and quotes a cell (with ``"``) only when it
    holds the delimiter, a quote or a line end, as RFC 4180 says.

    - `CsvDialect.STANDARD` (``"standard"``): ``,`` and no BOM, the RFC 4180 file programs read.
    - `CsvDialect.EXCEL` (``"excel"``): ``;`` and a BOM, what Excel in Colombia (es-CO, whose
      list separator is ``;`` because ``,`` is the decimal one) opens by double-click, in
      columns and with its accents intact: without the BOM it reads the file as Windows-1252.

    Attributes:
        delimiter: One character, neither a quote nor a line end.
        bom: Whether the file starts with the UTF-8 byte order mark (EF BB BF).
    """

    delimiter: str = ","
    bom: bool = False

    STANDARD: ClassVar[CsvDialect]
    EXCEL: ClassVar[CsvDialect]

    def __post_init__(self) -> None:
        if len(self.delimiter) != 1 or self.delimiter in '"\r\n':
            raise ConfigurationError(
                "a CSV delimiter is one character, neither a quote nor a line end"
            )


CsvDialect.STANDARD = CsvDialect()
CsvDialect.EXCEL = CsvDialect(delimiter=";", bom=True)

_NAMED: Final[Mapping[str, CsvDialect]] = {
    "standard": CsvDialect.STANDARD,
    "excel": CsvDialect.EXCEL,
}


def resolve_dialect(dialect: CsvDialect | CsvDialectName) -> CsvDialect:
    """The `CsvDialect` itself, or the one a name stands for."""
    if isinstance(dialect, CsvDialect):
        return dialect
    found = _NAMED.get(dialect)
    if found is None:
        raise ConfigurationError(f"unknown CSV dialect; choose one of: {', '.join(_NAMED)}")
    return found


def neutralize_formula(cell: str) -> str:
    """`cell` with a ``'`` in front when it starts with one of `FORMULA_TRIGGERS`."""
    return "'" + cell if cell[:1] in FORMULA_TRIGGERS else cell


def cell_text(value: object) -> str:
    """The CSV text of a value: ``""`` for ``None``, strings as they are, anything else as JSON."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, default=str)


@contextmanager
def csv_rows(
    path: str | os.PathLike[str] | None, dialect: CsvDialect, *, neutralize: bool
) -> Iterator[Callable[[Sequence[str]], object]]:
    """A function writing one row of `path` (``None`` or ``-``: standard output), atomically."""
    target = file_target(path)
    if target is None:
        with stdout_sink() as sink:
            yield _row_writer(sink, dialect, neutralize=neutralize)
    else:
        with atomic_file(target) as stream:
            yield _row_writer(stream, dialect, neutralize=neutralize)


def _row_writer(
    sink: TextSink, dialect: CsvDialect, *, neutralize: bool
) -> Callable[[Sequence[str]], object]:
    if dialect.bom:
        sink.write("\ufeff")
    writer = csv.writer(sink, delimiter=dialect.delimiter, lineterminator="\r\n")
    if not neutralize:
        return writer.writerow
    return lambda cells: writer.writerow([neutralize_formula(cell) for cell in cells])


def export_csv(
    items: Iterable[Mapping[str, Any]],
    path: str | os.PathLike[str] | None,
    dialect: CsvDialect,
    *,
    neutralize: bool,
) -> int:
    """Write stored items as CSV in two passes over a spool on disk; returns how many.

    The columns are only known once every item has been seen, so the first pass writes each
    item's cells, one JSON line per item, to an anonymous spool file while collecting the
    columns, and the second writes the CSV from the spool. Memory holds one item and the
    column names, whatever the number of items. The spool holds personal data: it is created
    0600 beside the output (in the temporary directory for standard output), and has no name
    on POSIX (`tempfile.TemporaryFile`), so no exit, not even SIGKILL, can leave it behind.
    """
    target = file_target(path)
    spool_dir = None if target is None else target.parent
    if spool_dir is not None:
        spool_dir.mkdir(parents=True, exist_ok=True)
    with (
        cleanup_on_signals(),
        tempfile.TemporaryFile(
            "w+", encoding="utf-8", newline="", dir=spool_dir, prefix=".spool."
        ) as spool,
    ):
        count, columns, fields = _spool(items, spool)
        spool.seek(0)
        with csv_rows(path, dialect, neutralize=neutralize) as writerow:
            writerow([*columns, *(f"{name}_normalized" for name in fields), _REVIEW])
            for line in spool:
                cells, normalized, review = json.loads(line)
                writerow(
                    [cells.get(name, "") for name in columns]
                    + [normalized.get(name, "") for name in fields]
                    + [review]
                )
    return count


def _spool(items: Iterable[Mapping[str, Any]], spool: IO[str]) -> tuple[int, list[str], list[str]]:
    """Write each item's cells to `spool`; returns the count, the columns and the fields."""
    originals: dict[str, None] = {}
    late: set[str] = set()
    fields: dict[str, None] = {}
    count = 0
    for item in items:
        cells = {key: cell_text(value) for key, value in item.items() if key not in _NOT_COLUMNS}
        for key in cells:
            if key in _LATE_COLUMNS:
                late.add(key)
            else:
                originals.setdefault(key)
        data = item.get(NORMALIZED_DATA)
        normalized = (
            {name: cell_text(value) for name, value in data.items()}
            if isinstance(data, Mapping)
            else {}
        )
        fields.update(dict.fromkeys(normalized))
        meta = item.get(NORMALIZATION_META)
        flags = meta.get("flags") if isinstance(meta, Mapping) else None
        review = ";".join(sorted(flags)) if isinstance(flags, Mapping) else ""
        spool.write(json.dumps([cells, normalized, review], ensure_ascii=False))
        spool.write("\n")
        count += 1
    columns = [*originals, *(name for name in _LATE_COLUMNS if name in late)]
    return count, columns, list(fields)
