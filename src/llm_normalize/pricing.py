"""What model calls cost: the price table and `estimate_cost`.

Prices are on-demand Bedrock prices in USD per million tokens; pass your own table for other
models, regions or discounts.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from llm_normalize.messages import Usage

__all__ = ["PRICES_PER_MILLION_TOKENS", "estimate_cost", "price_of"]

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
