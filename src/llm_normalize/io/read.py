"""Reading records from JSONL and CSV files, standard input and pipes.

Reading is forgiving per line and strict per file: a malformed line becomes a `BadLine`
(its line number and what was wrong, never its content) and reading goes on; a file that
cannot be read at all raises `InputFormatError`. Files are read as a stream, so memory stays
flat however many rows they have (a JSON array, which the stdlib cannot stream, excepted).
"""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Callable, Generator
from pathlib import Path
from types import TracebackType
from typing import BinaryIO, Final

from llm_normalize.exceptions import InputFormatError
from llm_normalize.io._csv_read import check_delimiter, open_csv
from llm_normalize.io._encoding import open_lines
from llm_normalize.io._jsonl_read import read_jsonl
from llm_normalize.io._rows import BadLine, FileFormat, Row

__all__ = [
    "BadLine",
    "FileFormat",
    "RecordReader",
    "Row",
    "detect_format",
    "read_records",
]

_STDIN: Final = "-"  # the source name that means standard input

_SUFFIXES: Final[dict[str, FileFormat]] = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".csv": "csv",
    ".tsv": "csv",
    ".txt": "csv",
}


def detect_format(path: str | os.PathLike[str], explicit: str | None = None) -> FileFormat:
    """Return the file format from `explicit` or else from the file name's suffix.

    Raises:
        InputFormatError: Neither says jsonl or csv (standard input, ``-``, has no suffix).
    """
    if explicit is not None:
        if explicit not in ("jsonl", "csv"):
            raise InputFormatError(f"unknown format {explicit!r}; use jsonl or csv")
        return explicit  # type: ignore[return-value]  # checked just above
    if os.fspath(path) == _STDIN:
        raise InputFormatError("standard input has no name to tell its format by; pass --format")
    suffix = Path(path).suffix.lower()
    found = _SUFFIXES.get(suffix)
    if found is None:
        raise InputFormatError(
            f"cannot tell the format of {os.fspath(path)!r} from its suffix {suffix!r}; "
            "name it .jsonl or .csv, or pass --format"
        )
    return found


class RecordReader:
    r"""The records of one source, one `Row` or `BadLine` at a time, and how they are read.

    Made by `read_records`, which has already read the first megabyte to decide the
    encoding and, for CSV, the delimiter and the header. The file is closed when the
    records run out; use the reader as a context manager, or call `close`, to close it sooner.

    Attributes:
        format: ``"jsonl"`` or ``"csv"``.
        encoding: Python's name of the encoding the records are decoded with, e.g.
            ``"utf-8"``, ``"cp1252"`` (Windows-1252) or ``"utf-16-le"``.
        delimiter: The CSV delimiter (``","``, ``";"``, ``"\t"``, ``"|"``...); None for JSONL.
        columns: The CSV header's column names, in order; None for JSONL.
    """

    __slots__ = ("_items", "_on_close", "columns", "delimiter", "encoding", "format")

    def __init__(
        self,
        items: Generator[Row | BadLine, None, None],
        *,
        format: FileFormat,
        encoding: str,
        delimiter: str | None = None,
        columns: tuple[str, ...] | None = None,
        on_close: Callable[[], None] | None = None,
    ) -> None:
        self._items: Generator[Row | BadLine, None, None] | None = items
        self._on_close = on_close
        self.format: FileFormat = format
        self.encoding = encoding
        self.delimiter = delimiter
        self.columns = columns

    def __iter__(self) -> RecordReader:
        return self

    def __next__(self) -> Row | BadLine:
        if self._items is None:
            raise StopIteration
        try:
            return next(self._items)
        except StopIteration:
            self.close()
            raise

    def close(self) -> None:
        """Stop reading and close the file (never standard input); safe to call twice."""
        items, self._items = getattr(self, "_items", None), None
        if items is not None:
            items.close()
        on_close, self._on_close = getattr(self, "_on_close", None), None
        if on_close is not None:
            on_close()

    def __enter__(self) -> RecordReader:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def __del__(self) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"RecordReader(format={self.format!r}, encoding={self.encoding!r}, "
            f"delimiter={self.delimiter!r})"
        )


def read_records(
    source: str | os.PathLike[str],
    fmt: FileFormat | None = None,
    *,
    delimiter: str | None = None,
    encoding: str | None = None,
) -> RecordReader:
    """Stream the records of a JSONL or CSV source, one `Row` or `BadLine` at a time.

    JSONL: one JSON object per line; blank lines are skipped; NaN, Infinity, lone
    surrogates and nesting deeper than 64 levels make a line bad. A file starting with ``[``
    is read as one JSON array (loaded whole: the stdlib cannot stream one), each element
    numbered from 1 as its line. JSON is UTF-8 unless a BOM says UTF-16.

    CSV: a header row, then one record per row, each with the line it starts on. The
    delimiter is Excel's ``sep=`` first line, else whichever of ``,`` ``;`` tab ``|`` gives
    the first rows the header's cell count. A row with fewer cells is padded with ``""``;
    one with more is a bad line. The encoding is UTF-8, unless a BOM says UTF-16 or the first
    megabyte is not UTF-8 anywhere: then it is Windows-1252, what Excel saves in Colombia.

    A line the encoding cannot decode is a bad line; valid UTF-8 is never decoded otherwise.

    Args:
        source: A path (a file, a named pipe, ``/dev/stdin``), or ``"-"`` for standard input.
        fmt: ``"jsonl"`` or ``"csv"``; by default told by the suffix (required for ``"-"``).
        delimiter: The CSV delimiter, instead of detecting it.
        encoding: The encoding, instead of detecting it (a Python codec name).

    Returns:
        An iterator of `Row` and `BadLine` that also says the encoding and delimiter used.

    Raises:
        InputFormatError: The source is missing or a directory, its format is unknown, or a
            CSV file has no usable header row.
        ConfigurationError: `delimiter` or `encoding` cannot be used.
    """
    if delimiter is not None:
        check_delimiter(delimiter)
    is_stdin = os.fspath(source) == _STDIN
    if not is_stdin:
        _check_path(source)
    kind = detect_format(source, fmt)
    if is_stdin:
        return _reader(_stdin(), kind, "standard input", delimiter, encoding, on_close=None)
    file = _File(source)
    try:
        return _reader(
            file.stream, kind, repr(os.fspath(source)), delimiter, encoding, on_close=file.close
        )
    except BaseException:
        file.close()
        raise


def _reader(
    stream: BinaryIO,
    kind: FileFormat,
    label: str,
    delimiter: str | None,
    encoding: str | None,
    *,
    on_close: Callable[[], None] | None,
) -> RecordReader:
    opened = open_lines(stream, encoding, legacy=kind == "csv")
    if kind == "jsonl":
        items = read_jsonl(opened.lines, opened.codec)
        return RecordReader(items, format=kind, encoding=opened.codec, on_close=on_close)
    table = open_csv(opened, label, delimiter)
    return RecordReader(
        table.rows,
        format=kind,
        encoding=opened.codec,
        delimiter=table.delimiter,
        columns=table.columns,
        on_close=on_close,
    )


def _check_path(source: str | os.PathLike[str]) -> None:
    path = Path(source)
    if not path.exists():
        raise InputFormatError(f"no such file: {os.fspath(source)!r}")
    if path.is_dir():
        raise InputFormatError(f"{os.fspath(source)!r} is a directory, not a file")


class _File:
    """A file opened for reading whose descriptor only `close` closes.

    A reader dropped unread is closed by its finalizer. Were the descriptor the `FileIO`'s,
    a reader caught in a reference cycle could see the file finalized first, with a
    ResourceWarning, since the collector finalizes a cycle in no set order.
    """

    __slots__ = ("_fd", "stream")

    def __init__(self, source: str | os.PathLike[str]) -> None:
        # Any file that is not a directory: a named pipe or /dev/stdin is read like a file.
        try:
            self._fd = os.open(source, os.O_RDONLY | getattr(os, "O_BINARY", 0))
        except OSError as exc:
            raise InputFormatError(f"cannot open {os.fspath(source)!r}: {exc.strerror}") from None
        self.stream: BinaryIO = io.BufferedReader(io.FileIO(self._fd, "r", closefd=False))

    def close(self) -> None:
        fd, self._fd = self._fd, -1
        if fd >= 0:
            self.stream.close()
            os.close(fd)


def _stdin() -> BinaryIO:
    stdin = sys.stdin
    if stdin is None:
        raise InputFormatError("there is no standard input to read")
    return stdin.buffer
