"""The fan-out planner's Lambda entrypoint: ``llm_normalize.aws_lambda.planner.handler``.

On an EventBridge scheduled event (or a direct invocation ``{"forceAll": true, "limit":
N}``, both optional), it sends the ids of the due leads of ``LEADS_TABLE`` to
``WORK_QUEUE_URL`` with `llm_normalize.fanout.plan_fanout`, where the SQS workers (the
main handler on that queue) normalize them. It answers ``{"plan": {...}}`` (counts only),
or ``{"error": {...}}`` for an event it does not take.

Deadline: planning stops when less than ``STOP_BEFORE_TIMEOUT_MS`` is left (default 10 s,
never more than half the invocation's time); the answer then says ``"stopped":
"deadline"`` and how many leads were planned; the next plan continues (on a FIFO queue,
with nothing sent twice). An invocation whose messages or segments failed raises
`InvocationError` after logging its counts, so that Lambda retries it: a retried plan
sends again what failed, and the workers skip the leads already done.

Environment variables:

| variable | default | meaning |
|---|---|---|
| ``LEADS_TABLE`` | ``awsrestart-leads`` | the leads table |
| ``WORK_QUEUE_URL`` | (required) | the work queue's URL |
| ``PLAN_SEGMENTS`` | ``1`` | parallel scan segments, 1 to 64 |
| ``PLAN_MAX_LEADS`` | ``50000`` | the most lead ids one plan sends (a direct ``limit`` may lower it) |
| ``PLAN_IDS_PER_MESSAGE`` | ``10`` | the most lead ids per message, 1 to 100 |
| ``NORMALIZATION_TTL_DAYS`` | ``7`` | the workers' TTL (the planner does not read the config table) |
| ``STOP_BEFORE_TIMEOUT_MS`` | ``10000`` | stop planning with less time than this left |

Metrics (EMF, powertools): ``LeadsPlanned``, ``PlanMessagesSent``, ``PlanMessagesFailed``,
``PlanSegmentsFailed``, ``PlanCapped`` and ``PlanDeadlineReached`` (0 or 1).
boto3 and powertools are imported when the planner is first built, never on import.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from llm_normalize.aws_lambda.events import BadRequest, direct_options, event_kind
from llm_normalize.aws_lambda.invocation import InvocationError, deadline
from llm_normalize.aws_lambda.telemetry import (
    Telemetry,
    context_keys,
    log_failure,
    make_telemetry,
    safe_error,
)
from llm_normalize.config import NormalizationConfig
from llm_normalize.exceptions import ConfigurationError
from llm_normalize.fanout import (
    DEFAULT_IDS_PER_MESSAGE,
    DEFAULT_MAX_LEADS,
    PlanResult,
    SqsClient,
    build_sqs_client,
    plan_fanout,
)

if TYPE_CHECKING:
    from llm_normalize.aws_lambda.invocation import LambdaContext
    from llm_normalize.aws_lambda.telemetry import Metric
    from llm_normalize.stores.base import LeadStore

__all__ = [
    "DEFAULT_PLAN_STOP_BEFORE_TIMEOUT_MS",
    "Planner",
    "configure_planner",
    "handler",
    "reset_planner",
]

logger = logging.getLogger(__name__)

DEFAULT_PLAN_STOP_BEFORE_TIMEOUT_MS: Final = 10_000
"""Planning stops with less time left than this, when ``STOP_BEFORE_TIMEOUT_MS`` is unset."""

_lock = threading.Lock()
_planner: Planner | None = None
_cold = True


@dataclass
class Planner:
    """What the planner handler works with, built once per container.

    Attributes:
        store: The leads table's store (a `DynamoDBLeadStore`).
        sqs: The ``sqs`` client.
        queue_url: The work queue.
        segments: Parallel scan segments.
        max_leads: The most lead ids one plan sends.
        ids_per_message: The most lead ids per message.
        ttl_days: The workers' TTL.
        stop_before_timeout_ms: Stop planning with less time than this left.
        sink: Logs and metrics.
    """

    store: LeadStore
    sqs: SqsClient
    queue_url: str
    segments: int
    max_leads: int
    ids_per_message: int
    ttl_days: float
    stop_before_timeout_ms: int
    sink: Telemetry

    def close(self) -> None:
        """Detach the log handler and close the store."""
        self.sink.uninstall()
        self.store.close()


def configure_planner(
    *, store: LeadStore | None = None, sqs: SqsClient | None = None, queue_url: str | None = None
) -> Planner:
    """Build the planner from the parts given (the environment gives the rest) and use it.

    Raises:
        ConfigurationError: ``WORK_QUEUE_URL`` is unset, or a variable has a bad value.
    """
    global _planner
    planner = _build(store, sqs, queue_url)
    with _lock:
        previous, _planner = _planner, planner
    if previous is not None:
        previous.close()
    planner.sink.install()
    return planner


def reset_planner() -> None:
    """Forget the planner (closing what it built); the next invocation builds a new one."""
    global _planner, _cold
    with _lock:
        previous, _planner, _cold = _planner, None, True
    if previous is not None:
        previous.close()


def handler(event: Any, context: LambdaContext | None = None) -> dict[str, Any]:
    """Plan the fan-out on a scheduled or direct event; ``{"plan": {...}}`` or ``{"error": {...}}``.

    Raises:
        InvocationError: The plan failed, or some of its messages or segments did (Lambda
            retries the invocation; the plan is idempotent).
        ConfigurationError: The environment is set up wrongly.
    """
    global _cold
    with _lock:
        planner, cold, _cold = _planner, _cold, False
    if planner is None:
        planner = configure_planner()
    kind = event_kind(event)
    started = time.monotonic()
    planner.sink.start(context_keys(context, kind, event, cold_start=cold))
    try:
        if kind not in ("schedule", "direct"):
            return _refuse(
                "the planner takes EventBridge scheduled events and direct invocations "
                '{"forceAll": true, "limit": N} only'
            )
        try:
            force, limit = direct_options({} if kind == "schedule" else event)
        except BadRequest as exc:
            return _refuse(str(exc))
        stop_when = deadline(
            context,
            "schedule",
            started,
            stop_before_timeout_ms=planner.stop_before_timeout_ms,
            api_deadline_ms=0,
        )
        result = _plan(planner, force, limit, stop_when)
        _publish(planner.sink, kind, result)
        if not result.ok:
            raise InvocationError(
                f"the plan is incomplete: {result.messages_failed} messages failed, "
                f"{result.segments_failed} segments failed, stopped: {result.stopped or 'no'}"
            )
        return {"plan": result.as_dict()}
    finally:
        planner.sink.finish()


def _plan(planner: Planner, force: bool, limit: int | None, stop_when: Any) -> PlanResult:
    max_leads = planner.max_leads if limit is None else min(limit, planner.max_leads)
    logger.info("plan started", extra={"force_all": force, "max_leads": max_leads})
    try:
        result = plan_fanout(
            planner.store,
            planner.queue_url,
            ttl_days=planner.ttl_days,
            sqs_client=planner.sqs,
            force=force,
            segments=planner.segments,
            max_leads=max_leads,
            ids_per_message=planner.ids_per_message,
            stop_when=stop_when,
        )
    except Exception as exc:
        log_failure("the plan failed", exc)
        raise InvocationError(f"the plan failed: {safe_error(exc)}") from None
    logger.info("plan finished", extra={"plan": result.as_dict()})
    if result.deadline_reached:
        logger.warning(
            "planning stopped before the timeout; the next plan continues",
            extra={"leads_planned": result.leads_planned},
        )
    return result


def _refuse(message: str) -> dict[str, Any]:
    logger.warning("refused an event: %s", message)
    return {"error": {"type": "InvalidEvent", "message": message}}


def _publish(sink: Telemetry, kind: str, result: PlanResult) -> None:
    metrics: list[Metric] = [
        ("LeadsPlanned", "Count", result.leads_planned),
        ("PlanMessagesSent", "Count", result.messages_sent),
        ("PlanMessagesFailed", "Count", result.messages_failed),
        ("PlanSegmentsFailed", "Count", result.segments_failed),
        ("PlanCapped", "Count", int(result.capped)),
        ("PlanDeadlineReached", "Count", int(result.deadline_reached)),
    ]
    try:
        sink.emit(metrics, {"trigger": kind})
    except Exception as exc:  # metrics must never fail a plan that worked
        logger.error("publishing metrics failed", extra={"error_type": type(exc).__name__})


def _build(store: LeadStore | None, sqs: SqsClient | None, queue_url: str | None) -> Planner:
    url = queue_url or os.environ.get("WORK_QUEUE_URL", "").strip()
    if not url:
        raise ConfigurationError(
            "WORK_QUEUE_URL is unset: set it to the work queue's URL (the stack's WorkQueueUrl output)"
        )
    config = NormalizationConfig.resolve()
    if store is None:
        from llm_normalize.stores.dynamodb import DynamoDBLeadStore

        store = DynamoDBLeadStore.from_env()
    return Planner(
        store=store,
        sqs=sqs if sqs is not None else build_sqs_client(url),
        queue_url=url,
        segments=_whole("PLAN_SEGMENTS", 1),
        max_leads=_whole("PLAN_MAX_LEADS", DEFAULT_MAX_LEADS),
        ids_per_message=_whole("PLAN_IDS_PER_MESSAGE", DEFAULT_IDS_PER_MESSAGE),
        ttl_days=config.normalization_ttl_days,
        stop_before_timeout_ms=_whole(
            "STOP_BEFORE_TIMEOUT_MS", DEFAULT_PLAN_STOP_BEFORE_TIMEOUT_MS
        ),
        sink=make_telemetry(),
    )


def _whole(variable: str, default: int) -> int:
    raw = os.environ.get(variable, "").strip()
    if not raw:
        return default
    if not raw.isdigit():
        raise ConfigurationError(f"{variable} must be a whole number")
    return int(raw)
