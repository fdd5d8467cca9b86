"""The store factories the contract suite runs against: memory, SQLite, DynamoDB (moto server)."""

import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from llm_normalize.stores.base import LeadStore

StoreFactory = Callable[..., LeadStore]


def _memory(tmp_path: Path, cleanups: list[Callable[[], None]]) -> StoreFactory:
    from llm_normalize.stores.memory import MemoryLeadStore

    def make(
        items: Iterable[Mapping[str, Any]] = (), config: Mapping[str, Any] | None = None
    ) -> LeadStore:
        return MemoryLeadStore(items, config=config)

    return make


def _sqlite(tmp_path: Path, cleanups: list[Callable[[], None]]) -> StoreFactory:
    from llm_normalize.stores.sqlite import SQLiteLeadStore

    def make(
        items: Iterable[Mapping[str, Any]] = (), config: Mapping[str, Any] | None = None
    ) -> LeadStore:
        store = SQLiteLeadStore(tmp_path / f"{uuid.uuid4().hex}.db", config=config)
        store.put(items)
        return store

    return make


def _dynamodb(tmp_path: Path, cleanups: list[Callable[[], None]]) -> StoreFactory:
    from dynamo_server import drop_table, dynamodb_endpoint, make_client
    from llm_normalize.stores.dynamodb import (
        DynamoDBLeadStore,
        create_config_table,
        create_leads_table,
    )

    endpoint = dynamodb_endpoint()
    client = make_client(endpoint)

    def make(
        items: Iterable[Mapping[str, Any]] = (), config: Mapping[str, Any] | None = None
    ) -> LeadStore:
        suffix = uuid.uuid4().hex[:10]
        leads, config_table = f"leads-{suffix}", f"config-{suffix}"
        create_leads_table(client, leads)
        cleanups.append(lambda: drop_table(client, leads))
        if config is not None:
            cleanups.append(lambda: drop_table(client, config_table))
            create_config_table(client, config_table)
            client.put_item(
                TableName=config_table,
                Item={"configId": {"S": "normalization-settings"}, **_typed(config)},
            )
        store = DynamoDBLeadStore(leads, config_table=config_table, client=client, page_size=7)
        store.put(items)
        return store

    return make


def _typed(values: Mapping[str, Any]) -> dict[str, Any]:
    from boto3.dynamodb.types import TypeSerializer

    serializer = TypeSerializer()
    return {k: serializer.serialize(v) for k, v in values.items() if k != "configId"}


@pytest.fixture(params=["memory", "sqlite", "dynamodb"])
def store_factory(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreFactory]:
    makers = {"memory": _memory, "sqlite": _sqlite, "dynamodb": _dynamodb}
    created: list[LeadStore] = []
    # Tables are dropped afterwards: on an external endpoint nothing else cleans them up.
    cleanups: list[Callable[[], None]] = []
    factory = makers[request.param](tmp_path, cleanups)

    def make(*args: Any, **kwargs: Any) -> LeadStore:
        store = factory(*args, **kwargs)
        created.append(store)
        return store

    yield make
    for store in created:
        store.close()
    for cleanup in cleanups:
        cleanup()
