"""The `Normalizer`: records in, `NormalizedRecord`s out, originals untouched.

Rules first: every value goes through its field's post-processors. A value goes to the
model only when its field's strategy asks for it (`llm`), or (`auto`, the default) when the
rules were not confident. Those values are deduplicated (`(field, raw value)` once per run),
looked up in the value cache, and the rest sent in small batches, several at a time, under an
adaptive rate limit, with retries and an optional budget. Every answer passes the guard and
then the field's post-processors; a rejected or missing answer falls back to the rules and
is flagged. Seed-style processing (every field of `batch_size` leads per call) stays
available as `batching="leads"`, for comparison.
"""

from __future__ import annotations

import functools
import itertools
import logging
import time
from collections import deque
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final, Literal, TypeAlias

from llm_normalize._names import field_key
from llm_normalize._version import __version__
from llm_normalize.backends.base import Backend, ModelRequest, Usage
from llm_normalize.backends.retry import RetryPolicy
from llm_normalize.cache import LRUCache, NullCache, ValueCache, cache_key
from llm_normalize.config import NormalizationConfig
from llm_normalize.exceptions import (
    BackendError,
    BackendThrottledError,
    ConfigurationError,
    ResponseParseError,
    UnknownFieldError,
)
from llm_normalize.fields import COLOMBIAN_LEADS, FieldSpec, Profile
from llm_normalize.guard import Guard
from llm_normalize.parsing import ParsedAnswer, ResponseParser, TruncatedResponseError
from llm_normalize.postprocessors.base import Outcome
from llm_normalize.postprocessors.registry import PostProcessorRegistry, default_registry
from llm_normalize.prompt import Item, PromptBuilder
from llm_normalize.ratelimit import AdaptiveRateLimiter, RateLimiter
from llm_normalize.records import (
    FLAG_GUARD_REJECTED,
    FLAG_MODEL_FAILED,
    FLAG_NOT_CONFIDENT,
    FLAG_NOT_SENT,
    FLAG_UNSUPPORTED_TYPE,
    FieldResult,
    NormalizedRecord,
    Source,
)
from llm_normalize.report import RunReport, RunStats, estimate_cost
from llm_normalize.stores.base import LeadStore, LeadUpdate, StoredLead

__all__ = [
    "Batching",
    "Budget",
    "FieldResult",
    "NormalizedRecord",
    "Normalizer",
    "Source",
]

logger = logging.getLogger(__name__)

Batching: TypeAlias = Literal["values", "leads"]
"""How model calls are filled: distinct values (default) or, like the seed, whole leads."""

# Distinct values remembered per run; past this the memo starts over (memory stays bounded
# on a 100k-record file whose free-text fields are mostly distinct).
_MEMO_LIMIT: Final = 65_536


@dataclass(frozen=True, slots=True)
class Budget:
    """A ceiling on what one run may spend on the model; past it, no new call is scheduled.

    Each call is reserved at its worst case (estimated input plus its `max_tokens` of output)
    before it is sent, so the ceiling holds even with several calls in flight.

    Attributes:
        max_tokens: Input plus output tokens.
        max_usd: Estimated US dollars, from the price table (unknown models cannot be
            held to a dollar budget: `Normalizer` refuses that combination).
    """

    max_tokens: int | None = None
    max_usd: float | None = None

    def __post_init__(self) -> None:
        if self.max_tokens is not None and self.max_tokens < 0:
            raise ConfigurationError("Budget.max_tokens must not be negative")
        if self.max_usd is not None and self.max_usd < 0:
            raise ConfigurationError("Budget.max_usd must not be negative")


@dataclass(slots=True)
class _Slot:
    """One value the model should decide, and what the rules made of it."""

    key: Hashable
    name: str
    spec: FieldSpec
    raw: str
    rules: FieldResult


@dataclass(slots=True)
class _CallResult:
    parsed: ParsedAnswer | None = None
    truncated: bool = False
    error: str | None = None


@dataclass(slots=True)
class _Pending:
    """A record between the rules pass and the model pass."""

    position: int
    rid: str
    original: Mapping[str, Any]
    results: dict[str, FieldResult | Hashable]


# Specs for fields known only to the registry: the rules decide them. Cached: the pipeline
# asks for a field's spec once per value.
@functools.cache
def _fallback_spec(name: str) -> FieldSpec:
    return FieldSpec(name, kind="free_text", instructions="Tidy this value.", strategy="rules")


class Normalizer:
    """Normalize records field by field: rules first, the model for the rest, originals untouched.

    Args:
        backend: The model backend (`BedrockBackend`, `FakeBackend`, or your own). `None`
            runs the rules alone.
        config: Run settings (default: `NormalizationConfig()`): the fields to normalize,
            the batch size, the record id attribute.
        registry: The post-processor chains (default: `default_registry`).
        cache: The value cache (default: an in-memory `LRUCache`; `NullCache()` for none).
        profile: The field specs (default: `COLOMBIAN_LEADS`).
        concurrency: Model calls in flight at once.
        requests_per_second: The starting rate of the adaptive limiter (halved on
            throttling, recovering slowly).
        rate_limiter: A limiter of your own, instead of `requests_per_second`.
        retry: How model calls are retried (default: `RetryPolicy()`, 4 attempts, 1-2-4 s).
        budget: A ceiling on tokens or dollars for one run.
        batching: `values` (distinct values, default) or `leads` (the seed's way: every field
            of `batch_size` leads per call, no dedupe, no cache).
        prompt_builder: Builds requests (default: `PromptBuilder(profile)`).
        parser: Reads answers (default: `ResponseParser()`).
        guard: Checks answers (default: `Guard(profile)`).
        prices: A price table for the cost estimate (default: the built-in one).
        stop_when: Called before each model call; when it returns True, no further call is
            scheduled (a Lambda passes "less than N seconds left"); the rest falls back to the
            rules and the report says `stopped_early="deadline"`.
        chunk_size: Records held at once; dedupe works within a chunk, the cache across them.

    Raises:
        ConfigurationError: A field to normalize is unknown, or a setting is out of range.

    Examples:
        >>> [record] = Normalizer().normalize([{"leadId": "1", "nombres": "JUAN CARLOS"}])
        >>> record.normalized["nombres"]
        'Juan Carlos'
    """

    def __init__(
        self,
        backend: Backend | None = None,
        config: NormalizationConfig | None = None,
        registry: PostProcessorRegistry | None = None,
        cache: ValueCache | None = None,
        *,
        profile: Profile | None = None,
        concurrency: int = 4,
        requests_per_second: float = 5.0,
        rate_limiter: RateLimiter | None = None,
        retry: RetryPolicy | None = None,
        budget: Budget | None = None,
        batching: Batching = "values",
        prompt_builder: PromptBuilder | None = None,
        parser: ResponseParser | None = None,
        guard: Guard | None = None,
        prices: Mapping[str, tuple[float, float]] | None = None,
        stop_when: Callable[[], bool] | None = None,
        chunk_size: int = 1000,
    ) -> None:
        if concurrency < 1:
            raise ConfigurationError("concurrency must be at least 1")
        if requests_per_second <= 0:
            raise ConfigurationError("requests_per_second must be positive")
        if chunk_size < 1:
            raise ConfigurationError("chunk_size must be at least 1")
        if batching not in ("values", "leads"):
            raise ConfigurationError("batching must be 'values' or 'leads'")
        self.backend = backend
        self.config = config or NormalizationConfig()
        self.profile = profile or COLOMBIAN_LEADS
        self.registry = registry or default_registry
        self._check_fields(self.config)
        self.cache: ValueCache = (
            NullCache() if batching == "leads" else (cache if cache is not None else LRUCache())
        )
        self.concurrency = concurrency
        self.rate_limiter: RateLimiter = rate_limiter or AdaptiveRateLimiter(
            requests_per_second, burst=concurrency
        )
        self.retry = retry or RetryPolicy()
        self.budget = budget
        self.batching: Batching = batching
        self.prompt_builder = prompt_builder or PromptBuilder(self.profile)
        self.parser = parser or ResponseParser()
        self.guard = guard or Guard(self.profile)
        self.prices = prices
        self.stop_when = stop_when
        self.chunk_size = chunk_size
        if (
            budget is not None
            and budget.max_usd is not None
            and backend is not None
            and estimate_cost(backend.model_id, Usage(1, 1), prices) is None
        ):
            raise ConfigurationError(
                f"no price known for model {backend.model_id!r}: a dollar budget cannot be "
                "held; pass prices=... or use Budget(max_tokens=...)"
            )
        self.last_report: RunReport | None = None
        self._memo: dict[tuple[str, str], Outcome] = {}

    def __repr__(self) -> str:
        model = self.backend.model_id if self.backend is not None else None
        return f"Normalizer(fields={self.config.fields_to_normalize!r}, model={model!r}, batching={self.batching!r})"

    @property
    def prompt_version(self) -> str:
        """The version of the prompt this normalizer sends (part of every cache key)."""
        return self.prompt_builder.prompt_version

    def _cache_version(self) -> str:
        # Answers depend on the prompt and on the model that gave them: a new model id must not
        # reuse another model's answers, so both make up the version part of the cache key.
        if self.backend is None:
            return ""
        return f"{self.prompt_version}@{self.backend.model_id}"

    # -- public entry points ---------------------------------------------------------------

    def normalize(self, records: Iterable[Mapping[str, Any]]) -> list[NormalizedRecord]:
        """Normalize records; the input mappings are never modified.

        A record that is not a mapping becomes a `NormalizedRecord` with an `error`, and the
        others go on. The run's `RunReport` is then in `last_report`.
        """
        return list(self.iter_normalize(records))

    def normalize_with_report(
        self, records: Iterable[Mapping[str, Any]]
    ) -> tuple[list[NormalizedRecord], RunReport]:
        """Like `normalize`, and return the run's report too."""
        results = self.normalize(records)
        assert self.last_report is not None  # set when iter_normalize finishes
        return results, self.last_report

    def iter_normalize(self, records: Iterable[Mapping[str, Any]]) -> Iterator[NormalizedRecord]:
        """Like `normalize`, a chunk at a time, for inputs too large to hold in memory.

        `last_report` is set when the iterator is exhausted.
        """
        stats = self._new_stats()
        started = time.monotonic()
        numbered = enumerate(records)
        while chunk := list(itertools.islice(numbered, self.chunk_size)):
            yield from self._process(chunk, stats)
        self._finish(stats, started)

    def run(
        self,
        store: LeadStore,
        *,
        force: bool = False,
        limit: int | None = None,
        now_ms: int | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> RunReport:
        """Run the seed's scheduled job on a lead store and return its report.

        Reads the store's config item (as the seed does at every run) over this normalizer's
        config; does nothing if it says `enabled: false`. Then streams the leads whose
        `normalizedAt` is missing or older than the TTL (all of them with `force`), at most
        `limit` (default: `max_leads_per_run`), normalizes them a chunk at a time, and saves
        each lead conditionally: a lead changed or deleted since it was read is skipped and
        counted, never overwritten. Originals are never written.

        If an exception escapes (a bug in a custom backend, a store failure), every lead is
        either fully saved or untouched, and the next run picks up the rest.

        Args:
            store: Where the leads are (`open_store("sqlite:///leads.db")`, ...).
            force: Normalize every lead, whatever its `normalizedAt` (the seed's `forceAll`).
            limit: At most this many leads; default the config's `max_leads_per_run`.
            now_ms: The run's clock in epoch milliseconds (default: now); it selects by TTL
                and is written as `normalizedAt` and `updatedAt`.
            progress: Called with the number of leads just handled, after each chunk
                (a progress bar's `update`).
        """
        started = time.monotonic()
        stored = store.load_config()
        config = self.config.with_stored(stored) if stored else self.config
        stats = self._new_stats()
        if not config.enabled:
            stats.enabled = False
            logger.info("normalization is disabled by the configuration; nothing to do")
            return self._finish(stats, started)
        self._check_fields(config)
        now = int(time.time() * 1000) if now_ms is None else now_ms
        cap = config.max_leads_per_run if limit is None else limit
        due = store.iter_due(
            now_ms=now, ttl_days=config.normalization_ttl_days, force=force, limit=cap
        )
        self._save_all(store, due, stats, config, now, progress)
        return self._finish(stats, started)

    def process_leads(
        self,
        store: LeadStore,
        leads: Iterable[StoredLead],
        *,
        now_ms: int | None = None,
    ) -> RunReport:
        """Normalize the given leads and save them, whatever their `normalizedAt`.

        For event-driven callers that already know which leads to do: a DynamoDB stream
        record's new image, an SQS message naming lead ids (`store.get`). Saves are
        conditional on the `updatedAt` in each `StoredLead`, exactly as in `run`; the stored
        config is read too, and a disabled config does nothing.
        """
        started = time.monotonic()
        stored = store.load_config()
        config = self.config.with_stored(stored) if stored else self.config
        stats = self._new_stats()
        if not config.enabled:
            stats.enabled = False
            return self._finish(stats, started)
        self._check_fields(config)
        now = int(time.time() * 1000) if now_ms is None else now_ms
        self._save_all(store, iter(leads), stats, config, now, None)
        return self._finish(stats, started)

    def _save_all(
        self,
        store: LeadStore,
        leads: Iterator[StoredLead],
        stats: RunStats,
        config: NormalizationConfig,
        now: int,
        progress: Callable[[int], None] | None,
    ) -> None:
        meta_base = {
            "promptVersion": self.run_version,
            "modelId": self.backend.model_id if self.backend is not None else None,
        }
        position = 0
        while chunk := list(itertools.islice(leads, self.chunk_size)):
            numbered = [(position + i, lead.item) for i, lead in enumerate(chunk)]
            position += len(chunk)
            for lead, result in zip(chunk, self._process(numbered, stats, config), strict=True):
                if result.error is not None:
                    continue
                if any(FLAG_NOT_SENT in flags for flags in result.flags.values()):
                    # The budget or the deadline kept the model from this lead: leave it
                    # untouched, so the next run does it properly instead of TTL days later.
                    stats.add("records_deferred")
                    continue
                update = LeadUpdate(
                    normalized_data=result.normalized,
                    meta={
                        **meta_base,
                        "source": result.sources,
                        "flags": {name: list(flags) for name, flags in result.flags.items()},
                    },
                    timestamp_ms=now,
                )
                status = store.save(lead, update)
                if status == "saved":
                    stats.add("records_saved")
                else:
                    stats.add("records_skipped")
                    stats.tally(stats.skipped, status)
                    logger.info(
                        "lead %s was %s since it was read; not saved",
                        lead.lead_id,
                        "changed" if status == "conflict" else "deleted",
                    )
            if progress is not None:
                progress(len(chunk))
            if stats.stopped_early is not None:
                break

    @property
    def run_version(self) -> str:
        """What a run records as `normalizationMeta.promptVersion`, and rolls back by.

        The prompt version when a model is in use; without one, `rules-<library version>`,
        since the rules alone decided and a new release may decide differently.
        """
        if self.backend is None:
            return f"rules-{__version__}"
        return self.prompt_version

    def _new_stats(self) -> RunStats:
        return RunStats(
            model_id=self.backend.model_id if self.backend is not None else None,
            prompt_version=self.run_version,
            prices=self.prices,
        )

    def _finish(self, stats: RunStats, started: float) -> RunReport:
        self.last_report = stats.freeze(time.monotonic() - started)
        return self.last_report

    def _check_fields(self, config: NormalizationConfig) -> None:
        known = set(self.profile.names) | set(self.registry.fields)
        for name in config.fields_to_normalize:
            if name not in self.profile and name not in self.registry:
                raise UnknownFieldError(name, known)

    def normalize_one(self, record: Mapping[str, Any], *, position: int = 0) -> NormalizedRecord:
        """Normalize one record (see `normalize`)."""
        [result] = self._process([(position, record)], RunStats())
        return result

    # -- the rules pass --------------------------------------------------------------------

    def _spec(self, name: str) -> FieldSpec:
        return self.profile[name] if name in self.profile else _fallback_spec(name)

    def _rules(self, name: str, raw: Any) -> tuple[FieldResult, str | None]:
        """The rules' result for one value, and the text to show a model (None: nothing to ask)."""
        if raw is None:
            return FieldResult(None, source="rules", confident=True, reason="empty"), None
        if isinstance(raw, bool) or not isinstance(raw, str | int | float):
            # A list or an object where text was expected: say so, never guess.
            result = FieldResult(
                None,
                source="rules",
                confident=False,
                reason="unsupported_type",
                flags=(FLAG_UNSUPPORTED_TYPE,),
            )
            return result, None
        text = raw if isinstance(raw, str) else str(raw)
        key = (name, text)
        outcome = self._memo.get(key)
        if outcome is None:
            if len(self._memo) >= _MEMO_LIMIT:
                self._memo.clear()
            outcome = self.registry.assess(name, text)
            self._memo[key] = outcome
        result = FieldResult(
            outcome.value,
            source="rules",
            confident=outcome.confident,
            reason=outcome.reason,
            flags=() if outcome.confident else (FLAG_NOT_CONFIDENT,),
        )
        # Nothing for a model to do with an empty value.
        return result, (text if outcome.value else None)

    def _wants_model(self, spec: FieldSpec, rules: FieldResult) -> bool:
        if self.backend is None or spec.strategy == "rules":
            return False
        if self.batching == "leads" or spec.strategy == "llm":
            return True
        return not rules.confident

    def _process(
        self,
        chunk: Sequence[tuple[int, Any]],
        stats: RunStats,
        config: NormalizationConfig | None = None,
    ) -> list[NormalizedRecord]:
        config = config or self.config
        pending: list[_Pending | NormalizedRecord] = []
        slots: dict[Hashable, _Slot] = {}
        hits: dict[Hashable, FieldResult] = {}
        version = self._cache_version()
        for position, record in chunk:
            stats.add("records_in")
            if not isinstance(record, Mapping):
                stats.add("records_failed")
                pending.append(
                    NormalizedRecord(
                        id=f"#{position}",
                        original=MappingProxyType({}),
                        error=f"expected a mapping, got {type(record).__name__}",
                    )
                )
                continue
            original = MappingProxyType(dict(record))
            record_id = original.get(config.id_field)
            rid = (
                str(record_id)
                if isinstance(record_id, str | int) and record_id != ""
                else f"#{position}"
            )
            results: dict[str, FieldResult | Hashable] = {}
            for name in config.fields_to_normalize:
                if name not in original:
                    continue
                rules, text = self._rules(name, original[name])
                spec = self._spec(name)
                if text is None or not self._wants_model(spec, rules):
                    results[name] = rules
                    continue
                if self.batching == "leads":
                    key: Hashable = (position, field_key(name))
                else:
                    key = (field_key(name), text)
                    if key in hits:
                        results[name] = hits[key]
                        continue
                    if key not in slots:
                        cached = self.cache.get(cache_key(name, text, version))
                        if cached is not None:
                            stats.add("cache_hits")
                            hits[key] = FieldResult(cached, source="cache", confident=True)
                            results[name] = hits[key]
                            continue
                results[name] = key
                slots.setdefault(key, _Slot(key, name, spec, text, rules))
            pending.append(_Pending(position, rid, original, results))

        decided = self._ask_model(list(slots.values()), stats, config.batch_size) if slots else {}

        out: list[NormalizedRecord] = []
        for item in pending:
            if isinstance(item, NormalizedRecord):
                out.append(item)
                continue
            fields = {
                name: value if isinstance(value, FieldResult) else decided[value]
                for name, value in item.results.items()
            }
            record = NormalizedRecord(id=item.rid, original=item.original, fields=fields)
            stats.add("records_normalized")
            stats.add("fields_normalized", len(fields))
            stats.add("fields_changed", len(record.changed))
            for name, result in fields.items():
                stats.tally(stats.sources, result.source)
                if not result.confident:
                    stats.add("not_confident")
                    stats.tally(stats.review_by_field, name)
            out.append(record)
        return out

    # -- the model pass --------------------------------------------------------------------

    def _batches(self, slots: list[_Slot], size: int) -> list[list[_Slot]]:
        if self.batching == "leads":
            # The seed's way: all the fields of `batch_size` leads in one call.
            by_lead: dict[Hashable, list[_Slot]] = {}
            for slot in slots:
                by_lead.setdefault(slot.key[0], []).append(slot)  # type: ignore[index]
            leads = list(by_lead.values())
            return [
                [slot for lead in leads[i : i + size] for slot in lead]
                for i in range(0, len(leads), size)
            ]
        # Values of one field together: a batch then carries fewer fields' instructions.
        ordered = sorted(slots, key=lambda s: field_key(s.name))
        return [ordered[i : i + size] for i in range(0, len(ordered), size)]

    def _over_budget(self, cost: Usage, reserved: Usage, stats: RunStats) -> bool:
        """Whether `cost` (one call's worst case) would break the budget on top of the rest."""
        if self.budget is None or self.backend is None:
            return False
        worst = stats.usage + reserved + cost
        if self.budget.max_tokens is not None and worst.total_tokens > self.budget.max_tokens:
            return True
        if self.budget.max_usd is not None:
            usd = estimate_cost(self.backend.model_id, worst, self.prices)
            return usd is not None and usd > self.budget.max_usd
        return False

    def _ask_model(
        self, slots: list[_Slot], stats: RunStats, batch_size: int
    ) -> dict[Hashable, FieldResult]:
        decided: dict[Hashable, FieldResult] = {}
        queue: deque[list[_Slot]] = deque(self._batches(slots, batch_size))
        in_flight: dict[Future[_CallResult], tuple[list[_Slot], Usage]] = {}
        reserved = Usage()
        with ThreadPoolExecutor(
            max_workers=self.concurrency, thread_name_prefix="llm-normalize"
        ) as pool:
            while queue or in_flight:
                while queue and len(in_flight) < self.concurrency and stats.stopped_early is None:
                    batch = queue[0]
                    request = self.prompt_builder.build(
                        [Item(str(i), slot.name, slot.raw) for i, slot in enumerate(batch)]
                    )
                    if self.stop_when is not None and self.stop_when():
                        stats.stop("deadline")
                        break
                    cost = Usage(
                        self.prompt_builder.estimate_input_tokens(request), request.max_tokens
                    )
                    if self._over_budget(cost, reserved, stats):
                        stats.stop("budget")
                        break
                    queue.popleft()
                    reserved = reserved + cost
                    stats.add("values_sent_to_model", len(batch))
                    in_flight[pool.submit(self._call, request, len(batch), stats)] = (batch, cost)
                if not in_flight:
                    break
                done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
                for future in done:
                    batch, cost = in_flight.pop(future)
                    reserved = Usage(
                        reserved.input_tokens - cost.input_tokens,
                        reserved.output_tokens - cost.output_tokens,
                    )
                    self._settle(batch, future.result(), queue, decided, stats)
        # Whatever was never sent (budget, deadline) falls back to the rules.
        for batch in queue:
            stats.add("values_not_sent", len(batch))
            for slot in batch:
                decided[slot.key] = self._fallback(slot, FLAG_NOT_SENT, "not_sent")
        return decided

    def _call(self, request: ModelRequest, size: int, stats: RunStats) -> _CallResult:
        """One batch, with retries; runs in a worker thread and never raises a BackendError."""
        backend = self.backend
        assert backend is not None

        def attempt() -> Any:
            self.rate_limiter.acquire()
            stats.add("model_calls")
            try:
                return backend.complete(request)
            except BackendThrottledError:
                stats.add("throttled")
                self.rate_limiter.on_throttle()
                raise

        def on_retry(exc: BaseException, attempt_number: int) -> None:
            stats.add("retries")
            logger.info(
                "retrying a model call after %s (attempt %d)", type(exc).__name__, attempt_number
            )

        try:
            response = self.retry.call(attempt, on_retry=on_retry)
        except BackendError as exc:
            stats.tally(stats.errors_by_kind, type(exc).__name__)
            logger.warning(
                "a model call failed for good: %s, %d items fall back to the rules",
                type(exc).__name__,
                size,
            )
            return _CallResult(error=type(exc).__name__)
        self.rate_limiter.on_success()
        stats.add_usage(response.usage)
        try:
            return _CallResult(parsed=self.parser.parse(response, [str(i) for i in range(size)]))
        except TruncatedResponseError:
            return _CallResult(truncated=True)
        except ResponseParseError:
            stats.tally(stats.errors_by_kind, "ResponseParseError")
            return _CallResult(error="ResponseParseError")

    def _settle(
        self,
        batch: list[_Slot],
        result: _CallResult,
        queue: deque[list[_Slot]],
        decided: dict[Hashable, FieldResult],
        stats: RunStats,
    ) -> None:
        if result.truncated:
            stats.add("truncated_batches")
            if len(batch) > 1:
                # Never repair a cut-off answer: send each half again, smaller.
                half = len(batch) // 2
                queue.appendleft(batch[half:])
                queue.appendleft(batch[:half])
                return
            stats.tally(stats.item_errors, "truncated")
            decided[batch[0].key] = self._fallback(batch[0], FLAG_MODEL_FAILED, "truncated")
            return
        if result.parsed is None:
            for slot in batch:
                decided[slot.key] = self._fallback(slot, FLAG_MODEL_FAILED, "model_error")
            return
        parsed = result.parsed
        if parsed.unknown_ids:
            stats.tally(stats.item_errors, "unknown_id", parsed.unknown_ids)
        version = self._cache_version()
        for index, slot in enumerate(batch):
            answer = parsed.values.get(str(index))
            if answer is None:
                reason = parsed.errors.get(str(index), "missing")
                stats.tally(stats.item_errors, reason)
                decided[slot.key] = self._fallback(slot, FLAG_MODEL_FAILED, reason)
                continue
            verdict = self.guard.check(slot.spec, slot.raw, answer)
            if not verdict.ok:
                stats.tally(stats.guard_rejections, verdict.reason or "rejected")
                decided[slot.key] = self._fallback(
                    slot, FLAG_GUARD_REJECTED, f"guard:{verdict.reason}"
                )
                continue
            value = self.registry.apply(slot.name, answer) or ""
            decided[slot.key] = FieldResult(value, source="llm", confident=True)
            if self.batching == "values":
                self.cache.set(cache_key(slot.name, slot.raw, version), value)

    @staticmethod
    def _fallback(slot: _Slot, flag: str, reason: str) -> FieldResult:
        flags = tuple(dict.fromkeys((*slot.rules.flags, flag)))
        return FieldResult(
            slot.rules.value, source="rules", confident=False, reason=reason, flags=flags
        )
