"""A DynamoDB endpoint for tests: moto's server in-process, or the one the environment names.

boto3 talks to it over real HTTP, so botocore's serialization, error parsing and retries run.

- `dynamodb_endpoint()` starts moto's `ThreadedMotoServer` on a free local port the first
  time it is called and returns the same URL for the rest of the session. When the
  environment sets ``LLM_NORMALIZE_DYNAMODB_ENDPOINT`` (DynamoDB Local, dynalite,
  LocalStack), that URL is returned instead and no server is started.
- `reset_dynamodb(endpoint)` empties moto (``POST /moto-api/reset``); it never touches an
  endpoint from the environment, so tests there must use `unique_table_name` (and may
  `drop_table` afterwards).
- `make_client(endpoint)` builds a ``dynamodb`` client with fake credentials, region
  ``us-east-1`` and the store's retry configuration.

Keep moto tables small (hundreds of items): moto re-walks the whole table for every Scan
page.

Usage::

    from dynamo_server import dynamodb_endpoint, make_client, reset_dynamodb

    endpoint = dynamodb_endpoint()
    reset_dynamodb(endpoint)
    client = make_client(endpoint)
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import threading
import urllib.request
import uuid
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from boto3.session import Session
    from moto.server import ThreadedMotoServer
    from mypy_boto3_dynamodb import DynamoDBClient

__all__ = [
    "ENDPOINT_ENV",
    "boto3_session",
    "drop_table",
    "dynamodb_endpoint",
    "external_endpoint",
    "is_external",
    "make_client",
    "reset_dynamodb",
    "unique_table_name",
]

ENDPOINT_ENV = "LLM_NORMALIZE_DYNAMODB_ENDPOINT"
"""The environment variable naming a DynamoDB endpoint to test against instead of moto."""

_lock = threading.Lock()
_server: ThreadedMotoServer | None = None
_moto_endpoint: str | None = None
_session: Session | None = None


def external_endpoint() -> str | None:
    """The endpoint named by ``LLM_NORMALIZE_DYNAMODB_ENDPOINT``, if set."""
    value = os.environ.get(ENDPOINT_ENV, "").strip()
    return value.rstrip("/") or None


def dynamodb_endpoint() -> str:
    """Return the session's DynamoDB endpoint URL, starting moto's server on first use."""
    external = external_endpoint()
    if external is not None:
        return external
    global _server, _moto_endpoint
    with _lock:
        if _moto_endpoint is None:
            from moto.server import ThreadedMotoServer

            # werkzeug logs every request at INFO; keep test logs about our code.
            logging.getLogger("werkzeug").setLevel(logging.WARNING)
            server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
            server.start()
            host, port = server.get_host_and_port()
            _server = server
            _moto_endpoint = f"http://{host}:{port}"
            atexit.register(server.stop)
        return _moto_endpoint


def is_external(endpoint: str) -> bool:
    """Whether `endpoint` is not the moto server this module started (so never reset it)."""
    return endpoint.rstrip("/") != _moto_endpoint


def reset_dynamodb(endpoint: str) -> None:
    """Delete every table of the moto server at `endpoint`; do nothing for any other endpoint."""
    if is_external(endpoint):
        return
    request = urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        response.read()


def make_client(endpoint: str | None = None) -> DynamoDBClient:
    """A ``dynamodb`` client for `endpoint`: fake credentials, us-east-1, standard retries.

    Without an endpoint the client points at AWS: for ``botocore.stub.Stubber`` only.
    Clients come from one shared boto3 session, which loads the service model once
    (a new session costs ~0.4 s per client).
    """
    from botocore.config import Config

    with _lock:
        return boto3_session().client(
            "dynamodb",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            config=Config(retries={"mode": "standard", "max_attempts": 5}),
        )


def boto3_session() -> Session:
    """The boto3 session shared by the tests (sessions are not thread-safe: hold `_lock`)."""
    global _session
    if _session is None:
        import boto3.session

        _session = boto3.session.Session()
    return _session


def unique_table_name(prefix: str = "test") -> str:
    """A table name no other test (or earlier run on a shared endpoint) uses."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def drop_table(client: DynamoDBClient, name: str) -> None:
    """Delete a table if it exists (cleanup on endpoints that are never reset)."""
    with contextlib.suppress(client.exceptions.ResourceNotFoundException):
        client.delete_table(TableName=name)
