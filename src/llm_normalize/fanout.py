"""Plan the SQS fan-out: split the due leads of a DynamoDB table into work-queue messages.

`plan_fanout` scans the leads table (in parallel segments) for the leads due, reading only
``leadId``, ``normalizedAt`` and ``updatedAt``, and sends their ids to the work queue in
the message body the Lambda workers read (``{"leadIds": [...]}``, plus ``"forceAll":
true`` when forced), at most `ids_per_message` ids per message, 10 messages per
``SendMessageBatch``. It returns a `PlanResult` of counts.

Bounded: at most `max_leads` ids are sent per plan, whatever the number of segments (the
segments take ids from one shared allowance); the table is streamed page by page, so
memory stays flat whatever its size; `stop_when` (a deadline) stops it between pages and
batches.

Idempotent, so that a retried or repeated plan never makes the workers do a lead twice:

- Messages are cut the same way every time. Each segment groups the ids it reads, in the
  table's own (stable) scan order, and a message ends after an id whose SHA-256 falls on
  a boundary (one id in `ids_per_message` on average), or when it is full: content-defined
  boundaries, so a lead that left the scan (normalized meanwhile) or a new one changes only
  its own message, not every message after it.
- On a FIFO queue (its URL ends in ``.fifo``), each message's ``MessageDeduplicationId`` is
  a SHA-256 of its ids with each lead's ``normalizedAt`` and ``updatedAt`` (and the
  ``forceAll`` flag); SQS drops a message with the same id sent within 5 minutes, so a
  plan retried by Lambda, or run again after a deadline cut it short, sends each lead
  once. The ``MessageGroupId`` is the same hash: messages share no order, and workers
  take them in parallel.
- On a standard queue, and after the 5 minutes, the workers absorb duplicates: they read
  each lead first and skip it when it is not due any more (no model call, no write), and
  save conditionally on what they read.

A marker written on each planned lead (``plannedAt``) was weighed and left out: it would
double the writes of every plan (one UpdateItem per lead, on top of the worker's save),
stream a MODIFY per lead to any stream consumer, and write an attribute the library
otherwise never touches.

Failures: entries SQS refuses in a batch are sent again, only those, up to `send_attempts`
times with a short backoff (never when SQS says the sender is at fault); what is still
refused is counted in `PlanResult.messages_failed` and its lead ids listed, never dropped
silently. A batch SQS refuses entirely stops the plan (the queue is not taking messages).
A segment whose Scan fails stops; the others go on, and `PlanResult.segments_failed`
says so. A setup error (no such table or queue, access denied, no credentials) raises
`llm_normalize.exceptions.ConfigurationError` at once, naming what to fix.

Nothing here logs or raises a field value: table, queue, lead ids, error codes and counts.
boto3 is imported when an SQS client is built, never when this module is imported; and
``import llm_normalize`` never imports this module.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from llm_normalize._aws import SETUP_BOTOCORE_ERRORS
from llm_normalize._dynamodb import error_kind, is_setup_error, item_from_wire, scan_pages
from llm_normalize._fanout_queue import (
    BATCH,
    Chunker,
    Message,
    Plan,
    Sender,
    SqsClient,
    StopReason,
    build_sqs_client,
)
from llm_normalize.exceptions import ConfigurationError, StorageError, StoreNotFoundError
from llm_normalize.records import LEAD_ID, NORMALIZED_AT, UPDATED_AT
from llm_normalize.stores.base import needs_normalization, ttl_cutoff_ms

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

    from llm_normalize.stores.base import LeadStore

__all__ = [
    "DEFAULT_IDS_PER_MESSAGE",
    "DEFAULT_MAX_LEADS",
    "DEFAULT_SEND_ATTEMPTS",
    "MAX_IDS_PER_MESSAGE",
    "MAX_SEGMENTS",
    "PlanResult",
    "SqsClient",
    "StopReason",
    "build_sqs_client",
    "plan_fanout",
]

logger = logging.getLogger(__name__)

DEFAULT_IDS_PER_MESSAGE: Final = 10
"""Lead ids per message when not given: a worker batch of 10 messages is then 100 leads at most."""

MAX_IDS_PER_MESSAGE: Final = 100
"""The most lead ids one message may carry (a worker reads each with a GetItem)."""

DEFAULT_MAX_LEADS: Final = 50_000
"""The most lead ids one plan sends when no cap is given."""

DEFAULT_SEND_ATTEMPTS: Final = 3
"""How many times a batch's refused entries are sent in all, the first time included."""

MAX_SEGMENTS: Final = 64
"""The most parallel scan segments (one thread each)."""

_FILTER: Final = "attribute_not_exists(#at) OR NOT attribute_type(#at, :number) OR #at < :cutoff"
_NAMES: Final = {"#id": LEAD_ID, "#at": NORMALIZED_AT, "#updated": UPDATED_AT}


@dataclass(frozen=True, slots=True)
class PlanResult:
    """What a plan did: counts only (and the ids of leads whose messages SQS refused).

    Attributes:
        leads_planned: Lead ids in messages SQS accepted.
        leads_failed: Lead ids in messages SQS still refused after the retries.
        messages_sent: Messages SQS accepted.
        messages_failed: Messages SQS still refused after the retries.
        segments: The parallel scan segments.
        segments_failed: Segments whose Scan failed (their other leads were not planned).
        capped: `max_leads` ids were taken and more leads were due: the rest wait for the
            next plan.
        stopped: Why the plan stopped before the end of the table, if it did (``"cap"``,
            ``"deadline"``, ``"queue"``: a batch was refused entirely).
        fifo: Whether the queue is a FIFO queue (messages deduplicated by SQS).
        failed_lead_ids: The first 100 lead ids of the refused messages.
    """

    leads_planned: int = 0
    leads_failed: int = 0
    messages_sent: int = 0
    messages_failed: int = 0
    segments: int = 1
    segments_failed: int = 0
    capped: bool = False
    stopped: StopReason | None = None
    fifo: bool = False
    failed_lead_ids: tuple[str, ...] = ()

    @property
    def deadline_reached(self) -> bool:
        """Whether `stop_when` stopped the plan; a new plan continues where it left."""
        return self.stopped == "deadline"

    @property
    def ok(self) -> bool:
        """Whether nothing failed: every message was accepted, every segment scanned."""
        return self.messages_failed == 0 and self.segments_failed == 0 and self.stopped != "queue"

    @property
    def complete(self) -> bool:
        """Whether every due lead of the table was sent: nothing failed and nothing stopped it."""
        return self.ok and self.stopped is None

    @classmethod
    def _of(cls, plan: Plan, segments: int, fifo: bool) -> PlanResult:
        return cls(
            leads_planned=plan.leads_planned,
            leads_failed=plan.leads_failed,
            messages_sent=plan.messages_sent,
            messages_failed=plan.messages_failed,
            segments=segments,
            segments_failed=plan.segments_failed,
            capped=plan.capped,
            stopped=plan.reason,
            fifo=fifo,
            failed_lead_ids=tuple(plan.failed_ids),
        )

    def as_dict(self) -> dict[str, Any]:
        """The result as JSON-ready camelCase keys, as the Lambda planner answers."""
        return {
            "leadsPlanned": self.leads_planned,
            "leadsFailed": self.leads_failed,
            "messagesSent": self.messages_sent,
            "messagesFailed": self.messages_failed,
            "segments": self.segments,
            "segmentsFailed": self.segments_failed,
            "capped": self.capped,
            "stopped": self.stopped,
            "fifo": self.fifo,
            "failedLeadIds": list(self.failed_lead_ids),
        }


def plan_fanout(
    store: LeadStore,
    queue_url: str,
    *,
    ttl_days: float,
    sqs_client: SqsClient | None = None,
    region_name: str | None = None,
    now_ms: int | None = None,
    force: bool = False,
    segments: int = 1,
    max_leads: int | None = DEFAULT_MAX_LEADS,
    ids_per_message: int = DEFAULT_IDS_PER_MESSAGE,
    page_size: int | None = None,
    stop_when: Callable[[], bool] | None = None,
    send_attempts: int = DEFAULT_SEND_ATTEMPTS,
    sleep: Callable[[float], None] = time.sleep,
) -> PlanResult:
    """Send the ids of the leads due in a DynamoDB store to an SQS work queue, bounded and idempotent.

    See the module docstring for how it stays bounded and idempotent.

    Args:
        store: A `llm_normalize.stores.dynamodb.DynamoDBLeadStore`; its client and table
            are used (the store stays open).
        queue_url: The work queue's URL (``https://sqs.REGION.amazonaws.com/ACCOUNT/NAME``;
            a name ending in ``.fifo`` is a FIFO queue).
        ttl_days: The workers' TTL: a lead normalized longer ago than this is due again.
        sqs_client: A ready boto3 ``sqs`` client (default: `build_sqs_client`).
        region_name: The region of the built client (default: boto3's, else the URL's).
        now_ms: The clock of the due filter, in epoch milliseconds (default: now).
        force: Plan every lead, due or not; the messages say ``"forceAll": true``, so the
            workers normalize them again (idempotent on a FIFO queue only, within 5 minutes).
        segments: Parallel scan segments, 1 to 64.
        max_leads: The most lead ids sent (`None`: no cap).
        ids_per_message: The most lead ids per message, 1 to 100.
        page_size: The ``Limit`` of each Scan request (default: DynamoDB's 1 MB pages).
        stop_when: Called between pages and batches; `True` stops the plan (a deadline).
        send_attempts: How many times refused entries are sent in all.
        sleep: Waits between attempts (a seam for tests).

    Returns:
        The counts of what was sent, refused and why it stopped, if it did.

    Raises:
        ConfigurationError: A bad argument, a store that is not DynamoDB, or a setup error:
            no such queue (or no access to it), no access to the table, no credentials.
        StoreNotFoundError: The table does not exist in the client's region.
    """
    table, client = _dynamodb_of(store)
    _check(queue_url, segments, max_leads, ids_per_message, send_attempts, page_size)
    sqs = sqs_client if sqs_client is not None else build_sqs_client(queue_url, region_name)
    fifo = queue_url.rstrip("/").endswith(".fifo")
    now = int(time.time() * 1000) if now_ms is None else now_ms
    params = _scan_params(table, now, ttl_days, force, page_size)
    plan = Plan(left=max_leads, stop_when=stop_when)
    sender = Sender(sqs, queue_url, fifo, send_attempts, sleep, plan)
    due = _DueFilter(now_ms=now, ttl_days=ttl_days, force=force, per_message=ids_per_message)

    if segments > 1:
        params["TotalSegments"] = segments

    def work(segment: int, segment_params: Mapping[str, Any]) -> None:
        _plan_segment(plan, client, table, segment_params, segment, due, sender)

    _run_segments(plan, segments, table, work, params)
    if plan.fatal is not None:
        raise plan.fatal
    result = PlanResult._of(plan, segments, fifo)
    logger.info(
        "planned %d leads of %s in %d messages (%d failed, %d segments failed, stopped: %s)",
        result.leads_planned,
        table,
        result.messages_sent,
        result.messages_failed,
        result.segments_failed,
        result.stopped or "no",
    )
    return result


def _run_segments(
    plan: Plan,
    segments: int,
    table: str,
    work: Callable[[int, Mapping[str, Any]], None],
    params: Mapping[str, Any],
) -> None:
    """Run `work` on each segment, in one thread per segment when there are several."""
    try:
        if segments == 1:
            work(0, params)
            return
        with ThreadPoolExecutor(segments, thread_name_prefix=f"llm-normalize-plan-{table}") as pool:
            futures = [pool.submit(work, n, {**params, "Segment": n}) for n in range(segments)]
            for done in futures:
                done.result()
    except BaseException:
        plan.halted.set()  # an unexpected error (or Ctrl-C): the other segments stop too
        raise


# -- scanning ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _DueFilter:
    now_ms: int
    ttl_days: float
    force: bool
    per_message: int

    def lead(self, raw: Mapping[str, Any]) -> tuple[str, str] | None:
        """A scanned item's id and its state (what the deduplication id hashes), if due."""
        item = item_from_wire(raw)
        lead_id = item.get(LEAD_ID)
        if not isinstance(lead_id, str) or not needs_normalization(
            item, now_ms=self.now_ms, ttl_days=self.ttl_days, force=self.force
        ):
            return None
        state = json.dumps([lead_id, item.get(NORMALIZED_AT), item.get(UPDATED_AT)], default=str)
        return lead_id, state


def _plan_segment(
    plan: Plan,
    client: DynamoDBClient,
    table: str,
    params: Mapping[str, Any],
    segment: int,
    due: _DueFilter,
    sender: Sender,
) -> None:
    """Scan one segment, cut its due ids into messages, send them 10 at a time."""
    chunk = Chunker(due.per_message, due.force)
    outbox: list[Message] = []
    pages = scan_pages(client, params)
    try:
        for page in pages:
            for raw in page:
                lead = due.lead(raw)
                if lead is None:
                    continue
                if plan.halted.is_set() or not plan.take():
                    break
                message = chunk.add(*lead)
                if message is not None:
                    outbox.append(message)
                    if len(outbox) == BATCH:
                        sender.send(outbox)
                        outbox = []
            if plan.stopping() is not None:
                break
    except StorageError as exc:
        _scan_failed(plan, table, segment, exc)
        if plan.stopping() is None:
            sender.send(outbox)  # complete messages keep their boundaries: safe to send
        return
    finally:
        pages.close()
    reason = plan.stopping()
    if reason in (None, "cap"):
        # The end of a segment is a stable boundary; at the cap, ids taken must go out.
        last = chunk.flush()
        sender.send([*outbox, *([last] if last is not None else [])])
    # At the deadline (or a setup error) what is not sent is left: the next plan sends it
    # in the same messages, deduplicated on a FIFO queue.


def _scan_failed(plan: Plan, table: str, segment: int, exc: StorageError) -> None:
    """A setup error stops the plan (raised after the threads end); any other fails the segment."""
    cause = exc.__cause__
    if not is_setup_error(cause):
        with plan.lock:
            plan.segments_failed += 1
        logger.warning(
            "scan segment %d of %s failed (%s); its leads were not all planned",
            segment,
            table,
            error_kind(cause),
        )
        return
    code = error_kind(cause)
    error: ConfigurationError
    if code == "ResourceNotFoundException":
        error = StoreNotFoundError(
            f"DynamoDB table {table!r} does not exist in the client's region; check the "
            "store URL (dynamodb://TABLE?region=R) or LEADS_TABLE, and the region"
        )
    elif code in SETUP_BOTOCORE_ERRORS:
        error = ConfigurationError(f"no AWS credentials or region to scan table {table!r} ({code})")
    else:
        error = ConfigurationError(
            f"may not scan DynamoDB table {table!r} ({code}); grant dynamodb:Scan on the "
            "table to the planner's role, and check its credentials"
        )
    error.__cause__ = exc
    plan.halt("setup", error)


def _scan_params(
    table: str, now_ms: int, ttl_days: float, force: bool, page_size: int | None
) -> dict[str, Any]:
    """The Scan of the due leads (of every lead with `force`), reading their key and state only."""
    params: dict[str, Any] = {
        "TableName": table,
        "ProjectionExpression": "#id, #at, #updated",
        "ExpressionAttributeNames": dict(_NAMES),
    }
    if not force:
        params["FilterExpression"] = _FILTER
        params["ExpressionAttributeValues"] = {
            ":cutoff": {"N": str(ttl_cutoff_ms(now_ms, ttl_days))},
            ":number": {"S": "N"},
        }
    if page_size is not None:
        params["Limit"] = page_size
    return params


# -- arguments -----------------------------------------------------------------------------


def _dynamodb_of(store: LeadStore) -> tuple[str, DynamoDBClient]:
    """The table and client of a DynamoDB store; `ConfigurationError` for any other store."""
    from llm_normalize.stores.dynamodb import DynamoDBLeadStore

    if not isinstance(store, DynamoDBLeadStore):
        raise ConfigurationError(
            f"the fan-out planner scans a DynamoDB table, not a {type(store).__name__}: "
            "use a dynamodb://TABLE store (for a SQLite or memory store, run the job "
            "itself: llm-normalize run)"
        )
    return store.table_name, store.client


def _check(
    queue_url: object,
    segments: int,
    max_leads: int | None,
    ids_per_message: int,
    send_attempts: int,
    page_size: int | None,
) -> None:
    if not isinstance(queue_url, str) or not queue_url.strip():
        raise ConfigurationError(
            "the queue URL must be a non-empty string (--queue, WORK_QUEUE_URL)"
        )
    _whole(segments, "segments", 1, MAX_SEGMENTS)
    _whole(ids_per_message, "ids_per_message", 1, MAX_IDS_PER_MESSAGE)
    _whole(send_attempts, "send_attempts", 1, 10)
    if max_leads is not None:
        _whole(max_leads, "max_leads", 0, None)
    if page_size is not None:
        _whole(page_size, "page_size", 1, None)


def _whole(value: object, name: str, low: int, high: int | None) -> None:
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or value < low
        or (high is not None and value > high)
    ):
        bounds = f"from {low} to {high}" if high is not None else f"of at least {low}"
        raise ConfigurationError(f"{name} must be a whole number {bounds}")
