"""Integrity under faults, through the public API: nothing failed is recorded as done.

Each test names the failure of issue 10 it pins down. The stores' own rules (conditions on
what was read, rollback restoring the previous state) are in the store contract suite; the
same scenarios on every store are in `test_fault_matrix.py`.
"""

import json
import threading
import time
from typing import Any

import pytest

from llm_normalize import Normalizer
from llm_normalize.backends.fake import FakeBackend
from llm_normalize.backends.retry import RetryPolicy
from llm_normalize.deadline import Deadline
from llm_normalize.dispatch import Budget
from llm_normalize.exceptions import (
    BackendAccessDeniedError,
    BackendInvalidRequestError,
    BackendThrottledError,
    BackendTimeoutError,
    ConfigurationError,
    ModelFailedError,
)
from llm_normalize.job import run_job
from llm_normalize.messages import ModelRequest
from llm_normalize.profiles.colombia import COLOMBIAN_LEADS
from llm_normalize.records import NORMALIZED_AT
from llm_normalize.stores.memory import MemoryLeadStore

NO_SLEEP = RetryPolicy(sleep=lambda _seconds: None, jitter_s=0)
# Every company goes to the model: each lead has one value only the model may decide.
PROFILE = COLOMBIAN_LEADS.with_fields(COLOMBIAN_LEADS["empresa"].with_strategy("llm"))


def leads(count: int) -> list[dict[str, Any]]:
    return [
        {"leadId": f"lead-{n:03d}", "nombres": "JUAN", "empresa": f"empresa numero {n}"}
        for n in range(count)
    ]


def make(backend: Any, **kwargs: Any) -> Normalizer:
    kwargs.setdefault("requests_per_second", 10_000)
    kwargs.setdefault("retry", NO_SLEEP)
    kwargs.setdefault("profile", PROFILE)
    return Normalizer(backend, **kwargs)


def normalized_ids(store: MemoryLeadStore) -> list[str]:
    return [item["leadId"] for item in store.scan() if NORMALIZED_AT in item]


def upper(request: ModelRequest) -> str:
    """A model that answers every item, title-cased (a normalization the guard accepts)."""
    items = [{"id": item.id, "value": item.value.title()} for item in request.items]
    return json.dumps({"items": items})


class TestUnusableModel:
    """1. A model that cannot be used is never recorded as finished work."""

    @pytest.mark.parametrize(
        "error",
        [
            BackendAccessDeniedError("denied", code="AccessDeniedException"),
            BackendInvalidRequestError("bad model id", code="ValidationException"),
        ],
    )
    def test_non_retryable_error_stops_the_run(self, error: Exception) -> None:
        backend = FakeBackend(upper, faults=[error] * 100)
        store = MemoryLeadStore(leads(50))
        with pytest.raises(ModelFailedError) as caught:
            make(backend, concurrency=1).run(store, now_ms=1_000)
        # No more calls after the refusal; an invalid request in tool mode is asked once
        # more as JSON text first (the capability fallback).
        expected = 2 if isinstance(error, BackendInvalidRequestError) else 1
        assert backend.calls == expected
        assert normalized_ids(store) == []  # nothing saved
        assert caught.value.cause is error
        assert caught.value.report is not None
        assert caught.value.report.records_saved == 0

    def test_concurrent_calls_stop_too(self) -> None:
        backend = FakeBackend(upper, faults=[BackendAccessDeniedError("denied")] * 100)
        store = MemoryLeadStore(leads(200))
        with pytest.raises(ModelFailedError):
            make(backend, concurrency=4).run(store, now_ms=1_000)
        assert backend.calls <= 4
        assert normalized_ids(store) == []

    @pytest.mark.parametrize("error", [BackendThrottledError, BackendTimeoutError])
    def test_every_call_failing_is_a_failed_run(self, error: type[Exception]) -> None:
        """A throttle storm or timeouts longer than the retries: a failed run, quickly."""
        backend = FakeBackend(upper, faults=[error("storm")] * 1000)
        store = MemoryLeadStore(leads(300))
        with pytest.raises(ModelFailedError) as caught:
            make(backend, concurrency=1).run(store, now_ms=1_000)
        assert normalized_ids(store) == []
        # Three batches in a row failed after their 4 attempts: the run gave up.
        assert backend.calls == 12
        assert "failed" in str(caught.value)

    def test_a_failed_batch_defers_its_leads_only(self) -> None:
        """Calls that fail after retries among good ones: those leads stay due."""
        faults = [None] + [BackendTimeoutError("slow")] * 4  # the second batch fails for good
        backend = FakeBackend(upper, faults=faults)
        store = MemoryLeadStore(leads(30))
        result = run_job(make(backend, concurrency=1), store, now_ms=1_000)
        statuses = list(result.statuses.values())
        assert statuses.count("saved") == 20
        assert statuses.count("deferred") == 10
        assert result.report.records_deferred == 10
        assert result.report.deferred_by_reason == {"model_failed": 10}
        assert len(normalized_ids(store)) == 20
        deferred = {lead for lead, status in result.statuses.items() if status == "deferred"}
        assert not deferred & set(normalized_ids(store))
        # The next run does them.
        again = run_job(make(FakeBackend(upper), concurrency=1), store, now_ms=2_000)
        assert again.report.records_saved == 10

    def test_guard_rejected_answer_saves_the_rules_value_flagged(self) -> None:
        """The model answered and the guard refused: the rules' value is saved, flagged."""

        def liar(request: ModelRequest) -> str:
            items = [{"id": item.id, "value": "Bancolombia"} for item in request.items]
            return json.dumps({"items": items})

        store = MemoryLeadStore(leads(3))
        result = run_job(make(FakeBackend(liar)), store, now_ms=1_000)
        assert set(result.statuses.values()) == {"saved"}
        saved = store.get("lead-000")
        assert saved is not None
        assert "guard_rejected" in saved["normalizationMeta"]["flags"]["empresa"]
        assert saved["normalizedData"]["empresa"] != "Bancolombia"


class TestDeadline:
    """3. A hard deadline, and results saved as they are decided."""

    def test_saves_per_batch_not_per_chunk(self) -> None:
        store = MemoryLeadStore(leads(40))
        seen: list[int] = []

        def spy(request: ModelRequest) -> str:
            seen.append(len(normalized_ids(store)))
            return upper(request)

        make(FakeBackend(spy), concurrency=1).run(store, now_ms=1_000)
        # Before each call, the leads of every earlier batch were already saved.
        assert seen == [0, 10, 20, 30]

    def test_no_retry_waits_past_the_deadline(self) -> None:
        waits: list[float] = []
        retry = RetryPolicy(sleep=waits.append, jitter_s=0, initial_wait_s=5, max_wait_s=5)
        backend = FakeBackend(upper, faults=[BackendThrottledError("busy")] * 3)
        store = MemoryLeadStore(leads(5))
        result = run_job(
            make(backend, retry=retry), store, now_ms=1_000, stop_when=Deadline.after(2.0)
        )
        assert waits == []  # a 5 s wait does not fit in 2 s
        assert result.report.records_saved == 0
        assert set(result.statuses.values()) == {"deferred"}

    def test_call_timeout_is_bounded_by_the_time_left(self) -> None:
        timeouts: list[float | None] = []

        def record(request: ModelRequest) -> str:
            timeouts.append(request.timeout_s)
            return upper(request)

        make(FakeBackend(record)).run(
            MemoryLeadStore(leads(5)), now_ms=1_000, stop_when=Deadline.after(30)
        )
        [timeout] = timeouts
        assert timeout is not None
        assert 0 < timeout <= 30

    def test_a_call_that_hangs_is_abandoned_at_the_deadline(self) -> None:
        """A backend ignoring timeout_s: the run returns at the deadline and keeps what it did."""
        release = threading.Event()
        calls = 0

        def hang_on_second(request: ModelRequest) -> str:
            nonlocal calls
            calls += 1
            if calls == 2:
                release.wait(10)
            return upper(request)

        store = MemoryLeadStore(leads(20))
        started = time.monotonic()
        try:
            result = run_job(
                make(FakeBackend(hang_on_second), concurrency=1),
                store,
                now_ms=1_000,
                stop_when=Deadline.after(1.0),
            )
        finally:
            release.set()
        assert time.monotonic() - started < 3
        assert len(normalized_ids(store)) == 10
        assert result.report.records_deferred == 10
        assert result.report.stopped_early == "deadline"


class TestProgress:
    """4. A run always finishes whole leads; a budget too small for one batch is refused."""

    def test_budget_stop_leaves_finished_leads(self) -> None:
        profile = COLOMBIAN_LEADS.with_fields(
            COLOMBIAN_LEADS["empresa"].with_strategy("llm"),
            COLOMBIAN_LEADS["ocupacionActual"].with_strategy("llm"),
        )
        items = [
            {**lead, "ocupacionActual": f"oficio numero {n}"} for n, lead in enumerate(leads(200))
        ]
        store = MemoryLeadStore(items)
        backend = FakeBackend(upper)
        normalizer = make(backend, profile=profile, budget=Budget(max_tokens=15_000))
        saved_per_day = []
        for day in range(1, 30):
            report = normalizer.run(store, now_ms=day * 86_400_000)
            saved_per_day.append(report.records_saved)
            if len(normalized_ids(store)) == 200:
                break
        assert saved_per_day[0] > 0  # no livelock: the first day saves whole leads
        assert len(normalized_ids(store)) == 200

    def test_budget_smaller_than_one_batch_is_an_error(self) -> None:
        with pytest.raises(ConfigurationError, match="budget"):
            make(FakeBackend(upper), budget=Budget(max_tokens=50)).run(
                MemoryLeadStore(leads(3)), now_ms=1_000
            )


class TestRollback:
    """5. Rolling back a prompt version purges its cached answers."""

    def test_rollback_purges_the_cache(self) -> None:
        backend = FakeBackend(upper)
        normalizer = make(backend)
        store = MemoryLeadStore(leads(3))
        normalizer.run(store, now_ms=1_000)
        calls = backend.calls
        assert normalizer.rollback(store, normalizer.run_version) == 3
        normalizer.run(store, now_ms=2_000)
        assert backend.calls > calls  # asked again, not served the bad answer from the cache
