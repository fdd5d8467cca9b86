"""One contract, every store: memory, SQLite and DynamoDB (moto's server, or a real endpoint)."""

import copy
import json
from collections.abc import Callable, Mapping
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from llm_normalize import Normalizer
from llm_normalize.backends.base import ModelRequest
from llm_normalize.backends.fake import FakeBackend
from llm_normalize.backends.retry import RetryPolicy
from llm_normalize.exceptions import BackendAccessDeniedError, ModelFailedError
from llm_normalize.stores.base import (
    NORMALIZATION_ATTRIBUTES,
    LeadStore,
    LeadUpdate,
    StoredLead,
)

StoreFactory = Callable[..., LeadStore]

NOW = 1_764_000_000_000  # epoch ms
DAY = 24 * 60 * 60 * 1000


def lead(n: int, **extra: Any) -> dict[str, Any]:
    return {
        "leadId": f"lead-{n:04d}",
        "nombres": "JUAN CARLOS",
        "apellidos": "PEREZ GARCIA",
        "direccion": "CRA 15 NO 100 25",
        "ciudad": "bogota",
        "nivelEducativo": "profesional universitario",
        "ocupacionActual": "Ing. Sistemas",
        "empresa": "sena",
        "telefono": "+57 300 000 0000",
        "createdAt": "2024-03-01T12:14:26.162Z",
        **extra,
    }


def update(version: str = "v1", at: int = NOW, watched: tuple[str, ...] = ()) -> LeadUpdate:
    return LeadUpdate(
        normalized_data={"nombres": "Juan Carlos", "ciudad": None},
        meta={
            "promptVersion": version,
            "modelId": "fake",
            "source": {"nombres": "rules"},
            "flags": {},
        },
        timestamp_ms=at,
        watched=watched,
    )


def originals(item: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k not in NORMALIZATION_ATTRIBUTES}


def due_ids(store: LeadStore, **kwargs: Any) -> list[str]:
    kwargs.setdefault("now_ms", NOW)
    kwargs.setdefault("ttl_days", 7)
    return sorted(lead.lead_id for lead in store.iter_due(**kwargs))


class TestSelection:
    def test_never_normalized_are_due(self, store_factory: StoreFactory) -> None:
        """Leads without normalizedAt are due."""
        store = store_factory([lead(n) for n in range(3)])
        assert due_ids(store) == ["lead-0000", "lead-0001", "lead-0002"]

    def test_ttl(self, store_factory: StoreFactory) -> None:
        """A lead normalized within the TTL is not due; one normalized before it is."""
        store = store_factory(
            [
                lead(0, normalizedAt=NOW - 1 * DAY),
                lead(1, normalizedAt=NOW - 8 * DAY),
                lead(2, normalizedAt="yesterday"),
                lead(3),
            ]
        )
        assert due_ids(store) == ["lead-0001", "lead-0002", "lead-0003"]
        assert due_ids(store, ttl_days=0.5) == ["lead-0000", "lead-0001", "lead-0002", "lead-0003"]

    def test_force_and_limit(self, store_factory: StoreFactory) -> None:
        """force selects every lead; limit caps how many."""
        store = store_factory([lead(n, normalizedAt=NOW) for n in range(20)])
        assert due_ids(store) == []
        assert len(due_ids(store, force=True)) == 20
        assert len(due_ids(store, force=True, limit=5)) == 5
        assert due_ids(store, force=True, limit=0) == []

    def test_plain_values(self, store_factory: StoreFactory) -> None:
        """Items come back with plain Python numbers, nested maps and lists intact."""
        item = lead(0, score=3, ratio=0.5, tags=["a", "b"], nested={"x": 1, "y": {"z": "é"}})
        store = store_factory([item])
        [got] = list(store.iter_due(now_ms=NOW, ttl_days=7))
        assert got.item == item
        assert isinstance(got.item["score"], int)
        assert json.dumps(got.item)  # no Decimal anywhere


class TestSave:
    def test_writes_only_normalization_attributes(self, store_factory: StoreFactory) -> None:
        """A save adds the four attributes and leaves every original byte as it was."""
        store = store_factory([lead(0)])
        [due] = list(store.iter_due(now_ms=NOW, ttl_days=7))
        assert store.save(due, update()) == "saved"
        item = store.get("lead-0000")
        assert item is not None
        assert originals(item) == lead(0)
        assert item["normalizedData"] == {"nombres": "Juan Carlos", "ciudad": None}
        assert item["normalizedAt"] == NOW
        assert item["updatedAt"] == NOW
        assert item["normalizationMeta"]["promptVersion"] == "v1"

    def test_conflict_when_changed(self, store_factory: StoreFactory) -> None:
        """A lead edited after it was read is not overwritten."""
        store = store_factory([lead(0, updatedAt=100)])
        [due] = list(store.iter_due(now_ms=NOW, ttl_days=7))
        store.put([lead(0, updatedAt=200, nombres="EDITADO")])
        assert store.save(due, update()) == "conflict"
        item = store.get("lead-0000")
        assert item is not None
        assert item["nombres"] == "EDITADO"
        assert "normalizedData" not in item

    def test_conflict_when_updated_at_appears(self, store_factory: StoreFactory) -> None:
        """A lead read without updatedAt that gained one since is a conflict too."""
        store = store_factory([lead(0)])
        [due] = list(store.iter_due(now_ms=NOW, ttl_days=7))
        store.put([lead(0, updatedAt=5)])
        assert store.save(due, update()) == "conflict"

    def test_missing_is_never_recreated(self, store_factory: StoreFactory) -> None:
        """A deleted lead is reported missing and no ghost item appears."""
        store = store_factory([lead(1)])
        ghost = StoredLead("lead-0000", lead(0))
        assert store.save(ghost, update()) == "missing"
        assert store.get("lead-0000") is None

    def test_saved_lead_not_due_until_ttl(self, store_factory: StoreFactory) -> None:
        """After a save the lead is not due again until the TTL passes."""
        store = store_factory([lead(0)])
        [due] = list(store.iter_due(now_ms=NOW, ttl_days=7))
        store.save(due, update(at=NOW))
        assert due_ids(store) == []
        assert due_ids(store, now_ms=NOW + 8 * DAY) == ["lead-0000"]

    def test_second_save_uses_new_updated_at(self, store_factory: StoreFactory) -> None:
        """A lead re-read after our own save can be saved again."""
        store = store_factory([lead(0)])
        [first] = list(store.iter_due(now_ms=NOW, ttl_days=7))
        assert store.save(first, update(at=NOW)) == "saved"
        [again] = list(store.iter_due(now_ms=NOW, ttl_days=7, force=True))
        assert store.save(again, update(at=NOW + 1)) == "saved"
        assert store.save(first, update(at=NOW + 2)) == "conflict"


WATCHED = ("nombres", "ciudad", "direccion", "extra")

# (read, then) pairs: every one is an edit a save must not write over. `MISSING` is absence.
MISSING = object()
EDITS = [
    pytest.param("bogota", "EDITADA", id="string"),
    pytest.param("5", 5, id="string-to-number"),
    pytest.param(5, "5", id="number-to-string"),
    pytest.param(5, 6, id="number"),
    pytest.param(1, True, id="number-to-bool"),
    pytest.param(True, 1, id="bool-to-number"),
    pytest.param(None, "", id="null-to-string"),
    pytest.param("", None, id="string-to-null"),
    pytest.param(MISSING, "nueva", id="added"),
    pytest.param("bogota", MISSING, id="removed"),
    pytest.param(MISSING, None, id="added-null"),
    pytest.param(None, MISSING, id="removed-null"),
    pytest.param({"a": "x", "b": [1, 2]}, {"a": "x", "b": [2, 1]}, id="map-list-order"),
    pytest.param({"a": "x"}, {"a": "x", "b": "y"}, id="map-key-added"),
    pytest.param({"a": {"b": "x"}}, {"a": {"b": "y"}}, id="nested-map"),
    pytest.param({"a": "5"}, {"a": 5}, id="nested-type"),
    pytest.param(["a", "b"], ["a", "b", "c"], id="list-longer"),
    pytest.param([{"k": 1}], [{"k": 2}], id="list-of-maps"),
]

SAME = [
    pytest.param("bogota", id="string"),
    pytest.param("", id="empty-string"),
    pytest.param(5, id="int"),
    pytest.param(-12.5, id="float"),
    pytest.param(0.1, id="float-digits"),
    pytest.param(10**20, id="big-int"),
    pytest.param(True, id="bool"),
    pytest.param(None, id="null"),
    pytest.param({"a": "x", "b": [1, 2.5, None, True], "c": {}}, id="map"),
    pytest.param(["a", {"k": [1, 2]}, []], id="list"),
    pytest.param(MISSING, id="absent"),
]


def with_value(item: dict[str, Any], name: str, value: Any) -> dict[str, Any]:
    out = dict(item)
    out.pop(name, None)
    if value is not MISSING:
        out[name] = value
    return out


def read(store: LeadStore, lead_id: str = "lead-0000") -> StoredLead:
    [got] = [d for d in store.iter_due(now_ms=NOW, ttl_days=7, force=True) if d.lead_id == lead_id]
    return got


class TestWatched:
    """A save is conditional on the watched attributes it read, not only on updatedAt."""

    @pytest.mark.parametrize(("before", "after"), EDITS)
    @pytest.mark.parametrize("updated_at", [100, MISSING], ids=["updatedAt", "no-updatedAt"])
    def test_edit_of_a_watched_attribute_is_a_conflict(
        self, store_factory: StoreFactory, before: Any, after: Any, updated_at: Any
    ) -> None:
        """Any change of a watched attribute since the read, updatedAt untouched, is a conflict."""
        original = with_value(with_value(lead(0), "updatedAt", updated_at), "extra", before)
        store = store_factory([original])
        due = read(store)
        edited = with_value(original, "extra", after)
        store.put([edited])  # a re-import: updatedAt is left as it was
        assert store.save(due, update(watched=WATCHED)) == "conflict"
        assert store.get("lead-0000") == edited

    @pytest.mark.parametrize("value", SAME)
    def test_unchanged_watched_values_save(self, store_factory: StoreFactory, value: Any) -> None:
        """A watched attribute that still holds what was read, whatever its type, saves."""
        store = store_factory([with_value(lead(0), "extra", value)])
        due = read(store)
        assert store.save(due, update(watched=WATCHED)) == "saved"
        item = store.get("lead-0000")
        assert item is not None
        assert originals(item) == with_value(lead(0), "extra", value)
        assert item["normalizedAt"] == NOW

    def test_edit_of_an_unwatched_attribute_saves(self, store_factory: StoreFactory) -> None:
        """An edit of an attribute the result was not computed from is not a conflict."""
        store = store_factory([lead(0)])
        due = read(store)
        store.put([lead(0, telefono="+57 311 111 1111")])
        assert store.save(due, update(watched=WATCHED)) == "saved"
        item = store.get("lead-0000")
        assert item is not None
        assert item["telefono"] == "+57 311 111 1111"
        assert item["normalizedData"] == {"nombres": "Juan Carlos", "ciudad": None}

    def test_nothing_watched_is_todays_rule(self, store_factory: StoreFactory) -> None:
        """Without watched attributes, only updatedAt decides (an edit that keeps it saves)."""
        store = store_factory([lead(0, updatedAt=100)])
        due = read(store)
        store.put([lead(0, updatedAt=100, ciudad="EDITADA")])
        assert store.save(due, update()) == "saved"

    def test_watched_and_updated_at_both_checked(self, store_factory: StoreFactory) -> None:
        """A changed updatedAt is still a conflict when every watched attribute is unchanged."""
        store = store_factory([lead(0, updatedAt=100)])
        due = read(store)
        store.put([lead(0, updatedAt=200)])
        assert store.save(due, update(watched=WATCHED)) == "conflict"

    def test_deleted_is_missing(self, store_factory: StoreFactory) -> None:
        """A deleted lead is missing, watched attributes or not, and is not re-created."""
        store = store_factory([lead(1)])
        ghost = StoredLead("lead-0000", lead(0))
        assert store.save(ghost, update(watched=WATCHED)) == "missing"
        assert store.get("lead-0000") is None

    def test_edit_mid_run_is_not_overwritten(self, store_factory: StoreFactory) -> None:
        """A re-import while the model is thinking, updatedAt kept, is skipped by the job."""
        store = store_factory([lead(0, ciudad="bogta"), lead(1, ciudad="bogta")])
        job_update = update(watched=WATCHED)
        due = sorted(store.iter_due(now_ms=NOW, ttl_days=7), key=lambda d: d.lead_id)
        store.put([lead(0, ciudad="Medellín")])
        statuses = [store.save(d, job_update) for d in due]
        assert statuses == ["conflict", "saved"]
        edited = store.get("lead-0000")
        assert edited == lead(0, ciudad="Medellín")


class TestRollback:
    def test_rollback_one_version(self, store_factory: StoreFactory) -> None:
        """Rollback removes what one prompt version wrote, and nothing else."""
        store = store_factory([lead(n) for n in range(4)])
        for n, due in enumerate(
            sorted(store.iter_due(now_ms=NOW, ttl_days=7), key=lambda d: d.lead_id)
        ):
            store.save(due, update(version="bad" if n < 3 else "good"))
        assert store.rollback("bad") == 3
        for n in range(3):
            item = store.get(f"lead-{n:04d}")
            assert item is not None
            assert not {"normalizedData", "normalizationMeta", "normalizedAt"} & set(item)
            assert originals(item) == lead(n)
        kept = store.get("lead-0003")
        assert kept is not None
        assert kept["normalizationMeta"]["promptVersion"] == "good"
        assert due_ids(store) == ["lead-0000", "lead-0001", "lead-0002"]
        assert store.rollback("bad") == 0

    def test_rollback_restores_the_original_exactly(self, store_factory: StoreFactory) -> None:
        """A lead never normalized and without updatedAt comes back with 0 attributes added."""
        store = store_factory([lead(0)])
        assert store.save(read(store), update("v1")) == "saved"
        assert store.rollback("v1") == 1
        assert store.get("lead-0000") == lead(0)

    def test_rollback_restores_updated_at(self, store_factory: StoreFactory) -> None:
        """The updatedAt the save overwrote comes back, with the originals."""
        store = store_factory([lead(0, updatedAt=100)])
        assert store.save(read(store), update("v1")) == "saved"
        assert store.rollback("v1") == 1
        assert store.get("lead-0000") == lead(0, updatedAt=100)

    def test_rollback_of_v2_brings_back_v1(self, store_factory: StoreFactory) -> None:
        """v1, then v2, then rollback of v2: the item is v1's, exactly."""
        store = store_factory([lead(0, updatedAt=100)])
        assert store.save(read(store), update("v1", at=NOW)) == "saved"
        after_v1 = store.get("lead-0000")
        assert store.save(read(store), update("v2", at=NOW + DAY)) == "saved"
        assert store.rollback("v2") == 1
        assert store.get("lead-0000") == after_v1
        assert store.rollback("v1") == 1
        assert store.get("lead-0000") == lead(0, updatedAt=100)

    def test_same_version_rerun_rolls_back_to_before_it(self, store_factory: StoreFactory) -> None:
        """A TTL re-run of one version, then its rollback: the state before its first save."""
        store = store_factory([lead(0, updatedAt=100)])
        assert store.save(read(store), update("v1", at=NOW)) == "saved"
        assert store.save(read(store), update("v1", at=NOW + 8 * DAY)) == "saved"
        assert store.save(read(store), update("v1", at=NOW + 16 * DAY)) == "saved"
        assert store.rollback("v1") == 1
        assert store.get("lead-0000") == lead(0, updatedAt=100)

    def test_rerun_after_another_version(self, store_factory: StoreFactory) -> None:
        """v1, v2, v2 again: rolling back v2 gives v1's item."""
        store = store_factory([lead(0)])
        assert store.save(read(store), update("v1", at=NOW)) == "saved"
        after_v1 = store.get("lead-0000")
        assert store.save(read(store), update("v2", at=NOW + DAY)) == "saved"
        assert store.save(read(store), update("v2", at=NOW + 9 * DAY)) == "saved"
        assert store.rollback("v2") == 1
        assert store.get("lead-0000") == after_v1

    def test_edit_after_the_save_keeps_its_updated_at(self, store_factory: StoreFactory) -> None:
        """An app edit after the save owns updatedAt: rollback restores the rest only."""
        store = store_factory([lead(0, updatedAt=100)])
        assert store.save(read(store), update("v1", at=NOW)) == "saved"
        edited = store.get("lead-0000")
        assert edited is not None
        edited |= {"updatedAt": NOW + 5, "telefono": "+57 322 222 2222"}
        store.put([edited])
        assert store.rollback("v1") == 1
        assert store.get("lead-0000") == lead(0, updatedAt=NOW + 5, telefono="+57 322 222 2222")

    def test_legacy_lead_without_previous(self, store_factory: StoreFactory) -> None:
        """A lead saved before normalizationPrevious existed: rollback removes, as before."""
        legacy = lead(
            0,
            updatedAt=NOW,
            normalizedAt=NOW,
            normalizedData={"nombres": "Juan Carlos"},
            normalizationMeta={"promptVersion": "v1", "modelId": "fake"},
        )
        store = store_factory([legacy])
        assert store.rollback("v1") == 1
        assert store.get("lead-0000") == lead(0, updatedAt=NOW)

    def test_legacy_lead_rerun_by_the_same_version(self, store_factory: StoreFactory) -> None:
        """A legacy lead re-run by its version rolls back to the updatedAt it was read with."""
        legacy = lead(
            0,
            updatedAt=NOW,
            normalizedAt=NOW,
            normalizedData={"nombres": "Juan Carlos"},
            normalizationMeta={"promptVersion": "v1", "modelId": "fake"},
        )
        store = store_factory([legacy])
        assert store.save(read(store), update("v1", at=NOW + 8 * DAY)) == "saved"
        assert store.rollback("v1") == 1
        assert store.get("lead-0000") == lead(0, updatedAt=NOW)

    def test_chain_keeps_at_most_three_states(self, store_factory: StoreFactory) -> None:
        """Five versions in a row keep three earlier states; rollbacks walk back through them."""
        store = store_factory([lead(0, updatedAt=100)])
        snapshots: list[dict[str, Any] | None] = []
        for n in range(1, 6):
            assert store.save(read(store), update(f"v{n}", at=NOW + n * DAY)) == "saved"
            item = store.get("lead-0000")
            assert item is not None
            assert previous_depth(item) == min(n, 3)
            snapshots.append(item)
        for n in (5, 4, 3):
            assert store.rollback(f"v{n}") == 1
            item = store.get("lead-0000")
            assert item is not None
            expected = snapshots[n - 2]
            assert expected is not None
            own = ("normalizedData", "normalizedAt", "updatedAt", "normalizationMeta")
            assert {k: item.get(k) for k in own} == {k: expected.get(k) for k in own}
            assert originals(item) == lead(0)
        # v2's own previous state was dropped from the chain: its rollback removes, as legacy.
        assert store.rollback("v2") == 1
        item = store.get("lead-0000")
        assert item is not None
        assert originals(item) == lead(0)
        assert not {"normalizedData", "normalizedAt", "normalizationMeta"} & set(item)

    def test_rollback_counts_only_its_version(self, store_factory: StoreFactory) -> None:
        """A lead of another version, or never normalized, is neither changed nor counted."""
        store = store_factory([lead(0), lead(1), lead(2)])
        assert store.save(read(store, "lead-0000"), update("v1")) == "saved"
        assert store.save(read(store, "lead-0001"), update("v2")) == "saved"
        before = sorted(store.scan(), key=lambda i: i["leadId"])
        assert store.rollback("v3") == 0
        assert sorted(store.scan(), key=lambda i: i["leadId"]) == before


def previous_depth(item: Mapping[str, Any]) -> int:
    depth = 0
    current = item.get("normalizationPrevious")
    while isinstance(current, Mapping):
        depth += 1
        current = current.get("normalizationPrevious")
    return depth


class TestImportExport:
    def test_put_replaces_and_scan_returns_all(self, store_factory: StoreFactory) -> None:
        """put creates or replaces whole items; scan streams every one."""
        store = store_factory([lead(n) for n in range(12)])
        store.put([lead(3, nombres="OTRO")])
        items = sorted(store.scan(), key=lambda i: i["leadId"])
        assert len(items) == 12
        assert items[3]["nombres"] == "OTRO"
        assert store.get("nope") is None

    def test_put_needs_lead_id(self, store_factory: StoreFactory) -> None:
        """An item without a leadId is refused with its position, not its content."""
        store = store_factory()
        from llm_normalize.exceptions import ConfigurationError

        with pytest.raises(ConfigurationError) as info:
            store.put([lead(0), {"nombres": "SECRETO"}])
        assert "SECRETO" not in str(info.value)

    def test_put_that_fails_midway_writes_nothing(self, store_factory: StoreFactory) -> None:
        """An import whose input fails part-way writes none of its items."""
        store = store_factory([lead(0)])

        def items() -> Any:
            yield lead(1)
            yield lead(2)
            raise RuntimeError("the input file is cut off")

        with pytest.raises(RuntimeError):
            store.put(items())
        assert [i["leadId"] for i in store.scan()] == ["lead-0000"]


class TestConfig:
    def test_seed_config_item(self, store_factory: StoreFactory) -> None:
        """The seed's config item comes back with its camelCase keys."""
        store = store_factory(
            [], config={"configId": "normalization-settings", "batchSize": 20, "enabled": True}
        )
        config = store.load_config()
        assert config is not None
        assert config["batchSize"] == 20
        assert config["enabled"] is True

    def test_no_config(self, store_factory: StoreFactory) -> None:
        """Without a config item, load_config returns None and defaults apply."""
        assert store_factory([]).load_config() is None


NO_SLEEP = RetryPolicy(sleep=lambda _s: None)


def normalizer(backend: FakeBackend | None = None, **kwargs: Any) -> Normalizer:
    return Normalizer(backend, requests_per_second=10_000, retry=NO_SLEEP, **kwargs)


class TestScheduledRun:
    def test_idempotent(self, store_factory: StoreFactory) -> None:
        """Two runs in a row: the second normalizes nothing."""
        store = store_factory([lead(n) for n in range(10)])
        first = normalizer().run(store, now_ms=NOW)
        second = normalizer().run(store, now_ms=NOW + 1000)
        assert first.records_normalized == 10
        assert first.records_saved == 10
        assert second.records_in == 0

    def test_force_redoes_all(self, store_factory: StoreFactory) -> None:
        """force=True normalizes every lead again."""
        store = store_factory([lead(n) for n in range(5)])
        normalizer().run(store, now_ms=NOW)
        assert normalizer().run(store, force=True, now_ms=NOW + 1).records_saved == 5

    def test_ttl_expiry(self, store_factory: StoreFactory) -> None:
        """Leads normalized longer ago than the TTL are redone."""
        store = store_factory([lead(n) for n in range(5)])
        normalizer().run(store, now_ms=NOW)
        assert normalizer().run(store, now_ms=NOW + 8 * DAY).records_saved == 5

    def test_limit_and_max_leads_per_run(self, store_factory: StoreFactory) -> None:
        """limit caps a run; without it, max_leads_per_run does (the seed's 50)."""
        store = store_factory([lead(n) for n in range(60)])
        assert normalizer().run(store, limit=7, now_ms=NOW).records_saved == 7
        assert normalizer().run(store, now_ms=NOW).records_saved == 50

    def test_results_written(self, store_factory: StoreFactory) -> None:
        """The saved normalizedData is the seed's example, with an audit trail."""
        store = store_factory([lead(0)])
        normalizer(FakeBackend()).run(store, now_ms=NOW)
        item = store.get("lead-0000")
        assert item is not None
        assert item["normalizedData"]["direccion"] == "Cra. 15 # 100 - 25"
        assert item["normalizedData"]["empresa"] == "SENA"
        meta = item["normalizationMeta"]
        assert meta["modelId"] == "fake"
        assert meta["promptVersion"]
        assert meta["source"]["nombres"] == "rules"

    def test_edit_between_read_and_write(self, store_factory: StoreFactory) -> None:
        """A lead edited while the model is thinking is skipped, not overwritten."""
        store = store_factory(
            [lead(0, ciudad="bogta", updatedAt=1), lead(1, ciudad="bogta", updatedAt=1)]
        )

        def respond(request: ModelRequest) -> str:
            store.put([lead(0, ciudad="EDITADA", updatedAt=2)])
            return FakeBackend.echo(request)

        report = normalizer(FakeBackend(respond)).run(store, now_ms=NOW)
        assert report.records_saved == 1
        assert report.records_skipped == 1
        edited = store.get("lead-0000")
        assert edited is not None
        assert edited["ciudad"] == "EDITADA"
        assert "normalizedData" not in edited

    def test_disabled(self, store_factory: StoreFactory) -> None:
        """enabled: false in the stored config makes a run do nothing and say so."""
        store = store_factory(
            [lead(0)], config={"configId": "normalization-settings", "enabled": False}
        )
        report = normalizer().run(store, now_ms=NOW)
        assert report.enabled is False
        assert report.records_in == 0
        item = store.get("lead-0000")
        assert item is not None
        assert "normalizedData" not in item

    def test_stored_config_applies(self, store_factory: StoreFactory) -> None:
        """The stored config item's settings govern the run (maxLeadsPerRun here)."""
        store = store_factory(
            [lead(n) for n in range(10)],
            config={"configId": "normalization-settings", "maxLeadsPerRun": 3},
        )
        assert normalizer().run(store, now_ms=NOW).records_saved == 3

    def test_interrupted_run(self, store_factory: StoreFactory) -> None:
        """A crash mid-run leaves each lead fully normalized or untouched; the next run finishes."""
        store = store_factory([lead(n, ciudad=f"pueblo {n}") for n in range(30)])
        calls = {"n": 0}

        def respond(request: ModelRequest) -> str:
            calls["n"] += 1
            if calls["n"] > 1:
                raise RuntimeError("the process died")
            return FakeBackend.echo(request)

        crashing = normalizer(FakeBackend(respond), chunk_size=10, concurrency=1)
        with pytest.raises(RuntimeError):
            crashing.run(store, now_ms=NOW)
        items = list(store.scan())
        done = [i for i in items if "normalizedData" in i]
        untouched = [i for i in items if "normalizedData" not in i]
        assert len(done) == 10
        for item in done:
            assert {"normalizedAt", "updatedAt", "normalizationMeta"} <= set(item)
        for item in untouched:
            assert not set(item) & NORMALIZATION_ATTRIBUTES
        report = normalizer(FakeBackend()).run(store, now_ms=NOW + 1)
        assert report.records_saved == 20
        assert all("normalizedData" in i for i in store.scan())


_values = st.one_of(st.none(), st.text(max_size=30), st.integers(-10, 10**12), st.booleans())
_leads = st.lists(
    st.fixed_dictionaries(
        {},
        optional={
            "nombres": _values,
            "ciudad": _values,
            "direccion": _values,
            "empresa": _values,
            "telefono": _values,
            "tags": st.lists(st.text(max_size=5), max_size=3),
        },
    ),
    min_size=1,
    max_size=5,
)


@settings(
    max_examples=15,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    deadline=None,
)
@given(items=_leads)
def test_originals_never_change(store_factory: StoreFactory, items: list[dict[str, Any]]) -> None:
    """Any number of runs, forced or not, leaves every original attribute as it was."""
    clean = [
        {k: v for k, v in item.items() if not (isinstance(v, str) and "\x00" in v)}
        | {"leadId": f"p-{n}"}
        for n, item in enumerate(items)
    ]
    store = store_factory(copy.deepcopy(clean))
    before = {item["leadId"]: json.dumps(originals(item), sort_keys=True) for item in store.scan()}
    runner = normalizer(FakeBackend())
    runner.run(store, now_ms=NOW)
    runner.run(store, force=True, now_ms=NOW + 1)
    runner.run(store, now_ms=NOW + 30 * DAY)
    after = {item["leadId"]: json.dumps(originals(item), sort_keys=True) for item in store.scan()}
    assert after == before


def test_backend_failure_stops_the_run(store_factory: StoreFactory) -> None:
    """A model that refuses access stops the run: the lead is untouched and still due."""
    store = store_factory([lead(0, ciudad="bogta")])
    backend = FakeBackend(faults=[BackendAccessDeniedError("denied")] * 5)
    with pytest.raises(ModelFailedError):
        normalizer(backend).run(store, now_ms=NOW)
    assert store.get("lead-0000") == lead(0, ciudad="bogta")
    assert due_ids(store) == ["lead-0000"]


def test_process_leads_and_progress(store_factory: StoreFactory) -> None:
    """Event-driven callers normalize given leads; run reports progress per chunk."""
    store = store_factory([lead(n) for n in range(5)])
    given_lead = StoredLead("lead-0002", store.get("lead-0002") or {})
    report = normalizer().process_leads(store, [given_lead], now_ms=NOW)
    assert report.records_saved == 1
    saved = store.get("lead-0002")
    assert saved is not None
    assert saved["normalizedData"]["empresa"] == "SENA"
    seen: list[int] = []
    normalizer(chunk_size=2).run(store, now_ms=NOW, progress=seen.append)
    assert seen == [2, 2]


def test_deadline_defers_the_rest(store_factory: StoreFactory) -> None:
    """Leads the model could not see before the deadline stay untouched for the next run."""
    store = store_factory([lead(n, ciudad=f"pueblo {n}") for n in range(30)])
    backend = FakeBackend()
    stopping = normalizer(
        backend, stop_when=lambda: backend.calls >= 1, concurrency=1, chunk_size=10
    )
    report = stopping.run(store, now_ms=NOW)
    assert report.stopped_early == "deadline"
    assert report.records_saved == 10
    assert report.records_deferred == 10  # the chunk that met the deadline; the last is never read
    untouched = [i for i in store.scan() if "normalizedData" not in i]
    assert len(untouched) == 20
    assert normalizer(FakeBackend()).run(store, now_ms=NOW + 1).records_saved == 20
