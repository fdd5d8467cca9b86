"""The `llm-normalize` command.

    llm-normalize normalize INPUT [-o OUTPUT] [--fields a,b] [--format jsonl|csv]
                            [--backend rules|fake|bedrock] [--model-id ID] [--region R] ...

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
from llm_normalize.backends.base import Backend
from llm_normalize.config import NormalizationConfig
from llm_normalize.exceptions import LLMNormalizeError
from llm_normalize.files import BadLine, Row, detect_format, read_records, write_csv, write_jsonl
from llm_normalize.pipeline import Budget, NormalizedRecord, Normalizer
from llm_normalize.report import RunReport

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
    model = normalize.add_argument_group("model")
    model.add_argument(
        "--backend",
        choices=("rules", "fake", "bedrock"),
        default="rules",
        help=(
            "who decides what the rules are unsure of: 'rules' (no model, offline), 'fake' "
            "(the offline FakeBackend, echoing values: for trying the pipeline), or 'bedrock' "
            "(Claude on AWS Bedrock, with boto3's usual credentials)"
        ),
    )
    model.add_argument(
        "--model-id", help="the Bedrock model id (default: BEDROCK_MODEL_ID or Claude 3 Haiku)"
    )
    model.add_argument("--region", help="the AWS region of Bedrock (default: boto3's)")
    model.add_argument(
        "--api", choices=("invoke", "converse"), default="invoke", help="the Bedrock API"
    )
    model.add_argument(
        "--endpoint-url", help="a Bedrock Runtime endpoint (e.g. a local test server)"
    )
    model.add_argument(
        "--concurrency", type=int, default=4, help="model calls in flight (default 4)"
    )
    model.add_argument(
        "--rps", type=float, default=5.0, help="starting requests per second (default 5, adaptive)"
    )
    model.add_argument(
        "--max-tokens", type=int, help="stop calling the model past this many tokens"
    )
    model.add_argument(
        "--max-usd", type=float, help="stop calling the model past this estimated cost"
    )
    normalize.add_argument(
        "--report",
        metavar="FILE",
        help="also write the run report as JSON to FILE (no field values)",
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
    if args.model_id:
        overrides["model_id"] = args.model_id
    config = NormalizationConfig.resolve(**overrides)
    budget = None
    if args.max_tokens is not None or args.max_usd is not None:
        budget = Budget(max_tokens=args.max_tokens, max_usd=args.max_usd)
    normalizer = Normalizer(
        _backend(args, config),
        config=config,
        concurrency=args.concurrency,
        requests_per_second=args.rps,
        budget=budget,
    )

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
    for _ in results:
        pass
    report = normalizer.last_report
    assert report is not None  # set once the results are exhausted

    if len(bad_lines) > _MAX_LISTED_BAD_LINES:
        print(
            f"{PROG}: ... and {len(bad_lines) - _MAX_LISTED_BAD_LINES} more malformed lines",
            file=err,
        )
    if args.report:
        Path(args.report).write_text(report.model_dump_json(indent=2) + "\n", encoding="utf-8")
    if not args.quiet:
        print(_describe(report, len(bad_lines), args.input, output), file=err)
    return EXIT_BAD_LINES if bad_lines else EXIT_OK


def _backend(args: argparse.Namespace, config: NormalizationConfig) -> Backend | None:
    if args.backend == "rules":
        return None
    if args.backend == "fake":
        from llm_normalize.backends.fake import FakeBackend

        return FakeBackend(model_id=config.model_id)
    from llm_normalize.backends.bedrock import BedrockBackend

    return BedrockBackend(
        config.model_id, api=args.api, region_name=args.region, endpoint_url=args.endpoint_url
    )


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


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
