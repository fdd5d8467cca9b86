"""The scheduled job on a `LeadStore`: select the leads due, normalize them, save them back.

This is the seed's Lambda as a function: read the stored config item (a disabled config does
nothing; its `modelId` picks the model), stream the leads whose `normalizedAt` is missing or
older than the TTL, normalize them a chunk at a time with a `Normalizer`, and save each one
conditionally on what was read. It returns the run's `RunReport` and what became of each lead
(`JobResult.statuses`), so an event-driven caller (a DynamoDB stream, an SQS queue) knows
which leads to report as failed without wrapping the store.

A lead is saved only when every field it asked for was decided by the path meant to decide
it; a lead the budget or the deadline kept from the model is left untouched (`deferred`), so
the next run does it properly instead of TTL days later.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, Literal, TypeAlias

from llm_normalize.config import NormalizationConfig, stored_model_id
from llm_normalize.records import FLAG_NOT_SENT, NormalizedRecord, RunStamp, normalization_meta
from llm_normalize.report import RunCounts, RunReport
from llm_normalize.stores.base import LeadStore, LeadUpdate, StoredLead

if TYPE_CHECKING:
    # The normalizer drives this module (`Normalizer.run`); here it is only a type.
    from llm_normalize.pipeline import NormalizationRun, Normalizer

__all__ = ["JobResult", "LeadStatus", "OnStatus", "effective_config", "process_leads", "run_job"]

logger = logging.getLogger(__name__)

LeadStatus: TypeAlias = Literal["saved", "conflict", "missing", "deferred", "failed"]
"""What became of one lead: saved; not saved because it changed (`conflict`) or was deleted
(`missing`) since it was read; left for the next run because the budget or the deadline kept
the model from it (`deferred`); or not normalizable at all (`failed`)."""

OnStatus: TypeAlias = Callable[[str, LeadStatus], object]
"""Called with a lead id and its status as soon as the lead is settled, before the next one:
a caller whose run ends in an exception still knows which leads were saved."""

_NOT_SAVED: Final = {"conflict": "changed", "missing": "deleted"}


@dataclass(frozen=True, slots=True)
class JobResult:
    """What a job did.

    Attributes:
        report: The run's PII-free report.
        statuses: What became of each lead reached, by lead id. A lead that is absent was
            not reached (the run stopped early, or an exception ended it).
    """

    report: RunReport
    statuses: Mapping[str, LeadStatus]


def run_job(
    normalizer: Normalizer,
    store: LeadStore,
    *,
    force: bool = False,
    limit: int | None = None,
    now_ms: int | None = None,
    progress: Callable[[int], None] | None = None,
    stop_when: Callable[[], bool] | None = None,
    on_status: OnStatus | None = None,
) -> JobResult:
    """Run the seed's scheduled job on `store` (see `Normalizer.run` for the arguments).

    `on_status(lead_id, status)` is called as each lead is settled.
    """
    run = _start(normalizer, store, stop_when)
    if run is None:
        return JobResult(_disabled(normalizer), {})
    now = _now(now_ms)
    cap = run.config.max_leads_per_run if limit is None else limit
    due = store.iter_due(
        now_ms=now, ttl_days=run.config.normalization_ttl_days, force=force, limit=cap
    )
    statuses = _save_all(run, store, due, now, progress, on_status)
    return JobResult(run.finish(), statuses)


def process_leads(
    normalizer: Normalizer,
    store: LeadStore,
    leads: Iterable[StoredLead],
    *,
    now_ms: int | None = None,
    stop_when: Callable[[], bool] | None = None,
    on_status: OnStatus | None = None,
) -> JobResult:
    """Normalize and save the given leads, whatever their `normalizedAt`.

    For event-driven callers that already know which leads to do (a stream record's new
    image, an SQS message naming lead ids). Saves are conditional exactly as in `run_job`;
    the stored config is read too, and a disabled config does nothing. `on_status` is
    called as each lead is settled.
    """
    run = _start(normalizer, store, stop_when)
    if run is None:
        return JobResult(_disabled(normalizer), {})
    statuses = _save_all(run, store, iter(leads), _now(now_ms), None, on_status)
    return JobResult(run.finish(), statuses)


def _now(now_ms: int | None) -> int:
    return int(time.time() * 1000) if now_ms is None else now_ms


def effective_config(
    normalizer: Normalizer, stored: Mapping[str, Any] | None
) -> NormalizationConfig:
    """The normalizer's config with a stored config item (`store.load_config()`) on top."""
    return normalizer.config.with_stored(stored) if stored else normalizer.config


def _start(
    normalizer: Normalizer, store: LeadStore, stop_when: Callable[[], bool] | None
) -> NormalizationRun | None:
    """Open the run with the stored config item on top; `None` when it disables the job."""
    stored = store.load_config()
    config = effective_config(normalizer, stored)
    if not config.enabled:
        logger.info("normalization is disabled by the configuration; nothing to do")
        return None
    model_id = stored_model_id(stored) if stored else None
    return normalizer.start(config=config, stop_when=stop_when, model_id=model_id)


def _disabled(normalizer: Normalizer) -> RunReport:
    return normalizer.start().finish(enabled=False)


def _save_all(
    run: NormalizationRun,
    store: LeadStore,
    leads: Iterator[StoredLead],
    now: int,
    progress: Callable[[int], None] | None,
    on_status: OnStatus | None,
) -> dict[str, LeadStatus]:
    stamp = RunStamp(prompt_version=run.run_version, model_id=run.model_id)
    statuses: dict[str, LeadStatus] = {}
    position = 0
    chunk_size = run.normalizer.chunk_size
    while chunk := list(itertools.islice(leads, chunk_size)):
        numbered = [(position + i, lead.item) for i, lead in enumerate(chunk)]
        position += len(chunk)
        results = run.normalize_chunk(numbered)
        counts = RunCounts()
        for lead, result in zip(chunk, results, strict=True):
            status = _save(store, lead, result, stamp, now)
            statuses[lead.lead_id] = status
            counts += _count(status)
            if on_status is not None:
                on_status(lead.lead_id, status)
        run.add(counts)
        if progress is not None:
            progress(len(chunk))
        if run.stopped_early is not None:
            break
    return statuses


def _save(
    store: LeadStore, lead: StoredLead, result: NormalizedRecord, stamp: RunStamp, now: int
) -> LeadStatus:
    """Save one lead, unless it failed or the model never saw some of its values."""
    if result.error is not None:
        return "failed"
    if any(FLAG_NOT_SENT in flags for flags in result.flags.values()):
        # The budget or the deadline kept the model from this lead: leave it untouched, so
        # the next run does it properly instead of TTL days later.
        return "deferred"
    update = LeadUpdate(
        normalized_data=result.normalized,
        meta=normalization_meta(result, stamp),
        timestamp_ms=now,
    )
    status = store.save(lead, update)
    if status != "saved":
        logger.info("lead %s was %s since it was read; not saved", lead.lead_id, _NOT_SAVED[status])
    return status


def _count(status: LeadStatus) -> RunCounts:
    if status == "saved":
        return RunCounts(records_saved=1)
    if status == "deferred":
        return RunCounts(records_deferred=1)
    if status in _NOT_SAVED:
        return RunCounts(records_skipped=1, skipped_by_reason={status: 1})
    return RunCounts()
