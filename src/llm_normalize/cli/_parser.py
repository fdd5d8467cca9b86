"""The command line's arguments: one sub-parser per command."""

from __future__ import annotations

import argparse
from typing import Final, TypeAlias

from llm_normalize._version import __version__
from llm_normalize.cli._common import PROG
from llm_normalize.cli._plan import add_plan
from llm_normalize.postprocessors.address_styles import ADDRESS_STYLES


def build_parser() -> argparse.ArgumentParser:
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
    add_plan(commands)
    return parser


_STORE_HELP: Final = (
    "the lead store: sqlite:///leads.db, dynamodb://TABLE[?config_table=...], memory://"
)


_CACHE_HELP: Final = (
    "where model answers are remembered across runs: sqlite:///cache.db, "
    "dynamodb://TABLE[?region=R&endpoint_url=U&ttl_days=N], or none (in memory, this run "
    "only); default: for a sqlite:// store, a table in the store's file, else "
    "$XDG_CACHE_HOME/llm-normalize/cache.db (~/.cache/llm-normalize/cache.db)"
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
        help="comma-separated fields to normalize (default: every seed field the input has)",
    )
    _add_file_options(normalize, output=True)
    _add_address_style(normalize)
    _add_model_options(normalize)
    _add_cache_option(normalize)
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
    _add_file_options(importer, output=False)
    importer.add_argument(
        "-q", "--quiet", action="store_true", help="no progress bar and no messages but errors"
    )
    importer.add_argument(
        "--generate-ids",
        action="store_true",
        help=(
            "give a lead with a blank or missing leadId a new random UUID instead of refusing "
            "it (importing the file again then creates those leads again; never for number ids)"
        ),
    )

    _add_run(commands)
    _add_backfill(commands)
    _add_rollback(commands)


def _add_run(commands: _Commands) -> None:
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
    runner.add_argument(
        "-q", "--quiet", action="store_true", help="no progress bar and no messages but errors"
    )
    _add_create(runner)
    _add_address_style(runner)
    _add_model_options(runner)
    _add_cache_option(runner)


def _add_backfill(commands: _Commands) -> None:
    backfill = commands.add_parser(
        "backfill",
        help="normalize every due lead of a store: online, or through Bedrock batch inference",
        description=(
            "Normalize every lead due (all with --force-all; no per-run cap). With "
            "--batch-inference, the values the rules are unsure of go to one Bedrock batch "
            "inference job (about half the on-demand price): the first invocation submits it "
            "and records it in the store, later ones say whether it is done and, once it is, "
            "collect its answers and save the leads they decide (--wait polls until then). "
            "Values a job left undecided keep their leads due. Too few values for a job are "
            "asked with on-demand calls at once."
        ),
    )
    backfill.add_argument("--store", required=True, metavar="URL", help=_STORE_HELP)
    backfill.add_argument("--force-all", action="store_true", help="normalize every lead again")
    backfill.add_argument("--limit", type=int, help="at most this many leads")
    batch = backfill.add_argument_group("batch inference")
    batch.add_argument(
        "--batch-inference", action="store_true", help="decide through a Bedrock batch job"
    )
    batch.add_argument("--bucket", help="the S3 bucket of the job's input and output")
    batch.add_argument(
        "--prefix", default="llm-normalize/batch", help="the key prefix of the jobs' folders"
    )
    batch.add_argument(
        "--role-arn", help="the IAM service role Bedrock assumes to read and write the bucket"
    )
    batch.add_argument(
        "--min-records",
        type=int,
        help="your account's minimum records per batch job (default 100, Bedrock's default)",
    )
    batch.add_argument(
        "--wait", action="store_true", help="poll until the job ends, then collect it"
    )
    batch.add_argument(
        "--poll-s", type=float, default=60.0, help="seconds between two polls with --wait"
    )
    batch.add_argument(
        "--abandon",
        action="store_true",
        help="stop the recorded job and forget it (its leads stay due)",
    )
    backfill.add_argument("--json", action="store_true", help="print the report as JSON")
    backfill.add_argument("--no-progress", action="store_true", help="no progress bar")
    backfill.add_argument(
        "-q", "--quiet", action="store_true", help="no progress bar and no messages but errors"
    )
    _add_create(backfill)
    _add_address_style(backfill)
    _add_model_options(backfill)
    _add_cache_option(backfill)


def _add_rollback(commands: _Commands) -> None:
    rollback = commands.add_parser(
        "rollback",
        help="remove what one prompt version wrote, so the next run redoes those leads",
        description=(
            "Remove what one prompt version wrote from every lead it normalized, so the next "
            "run redoes those leads; first purge that version's answers from the value cache "
            "a run uses (the default one, or --cache), so the next run asks the model again."
        ),
    )
    rollback.add_argument("--store", required=True, metavar="URL", help=_STORE_HELP)
    rollback.add_argument("--prompt-version", required=True, metavar="V")
    _add_create(rollback)
    rollback.add_argument(
        "--cache",
        metavar="URL|none",
        help=_CACHE_HELP + "; none purges no cache",
    )
    rollback.add_argument(
        "--cache-table",
        metavar="NAME",
        help=(
            "the same as --cache dynamodb://NAME: a DynamoDB value cache table "
            "(DynamoDBValueCache) to purge of the version's entries, "
            "NAME[?region=R&endpoint_url=U]; region and endpoint_url default to those of a "
            "dynamodb:// store URL, else to boto3's"
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
    _add_create(quality)
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
    exporter.add_argument(
        "-q", "--quiet", action="store_true", help="no progress bar and no messages but errors"
    )
    exporter.add_argument(
        "--excel",
        action="store_true",
        help="write CSV for Excel in Spanish-speaking locales: ';'-separated, UTF-8 with BOM",
    )


def _add_create(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--create",
        action="store_true",
        help="create the SQLite store if it does not exist (default: a missing store is an "
        "error, so a mistyped path is caught)",
    )


def _add_file_options(parser: argparse.ArgumentParser, *, output: bool) -> None:
    files = parser.add_argument_group("files")
    files.add_argument(
        "--map",
        action="append",
        default=[],
        metavar="COLUMN=FIELD",
        help=(
            "read FIELD from COLUMN, e.g. --map 'Nivel de formación=nivelEducativo' "
            "(repeatable); other columns are matched to fields by name and known aliases, "
            "ignoring case, accents and spaces (Nombres, CIUDAD, Dirección de residencia, ...)"
        ),
    )
    files.add_argument(
        "--delimiter",
        metavar="CHAR",
        help="the CSV input's delimiter (default: Excel's sep= line, else detected: , ; tab |)",
    )
    files.add_argument(
        "--encoding",
        metavar="NAME",
        help=(
            "the input's encoding, e.g. cp1252 (default: UTF-8, else detected from the file; "
            "a line that cannot be decoded is reported and skipped)"
        ),
    )
    if output:
        files.add_argument(
            "--excel",
            action="store_true",
            help="write CSV for Excel in Spanish-speaking locales: ';'-separated, UTF-8 with BOM",
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
        "--concurrency",
        type=int,
        help="model calls in flight (default: automatic, from the quota and the model's latency)",
    )
    model.add_argument(
        "--rps",
        type=float,
        help="the service's quota in requests per second (default 10, Bedrock's); calls are "
        "spaced just under it and slowed down when throttled",
    )
    model.add_argument(
        "--max-tokens", type=int, help="stop calling the model past this many tokens"
    )
    model.add_argument(
        "--max-usd", type=float, help="stop calling the model past this estimated cost"
    )


def _add_cache_option(parser: argparse.ArgumentParser) -> None:
    cache = parser.add_argument_group("value cache")
    cache.add_argument("--cache", metavar="URL|none", help=_CACHE_HELP)
