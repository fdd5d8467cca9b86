"""Helpers of the Lambda handler tests: event fixtures and builders, a fake context, moto tables,
a flaky store, log and metric readers, canary leads."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.types import TypeSerializer

from llm_normalize.backends.bedrock import BedrockBackend
from llm_normalize.backends.retry import RetryPolicy
from llm_normalize.config import NormalizationConfig
from llm_normalize.exceptions import StorageError
from llm_normalize.pipeline import Normalizer
from llm_normalize.stores.base import LeadUpdate, SaveStatus, StoredLead
from llm_normalize.stores.dynamodb import DynamoDBLeadStore

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

EVENTS = Path(__file__).parent / "events"
BASE_MS = 1_769_000_000_000


def load_event(name: str) -> dict[str, Any]:
    """A fresh copy of one of the AWS event fixtures in ``events/``."""
    loaded: dict[str, Any] = json.loads((EVENTS / f"{name}.json").read_text(encoding="utf-8"))
    return copy.deepcopy(loaded)


@dataclass
class FakeContext:
    """The Lambda context object, with a remaining time the test controls."""

    remaining_ms: int = 300_000
    function_name: str = "awsrestart-normalize-leads"
    aws_request_id: str = "5b6c1c5e-1a2b-4c3d-9e8f-0a1b2c3d4e5f"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = (
        "arn:aws:lambda:us-east-1:123456789012:function:awsrestart-normalize-leads"
    )
    calls: int = 0

    def get_remaining_time_in_millis(self) -> int:
        self.calls += 1
        return self.remaining_ms


def messy_lead(number: int, **extra: Any) -> dict[str, Any]:
    """A lead whose city the rules do not know, so it goes to the model."""
    return {
        "leadId": f"lead-{number}",
        "nombres": "JUAN  CARLOS",
        "apellidos": "perez garcia",
        "ciudad": f"Villa Remota {number}",
        "updatedAt": BASE_MS + number,
        **extra,
    }


class FlakyStore(DynamoDBLeadStore):
    """A DynamoDB store whose saves fail for some leads, and whose selection may fail."""

    def __init__(self, table: str, *, config_table: str, client: DynamoDBClient) -> None:
        super().__init__(table, config_table=config_table, client=client)
        self.fail_saves: set[str] = set()
        self.fail_selection: Exception | None = None

    def save(self, lead: StoredLead, update: LeadUpdate) -> SaveStatus:
        if lead.lead_id in self.fail_saves:
            raise StorageError(f"DynamoDB UpdateItem on table 'x' for lead {lead.lead_id!r} failed")
        return super().save(lead, update)

    def iter_due(
        self, *, now_ms: int, ttl_days: float, force: bool = False, limit: int | None = None
    ) -> Iterator[StoredLead]:
        if self.fail_selection is not None:
            raise self.fail_selection
        return super().iter_due(now_ms=now_ms, ttl_days=ttl_days, force=force, limit=limit)


@dataclass
class Tables:
    """A leads table and a config table on moto, and a (flaky-capable) store on them."""

    client: DynamoDBClient
    leads: str
    config: str
    store: FlakyStore
    endpoint: str
    created: list[str] = field(default_factory=list)

    def put(self, *items: Mapping[str, Any]) -> None:
        self.store.put(items)

    def item(self, lead_id: str) -> dict[str, Any] | None:
        return self.store.get(lead_id)

    def set_config(self, **settings: Any) -> None:
        serializer = TypeSerializer()
        item = {"configId": "normalization-settings", **settings}
        self.client.put_item(
            TableName=self.config, Item={k: serializer.serialize(v) for k, v in item.items()}
        )


def make_normalizer(backend: BedrockBackend | None, **settings: Any) -> Normalizer:
    """A normalizer for tests: one attempt per call, no rate limit to speak of, one call at a time."""
    return Normalizer(
        backend,
        config=NormalizationConfig(**settings),
        retry=RetryPolicy(max_attempts=1),
        requests_per_second=1000,
        concurrency=1,
    )


def json_lines(text: str) -> list[dict[str, Any]]:
    """Every JSON object printed, one per line (logs and EMF documents)."""
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("{"):
            out.append(json.loads(line))
    return out


def emf_documents(text: str) -> list[dict[str, Any]]:
    return [doc for doc in json_lines(text) if "_aws" in doc]


def metric(text: str, name: str) -> float:
    [doc] = emf_documents(text)
    value = doc[name]
    return float(value[0] if isinstance(value, list) else value)


def typed(item: dict[str, Any]) -> dict[str, Any]:
    serializer = TypeSerializer()
    return {key: serializer.serialize(value) for key, value in item.items()}


def stream_record(
    name: str,
    lead_id: str,
    sequence: str,
    *,
    old: dict[str, Any] | None = None,
    new: dict[str, Any] | None = None,
    view: str = "NEW_AND_OLD_IMAGES",
) -> dict[str, Any]:
    """A DynamoDB Streams record in the fixture's shape, from plain items."""
    record: dict[str, Any] = load_event("dynamodb_stream")["Records"][0]
    record["eventName"] = name
    record["eventID"] = f"event-{sequence}"
    data: dict[str, Any] = {
        "ApproximateCreationDateTime": 1769263331,
        "Keys": {"leadId": {"S": lead_id}},
        "SequenceNumber": sequence,
        "SizeBytes": 100,
        "StreamViewType": view,
    }
    if old is not None:
        data["OldImage"] = typed(old)
    if new is not None:
        data["NewImage"] = typed(new)
    record["dynamodb"] = data
    return record


def stream_event(*records: dict[str, Any]) -> dict[str, Any]:
    return {"Records": list(records)}


def sqs_event(*bodies: str) -> dict[str, Any]:
    template = load_event("sqs")["Records"][0]
    records = []
    for number, body in enumerate(bodies):
        record = dict(template, body=body, messageId=f"message-{number}")
        records.append(record)
    return {"Records": records}


def with_groups(event: dict[str, Any], groups: Any) -> dict[str, Any]:
    authorizer = event["requestContext"]["authorizer"]
    claims = authorizer["jwt"]["claims"] if "jwt" in authorizer else authorizer["claims"]
    claims["cognito:groups"] = groups
    return event


CANARY = "ZZCANARY"


def canary_lead(number: int) -> dict[str, Any]:
    return {
        "leadId": f"lead-{number}",
        "nombres": f"{CANARY} JUAN",
        "apellidos": f"{CANARY} PEREZ",
        "direccion": f"CRA 15 {CANARY} 100",
        "ciudad": f"{CANARY} {number}",
        "nivelEducativo": CANARY,
        "ocupacionActual": f"{CANARY} ingeniero",
        "empresa": f"{CANARY} SAS",
        "email": f"{CANARY.lower()}@example.com",
        "telefono": f"300{CANARY}",
        "updatedAt": BASE_MS + number,
    }
