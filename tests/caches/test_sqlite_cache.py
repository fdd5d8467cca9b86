"""SQLiteValueCache on real SQLite files: its own file, the lead store's file, a given connection."""

from __future__ import annotations

import logging
import os
import sqlite3
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from llm_normalize.backends.fake import FakeBackend
from llm_normalize.backends.retry import RetryPolicy
from llm_normalize.caches import (
    BatchedCache,
    CacheKey,
    PurgeableCache,
    TieredCache,
    ValueCache,
    cache_key,
    get_many,
    hash_cache_key,
)
from llm_normalize.caches.sqlite import SQLiteValueCache
from llm_normalize.exceptions import ConfigurationError, StorageError, StoreNotFoundError
from llm_normalize.pipeline import Normalizer
from llm_normalize.stores.sqlite import SQLiteLeadStore

SECRET = "Calle Secreta 123"


def key(raw: str, version: str = "v1@model") -> CacheKey:
    return cache_key("direccion", raw, version)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "cache.db"


@pytest.fixture
def cache(db: Path) -> Iterator[SQLiteValueCache]:
    with SQLiteValueCache(db) as opened:
        yield opened


class TestValues:
    def test_get_set(self, cache: SQLiteValueCache) -> None:
        """A value set under a key is found under it only; setting again replaces it."""
        assert isinstance(cache, ValueCache)
        assert cache.get(key("a")) is None
        cache.set(key("a"), "Cl. 1 # 2 - 3")
        assert cache.get(key("a")) == "Cl. 1 # 2 - 3"
        assert cache.get(key("a", "v2@model")) is None
        assert cache.get(key("A")) is None
        cache.set(key("a"), "Cl. 1 # 2 - 4")
        assert cache.get(key("a")) == "Cl. 1 # 2 - 4"
        assert (cache.hits, cache.misses, len(cache)) == (2, 3, 1)

    def test_survives_reopening(self, db: Path) -> None:
        """Entries persist in the file: another cache on it (a later run) finds them."""
        with SQLiteValueCache(db) as first:
            first.set_many({key("a"): "A", key("b"): "B"})
        with SQLiteValueCache(db) as second:
            assert second.get_many([key("a"), key("b"), key("c")]) == {key("a"): "A", key("b"): "B"}

    def test_raw_values_are_only_hashed(self, cache: SQLiteValueCache, db: Path) -> None:
        """The file holds the key's hash, the field and the version; never the raw value."""
        cache.set(key(SECRET), "Cl. 1")
        cache.close()
        row = sqlite3.connect(db).execute("SELECT * FROM value_cache").fetchone()
        assert row[:4] == (hash_cache_key(key(SECRET)), "direccion", "v1@model", "Cl. 1")
        raw_bytes = b"".join(p.read_bytes() for p in db.parent.iterdir() if p.is_file())
        assert SECRET.encode() not in raw_bytes

    def test_lone_surrogate_is_skipped(self, cache: SQLiteValueCache) -> None:
        """A value UTF-8 cannot carry is not stored (and the others are)."""
        cache.set_many({key("a"): "bad \udc80", key("b"): "good"})
        assert cache.get_many([key("a"), key("b")]) == {key("b"): "good"}

    def test_undecodable_value_is_a_miss(self, cache: SQLiteValueCache, db: Path) -> None:
        """A value another tool wrote as invalid UTF-8 misses; no error quotes it."""
        conn = sqlite3.connect(db, isolation_level=None)
        conn.execute(
            "INSERT INTO value_cache VALUES (?, 'direccion', 'v1@model', CAST(? AS TEXT), 0)",
            (hash_cache_key(key("x")), b"\xff" + SECRET.encode()),
        )
        conn.close()
        assert cache.get(key("x")) is None

    def test_is_batched_and_purgeable(self, cache: SQLiteValueCache) -> None:
        assert isinstance(cache, BatchedCache)
        assert isinstance(cache, PurgeableCache)

    def test_repr_has_no_values(self, cache: SQLiteValueCache, db: Path) -> None:
        cache.set(key(SECRET), SECRET)
        cache.get(key(SECRET))
        assert SECRET not in repr(cache)
        assert repr(cache) == (
            f"SQLiteValueCache({str(db)!r}, table='value_cache', hits=1, misses=0, errors=0)"
        )


class TestBatches:
    def test_get_many_is_one_query_per_500_keys(self, db: Path) -> None:
        """1,200 keys are looked up in 3 SELECTs; 1,200 values are written in one transaction."""
        conn = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
        statements: list[str] = []
        conn.set_trace_callback(statements.append)
        cache = SQLiteValueCache(conn)
        statements.clear()
        items = {key(f"raw {n}"): f"value {n}" for n in range(1_200)}
        cache.set_many(items)
        assert [s for s in statements if s.startswith(("BEGIN", "COMMIT"))] == [
            "BEGIN IMMEDIATE",
            "COMMIT",
        ]
        statements.clear()
        found = cache.get_many([*items, key("absent")])
        assert found == items
        assert len([s for s in statements if s.startswith("SELECT")]) == 3
        assert (cache.hits, cache.misses) == (1_200, 1)
        conn.close()

    def test_helper_uses_the_batch(self, cache: SQLiteValueCache) -> None:
        """caches.get_many asks a SQLite cache once for all its keys (duplicates once)."""
        cache.set(key("a"), "A")
        assert get_many(cache, [key("a"), key("a"), key("b")]) == {key("a"): "A"}
        assert (cache.hits, cache.misses) == (1, 1)


class TestPurge:
    def test_purge_one_prompt_version(self, cache: SQLiteValueCache) -> None:
        """Entries of the version (any model, or the bare version) go; v10 and v2 stay."""
        cache.set_many(
            {
                key("a", "v1@model-a"): "1",
                key("b", "v1@model-b"): "2",
                key("c", "v1"): "3",
                key("d", "v10@model-a"): "4",
                key("e", "v2@model-a"): "5",
                key("f", "v1A"): "6",
            }
        )
        assert cache.purge("v1") == 3
        assert len(cache) == 3
        assert cache.get(key("d", "v10@model-a")) == "4"
        assert cache.get(key("f", "v1A")) == "6"
        assert cache.purge("v2@model-a") == 1
        assert cache.purge("v1") == 0

    @pytest.mark.parametrize("version", ["", "  ", None])
    def test_empty_version_is_refused(self, cache: SQLiteValueCache, version: object) -> None:
        with pytest.raises(ConfigurationError):
            cache.purge(version)  # type: ignore[arg-type]

    def test_clear(self, cache: SQLiteValueCache) -> None:
        cache.set(key("a"), "A")
        cache.get(key("a"))
        cache.clear()
        assert (len(cache), cache.hits, cache.misses) == (0, 0, 0)


class TestFile:
    def test_new_file_is_owner_only(self, tmp_path: Path) -> None:
        """A new cache file (and its WAL files, and missing directories) holds personal data: 0600."""
        db = tmp_path / "deep" / "er" / "cache.db"
        old = os.umask(0o002)
        try:
            cache = SQLiteValueCache(db)
            cache.set(key("a"), "A")
            files = [p for p in db.parent.iterdir() if p.name.startswith("cache.db")]
            assert {p.name for p in files} >= {"cache.db", "cache.db-wal"}
            assert all(mode(p) == 0o600 for p in files), {p.name: oct(mode(p)) for p in files}
            cache.close()
        finally:
            os.umask(old)

    def test_existing_file_keeps_its_mode(self, db: Path) -> None:
        """The owner's chmod of an existing file is respected."""
        sqlite3.connect(db).close()
        db.chmod(0o640)
        SQLiteValueCache(db).close()
        assert mode(db) == 0o640

    def test_wal_mode(self, cache: SQLiteValueCache, db: Path) -> None:
        conn = sqlite3.connect(db)
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        conn.close()

    def test_missing_file_without_create(self, tmp_path: Path) -> None:
        """create=False refuses a missing file and creates nothing."""
        db = tmp_path / "nope.db"
        with pytest.raises(StoreNotFoundError, match="does not exist"):
            SQLiteValueCache(db, create=False)
        assert not db.exists()

    def test_not_a_database(self, tmp_path: Path) -> None:
        db = tmp_path / "notes.db"
        db.write_text("not sqlite at all " * 100, encoding="utf-8")
        with pytest.raises(StorageError, match="open failed"):
            SQLiteValueCache(db)

    def test_table_with_other_columns(self, db: Path) -> None:
        conn = sqlite3.connect(db)
        conn.execute("CREATE TABLE value_cache (k TEXT)")
        conn.commit()
        conn.close()
        with pytest.raises(StorageError, match="exists with columns k"):
            SQLiteValueCache(db)

    @pytest.mark.parametrize("table", ["", "a-b", "x; DROP TABLE leads", "1abc"])
    def test_bad_table_name(self, db: Path, table: str) -> None:
        with pytest.raises(ConfigurationError):
            SQLiteValueCache(db, table=table)

    def test_closed(self, db: Path) -> None:
        """A closed cache raises; closing twice is harmless."""
        cache = SQLiteValueCache(db)
        cache.close()
        cache.close()
        with pytest.raises(StorageError, match="is closed"):
            cache.get(key("a"))

    def test_given_connection_stays_open(self, db: Path) -> None:
        """close() leaves a connection it was given to its owner."""
        conn = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
        cache = SQLiteValueCache(conn)
        cache.set(key("a"), "A")
        cache.close()
        assert conn.execute("SELECT COUNT(*) FROM value_cache").fetchone() == (1,)
        conn.close()

    def test_memory(self) -> None:
        with SQLiteValueCache(":memory:") as cache:
            cache.set(key("a"), "A")
            assert cache.get(key("a")) == "A"


class TestSharing:
    def test_in_the_lead_store_file(self, tmp_path: Path) -> None:
        """The store and the cache share one file: each keeps its table, both keep working."""
        db = tmp_path / "leads.db"
        store = SQLiteLeadStore(db)
        store.put([{"leadId": "a1", "ciudad": "bogta"}])
        cache = SQLiteValueCache(db, create=False)
        cache.set(key("a"), "A")
        store.put([{"leadId": "a2", "ciudad": "cali"}])
        assert [item["leadId"] for item in store.scan()] == ["a1", "a2"]
        assert cache.get(key("a")) == "A"
        tables = {
            row[0]
            for row in sqlite3.connect(db).execute("SELECT name FROM sqlite_master")
            if not row[0].startswith("sqlite_")
        }
        assert {"leads", "config", "value_cache"} <= tables
        cache.close()
        store.close()
        # The store still opens the file as a store afterwards.
        with SQLiteLeadStore(db, create=False) as again:
            assert again.get("a1") == {"leadId": "a1", "ciudad": "bogta"}

    def test_threads(self, cache: SQLiteValueCache) -> None:
        """One cache shared by threads: every write lands, every read answers."""
        errors: list[BaseException] = []

        def work(n: int) -> None:
            try:
                for i in range(50):
                    cache.set(key(f"{n}-{i}"), f"{n}:{i}")
                    assert cache.get(key(f"{n}-{i}")) == f"{n}:{i}"
                    cache.get_many([key(f"{n}-{j}") for j in range(i)])
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        assert len(cache) == 400

    def test_a_locked_file_skips_writes(self, db: Path, caplog: pytest.LogCaptureFixture) -> None:
        """Another writer holding the file past the timeout: set skips, get still reads, purge raises."""
        cache = SQLiteValueCache(db, timeout_s=0.05)
        cache.set(key("a"), SECRET)
        other = sqlite3.connect(db, isolation_level=None, timeout=0.05)
        other.execute("BEGIN IMMEDIATE")
        try:
            with caplog.at_level(logging.WARNING):
                cache.set(key("b"), SECRET)
            assert cache.get(key("a")) == SECRET  # WAL: readers never wait for the writer
            with pytest.raises(StorageError, match="purge failed: database is locked"):
                cache.purge("v1")
        finally:
            other.execute("ROLLBACK")
            other.close()
        assert cache.errors == 1
        assert cache.get(key("b")) is None
        [message] = [r.getMessage() for r in caplog.records]
        assert "locked" in message
        assert SECRET not in message
        cache.set(key("b"), "B")
        assert cache.get(key("b")) == "B"
        cache.close()


class TestPipeline:
    def test_second_normalizer_asks_no_model(self, db: Path) -> None:
        """A later normalizer (a later run) answers from the file what the first asked."""
        records = [{"leadId": "1", "ciudad": "pueblo raro", "ocupacionActual": "cosas varias"}]
        no_sleep = RetryPolicy(sleep=lambda _s: None)
        first_backend, second_backend = FakeBackend(), FakeBackend()
        with SQLiteValueCache(db) as first_cache:
            Normalizer(first_backend, cache=TieredCache(first_cache), retry=no_sleep).normalize(
                records
            )
        assert first_backend.requests
        with SQLiteValueCache(db) as second_cache:
            second = Normalizer(second_backend, cache=TieredCache(second_cache), retry=no_sleep)
            [result] = second.normalize(records)
        assert second_backend.requests == []
        assert "cache" in result.sources.values()

    def test_rollback_purges_the_store_file_cache(self, tmp_path: Path) -> None:
        """Normalizer.rollback purges the cache in the store's file, so the model is asked again."""
        db = tmp_path / "leads.db"
        leads = [{"leadId": "1", "ciudad": "pueblo raro"}]
        no_sleep = RetryPolicy(sleep=lambda _s: None)
        with SQLiteLeadStore(db) as store:
            store.put(leads)
            backend = FakeBackend()
            with SQLiteValueCache(db, create=False) as cache:
                normalizer = Normalizer(backend, cache=cache, retry=no_sleep)
                report = normalizer.run(store)
                assert len(cache) >= 1
                calls = len(backend.requests)
                assert normalizer.rollback(store, report.prompt_version or "") == 1
                assert len(cache) == 0
                normalizer.run(store)
                assert len(backend.requests) > calls


def test_import_does_not_import_sqlite3() -> None:
    """Importing the caches package costs no sqlite3; the module loads it when imported."""
    code = (
        "import sys, llm_normalize, llm_normalize.caches\n"
        "assert 'sqlite3' not in sys.modules\n"
        "assert 'llm_normalize.caches.sqlite' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
