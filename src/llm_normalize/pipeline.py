"""The `Normalizer`: records in, `NormalizedRecord`s out, originals untouched.

Rules first: every value goes through its field's post-processors. A value goes to the
model only when its field's strategy asks for it (`llm`), or (`auto`, the default) when the
rules were not confident. Those values are deduplicated (`(field, raw value)` once per run)
and handed to the model pass (`llm_normalize.dispatch`), which answers from the value cache or
the model while the rules pass goes on, and falls back to the rules, flagged, for what it
could not decide. Each record is assembled as soon as its values are decided.

A `Normalizer` keeps no per-run state: each run opens a `NormalizationRun`
(`llm_normalize.run`), which the scheduled job (`llm_normalize.job`) drives too, and returns
its report. One instance may
serve several runs at once (threads, Lambda invocations).
"""

from __future__ import annotations

import copy
import functools
import logging
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, Final

from llm_normalize._names import field_key
from llm_normalize._version import __version__
from llm_normalize.backends.base import Backend
from llm_normalize.backends.retry import RetryPolicy
from llm_normalize.caches import LRUCache, PurgeableCache, ValueCache
from llm_normalize.config import NormalizationConfig
from llm_normalize.deadline import Deadline
from llm_normalize.dispatch import Budget, ModelDispatcher, check_rates
from llm_normalize.exceptions import ConfigurationError, UnknownFieldError
from llm_normalize.fields import FieldSpec, Profile
from llm_normalize.guard import Guard
from llm_normalize.job import process_leads, run_job
from llm_normalize.parsing import ResponseParser
from llm_normalize.postprocessors.address_styles import AddressStyle, warn_if_deprecated
from llm_normalize.postprocessors.base import Outcome
from llm_normalize.postprocessors.registry import PostProcessorRegistry
from llm_normalize.profiles.colombia import colombian_leads, default_registry_for
from llm_normalize.prompt import PromptBuilder
from llm_normalize.ratelimit import RateLimiter
from llm_normalize.records import (
    FLAG_NOT_CONFIDENT,
    FLAG_UNSUPPORTED_TYPE,
    FieldResult,
    NormalizedRecord,
    Source,
)
from llm_normalize.report import RunReport
from llm_normalize.run import NormalizationRun, wants_model
from llm_normalize.stores.base import LeadStore, StoredLead

__all__ = [
    "Budget",
    "FieldResult",
    "NormalizationRun",
    "NormalizedRecord",
    "Normalizer",
    "Source",
]

# Rules results remembered per field (least recently used first out), values of at most
# _MEMO_MAX_CHARS: memory stays bounded on 100k mostly distinct records, and the repeating
# values of one field (cities) are not pushed out by the distinct ones of another (addresses).
_MEMO_LIMIT: Final = 8_192
_MEMO_MAX_CHARS: Final = 200
# A value's result, and whether it is not empty (nothing for a model to do with an empty one).
_Memo = Callable[[str], tuple[FieldResult, bool]]

# Results that do not depend on the field; frozen, so every record shares them. A list or an
# object where text was expected is unsupported: say so, never guess.
_EMPTY: Final = FieldResult(None, source="rules", confident=True, reason="empty")
_UNSUPPORTED: Final = FieldResult(
    None, source="rules", confident=False, reason="unsupported_type", flags=(FLAG_UNSUPPORTED_TYPE,)
)

logger = logging.getLogger(__name__)


# Specs for fields known only to the registry: the rules decide them. Cached: the pipeline
# asks for a field's spec once per value.
@functools.cache
def _fallback_spec(name: str) -> FieldSpec:
    return FieldSpec(name, kind="free_text", instructions="Tidy this value.", strategy="rules")


def _decide(registry: PostProcessorRegistry, name: str, text: str) -> tuple[FieldResult, bool]:
    """The rules' result for one value of a field, and whether it is not empty."""
    outcome: Outcome = registry.assess(name, text)
    result = FieldResult(
        outcome.value,
        source="rules",
        confident=outcome.confident,
        reason=outcome.reason,
        flags=() if outcome.confident else (FLAG_NOT_CONFIDENT,),
    )
    return result, bool(outcome.value)


class Normalizer:
    """Normalize records field by field: rules first, the model for the rest, originals untouched.

    Args:
        backend: The model backend (`BedrockBackend`, `FakeBackend`, or your own). `None`
            runs the rules alone.
        config: Run settings (default: `NormalizationConfig()`): the fields to normalize,
            the batch size, the record id attribute.
        registry: The post-processor chains (default: `default_registry`, with the
            `direccion` chain of the config's `address_style`).
        cache: The value cache (default: an in-memory `LRUCache`; `NullCache()` for none).
        profile: The field specs (default: `COLOMBIAN_LEADS`, with the `direccion` spec of
            the config's `address_style`).
        concurrency: Model calls in flight at once. Default: sized from the rate and the
            model's latency as observed (rate x latency, with a quarter more, at most 64).
        requests_per_second: The service's quota of model calls per second (default 10,
            Bedrock's default on-demand quota): calls are spaced evenly just under it (no
            burst), slowed down on throttling and brought back up to it.
        rate_limiter: A limiter of your own, instead of `requests_per_second`.
        retry: How model calls are retried (default: `RetryPolicy()`, 4 attempts, 1-2-4 s).
        budget: A ceiling on tokens or dollars for one run.
        prompt_builder: Builds requests (default: `PromptBuilder(profile)`).
        parser: Reads answers (default: `ResponseParser()`).
        guard: Checks answers (default: `Guard(profile)`).
        prices: A price table for the cost estimate (default: the built-in one).
        stop_when: Called before each model call of every run; when it returns True, no
            further call is scheduled and the rest falls back to the rules (the report says
            `stopped_early="deadline"`). Each run may add its own (`stop_when=` of `normalize`,
            `run`, ...).
        chunk_size: The most records held at once (read, and not given back yet): the
            input is read no faster. Default: 1,000, and up to 16,000 while the model waits
            for values to ask (a slow model at its quota needs that many in flight).
        answer_mode: How the model answers: ``"tool"`` (forced tool use; a model that refuses
            it is switched to JSON text once, see `ModelDispatcher`) or ``"json"`` (JSON in
            text from the start). Default: the `prompt_builder`'s mode, else ``"tool"``.

    The model settings (from `concurrency` to `prices`, and `answer_mode`) make up the `dispatcher`, a
    `ModelDispatcher`; the normalizer itself holds the rules pass and the assembly.

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
        concurrency: int | None = None,
        requests_per_second: float | None = None,
        rate_limiter: RateLimiter | None = None,
        retry: RetryPolicy | None = None,
        budget: Budget | None = None,
        prompt_builder: PromptBuilder | None = None,
        parser: ResponseParser | None = None,
        guard: Guard | None = None,
        prices: Mapping[str, tuple[float, float]] | None = None,
        stop_when: Callable[[], bool] | None = None,
        chunk_size: int | None = None,
        answer_mode: str | None = None,
    ) -> None:
        if chunk_size is not None and chunk_size < 1:
            raise ConfigurationError("chunk_size must be at least 1")
        self.config = config or NormalizationConfig()
        self._set_rules(profile, registry, own_prompt=prompt_builder is not None)
        self._styles: dict[AddressStyle, Normalizer] = {}
        self._origin: Normalizer | None = None
        self._check_fields(self.config)
        self.cache: ValueCache = cache if cache is not None else LRUCache()
        self.prices = prices
        self.stop_when = stop_when
        self.chunk_size = chunk_size
        self.dispatcher: ModelDispatcher | None = None
        if backend is not None:
            self.dispatcher = ModelDispatcher(
                backend,
                registry=self.registry,
                cache=self.cache,
                profile=self.profile,
                concurrency=concurrency,
                requests_per_second=requests_per_second,
                rate_limiter=rate_limiter,
                retry=retry,
                budget=budget,
                prompt_builder=prompt_builder,
                parser=parser,
                guard=guard,
                prices=prices,
                answer_mode=answer_mode,
            )
        else:
            check_rates(concurrency, requests_per_second)  # the same settings, checked alike
        self._forget_rules()
        self._last_report: RunReport | None = None
        self._lock = threading.Lock()

    def _set_rules(
        self, profile: Profile | None, registry: PostProcessorRegistry | None, *, own_prompt: bool
    ) -> None:
        """The profile and registry: the caller's, or the built-in ones in the config's style.

        The address style picks the built-in chain and prompt of `direccion`; a profile,
        registry or prompt builder of your own is used as it is.
        """
        style = self.config.address_style
        if profile is None or registry is None:
            warn_if_deprecated(style)
        self.profile = profile or colombian_leads(style)
        self.registry = registry or default_registry_for(style)
        self._own_rules = not (profile is None and registry is None and not own_prompt)

    def __repr__(self) -> str:
        return f"Normalizer(fields={self.config.fields_to_normalize!r}, model={self.model_id!r})"

    @property
    def backend(self) -> Backend | None:
        """The model backend, or `None` for the rules alone."""
        return self.dispatcher.backend if self.dispatcher is not None else None

    @property
    def model_id(self) -> str | None:
        """The model the backend calls, or `None` for the rules alone."""
        return self.dispatcher.model_id if self.dispatcher is not None else None

    @property
    def rate_limiter(self) -> RateLimiter | None:
        """The rate limiter of the model calls (shared by every run), if there is a model."""
        return self.dispatcher.rate_limiter if self.dispatcher is not None else None

    @property
    def prompt_version(self) -> str:
        """The version of the prompt this normalizer sends (part of every cache key)."""
        if self.dispatcher is not None:
            return self.dispatcher.prompt_version
        return PromptBuilder(self.profile).prompt_version

    @property
    def run_version(self) -> str:
        """What a run records as `normalizationMeta.promptVersion`, and rolls back by.

        The prompt version when a model is in use; without one, `rules-<library version>`,
        since the rules alone decided and a new release may decide differently.
        """
        if self.dispatcher is None:
            return f"rules-{__version__}"
        return self.dispatcher.prompt_version

    @property
    def last_report(self) -> RunReport | None:
        """The report of the run that finished last on this normalizer, if any.

        A convenience for one run at a time. With several runs at once (threads, a Lambda
        serving overlapping invocations) use what each run returns: `normalize_with_report`,
        `run` and `process_leads` return their own report.
        """
        with self._lock:
            return self._last_report

    def _check_fields(self, config: NormalizationConfig) -> None:
        """Raise `UnknownFieldError` unless the profile or the registry knows every field."""
        known = set(self.profile.names) | set(self.registry.fields)
        for name in config.fields_to_normalize:
            if name not in self.profile and name not in self.registry:
                raise UnknownFieldError(name, known)

    # -- public entry points ---------------------------------------------------------------

    def normalize(
        self,
        records: Iterable[Mapping[str, Any]],
        *,
        stop_when: Callable[[], bool] | None = None,
        columns: Mapping[str, str] | None = None,
    ) -> list[NormalizedRecord]:
        """Normalize records; the input mappings are never modified.

        A record that is not a mapping becomes a `NormalizedRecord` with an `error`, and the
        others go on. The run's `RunReport` is then in `last_report`.

        A model call that fails after its retries leaves its values to the rules, flagged
        ``model_failed`` (``not_sent`` for values the budget or deadline kept from the model).

        Args:
            records: The records, mappings of field (or column) name to raw value.
            stop_when: This run's deadline check, on top of the normalizer's own.
            columns: ``{column: field}``: read a field from a column of another name, such
                as ``{"Dirección de residencia": "direccion"}`` (`llm_normalize.columns.
                match_columns` finds them from the headers). The normalized value is keyed
                by the field's name; the original keeps its column. Default: each field is
                read from the key of its own name.

        Raises:
            ModelFailedError: The model cannot be used (access denied, an invalid request,
                every call failing after its retries); its ``report`` says what was done.
            UnknownFieldError: `columns` maps to a field the profile and registry do not know.
        """
        return self.normalize_with_report(records, stop_when=stop_when, columns=columns)[0]

    def normalize_with_report(
        self,
        records: Iterable[Mapping[str, Any]],
        *,
        stop_when: Callable[[], bool] | None = None,
        columns: Mapping[str, str] | None = None,
    ) -> tuple[list[NormalizedRecord], RunReport]:
        """Like `normalize`, and return the run's report too (safe with concurrent runs)."""
        run = self.start(stop_when=stop_when, columns=columns)
        with run.failing():
            results = list(run.stream(enumerate(records)))
        return results, run.finish()

    def iter_normalize(
        self,
        records: Iterable[Mapping[str, Any]],
        *,
        stop_when: Callable[[], bool] | None = None,
        columns: Mapping[str, str] | None = None,
    ) -> Iterator[NormalizedRecord]:
        """Like `normalize`, streamed, for inputs too large to hold in memory.

        Records come out in input order, each as soon as it and those before it are
        decided; at most `chunk_size` records are held at once (see the argument).
        `last_report` is set when the iterator is exhausted.
        """
        run = self.start(stop_when=stop_when, columns=columns)
        with run.failing():
            yield from run.stream(enumerate(records))
        run.finish()

    def run(
        self,
        store: LeadStore,
        *,
        force: bool = False,
        limit: int | None = None,
        now_ms: int | None = None,
        progress: Callable[[int], None] | None = None,
        stop_when: Callable[[], bool] | None = None,
    ) -> RunReport:
        """Run the seed's scheduled job on a lead store and return its report.

        Reads the store's config item (as the seed does at every run) over this normalizer's
        config; does nothing if it says `enabled: false`, and calls the model its `modelId`
        names, if any. Then streams the leads whose `normalizedAt` is missing or older than
        the TTL (all of them with `force`), at most `limit` (default: `max_leads_per_run`),
        normalizes them as they stream, and saves each lead as soon as it is decided,
        conditionally: a lead changed or deleted since it was read is skipped and counted,
        never overwritten. Originals are
        never written. See `llm_normalize.job.run_job`, which also says what became of each
        lead.

        If an exception escapes (a bug in a custom backend, a store failure), every lead is
        either fully saved or untouched, and the next run picks up the rest.

        Args:
            store: Where the leads are (`open_store("sqlite:///leads.db")`, ...), a `LeadStore`.
            force: Normalize every lead, whatever its `normalizedAt` (the seed's `forceAll`).
            limit: At most this many leads; default the config's `max_leads_per_run`.
            now_ms: The run's clock in epoch milliseconds (default: now); it selects by TTL
                and is written as `normalizedAt` and `updatedAt`.
            progress: Called with the number of leads just handled, after each chunk
                (a progress bar's `update`).
            stop_when: This run's deadline check, on top of the normalizer's own.
        """
        result = run_job(
            self,
            store,
            force=force,
            limit=limit,
            now_ms=now_ms,
            progress=progress,
            stop_when=stop_when,
        )
        return result.report

    def process_leads(
        self,
        store: LeadStore,
        leads: Iterable[StoredLead],
        *,
        now_ms: int | None = None,
        stop_when: Callable[[], bool] | None = None,
    ) -> RunReport:
        """Normalize the given leads and save them, whatever their `normalizedAt`.

        For event-driven callers that already know which leads to do: a DynamoDB stream
        record's new image, an SQS message naming lead ids (`store.get`). Saves are
        conditional on the `updatedAt` in each `StoredLead`, exactly as in `run`; the stored
        config is read too, and a disabled config does nothing. See
        `llm_normalize.job.process_leads`, which also says what became of each lead.
        """
        return process_leads(self, store, leads, now_ms=now_ms, stop_when=stop_when).report

    def rollback(self, store: LeadStore, prompt_version: str) -> int:
        """Undo a prompt version on `store`, and forget what it taught this normalizer's cache.

        Every lead that version normalized gets back the state it had before
        (`LeadStore.rollback`), and the value cache's entries of that version are purged
        (when the cache is a `PurgeableCache`, as the built-in ones are), so the next run
        asks the model again instead of bringing the same answers back from the cache.

        Returns:
            How many leads were rolled back.
        """
        # The cache first: if purging fails, nothing is rolled back and it can be run again.
        if isinstance(self.cache, PurgeableCache):
            purged = self.cache.purge(prompt_version)
            logger.info("purged %d cached answers of the rolled-back version", purged)
        else:
            logger.warning(
                "the value cache cannot purge entries (%s): answers of the rolled-back "
                "version may come back from it",
                type(self.cache).__name__,
            )
        return store.rollback(prompt_version)

    def start(
        self,
        *,
        config: NormalizationConfig | None = None,
        stop_when: Callable[[], bool] | None = None,
        model_id: str | None = None,
        columns: Mapping[str, str] | None = None,
    ) -> NormalizationRun:
        """Open one run: normalize records with `NormalizationRun.stream`, then `finish`.

        Args:
            config: This run's settings (default: the normalizer's), e.g. with a stored
                config item on top.
            stop_when: This run's deadline check, on top of the normalizer's own.
            model_id: The model this run must call (a stored config item's `modelId`); the
                backend is switched with its `with_model_id` when it calls another one.
            columns: ``{column: field}`` for fields read from a column of another name (see
                `normalize`).

        A `config` in another `address_style` (a stored config item's `addressStyle`) runs
        with that style's `direccion` chain and prompt, and the same backend, cache and limits.

        Raises:
            ConfigurationError: `model_id` names another model and the backend cannot switch,
                or `config` another address style and this normalizer was given its own
                profile, registry or prompt builder.
            UnknownFieldError: `config` names a field the profile and registry do not know.
        """
        config = config or self.config
        if config.address_style != self.config.address_style:
            restyled = self._restyled(config.address_style)
            return restyled.start(
                config=config, stop_when=stop_when, model_id=model_id, columns=columns
            )
        if config is not self.config:
            self._check_fields(config)
        deadline = Deadline.combine(self.stop_when, stop_when)
        dispatcher = self._dispatcher_for(model_id)
        model = (
            dispatcher.start(
                deadline, fields=self._model_fields(config), batch_size=config.batch_size
            )
            if dispatcher is not None
            else None
        )
        return NormalizationRun(self, config, model, columns=self._read_from(columns))

    def _read_from(self, columns: Mapping[str, str] | None) -> dict[str, str]:
        """``{field key: column}`` of a ``{column: field}`` map, each field checked."""
        read_from: dict[str, str] = {}
        for column, name in (columns or {}).items():
            if name not in self.profile and name not in self.registry:
                raise UnknownFieldError(name, set(self.profile.names) | set(self.registry.fields))
            read_from[field_key(name)] = column
        return read_from

    def _model_fields(self, config: NormalizationConfig) -> list[str]:
        """The fields of `config` whose values the model may be asked about."""
        return [
            name
            for name in config.fields_to_normalize
            if name in self.profile and self.profile[name].strategy != "rules"
        ]

    def _restyled(self, style: AddressStyle) -> Normalizer:
        """This normalizer with the built-in `direccion` chain and prompt of another style.

        Made once per style and kept: it shares the backend, the cache, the rate limiter and
        the budget, and its runs' reports become this normalizer's `last_report` too.
        """
        if self._own_rules:
            raise ConfigurationError(
                f"the config asks for address style {style!r}, but this normalizer writes "
                f"{self.config.address_style!r} with a profile, registry or prompt builder of "
                "its own, which cannot switch; remove addressStyle from the config item, or "
                "build the normalizer with address_style in its config instead"
            )
        with self._lock:
            restyled = self._styles.get(style)
            if restyled is None:
                restyled = copy.copy(self)
                restyled.config = self.config.model_copy(update={"address_style": style})
                restyled.profile = colombian_leads(style)
                restyled.registry = default_registry_for(style)
                if self.dispatcher is not None:
                    dispatcher = copy.copy(self.dispatcher)
                    dispatcher.registry = restyled.registry
                    dispatcher.prompt_builder = PromptBuilder(restyled.profile)
                    restyled.dispatcher = dispatcher
                restyled._forget_rules()
                restyled._styles = {}
                restyled._origin = self
                self._styles[style] = restyled
        return restyled

    def _dispatcher_for(self, model_id: str | None) -> ModelDispatcher | None:
        dispatcher = self.dispatcher
        if dispatcher is None or model_id is None or model_id == dispatcher.model_id:
            return dispatcher
        switch = getattr(dispatcher.backend, "with_model_id", None)
        if not callable(switch):
            raise ConfigurationError(
                f"the stored config asks for model {model_id!r} but the backend calls "
                f"{dispatcher.model_id!r} and has no with_model_id() to switch; remove "
                "modelId from the config item or use a backend that can switch"
            )
        return dispatcher.with_backend(switch(model_id))

    def _publish(self, report: RunReport) -> None:
        with self._lock:
            self._last_report = report
        if self._origin is not None:  # a run in another address style (see `_restyled`)
            self._origin._publish(report)

    # -- the rules pass --------------------------------------------------------------------

    def _forget_rules(self) -> None:
        """Start the memos of the rules pass afresh (for a new profile or registry)."""
        self._specs: dict[str, FieldSpec] = {}  # by field name as the config spells it
        self._memos: dict[str, _Memo] = {}

    def _spec(self, name: str) -> FieldSpec:
        spec = self._specs.get(name)
        if spec is None:
            spec = self.profile[name] if name in self.profile else _fallback_spec(name)
            self._specs[name] = spec
        return spec

    def _memo(self, name: str) -> _Memo:
        """The memo of a field's rules results, made on first use."""
        memo = self._memos.get(name)
        if memo is None:
            # The registry, not `self`, goes into the memo: no reference cycle to collect.
            decide = functools.partial(_decide, self.registry, name)
            memo = self._memos.setdefault(name, functools.lru_cache(maxsize=_MEMO_LIMIT)(decide))
        return memo

    def _rules(self, name: str, raw: Any) -> tuple[FieldResult, str | None]:
        """The rules' result for one value, and the text to show a model (None: nothing to ask)."""
        if isinstance(raw, str):
            text = raw
        elif raw is None:
            return _EMPTY, None
        elif isinstance(raw, bool) or not isinstance(raw, int | float):
            return _UNSUPPORTED, None
        else:
            text = str(raw)
        if len(text) > _MEMO_MAX_CHARS:
            result, filled = _decide(self.registry, name, text)
        else:
            result, filled = self._memo(name)(text)
        return result, (text if filled else None)

    def _wants_model(self, spec: FieldSpec, rules: FieldResult) -> bool:
        """Whether the model should decide a value the rules made `rules` of."""
        return self.dispatcher is not None and wants_model(spec, rules)
