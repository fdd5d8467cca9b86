"""The input file of ``normalize`` and ``import``: its records, its bad lines, its columns."""

from __future__ import annotations

import argparse
import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final, TextIO

from llm_normalize.cli._common import MAX_LISTED_BAD_LINES, PROG
from llm_normalize.columns import match_columns, parse_column_map
from llm_normalize.fields import Profile
from llm_normalize.io import BadLine, FileFormat, Row, read_records

__all__ = ["STDIN", "InputFile"]

STDIN: Final = "-"
_CHUNK: Final = 1 << 20


class InputFile:
    """The records of ``args.input``, read once, with each bad line listed on `err`.

    A context manager: the file is closed on the way out, even when the command fails
    before reading it all.

    The first record is read at once: its keys (a CSV file's header) are the `headers` the
    fields are matched against, and a file that cannot be opened fails before any output.

    Attributes:
        path: The input as given (``-`` for standard input).
        bad: The bad lines met so far.
        headers: The first record's keys; empty for an input without records.
        rows: The good rows (records with their line numbers), the first one included.
    """

    def __init__(self, args: argparse.Namespace, fmt: FileFormat, err: TextIO) -> None:
        self.path: str = args.input
        self.format = fmt
        self.bad: list[BadLine] = []
        self._err = err
        self._reader = read_records(
            self.path, fmt, delimiter=args.delimiter, encoding=args.encoding
        )
        rows = self._good_rows()
        first = next(rows, None)
        self.headers: list[str] = [
            key for key in (first.record if first else ()) if isinstance(key, str)
        ]
        if fmt == "csv" and self._reader.columns:
            self.headers = [name for name in self._reader.columns if name]
        elif first is not None and fmt == "jsonl" and self.path != STDIN:
            self.headers = self._every_key(args.encoding)
        self.rows: Iterator[Row] = rows if first is None else itertools.chain([first], rows)

    def _every_key(self, encoding: str | None) -> list[str]:
        """Every key of a JSON lines file, in the order met: lines may each have others.

        The file is read once more for it (standard input cannot be: its first record's keys
        stand for all).
        """
        keys: dict[str, None] = {}
        for item in read_records(self.path, "jsonl", encoding=encoding):
            if isinstance(item, Row):
                keys.update((key, None) for key in item.record if isinstance(key, str))
        return list(keys)

    def __enter__(self) -> InputFile:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop reading and close the file (never standard input)."""
        self._reader.close()

    @property
    def records(self) -> Iterator[dict[str, Any]]:
        """The good records, without their line numbers."""
        return (row.record for row in self.rows)

    def _good_rows(self) -> Iterator[Row]:
        for item in self._reader:
            if isinstance(item, Row):
                yield item
            else:
                self.bad.append(item)
                if len(self.bad) <= MAX_LISTED_BAD_LINES:
                    print(f"{PROG}: {self.path}: line {item.line}: {item.problem}", file=self._err)
        if len(self.bad) > MAX_LISTED_BAD_LINES:
            more = len(self.bad) - MAX_LISTED_BAD_LINES
            print(f"{PROG}: ... and {more} more bad lines", file=self._err)

    def field_columns(
        self, profile: Profile, args: argparse.Namespace, fields: list[str] | None
    ) -> dict[str, str]:
        """``{field: column}`` of the input (see `match_columns`); empty for an empty input.

        Raises:
            NoFieldColumnsError: No field (or a field of `fields`, or of ``--map``) has a column.
        """
        if not self.headers:
            return {}
        explicit = parse_column_map(args.map)
        return match_columns(self.headers, profile, fields=fields, explicit=explicit)

    def reading(self) -> str:
        """How the input was read, e.g. ``"cp1252, ';'-separated"`` (empty when plain UTF-8)."""
        encoding = self._reader.encoding
        delimiter = self._reader.delimiter
        parts = []
        if encoding and encoding.replace("-", "").replace("_", "").lower() not in ("utf8",):
            parts.append(str(encoding))
        if self.format == "csv" and delimiter and delimiter != ",":
            parts.append("tab-separated" if delimiter == "\t" else f"{delimiter!r}-separated")
        return ", ".join(parts)

    def estimated_total(self) -> int | None:
        """The number of lines of a regular input file (a progress bar's total), else None."""
        if self.path == STDIN:
            return None
        path = Path(self.path)
        if not path.is_file():
            return None
        lines = 0
        last = b"\n"
        with path.open("rb") as stream:
            while chunk := stream.read(_CHUNK):
                lines += chunk.count(b"\n")
                last = chunk[-1:]
        lines += last != b"\n"
        return max(lines - (1 if self.format == "csv" else 0), 0)
