"""`handler(event, context)`: recognise the event, hand it to its module, publish what it did.

Re-exported as ``llm_normalize.aws_lambda.handler``, the function's handler string.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Final

from llm_normalize.aws_lambda.api import handle_api
from llm_normalize.aws_lambda.batches import handle_sqs, handle_stream
from llm_normalize.aws_lambda.events import EventKind, event_kind
from llm_normalize.aws_lambda.invocation import Invocation, InvocationError, deadline, publish
from llm_normalize.aws_lambda.runs import handle_direct, handle_schedule
from llm_normalize.aws_lambda.runtime import Runtime, first_invocation, get_runtime
from llm_normalize.aws_lambda.telemetry import context_keys, log_failure, safe_error

if TYPE_CHECKING:
    from llm_normalize.aws_lambda.invocation import LambdaContext

__all__ = ["handler"]

_HANDLERS: Final[Mapping[EventKind, Callable[[Runtime, Any, Invocation], dict[str, Any]]]] = {
    "schedule": handle_schedule,
    "direct": handle_direct,
    "api_rest": handle_api,
    "api_http": handle_api,
    "dynamodb_stream": handle_stream,
    "sqs": handle_sqs,
}


def handler(event: Any, context: LambdaContext | None = None) -> dict[str, Any]:
    """The Lambda entrypoint: recognise the event, do what it asks, answer in its format.

    See `llm_normalize.aws_lambda` for the events and their answers.

    Raises:
        InvocationError: A scheduled or direct run failed, or a stream or SQS batch failed
            as a whole (its config could not be read, say), so that Lambda counts the
            invocation as failed and its trigger retries it.
        ConfigurationError: The environment is set up wrongly.
    """
    runtime = get_runtime()
    kind = event_kind(event)
    started = time.monotonic()
    runtime.sink.start(context_keys(context, kind, event, cold_start=first_invocation()))
    invocation = Invocation(kind=kind, started=started)
    try:
        invocation.stop_when = deadline(
            context,
            kind,
            started,
            stop_before_timeout_ms=runtime.stop_before_timeout_ms,
            api_deadline_ms=runtime.api_deadline_ms,
        )
        return _HANDLERS[kind](runtime, event, invocation)
    except InvocationError:
        raise
    except Exception as exc:
        invocation.errors += 1
        log_failure("the invocation failed", exc)
        raise InvocationError(f"{kind} invocation failed: {safe_error(exc)}") from None
    finally:
        publish(runtime.sink, invocation)
        runtime.sink.finish()
