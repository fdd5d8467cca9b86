"""The Lambda's value cache: VALUE_CACHE_TABLE (DynamoDB on moto, Bedrock on the wire server)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from aws_lambda.support import FakeContext, Tables, load_event, messy_lead
from bedrock_server import BedrockWireServer
from dynamo_server import drop_table, is_external, unique_table_name
from llm_normalize.aws_lambda import configure, get_runtime, handler, reset_runtime
from llm_normalize.aws_lambda.runtime import DEFAULT_VALUE_CACHE_TTL_DAYS
from llm_normalize.backends.fake import FakeBackend
from llm_normalize.caches import LRUCache, TieredCache
from llm_normalize.caches.dynamodb import DynamoDBValueCache, create_cache_table
from llm_normalize.exceptions import ConfigurationError
from llm_normalize.stores.memory import MemoryLeadStore

MODEL = "anthropic.claude-3-haiku-20240307-v1:0"


@pytest.fixture
def cache_table(tables: Tables) -> Iterator[str]:
    name = unique_table_name("value-cache")
    create_cache_table(tables.client, name)
    yield name
    if is_external(tables.endpoint):
        drop_table(tables.client, name)


@pytest.fixture
def aws_env(
    tables: Tables, bedrock: BedrockWireServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The function's environment, its AWS endpoints pointed at moto and the wire Bedrock."""
    for name, value in {
        "LEADS_TABLE": tables.leads,
        "CONFIG_TABLE": tables.config,
        "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "AKIATESTTESTTESTTEST",
        "AWS_SECRET_ACCESS_KEY": "test-secret-key",
        "AWS_ENDPOINT_URL_DYNAMODB": tables.endpoint,
        "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": bedrock.endpoint_url,
        "AWS_CONFIG_FILE": str(tmp_path / "none"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
        "BEDROCK_MODEL_ID": MODEL,
        "NORMALIZATION_BACKEND": "bedrock",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("VALUE_CACHE_TABLE", raising=False)
    monkeypatch.delenv("VALUE_CACHE_TTL_DAYS", raising=False)


def dynamodb_back(cache: object) -> DynamoDBValueCache:
    assert isinstance(cache, TieredCache)
    assert isinstance(cache.front, LRUCache)
    assert isinstance(cache.back, DynamoDBValueCache)
    return cache.back


@pytest.mark.usefixtures("aws_env")
class TestValueCacheTable:
    def test_containers_share_the_models_answers(
        self,
        tables: Tables,
        bedrock: BedrockWireServer,
        cache_table: str,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        """A second container answers from the table what the first asked Bedrock: no call."""
        monkeypatch.setenv("VALUE_CACHE_TABLE", cache_table)
        tables.put(messy_lead(1))
        first = handler(load_event("eventbridge_scheduled"), FakeContext())["report"]
        assert first["records_saved"] == 1
        assert first["model_calls"] >= 1
        calls = len(bedrock.requests)
        stored = tables.client.scan(TableName=cache_table)["Items"]
        assert stored
        assert all("Villa Remota" not in str(item["cacheKey"]) for item in stored)
        assert {item["promptVersion"]["S"].split("@", 1)[1] for item in stored} == {MODEL}

        reset_runtime()  # a cold start: a new container, an empty in-memory cache
        tables.put(messy_lead(2, ciudad="Villa Remota 1"))
        second = handler(load_event("eventbridge_scheduled"), FakeContext())["report"]
        assert second["records_saved"] == 1
        assert second["model_calls"] == 0
        assert second["cache_hits"] >= 1
        assert len(bedrock.requests) == calls
        first_lead, second_lead = tables.item("lead-1"), tables.item("lead-2")
        assert first_lead is not None
        assert second_lead is not None
        assert second_lead["normalizedData"]["ciudad"] == first_lead["normalizedData"]["ciudad"]

    def test_the_runtime_builds_a_tiered_cache(
        self, cache_table: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """VALUE_CACHE_TABLE and VALUE_CACHE_TTL_DAYS reach the DynamoDBValueCache behind an LRU."""
        monkeypatch.setenv("VALUE_CACHE_TABLE", f" {cache_table} ")
        monkeypatch.setenv("VALUE_CACHE_TTL_DAYS", "7.5")
        back = dynamodb_back(get_runtime().normalizer.cache)
        assert back.table_name == cache_table
        assert back._ttl_s == 7.5 * 86_400

    def test_injected_backend_gets_the_cache_too(
        self, cache_table: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """configure(backend=...) builds the default normalizer, with the table's cache."""
        monkeypatch.setenv("VALUE_CACHE_TABLE", cache_table)
        runtime = configure(store=MemoryLeadStore(), backend=FakeBackend())
        back = dynamodb_back(runtime.normalizer.cache)
        assert back._ttl_s == DEFAULT_VALUE_CACHE_TTL_DAYS * 86_400

    def test_unset_is_the_containers_lru(self) -> None:
        """Without VALUE_CACHE_TABLE the cache is the container's own LRU, as before."""
        assert type(get_runtime().normalizer.cache) is LRUCache

    def test_rules_need_no_cache(self, cache_table: str, monkeypatch: pytest.MonkeyPatch) -> None:
        """With no model there is nothing to cache: no table client is built."""
        monkeypatch.setenv("VALUE_CACHE_TABLE", cache_table)
        monkeypatch.setenv("NORMALIZATION_BACKEND", "rules")
        assert type(get_runtime().normalizer.cache) is LRUCache

    @pytest.mark.parametrize("value", ["0", "-1", "soon", "inf", "nan"])
    def test_bad_ttl(self, value: str, cache_table: str, monkeypatch: pytest.MonkeyPatch) -> None:
        """A bad VALUE_CACHE_TTL_DAYS is a ConfigurationError naming the variable."""
        monkeypatch.setenv("VALUE_CACHE_TABLE", cache_table)
        monkeypatch.setenv("VALUE_CACHE_TTL_DAYS", value)
        with pytest.raises(ConfigurationError, match="VALUE_CACHE_TTL_DAYS"):
            get_runtime()

    def test_missing_table_fails_the_run_loudly(
        self, tables: Tables, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A cache table that does not exist is a setup error, not a silent miss on every run."""
        from llm_normalize.aws_lambda import InvocationError

        monkeypatch.setenv("VALUE_CACHE_TABLE", unique_table_name("absent"))
        tables.put(messy_lead(1))
        with pytest.raises(InvocationError):
            handler(load_event("eventbridge_scheduled"), FakeContext())
        assert "normalizedAt" not in (tables.item("lead-1") or {})

    def test_close_closes_the_cache_client(
        self, cache_table: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """The runtime closes the cache's client with the others."""
        monkeypatch.setenv("VALUE_CACHE_TABLE", cache_table)
        runtime = get_runtime()
        back = dynamodb_back(runtime.normalizer.cache)
        assert back._client.close in runtime._closers
        runtime.close()
        assert runtime._closers == []
