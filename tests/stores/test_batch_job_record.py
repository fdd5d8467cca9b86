"""Every store records the backfill's batch job in flight beside its config, one at a time."""

from collections.abc import Callable
from typing import Any

import pytest

from llm_normalize.exceptions import BatchJobRecordedError, LLMNormalizeError
from llm_normalize.stores.base import LeadStore, RecordsBatchJob

StoreFactory = Callable[..., LeadStore]
CONFIG = {"batchSize": 10}  # a config table holds the record (DynamoDB makes one for it)


def lead(n: int) -> dict[str, Any]:
    return {"leadId": f"lead-{n:04d}", "nombres": "JUAN", "updatedAt": 1}


def _recorder(store: Any) -> RecordsBatchJob:
    assert isinstance(store, RecordsBatchJob)
    return store


def test_nothing_recorded_at_first(store_factory: StoreFactory) -> None:
    assert _recorder(store_factory([lead(0)], config=CONFIG)).load_batch_job() is None


def test_record_load_and_clear(store_factory: StoreFactory) -> None:
    store = _recorder(store_factory([lead(0)], config=CONFIG))
    store.record_batch_job('{"jobs": ["arn:1"]}')
    assert store.load_batch_job() == '{"jobs": ["arn:1"]}'
    store.record_batch_job('{"jobs": ["arn:1"]}')  # the same job again: harmless
    store.record_batch_job(None)
    assert store.load_batch_job() is None


def test_never_over_another_job(store_factory: StoreFactory) -> None:
    store = _recorder(store_factory([lead(0)], config=CONFIG))
    store.record_batch_job('{"jobs": ["arn:1"]}')
    with pytest.raises(BatchJobRecordedError) as refused:
        store.record_batch_job('{"jobs": ["arn:2"]}')
    assert refused.value.recorded == '{"jobs": ["arn:1"]}'
    assert "llm-normalize backfill" in str(refused.value)
    assert store.load_batch_job() == '{"jobs": ["arn:1"]}'
    store.record_batch_job('{"jobs": ["arn:2"]}', replace=True)
    assert store.load_batch_job() == '{"jobs": ["arn:2"]}'


def test_the_record_is_not_a_lead_nor_the_config(store_factory: StoreFactory) -> None:
    store = store_factory([lead(0)], config=CONFIG)
    config = store.load_config()
    _recorder(store).record_batch_job('{"jobs": []}')
    assert store.load_config() == config
    assert [lead.lead_id for lead in store.iter_due(now_ms=0, ttl_days=7)] == ["lead-0000"]
    assert store.count_due(now_ms=0, ttl_days=7) == 1
    assert [item["leadId"] for item in store.scan()] == ["lead-0000"]


def test_refusal_is_a_library_error() -> None:
    assert issubclass(BatchJobRecordedError, LLMNormalizeError)


def test_dynamodb_without_a_config_table_says_so() -> None:
    from dynamo_server import dynamodb_endpoint, make_client
    from llm_normalize.exceptions import ConfigurationError
    from llm_normalize.stores.dynamodb import DynamoDBLeadStore

    store = DynamoDBLeadStore("leads", config_table=None, client=make_client(dynamodb_endpoint()))
    with pytest.raises(ConfigurationError, match="no config table"):
        store.record_batch_job("{}")
    with pytest.raises(ConfigurationError, match="config_table"):
        store.load_batch_job()
