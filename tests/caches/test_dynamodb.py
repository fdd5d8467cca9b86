"""DynamoDBValueCache against moto's server (or ``LLM_NORMALIZE_DYNAMODB_ENDPOINT``) and Stubber."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest
from botocore.exceptions import NoCredentialsError
from botocore.stub import Stubber

from dynamo_server import drop_table, dynamodb_endpoint, is_external, make_client, unique_table_name
from llm_normalize.backends.fake import FakeBackend
from llm_normalize.backends.retry import RetryPolicy
from llm_normalize.caches import PurgeableCache, ValueCache, cache_key
from llm_normalize.caches.dynamodb import DynamoDBValueCache, create_cache_table
from llm_normalize.exceptions import ConfigurationError, StorageError
from llm_normalize.pipeline import Normalizer

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


class Tables:
    """Creates uniquely named cache tables on the test endpoint and drops them afterwards."""

    def __init__(self, client: DynamoDBClient) -> None:
        self.client = client
        self.names: list[str] = []

    def cache(self) -> str:
        name = unique_table_name("cache")
        create_cache_table(self.client, name)
        self.names.append(name)
        return name


@pytest.fixture
def ddb() -> Iterator[DynamoDBClient]:
    """A fresh client on the session's endpoint (moto unless the environment names one)."""
    client = make_client(dynamodb_endpoint())
    yield client
    client.close()


@pytest.fixture
def tables(ddb: DynamoDBClient) -> Iterator[Tables]:
    made = Tables(ddb)
    yield made
    if is_external(dynamodb_endpoint()):
        for name in made.names:
            drop_table(ddb, name)


def stubbed_client() -> DynamoDBClient:
    """A client for Stubber (it never reaches the network)."""
    return make_client(None)


class TestValueCache:
    def test_get_set(self, ddb: DynamoDBClient, tables: Tables) -> None:
        """A value set under a key is found under it only, with a TTL in epoch seconds."""
        name = tables.cache()
        cache = DynamoDBValueCache(name, client=ddb, ttl_days=30, clock=lambda: 1_000_000.5)
        key = cache_key("ciudad", "bogta", "v1")
        assert isinstance(cache, ValueCache)
        assert cache.get(key) is None
        cache.set(key, "Bogotá D.C.")
        assert cache.get(key) == "Bogotá D.C."
        assert cache.get(cache_key("ciudad", "bogta", "v2")) is None
        assert cache.get(cache_key("ciudad", "Bogta", "v1")) is None
        cache.set(key, "Bogotá")
        assert cache.get(key) == "Bogotá"
        assert (cache.hits, cache.misses, cache.errors) == (2, 3, 0)
        [raw] = ddb.scan(TableName=name)["Items"]
        assert raw["expiresAt"] == {"N": str(1_000_000 + 30 * 86_400)}
        assert raw["cacheKey"] == {"S": DynamoDBValueCache.hash_key(key)}
        assert raw["promptVersion"] == {"S": "v1"}
        assert "bogta" not in json.dumps(raw)  # the raw value is only hashed

    def test_expired_entries_miss(self, ddb: DynamoDBClient, tables: Tables) -> None:
        """An entry past expiresAt is a miss even before DynamoDB deletes it."""
        now = [1_000_000.0]
        cache = DynamoDBValueCache(tables.cache(), client=ddb, ttl_days=1, clock=lambda: now[0])
        key = cache_key("empresa", "sena", "v1")
        cache.set(key, "SENA")
        now[0] += 86_399
        assert cache.get(key) == "SENA"
        now[0] += 2
        assert cache.get(key) is None

    def test_table_has_ttl(self, ddb: DynamoDBClient, tables: Tables) -> None:
        """create_cache_table turns on DynamoDB's TTL on expiresAt."""
        name = tables.cache()
        ttl = ddb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
        assert ttl.get("AttributeName") == "expiresAt"
        assert ttl.get("TimeToLiveStatus") in {"ENABLED", "ENABLING"}

    def test_transient_errors_miss_and_log(self, caplog: pytest.LogCaptureFixture) -> None:
        """Throttling and 5xx make get miss and set skip, logged by code without values."""
        client = stubbed_client()
        cache = DynamoDBValueCache("cache", client=client)
        key = cache_key("ciudad", "SECRETO", "v1")
        with Stubber(client) as stub, caplog.at_level(logging.WARNING):
            stub.add_client_error(
                "get_item", service_error_code="ProvisionedThroughputExceededException"
            )
            stub.add_client_error(
                "put_item", service_error_code="InternalServerError", http_status_code=500
            )
            assert cache.get(key) is None
            cache.set(key, "SECRETO")
        messages = [r.getMessage() for r in caplog.records if r.name.endswith("dynamodb")]
        assert len(messages) == 2
        assert "ProvisionedThroughputExceededException" in messages[0]
        assert "InternalServerError" in messages[1]
        assert not any("SECRETO" in m for m in messages)
        assert (cache.misses, cache.errors) == (1, 2)

    def test_missing_table_raises(self, ddb: DynamoDBClient) -> None:
        """A cache table that does not exist is a setup error, not a silent miss."""
        cache = DynamoDBValueCache(unique_table_name("absent"), client=ddb)
        with pytest.raises(StorageError, match="ResourceNotFoundException"):
            cache.get(cache_key("ciudad", "x", "v1"))
        with pytest.raises(StorageError, match="ResourceNotFoundException"):
            cache.set(cache_key("ciudad", "x", "v1"), "X")

    @pytest.mark.parametrize("ttl_days", [0, -1, True])
    def test_bad_ttl(self, ttl_days: Any) -> None:
        """ttl_days must be a positive number."""
        with pytest.raises(ConfigurationError):
            DynamoDBValueCache("cache", client=stubbed_client(), ttl_days=ttl_days)

    def test_shared_by_two_normalizers(self, ddb: DynamoDBClient, tables: Tables) -> None:
        """A second normalizer answers from the table what the first asked the model."""
        name = tables.cache()
        records = [{"leadId": "1", "ciudad": "pueblo raro", "ocupacionActual": "cosas varias"}]
        first_backend, second_backend = FakeBackend(), FakeBackend()
        no_sleep = RetryPolicy(sleep=lambda _s: None)
        first = Normalizer(
            first_backend, cache=DynamoDBValueCache(name, client=ddb), retry=no_sleep
        )
        first.normalize(records)
        assert first_backend.requests
        second = Normalizer(
            second_backend, cache=DynamoDBValueCache(name, client=ddb), retry=no_sleep
        )
        [result] = second.normalize(records)
        assert second_backend.requests == []
        assert "cache" in result.sources.values()

    def test_missing_credentials_raise(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """No credentials is a setup error, raised from get as a StorageError naming the class."""
        client = stubbed_client()

        def no_credentials(**_: Any) -> None:
            raise NoCredentialsError()

        client.meta.events.register("before-sign.dynamodb.GetItem", no_credentials)
        cache = DynamoDBValueCache("cache", client=client)
        with pytest.raises(
            StorageError, match="GetItem on table 'cache' failed: NoCredentialsError"
        ):
            cache.get(cache_key("ciudad", "x", "v1"))
        assert cache.errors == 0

    def test_other_exceptions_pass_through(self) -> None:
        """An exception that is not botocore's is neither a miss nor translated."""
        cache = DynamoDBValueCache("cache", client=stubbed_client())
        with pytest.raises(TypeError):
            cache.get(("ciudad", object(), "v1"))  # type: ignore[arg-type]

    def test_repr_and_table_name(self) -> None:
        """The repr shows the table and counters, never values."""
        cache = DynamoDBValueCache("cache", client=stubbed_client())
        assert cache.table_name == "cache"
        assert repr(cache) == "DynamoDBValueCache(table_name='cache', hits=0, misses=0, errors=0)"

    def test_client_with_region_is_refused(self) -> None:
        """An injected client keeps its own region: passing one too is a configuration error."""
        with pytest.raises(ConfigurationError, match="either client"):
            DynamoDBValueCache("cache", client=stubbed_client(), region_name="us-east-1")


def test_import_does_not_import_boto3() -> None:
    """Importing the module costs no boto3: it loads when a cache is created."""
    code = (
        "import sys, llm_normalize.caches.dynamodb\n"
        "loaded = [m for m in ('boto3', 'botocore') if m in sys.modules]\n"
        "assert not loaded, loaded\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


class TestPurge:
    def test_purge_removes_one_prompt_version_over_pages(
        self, ddb: DynamoDBClient, tables: Tables
    ) -> None:
        """purge scans page by page and deletes every entry of the version, and only those."""
        name = tables.cache()
        cache = DynamoDBValueCache(name, client=ddb)
        for n in range(30):
            cache.set(cache_key("ciudad", f"raw{n}", "v1@model-a"), f"A{n}")
        cache.set(cache_key("ciudad", "bare", "v1"), "bare")
        cache.set(cache_key("ciudad", "other", "v2@model-a"), "other")
        cache.set(cache_key("ciudad", "prefix", "v10@model-a"), "prefix")
        scans: list[dict[str, Any]] = []
        ddb.meta.events.register(
            "provide-client-params.dynamodb.Scan", lambda params, **_: scans.append(params)
        )
        assert cache.purge("v1", page_size=7) == 31
        assert len(scans) >= 5  # 33 items, 7 per page: the scan followed LastEvaluatedKey
        assert cache.get(cache_key("ciudad", "raw0", "v1@model-a")) is None
        assert cache.get(cache_key("ciudad", "bare", "v1")) is None
        assert cache.get(cache_key("ciudad", "other", "v2@model-a")) == "other"
        assert cache.get(cache_key("ciudad", "prefix", "v10@model-a")) == "prefix"
        assert ddb.scan(TableName=name, Select="COUNT")["Count"] == 2
        assert cache.purge("v1") == 0

    def test_is_purgeable(self) -> None:
        """DynamoDBValueCache satisfies PurgeableCache."""
        assert isinstance(DynamoDBValueCache("cache", client=stubbed_client()), PurgeableCache)

    def test_purge_missing_table_raises(self, ddb: DynamoDBClient) -> None:
        """Purging a table that does not exist raises: a rollback must not pass silently."""
        cache = DynamoDBValueCache(unique_table_name("absent"), client=ddb)
        with pytest.raises(StorageError, match="Scan on table"):
            cache.purge("v1")

    def test_purge_retries_unprocessed_deletes(self) -> None:
        """Deletes DynamoDB leaves unprocessed are sent again, and counted once done."""
        client = stubbed_client()
        cache = DynamoDBValueCache("cache", client=client)
        keys = [{"cacheKey": {"S": f"h{n}"}} for n in range(3)]
        with Stubber(client) as stub:
            stub.add_response("scan", {"Items": keys})
            stub.add_response(
                "batch_write_item",
                {"UnprocessedItems": {"cache": [{"DeleteRequest": {"Key": keys[2]}}]}},
            )
            stub.add_response("batch_write_item", {"UnprocessedItems": {}})
            assert cache.purge("v1", sleep=lambda _s: None) == 3
            stub.assert_no_pending_responses()

    def test_purge_gives_up_after_retries(self) -> None:
        """Deletes still unprocessed after the retries raise, saying how many were removed."""
        client = stubbed_client()
        cache = DynamoDBValueCache("cache", client=client)
        keys = [{"cacheKey": {"S": f"h{n}"}} for n in range(2)]
        unprocessed = {"UnprocessedItems": {"cache": [{"DeleteRequest": {"Key": keys[1]}}]}}
        with Stubber(client) as stub:
            stub.add_response("scan", {"Items": keys})
            for _ in range(8):
                stub.add_response("batch_write_item", unprocessed)
            with pytest.raises(StorageError, match=r"removed 1 of 2 .*run the purge again"):
                cache.purge("v1", sleep=lambda _s: None)

    def test_rerun_after_purge_asks_the_model_again(
        self, ddb: DynamoDBClient, tables: Tables
    ) -> None:
        """After a purge of the run's prompt version, the same version calls the model again."""
        name = tables.cache()
        records = [{"leadId": "1", "ciudad": "pueblo raro", "ocupacionActual": "cosas varias"}]
        no_sleep = RetryPolicy(sleep=lambda _s: None)
        first_backend, second_backend = FakeBackend(), FakeBackend()
        first = Normalizer(
            first_backend, cache=DynamoDBValueCache(name, client=ddb), retry=no_sleep
        )
        first.normalize(records)
        report = first.last_report
        assert report is not None
        assert report.prompt_version is not None
        assert DynamoDBValueCache(name, client=ddb).purge(report.prompt_version) >= 1
        second = Normalizer(
            second_backend, cache=DynamoDBValueCache(name, client=ddb), retry=no_sleep
        )
        [result] = second.normalize(records)
        assert second_backend.requests
        assert "cache" not in result.sources.values()
