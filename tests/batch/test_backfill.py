"""Backfills through Bedrock batch inference: one step per invocation, nothing undecided saved.

boto3 over HTTP against moto's S3 and the local Bedrock control-plane server; the online path
for comparison through the local Bedrock Runtime server, with the same responder.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from batch_support import RecordingCache, liar, make_batch, make_normalizer
from bedrock_batch_server import BedrockBatchServer, JobPlan
from bedrock_server import BedrockWireServer
from guard_lies import sample_leads
from llm_normalize.backfill import backfill_step, decide_in_batch
from llm_normalize.batch_inference import BatchJob, BedrockBatchInference
from llm_normalize.exceptions import BatchJobRecordedError, ConfigurationError
from llm_normalize.phases import TwoPhase
from llm_normalize.records import FLAG_MODEL_FAILED
from llm_normalize.stores.sqlite import SQLiteLeadStore

if TYPE_CHECKING:
    from boto3.session import Session
    from mypy_boto3_bedrock import BedrockClient
    from mypy_boto3_s3 import S3Client

NOW = 1_764_000_000_000
LEADS = 120
MIN_RECORDS = 5


def _leads() -> list[dict[str, Any]]:
    return [{**lead, "updatedAt": 1} for lead in copy.deepcopy(list(sample_leads()[:LEADS]))]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SQLiteLeadStore]:
    store = SQLiteLeadStore(tmp_path / "leads.db", create=True)
    store.put(_leads())
    yield store
    store.close()


@pytest.fixture
def twin(tmp_path: Path) -> Iterator[SQLiteLeadStore]:
    """The same leads in another store, for the online path."""
    store = SQLiteLeadStore(tmp_path / "online.db", create=True)
    store.put(_leads())
    yield store
    store.close()


@pytest.fixture
def batch(bucket: str, s3: S3Client, bedrock: BedrockClient) -> BedrockBatchInference:
    return make_batch(bucket, s3, bedrock, min_records=MIN_RECORDS)


@pytest.fixture(autouse=True)
def _lying(control: BedrockBatchServer, runtime: BedrockWireServer) -> None:
    control.plan = JobPlan(min_records=MIN_RECORDS, statuses=("Submitted", "InProgress"))
    control.responder = liar
    runtime.responder = liar


def _normalized(store: SQLiteLeadStore) -> dict[str, Any]:
    return {
        item["leadId"]: (
            item.get("normalizedData"),
            (item.get("normalizationMeta") or {}).get("flags"),
        )
        for item in store.scan()
    }


def _due(store: SQLiteLeadStore) -> int:
    return store.count_due(now_ms=NOW, ttl_days=7)


def test_submit_wait_collect_equals_the_online_run(
    session: Session,
    runtime: BedrockWireServer,
    control: BedrockBatchServer,
    store: SQLiteLeadStore,
    twin: SQLiteLeadStore,
    batch: BedrockBatchInference,
) -> None:
    normalizer = make_normalizer(session, runtime, RecordingCache())
    before = _normalized(store)

    first = backfill_step(normalizer, store, batch, now_ms=NOW)
    assert first.action == "submitted"
    assert first.job is not None
    assert first.values > 0
    assert store.load_batch_job() == first.job.to_json()
    assert _normalized(store) == before  # nothing saved while the job runs
    assert len(runtime.requests) == 0  # and no online call

    waiting = backfill_step(normalizer, store, batch, now_ms=NOW)
    assert waiting.action == "waiting"
    control.finish_all()
    done = backfill_step(normalizer, store, batch, now_ms=NOW)
    assert done.action == "collected"
    assert done.saved is not None
    assert done.outcome is not None
    assert done.saved.report.records_saved == LEADS
    assert store.load_batch_job() is None
    assert len(runtime.requests) == 0  # the saves made no model call
    assert _due(store) == 0

    online = make_normalizer(session, runtime, RecordingCache())
    online.run(twin, now_ms=NOW, limit=LEADS)
    assert len(runtime.requests) > 0
    assert _normalized(store) == _normalized(twin)
    assert done.outcome.counts.guard_rejections  # the liar's lies were refused, as online


def test_values_a_job_left_undecided_keep_their_leads_due(
    session: Session,
    runtime: BedrockWireServer,
    control: BedrockBatchServer,
    store: SQLiteLeadStore,
    batch: BedrockBatchInference,
) -> None:
    control.plan = JobPlan(min_records=MIN_RECORDS, error_records={0, 3}, missing_records={5})
    cache = RecordingCache()
    normalizer = make_normalizer(session, runtime, cache)
    backfill_step(normalizer, store, batch, now_ms=NOW)
    control.finish_all()
    done = backfill_step(normalizer, store, batch, now_ms=NOW)
    assert done.outcome is not None
    assert done.saved is not None
    undecided = done.outcome.undecided
    assert undecided
    for key in undecided:
        assert FLAG_MODEL_FAILED in done.outcome.results[key].flags
    deferred = {lead for lead, status in done.saved.statuses.items() if status == "deferred"}
    assert deferred
    assert done.saved.reasons == dict.fromkeys(deferred, "cache_only")
    for item in store.scan():  # untouched, still due
        if item["leadId"] in deferred:
            assert "normalizedAt" not in item
    assert _due(store) == len(deferred)

    # The next backfill asks exactly what is still undecided (the cache holds the rest).
    control.plan = JobPlan(min_records=1)
    again = backfill_step(normalizer, store, batch, now_ms=NOW)
    assert again.values == len(undecided)


def test_a_failed_job_saves_nothing(
    session: Session,
    runtime: BedrockWireServer,
    control: BedrockBatchServer,
    store: SQLiteLeadStore,
    batch: BedrockBatchInference,
) -> None:
    control.plan = JobPlan(min_records=MIN_RECORDS, final_status="Failed")
    normalizer = make_normalizer(session, runtime, RecordingCache())
    backfill_step(normalizer, store, batch, now_ms=NOW)
    control.finish_all()
    done = backfill_step(normalizer, store, batch, now_ms=NOW)
    assert done.saved is not None
    leads_with_model_values = {
        lead for lead, status in done.saved.statuses.items() if status == "deferred"
    }
    assert leads_with_model_values
    assert done.saved.report.records_saved + len(leads_with_model_values) == LEADS
    assert store.load_batch_job() is None
    assert len(runtime.requests) == 0


def test_too_few_values_are_asked_online(
    session: Session,
    runtime: BedrockWireServer,
    store: SQLiteLeadStore,
    bucket: str,
    s3: S3Client,
    bedrock: BedrockClient,
    control: BedrockBatchServer,
) -> None:
    batch = make_batch(bucket, s3, bedrock, min_records=10_000)
    normalizer = make_normalizer(session, runtime, RecordingCache())
    step = backfill_step(normalizer, store, batch, now_ms=NOW)
    assert step.action == "online"
    assert step.saved is not None
    assert step.saved.report.records_saved == LEADS
    assert control.creates == []
    assert len(runtime.requests) > 0


def test_a_crash_between_submit_and_record_makes_no_second_job(
    session: Session,
    runtime: BedrockWireServer,
    control: BedrockBatchServer,
    store: SQLiteLeadStore,
    batch: BedrockBatchInference,
) -> None:
    normalizer = make_normalizer(session, runtime, RecordingCache())
    phases = TwoPhase(normalizer)
    pending = [v for lead in store.scan() for v in phases.rules.draft(lead).pending]
    assert normalizer.dispatcher is not None
    lost = batch.submit(phases.questions(pending), normalizer.dispatcher, batch_size=10)
    step = backfill_step(normalizer, store, batch, now_ms=NOW)  # the record was never written
    assert step.job is not None
    assert step.job.name == lost.name
    assert len(control.creates) == len(lost.parts)


def test_a_recorded_job_is_never_overwritten(
    session: Session,
    runtime: BedrockWireServer,
    store: SQLiteLeadStore,
    batch: BedrockBatchInference,
) -> None:
    normalizer = make_normalizer(session, runtime, RecordingCache())
    step = backfill_step(normalizer, store, batch, now_ms=NOW)
    assert step.job is not None
    other = BatchJob.from_json(step.job.to_json().replace(step.job.name, "llmn-other"))
    with pytest.raises(BatchJobRecordedError):
        store.record_batch_job(other.to_json())


def test_a_store_that_cannot_record_is_refused(
    session: Session, runtime: BedrockWireServer, batch: BedrockBatchInference
) -> None:
    from llm_normalize.stores.base import LeadStore

    class Plain:
        pass

    with pytest.raises(ConfigurationError, match="cannot record a batch job"):
        backfill_step(make_normalizer(session, runtime, RecordingCache()), Plain(), batch)  # type: ignore[arg-type]
    assert not isinstance(Plain(), LeadStore)


def test_decide_in_batch_equals_decide_online(
    session: Session,
    runtime: BedrockWireServer,
    control: BedrockBatchServer,
    batch: BedrockBatchInference,
) -> None:
    leads = _leads()
    online = TwoPhase(make_normalizer(session, runtime, RecordingCache()))
    pending = [v for n, lead in enumerate(leads) for v in online.rules.draft(lead, n).pending]
    expected = online.decide(pending).results
    calls = len(runtime.requests)

    phases = TwoPhase(make_normalizer(session, runtime, RecordingCache()))
    decided = decide_in_batch(
        phases, pending, batch, poll_s=1, sleep=lambda _s: control.finish_all()
    )
    assert len(runtime.requests) == calls  # no online call
    assert dict(decided.results) == dict(expected)
    online_cost = online.normalizer.last_report
    assert online_cost is not None
    assert online_cost.estimated_cost_usd
    assert decided.report.estimated_cost_usd == pytest.approx(
        online_cost.estimated_cost_usd / 2, rel=0.25
    )
