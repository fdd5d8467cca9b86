"""`DynamoDBValueCache`: a `ValueCache` in a DynamoDB table, shared by runs and processes.

Model answers survive across runs and Lambda invocations: each entry lives `ttl_days` in
a table with DynamoDB's time to live on ``expiresAt``. `create_cache_table` makes such a
table for local development and tests. `get_many` and `set_many` look up and store many
values per request (BatchGetItem, 100 keys; BatchWriteItem, 25 items); put a
`llm_normalize.caches.TieredCache` in front to keep what a process already read.

boto3 is imported when a cache is created, never when this module is imported; the
package `llm_normalize.caches` does not import this module at all.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
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
from llm_normalize.caches.base import CacheKey, check_prompt_version, hash_cache_key
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
_BATCH_GET_MAX: Final = 100  # DynamoDB's limit of keys per BatchGetItem
_DELETE_ATTEMPTS: Final = 8
_BATCH_ATTEMPTS: Final = 5  # a lookup or a write is worth less than a run's time


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
        sleep: Waits between the attempts of `get_many` and `set_many` at what DynamoDB
            left unprocessed (tests pass a no-op).

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
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        check_table_name(table_name, "table_name")
        if isinstance(ttl_days, bool) or not (isinstance(ttl_days, int | float) and ttl_days > 0):
            raise ConfigurationError("ttl_days must be a positive number of days")
        self._owns_client = client is None
        self._client = client_or_build(client, region_name=region_name, endpoint_url=endpoint_url)
        self._table = table_name
        self._ttl_s = float(ttl_days) * _SECONDS_PER_DAY
        self._consistent_read = consistent_read
        self._clock = clock
        self._sleep = sleep
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
        return hash_cache_key(key)

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
        value = self._live_value(response.get("Item") or {})
        with self._lock:
            if value is not None:
                self._hits += 1
            else:
                self._misses += 1
        return value

    def set(self, key: CacheKey, value: str) -> None:
        """Store `value` under `key` for `ttl_days`; on a transient error, log and skip.

        Raises:
            StorageError: The cache is set up wrongly (no table, no permission).
        """
        item = self._item(key, value, int(self._clock() + self._ttl_s))
        try:
            with translate_errors("PutItem", self._table):
                self._client.put_item(TableName=self._table, Item=item)
        except StorageError as exc:
            self._tolerate("PutItem", exc)

    def get_many(self, keys: Iterable[CacheKey]) -> dict[CacheKey, str]:
        """Return the live values of `keys` (misses left out): one BatchGetItem per 100 keys.

        Keys DynamoDB leaves unprocessed (throttled, or past its 16 MB answer) are asked
        again, with short waits, up to 5 times in all. Those still unprocessed, and the
        keys of a request that failed (throttled, a 5xx), are misses, logged by error code
        and counted in `errors`. A key given twice is asked once. Needs
        ``dynamodb:BatchGetItem`` on the table.

        Raises:
            StorageError: The cache is set up wrongly (no table, no permission).

        Examples:
            >>> cache.get_many([("ciudad", "bogta", "v1@m"), ("ciudad", "x", "v1@m")])  # doctest: +SKIP
            {('ciudad', 'bogta', 'v1@m'): 'Bogotá D.C.'}
        """
        wanted = {self.hash_key(key): key for key in keys}
        hashes = list(wanted)
        found: dict[CacheKey, str] = {}
        for start in range(0, len(hashes), _BATCH_GET_MAX):
            for item in self._batch_get(hashes[start : start + _BATCH_GET_MAX]):
                hashed = item.get(_CACHE_KEY, {}).get("S")
                value = self._live_value(item)
                if hashed in wanted and value is not None:
                    found[wanted[hashed]] = value
        with self._lock:
            self._hits += len(found)
            self._misses += len(wanted) - len(found)
        return found

    def set_many(self, items: Mapping[CacheKey, str]) -> None:
        """Store `items` for `ttl_days`: one BatchWriteItem per 25 entries.

        Writes DynamoDB leaves unprocessed are sent again, with short waits, up to 5 times
        in all; those still unprocessed, and the entries of a request that failed
        (throttled, a 5xx, a value refused), are skipped, logged by error code and counted
        in `errors`. Needs ``dynamodb:BatchWriteItem`` on the table.

        Raises:
            StorageError: The cache is set up wrongly (no table, no permission).
        """
        expires_at = int(self._clock() + self._ttl_s)
        requests = [
            {"PutRequest": {"Item": self._item(key, value, expires_at)}}
            for key, value in items.items()
        ]
        for start in range(0, len(requests), _BATCH_WRITE_MAX):
            try:
                left = self._send_writes(
                    requests[start : start + _BATCH_WRITE_MAX], self._sleep, _BATCH_ATTEMPTS
                )
            except StorageError as exc:
                self._tolerate("BatchWriteItem", exc)
                continue
            if left:
                self._give_up("BatchWriteItem", left)

    def close(self) -> None:
        """Close the client this cache built; an injected client is left to its owner."""
        if self._owns_client:
            self._client.close()

    def _item(self, key: CacheKey, value: str, expires_at: int) -> dict[str, Any]:
        """The table item of one entry, in DynamoDB's typed form."""
        field, _raw, prompt_version = key
        return {
            _CACHE_KEY: {"S": self.hash_key(key)},
            _CACHE_VALUE: {"S": value},
            "field": {"S": field},
            _PROMPT_VERSION: {"S": prompt_version},
            _CACHE_EXPIRES: {"N": str(expires_at)},
        }

    def _live_value(self, item: Mapping[str, Any]) -> str | None:
        """The value of a raw item, or None when it has none or has expired."""
        value = item.get(_CACHE_VALUE, {}).get("S")
        expires = item.get(_CACHE_EXPIRES, {}).get("N")
        live = value is not None and (expires is None or float(expires) > self._clock())
        return value if live else None

    def _batch_get(self, hashes: list[str]) -> list[dict[str, Any]]:
        """The items of `hashes` (at most 100) that exist, asking again for unprocessed keys."""
        request: dict[str, Any] = {
            self._table: {
                "Keys": [{_CACHE_KEY: {"S": hashed}} for hashed in hashes],
                "ProjectionExpression": "#key, #value, #expires",
                "ExpressionAttributeNames": {
                    "#key": _CACHE_KEY,
                    "#value": _CACHE_VALUE,
                    "#expires": _CACHE_EXPIRES,
                },
                "ConsistentRead": self._consistent_read,
            }
        }
        items: list[dict[str, Any]] = []
        for attempt in range(_BATCH_ATTEMPTS):
            if attempt:
                self._sleep(min(0.05 * 2**attempt, 2.0))
            try:
                with translate_errors("BatchGetItem", self._table):
                    response = self._client.batch_get_item(RequestItems=request)
            except StorageError as exc:
                self._tolerate("BatchGetItem", exc)
                return items
            items.extend(response.get("Responses", {}).get(self._table, []))
            request = dict(response.get("UnprocessedKeys") or {})
            if not request.get(self._table, {}).get("Keys"):
                return items
        self._give_up("BatchGetItem", len(request[self._table]["Keys"]))
        return items

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
        deletes = [{"DeleteRequest": {"Key": key}} for key in keys]
        return self._send_writes(deletes, sleep, _DELETE_ATTEMPTS)

    def _send_writes(
        self, requests: list[dict[str, Any]], sleep: Callable[[float], None], attempts: int
    ) -> int:
        """Send `requests` (at most 25) in a BatchWriteItem, again for what is unprocessed.

        Returns:
            How many requests were still unprocessed after `attempts` attempts.

        Raises:
            StorageError: A request failed.
        """
        pending: list[Any] = requests
        for attempt in range(attempts):
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

    def _give_up(self, operation: str, left: int) -> None:
        """Log and count what DynamoDB left unprocessed after the last attempt."""
        with self._lock:
            self._errors += 1
        logger.warning(
            "value cache %s on %s: %d entries still unprocessed after %d attempts (throttled); "
            "skipped",
            operation,
            self._table,
            left,
            _BATCH_ATTEMPTS,
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
