"""SQLiteLeadStore specifics; the shared behaviour is in test_contract.py."""

import json
import math
import sqlite3
import threading
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from llm_normalize.exceptions import ConfigurationError, StorageError
from llm_normalize.stores.base import LeadStore, LeadUpdate, StoredLead
from llm_normalize.stores.sqlite import SQLiteLeadStore

NOW = 1_764_000_000_000
DAY = 24 * 60 * 60 * 1000


def lead(n: int, **extra: Any) -> dict[str, Any]:
    return {"leadId": f"lead-{n:04d}", "nombres": "JUAN", "ciudad": "bogota", **extra}


def update(version: str = "v1", at: int = NOW) -> LeadUpdate:
    return LeadUpdate(
        normalized_data={"ciudad": "Bogotá D.C."},
        meta={"promptVersion": version, "modelId": "fake", "source": {"ciudad": "rules"}},
        timestamp_ms=at,
    )


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "leads.db"


@pytest.fixture
def store(db: Path) -> Iterator[SQLiteLeadStore]:
    with SQLiteLeadStore(db, page_size=2) as opened:
        yield opened


def raw(db: Path) -> sqlite3.Connection:
    """A second, plain connection to the same file, in autocommit mode."""
    return sqlite3.connect(db, isolation_level=None, timeout=5.0)


def dumped(value: Any) -> str:
    """JSON text that tells 1, 1.0 and true apart (== does not)."""
    return json.dumps(value, ensure_ascii=True)


class TestFile:
    def test_wal_mode(self, store: SQLiteLeadStore, db: Path) -> None:
        """The database file runs in WAL mode."""
        conn = raw(db)
        try:
            assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        finally:
            conn.close()

    def test_schema(self, store: SQLiteLeadStore, db: Path) -> None:
        """The leads table, its normalized_at index and the config table exist as documented."""
        conn = raw(db)
        try:
            columns = [row[1] for row in conn.execute("PRAGMA table_info(leads)")]
            indexes = [row[1] for row in conn.execute("PRAGMA index_list(leads)")]
            config = [row[1] for row in conn.execute("PRAGMA table_info(config)")]
        finally:
            conn.close()
        assert columns == ["lead_id", "item", "normalized_at", "updated_at"]
        assert "leads_normalized_at" in indexes
        assert config == ["config_id", "item"]

    def test_creates_parent_directories(self, tmp_path: Path) -> None:
        """A path in directories that do not exist yet is created with them."""
        path = tmp_path / "a" / "b" / "c" / "leads.db"
        with SQLiteLeadStore(str(path)) as store:
            store.put([lead(0)])
        assert path.is_file()

    def test_reopen_keeps_leads_and_config(self, db: Path) -> None:
        """Leads and the config survive closing; reopening without config keeps the stored one."""
        with SQLiteLeadStore(
            db, config={"configId": "normalization-settings", "batchSize": 5}
        ) as s:
            s.put([lead(0)])
        with SQLiteLeadStore(db) as again:
            assert again.get("lead-0000") == lead(0)
            assert again.load_config() == {"configId": "normalization-settings", "batchSize": 5}
            again.set_config(None)
            assert again.load_config() is None

    def test_not_a_database(self, tmp_path: Path) -> None:
        """A file that is not SQLite gives a StorageError naming the file."""
        path = tmp_path / "notes.db"
        path.write_bytes(b"nombres,ciudad\nJUAN,bogota\n" * 200)
        with pytest.raises(StorageError, match=r"notes\.db") as info:
            SQLiteLeadStore(path)
        assert "not a database" in str(info.value)
        assert "JUAN" not in str(info.value)

    def test_directory_is_not_a_database(self, tmp_path: Path) -> None:
        """A directory where the file should be gives a StorageError."""
        with pytest.raises(StorageError, match="open failed"):
            SQLiteLeadStore(tmp_path)

    def test_parent_is_a_file(self, tmp_path: Path) -> None:
        """A parent path that is a file gives a StorageError, not an OSError."""
        (tmp_path / "plain").write_text("x")
        with pytest.raises(StorageError, match="directory"):
            SQLiteLeadStore(tmp_path / "plain" / "leads.db")

    def test_foreign_table_layout(self, db: Path) -> None:
        """An existing leads table with other columns is refused with a clear message."""
        conn = raw(db)
        conn.execute("CREATE TABLE leads (id INTEGER PRIMARY KEY, name TEXT)")
        conn.close()
        with pytest.raises(StorageError, match="exists with columns id, name"):
            SQLiteLeadStore(db)

    def test_in_memory(self) -> None:
        """':memory:' gives a private working store."""
        with SQLiteLeadStore(":memory:") as store:
            store.put([lead(0)])
            assert [d.lead_id for d in store.iter_due(now_ms=NOW, ttl_days=7)] == ["lead-0000"]

    def test_custom_table(self, db: Path) -> None:
        """Two tables in one file are independent stores sharing the config table."""
        with (
            SQLiteLeadStore(db, table="leads_a", config={"enabled": False}) as a,
            SQLiteLeadStore(db, table="leads_b") as b,
        ):
            a.put([lead(0)])
            assert b.get("lead-0000") is None
            assert b.load_config() == {"enabled": False}
            assert a.table == "leads_a"
            assert "leads_a" in repr(a)

    @pytest.mark.parametrize("table", ["config", "CONFIG", "sqlite_master", "x; DROP", "", "1a"])
    def test_bad_table_names(self, db: Path, table: str) -> None:
        """Reserved or unsafe table names are refused before touching the file."""
        with pytest.raises(ConfigurationError, match="table"):
            SQLiteLeadStore(db, table=table)
        assert not db.exists()

    @pytest.mark.parametrize("config", [["enabled"], {"batchSize": math.nan}])
    def test_bad_config_refused_before_opening(self, db: Path, config: Any) -> None:
        """A config that cannot be stored is refused before the file is created."""
        with pytest.raises(ConfigurationError, match="config item"):
            SQLiteLeadStore(db, config=config)
        assert not db.exists()

    @pytest.mark.parametrize("page_size", [0, -1, True])
    def test_bad_page_size(self, db: Path, page_size: Any) -> None:
        """page_size must be a positive integer."""
        with pytest.raises(ConfigurationError, match="page_size"):
            SQLiteLeadStore(db, page_size=page_size)

    def test_closed_store_refuses(self, db: Path) -> None:
        """After close every operation raises StorageError; closing twice is harmless."""
        store = SQLiteLeadStore(db)
        store.close()
        store.close()
        with pytest.raises(StorageError, match="closed"):
            store.get("x")
        with pytest.raises(StorageError, match="closed"):
            list(store.iter_due(now_ms=NOW, ttl_days=7))
        assert "closed" in repr(store)

    def test_protocol(self, store: SQLiteLeadStore) -> None:
        """SQLiteLeadStore is a LeadStore."""
        assert isinstance(store, LeadStore)


class TestStreaming:
    def test_pages_are_read_lazily(self, store: SQLiteLeadStore) -> None:
        """Later pages see writes made after iteration began: the table is never read at once."""
        store.put([lead(n) for n in range(6)])
        seen = []
        for due in store.iter_due(now_ms=NOW, ttl_days=7):
            seen.append(due.lead_id)
            assert store.save(due, update()) == "saved"
            if due.lead_id == "lead-0000":
                assert store.delete("lead-0004")
                store.put([lead(9)])
        assert seen == [
            "lead-0000",
            "lead-0001",
            "lead-0002",
            "lead-0003",
            "lead-0005",
            "lead-0009",
        ]
        assert list(store.iter_due(now_ms=NOW, ttl_days=7)) == []

    def test_saved_by_another_store_mid_iteration(self, store: SQLiteLeadStore, db: Path) -> None:
        """A lead saved through another connection before its page is read is not yielded."""
        store.put([lead(n) for n in range(4)])
        iterator = store.iter_due(now_ms=NOW, ttl_days=7)
        assert next(iterator).lead_id == "lead-0000"
        with SQLiteLeadStore(db) as other:
            item = other.get("lead-0003")
            assert item is not None
            assert other.save(StoredLead("lead-0003", item), update()) == "saved"
        assert [d.lead_id for d in iterator] == ["lead-0001", "lead-0002"]

    @pytest.mark.parametrize("limit", [0, 1, 2, 3, 5, 7, 100])
    def test_limit_across_pages(self, store: SQLiteLeadStore, limit: int) -> None:
        """limit is exact whatever the page size."""
        store.put([lead(n) for n in range(7)])
        got = [d.lead_id for d in store.iter_due(now_ms=NOW, ttl_days=7, limit=limit)]
        assert got == [f"lead-{n:04d}" for n in range(min(limit, 7))]

    def test_scan_pages(self, store: SQLiteLeadStore) -> None:
        """scan yields every item in leadId order across pages."""
        store.put([lead(n) for n in (5, 3, 1, 4, 2)])
        assert [i["leadId"] for i in store.scan()] == [f"lead-{n:04d}" for n in range(1, 6)]

    def test_rollback_across_pages(self, store: SQLiteLeadStore) -> None:
        """A rollback reaches every page and resets the selection column."""
        store.put([lead(n) for n in range(7)])
        for due in store.iter_due(now_ms=NOW, ttl_days=7):
            store.save(due, update("bad" if due.lead_id != "lead-0003" else "good"))
        assert store.rollback("bad") == 6
        due_ids = [d.lead_id for d in store.iter_due(now_ms=NOW, ttl_days=7)]
        assert due_ids == [f"lead-{n:04d}" for n in range(7) if n != 3]
        assert store.get("lead-0000") == lead(0)  # restored exactly: no updatedAt before

    def test_negative_limit(self, store: SQLiteLeadStore) -> None:
        """A negative limit is a configuration error."""
        with pytest.raises(ConfigurationError, match="limit"):
            store.iter_due(now_ms=NOW, ttl_days=7, limit=-3)

    @pytest.mark.parametrize(
        ("normalized_at", "due"),
        [(10**30, False), (-(10**30), True), (1e300, False), (True, True), ("ayer", True)],
    )
    def test_odd_normalized_at(self, store: SQLiteLeadStore, normalized_at: Any, due: bool) -> None:
        """Huge, boolean and textual normalizedAt values are stored and selected sensibly."""
        store.put([lead(0, normalizedAt=normalized_at)])
        assert len(list(store.iter_due(now_ms=NOW, ttl_days=7))) == int(due)
        assert dumped(store.get("lead-0000")) == dumped(lead(0, normalizedAt=normalized_at))


_json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


class TestJSON:
    @settings(suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
    @given(value=_json_values, key=st.text(min_size=1, max_size=10).filter(lambda k: k != "leadId"))
    def test_round_trip(self, store: SQLiteLeadStore, value: Any, key: str) -> None:
        """Any JSON value comes back exactly: same types, same digits, same characters."""
        item = {"leadId": "x", key: value, "updatedAt": value}
        store.put([item])
        got = store.get("x")
        assert dumped(got) == dumped(item)
        [scanned] = store.scan()
        assert dumped(scanned) == dumped(item)
        # The updatedAt column matches what a reader sees, so an unchanged lead saves.
        assert store.save(StoredLead("x", scanned), update()) == "saved"

    @pytest.mark.parametrize(
        "value",
        [0.1, -0.0, 1e-320, 1.7976931348623157e308, 2**63, -(2**70), 10**40, 3, 3.0, True],
    )
    def test_numbers_keep_type_and_digits(self, store: SQLiteLeadStore, value: Any) -> None:
        """Floats, big integers and booleans keep their exact value and type."""
        store.put([lead(0, number=value)])
        got = store.get("lead-0000")
        assert got is not None
        assert type(got["number"]) is type(value)
        assert dumped(got["number"]) == dumped(value)

    def test_unicode_stored_as_utf8(self, store: SQLiteLeadStore, db: Path) -> None:
        """Accents, emoji and control characters are stored as UTF-8 text, unescaped."""
        value = "Bogotá D.C. ñandú 🙂 \u200b\x00\t línea\nnueva"
        store.put([lead(0, ciudad=value)])
        got = store.get("lead-0000")
        assert got is not None
        assert got["ciudad"] == value
        conn = raw(db)
        try:
            [(text,)] = conn.execute("SELECT item FROM leads").fetchall()
        finally:
            conn.close()
        assert "Bogotá D.C. ñandú 🙂" in text

    def test_lone_surrogate_survives(self, store: SQLiteLeadStore) -> None:
        """A lone surrogate (not UTF-8 encodable) is escaped and comes back as it was."""
        store.put([lead(0, ciudad="ro\udcffto")])
        got = store.get("lead-0000")
        assert got is not None
        assert got["ciudad"] == "ro\udcffto"

    def test_surrogate_lead_id_refused(self, store: SQLiteLeadStore) -> None:
        """A leadId that cannot be stored as UTF-8 is refused by position."""
        with pytest.raises(ConfigurationError, match="item 0"):
            store.put([{"leadId": "a\ud800"}])

    def test_decimal_and_sets_become_plain(self, store: SQLiteLeadStore) -> None:
        """DynamoDB's Decimal and set values are written as plain numbers and sorted lists."""
        store.put(
            [lead(0, score=Decimal("42"), ratio=Decimal("0.25"), tags={"b", "a"}, empty=Decimal(0))]
        )
        got = store.get("lead-0000")
        assert got is not None
        assert (got["score"], got["ratio"], got["tags"], got["empty"]) == (42, 0.25, ["a", "b"], 0)
        assert type(got["score"]) is int

    @pytest.mark.parametrize(
        "value", [math.nan, math.inf, Decimal("NaN"), object(), {1, "a"}, b"bytes"]
    )
    def test_unstorable_values_refused(self, store: SQLiteLeadStore, value: Any) -> None:
        """A value JSON cannot carry is refused by position, and nothing of the put is written."""
        with pytest.raises(ConfigurationError, match="item 1") as info:
            store.put([lead(0), lead(1, secret=value)])
        assert "SECRETO" not in str(info.value)
        assert list(store.scan()) == []

    @pytest.mark.parametrize("bad", [{"nombres": "X"}, {"leadId": 7}, {"leadId": ""}, "leadId"])
    def test_bad_items_refused_all_or_nothing(self, store: SQLiteLeadStore, bad: Any) -> None:
        """An item without a non-empty string leadId rolls the whole put back."""
        store.put([lead(9)])
        with pytest.raises(ConfigurationError, match="item 2"):
            store.put(iter([lead(0), lead(1), bad]))
        assert [i["leadId"] for i in store.scan()] == ["lead-0009"]

    def test_corrupt_item_is_a_storage_error(self, store: SQLiteLeadStore, db: Path) -> None:
        """An item column that another tool broke gives a StorageError naming the lead."""
        conn = raw(db)
        conn.execute("INSERT INTO leads (lead_id, item) VALUES ('bad', '{not json')")
        conn.execute("INSERT INTO leads (lead_id, item) VALUES ('list', '[1]')")
        conn.close()
        with pytest.raises(StorageError, match="'bad'"):
            store.get("bad")
        with pytest.raises(StorageError, match="'list'"):
            store.get("list")


class TestConnections:
    def test_second_connection_sees_commits(self, store: SQLiteLeadStore, db: Path) -> None:
        """A second store on the file sees puts, saves and rollbacks once they return."""
        with SQLiteLeadStore(db) as other:
            store.put([lead(0), lead(1)])
            assert other.get("lead-0001") == lead(1)
            [due, _] = store.iter_due(now_ms=NOW, ttl_days=7)
            assert store.save(due, update()) == "saved"
            assert [d.lead_id for d in other.iter_due(now_ms=NOW, ttl_days=7)] == ["lead-0001"]
            assert store.rollback("v1") == 1
            assert len(list(other.iter_due(now_ms=NOW, ttl_days=7))) == 2

    def test_conflict_from_another_connection(self, store: SQLiteLeadStore, db: Path) -> None:
        """An edit committed by another store between read and save is a conflict."""
        store.put([lead(0, updatedAt="2024-03-01T12:14:26.162Z")])
        [due] = store.iter_due(now_ms=NOW, ttl_days=7)
        with SQLiteLeadStore(db) as other:
            other.put([lead(0, nombres="EDITADO", updatedAt="2024-03-02T00:00:00.000Z")])
        assert store.save(due, update()) == "conflict"
        got = store.get("lead-0000")
        assert got == lead(0, nombres="EDITADO", updatedAt="2024-03-02T00:00:00.000Z")

    def test_save_waits_for_concurrent_edit(self, store: SQLiteLeadStore, db: Path) -> None:
        """A save racing an open write transaction elsewhere waits for it, then sees the edit."""
        store.put([lead(0, updatedAt=1)])
        [due] = store.iter_due(now_ms=NOW, ttl_days=7)
        conn = raw(db)
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(
            "UPDATE leads SET item = ?, updated_at = '2' WHERE lead_id = 'lead-0000'",
            (json.dumps(lead(0, nombres="EDITADO", updatedAt=2)),),
        )
        result: list[str] = []
        saver = threading.Thread(target=lambda: result.append(store.save(due, update())))
        saver.start()
        saver.join(0.3)
        assert saver.is_alive()  # blocked on the other connection's write lock
        conn.execute("COMMIT")
        conn.close()
        saver.join(5)
        assert result == ["conflict"]
        got = store.get("lead-0000")
        assert got is not None
        assert got["nombres"] == "EDITADO"
        assert "normalizedData" not in got

    def test_deleted_by_another_connection(self, store: SQLiteLeadStore, db: Path) -> None:
        """A lead deleted elsewhere after it was read is missing, and not re-created."""
        store.put([lead(0)])
        [due] = store.iter_due(now_ms=NOW, ttl_days=7)
        conn = raw(db)
        conn.execute("DELETE FROM leads")
        conn.close()
        assert store.save(due, update()) == "missing"
        assert list(store.scan()) == []

    def test_locked_too_long_is_a_storage_error(self, db: Path) -> None:
        """A write lock held past timeout_s gives a StorageError, and the store stays usable."""
        with SQLiteLeadStore(db, timeout_s=0.05) as store:
            store.put([lead(0)])
            [due] = store.iter_due(now_ms=NOW, ttl_days=7)
            conn = raw(db)
            conn.execute("BEGIN IMMEDIATE")
            with pytest.raises(StorageError, match="save failed: database is locked"):
                store.save(due, update())
            conn.execute("ROLLBACK")
            conn.close()
            assert store.save(due, update()) == "saved"

    @pytest.mark.parametrize(("stored", "seen"), [(1, True), (1, 1.0), (1, "1"), ("a", None)])
    def test_updated_at_compared_exactly(
        self, store: SQLiteLeadStore, stored: Any, seen: Any
    ) -> None:
        """updatedAt values of another type or value are a conflict."""
        store.put([lead(0, updatedAt=stored)])
        assert store.save(StoredLead("lead-0000", lead(0, updatedAt=seen)), update()) == "conflict"

    def test_unreadable_seen_updated_at(self, store: SQLiteLeadStore) -> None:
        """A hand-made StoredLead whose updatedAt is no JSON value is refused, not saved."""
        store.put([lead(0, updatedAt=1)])
        with pytest.raises(ConfigurationError, match="lead-0000"):
            store.save(StoredLead("lead-0000", lead(0, updatedAt=object())), update())

    def test_null_updated_at_counts_as_absent(self, store: SQLiteLeadStore) -> None:
        """A stored null updatedAt matches a lead read without one."""
        store.put([lead(0, updatedAt=None)])
        assert store.save(StoredLead("lead-0000", lead(0)), update()) == "saved"


class TestThreads:
    def test_one_store_shared_by_threads(self, db: Path) -> None:
        """Threads sharing one store save, read and put at once without errors or losses."""
        with SQLiteLeadStore(db, page_size=16) as store:
            store.put([lead(n) for n in range(200)])
            dues = list(store.iter_due(now_ms=NOW, ttl_days=7))
            results = self._run_threads(
                8, lambda k: [_save_and_browse(store, due, k) for due in dues[k::8]]
            )
            assert sorted(results) == ["saved"] * 200
            assert list(store.iter_due(now_ms=NOW, ttl_days=7)) != []  # the puts of new leads
            assert all("normalizedData" in (store.get(d.lead_id) or {}) for d in dues)

    def test_one_store_per_thread(self, db: Path) -> None:
        """Threads with their own connection to one file all save, waiting for each other."""
        with SQLiteLeadStore(db) as setup:
            setup.put([lead(n) for n in range(120)])
            dues = list(setup.iter_due(now_ms=NOW, ttl_days=7))

        def work(k: int) -> list[str]:
            with SQLiteLeadStore(db, timeout_s=30) as own:
                return [own.save(due, update()) for due in dues[k::6]]

        assert sorted(self._run_threads(6, work)) == ["saved"] * 120

    def test_racing_saves_of_one_lead(self, db: Path) -> None:
        """Of many threads saving the same lead read once, exactly one wins."""
        with SQLiteLeadStore(db) as store:
            store.put([lead(0)])
            [due] = store.iter_due(now_ms=NOW, ttl_days=7)
            results = self._run_threads(8, lambda k: [store.save(due, update(at=NOW + k))])
            assert sorted(results) == ["conflict"] * 7 + ["saved"]

    @staticmethod
    def _run_threads(count: int, work: Any) -> list[str]:
        results: list[str] = []
        errors: list[BaseException] = []
        barrier = threading.Barrier(count)

        def run(k: int) -> None:
            try:
                barrier.wait()
                results.extend(work(k))
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=run, args=(k,)) for k in range(count)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        return results


def _save_and_browse(store: SQLiteLeadStore, due: StoredLead, k: int) -> str:
    status = store.save(due, update())
    store.put([lead(1000 + k)])
    list(store.iter_due(now_ms=NOW, ttl_days=7, limit=3))
    return status


SECRET = "SECRETO ÑOÑO"


def write_raw_row(db: Path, lead_id: bytes | str, item: bytes) -> None:
    """Store bytes as TEXT, as a tool writing another encoding would: no check by SQLite."""
    conn = raw(db)
    try:
        conn.execute(
            "INSERT INTO leads (lead_id, item) VALUES (CAST(? AS TEXT), CAST(? AS TEXT))",
            (lead_id.encode() if isinstance(lead_id, str) else lead_id, item),
        )
    finally:
        conn.close()


def latin1_item(lead_id: str) -> bytes:
    """A lead's JSON in Latin-1: invalid UTF-8, and personal data in it."""
    return json.dumps({"leadId": lead_id, "nombres": SECRET}, ensure_ascii=False).encode("latin-1")


class TestUndecodableRows:
    """A row that cannot be decoded is skipped by name, never quoted, and blocks no other lead."""

    @pytest.fixture
    def broken(self, db: Path) -> Iterator[SQLiteLeadStore]:
        with SQLiteLeadStore(db, page_size=2) as store:
            store.put([lead(n) for n in range(5)])
            write_raw_row(db, "lead-0002x", latin1_item("lead-0002x"))
            yield store

    def test_scan_skips_and_names_the_lead(
        self, broken: SQLiteLeadStore, caplog: pytest.LogCaptureFixture
    ) -> None:
        """scan yields every other lead; the warning names the id and the problem only."""
        caplog.set_level("WARNING", logger="llm_normalize.stores.sqlite")
        ids = [item["leadId"] for item in broken.scan()]
        assert ids == [f"lead-{n:04d}" for n in range(5)]
        assert "lead-0002x" in caplog.text
        assert "UTF-8" in caplog.text
        assert "SECRETO" not in caplog.text
        assert broken.unreadable == ("lead-0002x",)

    def test_iter_due_skips_and_counts_within_limit(self, broken: SQLiteLeadStore) -> None:
        """iter_due skips the row, and a limit still hands out that many readable leads."""
        due = [d.lead_id for d in broken.iter_due(now_ms=NOW, ttl_days=7, limit=4)]
        assert due == ["lead-0000", "lead-0001", "lead-0002", "lead-0003"]
        due = [d.lead_id for d in broken.iter_due(now_ms=NOW, ttl_days=7)]
        assert len(due) == 5
        assert broken.unreadable == ("lead-0002x",)

    def test_get_names_the_lead_not_the_bytes(self, broken: SQLiteLeadStore) -> None:
        """get of the broken row raises StorageError naming the lead, with no value in it."""
        with pytest.raises(StorageError) as info:
            broken.get("lead-0002x")
        message = str(info.value)
        assert "'lead-0002x'" in message
        assert "UTF-8" in message
        assert "SECRETO" not in message
        assert "SECRETO" not in repr(info.value.__cause__)

    def test_rollback_skips_it(self, broken: SQLiteLeadStore) -> None:
        """Rollback goes past a row it cannot read."""
        for due in broken.iter_due(now_ms=NOW, ttl_days=7):
            assert broken.save(due, update()) == "saved"
        assert broken.rollback("v1") == 5

    def test_save_of_a_lead_broken_since_read_is_a_conflict(
        self, store: SQLiteLeadStore, db: Path
    ) -> None:
        """A lead whose row became unreadable after the read is not overwritten."""
        store.put([lead(0)])
        [due] = store.iter_due(now_ms=NOW, ttl_days=7)
        conn = raw(db)
        try:
            conn.execute(
                "UPDATE leads SET item = CAST(? AS TEXT) WHERE lead_id = 'lead-0000'",
                (latin1_item("lead-0000"),),
            )
        finally:
            conn.close()
        assert store.save(due, update()) == "conflict"

    def test_undecodable_lead_id(self, store: SQLiteLeadStore, db: Path) -> None:
        """A lead id that is not UTF-8 is skipped too, named with escapes, and paging goes on."""
        store.put([lead(0), lead(1)])
        write_raw_row(db, b"lead-0000\xff", b'{"leadId": "x"}')
        assert [i["leadId"] for i in store.scan()] == ["lead-0000", "lead-0001"]
        assert store.unreadable == ("lead-0000\\xff",)

    @pytest.mark.parametrize(
        ("text", "problem"), [("{not json", "not valid JSON"), ("[1]", "not a JSON object")]
    )
    def test_bad_json_is_skipped(
        self, store: SQLiteLeadStore, db: Path, text: str, problem: str
    ) -> None:
        """An item that is not a JSON object is skipped by scan, and named by get."""
        store.put([lead(0)])
        write_raw_row(db, "bad", text.encode())
        assert [i["leadId"] for i in store.scan()] == ["lead-0000"]
        with pytest.raises(StorageError, match=problem):
            store.get("bad")

    def test_unreadable_config_names_no_value(self, store: SQLiteLeadStore, db: Path) -> None:
        """A config item that is not UTF-8 is a StorageError without its bytes."""
        conn = raw(db)
        try:
            conn.execute(
                "INSERT INTO config (config_id, item) VALUES ('normalization-settings', "
                "CAST(? AS TEXT))",
                (json.dumps({"secret": SECRET}, ensure_ascii=False).encode("latin-1"),),
            )
        finally:
            conn.close()
        with pytest.raises(StorageError) as info:
            store.load_config()
        assert "SECRETO" not in str(info.value)


class TestCommandLineOnUndecodableRows:
    """run, export and report go on past a broken row and never print its bytes."""

    @pytest.fixture
    def url(self, db: Path) -> str:
        with SQLiteLeadStore(db) as store:
            store.put([lead(0), lead(1)])
        write_raw_row(db, "broken", latin1_item("broken"))
        return f"sqlite:///{db}"

    @pytest.mark.parametrize(
        "command",
        [
            ["run", "--no-progress"],
            ["export", "-o", "-"],
            ["report", "--no-values", "--json"],
        ],
        ids=["run", "export", "report"],
    )
    def test_command(
        self,
        url: str,
        command: list[str],
        tmp_path: Path,
        capsys: pytest.CaptureFixture[str],
        caplog: pytest.LogCaptureFixture,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        """The command succeeds on the other leads; nothing it prints holds the stored bytes."""
        from llm_normalize.cli import main

        monkeypatch.chdir(tmp_path)
        caplog.set_level("WARNING")
        status = main([command[0], "--store", url, *command[1:]])
        out, err = capsys.readouterr()
        printed = out + err + caplog.text
        assert status == 0, err
        assert "SECRETO" not in printed
        assert "ÑOÑO" not in printed
        assert "Could not decode" not in printed
        assert "broken" in caplog.text
        if command[0] == "export":
            assert [json.loads(line)["leadId"] for line in out.splitlines()] == [
                "lead-0000",
                "lead-0001",
            ]


class TestFileMode:
    """The database holds personal data: only its owner may read it."""

    def test_new_database_is_private(self, tmp_path: Path) -> None:
        """A new file, its WAL and its shared-memory file are created 0600."""
        db = tmp_path / "new.db"
        with SQLiteLeadStore(db) as store:
            store.put([lead(0)])
            store.save(next(iter(store.iter_due(now_ms=NOW, ttl_days=7))), update())
            made = [p for p in (db, Path(f"{db}-wal"), Path(f"{db}-shm")) if p.exists()]
            assert len(made) == 3
            for path in made:
                assert path.stat().st_mode & 0o777 == 0o600, path.name

    def test_new_database_in_new_directories(self, tmp_path: Path) -> None:
        """A file created with its parent directories is 0600 too."""
        db = tmp_path / "a" / "b" / "leads.db"
        SQLiteLeadStore(db).close()
        assert db.stat().st_mode & 0o777 == 0o600

    def test_existing_file_keeps_its_mode(self, tmp_path: Path) -> None:
        """A database the user created keeps the mode the user gave it."""
        db = tmp_path / "shared.db"
        SQLiteLeadStore(db).close()
        db.chmod(0o640)
        with SQLiteLeadStore(db) as store:
            store.put([lead(0)])
        assert db.stat().st_mode & 0o777 == 0o640

    def test_open_store_url(self, tmp_path: Path) -> None:
        """A store opened by URL (the CLI's way) is created 0600."""
        from llm_normalize.stores import open_store

        db = tmp_path / "cli.db"
        open_store(f"sqlite:///{db}", create=True).close()
        assert db.stat().st_mode & 0o777 == 0o600
