"""DynamoDB specifics the shared contract suite does not see.

Numbers (Decimal both ways), parallel and paginated scans, the filter and conditions
actually sent, retries of unprocessed items and throttling, the config item, the tables,
and a light import; the value cache's tests are in ``tests/caches/test_dynamodb.py``.
Against moto's server (or ``LLM_NORMALIZE_DYNAMODB_ENDPOINT``) through real HTTP, and
against ``botocore.stub.Stubber`` where a response must be scripted.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from decimal import Decimal
from typing import TYPE_CHECKING, Any, cast

import pytest
from botocore.awsrequest import AWSResponse
from botocore.compat import HTTPHeaders
from botocore.exceptions import ClientError
from botocore.retries.standard import ExponentialBackoff
from botocore.stub import ANY, Stubber

from dynamo_server import (
    drop_table,
    dynamodb_endpoint,
    is_external,
    make_client,
    reset_dynamodb,
    unique_table_name,
)
from llm_normalize.exceptions import ConfigurationError, PartialWriteError, StorageError
from llm_normalize.stores.base import LeadStore, LeadUpdate, StoredLead, ttl_cutoff_ms
from llm_normalize.stores.dynamodb import (
    DynamoDBLeadStore,
    create_config_table,
    create_leads_table,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

NOW = 1_764_000_000_000  # epoch ms
DAY = 24 * 60 * 60 * 1000
SEED_FILTER = "attribute_not_exists(normalizedAt) OR normalizedAt < :cutoff"
SENT_FILTER = (
    "attribute_not_exists(normalizedAt) OR NOT attribute_type(normalizedAt, :number) "
    "OR normalizedAt < :cutoff"
)
SEED_CONFIG = {
    "configId": "normalization-settings",
    "enabled": True,
    "fieldsToNormalize": [
        "nombres",
        "apellidos",
        "direccion",
        "ciudad",
        "nivelEducativo",
        "ocupacionActual",
        "empresa",
    ],
    "batchSize": 10,
    "maxLeadsPerRun": 50,
    "normalizationTTLDays": 7,
}


def lead(n: int, **extra: Any) -> dict[str, Any]:
    return {"leadId": f"lead-{n:04d}", "nombres": "JUAN CARLOS", "ciudad": "bogota", **extra}


def update(meta: dict[str, Any] | None = None, at: int = NOW) -> LeadUpdate:
    return LeadUpdate(
        normalized_data={"nombres": "Juan Carlos", "ciudad": None},
        meta=meta if meta is not None else {"promptVersion": "v1", "modelId": "fake"},
        timestamp_ms=at,
    )


def no_decimals(value: Any) -> bool:
    if isinstance(value, Decimal):
        return False
    if isinstance(value, dict):
        return all(no_decimals(v) for v in value.values())
    if isinstance(value, list | tuple | set):
        return all(no_decimals(v) for v in value)
    return True


class Tables:
    """Creates uniquely named tables on the test endpoint and drops them afterwards."""

    def __init__(self, client: DynamoDBClient) -> None:
        self.client = client
        self.names: list[str] = []

    def leads(self, items: list[dict[str, Any]] | None = None) -> str:
        name = unique_table_name("leads")
        create_leads_table(self.client, name)
        self.names.append(name)
        if items:
            DynamoDBLeadStore(name, client=self.client).put(items)
        return name

    def config(self, item: dict[str, Any] | None = None) -> str:
        name = unique_table_name("config")
        create_config_table(self.client, name)
        self.names.append(name)
        if item is not None:
            self.client.put_item(TableName=name, Item=typed(item))
        return name


def typed(item: dict[str, Any]) -> dict[str, Any]:
    from boto3.dynamodb.types import TypeSerializer

    serializer = TypeSerializer()
    return {k: serializer.serialize(v) for k, v in item.items()}


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


def record_params(client: DynamoDBClient, operation: str) -> list[dict[str, Any]]:
    """Record the parameters of every `operation` call the client makes (before retries)."""
    seen: list[dict[str, Any]] = []

    def hook(params: dict[str, Any], **_: Any) -> None:
        seen.append(dict(params))

    client.meta.events.register(f"provide-client-params.dynamodb.{operation}", hook)
    return seen


def stubbed_client() -> DynamoDBClient:
    """A client for Stubber (it never reaches the network)."""
    return make_client(None)


class _Body:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._body


def error_response(code: str, status: int = 400) -> AWSResponse:
    body = json.dumps({"__type": f"com.amazonaws.dynamodb.v20120810#{code}", "message": "x"})
    headers = HTTPHeaders()
    headers["x-amzn-ErrorType"] = code
    headers["Content-Type"] = "application/x-amz-json-1.0"
    return AWSResponse("http://dynamodb.local/", status, headers, _Body(body.encode()))


class TestNumbers:
    def test_plain_values_both_ways(self, ddb: DynamoDBClient, tables: Tables) -> None:
        """Floats, Decimals, nested maps, sets and bytes go in and come out as plain values."""
        item = {
            "leadId": "lead-1",
            "score": 3,
            "ratio": 0.1,
            "exact": Decimal("2.50"),
            "whole": Decimal("1E+3"),
            "big": 10**30,
            "negative": -7.25,
            "flag": True,
            "nothing": None,
            "nested": {"a": {"b": 0.5, "c": [1, 2.25, {"d": 1e-7}]}, "n": 4},
            "tags": {"b", "a"},
            "numbers": {3, 1.5},
            "blob": b"\x00\x01",
            "tuple": (1, "x"),
            "empty": set(),
        }
        store = DynamoDBLeadStore(tables.leads(), client=ddb)
        store.put([item])
        got = store.get("lead-1")
        assert got == {
            "leadId": "lead-1",
            "score": 3,
            "ratio": 0.1,
            "exact": 2.5,
            "whole": 1000,
            "big": 10**30,
            "negative": -7.25,
            "flag": True,
            "nothing": None,
            "nested": {"a": {"b": 0.5, "c": [1, 2.25, {"d": 1e-7}]}, "n": 4},
            "tags": ["a", "b"],
            "numbers": [1.5, 3],
            "blob": b"\x00\x01",
            "tuple": [1, "x"],
            "empty": [],
        }
        assert no_decimals(got)
        assert type(got["score"]) is int
        assert type(got["whole"]) is int
        assert type(got["exact"]) is float
        assert type(got["flag"]) is bool

    def test_floats_stored_as_their_shortest_digits(
        self, ddb: DynamoDBClient, tables: Tables
    ) -> None:
        """0.1 is written as the number 0.1, not as the 55 digits of its binary value."""
        name = tables.leads()
        DynamoDBLeadStore(name, client=ddb).put([{"leadId": "x", "ratio": 0.1, "m": {"r": 2.5}}])
        raw = ddb.get_item(TableName=name, Key={"leadId": {"S": "x"}})["Item"]
        assert Decimal(raw["ratio"]["N"]) == Decimal("0.1")
        assert Decimal(raw["m"]["M"]["r"]["N"]) == Decimal("2.5")

    def test_save_converts_floats_in_meta(self, ddb: DynamoDBClient, tables: Tables) -> None:
        """Floats anywhere in the update are stored and read back as floats."""
        store = DynamoDBLeadStore(tables.leads([lead(0)]), client=ddb)
        [due] = store.iter_due(now_ms=NOW, ttl_days=7)
        meta = {"promptVersion": "v1", "latency": {"ms": 12, "ratio": 0.75}, "scores": [0.5, 1]}
        assert store.save(due, update(meta)) == "saved"
        got = store.get("lead-0000")
        assert got is not None
        assert got["normalizationMeta"] == meta
        assert type(got["normalizationMeta"]["latency"]["ms"]) is int
        assert got["normalizedAt"] == NOW
        assert type(got["normalizedAt"]) is int

    def test_float_updated_at_matches_on_save(self, ddb: DynamoDBClient, tables: Tables) -> None:
        """An updatedAt read as a float is sent back as the same DynamoDB number."""
        store = DynamoDBLeadStore(tables.leads([lead(0, updatedAt=1.5)]), client=ddb)
        [due] = store.iter_due(now_ms=NOW, ttl_days=7)
        assert due.seen_updated_at == 1.5
        assert store.save(due, update()) == "saved"

    @pytest.mark.parametrize(
        ("value", "reason"),
        [
            (math.nan, "NaN or infinity"),
            (math.inf, "NaN or infinity"),
            (Decimal("-Infinity"), "NaN or infinity"),
            (10**40, "38 digits"),
            ({1: "x"}, "not a string"),
            (object(), "unsupported type"),
        ],
    )
    def test_unstorable_values_refused_before_writing(
        self, ddb: DynamoDBClient, tables: Tables, value: Any, reason: str
    ) -> None:
        """A value DynamoDB cannot hold is a ConfigurationError naming position and attribute."""
        store = DynamoDBLeadStore(tables.leads(), client=ddb)
        with pytest.raises(ConfigurationError) as info:
            store.put([lead(0), {"leadId": "SECRETO-ID", "nombres": "SECRETO", "bad": value}])
        message = str(info.value)
        assert "item 1" in message
        assert "'bad'" in message
        assert reason in message
        assert "SECRETO" not in message
        assert list(store.scan()) == []  # nothing written, not even the good item

    def test_unstorable_update_names_the_lead(self, ddb: DynamoDBClient, tables: Tables) -> None:
        """A NaN in the audit attribute is refused with the lead id and attribute name."""
        store = DynamoDBLeadStore(tables.leads([lead(0)]), client=ddb)
        [due] = store.iter_due(now_ms=NOW, ttl_days=7)
        with pytest.raises(ConfigurationError, match=r"lead 'lead-0000'.*'normalizationMeta'"):
            store.save(due, update({"promptVersion": "v1", "score": math.nan}))


class TestScan:
    def test_seed_filter_is_sent(self, ddb: DynamoDBClient, tables: Tables) -> None:
        """The Scan carries the seed's filter (plus the not-a-number clause) and the cutoff."""
        store = DynamoDBLeadStore(tables.leads([lead(0)]), client=ddb)
        sent = record_params(ddb, "Scan")
        list(store.iter_due(now_ms=NOW, ttl_days=7))
        [params] = sent
        assert params["FilterExpression"] == SENT_FILTER
        for clause in SEED_FILTER.split(" OR "):
            assert clause in params["FilterExpression"]
        assert params["ExpressionAttributeValues"][":cutoff"] == {"N": str(ttl_cutoff_ms(NOW, 7))}
        sent.clear()
        list(store.iter_due(now_ms=NOW, ttl_days=7, force=True))
        assert all("FilterExpression" not in p for p in sent)

    def test_filter_selects_like_the_seed(self, ddb: DynamoDBClient, tables: Tables) -> None:
        """Missing, old, null or non-number normalizedAt is due; recent is not."""
        items = [
            lead(0),
            lead(1, normalizedAt=NOW - 8 * DAY),
            lead(2, normalizedAt=NOW - DAY),
            lead(3, normalizedAt="2024-01-01"),
            lead(4, normalizedAt=None),
            lead(5, normalizedAt=NOW),
        ]
        store = DynamoDBLeadStore(tables.leads(items), client=ddb)
        due = sorted(d.lead_id for d in store.iter_due(now_ms=NOW, ttl_days=7))
        assert due == ["lead-0000", "lead-0001", "lead-0003", "lead-0004"]

    def test_pagination_with_small_page_size(self, ddb: DynamoDBClient, tables: Tables) -> None:
        """A small page size walks every page and still returns every due lead once."""
        items = [lead(n, normalizedAt=NOW if n % 3 == 0 else None) for n in range(40)]
        store = DynamoDBLeadStore(tables.leads(items), client=ddb, page_size=4)
        sent = record_params(ddb, "Scan")
        due = [d.lead_id for d in store.iter_due(now_ms=NOW, ttl_days=7)]
        expected = sorted(i["leadId"] for i in items if i.get("normalizedAt") is None)
        assert sorted(due) == expected
        assert len(due) == len(set(due))
        assert len(sent) >= 10
        assert all(p["Limit"] == 4 for p in sent)
        assert "ExclusiveStartKey" in sent[-1]

    def test_limit_stops_scanning(self, ddb: DynamoDBClient, tables: Tables) -> None:
        """Once `limit` leads are out, no further page is requested."""
        store = DynamoDBLeadStore(
            tables.leads([lead(n) for n in range(40)]), client=ddb, page_size=4
        )
        sent = record_params(ddb, "Scan")
        due = list(store.iter_due(now_ms=NOW, ttl_days=7, limit=6))
        assert len({d.lead_id for d in due}) == 6
        assert len(sent) == 2

    def test_parallel_segments_return_every_due_lead_once(
        self, ddb: DynamoDBClient, tables: Tables
    ) -> None:
        """Four segments with small pages together return each due lead exactly once."""
        items = [lead(n, normalizedAt=NOW if n % 4 == 0 else None) for n in range(150)]
        store = DynamoDBLeadStore(tables.leads(items), client=ddb, segments=4, page_size=9)
        sent = record_params(ddb, "Scan")
        counts = Counter(d.lead_id for d in store.iter_due(now_ms=NOW, ttl_days=7))
        expected = {i["leadId"] for i in items if i.get("normalizedAt") is None}
        assert set(counts) == expected
        assert set(counts.values()) == {1}
        assert {p["Segment"] for p in sent} == {0, 1, 2, 3}
        assert {p["TotalSegments"] for p in sent} == {4}
        exported = Counter(i["leadId"] for i in store.scan())
        assert len(exported) == 150
        assert set(exported.values()) == {1}

    def test_parallel_limit_stops_the_workers(self, ddb: DynamoDBClient, tables: Tables) -> None:
        """Reaching the limit in a parallel scan stops every segment's thread at once."""
        store = DynamoDBLeadStore(
            tables.leads([lead(n) for n in range(80)]), client=ddb, segments=4, page_size=5
        )
        due = store.iter_due(now_ms=NOW, ttl_days=7, limit=1)
        next(due)  # the last lead: the workers are stopped before it is handed out
        assert not [t for t in threading.enumerate() if t.name.startswith("llm-normalize-scan-")]
        assert list(due) == []

    def test_abandoned_parallel_scan_stops(self, ddb: DynamoDBClient, tables: Tables) -> None:
        """Closing a parallel scan half-way stops its threads."""
        store = DynamoDBLeadStore(
            tables.leads([lead(n) for n in range(60)]), client=ddb, segments=3, page_size=2
        )
        items = store.scan()
        next(items)
        items.close()  # type: ignore[attr-defined]
        assert not [t for t in threading.enumerate() if t.name.startswith("llm-normalize-scan-")]

    def test_parallel_scan_error_is_raised(self, ddb: DynamoDBClient) -> None:
        """A failing segment surfaces as StorageError in the caller's thread."""
        store = DynamoDBLeadStore(unique_table_name("absent"), client=ddb, segments=3)
        with pytest.raises(StorageError, match="ResourceNotFoundException"):
            list(store.iter_due(now_ms=NOW, ttl_days=7))


class TestSave:
    def test_condition_failure_tells_conflict_from_missing(
        self, ddb: DynamoDBClient, tables: Tables
    ) -> None:
        """ALL_OLD on a failed condition says changed (conflict) or deleted (missing)."""
        name = tables.leads([lead(0, updatedAt=1), lead(1, updatedAt=1)])
        store = DynamoDBLeadStore(name, client=ddb)
        due = {d.lead_id: d for d in store.iter_due(now_ms=NOW, ttl_days=7)}
        sent = record_params(ddb, "UpdateItem")
        store.put([lead(0, updatedAt=2)])
        ddb.delete_item(TableName=name, Key={"leadId": {"S": "lead-0001"}})
        assert store.save(due["lead-0000"], update()) == "conflict"
        assert store.save(due["lead-0001"], update()) == "missing"
        assert [p["ReturnValuesOnConditionCheckFailure"] for p in sent] == ["ALL_OLD", "ALL_OLD"]
        assert all(p["ConditionExpression"].startswith("attribute_exists(#id) AND") for p in sent)

    def test_deleted_lead_never_recreated(self, ddb: DynamoDBClient, tables: Tables) -> None:
        """Saving a lead deleted after it was read leaves no ghost item behind."""
        name = tables.leads([lead(0), lead(1)])
        store = DynamoDBLeadStore(name, client=ddb)
        due = {d.lead_id: d for d in store.iter_due(now_ms=NOW, ttl_days=7)}
        ddb.delete_item(TableName=name, Key={"leadId": {"S": "lead-0000"}})
        assert store.save(due["lead-0000"], update()) == "missing"
        assert store.get("lead-0000") is None
        assert [i["leadId"] for i in store.scan()] == ["lead-0001"]
        assert ddb.scan(TableName=name, Select="COUNT")["Count"] == 1

    def test_null_updated_at_counts_as_absent(self, ddb: DynamoDBClient, tables: Tables) -> None:
        """A lead whose updatedAt is null can be saved when none was seen."""
        store = DynamoDBLeadStore(tables.leads([lead(0, updatedAt=None)]), client=ddb)
        [due] = store.iter_due(now_ms=NOW, ttl_days=7)
        assert due.seen_updated_at is None
        assert store.save(due, update()) == "saved"

    def test_iso_updated_at(self, ddb: DynamoDBClient, tables: Tables) -> None:
        """A string updatedAt (another tool's ISO timestamp) is compared as written."""
        store = DynamoDBLeadStore(
            tables.leads([lead(0, updatedAt="2024-03-01T12:14:26.162Z")]), client=ddb
        )
        [due] = store.iter_due(now_ms=NOW, ttl_days=7)
        assert store.save(due, update()) == "saved"
        assert store.save(due, update()) == "conflict"  # updatedAt is ours now

    def test_rollback_skips_leads_renormalized_meanwhile(
        self, ddb: DynamoDBClient, tables: Tables
    ) -> None:
        """Rollback removes only what the version wrote, and never creates items."""
        name = tables.leads([lead(0), lead(1)])
        store = DynamoDBLeadStore(name, client=ddb, page_size=1)
        for due in store.iter_due(now_ms=NOW, ttl_days=7):
            store.save(due, update())
        assert store.rollback("v1") == 2
        assert ddb.scan(TableName=name, Select="COUNT")["Count"] == 2
        assert sorted(store.scan(), key=lambda i: i["leadId"]) == [lead(0), lead(1)]

    def test_rollback_leaves_a_lead_normalized_by_another_version_meanwhile(
        self, ddb: DynamoDBClient, tables: Tables
    ) -> None:
        """A lead saved by another version between the rollback's scan and its update stays."""
        name = tables.leads([lead(0)])
        store = DynamoDBLeadStore(name, client=ddb)
        [due] = store.iter_due(now_ms=NOW, ttl_days=7)
        assert store.save(due, update()) == "saved"
        [again] = store.iter_due(now_ms=NOW, ttl_days=7, force=True)
        real_update = ddb.update_item
        raced: list[bool] = []

        def racing_update(**kwargs: Any) -> Any:
            if not raced:  # the v2 save lands just before the rollback's first update
                raced.append(True)
                assert store.save(again, update({"promptVersion": "v2"}, at=NOW + 1)) == "saved"
            return real_update(**kwargs)

        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(ddb, "update_item", racing_update)
            assert store.rollback("v1") == 0
        item = store.get("lead-0000")
        assert item is not None
        assert item["normalizationMeta"]["promptVersion"] == "v2"

    def test_rollback_after_an_edit_racing_it(self, ddb: DynamoDBClient, tables: Tables) -> None:
        """An edit between the rollback's scan and its update: read again, keep its updatedAt."""
        name = tables.leads([lead(0)])
        store = DynamoDBLeadStore(name, client=ddb)
        [due] = store.iter_due(now_ms=NOW, ttl_days=7)
        assert store.save(due, update()) == "saved"
        real_update = ddb.update_item
        raced: list[bool] = []

        def racing_update(**kwargs: Any) -> Any:
            if not raced:
                raced.append(True)
                ddb.update_item(
                    TableName=name,
                    Key={"leadId": {"S": "lead-0000"}},
                    UpdateExpression="SET updatedAt = :u",
                    ExpressionAttributeValues={":u": {"N": str(NOW + 7)}},
                )
            return real_update(**kwargs)

        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(ddb, "update_item", racing_update)
            assert store.rollback("v1") == 1
        assert store.get("lead-0000") == lead(0, updatedAt=NOW + 7)


def put_raw(ddb: DynamoDBClient, table: str, **attributes: dict[str, Any]) -> None:
    ddb.put_item(TableName=table, Item={"leadId": {"S": "lead-0000"}, **attributes})


class TestWatchedConditions:
    """What the save's condition on watched attributes sends, and how moto answers it."""

    def test_condition_names_each_watched_attribute(
        self, ddb: DynamoDBClient, tables: Tables
    ) -> None:
        """Present attributes are compared with their type; absent ones must stay absent."""
        store = DynamoDBLeadStore(tables.leads([lead(0)]), client=ddb)
        [due] = store.iter_due(now_ms=NOW, ttl_days=7)
        sent = record_params(ddb, "UpdateItem")
        watched = LeadUpdate({}, {"promptVersion": "v1"}, NOW, watched=("ciudad", "empresa"))
        assert store.save(due, watched) == "saved"
        [params] = sent
        condition = params["ConditionExpression"]
        assert "(#w0 = :w0 AND attribute_type(#w0, :t0))" in condition
        assert "attribute_not_exists(#w1)" in condition
        assert params["ExpressionAttributeNames"]["#w0"] == "ciudad"
        assert params["ExpressionAttributeNames"]["#w1"] == "empresa"
        assert params["ExpressionAttributeValues"][":w0"] == {"S": "bogota"}
        assert params["ExpressionAttributeValues"][":t0"] == {"S": "S"}

    def test_update_item_on_one_attribute_is_a_conflict(
        self, ddb: DynamoDBClient, tables: Tables
    ) -> None:
        """An app's UpdateItem of one watched attribute, updatedAt untouched, is not overwritten."""
        name = tables.leads([lead(0)])
        store = DynamoDBLeadStore(name, client=ddb)
        [due] = store.iter_due(now_ms=NOW, ttl_days=7)
        ddb.update_item(
            TableName=name,
            Key={"leadId": {"S": "lead-0000"}},
            UpdateExpression="SET ciudad = :c",
            ExpressionAttributeValues={":c": {"S": "Cali"}},
        )
        job = LeadUpdate({"ciudad": "Bogotá"}, {"promptVersion": "v1"}, NOW, watched=("ciudad",))
        assert store.save(due, job) == "conflict"
        assert store.get("lead-0000") == lead(0, ciudad="Cali")

    @pytest.mark.parametrize(
        "value",
        [
            {"SS": ["b", "a"]},
            {"NS": ["2", "1.5"]},
            {"BS": [b"\x01", b"\x00"]},
            {"N": "0.12345678901234567890123456789"},
            {"N": "1E+2"},
            {"M": {"s": {"SS": ["x", "y"]}, "n": {"N": "3.14159265358979323846"}}},
            {"B": b"\x00\xff"},
        ],
        ids=["SS", "NS", "BS", "long-decimal", "exponent", "map-of-set", "B"],
    )
    def test_values_read_are_matched_exactly(
        self, ddb: DynamoDBClient, tables: Tables, value: dict[str, Any]
    ) -> None:
        """Sets (read as lists) and numbers beyond a float's digits still match what is stored."""
        name = tables.leads()
        put_raw(ddb, name, extra=value)
        store = DynamoDBLeadStore(name, client=ddb)
        [due] = store.iter_due(now_ms=NOW, ttl_days=7)
        job = LeadUpdate({}, {"promptVersion": "v1"}, NOW, watched=("extra",))
        assert store.save(due, job) == "saved"
        stored = ddb.get_item(TableName=name, Key={"leadId": {"S": "lead-0000"}})["Item"]
        assert stored["extra"] == value

    def test_set_changed_is_a_conflict(self, ddb: DynamoDBClient, tables: Tables) -> None:
        """A string set that gained an element since the read is a conflict."""
        name = tables.leads()
        put_raw(ddb, name, extra={"SS": ["a", "b"]})
        store = DynamoDBLeadStore(name, client=ddb)
        [due] = store.iter_due(now_ms=NOW, ttl_days=7)
        put_raw(ddb, name, extra={"SS": ["a", "b", "c"]})
        job = LeadUpdate({}, {"promptVersion": "v1"}, NOW, watched=("extra",))
        assert store.save(due, job) == "conflict"

    def test_hand_made_lead_with_a_set(self, ddb: DynamoDBClient, tables: Tables) -> None:
        """A StoredLead built from plain values (a stream image) still matches a stored set."""
        name = tables.leads()
        put_raw(ddb, name, extra={"SS": ["b", "a"]})
        store = DynamoDBLeadStore(name, client=ddb)
        plain = StoredLead("lead-0000", store.get("lead-0000") or {})
        assert plain.item["extra"] == ["a", "b"]
        job = LeadUpdate({}, {"promptVersion": "v1"}, NOW, watched=("extra",))
        assert store.save(plain, job) == "saved"

    def test_hand_made_lead_with_a_long_decimal(self, ddb: DynamoDBClient, tables: Tables) -> None:
        """A plain float cannot prove a 30-digit number unchanged: conflict, never a blind save."""
        name = tables.leads()
        put_raw(ddb, name, extra={"N": "0.12345678901234567890123456789"})
        store = DynamoDBLeadStore(name, client=ddb)
        plain = StoredLead("lead-0000", store.get("lead-0000") or {})
        job = LeadUpdate({}, {"promptVersion": "v1"}, NOW, watched=("extra",))
        assert store.save(plain, job) == "conflict"

    def test_wire_is_not_in_the_repr(self, ddb: DynamoDBClient, tables: Tables) -> None:
        """A StoredLead's repr shows neither its item's values nor its wire form."""
        store = DynamoDBLeadStore(tables.leads([lead(0)]), client=ddb)
        [due] = store.iter_due(now_ms=NOW, ttl_days=7)
        assert due.wire is not None
        assert "JUAN" not in repr(due)


class TestPut:
    def test_unprocessed_items_are_retried(self) -> None:
        """Items DynamoDB leaves unprocessed are sent again, alone, after a backoff."""
        client = stubbed_client()
        store = DynamoDBLeadStore("leads", client=client)
        sleeps: list[float] = []
        store._sleep = sleeps.append
        items = [lead(n) for n in range(30)]
        wire = [{"PutRequest": {"Item": typed(i)}} for i in items]
        with Stubber(client) as stub:
            stub.add_response(
                "batch_write_item",
                {"UnprocessedItems": {"leads": wire[3:5]}},
                {"RequestItems": {"leads": wire[:25]}},
            )
            stub.add_response(
                "batch_write_item", {"UnprocessedItems": {}}, {"RequestItems": {"leads": wire[3:5]}}
            )
            stub.add_response("batch_write_item", {}, {"RequestItems": {"leads": wire[25:]}})
            assert store.put(items) == 30
            stub.assert_no_pending_responses()
        assert len(sleeps) == 1
        assert 0 < sleeps[0] <= 0.05

    def test_unprocessed_forever_is_a_storage_error(self) -> None:
        """Retries of unprocessed items are bounded; then StorageError says how many remain."""
        client = stubbed_client()
        store = DynamoDBLeadStore("leads", client=client)
        sleeps: list[float] = []
        store._sleep = sleeps.append
        wire = [{"PutRequest": {"Item": typed(lead(0))}}]
        with Stubber(client) as stub:
            for _ in range(8):
                stub.add_response("batch_write_item", {"UnprocessedItems": {"leads": wire}})
            with pytest.raises(StorageError, match=r"'leads': 1 items still unprocessed"):
                store.put([lead(0)])
        assert len(sleeps) == 7
        assert max(sleeps) <= 2.0

    def test_partial_write_reports_which(self, ddb: DynamoDBClient, tables: Tables) -> None:
        """The third of four batches fails: the error lists the 50 written and the 50 not."""
        name = tables.leads()
        faulty = FaultyBatches(ddb, fail_on_call=3)
        store = DynamoDBLeadStore(name, client=cast("DynamoDBClient", faulty))
        items = [lead(n) for n in range(100)]
        ids = [item["leadId"] for item in items]
        with pytest.raises(PartialWriteError) as info:
            store.put(items)
        error = info.value
        assert isinstance(error, StorageError)
        assert error.written == tuple(ids[:50])
        assert error.failed == tuple(ids[50:])
        stored = sorted(item["leadId"] for item in DynamoDBLeadStore(name, client=ddb).scan())
        assert stored == ids[:50]
        message = str(error)
        assert "50 of 100" in message
        assert "again" in message
        assert "SECRETO" not in message
        assert "JUAN" not in message
        assert "lead-0050" not in message  # ids are in the attributes, not the message
        # Importing again is safe: the same ids are replaced, nothing is doubled.
        assert DynamoDBLeadStore(name, client=ddb).put(items) == 100
        assert ddb.scan(TableName=name, Select="COUNT")["Count"] == 100

    def test_items_unprocessed_forever_are_reported(
        self, ddb: DynamoDBClient, tables: Tables
    ) -> None:
        """Items left unprocessed after every retry are failed; the batches after them too."""
        name = tables.leads()
        stuck = {"lead-0030", "lead-0031", "lead-0049"}
        faulty = FaultyBatches(ddb, unprocessed=stuck)
        store = DynamoDBLeadStore(name, client=cast("DynamoDBClient", faulty))
        store._sleep = lambda _s: None
        items = [lead(n) for n in range(100)]
        with pytest.raises(PartialWriteError) as info:
            store.put(items)
        error = info.value
        expected_written = [f"lead-{n:04d}" for n in range(50) if f"lead-{n:04d}" not in stuck]
        assert error.written == tuple(expected_written)
        assert set(error.failed) == stuck | {f"lead-{n:04d}" for n in range(50, 100)}
        assert len(error.written) + len(error.failed) == 100
        stored = sorted(item["leadId"] for item in DynamoDBLeadStore(name, client=ddb).scan())
        assert stored == expected_written
        assert "47 of 100" in str(error)

    def test_nothing_written_is_a_plain_storage_error(
        self, ddb: DynamoDBClient, tables: Tables
    ) -> None:
        """When the first batch fails, nothing was written: a StorageError, not a partial one."""
        name = tables.leads()
        store = DynamoDBLeadStore(name, client=cast("DynamoDBClient", FaultyBatches(ddb, 1)))
        with pytest.raises(StorageError) as info:
            store.put([lead(n) for n in range(30)])
        assert not isinstance(info.value, PartialWriteError)
        assert ddb.scan(TableName=name, Select="COUNT")["Count"] == 0

    def test_duplicate_ids_sent_once(self) -> None:
        """BatchWriteItem refuses one key twice: a batch carries the later item only."""
        client = stubbed_client()
        store = DynamoDBLeadStore("leads", client=client)
        first, other, later = lead(0, v=1), lead(1), lead(0, v=2)
        with Stubber(client) as stub:
            stub.add_response(
                "batch_write_item",
                {},
                {
                    "RequestItems": {
                        "leads": [
                            {"PutRequest": {"Item": typed(later)}},
                            {"PutRequest": {"Item": typed(other)}},
                        ]
                    }
                },
            )
            assert store.put([first, other, later]) == 3

    def test_duplicate_ids_last_wins(self, ddb: DynamoDBClient, tables: Tables) -> None:
        """One id twice in an import: the later item replaces the earlier one."""
        store = DynamoDBLeadStore(tables.leads(), client=ddb)
        assert store.put([lead(0, v=1), lead(1), lead(0, v=2)]) == 3
        got = store.get("lead-0000")
        assert got is not None
        assert got["v"] == 2

    @pytest.mark.parametrize("bad", [{"nombres": "X"}, {"leadId": 7}, {"leadId": ""}, "text"])
    def test_lead_id_required(self, bad: Any) -> None:
        """An item without a non-empty string leadId is refused by position."""
        store = DynamoDBLeadStore("leads", client=stubbed_client())
        with pytest.raises(ConfigurationError, match="item 1"):
            store.put([lead(0), bad])


class FaultyBatches:
    """A real client whose BatchWriteItem fails on one call, or never processes some leads."""

    def __init__(
        self, client: DynamoDBClient, fail_on_call: int = 0, unprocessed: set[str] | None = None
    ) -> None:
        self._client = client
        self._fail_on_call = fail_on_call
        self._unprocessed = unprocessed or set()
        self.calls = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def batch_write_item(self, *, RequestItems: dict[str, list[Any]]) -> Any:
        self.calls += 1
        if self.calls == self._fail_on_call:
            response: Any = {
                "Error": {"Code": "InternalServerError", "Message": "SECRETO JUAN"},
                "ResponseMetadata": {"HTTPStatusCode": 500},
            }
            raise ClientError(response, "BatchWriteItem")
        ((table, requests),) = RequestItems.items()
        kept = [r for r in requests if r["PutRequest"]["Item"]["leadId"]["S"] in self._unprocessed]
        sent = [r for r in requests if r not in kept]
        if sent:
            self._client.batch_write_item(RequestItems={table: sent})
        return {"UnprocessedItems": {table: kept} if kept else {}}


class TestErrors:
    def test_throttling_becomes_storage_error(self) -> None:
        """A throttled Scan is a StorageError naming the table and the code, from the ClientError."""
        client = stubbed_client()
        store = DynamoDBLeadStore("leads", client=client)
        with Stubber(client) as stub:
            stub.add_client_error(
                "scan",
                service_error_code="ProvisionedThroughputExceededException",
                service_message="value SECRETO",
                http_status_code=400,
            )
            with pytest.raises(StorageError) as info:
                list(store.iter_due(now_ms=NOW, ttl_days=7))
        message = str(info.value)
        assert "'leads'" in message
        assert "ProvisionedThroughputExceededException" in message
        assert "SECRETO" not in message
        assert isinstance(info.value.__cause__, ClientError)

    def test_update_error_names_the_lead_not_values(self) -> None:
        """A refused update names the lead id and the code, never DynamoDB's message."""
        client = stubbed_client()
        store = DynamoDBLeadStore("leads", client=client)
        with Stubber(client) as stub:
            stub.add_client_error(
                "update_item",
                service_error_code="ValidationException",
                service_message="Item size has exceeded the maximum: Juan Carlos",
                http_status_code=400,
                expected_params={
                    "TableName": "leads",
                    "Key": {"leadId": {"S": "lead-0000"}},
                    "UpdateExpression": ANY,
                    "ConditionExpression": ANY,
                    "ExpressionAttributeNames": ANY,
                    "ExpressionAttributeValues": ANY,
                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                },
            )
            with pytest.raises(StorageError) as info:
                store.save(StoredLead("lead-0000", lead(0)), update())
        assert "lead 'lead-0000'" in str(info.value)
        assert "ValidationException" in str(info.value)
        assert "Juan" not in str(info.value)

    def test_botocore_retries_throttling_then_gives_up(
        self, ddb: DynamoDBClient, tables: Tables, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Standard retry mode sends a throttled request 6 times, then StorageError."""
        monkeypatch.setattr(ExponentialBackoff, "delay_amount", lambda self, context: 0)
        store = DynamoDBLeadStore(tables.leads([lead(0)]), client=ddb)
        sends: list[int] = []

        def throttle(**_: Any) -> Any:  # a response short-circuits the HTTP send
            sends.append(1)
            return error_response("ProvisionedThroughputExceededException")

        ddb.meta.events.register("before-send.dynamodb.GetItem", throttle)
        with pytest.raises(StorageError, match="ProvisionedThroughputExceededException"):
            store.get("lead-0000")
        assert len(sends) == 6  # max_attempts 5 = 5 retries after the first request

    def test_botocore_retries_recover(
        self, ddb: DynamoDBClient, tables: Tables, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Two throttled answers then a real one: the read succeeds."""
        monkeypatch.setattr(ExponentialBackoff, "delay_amount", lambda self, context: 0)
        store = DynamoDBLeadStore(tables.leads([lead(0)]), client=ddb)
        sends: list[int] = []

        def throttle_twice(**_: Any) -> Any:
            sends.append(1)
            return error_response("ThrottlingException") if len(sends) <= 2 else None

        ddb.meta.events.register("before-send.dynamodb.GetItem", throttle_twice)
        assert store.get("lead-0000") == lead(0)
        assert len(sends) == 3

    def test_connection_error_becomes_storage_error(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """No server at the endpoint: a StorageError naming botocore's error class."""
        monkeypatch.setattr(ExponentialBackoff, "delay_amount", lambda self, context: 0)
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        store = DynamoDBLeadStore(
            "leads", region_name="us-east-1", endpoint_url="http://127.0.0.1:9"
        )
        with pytest.raises(StorageError, match="EndpointConnectionError"):
            store.get("lead-0000")
        store.close()

    def test_closed_store(self, ddb: DynamoDBClient) -> None:
        """A closed store refuses work; closing leaves an injected client usable."""
        store = DynamoDBLeadStore("leads", client=ddb)
        store.close()
        store.close()
        with pytest.raises(StorageError, match="closed"):
            store.get("lead-0000")
        with pytest.raises(StorageError, match="closed"):
            store.iter_due(now_ms=NOW, ttl_days=7)
        ddb.list_tables()

    @pytest.mark.parametrize(
        "kwargs",
        [
            {"segments": 0},
            {"segments": True},
            {"page_size": 0},
            {"config_ttl_s": -1},
            {"config_table": ""},
            {"region_name": "us-east-1"},
        ],
    )
    def test_bad_settings(self, kwargs: dict[str, Any]) -> None:
        """Out-of-range settings, or a client with a region, are configuration errors."""
        with pytest.raises(ConfigurationError):
            DynamoDBLeadStore("leads", client=stubbed_client(), **kwargs)

    def test_negative_limit(self) -> None:
        """A negative limit is refused when iter_due is called."""
        with pytest.raises(ConfigurationError):
            DynamoDBLeadStore("leads", client=stubbed_client()).iter_due(
                now_ms=NOW, ttl_days=7, limit=-1
            )


class TestConfig:
    def test_seed_item(self, ddb: DynamoDBClient, tables: Tables) -> None:
        """The seed-shaped config item comes back with ints, a list and a bool."""
        store = DynamoDBLeadStore(
            tables.leads(), config_table=tables.config(SEED_CONFIG), client=ddb
        )
        config = store.load_config()
        assert config == SEED_CONFIG
        assert config is not None
        assert type(config["batchSize"]) is int
        assert no_decimals(config)

    def test_missing_table_is_none(self, ddb: DynamoDBClient, tables: Tables) -> None:
        """No config table: None, so the defaults apply, as in the seed."""
        store = DynamoDBLeadStore(
            tables.leads(), config_table=unique_table_name("absent"), client=ddb
        )
        assert store.load_config() is None

    def test_missing_item_is_none(self, ddb: DynamoDBClient, tables: Tables) -> None:
        """A config table without the normalization-settings item: None."""
        name = tables.config({"configId": "other", "enabled": False})
        assert (
            DynamoDBLeadStore(tables.leads(), config_table=name, client=ddb).load_config() is None
        )

    def test_no_config_table_sends_nothing(self, ddb: DynamoDBClient) -> None:
        """Without a config table, load_config is None and makes no request."""
        sent = record_params(ddb, "GetItem")
        assert DynamoDBLeadStore("leads", client=ddb).load_config() is None
        assert sent == []

    def test_cached_for_ttl(self, ddb: DynamoDBClient, tables: Tables) -> None:
        """The item is read once per config_ttl_s, and a copy handed out each time."""
        store = DynamoDBLeadStore(
            tables.leads(), config_table=tables.config(SEED_CONFIG), client=ddb, config_ttl_s=60
        )
        now = [1000.0]
        store._clock = lambda: now[0]
        sent = record_params(ddb, "GetItem")
        first = store.load_config()
        assert first is not None
        first["fieldsToNormalize"].append("mutated")
        now[0] += 59
        assert store.load_config() == SEED_CONFIG
        assert len(sent) == 1
        now[0] += 2
        assert store.load_config() == SEED_CONFIG
        assert len(sent) == 2

    def test_missing_table_cached_too(self, ddb: DynamoDBClient) -> None:
        """A missing config table is not asked about again within the TTL."""
        store = DynamoDBLeadStore("leads", config_table=unique_table_name("absent"), client=ddb)
        sent = record_params(ddb, "GetItem")
        assert store.load_config() is None
        assert store.load_config() is None
        assert len(sent) == 1

    def test_access_denied_raises(self) -> None:
        """Errors other than a missing table are StorageErrors."""
        client = stubbed_client()
        store = DynamoDBLeadStore("leads", config_table="config", client=client)
        with Stubber(client) as stub:
            stub.add_client_error("get_item", service_error_code="AccessDeniedException")
            with pytest.raises(StorageError, match=r"GetItem on table 'config'.*AccessDenied"):
                store.load_config()


class TestFromEnv:
    def test_table_names_from_env(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """LEADS_TABLE and CONFIG_TABLE name the tables, as in the seed."""
        monkeypatch.setenv("LEADS_TABLE", "mis-leads")
        monkeypatch.setenv("CONFIG_TABLE", "mi-config")
        store = DynamoDBLeadStore.from_env(client=stubbed_client(), segments=2)
        assert (store.table_name, store.config_table) == ("mis-leads", "mi-config")

    def test_seed_defaults(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Unset or empty variables fall back to the seed's table names."""
        monkeypatch.delenv("LEADS_TABLE", raising=False)
        monkeypatch.setenv("CONFIG_TABLE", "")
        store = DynamoDBLeadStore.from_env(client=stubbed_client())
        assert store.table_name == "awsrestart-leads"
        assert store.config_table == "awsrestart-normalization-config"
        assert isinstance(store, LeadStore)


class TestTablesAndServer:
    def test_stream(self, ddb: DynamoDBClient, tables: Tables) -> None:
        """create_leads_table(stream=True) enables a stream of new and old images."""
        name = unique_table_name("leads")
        create_leads_table(ddb, name, stream=True)
        tables.names.append(name)
        spec = ddb.describe_table(TableName=name)["Table"].get("StreamSpecification", {})
        assert spec.get("StreamEnabled") is True
        assert spec.get("StreamViewType") == "NEW_AND_OLD_IMAGES"

    def test_existing_table(self, ddb: DynamoDBClient, tables: Tables) -> None:
        """Creating a table twice is a StorageError."""
        name = tables.leads()
        with pytest.raises(StorageError, match="ResourceInUseException"):
            create_leads_table(ddb, name)

    def test_reset(self, ddb: DynamoDBClient) -> None:
        """reset_dynamodb empties moto (and never touches an endpoint from the environment)."""
        endpoint = dynamodb_endpoint()
        if is_external(endpoint):
            pytest.skip("an external endpoint is never reset")
        create_leads_table(ddb, unique_table_name("reset"))
        reset_dynamodb(endpoint)
        assert ddb.list_tables()["TableNames"] == []


def test_import_does_not_import_boto3() -> None:
    """Importing the module costs no boto3: it loads when a store is created."""
    code = (
        "import sys, llm_normalize.stores.dynamodb\n"
        "loaded = [m for m in ('boto3', 'botocore') if m in sys.modules]\n"
        "assert not loaded, loaded\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_import_does_not_load_the_cache() -> None:
    """Importing the store module does not load the value cache's module."""
    code = (
        "import sys, llm_normalize.stores.dynamodb\n"
        "assert 'llm_normalize.caches.dynamodb' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


class TestMovedNames:
    @pytest.mark.parametrize("name", ["DynamoDBValueCache", "create_cache_table"])
    def test_cache_names_still_import_with_a_warning(self, name: str) -> None:
        """The value cache's old import path gives the new object, with a DeprecationWarning."""
        import llm_normalize.caches.dynamodb
        import llm_normalize.stores.dynamodb

        with pytest.warns(DeprecationWarning, match=r"llm_normalize\.caches\.dynamodb"):
            moved = getattr(llm_normalize.stores.dynamodb, name)
        assert moved is getattr(llm_normalize.caches.dynamodb, name)

    def test_from_import_warns(self) -> None:
        """`from llm_normalize.stores.dynamodb import DynamoDBValueCache` warns too."""
        from llm_normalize.caches.dynamodb import DynamoDBValueCache as New

        with pytest.warns(DeprecationWarning, match="DynamoDBValueCache moved"):
            from llm_normalize.stores.dynamodb import DynamoDBValueCache
        assert DynamoDBValueCache is New

    def test_unknown_name(self) -> None:
        """Other missing names are still an AttributeError."""
        import llm_normalize.stores.dynamodb

        with pytest.raises(AttributeError, match="no attribute 'Nope'"):
            llm_normalize.stores.dynamodb.Nope  # noqa: B018

    def test_table_helpers_and_config_id(self) -> None:
        """The table helpers and CONFIG_ID stay importable here, without a warning."""
        from llm_normalize import config
        from llm_normalize.stores import dynamodb, dynamodb_tables

        assert dynamodb.create_leads_table is dynamodb_tables.create_leads_table
        assert dynamodb.create_config_table is dynamodb_tables.create_config_table
        assert dynamodb.CONFIG_ID == config.CONFIG_ID == "normalization-settings"
