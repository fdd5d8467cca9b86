"""The `llm-normalize` command.

    llm-normalize normalize INPUT [-o OUTPUT] [--fields a,b] [--format jsonl|csv]
                            [--backend rules|fake|bedrock|openai] [--model-id ID] [--region R] ...
    llm-normalize import FILE --store URL [--generate-ids]
    llm-normalize run --store URL [--force-all] [--limit N] [--backend ...] [--json]
    llm-normalize rollback --store URL --prompt-version V [--cache-table NAME]
    llm-normalize export --store URL -o FILE
    llm-normalize report --store URL [-o report.html] [--json] [--check]

Exit status: 0 when every line was read, 1 when some lines were malformed (the others are
still normalized and written), 2 for a usage error (missing file, unknown field, bad option),
3 when the model cannot be used (access denied, unknown model, every call failing after its
retries): the run stops, `normalize` writes no output and `run` saves nothing undecided.
Messages name files, line numbers, fields and counts, never field values.
"""

from __future__ import annotations

import argparse
import os
import sys
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, TextIO, TypeAlias
from urllib.parse import parse_qs, unquote, urlsplit

from llm_normalize._version import __version__
from llm_normalize.backends.base import Backend
from llm_normalize.config import NormalizationConfig
from llm_normalize.dispatch import Budget
from llm_normalize.exceptions import LLMNormalizeError, ModelFailedError
from llm_normalize.io import (
    BadLine,
    FileFormat,
    Row,
    detect_format,
    read_records,
    write_csv,
    write_items,
    write_jsonl,
    write_text,
)
from llm_normalize.pipeline import Normalizer
from llm_normalize.postprocessors.address_styles import ADDRESS_STYLES, AddressStyle
from llm_normalize.profiles.colombia import default_registry_for
from llm_normalize.records import NormalizedRecord
from llm_normalize.report import RunReport
from llm_normalize.stores import LEAD_ID, open_store

if TYPE_CHECKING:
    from llm_normalize.caches.dynamodb import DynamoDBValueCache
    from llm_normalize.stores.base import LeadStore

__all__ = ["main"]

PROG: Final = "llm-normalize"
EXIT_OK: Final = 0
EXIT_BAD_LINES: Final = 1
EXIT_USAGE: Final = 2
EXIT_MODEL_FAILED: Final = 3
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

    _add_normalize(commands)
    _add_store_commands(commands)
    _add_report(commands)
    _add_export(commands)
    return parser


_STORE_HELP: Final = (
    "the lead store: sqlite:///leads.db, dynamodb://TABLE[?config_table=...], memory://"
)

_Commands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def _add_normalize(commands: _Commands) -> None:
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
    _add_address_style(normalize)
    _add_model_options(normalize)
    normalize.add_argument(
        "--report",
        metavar="FILE",
        help="also write the run report as JSON to FILE (no field values)",
    )
    normalize.add_argument(
        "-q", "--quiet", action="store_true", help="print nothing but errors on standard error"
    )


def _add_store_commands(commands: _Commands) -> None:
    importer = commands.add_parser(
        "import",
        help="load leads from a JSONL or CSV file into a store",
        description=(
            "Create or replace leads in a store, keyed by their leadId exactly as typed. "
            "A line whose leadId is a number, blank or missing is listed and not imported "
            "(exit 1); the other lines are imported."
        ),
    )
    importer.add_argument("input", metavar="FILE", help="a .jsonl or .csv file of leads")
    importer.add_argument("--store", required=True, metavar="URL", help=_STORE_HELP)
    importer.add_argument("--format", choices=("jsonl", "csv"), help="the input format")
    importer.add_argument(
        "--generate-ids",
        action="store_true",
        help=(
            "give a lead with a blank or missing leadId a new random UUID instead of refusing "
            "it (importing the file again then creates those leads again; never for number ids)"
        ),
    )

    runner = commands.add_parser(
        "run",
        help="run the scheduled job on a store: normalize the leads that are due",
        description=(
            "Normalize the leads never normalized or older than the TTL (all with --force-all), "
            "at most --limit (default: maxLeadsPerRun), and save each result beside its "
            "originals, unless the lead changed meanwhile."
        ),
    )
    runner.add_argument("--store", required=True, metavar="URL", help=_STORE_HELP)
    runner.add_argument("--force-all", action="store_true", help="normalize every lead again")
    runner.add_argument("--limit", type=int, help="at most this many leads")
    runner.add_argument("--json", action="store_true", help="print the report as JSON")
    runner.add_argument("--no-progress", action="store_true", help="no progress bar")
    _add_address_style(runner)
    _add_model_options(runner)

    rollback = commands.add_parser(
        "rollback",
        help="remove what one prompt version wrote, so the next run redoes those leads",
        description=(
            "Remove what one prompt version wrote from every lead it normalized, so the next "
            "run redoes those leads; with --cache-table, first purge that version's answers "
            "from a DynamoDB value cache, so the next run asks the model again."
        ),
    )
    rollback.add_argument("--store", required=True, metavar="URL", help=_STORE_HELP)
    rollback.add_argument("--prompt-version", required=True, metavar="V")
    rollback.add_argument(
        "--cache-table",
        metavar="NAME",
        help=(
            "a DynamoDB value cache table (DynamoDBValueCache) to purge of the version's "
            "entries: NAME[?region=R&endpoint_url=U]; region and endpoint_url default to "
            "those of a dynamodb:// store URL, else to boto3's"
        ),
    )


def _add_report(commands: _Commands) -> None:
    quality = commands.add_parser(
        "report",
        help="the quality report of a store: rates with intervals, anomalies, a spot-check sample",
        description=(
            "Per field: coverage and improvement rates with 95% Wilson intervals, distinct values "
            "before and after, sources, flags, top mappings; anomalies against expected bands, a "
            "previous report (drift) and an idempotence probe; a seeded spot-check sample."
        ),
    )
    quality.add_argument("--store", required=True, metavar="URL", help=_STORE_HELP)
    quality.add_argument("-o", "--output", metavar="FILE", help="write the HTML report to FILE")
    quality.add_argument("--json", action="store_true", help="print the report as JSON")
    quality.add_argument(
        "--check", action="store_true", help="exit 1 when the report finds an anomaly"
    )
    quality.add_argument(
        "--sample-rate", type=float, default=0.05, help="spot-check share (default 0.05)"
    )
    quality.add_argument("--seed", type=int, default=0, help="seed of the spot-check sample")
    _add_address_style(quality)
    quality.add_argument(
        "--no-values",
        action="store_true",
        help="leave out the spot-check sample and the top mappings (no field values at all)",
    )
    quality.add_argument(
        "--previous", metavar="FILE", help="a previous report's JSON, to detect drift"
    )
    quality.add_argument(
        "--history",
        metavar="FILE",
        help=(
            "compare with the report kept in FILE, if any, then keep this one there (without "
            "values); default for a SQLite store: <database>.quality.json beside it"
        ),
    )


def _add_export(commands: _Commands) -> None:
    exporter = commands.add_parser(
        "export", help="write a store's leads, originals with their normalized values, to a file"
    )
    exporter.add_argument("--store", required=True, metavar="URL", help=_STORE_HELP)
    exporter.add_argument(
        "-o", "--output", required=True, metavar="FILE", help="a .jsonl or .csv file, or - (JSONL)"
    )


def _add_address_style(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--address-style",
        choices=ADDRESS_STYLES,
        help=(
            "how addresses are written: 'abbreviated' (the seed's, Cl. 45 # 12 - 30; the "
            "default, or ADDRESS_STYLE), 'full' (Calle 45 # 12 - 30), 'code' (CL 45 12 30), "
            "'legacy' (earlier versions' output; deprecated)"
        ),
    )


def _add_model_options(parser: argparse.ArgumentParser) -> None:
    model = parser.add_argument_group("model")
    model.add_argument(
        "--backend",
        choices=("rules", "fake", "bedrock", "openai"),
        default="rules",
        help=(
            "who decides what the rules are unsure of: 'rules' (no model, offline), 'fake' "
            "(the offline FakeBackend, echoing values: for trying the pipeline), 'bedrock' "
            "(Claude on AWS Bedrock, with boto3's usual credentials) or 'openai' (OpenAI or "
            "an OpenAI-compatible server: Ollama, vLLM, ...; see --base-url)"
        ),
    )
    model.add_argument(
        "--model-id",
        "--model",
        dest="model_id",
        help=(
            "the model: a Bedrock model id (default: BEDROCK_MODEL_ID or Claude 3 Haiku), or "
            "the model name an OpenAI-compatible server knows"
        ),
    )
    model.add_argument("--region", help="the AWS region of Bedrock (default: boto3's)")
    model.add_argument(
        "--api", choices=("invoke", "converse"), default="invoke", help="the Bedrock API"
    )
    model.add_argument(
        "--endpoint-url", help="a Bedrock Runtime endpoint (e.g. a local test server)"
    )
    model.add_argument(
        "--base-url",
        help="the OpenAI-compatible server's API root, e.g. http://127.0.0.1:11434/v1 "
        "(--backend openai; default: OpenAI itself)",
    )
    model.add_argument(
        "--api-key-env",
        metavar="NAME",
        default="OPENAI_API_KEY",
        help="the environment variable holding the API key (--backend openai; default "
        "OPENAI_API_KEY); keys are never taken on the command line",
    )
    model.add_argument(
        "--answer-mode",
        choices=("tool", "json_schema", "json"),
        help="how the model gives structured answers: a forced tool call (default; a model "
        "that refuses it is switched to JSON in text once), a JSON-schema response format "
        "(--backend openai), or JSON in text from the start",
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


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = _build_parser().parse_args(argv)
    try:
        if args.command == "normalize":
            return _normalize(args, sys.stderr)
        if args.command == "import":
            return _import(args, sys.stderr)
        if args.command == "run":
            return _run(args, sys.stderr)
        if args.command == "rollback":
            return _rollback(args, sys.stderr)
        if args.command == "export":
            return _export(args, sys.stderr)
        if args.command == "report":
            return _report(args, sys.stderr)
    except ModelFailedError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        if exc.report is not None and args.command == "run":
            print(
                f"{PROG}: {exc.report.records_saved} leads were saved before the failure; "
                "every other lead is untouched and still due",
                file=sys.stderr,
            )
        return EXIT_MODEL_FAILED
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
    config, normalizer = _normalizer(args, **overrides)

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


def _normalizer(
    args: argparse.Namespace, **overrides: Any
) -> tuple[NormalizationConfig, Normalizer]:
    if args.model_id:
        overrides["model_id"] = args.model_id
    if args.address_style:
        overrides["address_style"] = args.address_style
    config = NormalizationConfig.resolve(**overrides)
    budget = None
    if args.max_tokens is not None or args.max_usd is not None:
        budget = Budget(max_tokens=args.max_tokens, max_usd=args.max_usd)
    if args.answer_mode == "json_schema" and args.backend != "openai":
        raise _UsageError("--answer-mode json_schema needs --backend openai")
    normalizer = Normalizer(
        _backend(args, config),
        config=config,
        concurrency=args.concurrency,
        requests_per_second=args.rps,
        budget=budget,
        # JSON in text is the pipeline's mode; a JSON-schema format is the backend's way of
        # carrying the tool's answer.
        answer_mode="json" if args.answer_mode == "json" else None,
    )
    return config, normalizer


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
                if len(bad_lines) <= _MAX_LISTED_BAD_LINES:
                    print(f"{PROG}: {path}: line {item.line}: {item.problem}", file=err)
        if len(bad_lines) > _MAX_LISTED_BAD_LINES:
            print(
                f"{PROG}: ... and {len(bad_lines) - _MAX_LISTED_BAD_LINES} more malformed lines",
                file=err,
            )

    return good_rows()


def _import(args: argparse.Namespace, err: TextIO) -> int:
    fmt = detect_format(args.input, args.format)
    rows = read_records(args.input, fmt)  # checks the file now, before the store is opened
    skipped: list[BadLine] = []
    generated = 0

    def skip(line: BadLine) -> None:
        skipped.append(line)
        if len(skipped) <= _MAX_LISTED_BAD_LINES:
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
        if len(skipped) > _MAX_LISTED_BAD_LINES:
            print(
                f"{PROG}: ... and {len(skipped) - _MAX_LISTED_BAD_LINES} more lines skipped",
                file=err,
            )

    store = open_store(args.store)
    try:
        count = store.put(importable())
    finally:
        store.close()
    print(
        f"{PROG}: {count} leads imported into {_store_label(args.store)} "
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


def _run(args: argparse.Namespace, err: TextIO) -> int:
    _, normalizer = _normalizer(args)
    store = open_store(args.store)
    progress = None if args.no_progress or not err.isatty() else _progress_bar(err)
    try:
        report = normalizer.run(
            store,
            force=args.force_all,
            limit=args.limit,
            progress=progress.update if progress is not None else None,
        )
    finally:
        if progress is not None:
            progress.close()
        store.close()
    if args.json:
        print(report.model_dump_json(indent=2))
    else:
        print(report.summary())
    return EXIT_OK


def _progress_bar(err: TextIO) -> Any:
    try:
        from tqdm import tqdm
    except ImportError:  # the optional extra is not installed: no bar
        return None
    return tqdm(desc="leads", unit="lead", file=err, leave=False)


def _rollback(args: argparse.Namespace, err: TextIO) -> int:
    if args.cache_table:
        # The cache first: if the purge fails, the leads keep the version's values and the
        # rollback can simply be run again; the other way round, the next run would bring
        # the rolled-back answers straight back from the cache.
        table, cache = _value_cache(args.cache_table, args.store)
        purged = cache.purge(args.prompt_version)
        print(
            f"{PROG}: {purged} value cache entries of prompt version {args.prompt_version!r} "
            f"purged from DynamoDB table {table!r}",
            file=err,
        )
    store = open_store(args.store)
    try:
        count = store.rollback(args.prompt_version)
    finally:
        store.close()
    print(
        f"{PROG}: {count} leads rolled back from prompt version {args.prompt_version!r} "
        f"in {_store_label(args.store)}; the next run normalizes them again",
        file=err,
    )
    return EXIT_OK


def _value_cache(spec: str, store_url: str) -> tuple[str, DynamoDBValueCache]:
    """The `DynamoDBValueCache` of ``--cache-table NAME[?region=R&endpoint_url=U]``.

    Region and endpoint default to those of a ``dynamodb://`` store URL, then to boto3's.
    """
    from llm_normalize.caches.dynamodb import DynamoDBValueCache

    name, _, query = spec.partition("?")
    options = {key: values[-1] for key, values in parse_qs(query).items()}
    unknown = set(options) - {"region", "endpoint_url"}
    if unknown:
        raise _UsageError(
            f"unknown --cache-table option(s) {sorted(unknown)}; known: endpoint_url, region"
        )
    store = urlsplit(store_url)
    if store.scheme.lower() == "dynamodb":
        inherited = {key: values[-1] for key, values in parse_qs(store.query).items()}
        for key in ("region", "endpoint_url"):
            if key in inherited:
                options.setdefault(key, inherited[key])
    table = unquote(name)
    cache = DynamoDBValueCache(
        table, region_name=options.get("region"), endpoint_url=options.get("endpoint_url")
    )
    return table, cache


def _export(args: argparse.Namespace, err: TextIO) -> int:
    output: str = args.output
    fmt: FileFormat = "jsonl" if output == "-" else detect_format(output)
    store = open_store(args.store)
    try:
        count = write_items(store.scan(), None if output == "-" else output, fmt)
    finally:
        store.close()
    target = "standard output" if output == "-" else output
    print(f"{PROG}: {count} leads exported from {_store_label(args.store)} to {target}", file=err)
    return EXIT_OK


def _report(args: argparse.Namespace, err: TextIO) -> int:
    from llm_normalize.quality import quality_report
    from llm_normalize.quality.history import history_path, write_history

    history = args.history or history_path(args.store)
    previous = None
    if args.previous:
        previous = Path(args.previous).read_text(encoding="utf-8")
    elif history and Path(history).is_file():
        previous = Path(history).read_text(encoding="utf-8")
    store = open_store(args.store)
    try:
        report = quality_report(
            store,
            sample_rate=args.sample_rate,
            seed=args.seed,
            include_values=not args.no_values,
            previous=previous,
            registry=default_registry_for(_address_style(args, store)),
        )
    finally:
        store.close()
    if args.output:
        # The spot-check sample and top mappings are personal data: owner-only (0600).
        write_text(args.output, report.to_html())
    if history:
        write_history(report, history)  # the next report's drift baseline, without values
    if args.json:
        print(report.to_json())
    for anomaly in report.anomalies:
        print(f"{PROG}: anomaly: {anomaly.message}", file=err)
    compared = " (compared with the previous report)" if previous is not None else ""
    print(
        f"{PROG}: quality report of {_store_label(args.store)}: "
        f"{len(report.anomalies)} anomalies{compared}"
        + (f"; HTML in {args.output}" if args.output else ""),
        file=err,
    )
    return 1 if args.check and report.has_anomalies else EXIT_OK


def _address_style(args: argparse.Namespace, store: LeadStore) -> AddressStyle:
    """The style the store's addresses were written in, as a run works it out.

    The idempotence probe re-applies the post-processors: in another style than the one the
    values were written in, every address would look changed.
    """
    overrides = {"address_style": args.address_style} if args.address_style else {}
    config = NormalizationConfig.resolve(**overrides)
    stored = store.load_config()
    return (config.with_stored(stored) if stored else config).address_style


def _store_label(url: str) -> str:
    # Only the scheme and the name: query options may carry endpoints, never values.
    return url.split("?", 1)[0]


def _backend(args: argparse.Namespace, config: NormalizationConfig) -> Backend | None:
    from llm_normalize.backends.factory import make_backend

    return make_backend(
        args.backend,
        model_id=config.model_id,
        api=args.api,
        region_name=args.region,
        endpoint_url=args.endpoint_url,
        base_url=args.base_url,
        api_key=os.environ.get(args.api_key_env) or None,
        answer_mode=args.answer_mode or "tool",
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
