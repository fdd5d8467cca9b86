"""The reference AWS Lambda entrypoint: `handler(event, context)`, one function for every trigger.

Point the function at ``llm_normalize.aws_lambda.handler`` and install the ``lambda`` extra
(aws-lambda-powertools). The handler recognises the event it got:

| event | what the handler does | what it returns |
|---|---|---|
| EventBridge scheduled event | the seed's daily run on the store, config from the config table | ``{"report": {...}}`` |
| API Gateway REST (v1) or HTTP API (v2), ``POST /admin/normalize-leads[?forceAll=true&limit=N]`` | the same run, for a caller in the admin Cognito group | a proxy response whose JSON body is ``{"report": {...}}`` |
| direct invocation ``{"forceAll": true, "limit": 10}`` (both optional; ``{}`` is the daily run) | the same run | ``{"report": {...}}``, or ``{"error": {...}}`` for a bad event |
| DynamoDB Streams | normalizes INSERTs, and MODIFYs that changed a field to normalize | ``{"batchItemFailures": [...]}`` (sequence numbers) |
| SQS, bodies ``{"leadIds": [...]}`` or ``{"leadId": "..."}`` | normalizes those leads (when due, or with ``"forceAll": true``) | ``{"batchItemFailures": [...]}`` (message ids) |

No loops: a stream MODIFY that changed only what normalization writes (``normalizedData``,
``normalizedAt``, ``updatedAt``, ``normalizationMeta``, ``normalizationPrevious``), i.e. our own
write-back or a rollback, is ignored.

Deadline: each invocation passes its own ``stop_when`` to its runs: "less than
``STOP_BEFORE_TIMEOUT_MS`` left" (never more than half the time the invocation started
with), and for API requests also "``API_DEADLINE_MS`` since the request arrived", so the
answer beats the gateway's 29-30 s limit. No new model call starts after that; the leads
not reached stay untouched for the next run (stream records and SQS messages are reported
as failed, so that Lambda delivers them again), and the report says
``stopped_early: "deadline"``. The shared normalizer is never changed.

The package, by concern (imports go down this list only):

- `llm_normalize.aws_lambda.events`: which trigger sent an event; stream records and SQS
  messages read (images decoded by the stores' codec).
- `llm_normalize.aws_lambda.telemetry`: JSON logs and EMF metrics through powertools.
- `llm_normalize.aws_lambda.invocation`: one invocation's context, deadline and summary.
- `llm_normalize.aws_lambda.runtime`: the store, normalizer and telemetry built once per
  container (`get_runtime`, `configure`, `reset_runtime`).
- `llm_normalize.aws_lambda.runs`: scheduled and direct runs.
- `llm_normalize.aws_lambda.api`: the admin API (routes, Cognito group, proxy responses).
- `llm_normalize.aws_lambda.batches`: DynamoDB Streams and SQS batches, partial failures.
- `llm_normalize.aws_lambda.entrypoint`: `handler` itself.

Importing this package imports neither boto3 nor aws-lambda-powertools; ``import
llm_normalize`` does not import this package.

Environment variables (besides the seed's ``LEADS_TABLE``, ``CONFIG_TABLE``,
``BEDROCK_MODEL_ID``, ``BATCH_SIZE``, ``MAX_LEADS_PER_RUN``, ``NORMALIZATION_TTL_DAYS``, ...):

| variable | default | meaning |
|---|---|---|
| ``NORMALIZATION_BACKEND`` | ``bedrock`` | ``bedrock`` (Claude on Bedrock), ``openai`` (an OpenAI-compatible server: ``OPENAI_BASE_URL``, ``OPENAI_API_KEY_SECRET_ARN``) or ``rules`` (no model) |
| ``BEDROCK_API`` | ``invoke`` | ``invoke`` (InvokeModel) or ``converse`` |
| ``AWS_REGION`` | set by Lambda | the region of DynamoDB and Bedrock |
| ``ADMIN_GROUP`` | ``admins`` | the Cognito group allowed to call the admin API |
| ``STOP_BEFORE_TIMEOUT_MS`` | ``30000`` | start no model call with less time than this left |
| ``API_DEADLINE_MS`` | ``20000`` | start no model call this long after an API request arrived |
| ``POWERTOOLS_SERVICE_NAME`` | ``llm-normalize`` | the ``service`` of logs and the metrics' dimension |
| ``POWERTOOLS_METRICS_NAMESPACE`` | ``LlmNormalize`` | the CloudWatch namespace of the metrics |
| ``POWERTOOLS_LOG_LEVEL`` / ``LOG_LEVEL`` | ``INFO`` | the level of the JSON logs |
"""

from llm_normalize.aws_lambda.api import ADMIN_PATH
from llm_normalize.aws_lambda.entrypoint import handler
from llm_normalize.aws_lambda.events import EventKind, event_kind
from llm_normalize.aws_lambda.invocation import InvocationError, LambdaContext
from llm_normalize.aws_lambda.runtime import (
    DEFAULT_ADMIN_GROUP,
    DEFAULT_API_DEADLINE_MS,
    DEFAULT_STOP_BEFORE_TIMEOUT_MS,
    Runtime,
    configure,
    get_runtime,
    reset_runtime,
)
from llm_normalize.aws_lambda.telemetry import (
    DEFAULT_METRICS_NAMESPACE,
    DEFAULT_SERVICE,
    TelemetryMode,
)

__all__ = [
    "ADMIN_PATH",
    "DEFAULT_ADMIN_GROUP",
    "DEFAULT_API_DEADLINE_MS",
    "DEFAULT_METRICS_NAMESPACE",
    "DEFAULT_SERVICE",
    "DEFAULT_STOP_BEFORE_TIMEOUT_MS",
    "EventKind",
    "InvocationError",
    "LambdaContext",
    "Runtime",
    "TelemetryMode",
    "configure",
    "event_kind",
    "get_runtime",
    "handler",
    "reset_runtime",
]
