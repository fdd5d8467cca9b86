"""The reference AWS Lambda entrypoint: `handler(event, context)`, one function for every trigger.

Point the function at ``llm_normalize.aws_lambda.handler``. It recognises the event it got:

| event | what the handler does | what it returns |
|---|---|---|
| EventBridge scheduled event | the seed's daily `Normalizer.run(store)`, config from the config table | ``{"report": {...}}`` |
| API Gateway REST (v1) or HTTP API (v2), ``POST /admin/normalize-leads[?forceAll=true&limit=N]`` | the same run, for a caller in the admin Cognito group | a proxy response whose JSON body is ``{"report": {...}}`` |
| direct invocation ``{"forceAll": true, "limit": 10}`` (both optional; ``{}`` is the daily run) | the same run | ``{"report": {...}}``, or ``{"error": {...}}`` for a bad event |
| DynamoDB Streams | normalizes INSERTs, and MODIFYs that changed a field to normalize | ``{"batchItemFailures": [...]}`` (sequence numbers) |
| SQS, bodies ``{"leadIds": [...]}`` or ``{"leadId": "..."}`` | normalizes those leads (when due, or with ``"forceAll": true``) | ``{"batchItemFailures": [...]}`` (message ids) |

No loops: a stream MODIFY that changed only what normalization writes (``normalizedData``,
``normalizedAt``, ``updatedAt``, ``normalizationMeta``), i.e. our own write-back, is ignored.

Deadline: for each invocation the normalizer's ``stop_when`` becomes "less than
``STOP_BEFORE_TIMEOUT_MS`` left" (never more than half the time the invocation started with),
and for API requests also "``API_DEADLINE_MS`` since the request arrived", so the answer beats
the gateway's 29-30 s limit. No new model call starts after that; the leads not reached stay
untouched for the next run (stream records and SQS messages are reported as failed, so that
Lambda delivers them again), and the report says ``stopped_early: "deadline"``.

Clients are created once per container: `get_runtime()` builds the store
(`DynamoDBLeadStore.from_env`), the backend and the `Normalizer` on first use and keeps them.
`configure()` builds them from parts you give (tests, teams with their own store or
normalizer); `reset_runtime()` forgets them. Importing this module imports neither boto3 nor
aws-lambda-powertools.

Logging and metrics: JSON log lines and one CloudWatch EMF document per invocation on
standard output, through aws-lambda-powertools (``Logger``, ``Metrics``) when it is installed
(the ``lambda`` extra), else through a small built-in equivalent. Logs and metrics carry ids,
counts, field names and error types, never a field value nor an authorizer claim (the
caller's ``sub`` excepted, for the audit of manual runs).

Environment variables (besides the seed's ``LEADS_TABLE``, ``CONFIG_TABLE``,
``BEDROCK_MODEL_ID``, ``BATCH_SIZE``, ``MAX_LEADS_PER_RUN``, ``NORMALIZATION_TTL_DAYS``, ...):

| variable | default | meaning |
|---|---|---|
| ``NORMALIZATION_BACKEND`` | ``bedrock`` | ``bedrock`` (Claude on Bedrock) or ``rules`` (no model) |
| ``BEDROCK_API`` | ``invoke`` | ``invoke`` (InvokeModel) or ``converse`` |
| ``AWS_REGION`` | set by Lambda | the region of DynamoDB and Bedrock |
| ``ADMIN_GROUP`` | ``admins`` | the Cognito group allowed to call the admin API |
| ``STOP_BEFORE_TIMEOUT_MS`` | ``30000`` | start no model call with less time than this left |
| ``API_DEADLINE_MS`` | ``20000`` | start no model call this long after an API request arrived |
| ``POWERTOOLS_SERVICE_NAME`` | ``llm-normalize`` | the ``service`` of logs and the metrics' dimension |
| ``POWERTOOLS_METRICS_NAMESPACE`` | ``LlmNormalize`` | the CloudWatch namespace of the metrics |
| ``POWERTOOLS_LOG_LEVEL`` / ``LOG_LEVEL`` | ``INFO`` | the level of the JSON logs |
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import os
import re
import sys
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, Final, Literal, Protocol, TextIO, TypeAlias

from llm_normalize.config import NormalizationConfig
from llm_normalize.exceptions import ConfigurationError, LLMNormalizeError
from llm_normalize.pipeline import Normalizer
from llm_normalize.report import RunReport
from llm_normalize.stores.base import (
    LEAD_ID,
    NORMALIZATION_ATTRIBUTES,
    NORMALIZED_AT,
    UPDATED_AT,
    LeadStore,
    LeadUpdate,
    SaveStatus,
    StoredLead,
    needs_normalization,
)

if TYPE_CHECKING:
    from aws_lambda_powertools import Logger
    from boto3.session import Session

    from llm_normalize.backends.base import Backend

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

logger = logging.getLogger(__name__)

ADMIN_PATH: Final = "/admin/normalize-leads"
"""The admin API route (``POST``); a path ending in it matches (stage and base-path prefixes)."""

EventKind: TypeAlias = Literal[
    "schedule", "api_rest", "api_http", "dynamodb_stream", "sqs", "direct"
]
"""The kinds of event `handler` tells apart (see `event_kind`)."""

TelemetryMode: TypeAlias = Literal["auto", "powertools", "plain"]
"""How logs and metrics are written: powertools if installed (``auto``), or one of the two."""

DEFAULT_ADMIN_GROUP: Final = "admins"
"""The Cognito group the admin API requires when ``ADMIN_GROUP`` is unset."""

DEFAULT_STOP_BEFORE_TIMEOUT_MS: Final = 30_000
"""No model call starts with less time left than this, when ``STOP_BEFORE_TIMEOUT_MS`` is unset."""

DEFAULT_API_DEADLINE_MS: Final = 20_000
"""No model call starts this long after an API request arrived, when ``API_DEADLINE_MS`` is unset."""

DEFAULT_SERVICE: Final = "llm-normalize"
"""The ``service`` of log lines and metrics when ``POWERTOOLS_SERVICE_NAME`` is unset."""

DEFAULT_METRICS_NAMESPACE: Final = "LlmNormalize"
"""The CloudWatch namespace when ``POWERTOOLS_METRICS_NAMESPACE`` is unset."""

_LIBRARY_LOGGER: Final = "llm_normalize"
_RUN_OPTIONS: Final = ("forceAll", "limit")
_LIMIT_PATTERN: Final = re.compile(r"[0-9]{1,9}")
_GROUP_SEPARATORS: Final = re.compile(r"[\s,]+")
# After this many leads in a row fail on their own, the failure is taken to be systemic
# (a store outage) and the rest of the batch is reported failed without trying each.
_MAX_CONSECUTIVE_FAILURES: Final = 3
_MISSING: Final = object()


class InvocationError(RuntimeError):
    """An invocation failed; Lambda counts it as an error (and retries it as its trigger does).

    The message names the error type, and repeats the library's own message when the error
    is one of ours (those never carry field values); other exceptions' messages might, so
    they are left out, and the original exception is not chained.
    """


class LambdaContext(Protocol):
    """The parts of the Lambda context object the handler reads."""

    @property
    def function_name(self) -> str:
        """The function's name."""
        ...

    @property
    def aws_request_id(self) -> str:
        """The invocation's request id."""
        ...

    @property
    def invoked_function_arn(self) -> str:
        """The ARN used to invoke the function."""
        ...

    @property
    def memory_limit_in_mb(self) -> int | str:
        """The function's memory size."""
        ...

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds left before Lambda stops the invocation."""
        ...


# -- the runtime: what is built once per container ----------------------------------------


class Runtime:
    """What the handler works with, built once per container by `get_runtime` or `configure`.

    Attributes:
        store: The lead store.
        normalizer: The normalizer; its ``stop_when`` is set for each invocation.
        admin_group: The Cognito group the admin API requires.
        stop_before_timeout_ms: No model call starts with less time than this left.
        api_deadline_ms: No model call starts this long after an API request arrived.
        telemetry: ``"powertools"`` or ``"plain"``: how logs and metrics are written.
    """

    def __init__(
        self,
        store: LeadStore,
        normalizer: Normalizer,
        *,
        admin_group: str,
        stop_before_timeout_ms: int,
        api_deadline_ms: int,
        telemetry: _Telemetry,
        closers: Sequence[Callable[[], None]] = (),
    ) -> None:
        self.store = store
        self.normalizer = normalizer
        self.admin_group = admin_group
        self.stop_before_timeout_ms = stop_before_timeout_ms
        self.api_deadline_ms = api_deadline_ms
        self._telemetry = telemetry
        self._closers = list(closers)

    def __repr__(self) -> str:
        return (
            f"Runtime(store={self.store!r}, normalizer={self.normalizer!r}, "
            f"admin_group={self.admin_group!r}, telemetry={self.telemetry!r})"
        )

    @property
    def telemetry(self) -> str:
        """How logs and metrics are written: ``"powertools"`` or ``"plain"``."""
        return self._telemetry.mode

    def close(self) -> None:
        """Detach the log handler, and close the store and clients the runtime built."""
        self._telemetry.uninstall()
        for close in self._closers:
            close()
        self._closers = []


_runtime: Runtime | None = None
_runtime_lock = threading.Lock()
_cold_start = True


def get_runtime() -> Runtime:
    """Return the container's runtime, building it from the environment on first use.

    Raises:
        ConfigurationError: An environment variable has a bad value.
    """
    global _runtime
    with _runtime_lock:
        if _runtime is None:
            _runtime = _activate(_build_runtime())
        return _runtime


def configure(
    *,
    store: LeadStore | None = None,
    normalizer: Normalizer | None = None,
    backend: Backend | None = None,
    admin_group: str | None = None,
    stop_before_timeout_ms: int | None = None,
    api_deadline_ms: int | None = None,
    telemetry: TelemetryMode = "auto",
) -> Runtime:
    """Build the runtime from the parts given (the environment gives the rest) and use it.

    Replaces (and closes) the current runtime. Call it at import time of your own handler
    module to inject a store or a normalizer, or in tests.

    Args:
        store: The lead store (default: `DynamoDBLeadStore.from_env`).
        normalizer: The normalizer (default: one on `backend`, with
            `NormalizationConfig.resolve()`).
        backend: The model backend of the default normalizer (default: from
            ``NORMALIZATION_BACKEND``); not together with `normalizer`.
        admin_group: Default ``ADMIN_GROUP`` or ``"admins"``.
        stop_before_timeout_ms: Default ``STOP_BEFORE_TIMEOUT_MS`` or 30000.
        api_deadline_ms: Default ``API_DEADLINE_MS`` or 20000.
        telemetry: ``"auto"`` uses aws-lambda-powertools when it is installed.

    Raises:
        ConfigurationError: Both `normalizer` and `backend` are given, or a setting is bad.

    Examples:
        >>> configure(store=MemoryLeadStore(), backend=FakeBackend())  # doctest: +SKIP
    """
    global _runtime
    runtime = _build_runtime(
        store=store,
        normalizer=normalizer,
        backend=backend,
        admin_group=admin_group,
        stop_before_timeout_ms=stop_before_timeout_ms,
        api_deadline_ms=api_deadline_ms,
        telemetry=telemetry,
    )
    with _runtime_lock:
        previous, _runtime = _runtime, runtime
        # Closing the previous runtime first restores the logging state it changed, so that
        # the new one saves (and one day restores) the original state.
        if previous is not None:
            previous.close()
        return _activate(runtime)


def _activate(runtime: Runtime) -> Runtime:
    runtime._telemetry.install()
    logger.info(
        "runtime ready",
        extra={
            "store": type(runtime.store).__name__,
            "model_id": (
                runtime.normalizer.backend.model_id
                if runtime.normalizer.backend is not None
                else None
            ),
            "telemetry": runtime.telemetry,
        },
    )
    return runtime


def reset_runtime() -> None:
    """Forget the runtime (closing what it built); the next invocation builds a new one."""
    global _runtime, _cold_start
    with _runtime_lock:
        previous, _runtime = _runtime, None
        _cold_start = True
    if previous is not None:
        previous.close()


def _build_runtime(
    *,
    store: LeadStore | None = None,
    normalizer: Normalizer | None = None,
    backend: Backend | None = None,
    admin_group: str | None = None,
    stop_before_timeout_ms: int | None = None,
    api_deadline_ms: int | None = None,
    telemetry: TelemetryMode = "auto",
) -> Runtime:
    env = os.environ
    if normalizer is not None and backend is not None:
        raise ConfigurationError("pass either normalizer or backend, not both")
    group = admin_group if admin_group is not None else env.get("ADMIN_GROUP", "").strip()
    group = group or DEFAULT_ADMIN_GROUP
    stop_ms = _milliseconds(
        stop_before_timeout_ms, "STOP_BEFORE_TIMEOUT_MS", DEFAULT_STOP_BEFORE_TIMEOUT_MS
    )
    api_ms = _milliseconds(api_deadline_ms, "API_DEADLINE_MS", DEFAULT_API_DEADLINE_MS)
    sink = _make_telemetry(telemetry)
    region = env.get("AWS_REGION") or None
    # One boto3 session for both clients: each new session loads botocore's data files again
    # (~100 ms of cold start).
    sessions = _Sessions()
    if normalizer is None:
        config = NormalizationConfig.resolve()
        if backend is None:
            backend = _backend_from_env(config, region, sessions)
        normalizer = Normalizer(backend, config=config)
    if store is None:
        store = _store_from_env(region, sessions)
    return Runtime(
        store,
        normalizer,
        admin_group=group,
        stop_before_timeout_ms=stop_ms,
        api_deadline_ms=api_ms,
        telemetry=sink,
        closers=sessions.closers,
    )


def _milliseconds(value: int | None, variable: str, default: int) -> int:
    if value is None:
        raw = os.environ.get(variable, "").strip()
        if not raw:
            return default
        if not raw.isdigit():
            raise ConfigurationError(f"{variable} must be a whole number of milliseconds")
        value = int(raw)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigurationError(f"{variable} must be a whole number of milliseconds, at least 0")
    return value


class _Sessions:
    """The boto3 session of the runtime's clients, created when the first client is."""

    def __init__(self) -> None:
        self._session: Session | None = None
        self.closers: list[Callable[[], None]] = []  # what the runtime built, closes

    def get(self) -> Session:
        if self._session is None:
            import boto3.session  # boto3 costs ~200 ms: only when a client is built

            self._session = boto3.session.Session()
        return self._session


def _store_from_env(region: str | None, sessions: _Sessions) -> LeadStore:
    """`DynamoDBLeadStore.from_env`, on a client configured as the store's own would be."""
    from botocore.config import Config
    from botocore.exceptions import NoRegionError

    from llm_normalize.stores.dynamodb import DynamoDBLeadStore

    try:
        client = sessions.get().client(
            "dynamodb",
            region_name=region,
            config=Config(retries={"mode": "standard", "max_attempts": 5}, max_pool_connections=10),
        )
    except NoRegionError as exc:
        raise ConfigurationError("no AWS region for DynamoDB: set AWS_REGION") from exc
    store = DynamoDBLeadStore.from_env(client=client)
    sessions.closers += [store.close, client.close]
    return store


def _backend_from_env(
    config: NormalizationConfig, region: str | None, sessions: _Sessions
) -> Backend | None:
    kind = (os.environ.get("NORMALIZATION_BACKEND") or "bedrock").strip().lower()
    if kind == "rules":
        return None
    if kind != "bedrock":
        raise ConfigurationError("NORMALIZATION_BACKEND must be 'bedrock' or 'rules'")
    api = (os.environ.get("BEDROCK_API") or "invoke").strip().lower()
    if api not in ("invoke", "converse"):
        raise ConfigurationError("BEDROCK_API must be 'invoke' or 'converse'")
    from llm_normalize.backends.bedrock import BedrockBackend

    backend = BedrockBackend.from_session(
        sessions.get(),
        config.model_id,
        api="invoke" if api == "invoke" else "converse",
        region_name=region,
    )
    sessions.closers.append(backend.client.close)
    return backend


# -- the handler ------------------------------------------------------------------------------


@dataclass
class _Invocation:
    """What one invocation did, for its summary log line and its metrics."""

    kind: EventKind
    started: float
    reports: list[RunReport] = field(default_factory=list)
    errors: int = 0
    failed_items: int = 0
    counts: Counter[str] = field(default_factory=Counter)


def handler(event: Any, context: LambdaContext | None = None) -> dict[str, Any]:
    """The Lambda entrypoint: recognise the event, do what it asks, answer in its format.

    See the module docstring for the events and their answers.

    Raises:
        InvocationError: A scheduled or direct run failed, or a stream or SQS batch failed
            as a whole (its config could not be read, say), so that Lambda counts the
            invocation as failed and its trigger retries it.
        ConfigurationError: The environment is set up wrongly.
    """
    global _cold_start
    runtime = get_runtime()
    kind = event_kind(event)
    invocation = _Invocation(kind=kind, started=time.monotonic())
    runtime._telemetry.start(_context_keys(context, kind, event, cold_start=_cold_start))
    _cold_start = False
    try:
        with _deadline(runtime, context, invocation):
            return _HANDLERS[kind](runtime, event, invocation)
    except InvocationError:
        raise
    except Exception as exc:
        invocation.errors += 1
        _log_failure("the invocation failed", exc)
        raise InvocationError(f"{kind} invocation failed: {_safe_error(exc)}") from None
    finally:
        _publish(runtime, invocation)
        runtime._telemetry.finish()


def event_kind(event: object) -> EventKind:
    """Tell which trigger sent `event`; anything unrecognised counts as a direct invocation.

    Examples:
        >>> event_kind({"source": "aws.events", "detail-type": "Scheduled Event"})
        'schedule'
        >>> event_kind({"forceAll": True})
        'direct'
    """
    if not isinstance(event, Mapping):
        return "direct"
    records = event.get("Records")
    if isinstance(records, list) and records and isinstance(records[0], Mapping):
        source = records[0].get("eventSource")
        if source == "aws:dynamodb":
            return "dynamodb_stream"
        if source == "aws:sqs":
            return "sqs"
    if event.get("source") == "aws.events" and event.get("detail-type") == "Scheduled Event":
        return "schedule"
    request_context = event.get("requestContext")
    if isinstance(request_context, Mapping):
        if event.get("version") == "2.0" and isinstance(request_context.get("http"), Mapping):
            return "api_http"
        if isinstance(event.get("httpMethod"), str):
            return "api_rest"
    return "direct"


class _BadRequest(Exception):
    """An event or request the handler refuses; the message is safe to show and log."""


class _Unusable(Exception):
    """A stream record or SQS message that cannot be processed; the message is PII-free."""


@contextmanager
def _deadline(
    runtime: Runtime, context: LambdaContext | None, invocation: _Invocation
) -> Iterator[None]:
    """Set the normalizer's ``stop_when`` for this invocation, and restore it afterwards."""
    normalizer = runtime.normalizer
    previous = normalizer.stop_when
    checks: list[Callable[[], bool]] = []
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    if callable(remaining):
        threshold = runtime.stop_before_timeout_ms
        initial = int(remaining())
        if threshold > initial // 2:
            # A threshold near the whole timeout would stop every call before it starts,
            # and a stream or queue would then deliver the same records forever.
            threshold = initial // 2
            logger.warning(
                "STOP_BEFORE_TIMEOUT_MS is more than half the invocation's time; using half",
                extra={"stop_before_timeout_ms": threshold},
            )
        checks.append(lambda: int(remaining()) < threshold)
    if invocation.kind in ("api_rest", "api_http"):
        started, budget_s = invocation.started, runtime.api_deadline_ms / 1000
        checks.append(lambda: time.monotonic() - started >= budget_s)
    if previous is not None:
        checks.append(previous)
    if checks:
        normalizer.stop_when = lambda: any(check() for check in checks)
    try:
        yield
    finally:
        normalizer.stop_when = previous


# -- scheduled, direct and API runs -----------------------------------------------------------


def _run(runtime: Runtime, invocation: _Invocation, force: bool, limit: int | None) -> RunReport:
    logger.info("normalization run started", extra={"force_all": force, "limit": limit})
    report = runtime.normalizer.run(runtime.store, force=force, limit=limit)
    invocation.reports.append(report)
    return report


def _handle_schedule(runtime: Runtime, event: Any, invocation: _Invocation) -> dict[str, Any]:
    try:
        report = _run(runtime, invocation, False, None)
    except Exception as exc:
        invocation.errors += 1
        _log_failure("the scheduled run failed", exc)
        raise InvocationError(f"normalization run failed: {_safe_error(exc)}") from None
    return {"report": report.model_dump(mode="json")}


def _handle_direct(runtime: Runtime, event: Any, invocation: _Invocation) -> dict[str, Any]:
    try:
        force, limit = _direct_options(event)
    except _BadRequest as exc:
        invocation.errors += 1
        logger.warning("refused a direct invocation: %s", exc)
        return {"error": {"type": "InvalidEvent", "message": str(exc)}}
    try:
        report = _run(runtime, invocation, force, limit)
    except Exception as exc:
        invocation.errors += 1
        _log_failure("the run failed", exc)
        raise InvocationError(f"normalization run failed: {_safe_error(exc)}") from None
    return {"report": report.model_dump(mode="json")}


def _direct_options(event: Any) -> tuple[bool, int | None]:
    if not isinstance(event, Mapping):
        raise _BadRequest('the event must be a JSON object such as {"forceAll": true, "limit": 10}')
    if set(event) - set(_RUN_OPTIONS):
        raise _BadRequest(
            "not a recognised event: a direct invocation takes only forceAll (true/false) and "
            "limit (a positive integer)"
        )
    force = event.get("forceAll")
    if force is None:
        force = False
    if not isinstance(force, bool):
        raise _BadRequest("forceAll must be true or false")
    limit = event.get("limit")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise _BadRequest("limit must be a positive integer")
    return force, limit


def _handle_api(runtime: Runtime, event: Any, invocation: _Invocation) -> dict[str, Any]:
    method, path = _route(event, invocation.kind)
    if not path.rstrip("/").endswith(ADMIN_PATH):
        invocation.counts["not_found"] += 1
        return _api_error(404, "NotFound", "no such route")
    if method != "POST":
        invocation.counts["method_not_allowed"] += 1
        return _api_error(405, "MethodNotAllowed", "use POST", {"Allow": "POST"})
    claims = _claims(event)
    if not claims:
        invocation.counts["forbidden"] += 1
        logger.warning("refused an admin request without authorizer claims")
        return _api_error(403, "Forbidden", "the request carries no authorizer claims")
    if runtime.admin_group not in _groups(claims):
        invocation.counts["forbidden"] += 1
        logger.warning(
            "refused an admin request from a caller outside the admin group",
            extra={"principal_id": _principal(claims)},
        )
        return _api_error(403, "Forbidden", "the caller is not in the admin group")
    try:
        force, limit = _query_options(event, invocation.kind)
    except _BadRequest as exc:
        invocation.counts["bad_request"] += 1
        return _api_error(400, "BadRequest", str(exc))
    logger.info("admin run requested", extra={"principal_id": _principal(claims)})
    try:
        report = _run(runtime, invocation, force, limit)
    except Exception as exc:
        invocation.errors += 1
        _log_failure("the admin run failed", exc)
        return _api_error(500, "RunFailed", f"normalization run failed: {_safe_error(exc)}")
    return _api_response(200, {"report": report.model_dump(mode="json")})


def _route(event: Mapping[str, Any], kind: EventKind) -> tuple[str, str]:
    if kind == "api_http":
        http = event["requestContext"]["http"]
        method, path = http.get("method"), event.get("rawPath") or http.get("path")
    else:
        method, path = event.get("httpMethod"), event.get("path") or event.get("resource")
    return (
        method.upper() if isinstance(method, str) else "",
        path if isinstance(path, str) else "",
    )


def _claims(event: Mapping[str, Any]) -> Mapping[str, Any]:
    """The authorizer claims: ``authorizer.claims`` (REST, Cognito) or ``authorizer.jwt.claims``."""
    request_context = event.get("requestContext")
    authorizer = request_context.get("authorizer") if isinstance(request_context, Mapping) else None
    if not isinstance(authorizer, Mapping):
        return {}
    claims = authorizer.get("claims")
    if not isinstance(claims, Mapping):
        jwt = authorizer.get("jwt")
        claims = jwt.get("claims") if isinstance(jwt, Mapping) else None
    return claims if isinstance(claims, Mapping) else {}


def _groups(claims: Mapping[str, Any]) -> set[str]:
    """The caller's ``cognito:groups``, in any of the shapes API Gateway passes them.

    REST APIs pass ``"admins,users"``, HTTP APIs ``"[admins users]"``; a list is accepted too.
    """
    raw = claims.get("cognito:groups")
    if isinstance(raw, list | tuple):
        parts = [str(item) for item in raw]
    elif isinstance(raw, str):
        parts = _GROUP_SEPARATORS.split(raw.strip().strip("[]"))
    else:
        return set()
    return {part.strip().strip("\"'") for part in parts} - {""}


def _principal(claims: Mapping[str, Any]) -> str | None:
    # Only the subject id: usernames and emails are personal data.
    sub = claims.get("sub")
    return sub if isinstance(sub, str) else None


def _query_options(event: Mapping[str, Any], kind: EventKind) -> tuple[bool, int | None]:
    params: dict[str, list[str]] = {}
    multi = event.get("multiValueQueryStringParameters") if kind == "api_rest" else None
    single = event.get("queryStringParameters")
    if isinstance(multi, Mapping):
        params = {
            str(k): [str(v) for v in values] if isinstance(values, list) else [str(values)]
            for k, values in multi.items()
        }
    elif isinstance(single, Mapping):
        params = {str(k): [str(v)] for k, v in single.items()}
    if set(params) - set(_RUN_OPTIONS):
        raise _BadRequest("unknown query parameter: only forceAll and limit are accepted")
    force = False
    limit: int | None = None
    if "forceAll" in params:
        values = params["forceAll"]
        if len(values) != 1 or values[0].lower() not in ("true", "false"):
            raise _BadRequest("forceAll must be true or false")
        force = values[0].lower() == "true"
    if "limit" in params:
        values = params["limit"]
        if len(values) != 1 or not _LIMIT_PATTERN.fullmatch(values[0]) or int(values[0]) < 1:
            raise _BadRequest("limit must be a positive integer")
        limit = int(values[0])
    return force, limit


def _api_response(
    status: int, payload: Mapping[str, Any], headers: Mapping[str, str] | None = None
) -> dict[str, Any]:
    # The same proxy answer suits REST (v1) and HTTP API (v2, payload format 1.0 or 2.0).
    return {
        "statusCode": status,
        "headers": {
            "Content-Type": "application/json",
            "Cache-Control": "no-store",
            **(headers or {}),
        },
        "body": json.dumps(payload),
        "isBase64Encoded": False,
    }


def _api_error(
    status: int, kind: str, message: str, headers: Mapping[str, str] | None = None
) -> dict[str, Any]:
    return _api_response(status, {"error": {"type": kind, "message": message}}, headers)


# -- DynamoDB Streams -------------------------------------------------------------------------


@dataclass
class _StreamLead:
    """The records of one lead in a stream batch, folded into what to do with it."""

    lead_id: str
    image: dict[str, Any] | None = None
    needs: bool = False
    retry_from: str = ""


def _handle_stream(runtime: Runtime, event: Any, invocation: _Invocation) -> dict[str, Any]:
    config = _effective_config(runtime)
    if not config.enabled:
        logger.info("normalization is disabled by the configuration; stream batch ignored")
        return {"batchItemFailures": []}
    leads: dict[str, _StreamLead] = {}
    for record in event["Records"]:
        try:
            name, lead_id, sequence, old, new = _stream_record(record)
        except _Unusable as exc:
            # Retrying cannot fix it: skip it rather than block the shard.
            invocation.counts["unusable"] += 1
            event_id = record.get("eventID") if isinstance(record, Mapping) else None
            logger.warning("skipped a stream record: %s", exc, extra={"event_id": event_id})
            continue
        lead = leads.setdefault(lead_id, _StreamLead(lead_id))
        if name == "REMOVE":
            invocation.counts["removed"] += 1
            lead.needs, lead.image = False, None
            continue
        if new is None:
            invocation.counts["no_new_image"] += 1
            logger.warning(
                "a stream record has no NewImage; use StreamViewType NEW_AND_OLD_IMAGES",
                extra={"lead_id": lead_id},
            )
            continue
        verdict = _stream_verdict(name, old, new, config.fields_to_normalize)
        invocation.counts[verdict] += 1
        lead.image = new
        if verdict == "normalize":
            if not lead.needs:
                # A retry must start here, or this change would be lost.
                lead.retry_from = sequence
            lead.needs = True
        elif verdict == "own_write":
            lead.needs = False
    due = [
        StoredLead(lead.lead_id, lead.image) for lead in leads.values() if lead.needs and lead.image
    ]
    statuses = _process(runtime, due, invocation)
    failures = [
        lead.retry_from
        for lead in leads.values()
        if lead.needs and lead.image and statuses.get(lead.lead_id) is None
    ]
    invocation.failed_items += len(failures)
    if failures:
        logger.warning(
            "stream records left for Lambda to retry",
            extra={"sequence_numbers": failures},
        )
    return {"batchItemFailures": [{"itemIdentifier": sequence} for sequence in failures]}


def _stream_record(
    record: Any,
) -> tuple[str, str, str, dict[str, Any] | None, dict[str, Any] | None]:
    if not isinstance(record, Mapping):
        raise _Unusable("a record is not an object")
    name = record.get("eventName")
    if name not in ("INSERT", "MODIFY", "REMOVE"):
        raise _Unusable("unknown eventName")
    data = record.get("dynamodb")
    if not isinstance(data, Mapping):
        raise _Unusable("no dynamodb block")
    sequence = data.get("SequenceNumber")
    if not isinstance(sequence, str) or not sequence:
        raise _Unusable("no SequenceNumber")
    keys = data.get("Keys")
    typed_id = keys.get(LEAD_ID) if isinstance(keys, Mapping) else None
    lead_id = _from_typed(typed_id) if typed_id is not None else None
    if not isinstance(lead_id, str) or not lead_id:
        raise _Unusable(f"no string {LEAD_ID} key")
    old = _image(data.get("OldImage"), "OldImage")
    new = _image(data.get("NewImage"), "NewImage")
    return name, lead_id, sequence, old, new


def _stream_verdict(
    name: str,
    old: Mapping[str, Any] | None,
    new: Mapping[str, Any],
    fields: Sequence[str],
) -> Literal["normalize", "own_write", "unchanged"]:
    """Whether a record asks for normalization, is our own write-back, or changed nothing of ours."""
    if name == "INSERT":
        return "normalize"
    if old is None:
        # A NEW_IMAGE stream cannot show what changed: a write-back sets normalizedAt and
        # updatedAt to the same instant, which an edit of the lead does not keep.
        at = new.get(NORMALIZED_AT)
        return "own_write" if at is not None and at == new.get(UPDATED_AT) else "normalize"
    changed = {
        key for key in old.keys() | new.keys() if old.get(key, _MISSING) != new.get(key, _MISSING)
    }
    if changed and changed <= NORMALIZATION_ATTRIBUTES:
        return "own_write"
    if any(name in changed for name in fields):
        return "normalize"
    return "unchanged"


def _image(raw: Any, what: str) -> dict[str, Any] | None:
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        raise _Unusable(f"{what} is not an object")
    return {str(name): _from_typed(value, what) for name, value in raw.items()}


def _from_typed(value: Any, what: str = "Keys") -> Any:
    """One attribute of DynamoDB JSON to a plain value, as `DynamoDBLeadStore` hands them out.

    Numbers become int (integral) or float, sets sorted lists, binaries bytes.
    """
    if not isinstance(value, Mapping) or len(value) != 1:
        raise _Unusable(f"{what} holds a malformed attribute")
    ((tag, raw),) = value.items()
    try:
        if tag == "S" and isinstance(raw, str):
            return raw
        if tag == "N" and isinstance(raw, str):
            return _number(raw)
        if tag == "BOOL" and isinstance(raw, bool):
            return raw
        if tag == "NULL":
            return None
        if tag == "B" and isinstance(raw, str):
            return base64.b64decode(raw, validate=True)
        if tag == "M" and isinstance(raw, Mapping):
            return {str(k): _from_typed(v, what) for k, v in raw.items()}
        if tag == "L" and isinstance(raw, list):
            return [_from_typed(v, what) for v in raw]
        if tag == "SS" and isinstance(raw, list):
            return sorted(str(v) for v in raw)
        if tag == "NS" and isinstance(raw, list):
            return sorted(_number(str(v)) for v in raw)
        if tag == "BS" and isinstance(raw, list):
            return sorted(base64.b64decode(str(v), validate=True) for v in raw)
    except (InvalidOperation, binascii.Error, ValueError):
        pass
    raise _Unusable(f"{what} holds a malformed attribute")


def _number(raw: str) -> int | float:
    number = Decimal(raw)
    if not number.is_finite():
        raise ValueError("not a finite number")
    return int(number) if number == number.to_integral_value() else float(number)


# -- SQS --------------------------------------------------------------------------------------


def _handle_sqs(runtime: Runtime, event: Any, invocation: _Invocation) -> dict[str, Any]:
    order: list[str] = []
    failed: set[str] = set()
    wanted: dict[str, list[str]] = {}  # lead id -> the messages naming it
    forced: set[str] = set()
    for record in event["Records"]:
        message_id = record.get("messageId") if isinstance(record, Mapping) else None
        if not isinstance(message_id, str) or not message_id:
            invocation.errors += 1
            logger.warning("an SQS record has no messageId; it cannot be reported as failed")
            continue
        order.append(message_id)
        try:
            lead_ids, force = _message_leads(record.get("body"))
        except _Unusable as exc:
            invocation.errors += 1
            failed.add(message_id)
            logger.warning("refused an SQS message: %s", exc, extra={"message_id": message_id})
            continue
        for lead_id in lead_ids:
            wanted.setdefault(lead_id, []).append(message_id)
            if force:
                forced.add(lead_id)
    if wanted:
        config = _effective_config(runtime)
        if not config.enabled:
            logger.info("normalization is disabled by the configuration; SQS batch ignored")
            wanted = {}
        now_ms = int(time.time() * 1000)
        leads: list[StoredLead] = []
        for lead_id, message_ids in wanted.items():
            try:
                item = runtime.store.get(lead_id)
            except Exception as exc:
                invocation.errors += 1
                failed.update(message_ids)
                _log_failure("reading a lead failed", exc, lead_id=lead_id)
                continue
            if item is None:
                invocation.counts["missing"] += 1
            elif not needs_normalization(
                item,
                now_ms=now_ms,
                ttl_days=config.normalization_ttl_days,
                force=lead_id in forced,
            ):
                invocation.counts["not_due"] += 1
            else:
                leads.append(StoredLead(lead_id, item))
        statuses = _process(runtime, leads, invocation, now_ms=now_ms)
        for lead in leads:
            # A lead edited since it was read ("conflict") is retried with its new values.
            if statuses.get(lead.lead_id) not in ("saved", "missing", "disabled"):
                failed.update(wanted[lead.lead_id])
    failures = [message_id for message_id in dict.fromkeys(order) if message_id in failed]
    invocation.failed_items += len(failures)
    if failures:
        logger.warning("SQS messages left for a retry", extra={"message_ids": failures})
    return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in failures]}


def _message_leads(body: Any) -> tuple[list[str], bool]:
    if not isinstance(body, str):
        raise _Unusable("the body is not a string")
    try:
        message = json.loads(body)
    except ValueError:
        raise _Unusable("the body is not JSON") from None
    if not isinstance(message, Mapping):
        raise _Unusable("the body is not a JSON object")
    if ("leadIds" in message) == ("leadId" in message):
        raise _Unusable("the body needs exactly one of leadIds and leadId")
    raw = message["leadIds"] if "leadIds" in message else [message["leadId"]]
    if not isinstance(raw, list) or not all(isinstance(i, str) and i for i in raw):
        raise _Unusable("lead ids must be non-empty strings")
    force = message.get("forceAll", False)
    if not isinstance(force, bool):
        raise _Unusable("forceAll must be true or false")
    return list(dict.fromkeys(raw)), force


# -- shared by streams and SQS ----------------------------------------------------------------


def _effective_config(runtime: Runtime) -> NormalizationConfig:
    """The normalizer's config with the stored config item on top, as a run would use."""
    stored = runtime.store.load_config()
    config = runtime.normalizer.config
    return config.with_stored(stored) if stored else config


def _process(
    runtime: Runtime,
    leads: Sequence[StoredLead],
    invocation: _Invocation,
    *,
    now_ms: int | None = None,
) -> dict[str, str]:
    """Normalize and save `leads`; return each lead's save status (absent: not saved).

    All leads go in one `process_leads` call (values deduplicated, batched). If that raises,
    the leads not saved yet are tried one at a time, so one bad lead does not fail the others
    (the normalizer's value cache spares the model calls already made).
    """
    if not leads:
        return {}
    normalizer = runtime.normalizer
    recorder = _RecordingStore(runtime.store)
    try:
        report = normalizer.process_leads(recorder, leads, now_ms=now_ms)
    except Exception as exc:
        invocation.errors += 1
        _log_failure("normalizing a batch failed; trying its leads one by one", exc)
        _process_one_by_one(runtime, recorder, leads, invocation, now_ms)
    else:
        invocation.reports.append(report)
        if not report.enabled:
            return dict.fromkeys((lead.lead_id for lead in leads), "disabled")
    return dict(recorder.statuses)


def _process_one_by_one(
    runtime: Runtime,
    recorder: _RecordingStore,
    leads: Sequence[StoredLead],
    invocation: _Invocation,
    now_ms: int | None,
) -> None:
    normalizer = runtime.normalizer
    consecutive = 0
    for lead in leads:
        if lead.lead_id in recorder.statuses:
            continue
        if consecutive >= _MAX_CONSECUTIVE_FAILURES:
            logger.warning("too many leads failed in a row; leaving the rest for a retry")
            return
        if normalizer.stop_when is not None and normalizer.stop_when():
            return
        try:
            report = normalizer.process_leads(recorder, [lead], now_ms=now_ms)
        except Exception as exc:
            consecutive += 1
            invocation.errors += 1
            _log_failure("normalizing a lead failed", exc, lead_id=lead.lead_id)
            continue
        consecutive = 0
        invocation.reports.append(report)


class _RecordingStore:
    """A `LeadStore` that passes everything through and remembers what each save returned."""

    def __init__(self, inner: LeadStore) -> None:
        self.inner = inner
        self.statuses: dict[str, SaveStatus] = {}

    def iter_due(
        self, *, now_ms: int, ttl_days: float, force: bool = False, limit: int | None = None
    ) -> Iterator[StoredLead]:
        return self.inner.iter_due(now_ms=now_ms, ttl_days=ttl_days, force=force, limit=limit)

    def save(self, lead: StoredLead, update: LeadUpdate) -> SaveStatus:
        status = self.inner.save(lead, update)
        self.statuses[lead.lead_id] = status
        return status

    def rollback(self, prompt_version: str) -> int:
        return self.inner.rollback(prompt_version)

    def put(self, items: Iterable[Mapping[str, Any]]) -> int:
        return self.inner.put(items)

    def get(self, lead_id: str) -> dict[str, Any] | None:
        return self.inner.get(lead_id)

    def scan(self) -> Iterator[dict[str, Any]]:
        return self.inner.scan()

    def load_config(self) -> Mapping[str, Any] | None:
        return self.inner.load_config()

    def close(self) -> None:
        pass  # the runtime's store outlives the invocation


_HANDLERS: Final[Mapping[EventKind, Callable[[Runtime, Any, _Invocation], dict[str, Any]]]] = {
    "schedule": _handle_schedule,
    "direct": _handle_direct,
    "api_rest": _handle_api,
    "api_http": _handle_api,
    "dynamodb_stream": _handle_stream,
    "sqs": _handle_sqs,
}


# -- errors, reports, metrics -----------------------------------------------------------------


def _safe_error(exc: BaseException) -> str:
    """Describe an error without personal data: our messages are PII-free, others may not be."""
    if isinstance(exc, LLMNormalizeError):
        return f"{type(exc).__name__}: {exc}"
    return type(exc).__name__


def _log_failure(what: str, exc: BaseException, **ids: Any) -> None:
    # Where it happened (file, line, function), never the traceback's text or values.
    frames = [
        f"{os.path.basename(frame.filename)}:{frame.lineno}:{frame.name}"
        for frame in traceback.extract_tb(exc.__traceback__)[-8:]
    ]
    logger.error(
        what,
        extra={
            **ids,
            "error_type": type(exc).__name__,
            "error": _safe_error(exc),
            "error_frames": frames,
        },
    )


def _merge_reports(reports: Sequence[RunReport]) -> RunReport | None:
    """One report adding up several (a batch retried lead by lead makes several)."""
    if len(reports) <= 1:
        return reports[0] if reports else None
    values: dict[str, Any] = {}
    for name in RunReport.model_fields:
        items = [getattr(report, name) for report in reports]
        first = items[0]
        if name == "estimated_cost_usd":
            known = [item for item in items if item is not None]
            values[name] = sum(known) if known else None
        elif name == "enabled":
            values[name] = all(items)
        elif isinstance(first, bool):
            values[name] = any(items)
        elif isinstance(first, int | float):
            values[name] = sum(items)
        elif isinstance(first, dict):
            total: Counter[str] = Counter()
            for item in items:
                total.update(item)
            values[name] = dict(total)
        else:
            values[name] = next((item for item in items if item is not None), None)
    return RunReport.model_validate(values)


def _publish(runtime: Runtime, invocation: _Invocation) -> None:
    """Write the invocation's summary log line and its EMF metrics; never raise."""
    try:
        duration_ms = (time.monotonic() - invocation.started) * 1000
        report = _merge_reports(invocation.reports)
        summary = report or RunReport()
        errors = invocation.errors + summary.records_failed + sum(summary.errors_by_kind.values())
        metrics: list[tuple[str, str, float]] = [
            ("LeadsProcessed", "Count", summary.records_saved),
            ("LeadsSkipped", "Count", summary.records_skipped),
            ("LeadsDeferred", "Count", summary.records_deferred),
            ("NormalizationErrors", "Count", errors),
            ("BatchItemFailures", "Count", invocation.failed_items),
            ("Duration", "Milliseconds", round(duration_ms, 3)),
            ("InputTokens", "Count", summary.input_tokens),
            ("OutputTokens", "Count", summary.output_tokens),
            ("ModelCalls", "Count", summary.model_calls),
            ("CacheHits", "Count", summary.cache_hits),
        ]
        if summary.estimated_cost_usd is not None:
            metrics.append(("EstimatedCostUSD", "None", summary.estimated_cost_usd))
        logger.info(
            "invocation finished",
            extra={
                "outcome": {
                    "duration_ms": round(duration_ms, 3),
                    "errors": errors,
                    "batch_item_failures": invocation.failed_items,
                    **dict(invocation.counts),
                },
                "report": report.model_dump(mode="json") if report is not None else None,
            },
        )
        runtime._telemetry.emit(metrics, {"trigger": invocation.kind})
    except Exception as exc:  # metrics must never turn a good invocation into a failed one
        logger.error("publishing metrics failed", extra={"error_type": type(exc).__name__})


# -- logs and metrics: powertools, or a plain equivalent --------------------------------------


def _context_keys(
    context: LambdaContext | None, kind: EventKind, event: Any, *, cold_start: bool
) -> dict[str, Any]:
    """The keys every log line of an invocation carries (powertools' names)."""
    keys: dict[str, Any] = {"trigger": kind, "cold_start": cold_start}
    if context is not None:
        keys.update(
            function_name=getattr(context, "function_name", None),
            function_memory_size=getattr(context, "memory_limit_in_mb", None),
            function_arn=getattr(context, "invoked_function_arn", None),
            function_request_id=getattr(context, "aws_request_id", None),
        )
    if kind in ("api_rest", "api_http"):
        request_context = event.get("requestContext")
        request_id = (
            request_context.get("requestId") if isinstance(request_context, Mapping) else None
        )
        if isinstance(request_id, str):
            keys["correlation_id"] = request_id
    return keys


class _StdoutHandler(logging.StreamHandler[TextIO]):
    """A handler writing to whatever ``sys.stdout`` is now (the runtime or pytest may swap it)."""

    def __init__(self) -> None:
        super().__init__(sys.stdout)

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stdout
        super().emit(record)


# The attributes every LogRecord has; the others came in through `extra=`.
_RECORD_ATTRIBUTES: Final = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "taskName",
}


class _JsonFormatter(logging.Formatter):
    """One JSON object per record, with powertools' key names, for when powertools is absent."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service
        self.keys: dict[str, Any] = {}

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "level": record.levelname,
            "location": f"{record.funcName}:{record.lineno}",
            "message": record.getMessage(),
            "timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(
                timespec="milliseconds"
            ),
            "service": self.service,
            "logger": record.name,
            **self.keys,
        }
        for key, value in vars(record).items():
            if key not in _RECORD_ATTRIBUTES and not key.startswith("_"):
                entry[key] = value
        if record.exc_info and record.exc_info[0] is not None:
            # The type only: a traceback's text may quote values.
            entry["exception_name"] = record.exc_info[0].__name__
        return json.dumps(entry, default=str)


class _Telemetry:
    """Where logs and metrics go; `install` routes the library's loggers to `handler`."""

    mode = "plain"

    def __init__(self, handler: logging.Handler, level: int, service: str, namespace: str) -> None:
        self.handler = handler
        self.level = level
        self.service = service
        self.namespace = namespace
        self._saved: tuple[int, bool] | None = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(service={self.service!r}, namespace={self.namespace!r})"

    def install(self) -> None:
        """Send the ``llm_normalize`` loggers' records to our handler, and only there."""
        library = logging.getLogger(_LIBRARY_LOGGER)
        if self._saved is None:
            self._saved = (library.level, library.propagate)
        if self.handler not in library.handlers:
            library.addHandler(self.handler)
        library.setLevel(self.level)
        library.propagate = False  # the Lambda runtime's root handler would print them again

    def uninstall(self) -> None:
        """Undo `install`."""
        library = logging.getLogger(_LIBRARY_LOGGER)
        library.removeHandler(self.handler)
        if self._saved is not None:
            library.setLevel(self._saved[0])
            library.propagate = self._saved[1]
            self._saved = None

    def start(self, keys: Mapping[str, Any]) -> None:
        """Add the invocation's keys to every log line."""
        formatter = self.handler.formatter
        if isinstance(formatter, _JsonFormatter):
            formatter.keys = dict(keys)

    def finish(self) -> None:
        """Drop the invocation's keys."""
        formatter = self.handler.formatter
        if isinstance(formatter, _JsonFormatter):
            formatter.keys = {}

    def emit(self, metrics: Sequence[tuple[str, str, float]], metadata: Mapping[str, Any]) -> None:
        """Write one EMF document with `metrics` (name, unit, value) on standard output."""
        document = {
            "_aws": {
                "Timestamp": int(time.time() * 1000),
                "CloudWatchMetrics": [
                    {
                        "Namespace": self.namespace,
                        "Dimensions": [["service"]],
                        "Metrics": [{"Name": name, "Unit": unit} for name, unit, _ in metrics],
                    }
                ],
            },
            "service": self.service,
            **metadata,
            **{name: value for name, _, value in metrics},
        }
        sys.stdout.write(json.dumps(document, separators=(",", ":")) + "\n")
        sys.stdout.flush()


class _PowertoolsTelemetry(_Telemetry):
    """Logs through powertools' ``Logger`` formatter, metrics through its ``Metrics``."""

    mode = "powertools"

    def __init__(self, service: str, namespace: str) -> None:
        from aws_lambda_powertools import Logger, Metrics

        with _powertools_lock:
            # A second Logger of one service would reuse the first one's logging.Logger but
            # not its formatter: keep one per service for the life of the process.
            if service not in _powertools_loggers:
                _powertools_loggers[service] = Logger(
                    service=service, logger_handler=_StdoutHandler()
                )
            self._logger = _powertools_loggers[service]
        self._metrics = Metrics(namespace=namespace, service=service)
        self._keys: list[str] = []
        super().__init__(
            self._logger.registered_handler, self._logger.log_level, service, namespace
        )

    def start(self, keys: Mapping[str, Any]) -> None:
        self._logger.append_keys(**keys)
        self._keys = list(keys)

    def finish(self) -> None:
        self._logger.remove_keys(self._keys)
        self._keys = []

    def emit(self, metrics: Sequence[tuple[str, str, float]], metadata: Mapping[str, Any]) -> None:
        for name, unit, value in metrics:
            self._metrics.add_metric(name=name, unit=unit, value=value)
        for key, item in metadata.items():
            self._metrics.add_metadata(key=key, value=item)
        self._metrics.flush_metrics()


_powertools_loggers: dict[str, Logger] = {}
_powertools_lock = threading.Lock()


def _make_telemetry(mode: TelemetryMode) -> _Telemetry:
    if mode not in ("auto", "powertools", "plain"):
        raise ConfigurationError("telemetry must be 'auto', 'powertools' or 'plain'")
    service = os.environ.get("POWERTOOLS_SERVICE_NAME", "").strip() or DEFAULT_SERVICE
    namespace = (
        os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "").strip() or DEFAULT_METRICS_NAMESPACE
    )
    if mode != "plain":
        try:
            return _PowertoolsTelemetry(service, namespace)
        except ImportError:
            if mode == "powertools":
                raise ConfigurationError(
                    "telemetry='powertools' needs aws-lambda-powertools: "
                    "pip install 'llm-normalize[lambda]'"
                ) from None
    handler = _StdoutHandler()
    handler.setFormatter(_JsonFormatter(service))
    return _Telemetry(handler, _log_level(), service, namespace)


def _log_level() -> int:
    name = ""
    for variable in ("POWERTOOLS_LOG_LEVEL", "LOG_LEVEL", "AWS_LAMBDA_LOG_LEVEL"):
        name = os.environ.get(variable, "").strip().upper()
        if name:
            break
    if not name:
        return logging.INFO
    level = logging.getLevelNamesMapping().get(name)
    if level is None:
        raise ConfigurationError("the log level must be DEBUG, INFO, WARNING or ERROR")
    return level
