"""The seed's way of calling the model, as a baseline for the benchmarks (not a library feature).

The seed's Lambda sends every field of `batch_size` leads per call, whatever the rules think,
one call at a time with a fixed pause between calls, with no dedupe and no cache. This module
reproduces those calls with the library's own prompt builder, parser and retries, so that a
benchmark can compare them with the `Normalizer` on the same leads and the same backend.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from llm_normalize import default_registry
from llm_normalize.backends.base import Backend
from llm_normalize.backends.retry import RetryPolicy
from llm_normalize.config import DEFAULT_FIELDS
from llm_normalize.exceptions import BackendError, ResponseParseError
from llm_normalize.messages import Usage
from llm_normalize.parsing import ResponseParser
from llm_normalize.pricing import estimate_cost
from llm_normalize.prompt import Item, PromptBuilder


@dataclass(frozen=True, slots=True)
class SeedStyleReport:
    """What a seed-style pass did: calls, values sent, tokens and their estimated cost."""

    model_calls: int
    values_sent_to_model: int
    usage: Usage
    estimated_cost_usd: float | None
    failed_calls: int

    @property
    def input_tokens(self) -> int:
        return self.usage.input_tokens

    @property
    def output_tokens(self) -> int:
        return self.usage.output_tokens


def _items(leads: Sequence[Mapping[str, Any]], fields: Sequence[str]) -> list[Item]:
    """Every non-empty field of the leads, as the seed sends them."""
    items: list[Item] = []
    for lead in leads:
        for name in fields:
            raw = lead.get(name)
            if isinstance(raw, bool) or not isinstance(raw, str | int | float):
                continue
            text = str(raw)
            if default_registry.apply(name, text):
                items.append(Item(str(len(items)), name, text))
    return items


def seed_style_run(
    leads: Sequence[Mapping[str, Any]],
    backend: Backend,
    *,
    batch_size: int = 10,
    pause_s: float = 0.5,
    fields: Sequence[str] = DEFAULT_FIELDS,
    retry: RetryPolicy | None = None,
    sleep: Callable[[float], object] = time.sleep,
) -> SeedStyleReport:
    """Send the leads the seed's way: `batch_size` whole leads per call, one call at a time."""
    builder, parser, policy = PromptBuilder(), ResponseParser(), retry or RetryPolicy()
    calls = sent = failed = 0
    usage = Usage()
    for start in range(0, len(leads), batch_size):
        items = _items(leads[start : start + batch_size], fields)
        if not items:
            continue
        if calls:
            sleep(pause_s)
        request = builder.build(items)
        calls += 1
        sent += len(items)
        try:
            response = policy.call(lambda request=request: backend.complete(request))  # type: ignore[misc]
        except BackendError:
            failed += 1
            continue
        usage = usage + response.usage
        try:
            parser.parse(response, [item.id for item in items])
        except ResponseParseError:
            failed += 1
    cost = estimate_cost(backend.model_id, usage)
    return SeedStyleReport(calls, sent, usage, cost, failed)
