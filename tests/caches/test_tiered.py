"""TieredCache, and the batched lookups: the helpers, LRUCache's, and DynamoDB's over moto's server."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from dynamo_server import drop_table, dynamodb_endpoint, is_external, make_client, unique_table_name
from llm_normalize.caches import (
    BatchedCache,
    CacheKey,
    LRUCache,
    NullCache,
    PurgeableCache,
    TieredCache,
    ValueCache,
    cache_key,
    get_many,
    set_many,
)
from llm_normalize.caches.dynamodb import DynamoDBValueCache, create_cache_table
from llm_normalize.caches.sqlite import SQLiteValueCache
from llm_normalize.exceptions import ConfigurationError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


def key(raw: str, version: str = "v1@model") -> CacheKey:
    return cache_key("ciudad", raw, version)


class DictCache:
    """A ValueCache with get and set only (no batches, no purge), counting its calls."""

    def __init__(self) -> None:
        self.data: dict[CacheKey, str] = {}
        self.gets = 0
        self.sets = 0

    def get(self, key: CacheKey) -> str | None:
        self.gets += 1
        return self.data.get(key)

    def set(self, key: CacheKey, value: str) -> None:
        self.sets += 1
        self.data[key] = value


class SpyCache(LRUCache):
    """An LRUCache recording every batched call."""

    def __init__(self) -> None:
        super().__init__()
        self.get_many_calls: list[list[CacheKey]] = []
        self.set_many_calls: list[dict[CacheKey, str]] = []
        self.closed = 0

    def get_many(self, keys: Iterable[CacheKey]) -> dict[CacheKey, str]:
        keys = list(keys)
        self.get_many_calls.append(keys)
        return super().get_many(keys)

    def set_many(self, items: Mapping[CacheKey, str]) -> None:
        self.set_many_calls.append(dict(items))
        super().set_many(items)

    def close(self) -> None:
        self.closed += 1


class TestHelpers:
    def test_fallback_for_a_plain_cache(self) -> None:
        """get_many and set_many serve a cache with only get and set, one call per distinct key."""
        cache = DictCache()
        assert not isinstance(cache, BatchedCache)
        set_many(cache, {key("a"): "A", key("b"): "B"})
        assert cache.sets == 2
        assert get_many(cache, [key("a"), key("c"), key("a")]) == {key("a"): "A"}
        assert cache.gets == 2

    def test_batched_cache_gets_one_call(self) -> None:
        """A batched cache is asked once, with each key once; empty batches ask nothing."""
        cache = SpyCache()
        set_many(cache, {key("a"): "A"})
        assert get_many(cache, [key("a"), key("b"), key("a")]) == {key("a"): "A"}
        assert cache.get_many_calls == [[key("a"), key("b")]]
        assert get_many(cache, []) == {}
        set_many(cache, {})
        assert len(cache.get_many_calls) == 1
        assert len(cache.set_many_calls) == 1

    @pytest.mark.parametrize("cache", [LRUCache(), NullCache(), TieredCache(LRUCache())])
    def test_builtins_are_batched(self, cache: ValueCache) -> None:
        assert isinstance(cache, BatchedCache)


class TestLRUBatches:
    def test_get_many_counts_and_refreshes(self) -> None:
        """Hits refresh recency (so they survive eviction); each distinct key counts once."""
        cache = LRUCache(maxsize=2)
        cache.set_many({key("a"): "A", key("b"): "B"})
        assert cache.get_many([key("a"), key("x"), key("a")]) == {key("a"): "A"}
        assert (cache.hits, cache.misses) == (1, 1)
        cache.set(key("c"), "C")  # evicts b, the least recently used
        assert key("b") not in cache
        assert key("a") in cache

    def test_set_many_evicts_down_to_maxsize(self) -> None:
        cache = LRUCache(maxsize=3)
        cache.set_many({key(str(n)): str(n) for n in range(5)})
        assert len(cache) == 3
        assert cache.get_many([key(str(n)) for n in range(5)]) == {
            key("2"): "2",
            key("3"): "3",
            key("4"): "4",
        }

    def test_null_cache(self) -> None:
        cache = NullCache()
        cache.set_many({key("a"): "A"})
        assert cache.get_many([key("a"), key("b"), key("a")]) == {}
        assert cache.misses == 2


class TestTiered:
    def test_get_reads_through_and_fills_the_front(self) -> None:
        """A front miss asks the back once; what the back found is answered from the front next."""
        front, back = LRUCache(), DictCache()
        back.data[key("a")] = "A"
        cache = TieredCache(back, front=front)
        assert cache.get(key("a")) == "A"
        assert cache.get(key("a")) == "A"
        assert back.gets == 1
        assert cache.get(key("b")) is None
        assert (cache.hits, cache.misses) == (2, 1)

    def test_get_many_asks_the_back_once_for_the_front_misses(self) -> None:
        """One batched back call, for the keys the front lacks only; results are kept in front."""
        front, back = SpyCache(), SpyCache()
        front.set(key("a"), "A")
        back.set_many({key("b"): "B", key("c"): "C"})
        cache = TieredCache(back, front=front)
        found = cache.get_many([key("a"), key("b"), key("c"), key("d"), key("b")])
        assert found == {key("a"): "A", key("b"): "B", key("c"): "C"}
        assert back.get_many_calls == [[key("b"), key("c"), key("d")]]
        assert cache.get_many([key("a"), key("b"), key("c")]) == found
        assert len(back.get_many_calls) == 1
        assert (cache.hits, cache.misses) == (6, 1)

    def test_no_back_call_when_the_front_has_all(self) -> None:
        back = SpyCache()
        cache = TieredCache(back)
        cache.set(key("a"), "A")
        assert cache.get_many([key("a")]) == {key("a"): "A"}
        assert back.get_many_calls == []

    def test_writes_go_through(self) -> None:
        """set and set_many write both tiers, one batched call each."""
        front, back = SpyCache(), SpyCache()
        cache = TieredCache(back, front=front)
        cache.set(key("a"), "A")
        cache.set_many({key("b"): "B", key("c"): "C"})
        assert back.set_many_calls[-1] == {key("b"): "B", key("c"): "C"}
        assert len(front) == len(back) == 3

    def test_purge_both_tiers(self) -> None:
        """purge forgets the version in the back and the front, and says how many the back held."""
        front, back = LRUCache(), LRUCache()
        cache = TieredCache(back, front=front)
        assert isinstance(cache, PurgeableCache)
        cache.set_many({key("a"): "A", key("b", "v2@model"): "B"})
        back.set(key("c"), "C")  # only behind
        assert cache.purge("v1") == 2
        assert cache.get(key("a")) is None
        assert cache.get(key("b", "v2@model")) == "B"

    def test_purge_needs_purgeable_tiers(self) -> None:
        """A back cache without purge cannot be cleaned: purging is an error, not a no-op."""
        with pytest.raises(ConfigurationError, match="DictCache has no purge"):
            TieredCache(DictCache()).purge("v1")
        with pytest.raises(ConfigurationError, match="DictCache has no purge"):
            TieredCache(LRUCache(), front=DictCache()).purge("v1")
        with pytest.raises(ConfigurationError):
            TieredCache(LRUCache()).purge("")

    def test_close_closes_both(self) -> None:
        front, back = SpyCache(), SpyCache()
        TieredCache(back, front=front).close()
        assert (front.closed, back.closed) == (1, 1)
        TieredCache(DictCache()).close()  # nothing to close: fine

    def test_default_front_and_repr(self) -> None:
        cache = TieredCache(DictCache())
        assert isinstance(cache.front, LRUCache)
        assert isinstance(cache.back, DictCache)
        cache.set(key("Calle Secreta 1"), "Calle Secreta 1")
        assert "Secreta" not in repr(cache)

    def test_over_a_sqlite_file(self, tmp_path: Path) -> None:
        """A second tiered cache on the file (a later run) reads what the first wrote, in one query."""
        with SQLiteValueCache(tmp_path / "c.db") as back:
            TieredCache(back).set_many({key(str(n)): str(n) for n in range(20)})
        with SQLiteValueCache(tmp_path / "c.db") as back:
            cache = TieredCache(back)
            assert len(cache.get_many([key(str(n)) for n in range(25)])) == 20
            assert (back.hits, back.misses) == (20, 5)


# -- DynamoDB: BatchGetItem and BatchWriteItem, counted on the wire ----------------------------


@pytest.fixture
def ddb() -> Iterator[DynamoDBClient]:
    client = make_client(dynamodb_endpoint())
    yield client
    client.close()


@pytest.fixture
def table(ddb: DynamoDBClient) -> Iterator[str]:
    name = unique_table_name("cache")
    create_cache_table(ddb, name)
    yield name
    if is_external(dynamodb_endpoint()):
        drop_table(ddb, name)


def count_requests(client: DynamoDBClient) -> dict[str, int]:
    """How many requests of each operation `client` sends from now on (a botocore event hook)."""
    counts: dict[str, int] = {}

    def count(model: Any, **_: Any) -> None:
        counts[model.name] = counts.get(model.name, 0) + 1

    client.meta.events.register("before-call.dynamodb", count)
    return counts


class TestDynamoDBBatches:
    def test_get_many_is_one_request_per_100_keys(self, ddb: DynamoDBClient, table: str) -> None:
        """250 values are written in 10 BatchWriteItems and read in 3 BatchGetItems, no GetItem."""
        cache = DynamoDBValueCache(table, client=ddb)
        items = {key(f"pueblo {n}"): f"Pueblo {n}" for n in range(250)}
        requests = count_requests(ddb)
        cache.set_many(items)
        assert requests == {"BatchWriteItem": 10}
        requests.clear()
        found = cache.get_many([*items, key("absent"), key("pueblo 0")])
        assert found == items
        assert requests == {"BatchGetItem": 3}
        assert (cache.hits, cache.misses, cache.errors) == (250, 1, 0)
        assert cache.get(key("pueblo 7")) == "Pueblo 7"  # get and set still work

    def test_expired_entries_miss(self, ddb: DynamoDBClient, table: str) -> None:
        now = [1_000_000.0]
        cache = DynamoDBValueCache(table, client=ddb, ttl_days=1, clock=lambda: now[0])
        cache.set_many({key("a"): "A"})
        now[0] += 86_401
        assert cache.get_many([key("a")]) == {}

    def test_tiered_reads_the_table_once(self, ddb: DynamoDBClient, table: str) -> None:
        """Behind an LRU, a warm container asks DynamoDB once for values it already read."""
        DynamoDBValueCache(table, client=ddb).set_many({key(str(n)): str(n) for n in range(30)})
        cache = TieredCache(DynamoDBValueCache(table, client=ddb))
        requests = count_requests(ddb)
        wanted = [key(str(n)) for n in range(40)]
        assert len(cache.get_many(wanted)) == 30
        assert len(cache.get_many(wanted[:30])) == 30
        assert requests == {"BatchGetItem": 1}


class TestDynamoDBUnprocessed:
    """BatchGetItem and BatchWriteItem leaving work unprocessed (Stubber: no network)."""

    def test_unprocessed_keys_are_asked_again(self) -> None:
        from botocore.stub import ANY, Stubber

        client = make_client(None)
        sleeps: list[float] = []
        cache = DynamoDBValueCache("cache", client=client, sleep=sleeps.append)
        a, b = key("a"), key("b")
        ha, hb = DynamoDBValueCache.hash_key(a), DynamoDBValueCache.hash_key(b)
        with Stubber(client) as stub:
            stub.add_response(
                "batch_get_item",
                {
                    "Responses": {"cache": [{"cacheKey": {"S": ha}, "value": {"S": "A"}}]},
                    "UnprocessedKeys": {"cache": {"Keys": [{"cacheKey": {"S": hb}}]}},
                },
                {"RequestItems": ANY},
            )
            stub.add_response(
                "batch_get_item",
                {"Responses": {"cache": [{"cacheKey": {"S": hb}, "value": {"S": "B"}}]}},
                {"RequestItems": {"cache": {"Keys": [{"cacheKey": {"S": hb}}]}}},
            )
            assert cache.get_many([a, b]) == {a: "A", b: "B"}
            stub.assert_no_pending_responses()
        assert len(sleeps) == 1

    def test_still_unprocessed_keys_miss(self, caplog: pytest.LogCaptureFixture) -> None:
        from botocore.stub import Stubber

        client = make_client(None)
        cache = DynamoDBValueCache("cache", client=client, sleep=lambda _s: None)
        hashed = DynamoDBValueCache.hash_key(key("a"))
        unprocessed = {"UnprocessedKeys": {"cache": {"Keys": [{"cacheKey": {"S": hashed}}]}}}
        with Stubber(client) as stub:
            for _ in range(5):
                stub.add_response("batch_get_item", unprocessed)
            assert cache.get_many([key("a")]) == {}
            stub.assert_no_pending_responses()
        assert (cache.misses, cache.errors) == (1, 1)
        assert "still unprocessed" in caplog.text

    def test_unprocessed_writes_are_sent_again(self) -> None:
        from botocore.stub import Stubber

        client = make_client(None)
        cache = DynamoDBValueCache("cache", client=client, sleep=lambda _s: None)
        with Stubber(client) as stub:
            stub.add_response(
                "batch_write_item",
                {
                    "UnprocessedItems": {
                        "cache": [{"PutRequest": {"Item": {"cacheKey": {"S": "h"}}}}]
                    }
                },
            )
            stub.add_response("batch_write_item", {"UnprocessedItems": {}})
            cache.set_many({key("a"): "A", key("b"): "B"})
            stub.assert_no_pending_responses()
        assert cache.errors == 0

    def test_transient_errors_miss_and_skip(self, caplog: pytest.LogCaptureFixture) -> None:
        """Throttling makes get_many miss and set_many skip, logged by code, never a value."""
        from botocore.stub import Stubber

        client = make_client(None)
        cache = DynamoDBValueCache("cache", client=client)
        with Stubber(client) as stub:
            stub.add_client_error(
                "batch_get_item", service_error_code="ProvisionedThroughputExceededException"
            )
            stub.add_client_error(
                "batch_write_item", service_error_code="InternalServerError", http_status_code=500
            )
            assert cache.get_many([key("SECRETO")]) == {}
            cache.set_many({key("SECRETO"): "SECRETO"})
        assert (cache.misses, cache.errors) == (1, 2)
        assert "ProvisionedThroughputExceededException" in caplog.text
        assert "SECRETO" not in caplog.text

    def test_missing_table_raises(self, ddb: DynamoDBClient) -> None:
        """A table that does not exist is a setup error for the batches too."""
        from llm_normalize.exceptions import StorageError

        cache = DynamoDBValueCache(unique_table_name("absent"), client=ddb)
        with pytest.raises(StorageError, match=r"BatchGetItem.*ResourceNotFoundException"):
            cache.get_many([key("a")])
        with pytest.raises(StorageError, match=r"BatchWriteItem.*ResourceNotFoundException"):
            cache.set_many({key("a"): "A"})

    def test_close_closes_only_a_built_client(self) -> None:
        """An injected client is left open for its owner."""
        client = make_client(None)
        closed: list[bool] = []
        client.close = lambda: closed.append(True)  # type: ignore[method-assign]
        DynamoDBValueCache("cache", client=client).close()
        assert closed == []
