"""What a submitted batch inference run is: `BatchJob`, its `BatchPart`s, and their status.

A `BatchJob` is everything needed to find a run again after the process that submitted it
died: the Bedrock job ARNs, where the input, the output and the record map live in S3, and
the model, prompt version, answer mode and batch size the requests were built with. It is a
frozen dataclass that round-trips through JSON (`BatchJob.to_json`, `BatchJob.from_json`), and
a copy lives in S3 beside the input (``job.json``), so `BedrockBatchInference.resume` rebuilds
it from the job's name or ARN.

It holds ids, S3 URIs and counts only, never a field value.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final, Literal

from llm_normalize.exceptions import ConfigurationError

__all__ = [
    "FAILED_STATUSES",
    "JOB_STATUSES",
    "TERMINAL_STATUSES",
    "BatchJob",
    "BatchPart",
    "BatchStatus",
    "JobState",
    "JobStatus",
]

JobStatus = Literal[
    "Submitted",
    "Validating",
    "Scheduled",
    "InProgress",
    "Stopping",
    "Completed",
    "PartiallyCompleted",
    "Failed",
    "Stopped",
    "Expired",
]
"""The status of a Bedrock model invocation job, as GetModelInvocationJob says it."""

JOB_STATUSES: Final[tuple[str, ...]] = (
    "Submitted",
    "Validating",
    "Scheduled",
    "InProgress",
    "Stopping",
    "Completed",
    "PartiallyCompleted",
    "Failed",
    "Stopped",
    "Expired",
)
"""Every status a model invocation job can have, in the order a job goes through them."""

TERMINAL_STATUSES: Final = frozenset(
    {"Completed", "PartiallyCompleted", "Failed", "Stopped", "Expired"}
)
"""The statuses a job never leaves."""

FAILED_STATUSES: Final = frozenset({"Failed", "Stopped", "Expired"})
"""The terminal statuses whose output is not read: every value of such a job stays undecided."""

_FORMAT: Final = 1  # the version of the JSON written by `BatchJob.to_json`


@dataclass(frozen=True, slots=True)
class BatchPart:
    """One Bedrock model invocation job of a `BatchJob` (a run past the per-job quota has several).

    Attributes:
        job_name: The job's name (unique in the account and region).
        job_arn: The job's ARN; empty while the job is not created yet.
        input_uri: The S3 folder of its input files (``s3://bucket/.../input/``).
        input_files: The names of its JSONL input files, relative to `input_uri`.
        output_uri: The S3 folder Bedrock writes its output under.
        records: How many records (model requests) its input holds.
        client_token: The ``clientRequestToken`` it is created with, derived from the input,
            so creating it again (a retried submit) makes no second job.
    """

    job_name: str
    job_arn: str
    input_uri: str
    input_files: tuple[str, ...]
    output_uri: str
    records: int
    client_token: str

    @property
    def job_id(self) -> str:
        """The job id: the last part of the ARN, the folder Bedrock writes its output into."""
        return self.job_arn.rsplit("/", 1)[-1]

    def output_key(self, input_file: str) -> str:
        """The S3 URI of the output Bedrock writes for `input_file`: ``<output>/<job id>/<file>.out``."""
        return f"{self.output_uri}{self.job_id}/{input_file}.out"

    @property
    def manifest_uri(self) -> str:
        """The S3 URI of the job's summary, ``manifest.json.out``."""
        return f"{self.output_uri}{self.job_id}/manifest.json.out"


@dataclass(frozen=True, slots=True)
class BatchJob:
    """A batch inference run as submitted: enough to wait for it and collect it, even elsewhere.

    Attributes:
        name: The run's name, also its S3 folder (``s3://<bucket>/<prefix>/<name>/``).
        model_id: The model the requests were built for.
        prompt_version: The prompt version of the requests (part of every cache key).
        answer_mode: ``"tool"`` or ``"json"``: how the requests ask for the answer.
        batch_size: Values per request.
        submitted_at: When it was submitted (UTC).
        folder_uri: The run's S3 folder, ending with ``/``.
        parts: Its Bedrock jobs.
        items: How many values its records carry.
    """

    name: str
    model_id: str
    prompt_version: str
    answer_mode: str
    batch_size: int
    submitted_at: datetime
    folder_uri: str
    parts: tuple[BatchPart, ...]
    items: int

    @property
    def job_arns(self) -> tuple[str, ...]:
        """The ARNs of its Bedrock jobs (those created)."""
        return tuple(part.job_arn for part in self.parts if part.job_arn)

    @property
    def records(self) -> int:
        """How many records (model requests) it holds."""
        return sum(part.records for part in self.parts)

    @property
    def record_map_uri(self) -> str:
        """The S3 URI of the map from each record id to its values (``records.json``)."""
        return f"{self.folder_uri}records.json"

    @property
    def job_uri(self) -> str:
        """The S3 URI of this job's own JSON (``job.json``), read by `resume`."""
        return f"{self.folder_uri}job.json"

    def to_json(self) -> str:
        """This job as JSON text (`from_json` reads it back)."""
        document: dict[str, Any] = {
            "format": _FORMAT,
            "name": self.name,
            "model_id": self.model_id,
            "prompt_version": self.prompt_version,
            "answer_mode": self.answer_mode,
            "batch_size": self.batch_size,
            "submitted_at": self.submitted_at.isoformat(),
            "folder_uri": self.folder_uri,
            "items": self.items,
            "parts": [
                {
                    "job_name": part.job_name,
                    "job_arn": part.job_arn,
                    "input_uri": part.input_uri,
                    "input_files": list(part.input_files),
                    "output_uri": part.output_uri,
                    "records": part.records,
                    "client_token": part.client_token,
                }
                for part in self.parts
            ],
        }
        return json.dumps(document, indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str | bytes) -> BatchJob:
        """Read a job written by `to_json`.

        Raises:
            ConfigurationError: The text is not such a job.
        """
        try:
            document = json.loads(text)
            if not isinstance(document, dict) or document.get("format") != _FORMAT:
                raise ValueError("not a batch job document of a known format")
            parts = tuple(_part(item) for item in document["parts"])
            return cls(
                name=str(document["name"]),
                model_id=str(document["model_id"]),
                prompt_version=str(document["prompt_version"]),
                answer_mode=str(document["answer_mode"]),
                batch_size=int(document["batch_size"]),
                submitted_at=datetime.fromisoformat(document["submitted_at"]),
                folder_uri=str(document["folder_uri"]),
                parts=parts,
                items=int(document["items"]),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise ConfigurationError(
                f"not a batch inference job written by llm_normalize: {type(exc).__name__}"
            ) from exc


def _part(item: Mapping[str, Any]) -> BatchPart:
    return BatchPart(
        job_name=str(item["job_name"]),
        job_arn=str(item["job_arn"]),
        input_uri=str(item["input_uri"]),
        input_files=tuple(str(name) for name in item["input_files"]),
        output_uri=str(item["output_uri"]),
        records=int(item["records"]),
        client_token=str(item["client_token"]),
    )


@dataclass(frozen=True, slots=True)
class JobState:
    """What GetModelInvocationJob says of one Bedrock job.

    Attributes:
        job_arn: The job.
        status: Its status (see `JobStatus`).
        message: The service's message for a failed job, if any (about the job, not the data).
        total_records: Records in its input, once Bedrock counted them.
        processed_records: Records processed so far.
        success_records: Records answered.
        error_records: Records that got an error.
    """

    job_arn: str
    status: str
    message: str | None = None
    total_records: int | None = None
    processed_records: int | None = None
    success_records: int | None = None
    error_records: int | None = None

    @classmethod
    def from_answer(cls, arn: str, answer: Mapping[str, Any]) -> JobState:
        """The state a GetModelInvocationJob answer gives."""

        def count(name: str) -> int | None:
            value = answer.get(name)
            return value if isinstance(value, int) else None

        message = answer.get("message")
        return cls(
            job_arn=arn,
            status=str(answer.get("status", "Unknown")),
            message=message if isinstance(message, str) else None,
            total_records=count("totalRecordCount"),
            processed_records=count("processedRecordCount"),
            success_records=count("successRecordCount"),
            error_records=count("errorRecordCount"),
        )

    @property
    def terminal(self) -> bool:
        """Whether the job is finished, one way or another."""
        return self.status in TERMINAL_STATUSES

    @property
    def failed(self) -> bool:
        """Whether the job ended without output to read (Failed, Stopped, Expired)."""
        return self.status in FAILED_STATUSES


@dataclass(frozen=True, slots=True)
class BatchStatus:
    """The status of every Bedrock job of a `BatchJob`.

    Attributes:
        jobs: Each job's state, by ARN.
    """

    jobs: Mapping[str, JobState] = field(default_factory=dict)

    @property
    def done(self) -> bool:
        """Whether every job is terminal (so the run can be collected)."""
        return all(state.terminal for state in self.jobs.values())

    @property
    def statuses(self) -> dict[str, str]:
        """Each job's status, by ARN."""
        return {arn: state.status for arn, state in self.jobs.items()}
