"""What reading yields: a `Row` or a `BadLine`, each with the line it starts on."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, TypeAlias

__all__ = ["BadLine", "FileFormat", "Row"]

FileFormat: TypeAlias = Literal["jsonl", "csv"]


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
