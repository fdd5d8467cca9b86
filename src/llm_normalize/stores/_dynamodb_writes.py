"""What `DynamoDBLeadStore` writes: the expressions of its saves and rollbacks, its import batches.

Private to `llm_normalize.stores.dynamodb`, whose module docstring describes the
conditions on what was read. Only `write_batch` sends anything (on the client it is
given); the rest builds the arguments of the store's requests and the errors of an import
that stopped part-way.

- `save_condition` builds a save's ConditionExpression, names and values, and
  `rollback_expressions` a rollback's UpdateExpression and condition; both check each
  attribute with `_holds_as_read`.
- `names_in` gives the ExpressionAttributeNames of the placeholders an expression uses.
- `prepare_items` checks and encodes the items of an import, `batches_of` groups them
  into BatchWriteItem requests, `write_batch` writes one, retrying unprocessed items, and
  `partial_write_error` says which ids a failed import wrote.
"""

from __future__ import annotations

import logging
import random
import re
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Final, cast

from llm_normalize._dynamodb import (
    attribute_to_wire,
    item_from_wire,
    item_to_wire,
    translate_errors,
)
from llm_normalize.exceptions import ConfigurationError, PartialWriteError, StorageError
from llm_normalize.records import (
    LEAD_ID,
    NORMALIZATION_META,
    NORMALIZATION_PREVIOUS,
    NORMALIZED_AT,
    NORMALIZED_DATA,
    UPDATED_AT,
)
from llm_normalize.stores.base import LeadUpdate, RollbackChanges, StoredLead

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

__all__ = [
    "batches_of",
    "names_in",
    "partial_write_error",
    "prepare_items",
    "rollback_expressions",
    "save_condition",
    "write_batch",
]

# The store's logger: what the import logs keeps the name it always had.
logger = logging.getLogger("llm_normalize.stores.dynamodb")

# The placeholders of the normalization attributes in every expression of the store.
_NAMES: Final = {
    "#id": LEAD_ID,
    "#data": NORMALIZED_DATA,
    "#at": NORMALIZED_AT,
    "#updated": UPDATED_AT,
    "#meta": NORMALIZATION_META,
    "#prev": NORMALIZATION_PREVIOUS,
    "#version": "promptVersion",
}
_PLACEHOLDER: Final = {name: placeholder for placeholder, name in _NAMES.items()}
_PLACEHOLDERS: Final = re.compile(r"#\w+")
_SAVE_NAMES: Final = ("#id", "#data", "#at", "#updated", "#meta", "#prev")
_SET_TAGS: Final = {str: "SS", bytes: "BS", int: "NS", float: "NS"}

_BATCH_SIZE: Final = 25  # BatchWriteItem's limit
_BATCH_ATTEMPTS: Final = 8
_BATCH_BACKOFF_BASE_S: Final = 0.05
_BATCH_BACKOFF_CAP_S: Final = 2.0


def names_in(*expressions: str) -> dict[str, str]:
    """The `ExpressionAttributeNames` of the store's placeholders that `expressions` use."""
    used = {token for expression in expressions for token in _PLACEHOLDERS.findall(expression)}
    return {placeholder: name for placeholder, name in _NAMES.items() if placeholder in used}


def save_condition(
    lead: StoredLead, update: LeadUpdate
) -> tuple[str, dict[str, str], dict[str, Any]]:
    """The condition of a save, its names and values, the update's attributes encoded."""
    context = f"update of lead {lead.lead_id!r}"
    attributes = update.attributes_for(lead)
    names = {placeholder: _NAMES[placeholder] for placeholder in _SAVE_NAMES}
    values: dict[str, Any] = {
        f":{placeholder[1:]}": attribute_to_wire(attributes[name], name, context)
        for placeholder, name in names.items()
        if placeholder != "#id"
    }
    clauses = ["attribute_exists(#id)"]
    seen = lead.seen_updated_at
    if seen is None:
        values[":null"] = {"S": "NULL"}
        clauses.append("(attribute_not_exists(#updated) OR attribute_type(#updated, :null))")
    else:
        clauses.append(_holds_as_read("#updated", "seen", lead, UPDATED_AT, values, context))
    for index, name in enumerate(update.watched):
        names[f"#w{index}"] = name
        clauses.append(_holds_as_read(f"#w{index}", str(index), lead, name, values, context))
    return " AND ".join(clauses), names, values


def rollback_expressions(
    lead_id: str, prompt_version: str, changes: RollbackChanges, raw: Mapping[str, Any]
) -> tuple[str, str, dict[str, str], dict[str, Any]]:
    """The update writing `changes` if the lead is as read in `raw`.

    Returns:
        The UpdateExpression, the ConditionExpression, their names and their values.
    """
    context = f"rollback of lead {lead_id!r}"
    read = StoredLead(lead_id, item_from_wire(raw), wire=raw)
    values: dict[str, Any] = {":version": {"S": prompt_version}}
    assignments = []
    for name, value in changes.restore.items():
        placeholder = _PLACEHOLDER[name]
        values[f":r{placeholder[1:]}"] = attribute_to_wire(value, name, context)
        assignments.append(f"{placeholder} = :r{placeholder[1:]}")
    removals = [_PLACEHOLDER[name] for name in changes.remove]
    update = " ".join(
        part
        for part in (
            f"SET {', '.join(assignments)}" if assignments else "",
            f"REMOVE {', '.join(removals)}" if removals else "",
        )
        if part
    )
    condition = " AND ".join(
        (
            "attribute_exists(#id)",
            "#meta.#version = :version",
            _holds_as_read("#updated", "updated", read, UPDATED_AT, values, context),
            _holds_as_read("#at", "at", read, NORMALIZED_AT, values, context),
        )
    )
    return update, condition, names_in(update, condition), values


def _holds_as_read(
    path: str, key: str, lead: StoredLead, name: str, values: dict[str, Any], context: str
) -> str:
    """A condition that attribute `name` (at `path`) holds what `lead` read, type included.

    Absent when read: it must still be absent. Null: still null. Otherwise equal to the
    typed value read (`lead.wire`), or to the value encoded again, which for a list also
    matches the set of its elements (a set reads as a sorted list). Adds its values to
    `values` under ``:w{key}``, ``:t{key}`` (and ``:s{key}``, ``:u{key}``).
    """
    if name not in lead.item:
        return f"attribute_not_exists({path})"
    wire = lead.wire.get(name) if lead.wire is not None else None
    value = lead.item[name]
    typed = wire if wire is not None else attribute_to_wire(value, name, context)
    tag = next(iter(typed))
    values[f":t{key}"] = {"S": tag}
    if tag == "NULL":
        return f"attribute_type({path}, :t{key})"
    values[f":w{key}"] = typed
    clause = f"({path} = :w{key} AND attribute_type({path}, :t{key}))"
    as_set = _set_form(value, name, context) if wire is None and tag == "L" else None
    if as_set is not None:
        values[f":s{key}"] = as_set
        values[f":u{key}"] = {"S": next(iter(as_set))}
        clause = f"({clause} OR ({path} = :s{key} AND attribute_type({path}, :u{key})))"
    return clause


def _set_form(value: Any, name: str, context: str) -> dict[str, Any] | None:
    """The DynamoDB set a list may have been read from, if it can be one."""
    if not isinstance(value, list) or not value:
        return None
    tags = {_SET_TAGS.get(type(element)) for element in value}
    if len(tags) != 1 or None in tags or len(set(value)) != len(value):
        return None  # mixed, other types (bool is not int here), or repeats: not a set
    return attribute_to_wire(set(value), name, context)


def prepare_items(items: Iterable[Mapping[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    """Check and encode every item of an import: its lead id and its wire form, in order.

    Raises:
        ConfigurationError: An item is not a mapping, has no non-empty string ``leadId``,
            or holds a value DynamoDB cannot store.
    """
    prepared: list[tuple[str, dict[str, Any]]] = []
    for position, item in enumerate(items):
        if not isinstance(item, Mapping):
            raise ConfigurationError(f"item {position} is not a mapping")
        lead_id = item.get(LEAD_ID)
        if not isinstance(lead_id, str) or not lead_id:
            raise ConfigurationError(f"item {position} has no non-empty string {LEAD_ID!r}")
        prepared.append((lead_id, item_to_wire(item, f"item {position}")))
    return prepared


def batches_of(prepared: Iterable[tuple[str, dict[str, Any]]]) -> list[dict[str, dict[str, Any]]]:
    """The PutRequests of `prepared`, 25 ids per batch; a repeated id replaces its request."""
    batches: list[dict[str, dict[str, Any]]] = []
    batch: dict[str, dict[str, Any]] = {}
    for lead_id, wire in prepared:
        if lead_id not in batch and len(batch) == _BATCH_SIZE:
            batches.append(batch)
            batch = {}
        batch[lead_id] = {"PutRequest": {"Item": wire}}
    if batch:
        batches.append(batch)
    return batches


def write_batch(
    client: DynamoDBClient,
    table: str,
    requests: Mapping[str, dict[str, Any]],
    written: list[str],
    *,
    sleep: Callable[[float], None],
) -> None:
    """Write one batch; add to `written` the ids of the items as they are processed.

    Items left unprocessed are sent again after a jittered exponential backoff (`sleep`),
    up to 8 attempts in all.

    Raises:
        StorageError: When a request fails, or items are still unprocessed at the end.
    """
    pending = dict(requests)
    for attempt in range(_BATCH_ATTEMPTS):
        with translate_errors("BatchWriteItem", table):
            response = client.batch_write_item(
                # plain dicts, which boto3's TypedDicts accept
                RequestItems={table: cast("Any", list(pending.values()))}
            )
        unprocessed = response.get("UnprocessedItems", {}).get(table, [])
        left = {str(request["PutRequest"]["Item"][LEAD_ID]["S"]) for request in unprocessed}
        written.extend(lead_id for lead_id in pending if lead_id not in left)
        pending = {lead_id: pending[lead_id] for lead_id in pending if lead_id in left}
        if not pending:
            return
        logger.debug("%d items unprocessed by %s, attempt %d", len(pending), table, attempt + 1)
        if attempt + 1 < _BATCH_ATTEMPTS:
            cap = min(_BATCH_BACKOFF_CAP_S, _BATCH_BACKOFF_BASE_S * 2**attempt)
            sleep(random.uniform(cap / 2, cap))
    raise StorageError(
        f"DynamoDB BatchWriteItem on table {table!r}: {len(pending)} items still "
        f"unprocessed after {_BATCH_ATTEMPTS} attempts"
    )


def partial_write_error(
    cause: StorageError,
    batches: list[dict[str, dict[str, Any]]],
    failed_batch: int,
    written_of_failed: list[str],
) -> PartialWriteError:
    """The error of an import that stopped at batch `failed_batch`: which ids were written.

    An id is written when the batch holding its last occurrence (the item that wins)
    was; an earlier occurrence written before does not count.
    """
    last_batch: dict[str, int] = {}
    for number, requests in enumerate(batches):
        for lead_id in requests:
            last_batch.pop(lead_id, None)  # keep the order of the last occurrences
            last_batch[lead_id] = number
    done = set(written_of_failed)
    written = [
        lead_id
        for lead_id, number in last_batch.items()
        if number < failed_batch or (number == failed_batch and lead_id in done)
    ]
    written_set = set(written)
    failed = [lead_id for lead_id in last_batch if lead_id not in written_set]
    return PartialWriteError(
        f"{cause}; {len(written)} of {len(last_batch)} items were written, "
        f"{len(failed)} were not (the error's `written` and `failed` list their lead "
        "ids). Importing the same items again is safe: ids are kept, so each item "
        "replaces itself",
        written=written,
        failed=failed,
    )
