"""Fixtures of the Lambda handler tests: moto's DynamoDB, the Bedrock wire server, a clean runtime."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from aws_lambda.support import FlakyStore, Tables, make_normalizer
from bedrock_server import BedrockWireServer
from dynamo_server import drop_table, dynamodb_endpoint, make_client, unique_table_name
from llm_normalize.aws_lambda import configure, reset_runtime
from llm_normalize.backends.bedrock import BedrockBackend
from llm_normalize.stores.dynamodb import create_config_table, create_leads_table

if TYPE_CHECKING:
    from boto3.session import Session

    from llm_normalize.pipeline import Normalizer


@pytest.fixture(autouse=True)
def _fresh_runtime() -> Iterator[None]:
    """Each test starts and ends without a cached runtime (it is module state)."""
    reset_runtime()
    yield
    reset_runtime()


@pytest.fixture(scope="session")
def boto3_session() -> Session:
    import boto3.session

    return boto3.session.Session(
        aws_access_key_id="AKIATESTTESTTESTTEST",
        aws_secret_access_key="test-secret-key",
        region_name="us-east-1",
    )


@pytest.fixture
def bedrock() -> Iterator[BedrockWireServer]:
    with BedrockWireServer() as server:
        yield server


@pytest.fixture
def backend(bedrock: BedrockWireServer, boto3_session: Session) -> BedrockBackend:
    return BedrockBackend.from_session(
        boto3_session, endpoint_url=bedrock.endpoint_url, region_name="us-east-1"
    )


@pytest.fixture
def tables() -> Iterator[Tables]:
    endpoint = dynamodb_endpoint()
    client = make_client(endpoint)
    leads, config = unique_table_name("leads"), unique_table_name("config")
    create_leads_table(client, leads, stream=True)
    create_config_table(client, config)
    store = FlakyStore(leads, config_table=config, client=client)
    yield Tables(client, leads, config, store, endpoint)
    store.close()
    drop_table(client, leads)
    drop_table(client, config)


@pytest.fixture
def runtime_on(tables: Tables, backend: BedrockBackend) -> Normalizer:
    """The handler's runtime on the test tables and the wire Bedrock."""
    normalizer = make_normalizer(backend)
    configure(store=tables.store, normalizer=normalizer)
    return normalizer
