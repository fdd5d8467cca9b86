"""`BedrockBatchInference`: submit, wait for and collect Bedrock batch inference jobs."""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final

from llm_normalize.batch_inference.aws import bedrock_error, build_clients, s3_error, split_uri
from llm_normalize.batch_inference.job import BatchJob, BatchPart, BatchStatus, JobState
from llm_normalize.batch_inference.records import (
    BatchOutcome,
    Collector,
    K,
    PlannedRecord,
    digest_of,
    file_names,
    plan_records,
    read_record_map,
    record_map,
    split_records,
)
from llm_normalize.deadline import StopWhen, time_left
from llm_normalize.exceptions import BackendError, ConfigurationError
from llm_normalize.model_pass import Question
from llm_normalize.pricing import foundation_model_id

if TYPE_CHECKING:
    from boto3.session import Session
    from mypy_boto3_bedrock import BedrockClient
    from mypy_boto3_s3 import S3Client

    from llm_normalize.dispatch import ModelDispatcher

__all__ = [
    "DEFAULT_MAX_FILE_BYTES",
    "DEFAULT_MAX_JOB_BYTES",
    "DEFAULT_MAX_RECORDS_PER_FILE",
    "DEFAULT_MAX_RECORDS_PER_JOB",
    "DEFAULT_MIN_RECORDS",
    "BedrockBatchInference",
]

logger = logging.getLogger(__name__)

DEFAULT_MIN_RECORDS: Final = 100
"""Bedrock's default "Minimum number of records per batch inference job" (per model)."""

DEFAULT_MAX_RECORDS_PER_JOB: Final = 50_000
"""Bedrock's default "Records per batch inference job" (per model)."""

DEFAULT_MAX_RECORDS_PER_FILE: Final = 50_000
"""Bedrock's default "Records per input file per batch inference job" (per model)."""

DEFAULT_MAX_FILE_BYTES: Final = 1_000_000_000
"""Bedrock's default "Batch inference input file size": 1 GB."""

DEFAULT_MAX_JOB_BYTES: Final = 5_000_000_000
"""Bedrock's default "Batch inference job size" (all input files of a job): 5 GB."""

_ATTEMPTS: Final = 100  # runs of one input set (each a new name) before submit gives up
_JSONL: Final = "application/jsonl"


class BedrockBatchInference:
    """Decide many values at once with a Bedrock batch inference job: about half the price.

    The flow: `submit` writes one JSONL record per batch of values to S3 and creates the
    job (several jobs past the per-job quota); `wait` polls it (hours, typically);
    `collect` reads the answers through the same parser, guard, post-processors and cache as
    online calls. `resume` rebuilds a `BatchJob` from its name or ARN after the process died.
    Submitting the same values again while their job runs returns that job: no second one.

    The quotas default to Bedrock's defaults as the AWS General Reference lists them
    ("Amazon Bedrock endpoints and quotas", quotas named in the user guide's "Format and
    upload your batch inference data"): at least 100 records per job, at most 50,000 records
    per job and per input file, 1 GB per input file, 5 GB per job. They are per model and
    adjustable per account (Service Quotas): pass yours.

    Only InvokeModel records with the Anthropic Messages body are written (the seed's call,
    Claude models): a dispatcher whose backend uses ``api="converse"``, or a model that is not
    an Anthropic one, is refused.

    Args:
        bucket: The S3 bucket of the input and output (the service role must reach it).
        role_arn: The IAM service role Bedrock assumes to read the input and write the output.
        prefix: The key prefix of the runs' folders in `bucket`.
        session: A boto3 session to build the clients from (default: a new one).
        bedrock_client: A ready ``bedrock`` (control plane) client, used as it is.
        s3_client: A ready ``s3`` client, used as it is.
        region_name: The region of the built clients (default: boto3's own resolution).
        min_records: The fewest records a job may have.
        max_records_per_job: The most records of one job; past it the run is split into jobs.
        max_records_per_file: The most records of one input file.
        max_file_bytes: The largest input file.
        max_job_bytes: The most bytes of input of one job.
        timeout_hours: When Bedrock stops a job that has not finished (24 to 168).
        clock: The current time (UTC), for `BatchJob.submitted_at`.

    Raises:
        ConfigurationError: A setting out of range, or no AWS region.
    """

    def __init__(
        self,
        *,
        bucket: str,
        role_arn: str,
        prefix: str = "llm-normalize/batch",
        session: Session | None = None,
        bedrock_client: BedrockClient | None = None,
        s3_client: S3Client | None = None,
        region_name: str | None = None,
        min_records: int = DEFAULT_MIN_RECORDS,
        max_records_per_job: int = DEFAULT_MAX_RECORDS_PER_JOB,
        max_records_per_file: int = DEFAULT_MAX_RECORDS_PER_FILE,
        max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
        max_job_bytes: int = DEFAULT_MAX_JOB_BYTES,
        timeout_hours: int = 24,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        _check_settings(bucket, role_arn, min_records, max_records_per_job, timeout_hours)
        if min(max_records_per_file, max_file_bytes, max_job_bytes) < 1:
            raise ConfigurationError("the per-file and per-job maxima must be positive")
        self.bucket = bucket
        self.role_arn = role_arn
        self.prefix = prefix.strip("/")
        self.min_records = min_records
        self.max_records_per_job = max_records_per_job
        self.max_records_per_file = max_records_per_file
        self.max_file_bytes = max_file_bytes
        self.max_job_bytes = max_job_bytes
        self.timeout_hours = timeout_hours
        self._clock = clock or (lambda: datetime.now(UTC))
        if bedrock_client is None or s3_client is None:
            built_bedrock, built_s3 = build_clients(session, region_name)
            bedrock_client = bedrock_client or built_bedrock
            s3_client = s3_client or built_s3
        self.bedrock: BedrockClient = bedrock_client
        self.s3: S3Client = s3_client

    def __repr__(self) -> str:
        return f"BedrockBatchInference(bucket={self.bucket!r}, prefix={self.prefix!r})"

    # -- sizing ----------------------------------------------------------------------------

    @staticmethod
    def records_for(questions: Mapping[K, Question] | int, *, batch_size: int) -> int:
        """How many records (requests) `questions` (or that many values) make at `batch_size`.

        Each field's values are batched apart only as the sort by field cuts them: the
        count is that of `submit`, ``ceil(values / batch_size)``.
        """
        _check_batch_size(batch_size)
        count = questions if isinstance(questions, int) else len(questions)
        return -(-count // batch_size)

    def enough(self, questions: Mapping[K, Question] | int, *, batch_size: int) -> bool:
        """Whether `questions` make at least `min_records` records: else decide them online."""
        return self.records_for(questions, batch_size=batch_size) >= self.min_records

    # -- submitting ------------------------------------------------------------------------

    def submit(
        self,
        questions: Mapping[K, Question],
        dispatcher: ModelDispatcher,
        *,
        batch_size: int = 10,
    ) -> BatchJob:
        """Write `questions` as batch records to S3 and create the Bedrock job(s).

        The values are batched as the online pass batches them (sorted by field, `batch_size`
        a request) and each request is built by the dispatcher's prompt builder in its
        current answer mode. The run's name comes from its input, so submitting the same
        values again while their job has not ended returns that job (and a crash between
        writing the input and creating the job is finished by the next submit or `resume`);
        once it has ended, the same values make a new run.

        Raises:
            ConfigurationError: Fewer records than `min_records` (decide them with on-demand
                calls instead), a backend or model batch inference cannot serve, or a bad
                `batch_size`.
            BackendError: S3 or Bedrock refused a call (the subclass says whether a retry
                may help); no value is decided by this.
        """
        _check_batch_size(batch_size)
        _check_dispatcher(dispatcher)
        records = plan_records(questions, dispatcher.prompt_builder, batch_size)
        if len(records) < self.min_records:
            raise ConfigurationError(
                f"{len(questions)} values make {len(records)} batch records at batch_size "
                f"{batch_size}, fewer than the {self.min_records} a Bedrock batch inference job "
                "needs (min_records, an adjustable account quota); decide them with on-demand "
                "calls instead (see BedrockBatchInference.enough)"
            )
        parts = split_records(
            records,
            per_job=self.max_records_per_job,
            per_file=self.max_records_per_file,
            file_bytes=self.max_file_bytes,
            job_bytes=self.max_job_bytes,
        )
        if min(sum(len(f) for f in part) for part in parts) < self.min_records:
            raise ConfigurationError(
                "the records cannot be split into jobs of at least min_records each; raise "
                "max_records_per_job to at least twice min_records"
            )
        digest = digest_of(dispatcher.model_id, records)
        name, existing = self._free_name(f"llmn-{digest[:20]}")
        if existing is not None:
            logger.info("batch run %s was submitted before: resuming it", name)
            return self._create(existing)
        job = self._layout(name, parts, dispatcher, batch_size, len(questions))
        self._upload(job, parts)
        return self._create(job)

    def _free_name(self, base: str) -> tuple[str, BatchJob | None]:
        """The name of this input's run: an unfinished earlier run's, or the next new one."""
        for attempt in range(1, _ATTEMPTS + 1):
            name = base if attempt == 1 else f"{base}-{attempt}"
            existing = self._read_job(self._folder(name))
            if existing is None:
                return name, None
            created = len(existing.job_arns) == len(existing.parts)
            if not created or not self.status(existing).done:
                return name, existing
        raise ConfigurationError(
            f"the same values were submitted {_ATTEMPTS} times ({base}); clean the prefix"
        )

    def _folder(self, name: str) -> str:
        prefix = f"{self.prefix}/" if self.prefix else ""
        return f"s3://{self.bucket}/{prefix}{name}/"

    def _layout(
        self,
        name: str,
        parts: Sequence[Sequence[Sequence[PlannedRecord]]],
        dispatcher: ModelDispatcher,
        batch_size: int,
        items: int,
    ) -> BatchJob:
        """The run's `BatchJob` before its jobs exist: names, S3 URIs, tokens."""
        folder = self._folder(name)
        laid_out = []
        for number, files in enumerate(parts):
            several = len(parts) > 1
            job_name = f"{name}-{number + 1}" if several else name
            input_uri = f"{folder}input/part-{number + 1:03d}/" if several else f"{folder}input/"
            names = file_names(len(files))
            token = hashlib.sha256(f"{job_name}|{input_uri}".encode()).hexdigest()
            records = sum(len(f) for f in files)
            laid_out.append(
                BatchPart(job_name, "", input_uri, names, f"{folder}output/", records, token)
            )
        return BatchJob(
            name=name,
            model_id=dispatcher.model_id,
            prompt_version=dispatcher.prompt_version,
            answer_mode=dispatcher.answer_mode,
            batch_size=batch_size,
            submitted_at=self._clock(),
            folder_uri=folder,
            parts=tuple(laid_out),
            items=items,
        )

    def _upload(self, job: BatchJob, parts: Sequence[Sequence[Sequence[PlannedRecord]]]) -> None:
        """Write the input files, the record map and the job (not created yet) to S3."""
        for part, files in zip(job.parts, parts, strict=True):
            for file_name, records in zip(part.input_files, files, strict=True):
                body = b"".join(record.line for record in records)
                self._put(f"{part.input_uri}{file_name}", body, _JSONL)
        names = [part.input_files for part in job.parts]
        self._put(job.record_map_uri, record_map(parts, names), "application/json")
        self._put(job.job_uri, job.to_json().encode(), "application/json")
        logger.info(
            "batch run %s: %d values in %d records, %d jobs, written to %s",
            job.name,
            job.items,
            job.records,
            len(job.parts),
            job.folder_uri,
        )

    def _create(self, job: BatchJob) -> BatchJob:
        """Create the jobs not created yet (idempotently), and record their ARNs in S3."""
        parts = list(job.parts)
        try:
            for number, part in enumerate(parts):
                if not part.job_arn:
                    parts[number] = replace(part, job_arn=self._create_part(job, part))
        finally:
            created = replace(job, parts=tuple(parts))
            if created != job:
                self._put(created.job_uri, created.to_json().encode(), "application/json")
        return created

    def _create_part(self, job: BatchJob, part: BatchPart) -> str:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            answer = self.bedrock.create_model_invocation_job(
                jobName=part.job_name,
                roleArn=self.role_arn,
                clientRequestToken=part.client_token,
                modelId=job.model_id,
                modelInvocationType="InvokeModel",
                inputDataConfig={
                    "s3InputDataConfig": {"s3Uri": part.input_uri, "s3InputFormat": "JSONL"}
                },
                outputDataConfig={"s3OutputDataConfig": {"s3Uri": part.output_uri}},
                timeoutDurationInHours=self.timeout_hours,
            )
        except (BotoCoreError, ClientError) as exc:
            bedrock_error(exc, "CreateModelInvocationJob", job.model_id)
        arn = answer["jobArn"]
        logger.info("batch job %s created: %s (%d records)", part.job_name, arn, part.records)
        return arn

    # -- finding, polling ------------------------------------------------------------------

    def resume(self, job_name_or_arn: str) -> BatchJob:
        """The `BatchJob` of a run submitted earlier, from its name or one of its job ARNs.

        Jobs the submit did not get to create (the process died in between) are created now,
        with the same request tokens, so none is created twice.

        Raises:
            ConfigurationError: No such run under this bucket and prefix.
            BackendError: S3 or Bedrock refused a call.
        """
        if job_name_or_arn.startswith("arn:"):
            folder = self._folder_of_arn(job_name_or_arn)
        else:
            folder = self._folder(job_name_or_arn)
        job = self._read_job(folder)
        if job is None:
            raise ConfigurationError(
                f"no batch run {job_name_or_arn!r}: nothing at {folder}job.json"
            )
        return self._create(job)

    def _folder_of_arn(self, arn: str) -> str:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            answer = self.bedrock.get_model_invocation_job(jobIdentifier=arn)
        except (BotoCoreError, ClientError) as exc:
            bedrock_error(exc, "GetModelInvocationJob", arn)
        uri = answer["inputDataConfig"]["s3InputDataConfig"]["s3Uri"]
        folder, found, _rest = uri.rpartition("/input/")
        if not found:
            raise ConfigurationError(f"batch job {arn} was not submitted by llm_normalize")
        return f"{folder}/"

    def status(self, job: BatchJob) -> BatchStatus:
        """The status of each of the run's jobs (GetModelInvocationJob).

        Raises:
            ConfigurationError: A job of the run was never created (call `resume`).
            BackendError: Bedrock refused the call.
        """
        from botocore.exceptions import BotoCoreError, ClientError

        states: dict[str, JobState] = {}
        for part in job.parts:
            if not part.job_arn:
                raise ConfigurationError(
                    f"batch job {part.job_name} was never created; resume({job.name!r}) creates it"
                )
            try:
                answer: Mapping[str, Any] = self.bedrock.get_model_invocation_job(
                    jobIdentifier=part.job_arn
                )
            except (BotoCoreError, ClientError) as exc:
                bedrock_error(exc, "GetModelInvocationJob", job.model_id)
            states[part.job_arn] = JobState.from_answer(part.job_arn, answer)
        return BatchStatus(states)

    def wait(
        self,
        job: BatchJob,
        *,
        stop_when: StopWhen | None = None,
        poll_s: float = 60.0,
        max_poll_s: float = 900.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> BatchStatus:
        """Poll until every job of the run is terminal, or `stop_when` says stop.

        Waits `poll_s`, then twice as long each time, at most `max_poll_s`; never past a
        `Deadline`. A throttled or failing status call is tried again at the next poll.
        Check `BatchStatus.done` on the result: a `stop_when` may end the wait first.

        Raises:
            BackendError: A status call failed in a way no retry can fix (access denied).
        """
        if poll_s <= 0 or max_poll_s < poll_s:
            raise ConfigurationError("poll_s must be positive and max_poll_s at least poll_s")
        delay, status = poll_s, BatchStatus()
        while True:
            try:
                status = self.status(job)
            except BackendError as exc:
                if not exc.retryable:
                    raise
                logger.info("batch run %s: status call failed (%s), polling on", job.name, exc.code)
            else:
                if status.done:
                    return status
            if stop_when is not None and stop_when():
                return status
            left = time_left(stop_when)
            sleep(delay if left is None else max(0.0, min(delay, left)))
            delay = min(delay * 2, max_poll_s)

    def stop(self, job: BatchJob) -> None:
        """Ask Bedrock to stop every job of the run that is not terminal (StopModelInvocationJob).

        The values of a stopped job stay undecided when it is collected.
        """
        from botocore.exceptions import BotoCoreError, ClientError

        for arn, state in self.status(job).jobs.items():
            if state.terminal:
                continue
            try:
                self.bedrock.stop_model_invocation_job(jobIdentifier=arn)
            except (BotoCoreError, ClientError) as exc:
                bedrock_error(exc, "StopModelInvocationJob", job.model_id)

    # -- collecting ------------------------------------------------------------------------

    def collect(
        self,
        job: BatchJob,
        questions: Mapping[K, Question],
        dispatcher: ModelDispatcher,
    ) -> BatchOutcome[K]:
        """Read the answers of a finished run and decide `questions` as the online path would.

        Each record's ``modelOutput`` is read as an InvokeModel answer, parsed by
        ``dispatcher.parser`` and each item judged by `ModelDispatcher.judge` (guard,
        post-processors; accepted answers and refusals cached as online ones are). An
        ``error`` record, a record missing from the output, a cut-off or unreadable answer,
        or a job that Failed, was Stopped or Expired leave their values undecided: the rules'
        value, flagged ``model_failed``. A question the run did not carry is ``not_sent``.

        Raises:
            ConfigurationError: The run has not finished (`wait` first), or `dispatcher`
                builds another prompt version or calls another model than the run did.
            BackendError: S3 or Bedrock refused a call.
        """
        _check_same_prompt(job, dispatcher)
        status = self.status(job)
        if not status.done:
            raise ConfigurationError(
                f"batch run {job.name} has not finished ({', '.join(sorted(set(status.statuses.values())))}); "
                "wait() for it before collecting"
            )
        outcome = Collector(job, questions, dispatcher).run(
            status, self._record_map(job), self._get
        )
        logger.info(
            "batch run %s collected: %d of %d records answered, %d values undecided",
            job.name,
            outcome.records_answered,
            outcome.records,
            len(outcome.undecided),
        )
        return outcome

    def values(self, job: BatchJob) -> list[tuple[str, str]]:
        """The values a run carries, as (field name, raw value), read from its record map.

        For a process that did not submit the run: rebuild its questions from these, then
        `collect` them.

        Raises:
            ConfigurationError: The run has no readable record map.
            BackendError: S3 refused the call.
        """
        return [item for _p, _f, items in self._record_map(job).values() for item in items]

    def _record_map(self, job: BatchJob) -> dict[str, tuple[int, str, tuple[tuple[str, str], ...]]]:
        data = self._get(job.record_map_uri)
        if data is None:
            raise ConfigurationError(
                f"batch run {job.name} has no record map at {job.record_map_uri}"
            )
        return read_record_map(data)

    # -- S3 --------------------------------------------------------------------------------

    def _put(self, uri: str, body: bytes, content_type: str) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        bucket, key = split_uri(uri)
        try:
            self.s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type)
        except (BotoCoreError, ClientError) as exc:
            raise s3_error(exc, "PutObject", uri) from exc

    def _get(self, uri: str) -> bytes | None:
        """The object at `uri`, or `None` when there is none."""
        from botocore.exceptions import BotoCoreError, ClientError

        bucket, key = split_uri(uri)
        try:
            return self.s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code in ("NoSuchKey", "404"):
                return None
            raise s3_error(exc, "GetObject", uri) from exc
        except BotoCoreError as exc:
            raise s3_error(exc, "GetObject", uri) from exc

    def _read_job(self, folder: str) -> BatchJob | None:
        data = self._get(f"{folder}job.json")
        return None if data is None else BatchJob.from_json(data)


def _check_settings(
    bucket: str, role_arn: str, min_records: int, max_records_per_job: int, timeout_hours: int
) -> None:
    if not bucket or "/" in bucket:
        raise ConfigurationError("bucket must be an S3 bucket name (no s3://, no slash)")
    if not role_arn.startswith("arn:") or ":role/" not in role_arn:
        raise ConfigurationError(
            "role_arn must be the ARN of an IAM role (arn:aws:iam::ACCOUNT:role/NAME)"
        )
    if min_records < 1 or max_records_per_job < min_records:
        raise ConfigurationError("min_records must be positive and at most max_records_per_job")
    if not 24 <= timeout_hours <= 168:
        raise ConfigurationError("timeout_hours must be between 24 and 168 (Bedrock's range)")


def _check_batch_size(batch_size: int) -> None:
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ConfigurationError("batch_size must be an integer of at least 1")


def _check_dispatcher(dispatcher: ModelDispatcher) -> None:
    """Refuse what batch inference cannot serve: InvokeModel records, Anthropic bodies only."""
    api = getattr(dispatcher.backend, "api", "invoke")
    if api != "invoke":
        raise ConfigurationError(
            f"batch inference writes InvokeModel records with the Anthropic Messages body; "
            f"a backend with api={api!r} is not supported: use api='invoke' with a Claude model"
        )
    model = foundation_model_id(dispatcher.model_id)
    if model is not None and not model.startswith("anthropic."):
        raise ConfigurationError(
            f"batch inference writes Anthropic Messages bodies (InvokeModel), so it needs a "
            f"Claude model on Bedrock, not {dispatcher.model_id!r}"
        )


def _check_same_prompt(job: BatchJob, dispatcher: ModelDispatcher) -> None:
    if dispatcher.model_id != job.model_id:
        raise ConfigurationError(
            f"batch run {job.name} asked model {job.model_id!r}, this dispatcher calls "
            f"{dispatcher.model_id!r}: collect it with a dispatcher of the same model"
        )
    version = dispatcher.builder_for(job.answer_mode).prompt_version
    if version != job.prompt_version:
        raise ConfigurationError(
            f"batch run {job.name} was built with prompt version {job.prompt_version}, this "
            f"dispatcher builds {version}: its answers would be cached under the wrong version; "
            "collect it with the profile and settings it was submitted with, or submit again"
        )
