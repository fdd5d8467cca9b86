"""The JSONL records of a batch inference run: building them, and reading their answers back.

Building: the questions are sorted by field (stably, so values of one field keep their order)
and cut into batches of `batch_size`, as the online model pass cuts a group
(`llm_normalize.model_pass.ModelPass`); each batch is one request built by the dispatcher's
prompt builder and written as one record, ``{"recordId": ..., "modelInput": <InvokeModel
body>}``. A record map (``records.json``, beside the input, not in it) says which values each
record carries, so the answers can be read back by a process that never saw the questions.

Reading: each record's ``modelOutput`` goes through the same steps as an online answer: read
as an InvokeModel answer, parsed by the dispatcher's parser, each item judged by
`ModelDispatcher.judge` (guard, post-processors, cache). What cannot be decided (an ``error``
record, a record missing from the output, a cut-off answer, an unreadable one, a job that
failed, stopped or expired) falls back to the rules' value, flagged ``model_failed``.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections import Counter
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final, Generic, TypeVar

from llm_normalize._names import field_key
from llm_normalize.backends._wire import json_default
from llm_normalize.backends.bedrock import _invoke_body, _invoke_response
from llm_normalize.batch_inference.job import BatchJob, BatchPart, BatchStatus
from llm_normalize.exceptions import ConfigurationError, ResponseParseError
from llm_normalize.messages import Item, Usage
from llm_normalize.model_pass import Question, fallback
from llm_normalize.parsing import TruncatedResponseError
from llm_normalize.pricing import batch_prices
from llm_normalize.records import FLAG_MODEL_FAILED, FLAG_NOT_SENT, FieldResult
from llm_normalize.report import RunCounts, RunReport

if TYPE_CHECKING:
    from llm_normalize.dispatch import ModelDispatcher
    from llm_normalize.prompt import PromptBuilder

__all__ = [
    "BatchOutcome",
    "K",
    "PlannedRecord",
    "digest_of",
    "file_names",
    "plan_batches",
    "plan_records",
    "read_record_map",
    "record_map",
    "split_records",
]

K = TypeVar("K", bound=Hashable)
"""The type of the caller's question keys (e.g. ``(field_key(name), raw)``)."""

_RECORD_DIGITS: Final = 10  # "R" and ten digits: the 11 alphanumeric characters Bedrock shows
_MAP_FORMAT: Final = 1

Read = Callable[[str], bytes | None]
"""Reads an S3 URI; `None` when there is no such object."""


@dataclass(frozen=True, slots=True)
class PlannedRecord:
    """One record of the input: one request, and the values it carries.

    Attributes:
        record_id: Its ``recordId``.
        items: The values it carries, in item-id order: (field name, raw value).
        line: The JSONL line, newline included, as written to S3.
    """

    record_id: str
    items: tuple[tuple[str, str], ...]
    line: bytes


def plan_batches(questions: Mapping[K, Question], batch_size: int) -> list[list[K]]:
    """The keys of `questions` cut into batches as the online pass cuts a group.

    Sorted by field key, stably (values of one field keep the order they were given in), then
    `batch_size` at a time.
    """
    keys = sorted(questions, key=lambda key: field_key(questions[key].name))
    return [keys[i : i + batch_size] for i in range(0, len(keys), batch_size)]


def plan_records(
    questions: Mapping[K, Question], builder: PromptBuilder, batch_size: int
) -> list[PlannedRecord]:
    """One record per batch of `plan_batches`, its request built by `builder`."""
    records = []
    for number, batch in enumerate(plan_batches(questions, batch_size)):
        asked = [questions[key] for key in batch]
        request = builder.build([Item(str(n), q.name, q.raw) for n, q in enumerate(asked)])
        record_id = f"R{number:0{_RECORD_DIGITS}d}"
        record = {"recordId": record_id, "modelInput": _invoke_body(request)}
        # ASCII-escaped, as the online call sends it: a lone surrogate cannot break the file.
        text = json.dumps(record, default=json_default, ensure_ascii=True, separators=(",", ":"))
        items = tuple((q.name, q.raw) for q in asked)
        records.append(PlannedRecord(record_id, items, text.encode("ascii") + b"\n"))
    return records


def split_records(
    records: Sequence[PlannedRecord],
    *,
    per_job: int,
    per_file: int,
    file_bytes: int,
    job_bytes: int,
) -> list[list[list[PlannedRecord]]]:
    """Cut `records` into jobs of files within the quotas: jobs as even as can be.

    Even jobs keep each one above the minimum whenever the whole is (with a maximum of at
    least twice the minimum).

    Raises:
        ConfigurationError: One record is larger than `file_bytes`.
    """
    sizes = [len(record.line) for record in records]
    if sizes and max(sizes) > file_bytes:
        raise ConfigurationError(
            f"one request is {max(sizes)} bytes, more than the {file_bytes} bytes an input file "
            "may hold; lower batch_size"
        )
    jobs = max(1, math.ceil(len(records) / per_job), math.ceil(sum(sizes) / job_bytes))
    while True:
        cut = _even(records, jobs)
        if all(sum(len(r.line) for r in part) <= job_bytes for part in cut):
            break
        jobs += 1
    return [_files(part, per_file, file_bytes) for part in cut]


def _even(records: Sequence[PlannedRecord], parts: int) -> list[list[PlannedRecord]]:
    size, extra = divmod(len(records), parts)
    cut, start = [], 0
    for n in range(parts):
        end = start + size + (1 if n < extra else 0)
        cut.append(list(records[start:end]))
        start = end
    return cut


def _files(
    records: Sequence[PlannedRecord], per_file: int, file_bytes: int
) -> list[list[PlannedRecord]]:
    files: list[list[PlannedRecord]] = [[]]
    used = 0
    for record in records:
        if files[-1] and (len(files[-1]) >= per_file or used + len(record.line) > file_bytes):
            files.append([])
            used = 0
        files[-1].append(record)
        used += len(record.line)
    return files


def digest_of(model_id: str, records: Sequence[PlannedRecord]) -> str:
    """A sha256 of the model and the records: the run's name comes from it."""
    digest = hashlib.sha256(model_id.encode())
    for record in records:
        digest.update(record.line)
    return digest.hexdigest()


def file_names(count: int) -> tuple[str, ...]:
    """The names of a job's `count` input files."""
    if count == 1:
        return ("records.jsonl",)
    return tuple(f"records-{n + 1:03d}.jsonl" for n in range(count))


def record_map(
    parts: Sequence[Sequence[Sequence[PlannedRecord]]], names: Sequence[Sequence[str]]
) -> bytes:
    """The record map (``records.json``): each record id to its part, file and values."""
    entries: dict[str, Any] = {}
    for part_number, files in enumerate(parts):
        for file_name, records in zip(names[part_number], files, strict=True):
            for record in records:
                entries[record.record_id] = {
                    "part": part_number,
                    "file": file_name,
                    "items": [list(item) for item in record.items],
                }
    document = {"format": _MAP_FORMAT, "records": entries}
    return json.dumps(document, ensure_ascii=True, separators=(",", ":")).encode("ascii")


@dataclass(frozen=True, slots=True)
class BatchOutcome(Generic[K]):
    """What a collected batch inference run decided.

    Attributes:
        results: The result of every question given to `collect`, by its key.
        undecided: The keys whose values were not decided (flagged ``model_failed``, or
            ``not_sent`` for a value the job did not carry): never save them as done.
        counts: The figures of the run (records as model calls, token usage, item errors,
            guard rejections, errors by kind); never a field value.
        records: Records (requests) in the run's input.
        records_answered: Records whose answer could be read.
        statuses: Each Bedrock job's final status, by ARN.
        manifest: Bedrock's own summary (``manifest.json.out``) added up over the jobs:
            ``totalRecordCount``, ``errorRecordCount``, ``inputTokenCount``, ...
        model_id: The model of the run.
        prompt_version: The prompt version of its requests.
    """

    results: Mapping[K, FieldResult]
    undecided: frozenset[K]
    counts: RunCounts
    records: int
    records_answered: int
    statuses: Mapping[str, str]
    manifest: Mapping[str, int]
    model_id: str
    prompt_version: str

    def report(
        self,
        *,
        prices: Mapping[str, tuple[float, float]] | None = None,
        started_at: datetime | None = None,
        duration_s: float = 0.0,
    ) -> RunReport:
        """The report of the run, priced at the batch rate (`batch_prices` of `prices`).

        `prices` are on-demand prices (default: the built-in table); the batch discount is
        applied here.
        """
        return self.counts.freeze(
            model_id=self.model_id,
            prompt_version=self.prompt_version,
            started_at=started_at,
            duration_s=duration_s,
            prices=batch_prices(prices),
        )


def read_record_map(data: bytes) -> dict[str, tuple[int, str, tuple[tuple[str, str], ...]]]:
    """Read ``records.json``: record id -> (part number, file name, values).

    Raises:
        ConfigurationError: It is not a record map written by `record_map`.
    """
    try:
        document = json.loads(data)
        if not isinstance(document, dict) or document.get("format") != _MAP_FORMAT:
            raise ValueError("not a record map of a known format")
        return {
            str(record_id): (
                int(entry["part"]),
                str(entry["file"]),
                tuple((str(name), str(raw)) for name, raw in entry["items"]),
            )
            for record_id, entry in document["records"].items()
        }
    except (ValueError, KeyError, TypeError) as exc:
        raise ConfigurationError(
            f"the record map of the batch job cannot be read: {type(exc).__name__}"
        ) from exc


@dataclass
class Collector(Generic[K]):
    """Reads the answers of one run into results, as the online pass settles its calls.

    Built by `BedrockBatchInference.collect`; `run` does the work.
    """

    job: BatchJob
    questions: Mapping[K, Question]
    dispatcher: ModelDispatcher
    results: dict[K, FieldResult] = field(default_factory=dict)
    _index: dict[tuple[str, str], K] = field(default_factory=dict)
    _usage: Usage = field(default_factory=Usage)
    _item_errors: Counter[str] = field(default_factory=Counter)
    _rejections: Counter[str] = field(default_factory=Counter)
    _errors: Counter[str] = field(default_factory=Counter)
    _calls: int = 0
    _sent: int = 0
    _truncated: int = 0
    _answered: int = 0

    def __post_init__(self) -> None:
        self._index = {(field_key(q.name), q.raw): key for key, q in self.questions.items()}

    def run(self, status: BatchStatus, records: Mapping[str, Any], read: Read) -> BatchOutcome[K]:
        """Settle every record of the run; values the run did not carry are ``not_sent``."""
        by_part: dict[int, dict[str, tuple[str, tuple[tuple[str, str], ...]]]] = {}
        for record_id, (part, file_name, items) in records.items():
            by_part.setdefault(part, {})[record_id] = (file_name, items)
        manifest: Counter[str] = Counter()
        for number, part in enumerate(self.job.parts):
            state = status.jobs.get(part.job_arn)
            entries = by_part.get(number, {})
            if state is None or state.failed:
                label = state.status if state is not None else "Unknown"
                self._errors[f"BatchJob{label}"] += 1
                for _file, items in entries.values():
                    self._fail(items, f"batch_{label.lower()}")
                continue
            manifest.update(_manifest(read(part.manifest_uri)))
            self._settle_part(part, entries, read)
        for key, question in self.questions.items():
            if key not in self.results:
                self.results[key] = fallback(question, FLAG_NOT_SENT, "not_sent")
        return self._outcome(status, dict(manifest))

    def _settle_part(
        self,
        part: BatchPart,
        entries: Mapping[str, tuple[str, tuple[tuple[str, str], ...]]],
        read: Read,
    ) -> None:
        lines: dict[str, Mapping[str, Any]] = {}
        for file_name in part.input_files:
            lines.update(_output_lines(read(part.output_key(file_name))))
        for record_id, (_file, items) in entries.items():
            line = lines.get(record_id)
            if line is None:
                self._errors["BatchRecordMissing"] += 1
                self._fail(items, "batch_missing")
            else:
                self._calls += 1
                self._settle(items, line)

    def _fail(self, items: Sequence[tuple[str, str]], reason: str) -> None:
        for key in self._keys(items):
            if key is not None:
                self._sent += 1
                self.results[key] = fallback(self.questions[key], FLAG_MODEL_FAILED, reason)

    def _keys(self, items: Sequence[tuple[str, str]]) -> list[K | None]:
        return [self._index.get((field_key(name), raw)) for name, raw in items]

    def _settle(self, items: Sequence[tuple[str, str]], line: Mapping[str, Any]) -> None:
        """One record's answer: read, parsed and judged as an online call's."""
        dispatcher, job = self.dispatcher, self.job
        output = line.get("modelOutput")
        if "error" in line or not isinstance(output, dict):
            self._errors["BatchRecordError"] += 1
            self._fail(items, f"batch_error:{_error_code(line.get('error'))}")
            return
        builder = dispatcher.builder_for(job.answer_mode)
        request = builder.build([Item(str(n), name, raw) for n, (name, raw) in enumerate(items)])
        ids = [str(n) for n in range(len(items))]
        try:
            response = _invoke_response(output, request, job.model_id)
            self._usage = self._usage + response.usage
            parsed = dispatcher.parser.parse(response, ids)
        except TruncatedResponseError:
            # Never repaired: the values go back to the next run, perhaps in smaller batches.
            self._truncated += 1
            self._item_errors["truncated"] += len(items)
            self._fail(items, "truncated")
            return
        except ResponseParseError:
            self._errors["ResponseParseError"] += 1
            self._fail(items, "unreadable")
            return
        self._answered += 1
        self._accept(items, parsed.values, parsed.errors, parsed.unknown_ids)

    def _accept(
        self,
        items: Sequence[tuple[str, str]],
        values: Mapping[str, str],
        errors: Mapping[str, str],
        unknown_ids: int,
    ) -> None:
        """As `ModelPass._accept`: judge each answer, fall back where there is none."""
        if unknown_ids:
            self._item_errors["unknown_id"] += unknown_ids
        for n, key in enumerate(self._keys(items)):
            if key is None:
                continue  # a value the caller did not ask about this time
            self._sent += 1
            question = self.questions[key]
            answer = values.get(str(n))
            if answer is None:
                reason = errors.get(str(n), "missing")
                self._item_errors[reason] += 1
                self.results[key] = fallback(question, FLAG_MODEL_FAILED, reason)
                continue
            result, refused = self.dispatcher.judge(
                question, answer, answer_mode=self.job.answer_mode
            )
            self.results[key] = result
            if refused is not None:
                self._rejections[refused] += 1

    def _outcome(self, status: BatchStatus, manifest: Mapping[str, int]) -> BatchOutcome[K]:
        counts = RunCounts(
            values_sent_to_model=self._sent,
            model_calls=self._calls,
            truncated_batches=self._truncated,
            usage=self._usage,
            guard_rejections=dict(self._rejections),
            item_errors=dict(self._item_errors),
            errors_by_kind=dict(self._errors),
            answer_mode=self.job.answer_mode,
        )
        undecided = frozenset(
            key
            for key, result in self.results.items()
            if FLAG_MODEL_FAILED in result.flags or FLAG_NOT_SENT in result.flags
        )
        return BatchOutcome(
            results=dict(self.results),
            undecided=undecided,
            counts=counts,
            records=self.job.records,
            records_answered=self._answered,
            statuses=status.statuses,
            manifest=manifest,
            model_id=self.job.model_id,
            prompt_version=self.job.prompt_version,
        )


def _output_lines(data: bytes | None) -> dict[str, Mapping[str, Any]]:
    """The records of one output file by record id; lines that cannot be read are left out."""
    lines: dict[str, Mapping[str, Any]] = {}
    if data is None:
        return lines
    for raw in data.splitlines():
        try:
            line = json.loads(raw)
        except ValueError:
            continue
        if isinstance(line, dict) and isinstance(line.get("recordId"), str):
            lines[line["recordId"]] = line
    return lines


def _manifest(data: bytes | None) -> dict[str, int]:
    try:
        document = json.loads(data) if data is not None else {}
    except ValueError:
        return {}
    if not isinstance(document, dict):
        return {}
    return {
        str(name): value
        for name, value in document.items()
        if isinstance(value, int) and not isinstance(value, bool)
    }


def _error_code(error: object) -> str:
    """The ``errorCode`` of an error record (never its message, which may quote the input)."""
    code = error.get("errorCode") if isinstance(error, dict) else None
    return str(code) if isinstance(code, int | str) and str(code).isalnum() else "unknown"
