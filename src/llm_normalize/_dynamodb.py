"""What every DynamoDB adapter shares: the codec, the client factory, error translation.

Used by the lead store (`llm_normalize.stores.dynamodb`), the value cache
(`llm_normalize.caches.dynamodb`) and the Lambda's stream decoding.

- The codec turns plain Python values into DynamoDB's typed wire format
  (`item_to_wire`, `attribute_to_wire`) and back (`item_from_wire`, `value_from_wire`).
  Numbers come back as `int` when integral and `float` otherwise, never `Decimal`; sets
  as sorted lists; binaries as `bytes`. Floats go in as ``Decimal(repr(x))``, which keeps
  the digits Python prints (``0.1`` is stored as ``0.1``, not as the 55 digits of its
  binary value). The decoder reads both a client's answers and DynamoDB Streams images,
  where binaries are base64 text.
- `build_client` (or `client_or_build`, which prefers an injected client) makes a
  ``dynamodb`` client with botocore's standard retry mode.
- `scan_pages` runs a paginated Scan, optionally in parallel segments; `scan_count` counts
  what one matches without transferring the items.
- `translate_errors` turns botocore's errors into `StorageError` (``raise ... from
  exc``), with a message naming the operation, the table, the lead id and the error code,
  never an attribute value (DynamoDB's own messages may quote values, so they are not
  repeated).

boto3 and botocore are imported when a client is built or a value encoded, never when
this module is imported; decoding needs neither.
"""

from __future__ import annotations

import base64
import binascii
import functools
import math
import queue
import threading
from collections.abc import Generator, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, TypeAlias, cast

from llm_normalize._aws import SETUP_BOTOCORE_ERRORS, SETUP_ERROR_CODES, no_region_message
from llm_normalize.exceptions import ConfigurationError, StorageError

if TYPE_CHECKING:
    from boto3.dynamodb.types import TypeSerializer
    from botocore.exceptions import ClientError
    from mypy_boto3_dynamodb import DynamoDBClient

__all__ = [
    "Pages",
    "attribute_to_wire",
    "build_client",
    "check_table_name",
    "client_or_build",
    "create_table",
    "error_code",
    "error_kind",
    "is_setup_error",
    "item_from_wire",
    "item_to_wire",
    "scan_count",
    "scan_pages",
    "translate_errors",
    "value_from_wire",
]


Pages: TypeAlias = Generator[list[dict[str, Any]], None, None]
"""The raw items of each Scan page; closing it stops the scan."""


# -- decoding --------------------------------------------------------------------------------


class _Malformed(Exception):
    """A typed value that is not DynamoDB JSON; carries no part of the value."""


def item_from_wire(raw: Mapping[str, Any]) -> dict[str, Any]:
    """Decode a whole item (or a stream image, or its ``Keys``) into plain values.

    Raises:
        ValueError: `raw` is not a mapping of names to typed values; the message names
            the attribute, never its value.

    Examples:
        >>> item_from_wire({"leadId": {"S": "a"}, "n": {"N": "2"}, "tags": {"SS": ["b", "a"]}})
        {'leadId': 'a', 'n': 2, 'tags': ['a', 'b']}
    """
    if not isinstance(raw, Mapping):
        raise ValueError("a DynamoDB item must be a mapping of attribute names to typed values")
    item: dict[str, Any] = {}
    for name, value in raw.items():
        try:
            item[str(name)] = _decode(value)
        except _Malformed:
            raise ValueError(f"attribute {str(name)!r} is not well-formed DynamoDB JSON") from None
    return item


def value_from_wire(value: Mapping[str, Any]) -> Any:
    """Decode one typed value (``{"N": "1.5"}``) into a plain value.

    Raises:
        ValueError: `value` is not one well-formed typed value.
    """
    try:
        return _decode(value)
    except _Malformed:
        raise ValueError("a value is not well-formed DynamoDB JSON") from None


def _decode(value: Any) -> Any:
    if not isinstance(value, Mapping) or len(value) != 1:
        raise _Malformed
    ((tag, raw),) = value.items()
    try:
        if tag == "S" and isinstance(raw, str):
            return raw
        if tag == "N" and isinstance(raw, str):
            return _number(raw)
        if tag == "BOOL" and isinstance(raw, bool):
            return raw
        if tag == "NULL":
            return None
        if tag == "B":
            return _binary(raw)
        if tag == "M" and isinstance(raw, Mapping):
            return {str(key): _decode(item) for key, item in raw.items()}
        if tag == "L" and isinstance(raw, list):
            return [_decode(item) for item in raw]
        if tag == "SS" and isinstance(raw, list):
            return sorted(str(item) for item in raw)
        if tag == "NS" and isinstance(raw, list):
            return sorted(_number(str(item)) for item in raw)
        if tag == "BS" and isinstance(raw, list):
            return sorted(_binary(item) for item in raw)
    except (InvalidOperation, binascii.Error, ValueError):
        pass
    raise _Malformed


def _number(raw: str) -> int | float:
    number = Decimal(raw)
    if not number.is_finite():
        raise ValueError("not a finite number")
    return int(number) if number == number.to_integral_value() else float(number)


def _binary(raw: Any) -> bytes:
    # A client hands out bytes; a stream image in a Lambda event carries base64 text.
    if isinstance(raw, bytes | bytearray):
        return bytes(raw)
    if isinstance(raw, str):
        return base64.b64decode(raw, validate=True)
    raise ValueError("not a binary")


# -- encoding --------------------------------------------------------------------------------


class _Unstorable(Exception):
    """A value DynamoDB cannot hold; `reason` names the problem, never the value."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def item_to_wire(item: Mapping[str, Any], context: str = "item") -> dict[str, Any]:
    """Encode a whole item; `context` (e.g. ``"item 3"``) starts any error message.

    Raises:
        ConfigurationError: An attribute name is not a string, or a value cannot be
            stored in DynamoDB (NaN, infinity, a number beyond 38 digits, an unsupported
            type); the message names the attribute, never the value.
    """
    wire: dict[str, Any] = {}
    for name, value in item.items():
        if not isinstance(name, str):
            raise ConfigurationError(f"{context}: an attribute name is not a string")
        wire[name] = attribute_to_wire(value, name, context)
    return wire


def attribute_to_wire(value: Any, name: str, context: str) -> dict[str, Any]:
    """Encode one attribute's value; `context` and `name` make the error message.

    Raises:
        ConfigurationError: The value cannot be stored in DynamoDB.
    """
    try:
        return _to_wire(value)
    except _Unstorable as exc:
        raise ConfigurationError(
            f"{context}: attribute {name!r} cannot be stored in DynamoDB: {exc.reason}"
        ) from None


@functools.cache
def _serializer() -> TypeSerializer:
    from boto3.dynamodb.types import TypeSerializer

    return TypeSerializer()


def _to_wire(value: Any) -> dict[str, Any]:
    try:
        return cast("dict[str, Any]", _serializer().serialize(_storable(value)))
    except TypeError as exc:
        raise _Unstorable("a value of an unsupported type") from exc
    except ArithmeticError as exc:
        raise _Unstorable("a number beyond DynamoDB's range or 38 digits") from exc


def _storable(value: Any) -> Any:
    """Prepare a value for `TypeSerializer`: floats to Decimal, tuples to lists, checks."""
    if isinstance(value, bool) or value is None or isinstance(value, str | int | bytes):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise _Unstorable("NaN or infinity")
        return Decimal(repr(value))
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise _Unstorable("NaN or infinity")
        return value
    if isinstance(value, Mapping):
        converted: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise _Unstorable("a map key that is not a string")
            converted[key] = _storable(item)
        return converted
    if isinstance(value, list | tuple):
        return [_storable(item) for item in value]
    if isinstance(value, set | frozenset):
        # DynamoDB has no empty sets; an empty list says the same.
        return {_storable(item) for item in value} if value else []
    return value  # bytearray, Binary: the serializer knows them; anything else fails there


# -- clients, tables and errors --------------------------------------------------------------


def check_table_name(name: object, what: str) -> None:
    """Raise `ConfigurationError` unless `name` is a non-empty string."""
    if not isinstance(name, str) or not name:
        raise ConfigurationError(f"{what} must be a non-empty string")


def build_client(
    *, region_name: str | None, endpoint_url: str | None, max_pool_connections: int = 10
) -> DynamoDBClient:
    """Build a ``dynamodb`` client from a new boto3 session, with standard retries (5 attempts).

    Raises:
        ConfigurationError: No AWS region is given or configured (the message says where
            boto3 looked: `llm_normalize._aws.no_region_message`).
    """
    import boto3.session  # boto3 costs ~200 ms: only when used
    from botocore.config import Config
    from botocore.exceptions import NoRegionError

    config = Config(
        retries={"mode": "standard", "max_attempts": 5},
        max_pool_connections=max_pool_connections,
    )
    session = boto3.session.Session()
    try:
        return session.client(
            "dynamodb", region_name=region_name, endpoint_url=endpoint_url, config=config
        )
    except NoRegionError as exc:
        raise ConfigurationError(
            no_region_message(
                "DynamoDB",
                given="region_name, or ?region= in a dynamodb:// URL or --cache-table",
                profile=session.profile_name,
            )
        ) from exc


def client_or_build(
    client: DynamoDBClient | None,
    *,
    region_name: str | None,
    endpoint_url: str | None,
    max_pool_connections: int = 10,
) -> DynamoDBClient:
    """Return the injected `client`, or build one with `build_client`.

    Raises:
        ConfigurationError: A `client` together with `region_name` / `endpoint_url`, or
            no AWS region for the built client.
    """
    if client is None:
        return build_client(
            region_name=region_name,
            endpoint_url=endpoint_url,
            max_pool_connections=max_pool_connections,
        )
    if region_name is not None or endpoint_url is not None:
        raise ConfigurationError(
            "pass either client or region_name/endpoint_url, not both: "
            "an injected client keeps its own region and endpoint"
        )
    return client


def create_table(client: DynamoDBClient, name: str, key: str, **extra: Any) -> None:
    """Create an on-demand table with a string hash key `key`, and wait until it is ACTIVE.

    Raises:
        StorageError: The table exists already, or the service refused the request.
    """
    with translate_errors("CreateTable", name):
        client.create_table(
            TableName=name,
            KeySchema=[{"AttributeName": key, "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
            **extra,
        )
        client.get_waiter("table_exists").wait(
            TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 120}
        )


@contextmanager
def translate_errors(operation: str, table: str, *, lead_id: str | None = None) -> Iterator[None]:
    """Turn botocore's errors raised inside the block into `StorageError`.

    A ``ClientError`` (an answer of the service) says its error code and HTTP status; a
    ``BotoCoreError`` (no connection, a timeout, bad parameters, a waiter giving up) only
    its class name, because some messages quote the values sent. Other exceptions pass
    through unchanged. The original error is the `StorageError`'s ``__cause__``.

    Examples:
        >>> with translate_errors("GetItem", "leads", lead_id="lead-1"):  # doctest: +SKIP
        ...     client.get_item(...)
        Traceback (most recent call last):
        StorageError: DynamoDB GetItem on table 'leads' for lead 'lead-1' failed: AccessDeniedException, HTTP 400
    """
    from botocore.exceptions import BotoCoreError, ClientError

    where = f"DynamoDB {operation} on table {table!r}"
    if lead_id is not None:
        where += f" for lead {lead_id!r}"
    try:
        yield
    except ClientError as exc:
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        http = f", HTTP {status}" if status else ""
        raise StorageError(f"{where} failed: {error_code(exc)}{http}") from exc
    except BotoCoreError as exc:
        raise StorageError(f"{where} failed: {type(exc).__name__}") from exc


def error_code(exc: ClientError) -> str:
    """The error code of a service answer, ``"Unknown"`` when it has none."""
    return str(exc.response.get("Error", {}).get("Code") or "Unknown")


def error_kind(exc: BaseException | None) -> str:
    """A botocore error's code (``ClientError``) or class name, for logs and messages."""
    from botocore.exceptions import ClientError

    if isinstance(exc, ClientError):
        return error_code(exc)
    return type(exc).__name__


def is_setup_error(exc: BaseException | None) -> bool:
    """Whether a botocore error says the setup is wrong (no table, no permission, no credentials)."""
    from botocore.exceptions import BotoCoreError, ClientError

    if isinstance(exc, ClientError):
        return error_code(exc) in SETUP_ERROR_CODES
    if isinstance(exc, BotoCoreError):
        return type(exc).__name__ in SETUP_BOTOCORE_ERRORS
    return False


# -- scans -----------------------------------------------------------------------------------


def scan_pages(client: DynamoDBClient, params: Mapping[str, Any], *, segments: int = 1) -> Pages:
    """Yield the raw items of each page of a Scan, from one or `segments` parallel segments.

    `params` are the Scan's parameters (``TableName`` included). With several segments,
    pages arrive in no particular order. Closing the generator stops the scan.

    Raises:
        StorageError: When a Scan request fails after botocore's retries.
    """
    if segments == 1:
        return _scan_segment(client, params)
    return _scan_parallel(client, params, segments)


def _scan_segment(client: DynamoDBClient, params: Mapping[str, Any]) -> Pages:
    kwargs = dict(params)
    while True:
        with translate_errors("Scan", kwargs["TableName"]):
            response = client.scan(**kwargs)
        yield list(response.get("Items", []))
        last_key = response.get("LastEvaluatedKey")
        if not last_key:
            return
        kwargs["ExclusiveStartKey"] = last_key


def scan_count(client: DynamoDBClient, params: Mapping[str, Any], *, segments: int = 1) -> int:
    """Count the items a Scan matches (``Select="COUNT"``), page after page, in `segments`.

    No item is transferred, but DynamoDB still reads (and bills) the whole table, as the
    Scan itself would. Segments are counted in parallel threads.

    Raises:
        StorageError: When a Scan request fails after botocore's retries.
    """
    counting = {**params, "Select": "COUNT"}
    if segments == 1:
        return _count_segment(client, counting)
    with ThreadPoolExecutor(
        max_workers=segments, thread_name_prefix=f"llm-normalize-count-{params['TableName']}"
    ) as pool:
        return sum(
            pool.map(
                lambda segment: _count_segment(
                    client, {**counting, "Segment": segment, "TotalSegments": segments}
                ),
                range(segments),
            )
        )


def _count_segment(client: DynamoDBClient, params: Mapping[str, Any]) -> int:
    kwargs = dict(params)
    total = 0
    while True:
        with translate_errors("Scan", kwargs["TableName"]):
            response = client.scan(**kwargs)
        total += response.get("Count", 0)
        last_key = response.get("LastEvaluatedKey")
        if not last_key:
            return total
        kwargs["ExclusiveStartKey"] = last_key


def _scan_parallel(client: DynamoDBClient, params: Mapping[str, Any], segments: int) -> Pages:
    # One thread per segment puts pages into a small queue; the caller's thread takes
    # them out and does all the decoding. Closing the iterator (a `limit` reached, the
    # consumer gone) stops the workers after their current request.
    pages: queue.Queue[list[dict[str, Any]] | BaseException | None] = queue.Queue(
        maxsize=2 * segments
    )
    stop = threading.Event()

    def offer(entry: list[dict[str, Any]] | BaseException | None) -> bool:
        while not stop.is_set():
            try:
                pages.put(entry, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def work(segment: int) -> None:
        try:
            for page in _scan_segment(
                client, {**params, "Segment": segment, "TotalSegments": segments}
            ):
                if not offer(page):
                    return
        except BaseException as exc:  # handed to the consumer, which raises it
            offer(exc)
        finally:
            offer(None)

    workers = [
        threading.Thread(
            target=work,
            args=(segment,),
            name=f"llm-normalize-scan-{params['TableName']}-{segment}",
            daemon=True,
        )
        for segment in range(segments)
    ]
    for worker in workers:
        worker.start()
    try:
        running = segments
        while running:
            entry = pages.get()
            if entry is None:
                running -= 1
            elif isinstance(entry, BaseException):
                raise entry
            else:
                yield entry
    finally:
        stop.set()
        for worker in workers:
            worker.join()
