"""The file commands: ``normalize`` (file to file) and ``export`` (store to file)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import TextIO

from llm_normalize.cli._cache import describe_cache
from llm_normalize.cli._common import (
    EXIT_BAD_LINES,
    EXIT_OK,
    PROG,
    UsageError,
    build_normalizer,
    counted,
    progress_bar,
    resolve_config,
    store_label,
)
from llm_normalize.cli._input import STDIN, InputFile
from llm_normalize.io import (
    FileFormat,
    detect_format,
    write_csv,
    write_items,
    write_jsonl,
)
from llm_normalize.profiles.colombia import colombian_leads
from llm_normalize.report import RunReport
from llm_normalize.stores import open_store

__all__ = ["export", "normalize"]


def normalize(args: argparse.Namespace, err: TextIO) -> int:
    in_format = _input_format(args)
    output: str | None = args.output
    out_format = in_format if output in (None, STDIN) else detect_format(output)
    if output not in (None, STDIN) and _same_file(output, args.input):
        raise UsageError("OUTPUT is the INPUT file; originals are never overwritten")
    config = resolve_config(args, **({"fields_to_normalize": args.fields} if args.fields else {}))
    with InputFile(args, in_format, err) as source:
        profile = colombian_leads(config.address_style)
        mapping = source.field_columns(
            profile, args, list(config.fields_to_normalize) if args.fields else None
        )
        if mapping:
            config = config.model_copy(update={"fields_to_normalize": list(mapping)})
        normalizer = build_normalizer(args, config)
        columns = {column: name for name, column in mapping.items()}
        results = normalizer.iter_normalize(source.records, columns=columns)
        if out_format == "jsonl":
            written = write_jsonl(results, output)
        else:
            written = write_csv(
                results,
                output,
                columns=_csv_columns(args, source),
                fields=list(mapping),
                dialect="excel" if args.excel else "standard",
            )
        with progress_bar(
            err, total=source.estimated_total(), unit="record", off=args.quiet
        ) as bar:
            for _ in written:
                if bar is not None:
                    bar.update()
    report = normalizer.last_report
    assert report is not None  # set once the results are exhausted
    if args.report:
        Path(args.report).write_text(report.model_dump_json(indent=2) + "\n", encoding="utf-8")
    if not args.quiet:
        print(_describe(report, source, output, mapping), file=err)
        if report.model_id is not None:
            cache = describe_cache(normalizer.cache)
            print(f"{PROG}: value cache: {cache}, {report.cache_hits} cache hits", file=err)
    return EXIT_BAD_LINES if source.bad else EXIT_OK


def _same_file(output: str, source: str) -> bool:
    if source == STDIN or not Path(output).exists():
        return False
    return Path(output).resolve() == Path(source).resolve()


def _input_format(args: argparse.Namespace) -> FileFormat:
    if args.input == STDIN and args.format is None:
        raise UsageError("reading standard input (-) needs --format jsonl or --format csv")
    return detect_format(args.input, args.format)


def _csv_columns(args: argparse.Namespace, source: InputFile) -> list[str]:
    """The CSV output's original columns: the input's header, or every key of its JSON lines."""
    if source.format == "jsonl" and args.input == STDIN:
        raise UsageError(
            "CSV output from JSON lines on standard input needs every column first: "
            "write JSONL (-o out.jsonl), or give the input as a file"
        )
    return source.headers


def export(args: argparse.Namespace, err: TextIO) -> int:
    output: str = args.output
    fmt: FileFormat = "jsonl" if output == STDIN else detect_format(output)
    store = open_store(args.store)
    try:
        # Every lead: all of them are "due" when forced, counted without reading them.
        total = store.count_due(now_ms=0, ttl_days=0, force=True)
        with progress_bar(err, total=total, unit="lead", off=args.quiet) as bar:
            count = write_items(
                counted(store.scan(), bar),
                None if output == STDIN else output,
                fmt,
                dialect="excel" if args.excel else "standard",
            )
    finally:
        store.close()
    if not args.quiet:
        target = "standard output" if output == STDIN else output
        print(
            f"{PROG}: {count} leads exported from {store_label(args.store)} to {target}",
            file=err,
        )
    return EXIT_OK


def _describe(
    report: RunReport, source: InputFile, output: str | None, mapping: dict[str, str]
) -> str:
    target = "standard output" if output in (None, STDIN) else os.fspath(output or "")
    review = ", ".join(
        f"{name} {count}" for name, count in sorted(report.not_confident_by_field.items())
    )
    origin = "standard input" if source.path == STDIN else source.path
    how = source.reading()
    parts = [
        f"{PROG}: {report.records_in} records from {origin}"
        + (f" ({how})" if how else "")
        + f" -> {target}",
        f"{report.fields_normalized} fields normalized, {report.fields_changed} changed",
        f"{report.not_confident} to review" + (f" ({review})" if review else ""),
    ]
    renamed = [f"{column!r} as {name!r}" for name, column in mapping.items() if column != name]
    if renamed:
        parts.append("columns read " + ", ".join(renamed))
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
    parts.append(f"{len(source.bad)} malformed lines skipped")
    return "; ".join(parts)
