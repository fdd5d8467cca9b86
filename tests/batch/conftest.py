"""Fixtures of the batch inference tests: moto's S3, the local Bedrock servers, boto3 clients."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from bedrock_batch_server import BedrockBatchServer, JobPlan
from bedrock_server import BedrockWireServer

if TYPE_CHECKING:
    from boto3.session import Session
    from mypy_boto3_bedrock import BedrockClient
    from mypy_boto3_s3 import S3Client


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture(scope="module")
def session() -> Session:
    import boto3.session

    return boto3.session.Session(
        aws_access_key_id="AKIATESTTESTTESTTEST",
        aws_secret_access_key="test-secret-key",
        region_name="us-east-1",
    )


@pytest.fixture
def s3(session: Session, moto_endpoint: str) -> S3Client:
    from botocore.config import Config

    config = Config(s3={"addressing_style": "path"}, retries={"total_max_attempts": 1})
    return session.client("s3", endpoint_url=moto_endpoint, config=config)


@pytest.fixture
def bucket(s3: S3Client) -> str:
    name = f"batch-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    return name


@pytest.fixture
def control(s3: S3Client) -> Iterator[BedrockBatchServer]:
    with BedrockBatchServer(s3) as server:
        server.plan = JobPlan(min_records=100)
        yield server


@pytest.fixture
def bedrock(session: Session, control: BedrockBatchServer) -> BedrockClient:
    from botocore.config import Config

    return session.client(
        "bedrock",
        endpoint_url=control.endpoint_url,
        config=Config(retries={"total_max_attempts": 1}),
    )


@pytest.fixture
def runtime() -> Iterator[BedrockWireServer]:
    with BedrockWireServer() as server:
        yield server
