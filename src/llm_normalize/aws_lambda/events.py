"""What arrived: which trigger sent an event, and what its records and messages ask for.

Pure functions of the event: no store, no normalizer, no logging.
DynamoDB Streams images are decoded by the stores' own codec
(`llm_normalize._dynamodb.item_from_wire`), so a lead from a stream has exactly the values
the store would hand out: numbers as `int` or `float`, sets as sorted lists.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal, TypeAlias

from llm_normalize._dynamodb import item_from_wire
from llm_normalize.records import LEAD_ID, NORMALIZED_AT, UPDATED_AT
from llm_normalize.stores.base import NORMALIZATION_ATTRIBUTES

__all__ = [
    "RUN_OPTIONS",
    "BadRequest",
    "EventKind",
    "StreamRecord",
    "StreamVerdict",
    "UnusableRecord",
    "direct_options",
    "event_kind",
    "parse_sqs_body",
    "parse_stream_record",
    "stream_verdict",
]

EventKind: TypeAlias = Literal[
    "schedule", "api_rest", "api_http", "dynamodb_stream", "sqs", "direct"
]
"""The kinds of event the handler tells apart (see `event_kind`)."""

StreamVerdict: TypeAlias = Literal["normalize", "own_write", "unchanged"]
"""What a stream record asks for: normalization, nothing (our own write-back), or nothing new."""

RUN_OPTIONS: Final = ("forceAll", "limit")
"""The options of a run, in a direct event or the admin API's query string."""

_MISSING: Final = object()


class BadRequest(Exception):
    """An event or request the handler refuses; the message is safe to show and log."""


class UnusableRecord(Exception):
    """A stream record or SQS message that can never be processed; the message is PII-free."""


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


# -- direct invocations -------------------------------------------------------------------


def direct_options(event: Any) -> tuple[bool, int | None]:
    """The ``forceAll`` and ``limit`` of a direct event (``{}`` is the daily run).

    Raises:
        BadRequest: The event is not an object of those two options with good values.
    """
    if not isinstance(event, Mapping):
        raise BadRequest('the event must be a JSON object such as {"forceAll": true, "limit": 10}')
    if set(event) - set(RUN_OPTIONS):
        raise BadRequest(
            "not a recognised event: a direct invocation takes only forceAll (true/false) and "
            "limit (a positive integer)"
        )
    force = event.get("forceAll")
    if force is None:
        force = False
    if not isinstance(force, bool):
        raise BadRequest("forceAll must be true or false")
    limit = event.get("limit")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise BadRequest("limit must be a positive integer")
    return force, limit


# -- DynamoDB Streams ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StreamRecord:
    """The parts of one DynamoDB Streams record the handler reads, images decoded.

    Attributes:
        name: ``INSERT``, ``MODIFY`` or ``REMOVE``.
        lead_id: The lead's key.
        sequence: The record's ``SequenceNumber`` (what ``batchItemFailures`` names).
        old: The ``OldImage``, if the stream carries it.
        new: The ``NewImage``, if the stream carries it.
    """

    name: str
    lead_id: str
    sequence: str
    old: dict[str, Any] | None
    new: dict[str, Any] | None


def parse_stream_record(record: Any) -> StreamRecord:
    """Read one DynamoDB Streams record.

    Raises:
        UnusableRecord: The record lacks what it needs or holds malformed DynamoDB JSON;
            retrying cannot fix it. The message names attributes, never values.
    """
    if not isinstance(record, Mapping):
        raise UnusableRecord("a record is not an object")
    name = record.get("eventName")
    if name not in ("INSERT", "MODIFY", "REMOVE"):
        raise UnusableRecord("unknown eventName")
    data = record.get("dynamodb")
    if not isinstance(data, Mapping):
        raise UnusableRecord("no dynamodb block")
    sequence = data.get("SequenceNumber")
    if not isinstance(sequence, str) or not sequence:
        raise UnusableRecord("no SequenceNumber")
    keys = _image(data.get("Keys"), "Keys") or {}
    lead_id = keys.get(LEAD_ID)
    if not isinstance(lead_id, str) or not lead_id:
        raise UnusableRecord(f"no string {LEAD_ID} key")
    old = _image(data.get("OldImage"), "OldImage")
    new = _image(data.get("NewImage"), "NewImage")
    return StreamRecord(name, lead_id, sequence, old, new)


def _image(raw: Any, what: str) -> dict[str, Any] | None:
    if raw is None:
        return None
    try:
        return item_from_wire(raw)
    except ValueError as exc:  # its message names the attribute, never the value
        raise UnusableRecord(f"{what}: {exc}") from None


def stream_verdict(
    name: str,
    old: Mapping[str, Any] | None,
    new: Mapping[str, Any],
    fields: Sequence[str],
) -> StreamVerdict:
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


# -- SQS ----------------------------------------------------------------------------------


def parse_sqs_body(body: Any) -> tuple[list[str], bool]:
    """The lead ids an SQS message names (``leadIds`` or ``leadId``), and its ``forceAll``.

    Raises:
        UnusableRecord: The body is not such a message.
    """
    if not isinstance(body, str):
        raise UnusableRecord("the body is not a string")
    try:
        message = json.loads(body)
    except ValueError:
        raise UnusableRecord("the body is not JSON") from None
    if not isinstance(message, Mapping):
        raise UnusableRecord("the body is not a JSON object")
    if ("leadIds" in message) == ("leadId" in message):
        raise UnusableRecord("the body needs exactly one of leadIds and leadId")
    raw = message["leadIds"] if "leadIds" in message else [message["leadId"]]
    if not isinstance(raw, list) or not all(isinstance(i, str) and i for i in raw):
        raise UnusableRecord("lead ids must be non-empty strings")
    force = message.get("forceAll", False)
    if not isinstance(force, bool):
        raise UnusableRecord("forceAll must be true or false")
    return list(dict.fromkeys(raw)), force
