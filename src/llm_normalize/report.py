"""What a run did: `RunReport`, and `RunCounts`, the figures each stage returns.

A report holds counts, token totals, durations and PII-free tags only, never a field value,
so it can go to logs, metrics and API answers as it is. Each stage of a run (the rules pass,
the model pass, the saves) returns its own `RunCounts`; the run adds them up and freezes the
sum into a `RunReport`. Nothing is threaded through the stages.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from llm_normalize.messages import Usage
from llm_normalize.pricing import estimate_cost

__all__ = ["RunCounts", "RunReport"]


class RunReport(BaseModel):
    """The outcome of a normalization run: counts, tokens, cost, time; never a field value.

    Attributes:
        records_in: Records read.
        records_normalized: Records normalized without a record-level error.
        records_failed: Records that could not be normalized at all.
        records_saved: Leads written back to a store (`Normalizer.run`).
        records_skipped: Leads not written back because they changed since they were read,
            or were deleted (`Normalizer.run`).
        skipped_by_reason: The same, by reason (``"conflict"``, ``"missing"``).
        records_deferred: Leads left untouched for the next run because some of their
            values were not decided: the budget or the deadline kept the model from them, or
            their model call failed (`Normalizer.run`).
        deferred_by_reason: The same, by reason (``"budget"``, ``"deadline"``,
            ``"model_errors"``, ``"model_failed"``).
        fields_normalized: Field values normalized.
        fields_changed: Field values whose normalized value differs from the original.
        values_by_source: How many field values each source decided (rules, llm, cache).
        values_sent_to_model: Distinct items sent to the model (each counted once per call).
        model_calls: Model calls made, retries included.
        retries: Calls repeated after a retryable error.
        throttled: Calls refused by the service's rate limit.
        truncated_batches: Answers cut off at max_tokens whose batch was split and sent again.
        cache_hits: Distinct values answered by the value cache (once per run each).
        input_tokens: Input tokens of every call, failed ones included.
        output_tokens: Output tokens of every call, failed ones included.
        estimated_cost_usd: Estimated cost from the price table (`None`: unknown model).
        model_id: The model used, if any.
        prompt_version: The prompt version used, if any.
        answer_mode: How the model was asked to answer at the end of the run: ``"tool"``
            (a forced tool call) or ``"json"`` (JSON in text); `None` if it was not asked.
        answer_mode_switched: Whether the model refused forced tool use, so its answers were
            asked as JSON text instead (in this run or an earlier one of the same dispatcher).
        guard_rejections: Model answers rejected by the guard, by reason.
        item_errors: Items the model answered badly (missing, duplicate, invalid), by reason.
        errors_by_kind: Failures by kind (e.g. ``BackendThrottledError`` after all retries).
        not_confident: Field values left to the rules' guess, flagged for review.
        not_confident_by_field: The same, by field name.
        budget_exhausted: Whether the run stopped scheduling model calls at its budget.
        stopped_early: Why scheduling stopped before the end (``"budget"``, ``"deadline"``,
            ``"model_errors"``, ``"cache_only"`` for a run allowed no model call), if it did.
        values_not_sent: Values the model should have seen but did not (budget, deadline, failures).
        enabled: False when the configuration disabled the run (nothing was done).
        started_at: When the run started (UTC).
        duration_s: Wall time of the run.
    """

    model_config = ConfigDict(frozen=True, hide_input_in_errors=True)

    records_in: int = 0
    records_normalized: int = 0
    records_failed: int = 0
    records_saved: int = 0
    records_skipped: int = 0
    skipped_by_reason: dict[str, int] = {}
    records_deferred: int = 0
    deferred_by_reason: dict[str, int] = {}
    fields_normalized: int = 0
    fields_changed: int = 0
    values_by_source: dict[str, int] = {}
    values_sent_to_model: int = 0
    model_calls: int = 0
    retries: int = 0
    throttled: int = 0
    truncated_batches: int = 0
    cache_hits: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    estimated_cost_usd: float | None = None
    model_id: str | None = None
    prompt_version: str | None = None
    answer_mode: str | None = None
    answer_mode_switched: bool = False
    guard_rejections: dict[str, int] = {}
    item_errors: dict[str, int] = {}
    errors_by_kind: dict[str, int] = {}
    not_confident: int = 0
    not_confident_by_field: dict[str, int] = {}
    budget_exhausted: bool = False
    stopped_early: str | None = None
    values_not_sent: int = 0
    enabled: bool = True
    started_at: datetime | None = None
    duration_s: float = 0.0

    def _repr_html_(self) -> str:
        # `display` is a leaf: it reads this type only under TYPE_CHECKING.
        from llm_normalize.display import report_html

        return report_html(self)

    @classmethod
    def merge(cls, reports: Iterable[RunReport]) -> RunReport | None:
        """One report adding up several (e.g. the runs of one Lambda invocation); `None` for none.

        Counts, tokens, costs and durations add up; tallies add up by key; `enabled` holds when
        every run was enabled, the other flags when any run set them; the model, the prompt
        version, the start and the reason for stopping early are the first ones given.
        """
        reports = list(reports)
        if len(reports) <= 1:
            return reports[0] if reports else None
        values: dict[str, Any] = {}
        for name in cls.model_fields:
            values[name] = _merge_values(name, [getattr(report, name) for report in reports])
        return cls.model_validate(values)

    def summary(self) -> str:
        """A short human-readable table of the main figures."""
        cost = "unknown" if self.estimated_cost_usd is None else f"${self.estimated_cost_usd:.4f}"
        sources = ", ".join(f"{k} {v}" for k, v in sorted(self.values_by_source.items())) or "none"
        rows = [
            (
                "records",
                f"{self.records_in} in, {self.records_normalized} normalized, {self.records_failed} failed, {self.records_saved} saved, {self.records_skipped} skipped",
            ),
            (
                "fields",
                f"{self.fields_normalized} normalized, {self.fields_changed} changed, {self.not_confident} to review",
            ),
            ("decided by", sources),
            (
                "model",
                f"{self.model_calls} calls ({self.retries} retries, {self.throttled} throttled), {self.values_sent_to_model} values sent, {self.cache_hits} cache hits",
            ),
            ("tokens", f"{self.input_tokens} in, {self.output_tokens} out, est. cost {cost}"),
            ("duration", f"{self.duration_s:.2f} s"),
        ]
        if self.guard_rejections:
            rows.append(
                ("guard", ", ".join(f"{k} {v}" for k, v in sorted(self.guard_rejections.items())))
            )
        if self.errors_by_kind:
            rows.append(
                ("errors", ", ".join(f"{k} {v}" for k, v in sorted(self.errors_by_kind.items())))
            )
        if self.records_deferred:
            reasons = ", ".join(f"{k} {v}" for k, v in sorted(self.deferred_by_reason.items()))
            rows.append(("deferred", f"{self.records_deferred} leads left due ({reasons})"))
        if self.stopped_early:
            rows.append(
                (
                    "stopped",
                    f"{self.stopped_early}: {self.values_not_sent} values left to the rules",
                )
            )
        if not self.enabled:
            rows = [
                ("disabled", "normalization is disabled in the configuration; nothing was done")
            ]
        width = max(len(label) for label, _ in rows)
        return "\n".join(f"{label.ljust(width)}  {text}" for label, text in rows)


def _merge_values(name: str, items: list[Any]) -> Any:
    first = items[0]
    if name == "estimated_cost_usd":
        known = [item for item in items if item is not None]
        return sum(known) if known else None
    if name == "enabled":
        return all(items)
    if isinstance(first, bool):
        return any(items)
    if isinstance(first, int | float):
        return sum(items)
    if isinstance(first, dict):
        total: Counter[str] = Counter()
        for item in items:
            total.update(item)
        return dict(total)
    return next((item for item in items if item is not None), None)


def _empty() -> Mapping[str, int]:
    return {}


@dataclass(frozen=True, slots=True)
class RunCounts:
    """The figures of one stage of a run, or of several added up with ``+``.

    The fields are those of `RunReport`, which `freeze` builds; tallies are by PII-free key.
    A stage returns its counts and the run adds them, so no stage shares a mutable tally.
    """

    records_in: int = 0
    records_normalized: int = 0
    records_failed: int = 0
    records_saved: int = 0
    records_skipped: int = 0
    records_deferred: int = 0
    fields_normalized: int = 0
    fields_changed: int = 0
    values_sent_to_model: int = 0
    values_not_sent: int = 0
    model_calls: int = 0
    retries: int = 0
    throttled: int = 0
    truncated_batches: int = 0
    cache_hits: int = 0
    not_confident: int = 0
    usage: Usage = field(default_factory=Usage)
    skipped_by_reason: Mapping[str, int] = field(default_factory=_empty)
    deferred_by_reason: Mapping[str, int] = field(default_factory=_empty)
    values_by_source: Mapping[str, int] = field(default_factory=_empty)
    guard_rejections: Mapping[str, int] = field(default_factory=_empty)
    item_errors: Mapping[str, int] = field(default_factory=_empty)
    errors_by_kind: Mapping[str, int] = field(default_factory=_empty)
    not_confident_by_field: Mapping[str, int] = field(default_factory=_empty)
    stopped_early: str | None = None
    answer_mode: str | None = None
    answer_mode_switched: bool = False

    def __add__(self, other: RunCounts) -> RunCounts:
        values: dict[str, Any] = {}
        for item in dataclasses.fields(self):
            mine, theirs = getattr(self, item.name), getattr(other, item.name)
            if item.name == "stopped_early":
                values[item.name] = mine if mine is not None else theirs
            elif item.name == "answer_mode":
                # The later figures hold the mode the calls ended in.
                values[item.name] = theirs if theirs is not None else mine
            elif item.name == "answer_mode_switched":
                values[item.name] = mine or theirs
            elif isinstance(mine, Mapping):
                total = Counter(mine)
                total.update(theirs)
                values[item.name] = dict(total)
            else:
                values[item.name] = mine + theirs
        return RunCounts(**values)

    def freeze(
        self,
        *,
        model_id: str | None,
        prompt_version: str | None,
        started_at: datetime | None,
        duration_s: float,
        prices: Mapping[str, tuple[float, float]] | None = None,
        enabled: bool = True,
    ) -> RunReport:
        """The immutable report of a run with these counts."""
        cost = estimate_cost(model_id, self.usage, prices) if model_id else None
        return RunReport(
            records_in=self.records_in,
            records_normalized=self.records_normalized,
            records_failed=self.records_failed,
            records_saved=self.records_saved,
            records_skipped=self.records_skipped,
            skipped_by_reason=dict(self.skipped_by_reason),
            records_deferred=self.records_deferred,
            deferred_by_reason=dict(self.deferred_by_reason),
            fields_normalized=self.fields_normalized,
            fields_changed=self.fields_changed,
            values_by_source=dict(self.values_by_source),
            values_sent_to_model=self.values_sent_to_model,
            model_calls=self.model_calls,
            retries=self.retries,
            throttled=self.throttled,
            truncated_batches=self.truncated_batches,
            cache_hits=self.cache_hits,
            input_tokens=self.usage.input_tokens,
            output_tokens=self.usage.output_tokens,
            estimated_cost_usd=cost,
            model_id=model_id,
            prompt_version=prompt_version,
            answer_mode=self.answer_mode,
            answer_mode_switched=self.answer_mode_switched,
            guard_rejections=dict(self.guard_rejections),
            item_errors=dict(self.item_errors),
            errors_by_kind=dict(self.errors_by_kind),
            not_confident=self.not_confident,
            not_confident_by_field=dict(self.not_confident_by_field),
            budget_exhausted=self.stopped_early == "budget",
            stopped_early=self.stopped_early,
            values_not_sent=self.values_not_sent,
            enabled=enabled,
            started_at=started_at,
            duration_s=round(duration_s, 6),
        )


# Names that lived here before the quality report and the price table got modules of their
# own: still importable, with a DeprecationWarning, and loaded only when asked for.
_MOVED = {
    "PRICES_PER_MILLION_TOKENS": "llm_normalize.pricing",
    "price_of": "llm_normalize.pricing",
    "QualityReport": "llm_normalize.quality",
    "quality_report": "llm_normalize.quality",
}


def __getattr__(name: str) -> Any:
    module = _MOVED.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    warnings.warn(
        f"llm_normalize.report.{name} moved to {module}.{name}; import it from there",
        DeprecationWarning,
        stacklevel=2,
    )
    import importlib

    return getattr(importlib.import_module(module), name)
