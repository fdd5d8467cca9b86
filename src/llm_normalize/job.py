"""The scheduled job on a `LeadStore`: select the leads due, normalize them, save them back.

This is the seed's Lambda as a function: read the stored config item (a disabled config does
nothing; its `modelId` picks the model), stream the leads whose `normalizedAt` is missing or
older than the TTL, normalize them with a `Normalizer` (`NormalizationRun.stream`), and save
each one, as soon as it is decided, conditionally on what was read. It returns the run's
`RunReport` and what became of each lead (`JobResult.statuses`), so an event-driven caller
(a DynamoDB stream, an SQS queue) knows which leads to report as failed without wrapping the
store.

A lead is saved only when every field it asked for was decided by the path meant to decide
it; a lead the budget or the deadline kept from the model is left untouched (`deferred`), so
the next run does it properly instead of TTL days later.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, Literal, TypeAlias

from llm_normalize.config import NormalizationConfig, stored_model_id
from llm_normalize.exceptions import ConfigurationError, ModelFailedError
from llm_normalize.records import (
    FLAG_MODEL_FAILED,
    FLAG_NOT_SENT,
    NormalizedRecord,
    RunStamp,
    normalization_meta,
)
from llm_normalize.report import RunCounts, RunReport
from llm_normalize.run import DEFAULT_CHUNK_SIZE
from llm_normalize.stores.base import LeadStore, LeadUpdate, StoredLead

if TYPE_CHECKING:
    # The normalizer drives this module (`Normalizer.run`); here it is only a type.
    from llm_normalize.pipeline import Normalizer
    from llm_normalize.run import NormalizationRun

__all__ = [
    "NO_LIMIT",
    "DueLeads",
    "JobResult",
    "LeadStatus",
    "OnStatus",
    "due_leads",
    "effective_config",
    "process_leads",
    "run_job",
]

logger = logging.getLogger(__name__)

NO_LIMIT: Final = 2**62
"""A `limit` past any table: every due lead (`None` means the config's `max_leads_per_run`)."""

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
        reasons: Why each deferred lead was left for the next run, by lead id:
            ``"budget"``, ``"deadline"``, ``"model_errors"`` (the pass stopped after calls
            kept failing) or ``"model_failed"`` (a call for it failed after its retries).
    """

    report: RunReport
    statuses: Mapping[str, LeadStatus]
    reasons: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class DueLeads:
    """How many leads are due, and how many of them one run takes (`due_leads`).

    Attributes:
        due: Every lead due now (all leads with `force`), counted by `LeadStore.count_due`.
        this_run: How many of them a run with the same arguments takes: `due`, at most the
            limit (by default the config's `max_leads_per_run`); 0 when disabled. A
            progress bar's total.
        now_ms: The clock counted with; pass it to the run (`Normalizer.run(now_ms=...)`)
            so that it selects the same leads, and to a count after the run.
        ttl_days: The TTL counted with (the stored config's over the normalizer's).
        enabled: Whether the config lets the job run at all.
    """

    due: int
    this_run: int
    now_ms: int
    ttl_days: float
    enabled: bool

    @property
    def after_run(self) -> int:
        """How many stay due if the run saves every lead it takes (`due - this_run`)."""
        return self.due - self.this_run


def due_leads(
    normalizer: Normalizer,
    store: LeadStore,
    *,
    force: bool = False,
    limit: int | None = None,
    now_ms: int | None = None,
) -> DueLeads:
    """Count the leads due and those a run with the same arguments would take, reading none.

    Reads the stored config item over the normalizer's config, as the run does, for the
    TTL, `max_leads_per_run` and `enabled`. Before a run, `this_run` is a progress bar's
    total; after it, counting again with the same `now_ms` (and no `force`) says how many
    leads are still due, the ones the run deferred or could not save included.

    Raises:
        ConfigurationError: `limit` is negative.

    Examples:
        >>> from llm_normalize import Normalizer
        >>> from llm_normalize.stores import MemoryLeadStore
        >>> store = MemoryLeadStore([{"leadId": f"l{n}"} for n in range(80)])
        >>> due = due_leads(Normalizer(), store, now_ms=0)
        >>> due.due, due.this_run, due.after_run
        (80, 50, 30)
    """
    if limit is not None and limit < 0:
        raise ConfigurationError(f"limit must be None or >= 0, got {limit}")
    config = effective_config(normalizer, store.load_config())
    now = _now(now_ms)
    ttl_days = config.normalization_ttl_days
    due = store.count_due(now_ms=now, ttl_days=ttl_days, force=force)
    cap = config.max_leads_per_run if limit is None else limit
    this_run = min(due, cap) if config.enabled else 0
    return DueLeads(
        due=due, this_run=this_run, now_ms=now, ttl_days=ttl_days, enabled=config.enabled
    )


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
    cache_only: bool = False,
) -> JobResult:
    """Run the seed's scheduled job on `store` (see `Normalizer.run` for the arguments).

    `on_status(lead_id, status)` is called as each lead is settled. With `cache_only`, no
    model call is made: values the value cache answers (a batch job's answers, collected) are
    used, and a lead with any other value for the model is deferred (``"cache_only"``).
    """
    run = _start(normalizer, store, stop_when)
    if run is not None and cache_only and run.model is not None:
        run.model.stop("cache_only")
    if run is None:
        return JobResult(_disabled(normalizer), {})
    now = _now(now_ms)
    cap = run.config.max_leads_per_run if limit is None else limit
    due = store.iter_due(
        now_ms=now, ttl_days=run.config.normalization_ttl_days, force=force, limit=cap
    )
    return _finish(
        run,
        lambda statuses, reasons: _save_all(
            run, store, due, now, progress, on_status, statuses, reasons
        ),
    )


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
    now = _now(now_ms)
    return _finish(
        run,
        lambda statuses, reasons: _save_all(
            run, store, iter(leads), now, None, on_status, statuses, reasons
        ),
    )


def _finish(
    run: NormalizationRun,
    work: Callable[[dict[str, LeadStatus], dict[str, str]], None],
) -> JobResult:
    """Do the run's work and return its result; a model failure carries what was done."""
    statuses: dict[str, LeadStatus] = {}
    reasons: dict[str, str] = {}
    try:
        work(statuses, reasons)
    except ModelFailedError as exc:
        exc.report = run.finish()
        exc.statuses = dict(statuses)
        logger.error(
            "the run stopped: the model cannot be used (%s); %d leads saved before, the "
            "rest untouched and still due",
            type(exc.cause).__name__,
            exc.report.records_saved,
        )
        raise
    return JobResult(run.finish(), statuses, reasons)


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
    statuses: dict[str, LeadStatus],
    reasons: dict[str, str],
) -> None:
    """Normalize the leads as they are read, saving each one as soon as it is decided.

    Once the model pass stops early (budget, deadline, failing model), no more leads are
    read: those read are finished (saved, or deferred), the rest are left for the next run.
    `progress` hears of the leads settled, `chunk_size` (default 1,000) at a time and the rest
    at the end.
    """
    saver = _Saver(run, store, now, on_status, statuses, reasons, progress)
    try:
        for _record in run.stream(
            saver.read(leads),
            on_record=saver.settle,
            ordered=False,
            # A cache-only run reads on: the cache decides what it can of every lead.
            stop_reading=run.stopped_early != "cache_only",
        ):
            pass
    finally:
        saver.close()


class _Saver:
    """Saves the leads of a run as the normalizer completes them, and keeps their statuses."""

    def __init__(
        self,
        run: NormalizationRun,
        store: LeadStore,
        now: int,
        on_status: OnStatus | None,
        statuses: dict[str, LeadStatus],
        reasons: dict[str, str],
        progress: Callable[[int], None] | None = None,
    ) -> None:
        self.run = run
        self.store = store
        self.now = now
        self.on_status = on_status
        self.statuses = statuses
        self.reasons = reasons
        self.progress = progress
        self.watched = tuple(run.config.fields_to_normalize)
        self._leads: dict[int, StoredLead] = {}
        self._counts = RunCounts()
        self._unreported = 0  # leads settled and not yet told to `progress`

    def read(self, leads: Iterable[StoredLead]) -> Iterator[tuple[int, Mapping[str, Any]]]:
        """The leads as the run reads them, numbered; each is held until it is settled."""
        for number, lead in enumerate(leads):
            self._leads[number] = lead
            yield number, lead.item

    def close(self) -> None:
        """Add the saves' figures to the run, and tell `progress` of the last leads."""
        self.run.add(self._counts)
        self._counts = RunCounts()
        if self.progress is not None and self._unreported:
            self.progress(self._unreported)
        self._unreported = 0

    def _stamp(self) -> RunStamp:
        # Taken at each save: a model that refused forced tool use is asked in JSON text from
        # then on, under another prompt version, and the leads it answers carry that one.
        return RunStamp(prompt_version=self.run.run_version, model_id=self.run.model_id)

    def settle(self, number: int, result: NormalizedRecord) -> None:
        """Save a lead the run just completed (unless it is undecided), and keep its status."""
        lead = self._leads.pop(number)
        status, reason = _save(
            self.store, lead, result, self._stamp(), self.now, self.watched, self.run.stopped_early
        )
        self.statuses[lead.lead_id] = status
        if reason is not None:
            self.reasons[lead.lead_id] = reason
        self._counts += _count(status, reason)
        if self.on_status is not None:
            self.on_status(lead.lead_id, status)
        self._unreported += 1
        every = self.run.normalizer.chunk_size or DEFAULT_CHUNK_SIZE
        if self.progress is not None and self._unreported >= every:
            self.progress(self._unreported)
            self._unreported = 0


def _save(
    store: LeadStore,
    lead: StoredLead,
    result: NormalizedRecord,
    stamp: RunStamp,
    now: int,
    watched: tuple[str, ...],
    stopped_early: str | None,
) -> tuple[LeadStatus, str | None]:
    """Save one lead, unless it failed or some of its values were left undecided."""
    if result.error is not None:
        return "failed", None
    reason = _undecided(result, stopped_early)
    if reason is not None:
        # Leave it untouched, so the next run does it properly instead of TTL days later.
        return "deferred", reason
    update = LeadUpdate(
        normalized_data=result.normalized,
        meta=normalization_meta(result, stamp),
        timestamp_ms=now,
        watched=watched,
    )
    status = store.save(lead, update)
    if status != "saved":
        logger.info("lead %s was %s since it was read; not saved", lead.lead_id, _NOT_SAVED[status])
    return status, None


def _undecided(result: NormalizedRecord, stopped_early: str | None) -> str | None:
    """Why some value of `result` was not decided by the path meant to decide it, if so.

    A value the model was meant to decide but never saw (budget, deadline, failing model),
    or whose call failed, is undecided. A value whose answer the guard refused is decided:
    the model was asked and answered, and its answer cannot be a normalization of the raw
    value, so the rules' value stands, flagged ``guard_rejected`` for review. Asking again
    would bring the same answer at temperature 0, and keep the lead due forever.
    """
    reason: str | None = None
    for field_result in result.fields.values():
        if FLAG_NOT_SENT in field_result.flags:
            return stopped_early or "not_sent"
        if FLAG_MODEL_FAILED in field_result.flags:
            reason = "deadline" if field_result.reason == "deadline" else "model_failed"
    return reason


def _count(status: LeadStatus, reason: str | None) -> RunCounts:
    if status == "saved":
        return RunCounts(records_saved=1)
    if status == "deferred":
        return RunCounts(records_deferred=1, deferred_by_reason={reason or "not_sent": 1})
    if status in _NOT_SAVED:
        return RunCounts(records_skipped=1, skipped_by_reason={status: 1})
    return RunCounts()
