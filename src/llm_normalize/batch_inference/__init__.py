"""Bedrock batch inference: decide many unsure values in one asynchronous job, at the batch rate.

For backfills, where the values to ask are many and nobody waits for them: batch inference
costs about half as much as on-demand calls and has no per-second quota, but a job takes
minutes to hours. The flow, and what stays true along it:

1. `BedrockBatchInference.submit` batches the questions as the online pass does, writes one
   JSONL record per request to S3 (InvokeModel bodies, built by the dispatcher's prompt
   builder) with a record map beside it, and creates the job(s). Too few records for the
   service's minimum are refused (`BedrockBatchInference.enough` says it before: ask those
   online); too many are split into several jobs or files.
2. `BedrockBatchInference.wait` polls with backoff; `BedrockBatchInference.resume` rebuilds
   the `BatchJob` after the process died, from its name or ARN.
3. `BedrockBatchInference.collect` reads each answer through the same parser, guard,
   post-processors and cache as an online call. Whatever the run did not decide (an error
   record, a missing or cut-off or unreadable answer, a failed, stopped or expired job) comes
   back as the rules' value flagged ``model_failed``, in `BatchOutcome.undecided`: never
   save it as done.

`BatchOutcome.report` prices the run at the batch rate (`llm_normalize.pricing.batch_prices`).

Nothing here is imported by ``import llm_normalize``; boto3 is imported when clients are built.

Examples:
    >>> batch = BedrockBatchInference(bucket="my-bucket", role_arn=ROLE)  # doctest: +SKIP
    >>> if batch.enough(questions, batch_size=10):  # doctest: +SKIP
    ...     job = batch.submit(questions, dispatcher, batch_size=10)
    ...     status = batch.wait(job)
    ...     outcome = batch.collect(job, questions, dispatcher)
"""

from llm_normalize.batch_inference.inference import (
    DEFAULT_MAX_FILE_BYTES,
    DEFAULT_MAX_JOB_BYTES,
    DEFAULT_MAX_RECORDS_PER_FILE,
    DEFAULT_MAX_RECORDS_PER_JOB,
    DEFAULT_MIN_RECORDS,
    BedrockBatchInference,
)
from llm_normalize.batch_inference.job import (
    FAILED_STATUSES,
    JOB_STATUSES,
    TERMINAL_STATUSES,
    BatchJob,
    BatchPart,
    BatchStatus,
    JobState,
    JobStatus,
)
from llm_normalize.batch_inference.records import BatchOutcome

__all__ = [
    "DEFAULT_MAX_FILE_BYTES",
    "DEFAULT_MAX_JOB_BYTES",
    "DEFAULT_MAX_RECORDS_PER_FILE",
    "DEFAULT_MAX_RECORDS_PER_JOB",
    "DEFAULT_MIN_RECORDS",
    "FAILED_STATUSES",
    "JOB_STATUSES",
    "TERMINAL_STATUSES",
    "BatchJob",
    "BatchOutcome",
    "BatchPart",
    "BatchStatus",
    "BedrockBatchInference",
    "JobState",
    "JobStatus",
]
