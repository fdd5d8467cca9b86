"""Scheduled and direct invocations: the seed's daily job on the lead store.

The admin API (`llm_normalize.aws_lambda.api`) starts the same run.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from llm_normalize.aws_lambda.events import BadRequest, direct_options
from llm_normalize.aws_lambda.invocation import InvocationError
from llm_normalize.aws_lambda.telemetry import log_failure, safe_error
from llm_normalize.job import run_job

if TYPE_CHECKING:
    from llm_normalize.aws_lambda.invocation import Invocation
    from llm_normalize.aws_lambda.runtime import Runtime
    from llm_normalize.report import RunReport

__all__ = ["handle_direct", "handle_schedule", "run"]

logger = logging.getLogger(__name__)


def run(runtime: Runtime, invocation: Invocation, force: bool, limit: int | None) -> RunReport:
    """Run the scheduled job within the invocation's deadline, and keep its report."""
    logger.info("normalization run started", extra={"force_all": force, "limit": limit})
    result = run_job(
        runtime.normalizer,
        runtime.store,
        force=force,
        limit=limit,
        stop_when=invocation.stop_when,
    )
    invocation.reports.append(result.report)
    return result.report


def handle_schedule(runtime: Runtime, event: Any, invocation: Invocation) -> dict[str, Any]:
    """An EventBridge scheduled event: the daily run; ``{"report": {...}}``.

    Raises:
        InvocationError: The run failed.
    """
    try:
        report = run(runtime, invocation, False, None)
    except Exception as exc:
        invocation.errors += 1
        log_failure("the scheduled run failed", exc)
        raise InvocationError(f"normalization run failed: {safe_error(exc)}") from None
    return {"report": report.model_dump(mode="json")}


def handle_direct(runtime: Runtime, event: Any, invocation: Invocation) -> dict[str, Any]:
    """A direct invocation ``{"forceAll": ..., "limit": ...}``: that run, or ``{"error": ...}``.

    Raises:
        InvocationError: The run failed (a bad event is answered, not raised).
    """
    try:
        force, limit = direct_options(event)
    except BadRequest as exc:
        invocation.errors += 1
        logger.warning("refused a direct invocation: %s", exc)
        return {"error": {"type": "InvalidEvent", "message": str(exc)}}
    try:
        report = run(runtime, invocation, force, limit)
    except Exception as exc:
        invocation.errors += 1
        log_failure("the run failed", exc)
        raise InvocationError(f"normalization run failed: {safe_error(exc)}") from None
    return {"report": report.model_dump(mode="json")}
