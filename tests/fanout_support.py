"""Helpers of the fan-out planner tests: SQS queues on moto's server, a leads table, flaky calls.

SQS and DynamoDB are both served by the moto server of `dynamo_server.dynamodb_endpoint`,
over real HTTP, so botocore's serialization and error parsing run.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dynamo_server import (
    _lock,
    boto3_session,
    drop_table,
    dynamodb_endpoint,
    make_client,
    unique_table_name,
)
from llm_normalize.stores.dynamodb import DynamoDBLeadStore, create_leads_table

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

CANARY = "ZZCANARY-VALUE"
"""A field value that must never reach a message, a log line or an error."""


def make_sqs(endpoint: str) -> Any:
    """An ``sqs`` client on `endpoint`: fake credentials, us-east-1."""
    from botocore.config import Config

    with _lock:
        return boto3_session().client(
            "sqs",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            config=Config(retries={"mode": "standard", "max_attempts": 2}),
        )


def make_queue(sqs: Any, *, fifo: bool) -> str:
    """A new queue (FIFO or standard) with a unique name; its URL."""
    name = f"work-{uuid.uuid4().hex[:10]}" + (".fifo" if fifo else "")
    attributes = {"FifoQueue": "true"} if fifo else {}
    url: str = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    return url


def drain(sqs: Any, url: str, *, delete: bool = True) -> list[dict[str, Any]]:
    """Receive every message of the queue (and delete it): their bodies, decoded.

    With ``delete=False`` they stay in flight for 10 minutes. moto deduplicates a FIFO
    message only against the messages it still holds (SQS, against any sent in the last 5
    minutes, deleted or not): tests of deduplication across plans keep them.
    """
    bodies: list[dict[str, Any]] = []
    while True:
        messages = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=600
        ).get("Messages", [])
        if not messages:
            return bodies
        for message in messages:
            bodies.append(json.loads(message["Body"]))
            if delete:
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


def received_ids(bodies: list[dict[str, Any]]) -> list[str]:
    return [lead_id for body in bodies for lead_id in body["leadIds"]]


def lead(number: int, **extra: Any) -> dict[str, Any]:
    """A lead with a field value that must never leave the table."""
    return {
        "leadId": f"lead-{number:04d}",
        "nombres": CANARY,
        "ciudad": "bogota",
        "updatedAt": 1_769_000_000_000 + number,
        **extra,
    }


@dataclass
class LeadsTable:
    """A leads table on moto with a store on it."""

    client: DynamoDBClient
    name: str
    store: DynamoDBLeadStore
    endpoint: str

    def put(self, items: list[dict[str, Any]]) -> None:
        self.store.put(items)


@contextmanager
def leads_table(count: int = 0, **extra: Any) -> Iterator[LeadsTable]:
    """A fresh leads table holding `count` leads (`lead(n)` for n below `count`)."""
    endpoint = dynamodb_endpoint()
    client = make_client(endpoint)
    name = unique_table_name("plan")
    create_leads_table(client, name)
    store = DynamoDBLeadStore(name, client=client)
    if count:
        store.put([lead(number, **extra) for number in range(count)])
    try:
        yield LeadsTable(client, name, store, endpoint)
    finally:
        store.close()
        drop_table(client, name)


class _Http:
    def __init__(self, status: int) -> None:
        self.status_code = status
        self.headers: dict[str, str] = {}
        self.content = b""


def answer_error(
    client: Any,
    operation: str,
    code: str,
    *,
    status: int = 400,
    when: Callable[[Mapping[str, Any]], bool] | None = None,
) -> None:
    """Make `client` answer `operation` with the service error `code` (botocore raises it as usual)."""
    service = client.meta.service_model.service_id.hyphenize()

    def hook(params: Mapping[str, Any], **_: Any) -> tuple[_Http, dict[str, Any]] | None:
        if when is not None and not when(json.loads(params["body"] or b"{}")):
            return None
        parsed = {
            "Error": {"Code": code, "Message": ""},
            "ResponseMetadata": {"HTTPStatusCode": status},
        }
        return _Http(status), parsed

    client.meta.events.register(f"before-call.{service}.{operation}", hook)


_record_lock = threading.Lock()


def record_calls(
    client: Any, calls: list[tuple[str, dict[str, Any]]] | None = None
) -> list[tuple[str, dict[str, Any]]]:
    """Every call `client` makes from now on (into `calls`, if given): operation and parameters, in order."""
    calls = [] if calls is None else calls
    lock = _record_lock

    def hook(model: Any, params: Mapping[str, Any], **_: Any) -> None:
        with lock:
            calls.append((model.name, dict(params)))

    client.meta.events.register("before-parameter-build", hook)
    return calls


@dataclass
class FlakySqs:
    """A real ``sqs`` client that refuses some entries, as SQS does in a partial batch failure.

    `refuse` maps a lead id to the number of calls in which the entry carrying it is refused
    (-1: always); refused entries are not sent and come back in ``Failed`` with `code` and
    `sender_fault`. `raise_on` makes whole calls raise that ``ClientError`` code.
    """

    inner: Any
    refuse: dict[str, int] = field(default_factory=dict)
    code: str = "InternalError"
    sender_fault: bool = False
    raise_on: str | None = None
    calls: list[list[str]] = field(default_factory=list)

    def _refused(self, entry: Mapping[str, Any]) -> bool:
        for lead_id in json.loads(entry["MessageBody"])["leadIds"]:
            left = self.refuse.get(lead_id, 0)
            if left:
                self.refuse[lead_id] = left - 1 if left > 0 else left
                return True
        return False

    def send_message_batch(self, **kwargs: Any) -> Mapping[str, Any]:
        from botocore.exceptions import ClientError

        entries = kwargs["Entries"]
        self.calls.append([entry["Id"] for entry in entries])
        if self.raise_on is not None:
            error = {"Code": self.raise_on, "Message": ""}
            meta = {"HTTPStatusCode": 500}
            raise ClientError({"Error": error, "ResponseMetadata": meta}, "SendMessageBatch")  # type: ignore[typeddict-item]
        refused = [entry for entry in entries if self._refused(entry)]
        sent = [entry for entry in entries if entry not in refused]
        answer: dict[str, Any] = {"Successful": [], "Failed": []}
        if sent:
            answer = dict(self.inner.send_message_batch(QueueUrl=kwargs["QueueUrl"], Entries=sent))
            answer.setdefault("Failed", [])
        answer["Failed"] = [
            *answer["Failed"],
            *(
                {"Id": e["Id"], "SenderFault": self.sender_fault, "Code": self.code, "Message": ""}
                for e in refused
            ),
        ]
        return answer


def fresh_queue(fifo: bool) -> tuple[Any, str]:
    sqs = make_sqs(dynamodb_endpoint())
    return sqs, make_queue(sqs, fifo=fifo)


__all__ = [
    "CANARY",
    "FlakySqs",
    "LeadsTable",
    "answer_error",
    "drain",
    "fresh_queue",
    "lead",
    "leads_table",
    "make_queue",
    "make_sqs",
    "received_ids",
    "record_calls",
    "unique_table_name",
]
