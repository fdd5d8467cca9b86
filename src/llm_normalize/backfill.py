"""Backfills of a lead store through Bedrock batch inference, one step per invocation.

A batch job takes minutes to hours, and neither a Lambda nor a terminal should wait for it.
So `backfill_step` does what is due now and returns; call it again later (the
``llm-normalize backfill`` command, a scheduled function):

1. **Nothing recorded in the store:** the rules pass over the due leads (`TwoPhase`), the
   distinct values the rules are unsure of, less those the value cache answers. Too few for a
   batch job (`BedrockBatchInference.enough`): the leads are normalized with on-demand calls
   at once (``"online"``). Else the job is submitted and recorded in the store beside its
   config (``"submitted"``); nothing is saved yet.
2. **A job recorded, not finished:** its status is returned (``"waiting"``).
3. **A job recorded and finished:** its answers are collected through the parser, the guard
   and the value cache as online ones are, then the due leads are saved with no model call
   (`llm_normalize.job.run_job` with ``cache_only``): a lead whose every value is decided is
   saved; one with a value the job left undecided (a failed job, an error record, a missing
   or cut-off answer) is deferred, untouched and still due, for the next backfill. The record
   is cleared (``"collected"``).

The value cache carries the answers from step 3's collection to its saves, and across
invocations: it must outlive the process (the CLI's default SQLite cache, a DynamoDB cache
table). A process that dies anywhere loses nothing: a job submitted but not recorded is found
again by the next submit of the same values (`BedrockBatchInference.submit` names runs after
their input), and a job collected but not cleared is collected again from the cache.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from types import MappingProxyType
from typing import TYPE_CHECKING, Literal, TypeAlias

from llm_normalize.caches import cache_key, get_many, rejection_key
from llm_normalize.config import stored_model_id
from llm_normalize.exceptions import ConfigurationError
from llm_normalize.job import NO_LIMIT, JobResult, effective_config, run_job
from llm_normalize.phases import Decisions, Pending, TwoPhase
from llm_normalize.pricing import batch_prices
from llm_normalize.records import FieldResult
from llm_normalize.report import RunCounts
from llm_normalize.stores.base import LeadStore, RecordsBatchJob

if TYPE_CHECKING:
    from llm_normalize.batch_inference import (
        BatchJob,
        BatchOutcome,
        BatchStatus,
        BedrockBatchInference,
    )
    from llm_normalize.dispatch import ModelDispatcher
    from llm_normalize.model_pass import Question
    from llm_normalize.pipeline import Normalizer

__all__ = ["BackfillAction", "BackfillStep", "backfill_step", "decide_in_batch"]

logger = logging.getLogger(__name__)

BackfillAction: TypeAlias = Literal["online", "submitted", "waiting", "collected"]
"""What a `backfill_step` did (see the module's docstring)."""


@dataclass(frozen=True, slots=True)
class BackfillStep:
    """What one `backfill_step` did.

    Attributes:
        action: ``"online"``, ``"submitted"``, ``"waiting"`` or ``"collected"``.
        values: Distinct values for the model found by the planning (``"online"`` and
            ``"submitted"``), not counting those the value cache answered.
        job: The batch job submitted, waited on or collected.
        status: The job's status (``"waiting"``, ``"collected"``).
        outcome: What the collection decided (``"collected"``), priced at the batch rate by
            `BatchOutcome.report`.
        saved: The job's result of the saves (``"online"``, ``"collected"``): its report and
            each lead's status.
    """

    action: BackfillAction
    values: int = 0
    job: BatchJob | None = None
    status: BatchStatus | None = None
    outcome: BatchOutcome[tuple[str, str]] | None = None
    saved: JobResult | None = None


def backfill_step(
    normalizer: Normalizer,
    store: LeadStore,
    batch: BedrockBatchInference,
    *,
    force: bool = False,
    limit: int | None = None,
    now_ms: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> BackfillStep:
    """Do the backfill's next step on `store`: plan and submit, wait, or collect and save.

    Args:
        normalizer: Its model (a `BedrockBatchInference`-capable Bedrock backend), value cache
            (persistent: the answers go through it), guard and limits are used.
        store: The leads, and where the job in flight is recorded (`RecordsBatchJob`).
        batch: Where jobs go (bucket, role, quotas).
        force: Every lead, not only the due ones (the seed's `forceAll`).
        limit: At most this many leads (default: every due lead: a backfill has no
            per-run cap).
        now_ms: The clock in epoch milliseconds (default: now).
        progress: Called with the number of leads just saved (a progress bar's `update`).

    Raises:
        ConfigurationError: The store cannot record a job, or the normalizer has no model.
        BatchJobRecordedError: Another backfill recorded a job meanwhile.
        BackendError: S3 or Bedrock refused a call; nothing was saved or recorded by it.
        ModelFailedError: The on-demand calls of an ``"online"`` step cannot be made.
    """
    if not isinstance(store, RecordsBatchJob):
        raise ConfigurationError(
            f"{type(store).__name__} cannot record a batch job; use a SQLite or DynamoDB store"
        )
    if normalizer.dispatcher is None:
        raise ConfigurationError("a backfill through batch inference needs a model backend")
    recorded = store.load_batch_job()
    cap = NO_LIMIT if limit is None else limit
    if recorded is not None:
        return _collect(normalizer, store, batch, recorded, force, cap, now_ms, progress)
    phases, dispatcher = _setup(normalizer, store)
    questions = _not_cached(_pending(phases, store, force, cap, now_ms), dispatcher)
    batch_size = phases.config.batch_size
    if not questions or not batch.enough(questions, batch_size=batch_size):
        logger.info(
            "backfill: %d values for the model, too few for a batch job; asking them online",
            len(questions),
        )
        saved = run_job(normalizer, store, force=force, limit=cap, now_ms=now_ms, progress=progress)
        return BackfillStep("online", values=len(questions), saved=saved)
    job = batch.submit(questions, dispatcher, batch_size=batch_size)
    store.record_batch_job(job.to_json())
    logger.info("backfill: %d values submitted in batch run %s", len(questions), job.name)
    return BackfillStep("submitted", values=len(questions), job=job)


def _collect(
    normalizer: Normalizer,
    store: RecordsBatchJob,
    batch: BedrockBatchInference,
    recorded: str,
    force: bool,
    cap: int,
    now_ms: int | None,
    progress: Callable[[int], None] | None,
) -> BackfillStep:
    from llm_normalize.batch_inference import BatchJob

    job = BatchJob.from_json(recorded)
    status = batch.status(job)
    if not status.done:
        return BackfillStep("waiting", job=job, status=status)
    assert isinstance(store, LeadStore)
    phases, dispatcher = _setup(normalizer, store)
    questions = phases.questions(batch.values(job))
    outcome = batch.collect(job, questions, dispatcher)
    saved = run_job(
        normalizer,
        store,
        force=force,
        limit=cap,
        now_ms=now_ms,
        progress=progress,
        cache_only=True,
    )
    store.record_batch_job(None)
    logger.info(
        "backfill: batch run %s collected, %d values undecided; %d leads saved, %d deferred",
        job.name,
        len(outcome.undecided),
        saved.report.records_saved,
        saved.report.records_deferred,
    )
    return BackfillStep(
        "collected", values=len(questions), job=job, status=status, outcome=outcome, saved=saved
    )


def decide_in_batch(
    phases: TwoPhase,
    pending: Iterable[Pending | Question | tuple[str, str]],
    batch: BedrockBatchInference,
    *,
    stop_when: Callable[[], bool] | None = None,
    poll_s: float = 60.0,
    max_poll_s: float = 900.0,
    sleep: Callable[[float], None] | None = None,
) -> Decisions:
    """Phase 2 of a `TwoPhase` through one Bedrock batch inference job, waited for here.

    For a driver that may wait (a Spark or Glue job; never a Lambda): the distinct values the
    value cache cannot answer go in one batch run, polled until it ends; its answers are
    judged and cached as online ones are, and the rest come from the cache. Too few values
    for a job (`BedrockBatchInference.enough`) are decided with on-demand calls instead, by
    `TwoPhase.decide`. A value the job left undecided (a failed job, an error record, a
    missing or cut-off answer) keeps the rules' value flagged ``model_failed``; one never sent
    (the wait stopped by `stop_when`) is flagged ``not_sent``: neither is passed off as
    decided. The report of a batch run is priced at the batch rate.

    Args:
        phases: The phases (the normalizer's model must be a Bedrock one batch jobs serve).
        pending: The values to decide, as for `TwoPhase.decide`.
        batch: Where the job goes (bucket, role, quotas).
        stop_when: Stop waiting when it returns True: the job's values are left undecided
            (the job runs on; `BedrockBatchInference.resume` finds it again).
        poll_s: The first wait between two status calls; it doubles up to `max_poll_s`.
        max_poll_s: The longest wait between two status calls.
        sleep: How to wait (default `time.sleep`; inject one in tests).

    Raises:
        BackendError: S3 or Bedrock refused a call; nothing was decided by it.
        ModelFailedError: The on-demand calls of a small set cannot be made.
    """
    questions = phases.questions(pending)
    dispatcher = phases.normalizer.dispatcher
    batch_size = phases.config.batch_size
    left = {} if dispatcher is None else _not_cached(questions, dispatcher)
    if dispatcher is None or not left or not batch.enough(left, batch_size=batch_size):
        return phases.decide(questions.values(), stop_when=stop_when)
    started = datetime.now(UTC)
    job = batch.submit(left, dispatcher, batch_size=batch_size)
    status = batch.wait(
        job, stop_when=stop_when, poll_s=poll_s, max_poll_s=max_poll_s, sleep=sleep or time.sleep
    )
    # The values the cache answers (and, if the wait stopped, all the rest: not sent).
    known = phases.decide(questions.values(), cache_only=True)
    if not status.done:
        logger.warning("batch run %s has not finished; its values are left undecided", job.name)
        return known
    outcome = batch.collect(job, left, dispatcher)
    results: dict[tuple[str, str], FieldResult] = dict(known.results)
    results.update(outcome.results)
    counts = outcome.counts + RunCounts(cache_hits=known.report.cache_hits)
    report = counts.freeze(
        model_id=outcome.model_id,
        prompt_version=outcome.prompt_version,
        started_at=started,
        duration_s=(datetime.now(UTC) - started).total_seconds(),
        prices=batch_prices(phases.normalizer.prices),
    )
    return Decisions(MappingProxyType(results), report)


def _setup(normalizer: Normalizer, store: LeadStore) -> tuple[TwoPhase, ModelDispatcher]:
    """The phases of the store's config, and the dispatcher its runs use (its `modelId`)."""
    stored = store.load_config()
    phases = TwoPhase(normalizer, config=effective_config(normalizer, stored))
    dispatcher = phases.normalizer._dispatcher_for(stored_model_id(stored) if stored else None)
    assert dispatcher is not None  # checked by backfill_step
    return phases, dispatcher


def _pending(
    phases: TwoPhase, store: LeadStore, force: bool, cap: int, now_ms: int | None
) -> dict[tuple[str, str], Question]:
    """The distinct values of the due leads the rules leave to the model."""
    now = int(time.time() * 1000) if now_ms is None else now_ms
    due = store.iter_due(
        now_ms=now, ttl_days=phases.config.normalization_ttl_days, force=force, limit=cap
    )
    rules = phases.rules
    return phases.questions(
        value for number, lead in enumerate(due) for value in rules.draft(lead.item, number).pending
    )


def _not_cached(
    questions: Mapping[tuple[str, str], Question], dispatcher: ModelDispatcher
) -> dict[tuple[str, str], Question]:
    """`questions` less those the value cache holds an answer or a refusal for."""
    version = dispatcher.cache_version
    left: dict[tuple[str, str], Question] = {}
    items = list(questions.items())
    for start in range(0, len(items), 100):  # one request per 100 keys for a remote cache
        chunk = [
            (
                key,
                question,
                cache_key(question.name, question.raw, version),
                rejection_key(question.name, question.raw, version),
            )
            for key, question in items[start : start + 100]
        ]
        found = get_many(dispatcher.cache, [k for _, _, *pair in chunk for k in pair])
        for key, question, accepted, refused in chunk:
            if accepted not in found and refused not in found:
                left[key] = question
    return left
