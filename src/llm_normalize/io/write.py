"""Writing records back to JSONL and CSV files, beside their normalized values.

Every write goes to a temporary file beside the target and is moved in place only when it
is complete, so a failed run never leaves half a file behind.

The files hold personal data, so every file written here is readable by its owner only
(mode 0600), whatever the umask: the temporary file is made 0600 before the first byte is
written, and the move keeps that mode. A file that already exists is replaced, not
rewritten, so it ends up 0600 too, even if it was more open before (a file an earlier
version created world-readable is closed on the next write); ``chmod`` it afterwards to
share it.
"""

from __future__ import annotations

import csv
import json
import os
import sys
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, Final

from llm_normalize.io.read import FileFormat
from llm_normalize.records import (
    NORMALIZATION_META,
    NORMALIZATION_PREVIOUS,
    NORMALIZED_AT,
    NORMALIZED_DATA,
    UPDATED_AT,
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

PRIVATE_FILE_MODE: Final = 0o600
"""The mode of every file written here: read and write for its owner only."""


def record_to_json(result: NormalizedRecord) -> dict[str, Any]:
    """The original record plus `normalizedData` and a PII-free `normalizationMeta`."""
    out = dict(result.original)
    out[NORMALIZED_DATA] = result.normalized
    out[NORMALIZATION_META] = normalization_meta(result)
    return out


@contextmanager
def _atomic_writer(path: str | os.PathLike[str] | None) -> Iterator[IO[str]]:
    """Write to a temporary file beside `path` and move it in place only on success."""
    if path is None or os.fspath(path) == "-":
        yield sys.stdout
        return
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        # mkstemp creates 0600 files already; say so explicitly, before any data is written,
        # rather than rely on it.
        if hasattr(os, "fchmod"):  # not on Windows, whose files have no such mode bits
            os.fchmod(fd, PRIVATE_FILE_MODE)
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as stream:
            yield stream
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_text(path: str | os.PathLike[str] | None, text: str) -> None:
    """Write `text` to `path` (``None`` or ``-``: standard output), owner-only and atomically.

    For files holding personal data, such as the quality report's HTML: the file is created
    with mode 0600 and moved in place only when complete (see the module docstring).
    """
    with _atomic_writer(path) as stream:
        stream.write(text)


def write_jsonl(
    results: Iterator[NormalizedRecord], path: str | os.PathLike[str] | None
) -> Iterator[NormalizedRecord]:
    """Write each result as a JSON line and pass it on (so callers can count as it streams)."""
    with _atomic_writer(path) as stream:
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
) -> Iterator[NormalizedRecord]:
    """Write the original columns, a `<field>_normalized` column per field, and `normalization_review`.

    `normalization_review` lists the fields whose value the rules were not confident about
    (separated by `;`), so a reviewer can filter on it.
    """
    header = [*columns, *(f"{name}_normalized" for name in fields), "normalization_review"]
    with _atomic_writer(path) as stream:
        writer = csv.writer(stream)
        writer.writerow(header)
        for result in results:
            normalized = result.normalized
            row = [_cell(result.original.get(name)) for name in columns]
            row += [_cell(normalized.get(name)) for name in fields]
            row.append(";".join(sorted(result.flags)))
            writer.writerow(row)
            yield result


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, default=str)


def write_items(
    items: Iterable[Mapping[str, Any]], path: str | os.PathLike[str] | None, fmt: FileFormat
) -> int:
    """Write stored lead items (the export command); returns how many.

    JSONL: each item as stored. CSV: the original attributes, then a `<field>_normalized`
    column for every field found in any `normalizedData`, then `normalization_review`
    (the fields flagged for review). CSV holds the items in memory to learn its columns.
    """
    if fmt == "jsonl":
        count = 0
        with _atomic_writer(path) as stream:
            for item in items:
                stream.write(json.dumps(dict(item), ensure_ascii=False, default=str))
                stream.write("\n")
                count += 1
        return count
    rows = [dict(item) for item in items]
    own = {NORMALIZED_DATA, NORMALIZATION_META, NORMALIZED_AT, UPDATED_AT, NORMALIZATION_PREVIOUS}
    columns = list(dict.fromkeys(k for row in rows for k in row if k not in own))
    for extra in (NORMALIZED_AT, UPDATED_AT):
        if any(extra in row for row in rows):
            columns.append(extra)
    fields = list(
        dict.fromkeys(
            name
            for row in rows
            if isinstance(row.get(NORMALIZED_DATA), Mapping)
            for name in row[NORMALIZED_DATA]
        )
    )
    with _atomic_writer(path) as stream:
        writer = csv.writer(stream)
        writer.writerow(
            [*columns, *(f"{name}_normalized" for name in fields), "normalization_review"]
        )
        for row in rows:
            data = row.get(NORMALIZED_DATA)
            data = data if isinstance(data, Mapping) else {}
            meta = row.get(NORMALIZATION_META)
            flags = meta.get("flags") if isinstance(meta, Mapping) else None
            review = sorted(flags) if isinstance(flags, Mapping) else []
            writer.writerow(
                [_cell(row.get(name)) for name in columns]
                + [_cell(data.get(name)) for name in fields]
                + [";".join(review)]
            )
    return len(rows)
