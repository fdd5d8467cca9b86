"""The ``import`` command: load leads from a file into a store."""

from __future__ import annotations

import argparse
import uuid
from collections.abc import Iterator
from typing import Any, TextIO

from llm_normalize.cli._common import (
    EXIT_BAD_LINES,
    EXIT_OK,
    MAX_LISTED_BAD_LINES,
    PROG,
    counted,
    progress_bar,
    store_label,
)
from llm_normalize.cli._input import InputFile
from llm_normalize.columns import NoFieldColumnsError
from llm_normalize.io import BadLine, detect_format
from llm_normalize.profiles.colombia import COLOMBIAN_LEADS
from llm_normalize.stores import LEAD_ID, open_store

__all__ = ["import_file"]


def import_file(args: argparse.Namespace, err: TextIO) -> int:
    skipped = _Skipped(args.input, err)
    generated = 0
    with InputFile(args, detect_format(args.input, args.format), err) as source:
        renames = _renames(source, args, err)

        def importable() -> Iterator[dict[str, Any]]:
            nonlocal generated
            for row in source.rows:
                record = {renames.get(key, key): value for key, value in row.record.items()}
                problem, may_generate = _lead_id_problem(record)
                if problem is None:
                    yield record
                elif may_generate and args.generate_ids:
                    generated += 1
                    yield {
                        LEAD_ID: str(uuid.uuid4()),
                        **{k: v for k, v in record.items() if k != LEAD_ID},
                    }
                else:
                    skipped.add(BadLine(row.line, problem))

        store = open_store(args.store, create=True)
        try:
            with progress_bar(
                err, total=source.estimated_total(), unit="lead", off=args.quiet
            ) as bar:
                count = store.put(counted(importable(), bar))
        finally:
            store.close()
    skipped.finish()
    bad = len(source.bad) + skipped.count
    renamed = "".join(f"; {column!r} stored as {name!r}" for column, name in renames.items())
    if not args.quiet:
        print(
            f"{PROG}: {count} leads imported into {store_label(args.store)} "
            f"({generated} leadIds generated; {bad} lines skipped{renamed})",
            file=err,
        )
    return EXIT_BAD_LINES if bad else EXIT_OK


def _renames(source: InputFile, args: argparse.Namespace, err: TextIO) -> dict[str, str]:
    """``{column: field}`` for the columns named otherwise than their field.

    Such columns (Nombres, Dirección de residencia) are stored under the field's name, so
    that runs find them; the values are stored as read.
    """
    try:
        matched = source.field_columns(COLOMBIAN_LEADS, args, None)
    except NoFieldColumnsError as exc:
        if args.map:
            raise
        print(f"{PROG}: warning: {exc}; the leads are imported as they are", file=err)
        matched = {}
    return {column: name for name, column in matched.items() if column != name}


class _Skipped:
    """Lines the import skips for their leadId, listed on `err` up to a limit."""

    def __init__(self, path: str, err: TextIO) -> None:
        self.path = path
        self.count = 0
        self._err = err

    def add(self, line: BadLine) -> None:
        self.count += 1
        if self.count <= MAX_LISTED_BAD_LINES:
            print(f"{PROG}: {self.path}: line {line.line}: {line.problem}", file=self._err)

    def finish(self) -> None:
        if self.count > MAX_LISTED_BAD_LINES:
            more = self.count - MAX_LISTED_BAD_LINES
            print(f"{PROG}: ... and {more} more lines skipped", file=self._err)


def _lead_id_problem(record: dict[str, Any]) -> tuple[str | None, bool]:
    """What is wrong with a record's leadId (None: nothing), and whether --generate-ids may fix it.

    A non-empty string is kept exactly as typed. The messages never quote a value.
    """
    lead_id = record.get(LEAD_ID)
    if isinstance(lead_id, str):
        if lead_id.strip():
            return None, False
        return (
            f"{LEAD_ID} is blank; give the lead an id, or pass --generate-ids to generate one",
            True,
        )
    if lead_id is None:
        return (
            f"no {LEAD_ID}; give the lead an id, or pass --generate-ids to generate one",
            True,
        )
    if isinstance(lead_id, int | float) and not isinstance(lead_id, bool):
        # Stores key leads by text, and 5, 5.0 and "5" would all be one lead or none:
        # the user says which text is meant.
        return (
            f'{LEAD_ID} is a number; lead ids are text: quote it ("{LEAD_ID}": "...") and '
            "import the line again",
            False,
        )
    kind = {bool: "a boolean", list: "an array", dict: "an object"}.get(
        type(lead_id), type(lead_id).__name__
    )
    return f"{LEAD_ID} is {kind}; lead ids are non-empty text", False
