"""The fault matrix: every fault scenario of issue 10 on every store.

Each scenario runs the scheduled job on a store (memory, SQLite, DynamoDB over HTTP) while
something goes wrong, then checks the same four promises:

- the originals are untouched;
- no lead is marked normalized that was not decided by the path meant to decide it;
- no stale value is written over an edit;
- no lead is lost (and a deleted one is not re-created).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from llm_normalize import Normalizer
from llm_normalize.backends.fake import FakeBackend
from llm_normalize.backends.retry import RetryPolicy
from llm_normalize.dispatch import Budget
from llm_normalize.exceptions import (
    BackendAccessDeniedError,
    BackendThrottledError,
    BackendTimeoutError,
    ModelFailedError,
)
from llm_normalize.job import JobResult, run_job
from llm_normalize.messages import ModelRequest, ModelResponse, Usage
from llm_normalize.profiles.colombia import COLOMBIAN_LEADS
from llm_normalize.records import FLAG_MODEL_FAILED, FLAG_NOT_SENT
from llm_normalize.stores.base import NORMALIZATION_ATTRIBUTES, LeadStore

StoreFactory = Callable[..., LeadStore]

NO_SLEEP = RetryPolicy(sleep=lambda _seconds: None, jitter_s=0)
PROFILE = COLOMBIAN_LEADS.with_fields(COLOMBIAN_LEADS["empresa"].with_strategy("llm"))
FIELDS = ("nombres", "ciudad", "empresa")
LEADS = 30  # three batches of ten: one value per lead goes to the model
EDITED, DELETED = "lead-007", "lead-012"


def originals() -> list[dict[str, Any]]:
    return [
        {
            "leadId": f"lead-{n:03d}",
            "nombres": "JUAN CARLOS",
            "ciudad": "bogota",
            "empresa": f"empresa numero {n}",
            "source": "web",
        }
        for n in range(LEADS)
    ]


def titled(request: ModelRequest) -> str:
    return json.dumps(
        {"items": [{"id": item.id, "value": item.value.title()} for item in request.items]}
    )


@dataclass
class Scenario:
    """A fault, how to make it, and what the run must end in."""

    name: str
    backend: Callable[[Scenario], FakeBackend]
    raises: type[BaseException] | None = None
    normalizer: dict[str, Any] = field(default_factory=dict)
    stop_after_calls: int | None = None
    store: LeadStore | None = None
    calls: int = 0
    originals: dict[str, dict[str, Any]] = field(default_factory=dict)

    def counting(self, responder: Callable[[ModelRequest], Any]) -> Callable[[ModelRequest], Any]:
        def respond(request: ModelRequest) -> Any:
            self.calls += 1
            return responder(request)

        return respond

    def stop_when(self) -> bool:
        return self.stop_after_calls is not None and self.calls >= self.stop_after_calls


def _edit_mid_run(scenario: Scenario) -> FakeBackend:
    """A user edits one lead's company (no updatedAt anywhere) while the model works."""

    def respond(request: ModelRequest) -> str:
        if scenario.calls == 1:
            assert scenario.store is not None
            edited = {**scenario.originals[EDITED], "empresa": "Otra Empresa SAS"}
            scenario.store.put([edited])
            scenario.originals[EDITED] = edited
        return titled(request)

    return FakeBackend(scenario.counting(respond))


def _delete_mid_run(scenario: Scenario) -> FakeBackend:
    def respond(request: ModelRequest) -> str:
        if scenario.calls == 1:
            assert scenario.store is not None
            _delete(scenario.store, DELETED)
            del scenario.originals[DELETED]
        return titled(request)

    return FakeBackend(scenario.counting(respond))


def _crash_on_third_call(scenario: Scenario) -> FakeBackend:
    def respond(request: ModelRequest) -> str:
        if scenario.calls == 3:
            raise RuntimeError("a bug in a custom backend")
        return titled(request)

    return FakeBackend(scenario.counting(respond))


def _always_truncated(scenario: Scenario) -> FakeBackend:
    def respond(request: ModelRequest) -> ModelResponse:
        return ModelResponse(text='{"items": [', stop_reason="max_tokens", usage=Usage(10, 10))

    return FakeBackend(scenario.counting(respond))


def _faulty(error: Callable[[], BaseException]) -> Callable[[Scenario], FakeBackend]:
    def make(scenario: Scenario) -> FakeBackend:
        return FakeBackend(scenario.counting(titled), faults=[error() for _ in range(200)])

    return make


def _good(scenario: Scenario) -> FakeBackend:
    return FakeBackend(scenario.counting(titled))


SCENARIOS = [
    Scenario(
        "access_denied",
        _faulty(lambda: BackendAccessDeniedError("denied", code="AccessDeniedException")),
        raises=ModelFailedError,
    ),
    Scenario("throttle_storm", _faulty(lambda: BackendThrottledError("busy")), ModelFailedError),
    Scenario("timeouts", _faulty(lambda: BackendTimeoutError("slow")), ModelFailedError),
    Scenario("truncation", _always_truncated),
    Scenario("deadline", _good, stop_after_calls=1),
    Scenario("budget", _good, normalizer={"budget": Budget(max_tokens=2_500)}),
    Scenario("crash_mid_run", _crash_on_third_call, raises=RuntimeError),
    Scenario("concurrent_edit", _edit_mid_run),
    Scenario("delete", _delete_mid_run),
]


def _delete(store: LeadStore, lead_id: str) -> None:
    delete = getattr(store, "delete", None)
    if callable(delete):
        delete(lead_id)
        return
    client = store.client  # type: ignore[attr-defined]  # DynamoDB: as another app would
    client.delete_item(TableName=store.table_name, Key={"leadId": {"S": lead_id}})  # type: ignore[attr-defined]


def _originals_of(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k not in NORMALIZATION_ATTRIBUTES}


@pytest.fixture
def scenario(request: pytest.FixtureRequest) -> Scenario:
    template: Scenario = request.param
    return Scenario(
        template.name,
        template.backend,
        template.raises,
        dict(template.normalizer),
        template.stop_after_calls,
    )


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS], indirect=True)
def test_fault_matrix(store_factory: StoreFactory, scenario: Scenario) -> None:
    items = originals()
    store = store_factory(items)
    scenario.store = store
    scenario.originals = {item["leadId"]: item for item in items}
    normalizer = Normalizer(
        scenario.backend(scenario),
        profile=PROFILE,
        concurrency=1,
        requests_per_second=10_000,
        retry=NO_SLEEP,
        **scenario.normalizer,
    )
    result: JobResult | None = None
    if scenario.raises is not None:
        with pytest.raises(scenario.raises):
            run_job(normalizer, store, now_ms=1_000, stop_when=scenario.stop_when)
    else:
        result = run_job(normalizer, store, now_ms=1_000, stop_when=scenario.stop_when)

    stored = {item["leadId"]: item for item in store.scan()}
    # No lead lost, and a deleted one is not re-created.
    assert set(stored) == set(scenario.originals)
    for lead_id, item in stored.items():
        # Originals untouched (the edited lead holds the user's edit).
        assert _originals_of(item) == scenario.originals[lead_id]
        if "normalizedAt" not in item:
            assert not {"normalizedData", "normalizationMeta", "updatedAt"} & set(item)
            continue
        # Marked normalized only when every field was decided as meant.
        meta = item["normalizationMeta"]
        for name in FIELDS:
            flags = meta["flags"].get(name, [])
            assert FLAG_NOT_SENT not in flags
            assert FLAG_MODEL_FAILED not in flags
        assert meta["source"]["empresa"] in ("llm", "cache")
        # No stale value over an edit: what was saved is computed from what is stored.
        assert item["normalizedData"]["empresa"] == item["empresa"].title()
    saved = [lead for lead, item in stored.items() if "normalizedAt" in item]
    if scenario.name in ("access_denied", "throttle_storm", "timeouts", "truncation"):
        assert saved == []
    if scenario.name in ("deadline", "budget", "crash_mid_run"):
        assert 0 < len(saved) < LEADS  # what was finished is kept, the rest is due
    if result is not None and scenario.name == "concurrent_edit":
        assert result.statuses[EDITED] == "conflict"
    if result is not None and scenario.name == "delete":
        assert result.statuses[DELETED] == "missing"


def test_rollback_restores_exactly(store_factory: StoreFactory) -> None:
    """Rolling back v2 brings v1's result back exactly; rolling back v1 the originals."""
    store = store_factory(originals())
    before = {item["leadId"]: item for item in store.scan()}
    v1 = Normalizer(None, profile=PROFILE)
    v1.run(store, now_ms=1_000)
    after_v1 = {item["leadId"]: item for item in store.scan()}
    backend = FakeBackend(titled)
    v2 = Normalizer(backend, profile=PROFILE, requests_per_second=10_000, retry=NO_SLEEP)
    v2.run(store, now_ms=2_000, force=True)
    assert {item["normalizationMeta"]["promptVersion"] for item in store.scan()} == {v2.run_version}

    assert v2.rollback(store, v2.run_version) == LEADS
    assert {item["leadId"]: item for item in store.scan()} == after_v1
    assert v1.rollback(store, v1.run_version) == LEADS
    assert {item["leadId"]: item for item in store.scan()} == before

    # The rolled-back version's answers were purged: the model is asked again.
    calls = backend.calls
    v2.run(store, now_ms=3_000)
    assert backend.calls > calls
