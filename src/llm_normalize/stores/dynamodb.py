"""The seed's leads and config tables in DynamoDB, as a `LeadStore`.

Thin over boto3's low-level client, and a drop-in for the seed's tables: the same key
(``leadId``), attribute names and epoch-millisecond timestamps, and the same config item
(``configId: "normalization-settings"`` in ``awsrestart-normalization-config``).
`DynamoDBLeadStore` selects with a paginated Scan with the seed's filter (optionally in
parallel segments), saves with a conditional UpdateItem that never re-creates a deleted
lead, rolls back with conditional UpdateItems that restore the state before a prompt
version, and imports with BatchWriteItem, retrying unprocessed items and reporting which
items a failed import wrote (`PartialWriteError`). `create_leads_table`
and `create_config_table` (re-exported from `llm_normalize.stores.dynamodb_tables`) make
the tables for local development and tests. `DynamoDBValueCache` and
`create_cache_table` moved to `llm_normalize.caches.dynamodb` (the old import path
still works, with a `DeprecationWarning`).

Numbers: the store hands out `int` when a number is integral and `float` otherwise,
never `decimal.Decimal`, and DynamoDB sets as sorted lists. Floats are written as
``Decimal(str(x))``, which keeps the digits Python prints (``0.1`` is stored as ``0.1``).

Conditions on what was read: a save's ConditionExpression holds, for each watched
attribute, ``(#wN = :wN AND attribute_type(#wN, :tN))`` (DynamoDB's ``=`` compares maps
and lists deeply and numbers by value; the type test keeps ``true`` apart from ``1`` on
servers that do not, such as moto), ``attribute_type(#wN, :tN)`` alone for a null, and
``attribute_not_exists(#wN)`` for an attribute absent when read. The value compared is the
typed value as read (`StoredLead.wire`), so a set read as a list, or a number with more
digits than a float holds, still matches exactly. A `StoredLead` built from plain values
(no `wire`) is encoded again: a list also matches the set of the same elements, but a
number beyond a float's 17 digits cannot be proven unchanged and the save is a conflict
(never a blind write).

Errors: throttling and 5xx answers are retried by botocore's standard retry mode on the
clients built here (``max_attempts: 5``); what still fails becomes a
`llm_normalize.exceptions.StorageError` (``raise ... from exc``) whose message names the
operation, the table, the lead id and the error code, never an attribute value (DynamoDB's
own messages may quote values, so they are not repeated).

boto3 is imported when a store is created, never when this module is imported.
"""

from __future__ import annotations

import copy
import logging
import os
import threading
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, cast

from llm_normalize._dynamodb import (
    Pages,
    check_table_name,
    client_or_build,
    error_code,
    item_from_wire,
    scan_count,
    scan_pages,
    translate_errors,
)
from llm_normalize.config import CONFIG_ID
from llm_normalize.exceptions import ConfigurationError, StorageError, StoreNotFoundError
from llm_normalize.records import LEAD_ID, NORMALIZED_AT
from llm_normalize.stores._dynamodb_jobs import load_job, record_job
from llm_normalize.stores._dynamodb_writes import (
    batches_of,
    names_in,
    partial_write_error,
    prepare_items,
    rollback_expressions,
    save_condition,
    write_batch,
)
from llm_normalize.stores.base import (
    LeadUpdate,
    RollbackChanges,
    SaveStatus,
    StoredLead,
    needs_normalization,
    rollback_changes,
    ttl_cutoff_ms,
)
from llm_normalize.stores.dynamodb_tables import (
    CONFIG_KEY,
    create_config_table,
    create_leads_table,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

__all__ = [
    "CONFIG_ID",
    "DEFAULT_CONFIG_TABLE",
    "DEFAULT_LEADS_TABLE",
    "DynamoDBLeadStore",
    "create_config_table",
    "create_leads_table",
]

logger = logging.getLogger(__name__)

DEFAULT_LEADS_TABLE: Final = "awsrestart-leads"
"""The seed's leads table, used by `DynamoDBLeadStore.from_env` when ``LEADS_TABLE`` is unset."""

DEFAULT_CONFIG_TABLE: Final = "awsrestart-normalization-config"
"""The seed's config table, used by `DynamoDBLeadStore.from_env` when ``CONFIG_TABLE`` is unset."""

# The seed's filter, with one clause more: a normalizedAt that is not a number (written by
# another tool) counts as never normalized, as `needs_normalization` says. The type test
# comes before the comparison so that it short-circuits on servers that cannot compare a
# string with a number (real DynamoDB just says false; moto fails).
_DUE_FILTER: Final = (
    f"attribute_not_exists({NORMALIZED_AT}) OR NOT attribute_type({NORMALIZED_AT}, :number) "
    f"OR {NORMALIZED_AT} < :cutoff"
)

# What a rollback reads of a lead: enough for `rollback_changes` and its condition.
_ROLLBACK_PROJECTION: Final = "#id, #at, #updated, #meta.#version, #prev"
_ROLLBACK_ATTEMPTS: Final = 3

_MOVED_TO_CACHES: Final = frozenset({"DynamoDBValueCache", "create_cache_table"})


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
        region_name: The AWS region of the built client (default: boto3's own resolution:
            ``AWS_DEFAULT_REGION``, then the profile's ``region``; boto3 does not read
            ``AWS_REGION``). Not allowed with `client`.
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
        check_table_name(table_name, "table_name")
        if config_table is not None:
            check_table_name(config_table, "config_table")
        if isinstance(segments, bool) or not isinstance(segments, int) or segments < 1:
            raise ConfigurationError("segments must be an integer of at least 1")
        if page_size is not None and (
            isinstance(page_size, bool) or not isinstance(page_size, int) or page_size < 1
        ):
            raise ConfigurationError("page_size must be None or an integer of at least 1")
        if not config_ttl_s >= 0:
            raise ConfigurationError("config_ttl_s must be a number of seconds, at least 0")
        self._owns_client = client is None
        self._client = client_or_build(
            client,
            region_name=region_name,
            endpoint_url=endpoint_url,
            max_pool_connections=max(10, segments + 2),
        )
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

    def check_table(self) -> None:
        """Raise `StoreNotFoundError` unless the leads table exists (one DescribeTable).

        `open_store` calls it, so that a mistyped table name or region fails at once, naming
        both. Credentials that may not call DescribeTable skip the check (the first Scan or
        write then reports a missing table as a `StorageError`).

        Raises:
            StoreNotFoundError: The table does not exist in the client's region.
            StorageError: DescribeTable failed for another reason (no credentials, no
                connection, throttled after botocore's retries).
        """
        self._check_open()
        from botocore.exceptions import ClientError

        with translate_errors("DescribeTable", self._table):
            try:
                self._client.describe_table(TableName=self._table)
            except ClientError as exc:
                code = error_code(exc)
                if code == "ResourceNotFoundException":
                    raise StoreNotFoundError(
                        f"DynamoDB table {self._table!r} does not exist in region "
                        f"{self._client.meta.region_name!r}; check the table name and the "
                        "region (dynamodb://TABLE?region=R, or boto3's own); open_store "
                        "never creates tables: deploy the stack or use create_leads_table"
                    ) from exc
                if code != "AccessDeniedException":
                    raise
                logger.debug(
                    "may not describe table %s (%s); its existence is not checked",
                    self._table,
                    code,
                )

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
        pages = self._scan_pages(self._due_params(now_ms=now_ms, ttl_days=ttl_days, force=force))
        count = 0
        try:
            for page in pages:
                for raw in page:
                    item = item_from_wire(raw)
                    lead_id = item.get(LEAD_ID)
                    if not isinstance(lead_id, str) or not needs_normalization(
                        item, now_ms=now_ms, ttl_days=ttl_days, force=force
                    ):
                        continue
                    count += 1
                    last = limit is not None and count >= limit
                    if last:
                        pages.close()  # stop scanning before handing out the last lead
                    yield StoredLead(lead_id, item, wire=raw)
                    if last:
                        return
        finally:
            pages.close()

    def _due_params(self, *, now_ms: int, ttl_days: float, force: bool) -> dict[str, Any]:
        """The Scan parameters that select the leads due (the seed's filter; none with `force`)."""
        params: dict[str, Any] = {"TableName": self._table}
        if not force:
            params["FilterExpression"] = _DUE_FILTER
            params["ExpressionAttributeValues"] = {
                ":cutoff": {"N": str(ttl_cutoff_ms(now_ms, ttl_days))},
                ":number": {"S": "N"},
            }
        return params

    def count_due(self, *, now_ms: int, ttl_days: float, force: bool = False) -> int:
        """How many leads are due for normalization: a Scan with ``Select="COUNT"``.

        The same filter as `iter_due`, paginated, in `segments` parallel segments; no item
        is transferred, but DynamoDB reads (and bills) the whole table as a Scan does.

        Raises:
            StorageError: When a Scan fails after botocore's retries (a missing table too).
        """
        self._check_open()
        params = self._due_params(now_ms=now_ms, ttl_days=ttl_days, force=force)
        if self._page_size is not None:
            params["Limit"] = self._page_size
        return scan_count(self._client, params, segments=self._segments)

    def save(self, lead: StoredLead, update: LeadUpdate) -> SaveStatus:
        """Write `update` beside the lead's originals, if it is unchanged since it was read.

        One conditional UpdateItem setting `update.attributes_for(lead)`: the lead must
        exist, its ``updatedAt`` must equal the one read (or still be absent, or null, when
        none was read), and each attribute of `update.watched` must hold exactly the value
        read, or still be absent (see the module docstring). On a failed condition,
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

        condition, names, values = save_condition(lead, update)
        with translate_errors("UpdateItem", self._table, lead_id=lead.lead_id):
            try:
                self._client.update_item(
                    TableName=self._table,
                    Key={LEAD_ID: {"S": lead.lead_id}},
                    UpdateExpression=(
                        "SET #data = :data, #at = :at, #updated = :updated, #meta = :meta, "
                        "#prev = :prev"
                    ),
                    ConditionExpression=condition,
                    ExpressionAttributeNames=names,
                    ExpressionAttributeValues=values,
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                )
            except ClientError as exc:
                if error_code(exc) != "ConditionalCheckFailedException":
                    raise
                # ALL_OLD: the answer carries the old item when the lead exists.
                old = cast("Mapping[str, Any]", exc.response).get("Item")
                status: SaveStatus = "conflict" if old else "missing"
                logger.debug("lead %s not saved in %s: %s", lead.lead_id, self._table, status)
                return status
        return "saved"

    def rollback(self, prompt_version: str) -> int:
        """Restore every lead a prompt version saved last to its state before; return how many.

        A Scan for ``normalizationMeta.promptVersion = prompt_version`` (reading the key,
        ``normalizedAt``, ``updatedAt`` and ``normalizationPrevious`` only), then one
        conditional UpdateItem per lead writing `rollback_changes`: ``normalizedData``,
        ``normalizedAt``, ``normalizationMeta`` and ``normalizationPrevious`` as before the
        version's first save (removed where they were absent), and ``updatedAt`` too unless
        the lead was edited after the save. The condition: the lead exists, its version is
        still `prompt_version`, and its ``updatedAt`` and ``normalizedAt`` are the ones read.
        When it fails, the lead as it is now (``ALL_OLD``) is tried again, up to 3 times: a
        lead deleted or normalized by another version meanwhile is left alone and not
        counted. The originals are never written.

        Raises:
            StorageError: When a Scan or an update fails after botocore's retries.
        """
        self._check_open()
        params: dict[str, Any] = {
            "TableName": self._table,
            "ProjectionExpression": _ROLLBACK_PROJECTION,
            "FilterExpression": "#meta.#version = :version",
            "ExpressionAttributeNames": names_in(_ROLLBACK_PROJECTION, "#meta.#version"),
            "ExpressionAttributeValues": {":version": {"S": prompt_version}},
        }
        count = 0
        for page in self._scan_pages(params):
            for raw in page:
                count += self._roll_back(raw, prompt_version)
        logger.info("rolled back %d leads of %s", count, self._table)
        return count

    def _roll_back(self, raw: Mapping[str, Any], prompt_version: str) -> bool:
        """Roll back one lead read as `raw`, again on what changed; say whether it did."""
        lead_id = raw[LEAD_ID]["S"]
        for _ in range(_ROLLBACK_ATTEMPTS):
            changes = rollback_changes(item_from_wire(raw), prompt_version)
            if changes is None:
                return False  # normalized by another version meanwhile
            current = self._write_rollback(lead_id, prompt_version, changes, raw)
            if current is None:
                return True
            if not current:
                return False  # deleted meanwhile
            raw = current
        logger.warning(
            "lead %s of %s changed during each of %d rollback attempts; left as it is",
            lead_id,
            self._table,
            _ROLLBACK_ATTEMPTS,
        )
        return False

    def _write_rollback(
        self,
        lead_id: str,
        prompt_version: str,
        changes: RollbackChanges,
        raw: Mapping[str, Any],
    ) -> Mapping[str, Any] | None:
        """Write `changes` if the lead is as read in `raw`.

        Returns:
            `None` when written; else the lead as it is now (empty if it is gone).
        """
        from botocore.exceptions import ClientError

        update, condition, names, values = rollback_expressions(
            lead_id, prompt_version, changes, raw
        )
        with translate_errors("UpdateItem", self._table, lead_id=lead_id):
            try:
                self._client.update_item(
                    TableName=self._table,
                    Key={LEAD_ID: {"S": lead_id}},
                    UpdateExpression=update,
                    ConditionExpression=condition,
                    ExpressionAttributeNames=names,
                    ExpressionAttributeValues=values,
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                )
            except ClientError as exc:
                if error_code(exc) != "ConditionalCheckFailedException":
                    raise
                old = cast("Mapping[str, Any]", exc.response).get("Item")
                return old or {}
        return None

    def put(self, items: Iterable[Mapping[str, Any]]) -> int:
        """Create or replace whole items (the import command); return how many were given.

        Every item is checked and converted before the first write, so a bad item (or an
        input that fails part-way) writes nothing. Then BatchWriteItem, 25 items per
        request, one request after the other; items DynamoDB leaves unprocessed are sent
        again with exponential backoff, a bounded number of times. When one id appears
        twice, the later item wins. Writing stops at the first request that fails.

        Raises:
            ConfigurationError: An item is not a mapping, has no non-empty string
                ``leadId``, or holds a value DynamoDB cannot store (the message names the
                item's position and the attribute, never a value).
            PartialWriteError: Some items were written before a request failed or items
                stayed unprocessed: its `written` and `failed` list the lead ids. Importing
                the same items again is safe.
            StorageError: When the first request fails, or its items stay unprocessed,
                so that nothing was written.
        """
        self._check_open()
        prepared = prepare_items(items)
        batches = batches_of(prepared)
        for number, requests in enumerate(batches):
            written: list[str] = []
            try:
                write_batch(self._client, self._table, requests, written, sleep=self._sleep)
            except StorageError as exc:
                if number == 0 and not written:
                    raise
                raise partial_write_error(exc, batches, number, written) from exc
        logger.info("put %d items into %s", len(prepared), self._table)
        return len(prepared)

    def get(self, lead_id: str) -> dict[str, Any] | None:
        """Return one item (a strongly consistent read), or `None`.

        Raises:
            StorageError: When the read fails after botocore's retries.
        """
        self._check_open()
        if not lead_id:
            return None  # DynamoDB refuses an empty key; no item can have one
        with translate_errors("GetItem", self._table, lead_id=lead_id):
            response = self._client.get_item(
                TableName=self._table, Key={LEAD_ID: {"S": lead_id}}, ConsistentRead=True
            )
        raw = response.get("Item")
        return None if raw is None else item_from_wire(raw)

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
                    yield item_from_wire(raw)
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

        with translate_errors("GetItem", table):
            try:
                response = self._client.get_item(
                    TableName=table, Key={CONFIG_KEY: {"S": CONFIG_ID}}
                )
            except ClientError as exc:
                if error_code(exc) != "ResourceNotFoundException":
                    raise
                logger.info("config table %s not found; using defaults", table)
                return None
        raw = response.get("Item")
        if raw is None:
            logger.info("no %s item in %s; using defaults", CONFIG_ID, table)
            return None
        return item_from_wire(raw)

    def load_batch_job(self) -> str | None:
        """The backfill's batch job recorded in the config table, if any (a consistent read).

        Raises:
            ConfigurationError: The store has no config table.
            StorageError: When the read fails after botocore's retries.
        """
        self._check_open()
        return load_job(self._client, self._job_table())

    def record_batch_job(self, job: str | None, *, replace: bool = False) -> None:
        """Record the backfill's batch job in flight in the config table (`None` clears it).

        Conditional: never over another job unless `replace` is given, so two backfills
        started at once cannot both record theirs.

        Raises:
            BatchJobRecordedError: Another job is recorded and `replace` is false.
            ConfigurationError: The store has no config table.
            StorageError: When the write fails after botocore's retries.
        """
        self._check_open()
        record_job(self._client, self._job_table(), job, replace=replace)

    def _job_table(self) -> str:
        if self._config_table is None:
            raise ConfigurationError(
                f"DynamoDBLeadStore({self._table!r}) has no config table to record a batch job "
                "in; give it one (config_table=, or ?config_table= in the store URL)"
            )
        return self._config_table

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

    def _scan_pages(self, params: Mapping[str, Any]) -> Pages:
        """Yield the raw items of each Scan page, from one or `segments` parallel segments."""
        if self._page_size is not None:
            params = {**params, "Limit": self._page_size}
        return scan_pages(self._client, params, segments=self._segments)


def __getattr__(name: str) -> Any:
    # PEP 562: the value cache moved to llm_normalize.caches.dynamodb; the old import
    # path keeps working, with a warning. Imported here, on use, so that importing this
    # module never loads the cache module.
    if name in _MOVED_TO_CACHES:
        warnings.warn(
            f"llm_normalize.stores.dynamodb.{name} moved to llm_normalize.caches.dynamodb."
            f"{name}; import it from there",
            DeprecationWarning,
            stacklevel=2,
        )
        from llm_normalize.caches import dynamodb

        return getattr(dynamodb, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
