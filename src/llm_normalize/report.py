"""What a run did: `RunReport`, and what it cost: the price table and `estimate_cost`.

A report holds counts, token totals, durations and PII-free tags only, never a field value,
so it can go to logs, metrics and API answers as it is.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Final

from pydantic import BaseModel, ConfigDict

from llm_normalize.backends.base import Usage
from llm_normalize.quality import QualityReport, quality_report

__all__ = [
    "PRICES_PER_MILLION_TOKENS",
    "QualityReport",
    "RunReport",
    "RunStats",
    "estimate_cost",
    "price_of",
    "quality_report",
]

PRICES_PER_MILLION_TOKENS: Final[Mapping[str, tuple[float, float]]] = {
    # On-demand Bedrock prices in USD per million (input, output) tokens, us-east-1.
    "anthropic.claude-3-haiku-20240307-v1:0": (0.25, 1.25),
    "anthropic.claude-3-5-haiku-20241022-v1:0": (0.80, 4.00),
    "anthropic.claude-haiku-4-5-20251001-v1:0": (1.00, 5.00),
    "anthropic.claude-3-sonnet-20240229-v1:0": (3.00, 15.00),
    "anthropic.claude-3-5-sonnet-20240620-v1:0": (3.00, 15.00),
    "anthropic.claude-3-5-sonnet-20241022-v2:0": (3.00, 15.00),
    "anthropic.claude-3-7-sonnet-20250219-v1:0": (3.00, 15.00),
    "anthropic.claude-sonnet-4-20250514-v1:0": (3.00, 15.00),
    "anthropic.claude-3-opus-20240229-v1:0": (15.00, 75.00),
}
"""Known model prices; pass your own table to `estimate_cost` for others or for discounts."""

# Cross-region inference profiles prefix the model id: "us.anthropic.claude-3-haiku-...".
_PROFILE_PREFIXES: Final = ("us.", "eu.", "apac.", "us-gov.", "global.", "jp.", "au.")


def price_of(
    model_id: str, prices: Mapping[str, tuple[float, float]] | None = None
) -> tuple[float, float] | None:
    """Return the (input, output) USD price per million tokens of `model_id`, if known.

    Inference-profile ids (`us.anthropic...`) and ARNs ending in a model id are understood.
    """
    table = PRICES_PER_MILLION_TOKENS if prices is None else prices
    key = model_id.rsplit("/", 1)[-1]
    if key in table:
        return table[key]
    for prefix in _PROFILE_PREFIXES:
        if key.startswith(prefix) and key[len(prefix) :] in table:
            return table[key[len(prefix) :]]
    return None


def estimate_cost(
    model_id: str, usage: Usage, prices: Mapping[str, tuple[float, float]] | None = None
) -> float | None:
    """Estimate the USD cost of `usage` on `model_id`, or `None` for an unknown model."""
    price = price_of(model_id, prices)
    if price is None:
        return None
    return (usage.input_tokens * price[0] + usage.output_tokens * price[1]) / 1_000_000


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
        records_deferred: Leads left untouched for the next run because the budget or the
            deadline kept the model from some of their values (`Normalizer.run`).
        fields_normalized: Field values normalized.
        fields_changed: Field values whose normalized value differs from the original.
        values_by_source: How many field values each source decided (rules, llm, cache).
        values_sent_to_model: Distinct items sent to the model (each counted once per call).
        model_calls: Model calls made, retries included.
        retries: Calls repeated after a retryable error.
        throttled: Calls refused by the service's rate limit.
        truncated_batches: Answers cut off at max_tokens whose batch was split and sent again.
        cache_hits: Distinct values answered by the value cache (per chunk of records).
        input_tokens: Input tokens of every call, failed ones included.
        output_tokens: Output tokens of every call, failed ones included.
        estimated_cost_usd: Estimated cost from the price table (`None`: unknown model).
        model_id: The model used, if any.
        prompt_version: The prompt version used, if any.
        guard_rejections: Model answers rejected by the guard, by reason.
        item_errors: Items the model answered badly (missing, duplicate, invalid), by reason.
        errors_by_kind: Failures by kind (e.g. ``BackendThrottledError`` after all retries).
        not_confident: Field values left to the rules' guess, flagged for review.
        not_confident_by_field: The same, by field name.
        budget_exhausted: Whether the run stopped scheduling model calls at its budget.
        stopped_early: Why scheduling stopped before the end (``"budget"``, ``"deadline"``), if it did.
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
        from llm_normalize.notebook import report_html  # lazy: notebook imports report

        return report_html(self)

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


@dataclass
class RunStats:
    """The mutable, thread-safe tally a run keeps while it works; `freeze()` makes the report."""

    model_id: str | None = None
    prompt_version: str | None = None
    prices: Mapping[str, tuple[float, float]] | None = None
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    counts: Counter[str] = field(default_factory=Counter)
    sources: Counter[str] = field(default_factory=Counter)
    guard_rejections: Counter[str] = field(default_factory=Counter)
    item_errors: Counter[str] = field(default_factory=Counter)
    errors_by_kind: Counter[str] = field(default_factory=Counter)
    review_by_field: Counter[str] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)
    usage: Usage = field(default_factory=Usage)
    stopped_early: str | None = None
    enabled: bool = True
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, name: str, amount: int = 1) -> None:
        """Add to a named count (see `RunReport` for the names)."""
        with self._lock:
            self.counts[name] += amount

    def add_usage(self, usage: Usage) -> None:
        """Add the tokens of one call."""
        with self._lock:
            self.usage = self.usage + usage

    def tally(self, counter: Counter[str], key: str, amount: int = 1) -> None:
        """Add to one of the keyed counters, under the lock."""
        with self._lock:
            counter[key] += amount

    def stop(self, reason: str) -> None:
        """Record that scheduling stopped early, keeping the first reason."""
        with self._lock:
            if self.stopped_early is None:
                self.stopped_early = reason

    def freeze(self, duration_s: float) -> RunReport:
        """Build the immutable report."""
        with self._lock:
            cost = estimate_cost(self.model_id, self.usage, self.prices) if self.model_id else None
            c = self.counts
            return RunReport(
                records_in=c["records_in"],
                records_normalized=c["records_normalized"],
                records_failed=c["records_failed"],
                records_saved=c["records_saved"],
                records_skipped=c["records_skipped"],
                skipped_by_reason=dict(self.skipped),
                records_deferred=c["records_deferred"],
                fields_normalized=c["fields_normalized"],
                fields_changed=c["fields_changed"],
                values_by_source=dict(self.sources),
                values_sent_to_model=c["values_sent_to_model"],
                model_calls=c["model_calls"],
                retries=c["retries"],
                throttled=c["throttled"],
                truncated_batches=c["truncated_batches"],
                cache_hits=c["cache_hits"],
                input_tokens=self.usage.input_tokens,
                output_tokens=self.usage.output_tokens,
                estimated_cost_usd=cost,
                model_id=self.model_id,
                prompt_version=self.prompt_version,
                guard_rejections=dict(self.guard_rejections),
                item_errors=dict(self.item_errors),
                errors_by_kind=dict(self.errors_by_kind),
                not_confident=c["not_confident"],
                not_confident_by_field=dict(self.review_by_field),
                budget_exhausted=self.stopped_early == "budget",
                stopped_early=self.stopped_early,
                values_not_sent=c["values_not_sent"],
                enabled=self.enabled,
                started_at=self.started_at,
                duration_s=round(duration_s, 6),
            )
