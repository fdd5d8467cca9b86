"""The store-independent rules of llm_normalize.stores.base: previous states, rollback changes,
exact comparison, and the PII-free reprs of the types a store hands around."""

from typing import Any

import pytest

from llm_normalize.exceptions import ConfigurationError
from llm_normalize.stores import NORMALIZATION_ATTRIBUTES
from llm_normalize.stores.base import (
    MAX_PREVIOUS_STATES,
    NORMALIZATION_PREVIOUS,
    LeadUpdate,
    RollbackChanges,
    StoredLead,
    previous_state,
    rollback_changes,
    same_value,
)

NOW = 1_764_000_000_000


def saved(version: str, at: int, previous: Any = None, **extra: Any) -> dict[str, Any]:
    item = {
        "leadId": "a",
        "ciudad": "bogota",
        "normalizedData": {"ciudad": f"Bogotá {version}"},
        "normalizedAt": at,
        "updatedAt": at,
        "normalizationMeta": {"promptVersion": version},
        **extra,
    }
    if previous is not None:
        item[NORMALIZATION_PREVIOUS] = previous
    return item


def depth(state: Any) -> int:
    count = 0
    while isinstance(state, dict):
        count += 1
        state = state.get(NORMALIZATION_PREVIOUS)
    return count


class TestSameValue:
    @pytest.mark.parametrize(
        ("a", "b"),
        [
            (1, True),
            (1, 1.0),
            ("5", 5),
            (None, ""),
            ({"a": 1}, {"a": True}),
            ({"a": [1]}, {"a": [1.0]}),
            ([1, 2], [2, 1]),
            ([1], (1,)),
            ({"a": 1}, {"a": 1, "b": 2}),
        ],
    )
    def test_different(self, a: Any, b: Any) -> None:
        """Values of another type at any depth, order or shape are different."""
        assert not same_value(a, b)
        assert not same_value(b, a)

    @pytest.mark.parametrize(
        "value", [1, 1.5, "x", None, True, {"a": [1, {"b": None}]}, [], {}, float("nan")]
    )
    def test_same(self, value: Any) -> None:
        """A value is the same as an equal copy of itself (NaN included)."""
        import copy

        assert same_value(value, copy.deepcopy(value))


class TestPreviousState:
    def test_never_normalized(self) -> None:
        """A lead never normalized: only what it has, absence recorded by absence."""
        assert previous_state({"leadId": "a", "ciudad": "x"}, "v1") == {}
        assert previous_state({"leadId": "a", "updatedAt": 5}, "v1") == {"updatedAt": 5}
        assert previous_state({"leadId": "a", "updatedAt": None}, "v1") == {"updatedAt": None}

    def test_other_version(self) -> None:
        """Another version's result is recorded, its own previous state nested inside."""
        item = saved("v1", NOW, previous={"updatedAt": 5})
        state = previous_state(item, "v2")
        assert state == {
            "normalizedData": item["normalizedData"],
            "normalizedAt": NOW,
            "updatedAt": NOW,
            "normalizationMeta": {"promptVersion": "v1"},
            NORMALIZATION_PREVIOUS: {"updatedAt": 5},
        }
        state["normalizedData"]["ciudad"] = "changed"
        assert item["normalizedData"]["ciudad"] == "Bogotá v1"  # a copy

    def test_same_version_keeps_the_previous_state(self) -> None:
        """A re-run of the version keeps what was before its first save."""
        item = saved("v1", NOW, previous={"updatedAt": 5})
        assert previous_state(item, "v1") == {"updatedAt": 5}

    def test_same_version_legacy(self) -> None:
        """A legacy lead of the same version: only its updatedAt, or nothing."""
        assert previous_state(saved("v1", NOW), "v1") == {"updatedAt": NOW}
        legacy = saved("v1", NOW)
        del legacy["updatedAt"]
        assert previous_state(legacy, "v1") == {}

    def test_no_version_is_another_version(self) -> None:
        """An update without a promptVersion never counts as a re-run."""
        assert previous_state(saved("v1", NOW), None)["normalizedAt"] == NOW

    def test_chain_is_cut(self) -> None:
        """However long the chain read, at most MAX_PREVIOUS_STATES states are written."""
        state: dict[str, Any] = {}
        for n in range(10):
            state = previous_state(saved(f"v{n}", NOW + n, previous=state or None), f"v{n + 1}")
            assert depth(state) == min(n + 1, MAX_PREVIOUS_STATES)
        too_deep: dict[str, Any] = {"updatedAt": 1}
        for _ in range(6):
            too_deep = {"updatedAt": 1, NORMALIZATION_PREVIOUS: too_deep}
        assert depth(previous_state(saved("v1", NOW, previous=too_deep), "v1")) == 3


class TestRollbackChanges:
    def test_not_that_version(self) -> None:
        """A lead of another version, without one, or never normalized: no change."""
        assert rollback_changes(saved("v2", NOW, previous={}), "v1") is None
        assert rollback_changes({"leadId": "a"}, "v1") is None
        assert rollback_changes({"normalizationMeta": "v1"}, "v1") is None

    def test_restores_and_removes(self) -> None:
        """What the previous state has is set; what it lacks is removed."""
        previous: dict[str, Any] = {"normalizedData": {"c": "x"}, "normalizedAt": 7, "updatedAt": 7}
        changes = rollback_changes(saved("v2", NOW, previous=previous), "v2")
        assert changes is not None
        assert changes.restore == previous
        assert set(changes.remove) == {"normalizationMeta", NORMALIZATION_PREVIOUS}

    def test_edited_keeps_updated_at(self) -> None:
        """After an edit (updatedAt is no longer normalizedAt) updatedAt is neither set nor removed."""
        item = saved("v1", NOW, previous={})
        item["updatedAt"] = NOW + 1
        changes = rollback_changes(item, "v1")
        assert changes is not None
        assert "updatedAt" not in changes.restore
        assert "updatedAt" not in changes.remove

    def test_legacy(self) -> None:
        """Without normalizationPrevious: remove what the save wrote, keep updatedAt."""
        changes = rollback_changes(saved("v1", NOW), "v1")
        assert changes == RollbackChanges(
            restore={}, remove=("normalizedData", "normalizationMeta", "normalizedAt")
        )

    def test_apply(self) -> None:
        """apply sets and removes in place, with copies."""
        previous = {"normalizedData": {"c": "x"}}
        item = saved("v1", NOW, previous=previous)
        changes = rollback_changes(item, "v1")
        assert changes is not None
        changes.apply(item)
        assert item == {"leadId": "a", "ciudad": "bogota", "normalizedData": {"c": "x"}}
        item["normalizedData"]["c"] = "y"
        assert previous["normalizedData"]["c"] == "x"


class TestLeadUpdate:
    def test_watched_kept_as_a_tuple_without_repeats(self) -> None:
        """Any iterable of names is kept as a tuple, in order, each once."""
        update = LeadUpdate({}, {}, NOW, watched=["b", "a", "b"])  # type: ignore[arg-type]
        assert update.watched == ("b", "a")

    @pytest.mark.parametrize("watched", ["ciudad", ("ciudad", ""), ("ciudad", 3), 5])
    def test_bad_watched(self, watched: Any) -> None:
        """One string, an empty name or a non-string is refused, with what to pass instead."""
        with pytest.raises(ConfigurationError, match="watched"):
            LeadUpdate({}, {}, NOW, watched=watched)

    def test_attributes_for_adds_the_previous_state(self) -> None:
        """attributes_for writes the five normalization attributes, and nothing else."""
        update = LeadUpdate({"ciudad": "Bogotá"}, {"promptVersion": "v1"}, NOW)
        written = update.attributes_for(StoredLead("a", {"leadId": "a", "updatedAt": 3}))
        assert set(written) == NORMALIZATION_ATTRIBUTES
        assert written[NORMALIZATION_PREVIOUS] == {"updatedAt": 3}

    def test_unchanged_since_read(self) -> None:
        """updatedAt (null as absent) and each watched attribute, exactly, decide."""
        read = StoredLead("a", {"leadId": "a", "ciudad": "x", "n": 5})
        update = LeadUpdate({}, {}, NOW, watched=("ciudad", "n", "gone"))
        assert update.unchanged_since_read(read, dict(read.item))
        assert update.unchanged_since_read(read, {**read.item, "updatedAt": None, "other": 1})
        assert not update.unchanged_since_read(read, {**read.item, "updatedAt": 1})
        assert not update.unchanged_since_read(read, {**read.item, "n": 5.0})
        assert not update.unchanged_since_read(read, {**read.item, "gone": None})
        assert not update.unchanged_since_read(read, {"leadId": "a", "n": 5})

    def test_reprs_hold_no_values(self) -> None:
        """StoredLead, LeadUpdate and RollbackChanges reprs name attributes, never values."""
        lead = StoredLead("a", {"leadId": "a", "nombres": "SECRETO"}, wire={"x": {"S": "SECRETO"}})
        update = LeadUpdate({"nombres": "SECRETO"}, {"promptVersion": "v1"}, NOW, watched=("n",))
        changes = RollbackChanges(restore={"normalizedData": {"nombres": "SECRETO"}}, remove=())
        for text in (repr(lead), repr(update), repr(changes)):
            assert "SECRETO" not in text
        assert "'a'" in repr(lead)
        assert "nombres" in repr(update)

    def test_wire_does_not_change_equality(self) -> None:
        """Two leads read alike are equal whether or not they carry the typed form."""
        assert StoredLead("a", {"x": 1}) == StoredLead("a", {"x": 1}, wire={"x": {"N": "1"}})
