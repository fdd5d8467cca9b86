"""Reading records from JSONL and CSV files.

Reading is forgiving per line and strict per file: a malformed line becomes a `BadLine`
(its line number and what was wrong, never its content) and reading goes on; a file that
cannot be read at all raises `InputFormatError`.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal, TypeAlias

from llm_normalize.exceptions import InputFormatError

__all__ = [
    "BadLine",
    "FileFormat",
    "Row",
    "detect_format",
    "read_records",
]

FileFormat: TypeAlias = Literal["jsonl", "csv"]

_SUFFIXES: Final[dict[str, FileFormat]] = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".csv": "csv",
    ".tsv": "csv",
    ".txt": "csv",
}


@dataclass(frozen=True, slots=True)
class Row:
    """One record read from a file, with the line it started on."""

    line: int
    record: dict[str, Any]


@dataclass(frozen=True, slots=True)
class BadLine:
    """A line that could not be read as a record; `problem` never quotes the line."""

    line: int
    problem: str


def detect_format(path: str | os.PathLike[str], explicit: str | None = None) -> FileFormat:
    """Return the file format from `explicit` or else from the file name's suffix.

    Raises:
        InputFormatError: Neither says jsonl or csv.
    """
    if explicit is not None:
        if explicit not in ("jsonl", "csv"):
            raise InputFormatError(f"unknown format {explicit!r}; use jsonl or csv")
        return explicit  # type: ignore[return-value]  # checked just above
    suffix = Path(path).suffix.lower()
    found = _SUFFIXES.get(suffix)
    if found is None:
        raise InputFormatError(
            f"cannot tell the format of {os.fspath(path)!r} from its suffix {suffix!r}; "
            "name it .jsonl or .csv, or pass --format"
        )
    return found


def read_records(
    path: str | os.PathLike[str], fmt: FileFormat | None = None
) -> Iterator[Row | BadLine]:
    """Stream the records of a JSONL or CSV file, one `Row` or `BadLine` at a time.

    JSONL: one JSON object per line; blank lines are skipped. CSV: a header row, then one
    record per row; the delimiter (`,` `;` tab `|`) is sniffed, and a file that is not UTF-8
    is read as Windows-1252, which is what spreadsheets in Colombia usually save.

    Raises:
        InputFormatError: The file does not exist, is a directory, or has no CSV header.
    """
    file_path = Path(path)
    if not file_path.exists():
        raise InputFormatError(f"no such file: {os.fspath(path)!r}")
    if not file_path.is_file():
        raise InputFormatError(f"not a file: {os.fspath(path)!r}")
    kind = fmt or detect_format(file_path)
    if kind == "jsonl":
        return _read_jsonl(file_path)
    return _read_csv(file_path)


def _read_jsonl(path: Path) -> Iterator[Row | BadLine]:
    with path.open("rb") as stream:
        for number, raw in enumerate(stream, start=1):
            try:
                text = raw.decode("utf-8-sig" if number == 1 else "utf-8")
            except UnicodeDecodeError as exc:
                yield BadLine(number, f"not UTF-8 (byte {exc.start})")
                continue
            if not text.strip():
                continue
            try:
                value = json.loads(text)
            except json.JSONDecodeError as exc:
                # The decoder's message names a position, never the text around it.
                yield BadLine(number, f"not valid JSON ({exc.msg} at column {exc.colno})")
                continue
            if not isinstance(value, dict):
                yield BadLine(number, f"expected a JSON object, got {_json_type(value)}")
                continue
            yield Row(number, value)


def _json_type(value: object) -> str:
    return {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number"
    )


def _decode(path: Path) -> str:
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def _read_csv(path: Path) -> Iterator[Row | BadLine]:
    text = _decode(path)
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(
            text[:8192], delimiters=",;\t|"
        )
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text, newline=""), dialect)
    header = next(reader, None)
    if not header or not any(name.strip() for name in header):
        raise InputFormatError(f"{os.fspath(path)!r} has no CSV header row")
    names = [name.strip() for name in header]
    while True:
        line = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield BadLine(line, f"not valid CSV ({type(exc).__name__})")
            return
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) > len(names):
            yield BadLine(line, f"{len(cells)} cells for {len(names)} columns")
            continue
        # Missing trailing cells are read as empty, the way spreadsheets write them.
        yield Row(line, dict(zip(names, [*cells, *[""] * (len(names) - len(cells))], strict=True)))
