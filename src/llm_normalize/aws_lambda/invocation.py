"""One invocation: its context, its deadline, what it did, and its summary line and metrics.

Everything an invocation needs of its own lives in its `Invocation`, never on the shared
runtime or normalizer: the deadline is handed to each run as ``stop_when=``, so two
invocations on one runtime (threads, tests) never see each other's.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from llm_normalize.aws_lambda.telemetry import (
    METRIC_LEADS_DEFERRED,
    METRIC_MODEL_THROTTLES,
    scheduled_run_metrics,
)
from llm_normalize.deadline import Deadline
from llm_normalize.report import RunReport

if TYPE_CHECKING:
    from llm_normalize.aws_lambda.events import EventKind
    from llm_normalize.aws_lambda.telemetry import Metric, Telemetry

__all__ = ["Invocation", "InvocationError", "LambdaContext", "deadline", "publish"]

logger = logging.getLogger(__name__)


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


@dataclass
class Invocation:
    """What one invocation is allowed and did, for its runs, its summary line and its metrics.

    Attributes:
        kind: The trigger.
        started: When it started (`time.monotonic`).
        stop_when: Its deadline, passed to every run as ``stop_when=`` (`None`: none).
        reports: The reports of its runs.
        errors: Failures outside the reports (refused events, failed batches, ...).
        failed_items: Stream records or SQS messages reported for a retry.
        counts: What was ignored or refused, by reason.
    """

    kind: EventKind
    started: float
    stop_when: Callable[[], bool] | None = None
    reports: list[RunReport] = field(default_factory=list)
    errors: int = 0
    failed_items: int = 0
    counts: Counter[str] = field(default_factory=Counter)

    def stopped(self) -> bool:
        """Whether the deadline has passed."""
        return self.stop_when is not None and self.stop_when()


def deadline(
    context: LambdaContext | None,
    kind: EventKind,
    started: float,
    *,
    stop_before_timeout_ms: int,
    api_deadline_ms: int,
) -> Callable[[], bool] | None:
    """The invocation's ``stop_when``, a `Deadline`, or `None` when no deadline applies.

    It says stop when less than `stop_before_timeout_ms` is left, and for API requests also
    `api_deadline_ms` after `started`; as a `Deadline` it also bounds each model call's
    timeout and retry waits by the time left.

    The threshold is at most half the time the invocation started with: one near the whole
    timeout would stop every call before it starts, and a stream or queue would then deliver
    the same records forever.
    """
    checks: list[Deadline] = []
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    if callable(remaining):
        threshold = stop_before_timeout_ms
        initial = int(remaining())
        if threshold > initial // 2:
            threshold = initial // 2
            logger.warning(
                "STOP_BEFORE_TIMEOUT_MS is more than half the invocation's time; using half",
                extra={"stop_before_timeout_ms": threshold},
            )
        checks.append(Deadline(lambda: (int(remaining()) - threshold) / 1000))
    if kind in ("api_rest", "api_http"):
        budget_s = api_deadline_ms / 1000
        checks.append(Deadline(lambda: budget_s - (time.monotonic() - started)))
    return Deadline.combine(*checks)


def publish(telemetry: Telemetry, invocation: Invocation) -> None:
    """Write the invocation's summary log line and its EMF metrics; never raise."""
    try:
        duration_ms = round((time.monotonic() - invocation.started) * 1000, 3)
        report = RunReport.merge(invocation.reports)
        summary = report or RunReport()
        errors = invocation.errors + summary.records_failed + sum(summary.errors_by_kind.values())
        logger.info(
            "invocation finished",
            extra={
                "outcome": {
                    "duration_ms": duration_ms,
                    "errors": errors,
                    "batch_item_failures": invocation.failed_items,
                    **dict(invocation.counts),
                },
                "report": report.model_dump(mode="json") if report is not None else None,
            },
        )
        metrics = _metrics(summary, errors, invocation.failed_items, duration_ms)
        if invocation.kind == "schedule":
            # A run that raised appended no report, and counted an error.
            completed = bool(invocation.reports) and invocation.errors == 0
            metrics += scheduled_run_metrics(completed=completed)
        telemetry.emit(metrics, {"trigger": invocation.kind})
    except Exception as exc:  # metrics must never turn a good invocation into a failed one
        logger.error("publishing metrics failed", extra={"error_type": type(exc).__name__})


def _metrics(
    summary: RunReport, errors: int, failed_items: int, duration_ms: float
) -> list[Metric]:
    metrics: list[Metric] = [
        ("LeadsProcessed", "Count", summary.records_saved),
        ("LeadsSkipped", "Count", summary.records_skipped),
        (METRIC_LEADS_DEFERRED, "Count", summary.records_deferred),
        ("NormalizationErrors", "Count", errors),
        ("BatchItemFailures", "Count", failed_items),
        ("Duration", "Milliseconds", duration_ms),
        ("InputTokens", "Count", summary.input_tokens),
        ("OutputTokens", "Count", summary.output_tokens),
        ("ModelCalls", "Count", summary.model_calls),
        (METRIC_MODEL_THROTTLES, "Count", summary.throttled),
        ("CacheHits", "Count", summary.cache_hits),
    ]
    if summary.estimated_cost_usd is not None:
        metrics.append(("EstimatedCostUSD", "None", summary.estimated_cost_usd))
    return metrics
