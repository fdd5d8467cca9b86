"""The file commands: ``normalize`` (file to file), ``import`` (file to store), ``export``."""

from __future__ import annotations

import argparse
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

from llm_normalize.cli._common import (
    EXIT_BAD_LINES,
    EXIT_OK,
    MAX_LISTED_BAD_LINES,
    PROG,
    UsageError,
    build_normalizer,
    store_label,
)
from llm_normalize.io import (
    BadLine,
    FileFormat,
    Row,
    detect_format,
    read_records,
    write_csv,
    write_items,
    write_jsonl,
)
from llm_normalize.records import NormalizedRecord
from llm_normalize.report import RunReport
from llm_normalize.stores import LEAD_ID, open_store


def normalize(args: argparse.Namespace, err: TextIO) -> int:
    in_format = detect_format(args.input, args.format)
    output: str | None = args.output
    if output is not None and output != "-":
        if Path(output).exists() and Path(output).resolve() == Path(args.input).resolve():
            raise UsageError("OUTPUT is the INPUT file; originals are never overwritten")
        out_format = detect_format(output)
    else:
        out_format = in_format

    overrides: dict[str, Any] = {}
    if args.fields:
        overrides["fields_to_normalize"] = args.fields
    config, normalizer = build_normalizer(args, **overrides)

    bad_lines: list[BadLine] = []
    good_rows = _read_good_rows(args.input, in_format, bad_lines, err)

    results: Iterator[NormalizedRecord]
    if out_format == "jsonl":
        results = write_jsonl(normalizer.iter_normalize(good_rows), output)
    else:
        # CSV needs its header first: hold the records to learn every column.
        records = list(good_rows)
        columns = list(dict.fromkeys(key for record in records for key in record))
        fields = [name for name in config.fields_to_normalize if name in columns]
        results = write_csv(
            normalizer.iter_normalize(records), output, columns=columns, fields=fields
        )
    for _ in results:
        pass
    report = normalizer.last_report
    assert report is not None  # set once the results are exhausted

    if args.report:
        Path(args.report).write_text(report.model_dump_json(indent=2) + "\n", encoding="utf-8")
    if not args.quiet:
        print(_describe(report, len(bad_lines), args.input, output), file=err)
    return EXIT_BAD_LINES if bad_lines else EXIT_OK


def _read_good_rows(
    path: str, fmt: FileFormat, bad_lines: list[BadLine], err: TextIO
) -> Iterator[dict[str, Any]]:
    rows = read_records(path, fmt)  # checks the file now, before any output

    def good_rows() -> Iterator[dict[str, Any]]:
        for item in rows:
            if isinstance(item, Row):
                yield item.record
            else:
                bad_lines.append(item)
                if len(bad_lines) <= MAX_LISTED_BAD_LINES:
                    print(f"{PROG}: {path}: line {item.line}: {item.problem}", file=err)
        if len(bad_lines) > MAX_LISTED_BAD_LINES:
            print(
                f"{PROG}: ... and {len(bad_lines) - MAX_LISTED_BAD_LINES} more malformed lines",
                file=err,
            )

    return good_rows()


def import_file(args: argparse.Namespace, err: TextIO) -> int:
    fmt = detect_format(args.input, args.format)
    rows = read_records(args.input, fmt)  # checks the file now, before the store is opened
    skipped: list[BadLine] = []
    generated = 0

    def skip(line: BadLine) -> None:
        skipped.append(line)
        if len(skipped) <= MAX_LISTED_BAD_LINES:
            print(f"{PROG}: {args.input}: line {line.line}: {line.problem}", file=err)

    def importable() -> Iterator[dict[str, Any]]:
        nonlocal generated
        for item in rows:
            if isinstance(item, BadLine):
                skip(item)
                continue
            record = item.record
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
                skip(BadLine(item.line, problem))
        if len(skipped) > MAX_LISTED_BAD_LINES:
            print(
                f"{PROG}: ... and {len(skipped) - MAX_LISTED_BAD_LINES} more lines skipped",
                file=err,
            )

    store = open_store(args.store)
    try:
        count = store.put(importable())
    finally:
        store.close()
    print(
        f"{PROG}: {count} leads imported into {store_label(args.store)} "
        f"({generated} leadIds generated; {len(skipped)} lines skipped)",
        file=err,
    )
    return EXIT_BAD_LINES if skipped else EXIT_OK


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


def export(args: argparse.Namespace, err: TextIO) -> int:
    output: str = args.output
    fmt: FileFormat = "jsonl" if output == "-" else detect_format(output)
    store = open_store(args.store)
    try:
        count = write_items(store.scan(), None if output == "-" else output, fmt)
    finally:
        store.close()
    target = "standard output" if output == "-" else output
    print(f"{PROG}: {count} leads exported from {store_label(args.store)} to {target}", file=err)
    return EXIT_OK


def _describe(report: RunReport, bad: int, source: str, output: str | None) -> str:
    target = "standard output" if output in (None, "-") else os.fspath(output or "")
    review = ", ".join(
        f"{name} {count}" for name, count in sorted(report.not_confident_by_field.items())
    )
    parts = [
        f"{PROG}: {report.records_in} records from {source} -> {target}",
        f"{report.fields_normalized} fields normalized, {report.fields_changed} changed",
        f"{report.not_confident} to review" + (f" ({review})" if review else ""),
    ]
    if report.model_id is not None:
        cost = (
            "" if report.estimated_cost_usd is None else f", est. ${report.estimated_cost_usd:.4f}"
        )
        parts.append(
            f"model: {report.model_calls} calls, {report.values_sent_to_model} values, "
            f"{report.cache_hits} cache hits, {report.input_tokens}+{report.output_tokens} tokens{cost}"
        )
    if report.guard_rejections:
        parts.append(f"{sum(report.guard_rejections.values())} model answers rejected by the guard")
    if report.stopped_early:
        parts.append(f"model calls stopped early ({report.stopped_early})")
    if report.records_failed:
        parts.append(f"{report.records_failed} records failed")
    parts.append(f"{bad} malformed lines skipped")
    return "; ".join(parts)
