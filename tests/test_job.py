"""The scheduled job: per-lead statuses, the stored config's model, re-entrant runs."""

import threading
from typing import Any

import pytest

from llm_normalize import NormalizationConfig, Normalizer
from llm_normalize.backends.base import ModelRequest
from llm_normalize.backends.fake import FakeBackend
from llm_normalize.backends.retry import RetryPolicy
from llm_normalize.exceptions import ConfigurationError
from llm_normalize.job import process_leads, run_job
from llm_normalize.messages import ModelResponse
from llm_normalize.stores.memory import MemoryLeadStore

HAIKU = "anthropic.claude-3-haiku-20240307-v1:0"
SONNET = "anthropic.claude-3-5-sonnet-20240620-v1:0"
NO_SLEEP = RetryPolicy(sleep=lambda _seconds: None)


def lead(n: int, **fields: Any) -> dict[str, Any]:
    return {"leadId": f"lead-{n}", "nombres": "JUAN", "ciudad": "bogta", **fields}


def make(backend: Any, **kwargs: Any) -> Normalizer:
    kwargs.setdefault("requests_per_second", 10_000)
    kwargs.setdefault("retry", NO_SLEEP)
    return Normalizer(backend, **kwargs)


class TestStoredModelId:
    def test_stored_model_id_is_called(self) -> None:
        """A modelId in the stored config item picks the model the run calls and records."""
        backend = FakeBackend(model_id=HAIKU)
        store = MemoryLeadStore([lead(0)], config={"modelId": SONNET})
        report = make(backend).run(store, now_ms=1_000)
        assert report.model_id == SONNET
        assert [r.metadata for r in backend.requests]  # the model was asked
        saved = store.get("lead-0")
        assert saved is not None
        assert saved["normalizationMeta"]["modelId"] == SONNET

    def test_same_model_id_changes_nothing(self) -> None:
        """A stored modelId equal to the backend's keeps the backend as it is."""
        backend = FakeBackend(model_id=HAIKU)
        store = MemoryLeadStore([lead(0)], config={"modelId": HAIKU})
        assert make(backend).run(store, now_ms=1_000).model_id == HAIKU

    def test_cache_is_per_model(self) -> None:
        """Answers cached for one model are not reused when the config switches models."""
        backend = FakeBackend(model_id=HAIKU)
        normalizer = make(backend)
        normalizer.run(MemoryLeadStore([lead(0)]), now_ms=1_000)
        calls = backend.calls
        normalizer.run(MemoryLeadStore([lead(0)], config={"modelId": SONNET}), now_ms=1_000)
        assert backend.calls > calls

    def test_backend_that_cannot_switch_is_refused(self) -> None:
        """A backend without with_model_id fails the run loudly instead of ignoring modelId."""

        class Fixed:
            model_id = HAIKU

            def complete(self, request: ModelRequest) -> ModelResponse:
                raise AssertionError("never called")

        store = MemoryLeadStore([lead(0)], config={"modelId": SONNET})
        with pytest.raises(ConfigurationError, match="with_model_id"):
            make(Fixed()).run(store, now_ms=1_000)
        item = store.get("lead-0")
        assert item is not None
        assert "normalizedData" not in item


class TestStatuses:
    def test_each_lead_has_a_status(self) -> None:
        """run_job says what became of every lead it reached."""
        store = MemoryLeadStore([lead(n) for n in range(3)])
        result = run_job(Normalizer(), store, now_ms=1_000)
        assert result.statuses == dict.fromkeys(["lead-0", "lead-1", "lead-2"], "saved")
        assert result.report.records_saved == 3

    def test_conflict_is_reported(self) -> None:
        """A lead edited since it was read is a conflict, never overwritten."""
        store = MemoryLeadStore([lead(0, updatedAt=5)])
        [stored] = list(store.iter_due(now_ms=1_000, ttl_days=7))
        store.put([lead(0, updatedAt=6, nombres="EDITADO")])
        result = process_leads(Normalizer(), store, [stored], now_ms=1_000)
        assert result.statuses == {"lead-0": "conflict"}
        assert result.report.skipped_by_reason == {"conflict": 1}
        item = store.get("lead-0")
        assert item is not None
        assert "normalizedData" not in item

    def test_deadline_defers(self) -> None:
        """Leads the deadline kept from the model are deferred, untouched."""
        store = MemoryLeadStore([lead(0)])
        result = run_job(make(FakeBackend()), store, now_ms=1_000, stop_when=lambda: True)
        assert result.statuses == {"lead-0": "deferred"}
        assert result.report.stopped_early == "deadline"

    def test_disabled(self) -> None:
        """A disabled config does nothing and says so."""
        store = MemoryLeadStore([lead(0)], config={"enabled": False})
        result = run_job(Normalizer(), store, now_ms=1_000)
        assert result.statuses == {}
        assert not result.report.enabled


class TestReentrant:
    def test_per_run_deadline_stays_in_its_run(self) -> None:
        """A deadline given to one run neither stops another nor sticks to the normalizer."""
        normalizer = make(FakeBackend())
        first = normalizer.run(MemoryLeadStore([lead(0)]), now_ms=1_000, stop_when=lambda: True)
        second = normalizer.run(MemoryLeadStore([lead(1)]), now_ms=1_000)
        assert first.stopped_early == "deadline"
        assert second.stopped_early is None
        assert second.records_saved == 1
        assert normalizer.stop_when is None

    def test_concurrent_runs_keep_their_own_reports(self) -> None:
        """Runs on one normalizer in several threads each get a report of their own records."""
        normalizer = make(FakeBackend(latency_s=0.01))
        reports: dict[int, Any] = {}

        def work(n: int) -> None:
            records = [{"leadId": f"{n}-{i}", "ciudad": f"sitio {n} {i}"} for i in range(n)]
            reports[n] = normalizer.normalize_with_report(records)[1]

        threads = [threading.Thread(target=work, args=(n,)) for n in (3, 5, 7, 9)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert {n: report.records_in for n, report in reports.items()} == {3: 3, 5: 5, 7: 7, 9: 9}
        assert normalizer.last_report in reports.values()

    def test_config_without_model_ignores_model_id(self) -> None:
        """Without a model, a stored modelId has nothing to switch."""
        store = MemoryLeadStore([lead(0)], config={"modelId": SONNET})
        report = Normalizer(config=NormalizationConfig()).run(store, now_ms=1_000)
        assert report.records_saved == 1
        assert report.model_id is None


class TestOnStatus:
    def test_settled_leads_are_known_when_a_save_fails(self) -> None:
        """on_status reports each lead as it is settled, so a failure mid-run loses none."""

        class Failing(MemoryLeadStore):
            def save(self, lead: Any, update: Any) -> Any:
                if lead.lead_id == "lead-1":
                    raise RuntimeError("disk full")
                return super().save(lead, update)

        store = Failing([lead(n) for n in range(3)])
        settled: dict[str, str] = {}
        leads = list(store.iter_due(now_ms=1_000, ttl_days=7))
        with pytest.raises(RuntimeError):
            process_leads(Normalizer(), store, leads, now_ms=1_000, on_status=settled.__setitem__)
        assert settled == {"lead-0": "saved"}
