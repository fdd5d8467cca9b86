"""MemoryLeadStore specifics; the shared behaviour is in test_contract.py."""

import math
import threading
from typing import Any

import pytest

from llm_normalize.exceptions import ConfigurationError, StorageError
from llm_normalize.stores.base import LeadStore, LeadUpdate, StoredLead
from llm_normalize.stores.memory import MemoryLeadStore

NOW = 1_764_000_000_000
DAY = 24 * 60 * 60 * 1000


def lead(n: int, **extra: Any) -> dict[str, Any]:
    return {
        "leadId": f"lead-{n:04d}",
        "ciudad": "bogota",
        "tags": ["a"],
        "nested": {"x": 1},
        **extra,
    }


def update(version: str = "v1", at: int = NOW) -> LeadUpdate:
    return LeadUpdate(
        normalized_data={"ciudad": "Bogotá D.C."},
        meta={"promptVersion": version, "modelId": "fake", "source": {"ciudad": "rules"}},
        timestamp_ms=at,
    )


class TestCopies:
    def test_put_copies(self) -> None:
        """Mutating an item after putting it does not change the stored lead."""
        item = lead(0)
        store = MemoryLeadStore([item])
        item["ciudad"] = "CAMBIADA"
        item["tags"].append("b")
        item["nested"]["x"] = 2
        assert store.get("lead-0000") == lead(0)

    def test_get_copies(self) -> None:
        """Mutating what get returned does not change the stored lead."""
        store = MemoryLeadStore([lead(0)])
        got = store.get("lead-0000")
        assert got is not None
        got["nested"]["x"] = 99
        got["tags"].clear()
        assert store.get("lead-0000") == lead(0)

    def test_iter_due_and_scan_copy(self) -> None:
        """Items yielded by iter_due and scan are the caller's to mutate."""
        store = MemoryLeadStore([lead(0)])
        [due] = store.iter_due(now_ms=NOW, ttl_days=7)
        due.item["nested"]["x"] = 5
        [scanned] = store.scan()
        scanned["tags"].append("z")
        assert store.get("lead-0000") == lead(0)

    def test_save_copies_update(self) -> None:
        """Mutating the update's nested values after a save does not reach the store."""
        store = MemoryLeadStore([lead(0)])
        [due] = store.iter_due(now_ms=NOW, ttl_days=7)
        source = {"ciudad": "rules"}
        upd = LeadUpdate({"ciudad": "Bogotá D.C."}, {"promptVersion": "v1", "source": source}, NOW)
        assert store.save(due, upd) == "saved"
        source["ciudad"] = "llm"
        got = store.get("lead-0000")
        assert got is not None
        assert got["normalizationMeta"]["source"] == {"ciudad": "rules"}

    def test_config_copies(self) -> None:
        """The config item is copied in and out."""
        config: dict[str, Any] = {"configId": "normalization-settings", "fieldsToNormalize": ["a"]}
        store = MemoryLeadStore(config=config)
        config["fieldsToNormalize"].append("b")
        loaded = store.load_config()
        assert loaded == {"configId": "normalization-settings", "fieldsToNormalize": ["a"]}
        loaded["fieldsToNormalize"].append("c")
        assert store.load_config() == {
            "configId": "normalization-settings",
            "fieldsToNormalize": ["a"],
        }

    def test_set_config(self) -> None:
        """set_config replaces the config item; None removes it; a non-mapping is refused."""
        store = MemoryLeadStore()
        store.set_config({"enabled": False})
        assert store.load_config() == {"enabled": False}
        store.set_config(None)
        assert store.load_config() is None
        with pytest.raises(ConfigurationError):
            store.set_config(["enabled"])  # type: ignore[arg-type]


class TestSelection:
    def test_lead_id_order(self) -> None:
        """iter_due and scan yield leads ordered by leadId, whatever the insertion order."""
        store = MemoryLeadStore([lead(3), lead(1), lead(2)])
        assert [d.lead_id for d in store.iter_due(now_ms=NOW, ttl_days=7)] == [
            "lead-0001",
            "lead-0002",
            "lead-0003",
        ]
        assert [i["leadId"] for i in store.scan()] == ["lead-0001", "lead-0002", "lead-0003"]

    def test_save_and_delete_while_iterating(self) -> None:
        """Saving, deleting and putting during iteration is safe; a deleted lead is not yielded."""
        store = MemoryLeadStore([lead(n) for n in range(6)])
        seen = []
        for due in store.iter_due(now_ms=NOW, ttl_days=7):
            seen.append(due.lead_id)
            assert store.save(due, update()) == "saved"
            if due.lead_id == "lead-0001":
                assert store.delete("lead-0004")
                store.put([lead(9)])
        assert seen == ["lead-0000", "lead-0001", "lead-0002", "lead-0003", "lead-0005"]
        assert len(store) == 6

    def test_lead_saved_elsewhere_mid_iteration_is_skipped(self) -> None:
        """A lead that stopped being due before its turn is not yielded."""
        store = MemoryLeadStore([lead(0), lead(1)])
        iterator = store.iter_due(now_ms=NOW, ttl_days=7)
        first = next(iterator)
        other = store.get("lead-0001")
        assert other is not None
        assert store.save(StoredLead("lead-0001", other), update()) == "saved"
        assert first.lead_id == "lead-0000"
        assert list(iterator) == []

    @pytest.mark.parametrize(
        ("normalized_at", "due"),
        [
            (math.inf, False),
            (-math.inf, True),
            (math.nan, True),
            (True, True),
            (10**30, False),
            (float(NOW), False),
        ],
    )
    def test_odd_normalized_at(self, normalized_at: Any, due: bool) -> None:
        """Non-finite, boolean and huge normalizedAt values are read without raising."""
        store = MemoryLeadStore([lead(0, normalizedAt=normalized_at)])
        assert len(list(store.iter_due(now_ms=NOW, ttl_days=7))) == int(due)

    def test_negative_limit(self) -> None:
        """A negative limit is a configuration error."""
        with pytest.raises(ConfigurationError, match="limit"):
            MemoryLeadStore().iter_due(now_ms=NOW, ttl_days=7, limit=-1)


class TestSave:
    @pytest.mark.parametrize(("stored", "seen"), [(1, True), (1, 1.0), (1, "1"), ("a", None)])
    def test_updated_at_compared_exactly(self, stored: Any, seen: Any) -> None:
        """updatedAt values that Python calls equal but differ in type are a conflict."""
        store = MemoryLeadStore([lead(0, updatedAt=stored)])
        assert store.save(StoredLead("lead-0000", lead(0, updatedAt=seen)), update()) == "conflict"

    def test_null_updated_at_counts_as_absent(self) -> None:
        """A stored null updatedAt matches a lead read without one."""
        store = MemoryLeadStore([lead(0, updatedAt=None)])
        assert store.save(StoredLead("lead-0000", lead(0)), update()) == "saved"

    def test_rollback_ignores_odd_meta(self) -> None:
        """Leads whose normalizationMeta is not a map are left alone by a rollback."""
        store = MemoryLeadStore([lead(0, normalizationMeta="v1"), lead(1, normalizedAt=NOW)])
        assert store.rollback("v1") == 0
        assert store.get("lead-0000") == lead(0, normalizationMeta="v1")


class TestPut:
    @pytest.mark.parametrize(
        "bad", [{"nombres": "X"}, {"leadId": 7}, {"leadId": ""}, ["leadId", "x"]]
    )
    def test_bad_items_refused_all_or_nothing(self, bad: Any) -> None:
        """An item without a non-empty string leadId is refused by position; nothing is written."""
        store = MemoryLeadStore()
        with pytest.raises(ConfigurationError, match="item 1"):
            store.put([lead(0), bad])
        assert len(store) == 0

    def test_put_counts(self) -> None:
        """put returns how many items it wrote, replacing same-id items."""
        store = MemoryLeadStore()
        assert store.put(lead(n) for n in range(3)) == 3
        assert store.put([lead(1, ciudad="cali")]) == 1
        assert len(store) == 3


class TestLifecycle:
    def test_protocol(self) -> None:
        """MemoryLeadStore is a LeadStore."""
        assert isinstance(MemoryLeadStore(), LeadStore)

    def test_closed_store_refuses(self) -> None:
        """After close every operation raises StorageError; closing twice is harmless."""
        with MemoryLeadStore([lead(0)]) as store:
            pass
        store.close()
        with pytest.raises(StorageError, match="closed"):
            store.get("lead-0000")
        with pytest.raises(StorageError, match="closed"):
            list(store.scan())
        with pytest.raises(StorageError, match="closed"):
            store.put([lead(1)])

    def test_repr_has_no_values(self) -> None:
        """repr shows a count, never a value."""
        store = MemoryLeadStore([lead(0, nombres="SECRETO")])
        assert repr(store) == "MemoryLeadStore(1 leads)"
        store.close()
        assert repr(store) == "MemoryLeadStore(closed)"


class TestThreads:
    def test_concurrent_saves_and_puts(self) -> None:
        """Threads saving and putting at once lose nothing and never raise."""
        store = MemoryLeadStore([lead(n) for n in range(400)])
        dues = list(store.iter_due(now_ms=NOW, ttl_days=7))
        results: list[str] = []
        errors: list[BaseException] = []
        barrier = threading.Barrier(8)

        def work(k: int) -> None:
            try:
                barrier.wait()
                for i, due in enumerate(dues[k::8]):
                    results.append(store.save(due, update()))
                    store.put([lead(1000 + k * 100 + i)])
                    list(store.iter_due(now_ms=NOW, ttl_days=7, limit=3))
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        assert results == ["saved"] * 400
        assert all("normalizedData" in store.get(d.lead_id) for d in dues)  # type: ignore[operator]
