"""Logs and metrics of the Lambda, through aws-lambda-powertools: JSON lines and EMF documents.

The ``llm_normalize`` loggers (the handler's and the library's) are routed to the handler of
a powertools ``Logger``, so every line on standard output is one JSON object carrying the
invocation's keys (``trigger``, ``cold_start``, ``function_request_id``, ...).
Metrics go out as one CloudWatch Embedded Metric Format document per invocation, through an
``EphemeralMetrics`` of that invocation alone.

powertools is the ``lambda`` extra (``pip install 'llm-normalize[lambda]'``), which the
reference deployment installs; it is imported when the runtime is built, never when this
module is.

Logs and metrics carry ids, counts, field names and error types, never a field value:
`safe_error` and `log_failure` describe an exception without its message unless it is one
of the library's own (those are PII-free by design). botocore's, boto3's, urllib3's and
s3transfer's loggers (`QUIET_LOGGERS`) stay at ``INFO`` or above whatever the log level, so
``AWS_LAMBDA_LOG_LEVEL=DEBUG`` never prints DynamoDB items or prompts.

`scheduled_run_metrics` is the daily heartbeat: the reference template alarms when no
scheduled run completed in a day, and on any failed one.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import traceback
import warnings
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final, Literal, TextIO, TypeAlias

from llm_normalize.exceptions import ConfigurationError, LLMNormalizeError

if TYPE_CHECKING:
    from aws_lambda_powertools import Logger

    from llm_normalize.aws_lambda.events import EventKind
    from llm_normalize.aws_lambda.invocation import LambdaContext

__all__ = [
    "DEFAULT_METRICS_NAMESPACE",
    "DEFAULT_SERVICE",
    "METRIC_LEADS_DEFERRED",
    "METRIC_MODEL_THROTTLES",
    "METRIC_SCHEDULED_RUN_COMPLETED",
    "METRIC_SCHEDULED_RUN_FAILED",
    "QUIET_LOGGERS",
    "Metric",
    "Telemetry",
    "TelemetryMode",
    "context_keys",
    "log_failure",
    "make_telemetry",
    "safe_error",
    "scheduled_run_metrics",
]

logger = logging.getLogger(__name__)

TelemetryMode: TypeAlias = Literal["auto", "powertools", "plain"]
"""Accepted by `configure` for compatibility: logs and metrics always go through powertools.

``"plain"`` (a built-in JSON logger and EMF writer) is deprecated and means ``"powertools"``.
"""

Metric: TypeAlias = tuple[str, str, float]
"""One metric: its name, its CloudWatch unit and its value."""

DEFAULT_SERVICE: Final = "llm-normalize"
"""The ``service`` of log lines and metrics when ``POWERTOOLS_SERVICE_NAME`` is unset."""

DEFAULT_METRICS_NAMESPACE: Final = "LlmNormalize"
"""The CloudWatch namespace when ``POWERTOOLS_METRICS_NAMESPACE`` is unset."""

# The metrics the reference template's alarms watch (deploy/template.yaml; a test checks
# that the names there are these).
METRIC_SCHEDULED_RUN_COMPLETED: Final = "ScheduledRunCompleted"
"""1 when a scheduled invocation's run completed, else 0: the daily heartbeat."""

METRIC_SCHEDULED_RUN_FAILED: Final = "ScheduledRunFailed"
"""1 when a scheduled invocation failed, else 0."""

METRIC_LEADS_DEFERRED: Final = "LeadsDeferred"
"""Leads left untouched and due for the next run (``records_deferred`` of the report)."""

METRIC_MODEL_THROTTLES: Final = "ModelThrottles"
"""Model calls refused by the service's rate limit (``throttled`` of the report)."""

QUIET_LOGGERS: Final = ("botocore", "boto3", "urllib3", "s3transfer", "openai", "httpx", "httpcore")
"""Loggers kept at ``INFO`` or above whatever the log level: at ``DEBUG`` they print request
and response bodies (DynamoDB items, prompts), which hold personal data. The ``openai`` SDK
and its HTTP client are among them: some SDK versions log request options at ``DEBUG``."""

_LIBRARY_LOGGER: Final = "llm_normalize"
_LEVEL_VARIABLES: Final = ("POWERTOOLS_LOG_LEVEL", "LOG_LEVEL")
# The levels of Lambda's advanced logging controls (AWS_LAMBDA_LOG_LEVEL), which win.
_LAMBDA_LEVELS: Final = {
    "TRACE": logging.DEBUG,
    "DEBUG": logging.DEBUG,
    "INFO": logging.INFO,
    "WARN": logging.WARNING,
    "ERROR": logging.ERROR,
    "FATAL": logging.CRITICAL,
}

# A second powertools Logger of one service would reuse the first one's logging.Logger but
# not its formatter: keep one per service for the life of the process.
_loggers: dict[str, Logger] = {}
_loggers_lock = threading.Lock()


class _StdoutHandler(logging.StreamHandler[TextIO]):
    """A handler writing to whatever ``sys.stdout`` is now (the runtime or pytest may swap it)."""

    def __init__(self) -> None:
        super().__init__(sys.stdout)

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stdout
        super().emit(record)


class Telemetry:
    """Where logs and metrics go; `install` routes the library's loggers to powertools' handler.

    The invocation's log keys (`start`, `finish`) belong to the process's one powertools
    formatter, as Lambda runs one invocation at a time per process; metrics belong to each
    `emit` call alone.
    """

    mode: Final = "powertools"

    def __init__(self, service: str, namespace: str, level: int) -> None:
        from aws_lambda_powertools import Logger

        with _loggers_lock:
            if service not in _loggers:
                _loggers[service] = Logger(service=service, logger_handler=_StdoutHandler())
            self._logger = _loggers[service]
        self.handler = self._logger.registered_handler
        self.level = level
        self.service = service
        self.namespace = namespace
        self._saved: tuple[int, bool] | None = None
        self._saved_quiet: dict[str, int] = {}
        self._keys: list[str] = []

    def __repr__(self) -> str:
        return f"Telemetry(service={self.service!r}, namespace={self.namespace!r})"

    def install(self) -> None:
        """Send the ``llm_normalize`` loggers' records to powertools' handler, and only there.

        Also keep the `QUIET_LOGGERS` (botocore, boto3, urllib3, s3transfer) at ``INFO`` or
        above, whatever the log level: Lambda's runtime sets the root logger to
        ``AWS_LAMBDA_LOG_LEVEL``, and at ``DEBUG`` botocore would log every request and
        response body, DynamoDB items and prompts included.
        """
        library = logging.getLogger(_LIBRARY_LOGGER)
        if self._saved is None:
            self._saved = (library.level, library.propagate)
        if self.handler not in library.handlers:
            library.addHandler(self.handler)
        library.setLevel(self.level)
        library.propagate = False  # the Lambda runtime's root handler would print them again
        for name in QUIET_LOGGERS:
            quiet = logging.getLogger(name)
            self._saved_quiet.setdefault(name, quiet.level)
            quiet.setLevel(max(logging.INFO, self.level, self._saved_quiet[name]))
        # A child logger with a level of its own (botocore.parsers set to DEBUG, say) would
        # still log its bodies: raise those to INFO too.
        for name, child in list(logging.Logger.manager.loggerDict.items()):
            if (
                isinstance(child, logging.Logger)
                and name.startswith(tuple(f"{quiet}." for quiet in QUIET_LOGGERS))
                and logging.NOTSET < child.level < logging.INFO
            ):
                self._saved_quiet.setdefault(name, child.level)
                child.setLevel(logging.INFO)

    def uninstall(self) -> None:
        """Undo `install`."""
        library = logging.getLogger(_LIBRARY_LOGGER)
        library.removeHandler(self.handler)
        if self._saved is not None:
            library.setLevel(self._saved[0])
            library.propagate = self._saved[1]
            self._saved = None
        for name, level in self._saved_quiet.items():
            logging.getLogger(name).setLevel(level)
        self._saved_quiet = {}

    def start(self, keys: Mapping[str, Any]) -> None:
        """Add the invocation's keys to every log line."""
        self._logger.append_keys(**keys)
        self._keys = list(keys)

    def finish(self) -> None:
        """Drop the invocation's keys."""
        self._logger.remove_keys(self._keys)
        self._keys = []

    def emit(self, metrics: Sequence[Metric], metadata: Mapping[str, Any]) -> None:
        """Write one EMF document with `metrics` and `metadata` on standard output."""
        from aws_lambda_powertools.metrics import EphemeralMetrics

        # Ephemeral: powertools' Metrics share one metric set per process, which two
        # invocations at once (threads, tests) would mix up.
        document = EphemeralMetrics(namespace=self.namespace, service=self.service)
        for name, unit, value in metrics:
            document.add_metric(name=name, unit=unit, value=value)
        for key, item in metadata.items():
            document.add_metadata(key=key, value=item)
        document.flush_metrics()


def make_telemetry(mode: TelemetryMode = "auto") -> Telemetry:
    """Build the telemetry the environment asks for (service, namespace, log level).

    Raises:
        ConfigurationError: `mode` is unknown, the log level is bad, or powertools is not
            installed.
    """
    if mode not in ("auto", "powertools", "plain"):
        raise ConfigurationError("telemetry must be 'auto', 'powertools' or 'plain'")
    if mode == "plain":
        warnings.warn(
            "telemetry='plain' is deprecated and ignored: the Lambda's logs and metrics "
            "always go through aws-lambda-powertools",
            DeprecationWarning,
            stacklevel=4,
        )
    service = os.environ.get("POWERTOOLS_SERVICE_NAME", "").strip() or DEFAULT_SERVICE
    namespace = (
        os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "").strip() or DEFAULT_METRICS_NAMESPACE
    )
    level = _log_level()
    try:
        return Telemetry(service, namespace, level)
    except ImportError:
        raise ConfigurationError(
            "the Lambda handler needs aws-lambda-powertools: pip install 'llm-normalize[lambda]'"
        ) from None


def _log_level() -> int:
    """Lambda's advanced logging controls first (as powertools reads them), then our variables.

    Raises:
        ConfigurationError: ``POWERTOOLS_LOG_LEVEL`` or ``LOG_LEVEL`` names no level.
    """
    controls = os.environ.get("AWS_LAMBDA_LOG_LEVEL", "").strip().upper()
    if controls in _LAMBDA_LEVELS:
        return _LAMBDA_LEVELS[controls]
    name = ""
    for variable in _LEVEL_VARIABLES:
        name = os.environ.get(variable, "").strip().upper()
        if name:
            break
    if not name:
        return logging.INFO
    level = logging.getLevelNamesMapping().get(name)
    if level is None:
        raise ConfigurationError("the log level must be DEBUG, INFO, WARNING or ERROR")
    return level


def scheduled_run_metrics(*, completed: bool) -> list[Metric]:
    """The heartbeat metrics of a scheduled invocation: completed, or failed.

    Both are sent with every scheduled invocation (one of them 1, the other 0), so the
    template's alarm on failed runs has data, and its heartbeat alarm, which treats missing
    data as breaching, fires when no scheduled run completed in a day.
    """
    return [
        (METRIC_SCHEDULED_RUN_COMPLETED, "Count", 1 if completed else 0),
        (METRIC_SCHEDULED_RUN_FAILED, "Count", 0 if completed else 1),
    ]


def context_keys(
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


def safe_error(exc: BaseException) -> str:
    """Describe an error without personal data: our messages are PII-free, others may not be."""
    if isinstance(exc, LLMNormalizeError):
        return f"{type(exc).__name__}: {exc}"
    return type(exc).__name__


def log_failure(what: str, exc: BaseException, **ids: Any) -> None:
    """Log an error as `what`, its type, `safe_error` and where it happened (file, line, function).

    Never the traceback's text, which may quote values.
    """
    frames = [
        f"{os.path.basename(frame.filename)}:{frame.lineno}:{frame.name}"
        for frame in traceback.extract_tb(exc.__traceback__)[-8:]
    ]
    logger.error(
        what,
        extra={
            **ids,
            "error_type": type(exc).__name__,
            "error": safe_error(exc),
            "error_frames": frames,
        },
    )
