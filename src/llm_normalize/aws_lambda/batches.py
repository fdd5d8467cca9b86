"""DynamoDB Streams and SQS batches: normalize the leads they name, report what to retry.

Both answer ``{"batchItemFailures": [...]}`` (Lambda's partial batch response): stream
records by the ``SequenceNumber`` of each failed lead's first change in the batch, SQS
messages by ``messageId``. Lambda delivers those again; the rest of the batch is done.

The leads of a batch are normalized together (`llm_normalize.job.process_leads`: values
deduplicated and batched), and the per-lead statuses it returns say which to retry.
If that call raises, the leads are tried one at a time, so one bad lead does not fail the
others (the normalizer's value cache spares the model calls already made).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from llm_normalize.aws_lambda.events import (
    UnusableRecord,
    parse_sqs_body,
    parse_stream_record,
    stream_verdict,
)
from llm_normalize.aws_lambda.invocation import InvocationError
from llm_normalize.aws_lambda.telemetry import log_failure, safe_error
from llm_normalize.exceptions import ModelFailedError
from llm_normalize.job import effective_config as layered_config
from llm_normalize.job import process_leads
from llm_normalize.stores.base import StoredLead, needs_normalization

if TYPE_CHECKING:
    from llm_normalize.aws_lambda.invocation import Invocation
    from llm_normalize.aws_lambda.runtime import Runtime
    from llm_normalize.config import NormalizationConfig

__all__ = ["MAX_CONSECUTIVE_FAILURES", "handle_sqs", "handle_stream", "normalize_leads"]

logger = logging.getLogger(__name__)

MAX_CONSECUTIVE_FAILURES: Final = 3
"""After this many leads in a row fail on their own, the failure is taken to be systemic
(a store outage) and the rest of the batch is reported failed without trying each."""

# What became of a lead that needs no retry: saved, or changed (a later record does it) or
# deleted since. An SQS message whose lead changed is retried, to read the new values.
_STREAM_DONE: Final = frozenset({"saved", "conflict", "missing"})
_SQS_DONE: Final = frozenset({"saved", "missing", "disabled"})


# -- DynamoDB Streams ---------------------------------------------------------------------


@dataclass
class _StreamLead:
    """The records of one lead in a stream batch, folded into what to do with it."""

    lead_id: str
    image: dict[str, Any] | None = None
    needs: bool = False
    retry_from: str = ""


def handle_stream(runtime: Runtime, event: Any, invocation: Invocation) -> dict[str, Any]:
    """A DynamoDB Streams batch: normalize new and edited leads, never our own write-backs."""
    config = effective_config(runtime)
    if not config.enabled:
        logger.info("normalization is disabled by the configuration; stream batch ignored")
        return {"batchItemFailures": []}
    leads = _fold_stream(event["Records"], config.fields_to_normalize, invocation)
    due = [StoredLead(lead.lead_id, lead.image) for lead in leads if lead.needs and lead.image]
    statuses = normalize_leads(runtime, due, invocation)
    failures = [
        lead.retry_from
        for lead in leads
        if lead.needs and lead.image and statuses.get(lead.lead_id) not in _STREAM_DONE
    ]
    invocation.failed_items += len(failures)
    if failures:
        logger.warning(
            "stream records left for Lambda to retry",
            extra={"sequence_numbers": failures},
        )
    return {"batchItemFailures": [{"itemIdentifier": sequence} for sequence in failures]}


def _fold_stream(
    records: Iterable[Any], fields: Sequence[str], invocation: Invocation
) -> list[_StreamLead]:
    """Fold each lead's records in order: its newest image, whether it needs normalizing.

    A lead that needs it remembers its first change of the batch: a retry must start there.
    """
    leads: dict[str, _StreamLead] = {}
    for raw in records:
        try:
            record = parse_stream_record(raw)
        except UnusableRecord as exc:
            # Retrying cannot fix it: skip it rather than block the shard.
            invocation.counts["unusable"] += 1
            event_id = raw.get("eventID") if isinstance(raw, Mapping) else None
            logger.warning("skipped a stream record: %s", exc, extra={"event_id": event_id})
            continue
        lead = leads.setdefault(record.lead_id, _StreamLead(record.lead_id))
        if record.name == "REMOVE":
            invocation.counts["removed"] += 1
            lead.needs, lead.image = False, None
            continue
        if record.new is None:
            invocation.counts["no_new_image"] += 1
            logger.warning(
                "a stream record has no NewImage; use StreamViewType NEW_AND_OLD_IMAGES",
                extra={"lead_id": record.lead_id},
            )
            continue
        verdict = stream_verdict(record.name, record.old, record.new, fields)
        invocation.counts[verdict] += 1
        lead.image = record.new
        if verdict == "normalize":
            if not lead.needs:
                # A retry must start here, or this change would be lost.
                lead.retry_from = record.sequence
            lead.needs = True
        elif verdict == "own_write":
            lead.needs = False
    return list(leads.values())


# -- SQS ----------------------------------------------------------------------------------


def handle_sqs(runtime: Runtime, event: Any, invocation: Invocation) -> dict[str, Any]:
    """An SQS batch of lead ids: normalize the leads still due (or forced) they name."""
    order, failed, wanted, forced = _read_messages(event["Records"], invocation)
    if wanted:
        config = effective_config(runtime)
        if not config.enabled:
            logger.info("normalization is disabled by the configuration; SQS batch ignored")
            wanted = {}
        now_ms = int(time.time() * 1000)
        leads = _due_leads(runtime, wanted, forced, config, now_ms, failed, invocation)
        statuses = normalize_leads(runtime, leads, invocation, now_ms=now_ms)
        for lead in leads:
            if statuses.get(lead.lead_id) not in _SQS_DONE:
                failed.update(wanted[lead.lead_id])
    failures = [message_id for message_id in dict.fromkeys(order) if message_id in failed]
    invocation.failed_items += len(failures)
    if failures:
        logger.warning("SQS messages left for a retry", extra={"message_ids": failures})
    return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in failures]}


def _read_messages(
    records: Iterable[Any], invocation: Invocation
) -> tuple[list[str], set[str], dict[str, list[str]], set[str]]:
    """The message ids in order, the malformed ones, each lead id's messages, the forced ids."""
    order: list[str] = []
    failed: set[str] = set()
    wanted: dict[str, list[str]] = {}
    forced: set[str] = set()
    for record in records:
        message_id = record.get("messageId") if isinstance(record, Mapping) else None
        if not isinstance(message_id, str) or not message_id:
            invocation.errors += 1
            logger.warning("an SQS record has no messageId; it cannot be reported as failed")
            continue
        order.append(message_id)
        try:
            lead_ids, force = parse_sqs_body(record.get("body"))
        except UnusableRecord as exc:
            invocation.errors += 1
            failed.add(message_id)
            logger.warning("refused an SQS message: %s", exc, extra={"message_id": message_id})
            continue
        for lead_id in lead_ids:
            wanted.setdefault(lead_id, []).append(message_id)
            if force:
                forced.add(lead_id)
    return order, failed, wanted, forced


def _due_leads(
    runtime: Runtime,
    wanted: Mapping[str, Sequence[str]],
    forced: set[str],
    config: NormalizationConfig,
    now_ms: int,
    failed: set[str],
    invocation: Invocation,
) -> list[StoredLead]:
    """Read each wanted lead; keep those due (or forced). A failed read fails its messages."""
    leads: list[StoredLead] = []
    for lead_id, message_ids in wanted.items():
        try:
            item = runtime.store.get(lead_id)
        except Exception as exc:
            invocation.errors += 1
            failed.update(message_ids)
            log_failure("reading a lead failed", exc, lead_id=lead_id)
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
    return leads


# -- shared by streams and SQS ------------------------------------------------------------


def effective_config(runtime: Runtime) -> NormalizationConfig:
    """The normalizer's config with the stored config item on top, as a run would use."""
    return layered_config(runtime.normalizer, runtime.store.load_config())


def normalize_leads(
    runtime: Runtime,
    leads: Sequence[StoredLead],
    invocation: Invocation,
    *,
    now_ms: int | None = None,
) -> dict[str, str]:
    """Normalize and save `leads` within the invocation's deadline; each lead's status.

    A lead absent from the answer was not reached; ``"disabled"`` means the stored
    configuration turned normalization off.
    """
    if not leads:
        return {}
    now = int(time.time() * 1000) if now_ms is None else now_ms
    settled: dict[str, str] = {}
    try:
        result = process_leads(
            runtime.normalizer,
            runtime.store,
            leads,
            now_ms=now,
            stop_when=invocation.stop_when,
            on_status=settled.__setitem__,
        )
    except ModelFailedError as exc:
        # The model cannot be used: trying the leads one by one would only fail again. The
        # invocation fails (its alarm fires) and the batch comes back; the leads saved
        # before the failure were fully decided, and their saves hold.
        invocation.errors += 1
        log_failure("the model cannot be used; the batch fails", exc)
        raise InvocationError(f"the model cannot be used: {safe_error(exc)}") from None
    except Exception as exc:
        invocation.errors += 1
        log_failure("normalizing a batch failed; trying its leads one by one", exc)
        # The leads the batch settled before it failed keep their status: a second attempt
        # would take the batch's own save for an edit.
        rest = [lead for lead in leads if lead.lead_id not in settled]
        return {**settled, **_one_by_one(runtime, rest, invocation, now)}
    invocation.reports.append(result.report)
    if not result.report.enabled:
        return dict.fromkeys((lead.lead_id for lead in leads), "disabled")
    return dict(result.statuses)


def _one_by_one(
    runtime: Runtime, leads: Sequence[StoredLead], invocation: Invocation, now: int
) -> dict[str, str]:
    """After a failed batch, each lead on its own, so that one bad lead spares the others."""
    statuses: dict[str, str] = {}
    consecutive = 0
    for lead in leads:
        if consecutive >= MAX_CONSECUTIVE_FAILURES:
            logger.warning("too many leads failed in a row; leaving the rest for a retry")
            break
        if invocation.stopped():
            break
        try:
            result = process_leads(
                runtime.normalizer,
                runtime.store,
                [lead],
                now_ms=now,
                stop_when=invocation.stop_when,
            )
            status = result.statuses.get(lead.lead_id)
        except Exception as exc:
            consecutive += 1
            invocation.errors += 1
            log_failure("normalizing a lead failed", exc, lead_id=lead.lead_id)
            continue
        consecutive = 0
        invocation.reports.append(result.report)
        if status is not None:
            statuses[lead.lead_id] = status
    return statuses
