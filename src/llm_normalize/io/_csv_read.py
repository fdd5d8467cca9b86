"""CSV: the dialect, the header, then one record per row, decoded line by line.

The delimiter is Excel's ``sep=X`` first line if there is one, else whichever of
``,`` ``;`` tab ``|`` gives the sample's rows the header's cell count most often. The sample is
parsed with the csv module, so quoted delimiters and quoted line breaks count right, and a
ragged row only lowers a score (the stdlib's ``csv.Sniffer`` gives up on them). We chose
this over clevercsv: for these four delimiters and Excel's quoting it decides the same,
with no dependency (clevercsv brings regex, chardet and packaging, 11 MB installed).
"""

from __future__ import annotations

import collections
import csv
import itertools
import re
import sys
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from llm_normalize.exceptions import ConfigurationError, InputFormatError
from llm_normalize.io._encoding import Opened, describe, lenient
from llm_normalize.io._rows import BadLine, Row

if TYPE_CHECKING:
    from _csv import Reader as _CsvReader

__all__ = ["CsvTable", "check_delimiter", "open_csv"]

_CANDIDATES: Final = (",", ";", "\t", "|")
_SAMPLE_RECORDS: Final = 100
# The csv module stops at 131,072 characters a cell by default; a C long caps the limit.
_FIELD_LIMIT: Final = min(sys.maxsize, 2**31 - 1)
_SEP_LINE: Final = re.compile(r'\A\ufeff?"?sep=([^"\r\n])"?[\r\n]*\Z', re.IGNORECASE)

# Physical lines that could not be decoded: (line number, 0-based byte), oldest first.
_Problems = collections.deque[tuple[int, int]]


@dataclass(frozen=True, slots=True)
class CsvTable:
    """An open CSV file: its delimiter, its column names, and its rows still to read."""

    delimiter: str
    columns: tuple[str, ...]
    rows: Generator[Row | BadLine, None, None]


def check_delimiter(delimiter: str) -> None:
    """Refuse a delimiter the csv module cannot use.

    Raises:
        ConfigurationError: It is not one character, or is a quote or a line end.
    """
    if len(delimiter) != 1 or delimiter in '"\r\n':
        raise ConfigurationError(
            f"a CSV delimiter is one character other than a quote or a line end, not {delimiter!r}"
        )


def open_csv(opened: Opened, label: str, delimiter: str | None) -> CsvTable:
    """Read the dialect and the header of a CSV file; its rows come as they are iterated.

    Raises:
        InputFormatError: There is no header row, a column has no name or two share one, or
            the header cannot be decoded.
    """
    if csv.field_size_limit() < _FIELD_LIMIT:
        csv.field_size_limit(_FIELD_LIMIT)
    lines, sample, offset = opened.lines, opened.sample, 0
    first = next(lines, b"")
    found = _SEP_LINE.match(lenient(first, opened.codec))
    if found:
        offset, sample = 1, sample[1:]
        delimiter = delimiter or found.group(1)
    else:
        lines = itertools.chain([first], lines)
    if delimiter is None:
        texts = [raw.decode(opened.codec, "replace") for raw in sample]
        delimiter = _detect(texts, complete=opened.complete)
    problems: _Problems = collections.deque()
    reader = csv.reader(_decode(lines, opened, offset + 1, problems), delimiter=delimiter)
    header = _header(reader, offset, opened.codec, problems, label)
    names, spare = _columns(header, label)
    return CsvTable(delimiter, names, _rows(reader, names, spare, offset, opened.codec, problems))


def _detect(lines: list[str], *, complete: bool) -> str:
    """The candidate whose rows most often have the header's cell count.

    A header of two cells or more beats one cell; then the share of rows that fit, then the
    number of columns. With one column, the delimiter chosen is one its values never hold.
    """
    best, best_score = ",", (False, -1.0, 0)
    for candidate in _CANDIDATES:
        rows = _sample_rows(lines, candidate, complete=complete)
        if not rows:
            continue
        width, body = len(rows[0]), rows[1:]
        # Short rows are how spreadsheets drop trailing empty cells: half a point.
        fits = sum(1.0 if len(row) == width else 0.5 if len(row) < width else 0.0 for row in body)
        score = (width > 1, fits / len(body) if body else 1.0, width)
        if score > best_score:
            best, best_score = candidate, score
    return best


def _sample_rows(lines: list[str], delimiter: str, *, complete: bool) -> list[list[str]]:
    reader = csv.reader(lines, delimiter=delimiter)
    rows: list[list[str]] = []
    while len(rows) <= _SAMPLE_RECORDS:
        try:
            row = next(reader)
        except StopIteration:
            if rows and not complete:
                rows.pop()  # the sample may end inside it
            break
        except csv.Error:
            continue
        if any(row):
            rows.append(row)
    return rows


def _decode(
    lines: Iterator[bytes], opened: Opened, number: int, problems: _Problems
) -> Iterator[str]:
    """Each line decoded; one that cannot be is noted in `problems` and fed on, escaped."""
    decode = opened.decode
    for raw in lines:
        try:
            yield decode(raw)
        except UnicodeDecodeError as exc:
            problems.append((number, exc.start))
            yield lenient(raw, opened.codec)
        number += 1


def _header(
    reader: _CsvReader, offset: int, codec: str, problems: _Problems, label: str
) -> list[str]:
    """The first row that is not a blank line."""
    for header in reader:
        if header:
            if problems:
                line, byte = problems[0]
                raise InputFormatError(
                    f"{label}: the CSV header on line {line} is {describe(codec, byte)}"
                )
            return header
    raise InputFormatError(f"{label} has no CSV header row")


def _columns(header: list[str], label: str) -> tuple[tuple[str, ...], int]:
    """The column names, and how many unnamed columns end the header (Excel leaves some)."""
    names = [cell.strip().lstrip("\ufeff").strip() for cell in header]
    spare = 0
    while names and not names[-1]:
        names.pop()
        spare += 1
    if not names:
        raise InputFormatError(f"{label} has no CSV header row")
    empty = [str(position) for position, name in enumerate(names, start=1) if not name]
    if empty:
        columns = (
            f"column {empty[0]} has" if len(empty) == 1 else f"columns {', '.join(empty)} have"
        )
        raise InputFormatError(f"{label}: CSV header {columns} no name")
    seen: dict[str, int] = {}
    for position, name in enumerate(names, start=1):
        if name in seen:
            # Positions only: a file without a header would put personal data here.
            raise InputFormatError(
                f"{label}: CSV header columns {seen[name]} and {position} have the same name"
            )
        seen[name] = position
    return tuple(names), spare


def _rows(
    reader: _CsvReader,
    names: tuple[str, ...],
    spare: int,
    offset: int,
    codec: str,
    problems: _Problems,
) -> Generator[Row | BadLine, None, None]:
    """Each record after the header, or why it cannot be one, by the line it starts on."""
    width = len(names)
    while True:
        start = reader.line_num + offset + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            _pop(problems, reader.line_num + offset)
            yield BadLine(start, _csv_problem(exc))
            continue
        if problems and problems[0][0] <= reader.line_num + offset:
            line, byte = problems[0]
            _pop(problems, reader.line_num + offset)
            yield BadLine(start, describe(codec, byte, None if line == start else line))
            continue
        if len(cells) == width:
            if any(cells) and not "".join(cells).isspace():
                yield Row(start, dict(zip(names, cells, strict=True)))
        elif any(cells) and not "".join(cells).isspace():
            yield _ragged(start, names, spare, cells)


def _ragged(start: int, names: tuple[str, ...], spare: int, cells: list[str]) -> Row | BadLine:
    width = len(names)
    if len(cells) < width:
        # Missing trailing cells are read as empty, the way spreadsheets write them.
        return Row(start, dict(zip(names, [*cells, *[""] * (width - len(cells))], strict=True)))
    if len(cells) > width + spare:
        return BadLine(start, f"{len(cells)} cells for {width + spare} columns")
    for position, cell in enumerate(cells[width:], start=width + 1):
        if cell.strip():
            return BadLine(start, f"a value in column {position}, which has no name")
    return Row(start, dict(zip(names, cells[:width], strict=True)))


def _pop(problems: _Problems, last: int) -> None:
    while problems and problems[0][0] <= last:
        problems.popleft()


def _csv_problem(exc: csv.Error) -> str:
    # The csv module's messages name characters, never cells; still, say it in our words.
    if "new-line" in str(exc):
        return "not valid CSV (a line break inside an unquoted cell; quote the cell)"
    return "not valid CSV"
