"""Counting the leads due without reading them, on every store, and the job's due summary."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from dynamo_server import drop_table, dynamodb_endpoint, make_client, unique_table_name
from llm_normalize import Normalizer
from llm_normalize.exceptions import ConfigurationError, StorageError
from llm_normalize.job import DueLeads, due_leads
from llm_normalize.stores.base import LeadStore
from llm_normalize.stores.dynamodb import DynamoDBLeadStore, create_leads_table
from llm_normalize.stores.memory import MemoryLeadStore
from llm_normalize.stores.sqlite import SQLiteLeadStore

StoreFactory = Callable[..., LeadStore]

NOW = 1_764_000_000_000  # epoch ms
DAY = 24 * 60 * 60 * 1000


def lead(n: int, **extra: Any) -> dict[str, Any]:
    return {"leadId": f"lead-{n:04d}", "nombres": "JUAN", "ciudad": "bogota", **extra}


MIXED = [
    lead(0),  # never normalized
    lead(1, normalizedAt=NOW - 1 * DAY),  # fresh
    lead(2, normalizedAt=NOW - 30 * DAY),  # stale
    lead(3, normalizedAt="yesterday"),  # not a number: never normalized
    lead(4, normalizedAt=NOW - 1 * DAY + 0.5),  # fresh, fractional
    lead(5, normalizedAt=True),  # a boolean is no instant
    lead(6, normalizedAt=None),  # null: never normalized
    lead(7, normalizedAt=NOW - 7 * DAY),  # exactly at the cutoff: not due
    lead(8, normalizedAt=NOW - 7 * DAY - 1),  # just before it: due
]


def due_count_by_iteration(store: LeadStore, **kwargs: Any) -> int:
    return sum(1 for _ in store.iter_due(**kwargs))


class TestContract:
    def test_empty(self, store_factory: StoreFactory) -> None:
        """An empty store has nothing due."""
        assert store_factory().count_due(now_ms=NOW, ttl_days=7) == 0

    def test_matches_iter_due(self, store_factory: StoreFactory) -> None:
        """count_due counts exactly the leads iter_due streams, TTL and odd normalizedAt included."""
        store = store_factory(MIXED)
        for ttl in (0, 1, 7, 60):
            expected = due_count_by_iteration(store, now_ms=NOW, ttl_days=ttl)
            assert store.count_due(now_ms=NOW, ttl_days=ttl) == expected, ttl
        assert store.count_due(now_ms=NOW, ttl_days=7) == 6

    def test_force_counts_every_lead(self, store_factory: StoreFactory) -> None:
        """With force every lead is due."""
        store = store_factory(MIXED)
        assert store.count_due(now_ms=NOW, ttl_days=7, force=True) == len(MIXED)

    def test_more_than_a_page(self, store_factory: StoreFactory) -> None:
        """Counts span pages (DynamoDB's factory reads 7 items per Scan page)."""
        items = [lead(n) if n % 3 else lead(n, normalizedAt=NOW) for n in range(40)]
        store = store_factory(items)
        assert store.count_due(now_ms=NOW, ttl_days=7) == 26

    def test_follows_saves(self, store_factory: StoreFactory) -> None:
        """A lead saved by a run stops being due."""
        store = store_factory([lead(n) for n in range(5)])
        Normalizer().run(store, now_ms=NOW, limit=2)
        assert store.count_due(now_ms=NOW, ttl_days=7) == 3

    def test_closed_store(self, store_factory: StoreFactory) -> None:
        """A closed store refuses to count."""
        store = store_factory([lead(0)])
        store.close()
        with pytest.raises(StorageError):
            store.count_due(now_ms=NOW, ttl_days=7)


class TestSQLite:
    def test_one_count_query(self, tmp_path: Path) -> None:
        """SQLite counts with one COUNT query, reading no item."""
        store = SQLiteLeadStore(tmp_path / "leads.db", page_size=2)
        store.put(MIXED)
        statements: list[str] = []
        store._connection().set_trace_callback(statements.append)
        assert store.count_due(now_ms=NOW, ttl_days=7) == 6
        store._connection().set_trace_callback(None)
        store.close()
        assert len(statements) == 1
        assert "COUNT(*)" in statements[0]
        assert "item" not in statements[0].replace("items", "")

    def test_unreadable_rows_are_counted(self, tmp_path: Path) -> None:
        """A row iter_due skips as undecodable is still due, and counted as such."""
        db = tmp_path / "leads.db"
        store = SQLiteLeadStore(db)
        store.put([lead(0), lead(1)])
        conn = sqlite3.connect(db, isolation_level=None)
        conn.execute("UPDATE leads SET item = 'not json' WHERE lead_id = 'lead-0001'")
        conn.close()
        assert store.count_due(now_ms=NOW, ttl_days=7) == 2
        store.close()


class TestMemory:
    def test_counts_without_copying(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """The memory store counts without deep-copying a single lead."""
        import copy

        store = MemoryLeadStore(MIXED)

        def no_copy(value: object, memo: object = None) -> object:
            raise AssertionError("copied")

        monkeypatch.setattr(copy, "deepcopy", no_copy)
        assert store.count_due(now_ms=NOW, ttl_days=7) == 6

    def test_infinite_and_nan(self) -> None:
        """Memory keeps its own rule for NaN (due) and infinity (never stale)."""
        store = MemoryLeadStore(
            [lead(0, normalizedAt=float("nan")), lead(1, normalizedAt=float("inf"))]
        )
        assert store.count_due(now_ms=NOW, ttl_days=7) == due_count_by_iteration(
            store, now_ms=NOW, ttl_days=7
        )


class TestDynamoDB:
    def test_scan_selects_count(self) -> None:
        """DynamoDB counts with Scan Select=COUNT and the due filter, page after page, in segments."""
        client = make_client(dynamodb_endpoint())
        name = unique_table_name("count")
        create_leads_table(client, name)
        sent: list[dict[str, Any]] = []
        client.meta.events.register(
            "provide-client-params.dynamodb.Scan", lambda params, **_: sent.append(dict(params))
        )
        try:
            store = DynamoDBLeadStore(name, client=client, page_size=3, segments=2)
            store.put([lead(n) if n % 2 else lead(n, normalizedAt=NOW) for n in range(12)])
            assert store.count_due(now_ms=NOW, ttl_days=7) == 6
            assert store.count_due(now_ms=NOW, ttl_days=7, force=True) == 12
        finally:
            drop_table(client, name)
            client.close()
        assert sent
        assert all(params["Select"] == "COUNT" for params in sent)
        assert {params.get("Segment") for params in sent} == {0, 1}
        assert any("ExclusiveStartKey" in params for params in sent)
        filtered = [params for params in sent if "FilterExpression" in params]
        assert filtered
        assert "ProjectionExpression" not in filtered[0]

    def test_missing_table(self) -> None:
        """Counting on a missing table is a StorageError naming it."""
        client = make_client(dynamodb_endpoint())
        store = DynamoDBLeadStore(unique_table_name("gone"), client=client)
        with pytest.raises(StorageError, match="Scan on table"):
            store.count_due(now_ms=NOW, ttl_days=7)
        client.close()


class TestDueLeads:
    def test_this_run_is_capped_by_max_leads_per_run(self) -> None:
        """due is every lead due; this_run is what one run takes (maxLeadsPerRun by default)."""
        store = MemoryLeadStore([lead(n) for n in range(120)], config={"maxLeadsPerRun": 50})
        due = due_leads(Normalizer(), store, now_ms=NOW)
        assert due == DueLeads(due=120, this_run=50, now_ms=NOW, ttl_days=7.0, enabled=True)
        assert due.after_run == 70

    def test_limit(self) -> None:
        """An explicit limit replaces maxLeadsPerRun, and never exceeds what is due."""
        store = MemoryLeadStore([lead(n) for n in range(10)])
        assert due_leads(Normalizer(), store, limit=3, now_ms=NOW).this_run == 3
        assert due_leads(Normalizer(), store, limit=500, now_ms=NOW).this_run == 10

    def test_ttl_comes_from_the_stored_config(self) -> None:
        """The stored config's TTL selects, as in the run."""
        store = MemoryLeadStore(
            [lead(0, normalizedAt=NOW - 3 * DAY)], config={"normalizationTTLDays": 1}
        )
        due = due_leads(Normalizer(), store, now_ms=NOW)
        assert (due.due, due.ttl_days) == (1, 1.0)

    def test_force(self) -> None:
        """With force every lead counts."""
        store = MemoryLeadStore([lead(0, normalizedAt=NOW), lead(1)])
        assert due_leads(Normalizer(), store, force=True, now_ms=NOW).due == 2

    def test_disabled(self) -> None:
        """A disabled config runs nothing: this_run is 0, and due still says how many wait."""
        store = MemoryLeadStore([lead(0)], config={"enabled": False})
        due = due_leads(Normalizer(), store, now_ms=NOW)
        assert (due.enabled, due.due, due.this_run) == (False, 1, 0)

    def test_still_due_after_the_run(self) -> None:
        """Counting again with the run's clock says how many leads the run left due."""
        store = MemoryLeadStore([lead(n) for n in range(8)], config={"maxLeadsPerRun": 5})
        before = due_leads(Normalizer(), store, now_ms=NOW)
        report = Normalizer().run(store, now_ms=before.now_ms)
        assert report.records_saved == before.this_run == 5
        after = due_leads(Normalizer(), store, now_ms=before.now_ms)
        assert after.due == before.after_run == 3

    def test_clock_defaults_to_now(self) -> None:
        """Without now_ms the clock is the current time, returned for the run to reuse."""
        due = due_leads(Normalizer(), MemoryLeadStore([lead(0)]))
        assert due.now_ms > NOW

    def test_negative_limit(self) -> None:
        """A negative limit is refused, as iter_due refuses it."""
        with pytest.raises(ConfigurationError):
            due_leads(Normalizer(), MemoryLeadStore(), limit=-1)
