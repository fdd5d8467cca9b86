"""The `llm-normalize` command.

    llm-normalize normalize INPUT [-o OUTPUT] [--fields a,b] [--format jsonl|csv] [--backend rules]

Exit status: 0 when every line was read, 1 when some lines were malformed (the others are
still normalized and written), 2 for a usage error (missing file, unknown field, bad option).
Messages name files, line numbers, fields and counts, never field values.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Final, TextIO

from llm_normalize._version import __version__
from llm_normalize.config import NormalizationConfig
from llm_normalize.exceptions import LLMNormalizeError
from llm_normalize.files import BadLine, Row, detect_format, read_records, write_csv, write_jsonl
from llm_normalize.pipeline import NormalizedRecord, Normalizer, RunSummary

__all__ = ["main"]

PROG: Final = "llm-normalize"
EXIT_OK: Final = 0
EXIT_BAD_LINES: Final = 1
EXIT_USAGE: Final = 2
# Past this many, malformed lines are counted but no longer listed one by one.
_MAX_LISTED_BAD_LINES: Final = 20


class _UsageError(Exception):
    """A problem with the command line or its files, reported as one line, exit 2."""


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Normalize messy web-form records with rules and, later, an LLM.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    normalize = commands.add_parser(
        "normalize",
        help="normalize a JSONL or CSV file of records",
        description=(
            "Normalize each record of INPUT and write it with its normalized values: "
            "a normalizedData object per JSON line, or <field>_normalized columns in CSV. "
            "The input file is never modified."
        ),
    )
    normalize.add_argument("input", metavar="INPUT", help="a .jsonl or .csv file of records")
    normalize.add_argument(
        "-o",
        "--output",
        metavar="OUTPUT",
        help="where to write (.jsonl or .csv; default: standard output, in the input's format)",
    )
    normalize.add_argument(
        "--format",
        choices=("jsonl", "csv"),
        help="the input format, when the file name does not tell",
    )
    normalize.add_argument(
        "--fields",
        metavar="A,B",
        help="comma-separated fields to normalize (default: the seven seed fields)",
    )
    normalize.add_argument(
        "--backend",
        choices=("rules",),
        default="rules",
        help="who decides values: 'rules' (offline, deterministic; the only one so far)",
    )
    normalize.add_argument(
        "-q", "--quiet", action="store_true", help="print nothing but errors on standard error"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = _build_parser().parse_args(argv)
    try:
        if args.command == "normalize":
            return _normalize(args, sys.stderr)
    except (_UsageError, LLMNormalizeError) as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted; the output file was not written", file=sys.stderr)
        return 130
    raise AssertionError(f"unhandled command {args.command!r}")  # pragma: no cover


def _normalize(args: argparse.Namespace, err: TextIO) -> int:
    in_format = detect_format(args.input, args.format)
    output: str | None = args.output
    if output is not None and output != "-":
        if Path(output).exists() and Path(output).resolve() == Path(args.input).resolve():
            raise _UsageError("OUTPUT is the INPUT file; originals are never overwritten")
        out_format = detect_format(output)
    else:
        out_format = in_format

    overrides: dict[str, Any] = {}
    if args.fields:
        overrides["fields_to_normalize"] = args.fields
    config = NormalizationConfig.resolve(**overrides)
    normalizer = Normalizer(config=config)

    bad_lines: list[BadLine] = []
    rows = read_records(args.input, in_format)  # checks the file now, before any output

    def good_rows() -> Iterator[dict[str, Any]]:
        for item in rows:
            if isinstance(item, Row):
                yield item.record
            else:
                bad_lines.append(item)
                if len(bad_lines) <= _MAX_LISTED_BAD_LINES:
                    print(f"{PROG}: {args.input}: line {item.line}: {item.problem}", file=err)

    summary = RunSummary()
    results: Iterator[NormalizedRecord]
    if out_format == "jsonl":
        results = write_jsonl(normalizer.iter_normalize(good_rows()), output)
    else:
        # CSV needs its header first: hold the records to learn every column.
        records = list(good_rows())
        columns = list(dict.fromkeys(key for record in records for key in record))
        fields = [name for name in config.fields_to_normalize if name in columns]
        results = write_csv(
            normalizer.iter_normalize(records), output, columns=columns, fields=fields
        )
    for result in results:
        summary.add(result)

    if len(bad_lines) > _MAX_LISTED_BAD_LINES:
        print(
            f"{PROG}: ... and {len(bad_lines) - _MAX_LISTED_BAD_LINES} more malformed lines",
            file=err,
        )
    if not args.quiet:
        print(_describe(summary, len(bad_lines), args.input, output), file=err)
    return EXIT_BAD_LINES if bad_lines else EXIT_OK


def _describe(summary: RunSummary, bad: int, source: str, output: str | None) -> str:
    target = "standard output" if output in (None, "-") else os.fspath(output or "")
    review = ", ".join(
        f"{name} {count}" for name, count in sorted(summary.per_field_not_confident.items())
    )
    parts = [
        f"{PROG}: {summary.records} records from {source} -> {target}",
        f"{summary.fields} fields normalized, {summary.changed} changed",
        f"{summary.not_confident} to review" + (f" ({review})" if review else ""),
    ]
    if summary.unsupported:
        parts.append(f"{summary.unsupported} values of an unsupported type")
    if summary.record_errors:
        parts.append(f"{summary.record_errors} records failed")
    parts.append(f"{bad} malformed lines skipped")
    return "; ".join(parts)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
