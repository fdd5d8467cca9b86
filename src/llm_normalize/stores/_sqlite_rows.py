"""How `SQLiteLeadStore` encodes items into rows and decodes them back.

An item is one JSON text column (`item`) plus two indexed columns the selection reads:
`normalized_at` (epoch ms, clamped to SQLite's 64-bit integers) and `updated_at` (canonical
JSON, so `1`, `1.0` and `true` stay apart). Decoding reads the column as bytes and never lets
a decoder's error (which quotes the value) out.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Final

from llm_normalize._sqlite_files import encodable
from llm_normalize.exceptions import ConfigurationError
from llm_normalize.stores.base import LEAD_ID, NORMALIZED_AT, UPDATED_AT

__all__ = [
    "Unreadable",
    "clamp",
    "columns",
    "config_text",
    "decode_item",
    "dumps",
    "lead_id_of",
    "updated_at_key",
]

_INT64_MIN: Final = -(2**63)
_INT64_MAX: Final = 2**63 - 1


class Unreadable(Exception):
    """A stored item that cannot be decoded; `problem` names what is wrong, never a value."""

    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem


def decode_item(raw: bytes | str) -> dict[str, Any]:
    """Decode an item column read as bytes (`CAST(item AS BLOB)`).

    Raises:
        Unreadable: Not UTF-8, not JSON, or not a JSON object. The decoder's own errors
            are dropped: a `UnicodeDecodeError` carries the whole value.
    """
    if isinstance(raw, bytes):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise Unreadable("not valid UTF-8") from None
    else:
        text = raw
    try:
        item = json.loads(text)
    except (ValueError, RecursionError):
        raise Unreadable("not valid JSON") from None
    if not isinstance(item, dict):
        raise Unreadable("not a JSON object")
    return item


def config_text(item: object) -> str:
    if not isinstance(item, Mapping):
        raise ConfigurationError("the config item must be a mapping")
    return dumps(item, "the config item")


def lead_id_of(item: object, position: int) -> str:
    if not isinstance(item, Mapping):
        raise ConfigurationError(f"item {position} is not a mapping")
    lead_id = item.get(LEAD_ID)
    if not isinstance(lead_id, str) or not lead_id:
        raise ConfigurationError(f"item {position} has no {LEAD_ID} (a non-empty string)")
    if not encodable(lead_id):
        raise ConfigurationError(f"item {position} has a {LEAD_ID} that is not valid unicode")
    return lead_id


def columns(item: Mapping[str, Any], what: str) -> tuple[str, int | None, str | None]:
    """`(item, normalized_at, updated_at)` column values of an item."""
    return (
        dumps(item, what),
        _normalized_at(item.get(NORMALIZED_AT)),
        updated_at_key(item.get(UPDATED_AT)),
    )


def _normalized_at(value: Any) -> int | None:
    # As `needs_normalization` reads it: a bool or a non-number is "never normalized".
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return None
    return clamp(int(value))


def clamp(ms: int) -> int:
    # SQLite integers are 64-bit; a bigger timestamp is as good as the biggest one.
    return max(_INT64_MIN, min(_INT64_MAX, ms))


def updated_at_key(value: Any) -> str | None:
    """The `updated_at` column: canonical JSON of `updatedAt`, NULL when absent (or null).

    `StoredLead.seen_updated_at` cannot tell an absent `updatedAt` from a null one, so
    neither does the conditional update. JSON keeps `1`, `1.0` and `true` apart, as
    DynamoDB keeps a number apart from a boolean.
    """
    if value is None:
        return None
    # ASCII keeps it encodable whatever the value; it is compared, never shown.
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), allow_nan=False, default=_json_default
    )


def dumps(item: Mapping[str, Any], what: str) -> str:
    try:
        text = json.dumps(item, ensure_ascii=False, allow_nan=False, default=_json_default)
    except (TypeError, ValueError, RecursionError) as exc:
        raise ConfigurationError(
            f"{what} holds a value JSON cannot carry ({type(exc).__name__})"
        ) from exc
    if not encodable(text):
        # A lone surrogate cannot be stored as UTF-8; \u escapes carry it and load back equal.
        text = json.dumps(item, ensure_ascii=True, allow_nan=False, default=_json_default)
    return text


def _json_default(value: object) -> Any:
    if isinstance(value, Decimal):
        if value.is_finite() and value == value.to_integral_value():
            return int(value)
        return float(value)
    if isinstance(value, set | frozenset):
        return sorted(value)
    raise TypeError(type(value).__name__)
