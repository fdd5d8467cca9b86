"""DynamoDB adapters: the seed's leads and config tables, and a persistent value cache.

Thin over boto3's low-level client, and a drop-in for the seed's tables: the same key
(``leadId``), attribute names and epoch-millisecond timestamps, and the same config item
(``configId: "normalization-settings"`` in ``awsrestart-normalization-config``).

- `DynamoDBLeadStore` is the `llm_normalize.stores.base.LeadStore` on a leads table:
  selection is a paginated Scan with the seed's filter (optionally in parallel segments),
  a save is a conditional UpdateItem that never re-creates a deleted lead, an import is
  BatchWriteItem with unprocessed items retried.
- `DynamoDBValueCache` is a `llm_normalize.cache.ValueCache` on a table with a TTL
  attribute, so model answers survive across runs and Lambda invocations.
- `create_leads_table`, `create_config_table` and `create_cache_table` make the tables for
  local development and tests.

Numbers: DynamoDB numbers arrive as `decimal.Decimal`; the store hands out `int` when a
number is integral and `float` otherwise, never `Decimal`, and DynamoDB sets as sorted
lists. Floats going in are written as ``Decimal(str(x))``, which keeps the digits Python
prints (``0.1`` is stored as ``0.1``, not as the 55 digits of its binary value).

Errors: throttling and 5xx answers are retried by botocore's standard retry mode on the
clients built here (``max_attempts: 5``); what still fails becomes a
`llm_normalize.exceptions.StorageError` (``raise ... from exc``) whose message names the
operation, the table, the lead id and the error code, never an attribute value (DynamoDB's
own messages may quote values, so they are not repeated).

boto3 is imported when a store or cache is created, never when this module is imported.
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import math
import os
import queue
import random
import threading
import time
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping
from decimal import Decimal
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, NoReturn, TypeAlias, TypeVar, cast

from llm_normalize.cache import CacheKey
from llm_normalize.exceptions import ConfigurationError, StorageError
from llm_normalize.stores.base import (
    LEAD_ID,
    NORMALIZATION_META,
    NORMALIZED_AT,
    NORMALIZED_DATA,
    UPDATED_AT,
    LeadUpdate,
    SaveStatus,
    StoredLead,
    needs_normalization,
    ttl_cutoff_ms,
)

if TYPE_CHECKING:
    from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
    from botocore.exceptions import ClientError
    from mypy_boto3_dynamodb import DynamoDBClient

__all__ = [
    "CONFIG_ID",
    "DEFAULT_CONFIG_TABLE",
    "DEFAULT_LEADS_TABLE",
    "DynamoDBLeadStore",
    "DynamoDBValueCache",
    "create_cache_table",
    "create_config_table",
    "create_leads_table",
]

logger = logging.getLogger(__name__)

DEFAULT_LEADS_TABLE: Final = "awsrestart-leads"
"""The seed's leads table, used by `DynamoDBLeadStore.from_env` when ``LEADS_TABLE`` is unset."""

DEFAULT_CONFIG_TABLE: Final = "awsrestart-normalization-config"
"""The seed's config table, used by `DynamoDBLeadStore.from_env` when ``CONFIG_TABLE`` is unset."""

CONFIG_ID: Final = "normalization-settings"
"""The ``configId`` of the seed's config item."""

_CONFIG_KEY: Final = "configId"
_CACHE_KEY: Final = "cacheKey"
_CACHE_VALUE: Final = "value"
_CACHE_EXPIRES: Final = "expiresAt"

# The seed's filter, with one clause more: a normalizedAt that is not a number (written by
# another tool) counts as never normalized, as `needs_normalization` says. The type test
# comes before the comparison so that it short-circuits on servers that cannot compare a
# string with a number (real DynamoDB just says false; moto fails).
_DUE_FILTER: Final = (
    f"attribute_not_exists({NORMALIZED_AT}) OR NOT attribute_type({NORMALIZED_AT}, :number) "
    f"OR {NORMALIZED_AT} < :cutoff"
)

_BATCH_SIZE: Final = 25  # BatchWriteItem's limit
_BATCH_ATTEMPTS: Final = 8
_BATCH_BACKOFF_BASE_S: Final = 0.05
_BATCH_BACKOFF_CAP_S: Final = 2.0
_SECONDS_PER_DAY: Final = 86_400

# Errors that say the cache is set up wrongly rather than that DynamoDB had a bad moment:
# these raise even from DynamoDBValueCache.get/set, everything else is a logged miss.
_CACHE_FATAL_CODES: Final = frozenset(
    {
        "AccessDeniedException",
        "ExpiredTokenException",
        "IncompleteSignature",
        "InvalidSignatureException",
        "MissingAuthenticationTokenException",
        "ResourceNotFoundException",
        "UnrecognizedClientException",
    }
)
_CACHE_FATAL_BOTOCORE: Final = frozenset({"NoCredentialsError", "NoRegionError"})

_T = TypeVar("_T")

_Pages: TypeAlias = Generator[list[dict[str, Any]], None, None]
"""The raw items of each Scan page; closing it stops the scan."""


class DynamoDBLeadStore:
    """The seed's leads table (and optionally its config table) as a `LeadStore`.

    Thread-safe: boto3 clients are, and the only other state (the config cache) is locked.

    Args:
        table_name: The leads table (key ``leadId``, a string).
        config_table: The table holding the seed's config item, or `None` for no stored
            config (`load_config` then returns `None`).
        client: A ready ``dynamodb`` client, used as is (its own retry configuration
            included) and not closed by `close`. When `None`, one is built from a new boto3
            session with botocore's standard retry mode (``max_attempts: 5``).
        region_name: The AWS region of the built client (default: boto3's own resolution,
            e.g. ``AWS_REGION``). Not allowed with `client`.
        endpoint_url: A custom endpoint of the built client (DynamoDB Local, moto).
            Not allowed with `client`; ``AWS_ENDPOINT_URL_DYNAMODB`` also works.
        segments: How many parallel scan segments (threads) `iter_due`, `scan` and
            `rollback` use; 1 scans sequentially. Worth raising for large tables only.
        config_ttl_s: How long `load_config` keeps the config item before reading it again.
        page_size: The ``Limit`` of each Scan request (items read per page, before the
            filter); `None` lets DynamoDB fill 1 MB pages.

    Raises:
        ConfigurationError: For an empty table name, ``segments < 1``, ``page_size < 1``,
            a negative `config_ttl_s`, a `client` together with `region_name` /
            `endpoint_url`, or no AWS region for the built client.

    Examples:
        >>> store = DynamoDBLeadStore.from_env(region_name="us-east-1")  # doctest: +SKIP
        >>> for lead in store.iter_due(now_ms=now_ms, ttl_days=7, limit=50):  # doctest: +SKIP
        ...     store.save(lead, update)
        'saved'
    """

    def __init__(
        self,
        table_name: str,
        *,
        config_table: str | None = None,
        client: DynamoDBClient | None = None,
        region_name: str | None = None,
        endpoint_url: str | None = None,
        segments: int = 1,
        config_ttl_s: float = 60.0,
        page_size: int | None = None,
    ) -> None:
        _check_table_name(table_name, "table_name")
        if config_table is not None:
            _check_table_name(config_table, "config_table")
        if isinstance(segments, bool) or not isinstance(segments, int) or segments < 1:
            raise ConfigurationError("segments must be an integer of at least 1")
        if page_size is not None and (
            isinstance(page_size, bool) or not isinstance(page_size, int) or page_size < 1
        ):
            raise ConfigurationError("page_size must be None or an integer of at least 1")
        if not config_ttl_s >= 0:
            raise ConfigurationError("config_ttl_s must be a number of seconds, at least 0")
        self._owns_client = client is None
        if client is None:
            client = _build_client(
                region_name=region_name,
                endpoint_url=endpoint_url,
                max_pool_connections=max(10, segments + 2),
            )
        elif region_name is not None or endpoint_url is not None:
            raise ConfigurationError(
                "pass either client or region_name/endpoint_url, not both: "
                "an injected client keeps its own region and endpoint"
            )
        self._client = client
        self._codec = _Codec()
        self._table = table_name
        self._config_table = config_table
        self._segments = segments
        self._config_ttl_s = float(config_ttl_s)
        self._page_size = page_size
        self._config_lock = threading.Lock()
        self._config_cached: tuple[float, dict[str, Any] | None] | None = None
        self._closed = False
        # Seams for tests: the clock of the config cache, the sleep between batch retries.
        self._clock: Callable[[], float] = time.monotonic
        self._sleep: Callable[[float], None] = time.sleep

    @classmethod
    def from_env(
        cls,
        *,
        client: DynamoDBClient | None = None,
        region_name: str | None = None,
        endpoint_url: str | None = None,
        segments: int = 1,
        config_ttl_s: float = 60.0,
        page_size: int | None = None,
    ) -> DynamoDBLeadStore:
        """Build the store on the tables named by ``LEADS_TABLE`` and ``CONFIG_TABLE``, as the seed.

        Unset (or empty) variables fall back to the seed's names, ``awsrestart-leads`` and
        ``awsrestart-normalization-config``. A config table that does not exist is fine:
        `load_config` returns `None` and the defaults apply, as in the seed.

        Examples:
            >>> store = DynamoDBLeadStore.from_env()  # doctest: +SKIP
            >>> store.table_name
            'awsrestart-leads'
        """
        return cls(
            os.environ.get("LEADS_TABLE") or DEFAULT_LEADS_TABLE,
            config_table=os.environ.get("CONFIG_TABLE") or DEFAULT_CONFIG_TABLE,
            client=client,
            region_name=region_name,
            endpoint_url=endpoint_url,
            segments=segments,
            config_ttl_s=config_ttl_s,
            page_size=page_size,
        )

    def __repr__(self) -> str:
        return (
            f"DynamoDBLeadStore(table_name={self._table!r}, config_table={self._config_table!r}, "
            f"segments={self._segments})"
        )

    def __enter__(self) -> DynamoDBLeadStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def table_name(self) -> str:
        """The leads table."""
        return self._table

    @property
    def config_table(self) -> str | None:
        """The config table, if any."""
        return self._config_table

    @property
    def client(self) -> DynamoDBClient:
        """The boto3 ``dynamodb`` client the store calls."""
        return self._client

    def iter_due(
        self, *, now_ms: int, ttl_days: float, force: bool = False, limit: int | None = None
    ) -> Iterator[StoredLead]:
        """Stream the leads that need normalization, at most `limit` of them.

        A paginated Scan with the seed's filter (none with `force`), in `segments` parallel
        segments; scanning stops as soon as `limit` leads were handed out. Each lead is
        checked again with `needs_normalization`, so the answer is exactly the other
        stores' whatever the server's filter quirks.

        Raises:
            ConfigurationError: For a negative `limit`.
            StorageError: When a Scan fails after botocore's retries.
        """
        if limit is not None and limit < 0:
            raise ConfigurationError("limit must be None or at least 0")
        self._check_open()
        return self._iter_due(now_ms=now_ms, ttl_days=ttl_days, force=force, limit=limit)

    def _iter_due(
        self, *, now_ms: int, ttl_days: float, force: bool, limit: int | None
    ) -> Iterator[StoredLead]:
        if limit == 0:
            return
        params: dict[str, Any] = {"TableName": self._table}
        if not force:
            params["FilterExpression"] = _DUE_FILTER
            params["ExpressionAttributeValues"] = {
                ":cutoff": {"N": str(ttl_cutoff_ms(now_ms, ttl_days))},
                ":number": {"S": "N"},
            }
        pages = self._scan_pages(params)
        count = 0
        try:
            for page in pages:
                for raw in page:
                    item = self._codec.item_from_wire(raw)
                    lead_id = item.get(LEAD_ID)
                    if not isinstance(lead_id, str) or not needs_normalization(
                        item, now_ms=now_ms, ttl_days=ttl_days, force=force
                    ):
                        continue
                    count += 1
                    last = limit is not None and count >= limit
                    if last:
                        pages.close()  # stop scanning before handing out the last lead
                    yield StoredLead(lead_id, item)
                    if last:
                        return
        finally:
            pages.close()

    def save(self, lead: StoredLead, update: LeadUpdate) -> SaveStatus:
        """Write `update` beside the lead's originals, if it is unchanged since it was read.

        One conditional UpdateItem: the lead must exist and its ``updatedAt`` must equal the
        one read (or still be absent, or null, when none was read). On a failed condition,
        ``ReturnValuesOnConditionCheckFailure="ALL_OLD"`` tells a changed lead
        (``"conflict"``) from a deleted one (``"missing"``); a deleted lead is never
        re-created.

        Raises:
            ConfigurationError: A value of `update` cannot be stored in DynamoDB
                (NaN, infinity, a number beyond 38 digits, an unsupported type).
            StorageError: When the update fails after botocore's retries.
        """
        self._check_open()
        from botocore.exceptions import ClientError

        context = f"update of lead {lead.lead_id!r}"
        names = {
            "#id": LEAD_ID,
            "#data": NORMALIZED_DATA,
            "#at": NORMALIZED_AT,
            "#updated": UPDATED_AT,
            "#meta": NORMALIZATION_META,
        }
        attributes = update.attributes()
        values: dict[str, Any] = {
            ":data": self._codec.attribute_to_wire(
                attributes[NORMALIZED_DATA], NORMALIZED_DATA, context
            ),
            ":at": self._codec.attribute_to_wire(attributes[NORMALIZED_AT], NORMALIZED_AT, context),
            ":updated": self._codec.attribute_to_wire(attributes[UPDATED_AT], UPDATED_AT, context),
            ":meta": self._codec.attribute_to_wire(
                attributes[NORMALIZATION_META], NORMALIZATION_META, context
            ),
        }
        seen = lead.seen_updated_at
        if seen is None:
            condition = (
                "attribute_exists(#id) AND "
                "(attribute_not_exists(#updated) OR attribute_type(#updated, :null))"
            )
            values[":null"] = {"S": "NULL"}
        else:
            condition = "attribute_exists(#id) AND #updated = :seen"
            values[":seen"] = self._codec.attribute_to_wire(seen, UPDATED_AT, context)
        try:
            self._client.update_item(
                TableName=self._table,
                Key={LEAD_ID: {"S": lead.lead_id}},
                UpdateExpression="SET #data = :data, #at = :at, #updated = :updated, #meta = :meta",
                ConditionExpression=condition,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as exc:
            if _error_code(exc) == "ConditionalCheckFailedException":
                status: SaveStatus = "conflict" if _error_item(exc) else "missing"
                logger.debug("lead %s not saved in %s: %s", lead.lead_id, self._table, status)
                return status
            self._raise_storage_error("UpdateItem", exc, lead_id=lead.lead_id)
        except Exception as exc:
            self._raise_if_botocore("UpdateItem", exc, lead_id=lead.lead_id)
            raise
        return "saved"

    def rollback(self, prompt_version: str) -> int:
        """Remove what a prompt version wrote from every lead it normalized; return how many.

        A Scan for ``normalizationMeta.promptVersion = prompt_version`` (keys only), then one
        conditional UpdateItem per lead that removes ``normalizedData``,
        ``normalizationMeta`` and ``normalizedAt``. ``updatedAt`` and the originals stay.
        A lead deleted or normalized again meanwhile is left alone and not counted.

        Raises:
            StorageError: When a Scan or an update fails after botocore's retries.
        """
        self._check_open()
        from botocore.exceptions import ClientError

        names = {"#meta": NORMALIZATION_META, "#version": "promptVersion"}
        values = {":version": {"S": prompt_version}}
        params: dict[str, Any] = {
            "TableName": self._table,
            "ProjectionExpression": "#id",
            "FilterExpression": "#meta.#version = :version",
            "ExpressionAttributeNames": {**names, "#id": LEAD_ID},
            "ExpressionAttributeValues": values,
        }
        count = 0
        for page in self._scan_pages(params):
            for raw in page:
                lead_id = raw[LEAD_ID]["S"]
                try:
                    self._client.update_item(
                        TableName=self._table,
                        Key={LEAD_ID: {"S": lead_id}},
                        UpdateExpression="REMOVE #data, #meta, #at",
                        ConditionExpression="attribute_exists(#id) AND #meta.#version = :version",
                        ExpressionAttributeNames={
                            **names,
                            "#id": LEAD_ID,
                            "#data": NORMALIZED_DATA,
                            "#at": NORMALIZED_AT,
                        },
                        ExpressionAttributeValues=values,
                    )
                except ClientError as exc:
                    if _error_code(exc) == "ConditionalCheckFailedException":
                        continue
                    self._raise_storage_error("UpdateItem", exc, lead_id=lead_id)
                except Exception as exc:
                    self._raise_if_botocore("UpdateItem", exc, lead_id=lead_id)
                    raise
                count += 1
        logger.info("rolled back %d leads of %s", count, self._table)
        return count

    def put(self, items: Iterable[Mapping[str, Any]]) -> int:
        """Create or replace whole items (the import command); return how many were given.

        Every item is checked and converted before the first write, so a bad item writes
        nothing. Then BatchWriteItem, 25 items per request; items DynamoDB leaves
        unprocessed are sent again with exponential backoff, a bounded number of times.
        When one id appears twice, the later item wins.

        Raises:
            ConfigurationError: An item is not a mapping, has no non-empty string
                ``leadId``, or holds a value DynamoDB cannot store (the message names the
                item's position and the attribute, never a value).
            StorageError: When a request fails after botocore's retries, or items are still
                unprocessed after the last attempt.
        """
        self._check_open()
        prepared: list[tuple[str, dict[str, Any]]] = []
        for position, item in enumerate(items):
            if not isinstance(item, Mapping):
                raise ConfigurationError(f"item {position} is not a mapping")
            lead_id = item.get(LEAD_ID)
            if not isinstance(lead_id, str) or not lead_id:
                raise ConfigurationError(f"item {position} has no non-empty string {LEAD_ID!r}")
            prepared.append((lead_id, self._codec.item_to_wire(item, f"item {position}")))
        batch: dict[str, dict[str, Any]] = {}
        for lead_id, wire in prepared:
            if lead_id not in batch and len(batch) == _BATCH_SIZE:
                self._write_batch(list(batch.values()))
                batch = {}
            batch[lead_id] = {"PutRequest": {"Item": wire}}
        if batch:
            self._write_batch(list(batch.values()))
        logger.info("put %d items into %s", len(prepared), self._table)
        return len(prepared)

    def _write_batch(self, requests: list[dict[str, Any]]) -> None:
        pending = requests
        for attempt in range(_BATCH_ATTEMPTS):
            response = self._call(
                "BatchWriteItem", self._client.batch_write_item, RequestItems={self._table: pending}
            )
            pending = cast(
                "list[dict[str, Any]]", response.get("UnprocessedItems", {}).get(self._table, [])
            )
            if not pending:
                return
            logger.debug(
                "%d items unprocessed by %s, attempt %d", len(pending), self._table, attempt + 1
            )
            if attempt + 1 < _BATCH_ATTEMPTS:
                cap = min(_BATCH_BACKOFF_CAP_S, _BATCH_BACKOFF_BASE_S * 2**attempt)
                self._sleep(random.uniform(cap / 2, cap))
        raise StorageError(
            f"DynamoDB BatchWriteItem on table {self._table!r}: {len(pending)} items still "
            f"unprocessed after {_BATCH_ATTEMPTS} attempts"
        )

    def get(self, lead_id: str) -> dict[str, Any] | None:
        """Return one item (a strongly consistent read), or `None`.

        Raises:
            StorageError: When the read fails after botocore's retries.
        """
        self._check_open()
        if not lead_id:
            return None  # DynamoDB refuses an empty key; no item can have one
        response = self._call(
            "GetItem",
            self._client.get_item,
            lead_id=lead_id,
            TableName=self._table,
            Key={LEAD_ID: {"S": lead_id}},
            ConsistentRead=True,
        )
        raw = response.get("Item")
        return None if raw is None else self._codec.item_from_wire(raw)

    def scan(self) -> Iterator[dict[str, Any]]:
        """Stream every item (the export command), in `segments` parallel segments.

        Raises:
            StorageError: When a Scan fails after botocore's retries.
        """
        self._check_open()
        return self._scan_items()

    def _scan_items(self) -> Iterator[dict[str, Any]]:
        pages = self._scan_pages({"TableName": self._table})
        try:
            for page in pages:
                for raw in page:
                    yield self._codec.item_from_wire(raw)
        finally:
            pages.close()

    def load_config(self) -> Mapping[str, Any] | None:
        """Return the seed's config item, or `None` when there is no config table or item.

        A GetItem of ``configId = "normalization-settings"`` on the config table, kept for
        `config_ttl_s` seconds (a missing table or item too). A missing table is not an
        error: the seed falls back to its defaults then. Each call returns a fresh copy.

        Raises:
            StorageError: When the read fails for another reason (access denied, throttled
                after botocore's retries).
        """
        self._check_open()
        if self._config_table is None:
            return None
        with self._config_lock:
            now = self._clock()
            if self._config_cached is not None and now < self._config_cached[0]:
                config = self._config_cached[1]
            else:
                config = self._read_config(self._config_table)
                self._config_cached = (now + self._config_ttl_s, config)
        return copy.deepcopy(config)

    def _read_config(self, table: str) -> dict[str, Any] | None:
        from botocore.exceptions import ClientError

        try:
            response = self._client.get_item(TableName=table, Key={_CONFIG_KEY: {"S": CONFIG_ID}})
        except ClientError as exc:
            if _error_code(exc) == "ResourceNotFoundException":
                logger.info("config table %s not found; using defaults", table)
                return None
            _raise_storage_error("GetItem", table, exc)
        except Exception as exc:
            _raise_if_botocore("GetItem", table, exc)
            raise
        raw = response.get("Item")
        if raw is None:
            logger.info("no %s item in %s; using defaults", CONFIG_ID, table)
            return None
        return self._codec.item_from_wire(raw)

    def close(self) -> None:
        """Close the client if the store built it; the store is unusable afterwards."""
        if self._closed:
            return
        self._closed = True
        if self._owns_client:
            self._client.close()

    # -- internals -------------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise StorageError(f"the DynamoDB store of table {self._table!r} is closed")

    def _call(
        self,
        operation: str,
        call: Callable[..., _T],
        /,
        *,
        lead_id: str | None = None,
        **kwargs: Any,
    ) -> _T:
        from botocore.exceptions import ClientError

        try:
            return call(**kwargs)
        except ClientError as exc:
            self._raise_storage_error(operation, exc, lead_id=lead_id)
        except Exception as exc:
            self._raise_if_botocore(operation, exc, lead_id=lead_id)
            raise

    def _raise_storage_error(
        self, operation: str, exc: ClientError, *, lead_id: str | None = None
    ) -> NoReturn:
        _raise_storage_error(operation, self._table, exc, lead_id=lead_id)

    def _raise_if_botocore(
        self, operation: str, exc: Exception, *, lead_id: str | None = None
    ) -> None:
        _raise_if_botocore(operation, self._table, exc, lead_id=lead_id)

    def _scan_pages(self, params: Mapping[str, Any]) -> _Pages:
        """Yield the raw items of each Scan page, from one or `segments` parallel segments."""
        if self._page_size is not None:
            params = {**params, "Limit": self._page_size}
        if self._segments == 1:
            return self._scan_segment(params)
        return self._scan_parallel(params, self._segments)

    def _scan_segment(self, params: Mapping[str, Any]) -> _Pages:
        kwargs = dict(params)
        while True:
            response = self._call("Scan", self._client.scan, **kwargs)
            yield list(response.get("Items", []))
            last_key = response.get("LastEvaluatedKey")
            if not last_key:
                return
            kwargs["ExclusiveStartKey"] = last_key

    def _scan_parallel(self, params: Mapping[str, Any], segments: int) -> _Pages:
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
                for page in self._scan_segment(
                    {**params, "Segment": segment, "TotalSegments": segments}
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
                name=f"llm-normalize-scan-{self._table}-{segment}",
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


class DynamoDBValueCache:
    """A `llm_normalize.cache.ValueCache` in a DynamoDB table, shared by runs and processes.

    An entry is one item: ``cacheKey`` (the table's key: a SHA-256 of the whole
    `CacheKey`, so raw values are not stored in clear as keys), ``value`` (the answer),
    ``field`` and ``promptVersion`` (to inspect or purge entries), and ``expiresAt``
    (epoch seconds, the table's TTL attribute). DynamoDB deletes expired items lazily,
    up to a few days late, so `get` also treats them as misses.

    A cache must not stop a run: `get` and `set` log the error code and miss (or skip the
    write) when DynamoDB throttles, fails or refuses a value. They raise only when the cache
    is set up wrongly (no such table, no permission, no credentials).

    Thread-safe: boto3 clients are, and the counters are locked.

    Args:
        table_name: The cache table (key ``cacheKey``, a string; make it with
            `create_cache_table`).
        client: A ready ``dynamodb`` client, used as is. When `None`, one is built like
            `DynamoDBLeadStore`'s, with botocore's standard retry mode.
        ttl_days: How long an entry lives after it was written.
        region_name: The AWS region of the built client. Not allowed with `client`.
        endpoint_url: A custom endpoint of the built client. Not allowed with `client`.
        consistent_read: Whether `get` uses strongly consistent reads (twice the cost).
        clock: The wall clock, in epoch seconds (tests replace it).

    Raises:
        ConfigurationError: For an empty table name, a non-positive `ttl_days`, a `client`
            together with `region_name` / `endpoint_url`, or no AWS region.

    Examples:
        >>> cache = DynamoDBValueCache("llm-normalize-cache")  # doctest: +SKIP
        >>> normalizer = Normalizer(backend=backend, cache=cache)  # doctest: +SKIP
    """

    def __init__(
        self,
        table_name: str,
        *,
        client: DynamoDBClient | None = None,
        ttl_days: float = 30,
        region_name: str | None = None,
        endpoint_url: str | None = None,
        consistent_read: bool = False,
        clock: Callable[[], float] = time.time,
    ) -> None:
        _check_table_name(table_name, "table_name")
        if isinstance(ttl_days, bool) or not (isinstance(ttl_days, int | float) and ttl_days > 0):
            raise ConfigurationError("ttl_days must be a positive number of days")
        if client is None:
            client = _build_client(region_name=region_name, endpoint_url=endpoint_url)
        elif region_name is not None or endpoint_url is not None:
            raise ConfigurationError(
                "pass either client or region_name/endpoint_url, not both: "
                "an injected client keeps its own region and endpoint"
            )
        self._client = client
        self._table = table_name
        self._ttl_s = float(ttl_days) * _SECONDS_PER_DAY
        self._consistent_read = consistent_read
        self._clock = clock
        self._lock = threading.Lock()
        self._hits = 0
        self._misses = 0
        self._errors = 0

    def __repr__(self) -> str:
        return (
            f"DynamoDBValueCache(table_name={self._table!r}, hits={self._hits}, "
            f"misses={self._misses}, errors={self._errors})"
        )

    @property
    def table_name(self) -> str:
        """The cache table."""
        return self._table

    @property
    def hits(self) -> int:
        """How many `get` calls found a live value."""
        return self._hits

    @property
    def misses(self) -> int:
        """How many `get` calls found nothing (errors and expired entries included)."""
        return self._misses

    @property
    def errors(self) -> int:
        """How many `get` and `set` calls failed and were treated as a miss or a skip."""
        return self._errors

    @staticmethod
    def hash_key(key: CacheKey) -> str:
        """The table key of a `CacheKey`: the SHA-256 of its JSON form, in hex.

        Examples:
            >>> len(DynamoDBValueCache.hash_key(("ciudad", "bogota", "v1")))
            64
        """
        encoded = json.dumps(list(key), ensure_ascii=True, separators=(",", ":"))
        return hashlib.sha256(encoded.encode("ascii")).hexdigest()

    def get(self, key: CacheKey) -> str | None:
        """Return the live value stored under `key`, or None (also on a transient error).

        Raises:
            StorageError: The cache is set up wrongly (no table, no permission).
        """
        try:
            response = self._client.get_item(
                TableName=self._table,
                Key={_CACHE_KEY: {"S": self.hash_key(key)}},
                ProjectionExpression="#value, #expires",
                ExpressionAttributeNames={"#value": _CACHE_VALUE, "#expires": _CACHE_EXPIRES},
                ConsistentRead=self._consistent_read,
            )
        except Exception as exc:
            self._tolerate("GetItem", exc)
            with self._lock:
                self._misses += 1
            return None
        raw = response.get("Item") or {}
        value = raw.get(_CACHE_VALUE, {}).get("S")
        expires = raw.get(_CACHE_EXPIRES, {}).get("N")
        live = value is not None and (expires is None or float(expires) > self._clock())
        with self._lock:
            if live:
                self._hits += 1
            else:
                self._misses += 1
        return value if live else None

    def set(self, key: CacheKey, value: str) -> None:
        """Store `value` under `key` for `ttl_days`; on a transient error, log and skip.

        Raises:
            StorageError: The cache is set up wrongly (no table, no permission).
        """
        field, _raw, prompt_version = key
        expires_at = int(self._clock() + self._ttl_s)
        try:
            self._client.put_item(
                TableName=self._table,
                Item={
                    _CACHE_KEY: {"S": self.hash_key(key)},
                    _CACHE_VALUE: {"S": value},
                    "field": {"S": field},
                    "promptVersion": {"S": prompt_version},
                    _CACHE_EXPIRES: {"N": str(expires_at)},
                },
            )
        except Exception as exc:
            self._tolerate("PutItem", exc)

    def _tolerate(self, operation: str, exc: Exception) -> None:
        """Log a transient failure and return; re-raise a setup problem as StorageError."""
        from botocore.exceptions import BotoCoreError, ClientError

        if isinstance(exc, ClientError):
            kind = _error_code(exc)
            if kind in _CACHE_FATAL_CODES:
                _raise_storage_error(operation, self._table, exc)
        elif isinstance(exc, BotoCoreError):
            kind = type(exc).__name__
            if kind in _CACHE_FATAL_BOTOCORE:
                _raise_if_botocore(operation, self._table, exc)
        else:
            raise exc
        with self._lock:
            self._errors += 1
        logger.warning(
            "value cache %s on %s failed (%s); treated as a miss", operation, self._table, kind
        )


def create_leads_table(client: DynamoDBClient, name: str, *, stream: bool = False) -> None:
    """Create a leads table like the seed's (key ``leadId``, on-demand), and wait until ACTIVE.

    Args:
        client: The ``dynamodb`` client to use.
        name: The table name.
        stream: Also enable a stream of new and old images (for a stream-triggered Lambda).

    Raises:
        StorageError: The table exists already, or the service refused the request.

    Examples:
        >>> create_leads_table(client, "awsrestart-leads")  # doctest: +SKIP
    """
    extra: dict[str, Any] = {}
    if stream:
        extra["StreamSpecification"] = {
            "StreamEnabled": True,
            "StreamViewType": "NEW_AND_OLD_IMAGES",
        }
    _create_table(client, name, LEAD_ID, **extra)


def create_config_table(client: DynamoDBClient, name: str) -> None:
    """Create a config table like the seed's (key ``configId``, on-demand), and wait until ACTIVE.

    Put the seed's item in it (``configId: "normalization-settings"``) to configure runs.

    Raises:
        StorageError: The table exists already, or the service refused the request.

    Examples:
        >>> create_config_table(client, "awsrestart-normalization-config")  # doctest: +SKIP
    """
    _create_table(client, name, _CONFIG_KEY)


def create_cache_table(client: DynamoDBClient, name: str) -> None:
    """Create a `DynamoDBValueCache` table (key ``cacheKey``, TTL on ``expiresAt``).

    Waits until the table is ACTIVE, then turns on DynamoDB's time to live.

    Raises:
        StorageError: The table exists already, or the service refused the request.

    Examples:
        >>> create_cache_table(client, "llm-normalize-cache")  # doctest: +SKIP
    """
    _create_table(client, name, _CACHE_KEY)
    from botocore.exceptions import ClientError

    try:
        client.update_time_to_live(
            TableName=name,
            TimeToLiveSpecification={"Enabled": True, "AttributeName": _CACHE_EXPIRES},
        )
    except ClientError as exc:
        _raise_storage_error("UpdateTimeToLive", name, exc)
    except Exception as exc:
        _raise_if_botocore("UpdateTimeToLive", name, exc)
        raise


# -- helpers ---------------------------------------------------------------------------------


def _check_table_name(name: object, what: str) -> None:
    if not isinstance(name, str) or not name:
        raise ConfigurationError(f"{what} must be a non-empty string")


def _build_client(
    *, region_name: str | None, endpoint_url: str | None, max_pool_connections: int = 10
) -> DynamoDBClient:
    import boto3.session  # boto3 costs ~200 ms: only when used
    from botocore.config import Config
    from botocore.exceptions import NoRegionError

    config = Config(
        retries={"mode": "standard", "max_attempts": 5},
        max_pool_connections=max_pool_connections,
    )
    try:
        return boto3.session.Session().client(
            "dynamodb", region_name=region_name, endpoint_url=endpoint_url, config=config
        )
    except NoRegionError as exc:
        raise ConfigurationError(
            "no AWS region for DynamoDB: pass region_name or set AWS_REGION"
        ) from exc


def _create_table(client: DynamoDBClient, name: str, key: str, **extra: Any) -> None:
    from botocore.exceptions import ClientError

    try:
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
    except ClientError as exc:
        _raise_storage_error("CreateTable", name, exc)
    except Exception as exc:
        _raise_if_botocore("CreateTable", name, exc)
        raise


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code") or "Unknown")


def _error_item(exc: ClientError) -> bool:
    """Whether a failed condition's answer carries the old item (the lead exists)."""
    response: Mapping[str, Any] = exc.response
    return bool(response.get("Item"))


def _raise_storage_error(
    operation: str, table: str, exc: ClientError, *, lead_id: str | None = None
) -> NoReturn:
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    lead = f" for lead {lead_id!r}" if lead_id is not None else ""
    http = f", HTTP {status}" if status else ""
    raise StorageError(
        f"DynamoDB {operation} on table {table!r}{lead} failed: {_error_code(exc)}{http}"
    ) from exc


def _raise_if_botocore(
    operation: str, table: str, exc: Exception, *, lead_id: str | None = None
) -> None:
    """Translate botocore's own errors (no connection, timeouts, bad parameters)."""
    from botocore.exceptions import BotoCoreError

    if isinstance(exc, BotoCoreError):
        lead = f" for lead {lead_id!r}" if lead_id is not None else ""
        # Only the class name: some messages (parameter validation) quote the values sent.
        raise StorageError(
            f"DynamoDB {operation} on table {table!r}{lead} failed: {type(exc).__name__}"
        ) from exc


class _Unstorable(Exception):
    """A value DynamoDB cannot hold; `reason` names the problem, never the value."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _Codec:
    """Plain Python values to DynamoDB's typed wire format and back."""

    def __init__(self) -> None:
        from boto3.dynamodb.types import Binary, TypeDeserializer, TypeSerializer

        self._serializer: TypeSerializer = TypeSerializer()
        self._deserializer: TypeDeserializer = TypeDeserializer()
        self._binary: type[Any] = Binary

    def attribute_to_wire(self, value: Any, name: str, context: str) -> dict[str, Any]:
        """Serialize one attribute; `context` and `name` make the error message."""
        try:
            return self.to_wire(value)
        except _Unstorable as exc:
            raise ConfigurationError(
                f"{context}: attribute {name!r} cannot be stored in DynamoDB: {exc.reason}"
            ) from None

    def item_to_wire(self, item: Mapping[str, Any], context: str) -> dict[str, Any]:
        """Serialize a whole item."""
        wire: dict[str, Any] = {}
        for name, value in item.items():
            if not isinstance(name, str):
                raise ConfigurationError(f"{context}: an attribute name is not a string")
            wire[name] = self.attribute_to_wire(value, name, context)
        return wire

    def to_wire(self, value: Any) -> dict[str, Any]:
        """Serialize one value, floats as ``Decimal(str(x))``."""
        try:
            return cast("dict[str, Any]", self._serializer.serialize(_storable(value)))
        except TypeError as exc:
            raise _Unstorable("a value of an unsupported type") from exc
        except ArithmeticError as exc:
            raise _Unstorable("a number beyond DynamoDB's range or 38 digits") from exc

    def item_from_wire(self, raw: Mapping[str, Any]) -> dict[str, Any]:
        """Deserialize a whole item into plain values."""
        return {
            name: self.plain(self._deserializer.deserialize(value)) for name, value in raw.items()
        }

    def plain(self, value: Any) -> Any:
        """Numbers to int/float, sets to sorted lists, Binary to bytes, recursively."""
        if isinstance(value, Decimal):
            return _number(value)
        if isinstance(value, dict):
            return {key: self.plain(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self.plain(item) for item in value]
        if isinstance(value, set | frozenset):
            return sorted(self.plain(item) for item in value)
        if isinstance(value, self._binary):
            return bytes(value.value)
        return value


def _number(value: Decimal) -> int | float:
    if value.is_finite() and value == value.to_integral_value():
        return int(value)
    return float(value)


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
