"""`DynamoDBValueCache`: a `ValueCache` in a DynamoDB table, shared by runs and processes.

Model answers survive across runs and Lambda invocations: each entry lives `ttl_days` in
a table with DynamoDB's time to live on ``expiresAt``. `create_cache_table` makes such a
table for local development and tests.

boto3 is imported when a cache is created, never when this module is imported; the
package `llm_normalize.caches` does not import this module at all.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, Final

from llm_normalize._dynamodb import (
    check_table_name,
    client_or_build,
    create_table,
    error_kind,
    is_setup_error,
    scan_pages,
    translate_errors,
)
from llm_normalize.caches.base import CacheKey, check_prompt_version
from llm_normalize.exceptions import ConfigurationError, StorageError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

__all__ = ["DynamoDBValueCache", "create_cache_table"]

logger = logging.getLogger(__name__)

_CACHE_KEY: Final = "cacheKey"
_CACHE_VALUE: Final = "value"
_CACHE_EXPIRES: Final = "expiresAt"
_PROMPT_VERSION: Final = "promptVersion"
_SECONDS_PER_DAY: Final = 86_400
_BATCH_WRITE_MAX: Final = 25  # DynamoDB's limit of requests per BatchWriteItem
_DELETE_ATTEMPTS: Final = 8


class DynamoDBValueCache:
    """A `llm_normalize.caches.ValueCache` in a DynamoDB table, shared by runs and processes.

    An entry is one item: ``cacheKey`` (the table's key: a SHA-256 of the whole
    `CacheKey`, so raw values are not stored in clear as keys), ``value`` (the answer),
    ``field`` and ``promptVersion`` (to inspect or purge entries), and ``expiresAt``
    (epoch seconds, the table's TTL attribute). DynamoDB deletes expired items lazily,
    up to a few days late, so `get` also treats them as misses.

    A cache must not stop a run: `get` and `set` log the error code and miss (or skip the
    write) when DynamoDB throttles, fails or refuses a value. They raise only when the cache
    is set up wrongly (no such table, no permission, no credentials). `purge` (a rollback's
    clean-up) raises on any failure, so a rollback never passes with the bad answers kept.

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
        check_table_name(table_name, "table_name")
        if isinstance(ttl_days, bool) or not (isinstance(ttl_days, int | float) and ttl_days > 0):
            raise ConfigurationError("ttl_days must be a positive number of days")
        self._client = client_or_build(client, region_name=region_name, endpoint_url=endpoint_url)
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
            with translate_errors("GetItem", self._table):
                response = self._client.get_item(
                    TableName=self._table,
                    Key={_CACHE_KEY: {"S": self.hash_key(key)}},
                    ProjectionExpression="#value, #expires",
                    ExpressionAttributeNames={"#value": _CACHE_VALUE, "#expires": _CACHE_EXPIRES},
                    ConsistentRead=self._consistent_read,
                )
        except StorageError as exc:
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
            with translate_errors("PutItem", self._table):
                self._client.put_item(
                    TableName=self._table,
                    Item={
                        _CACHE_KEY: {"S": self.hash_key(key)},
                        _CACHE_VALUE: {"S": value},
                        "field": {"S": field},
                        _PROMPT_VERSION: {"S": prompt_version},
                        _CACHE_EXPIRES: {"N": str(expires_at)},
                    },
                )
        except StorageError as exc:
            self._tolerate("PutItem", exc)

    def purge(
        self,
        prompt_version: str,
        *,
        page_size: int = 1000,
        sleep: Callable[[float], None] = time.sleep,
    ) -> int:
        """Delete every entry of `prompt_version` (any model); return how many were deleted.

        A Scan filtered on ``promptVersion`` (equal to `prompt_version`, or beginning with
        ``"<prompt_version>@"``), page by page, with strongly consistent reads, and a
        BatchWriteItem of deletes for each 25 entries found; deletes DynamoDB leaves
        unprocessed are sent again, with short waits, up to 8 times. A Scan reads the whole
        table (its read cost is the table's size), so purge only on a rollback. Needs
        ``dynamodb:Scan`` and ``dynamodb:BatchWriteItem`` on the table.

        Args:
            prompt_version: The prompt version to forget (a run report's ``prompt_version``),
                or a full ``"<prompt_version>@<model id>"`` for one model's entries.
            page_size: Items the Scan reads per page.
            sleep: Waits between attempts (tests pass a no-op).

        Raises:
            ConfigurationError: `prompt_version` is empty or `page_size` not positive.
            StorageError: A request failed, or deletes were still unprocessed after the
                retries (the message says how many entries were deleted: run it again).

        Examples:
            >>> DynamoDBValueCache("llm-normalize-cache").purge(report.prompt_version)  # doctest: +SKIP
            412
        """
        version = check_prompt_version(prompt_version)
        if isinstance(page_size, bool) or not isinstance(page_size, int) or page_size < 1:
            raise ConfigurationError("page_size must be a positive whole number")
        found = deleted = 0
        for batch in self._version_key_batches(version, page_size):
            found += len(batch)
            left = self._delete_batch(batch, sleep)
            deleted += len(batch) - left
            if left:
                raise StorageError(
                    f"value cache purge of prompt version {version!r} on table "
                    f"{self._table!r} removed {deleted} of {found} entries found so far: "
                    f"DynamoDB left {left} deletes unprocessed after {_DELETE_ATTEMPTS} "
                    "attempts (throttled); run the purge again"
                )
        logger.info(
            "value cache purge of prompt version %s on %s: %d entries deleted",
            version,
            self._table,
            deleted,
        )
        return deleted

    def _version_key_batches(self, version: str, page_size: int) -> Iterator[list[dict[str, Any]]]:
        """Scan for the keys of `version`'s entries; yield them 25 at a time, page by page.

        Lazy: each page is read only once the batches of the page before were handled.
        """
        params = {
            "TableName": self._table,
            "ProjectionExpression": "#key",
            "FilterExpression": "#version = :version OR begins_with(#version, :prefix)",
            "ExpressionAttributeNames": {"#key": _CACHE_KEY, "#version": _PROMPT_VERSION},
            "ExpressionAttributeValues": {
                ":version": {"S": version},
                ":prefix": {"S": f"{version}@"},
            },
            "ConsistentRead": True,
            "Limit": page_size,
        }
        for page in scan_pages(self._client, params):
            keys = [{_CACHE_KEY: item[_CACHE_KEY]} for item in page if _CACHE_KEY in item]
            for start in range(0, len(keys), _BATCH_WRITE_MAX):
                yield keys[start : start + _BATCH_WRITE_MAX]

    def _delete_batch(self, keys: list[dict[str, Any]], sleep: Callable[[float], None]) -> int:
        """Delete `keys` in one BatchWriteItem, again for what is unprocessed; return what is left."""
        pending: list[Any] = [{"DeleteRequest": {"Key": key}} for key in keys]
        for attempt in range(_DELETE_ATTEMPTS):
            if attempt:
                sleep(min(0.05 * 2**attempt, 2.0))
            with translate_errors("BatchWriteItem", self._table):
                response = self._client.batch_write_item(RequestItems={self._table: pending})
            pending = list(response.get("UnprocessedItems", {}).get(self._table, []))
            if not pending:
                return 0
        return len(pending)

    def _tolerate(self, operation: str, exc: StorageError) -> None:
        """Log a transient failure and return; re-raise a setup problem (no table, no permission)."""
        if is_setup_error(exc.__cause__):
            raise exc
        with self._lock:
            self._errors += 1
        logger.warning(
            "value cache %s on %s failed (%s); treated as a miss",
            operation,
            self._table,
            error_kind(exc.__cause__),
        )


def create_cache_table(client: DynamoDBClient, name: str) -> None:
    """Create a `DynamoDBValueCache` table (key ``cacheKey``, TTL on ``expiresAt``).

    Waits until the table is ACTIVE, then turns on DynamoDB's time to live.

    Raises:
        StorageError: The table exists already, or the service refused the request.

    Examples:
        >>> create_cache_table(client, "llm-normalize-cache")  # doctest: +SKIP
    """
    create_table(client, name, _CACHE_KEY)
    with translate_errors("UpdateTimeToLive", name):
        client.update_time_to_live(
            TableName=name,
            TimeToLiveSpecification={"Enabled": True, "AttributeName": _CACHE_EXPIRES},
        )
