"""What model calls cost: the price table and `estimate_cost`.

Prices are in USD per million tokens: on-demand Bedrock prices for the Claude models, OpenAI's
list price for ``gpt-4o-mini``. Pass your own table for other models, regions or discounts.

A model on your own server (Ollama, vLLM, llama.cpp, LM Studio) costs nothing per token, but
the library never guesses that from a model's name: say so with `free_prices`, e.g.
``Normalizer(..., prices=free_prices("llama3.1:8b"))``, or with ``prices={"llama3.1:8b": FREE}``.

Bedrock batch inference (`llm_normalize.batch_inference`) is billed at half the on-demand
price of the Claude models in the table (AWS, "Capacity, Limits, and Cost Optimization" in the
Bedrock user guide: "Batch ... 50% cost savings vs on-demand"; the Bedrock pricing page lists
the batch price per model). `batch_prices` gives the table of a batch run.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from llm_normalize.exceptions import ConfigurationError
from llm_normalize.messages import Usage

__all__ = [
    "BATCH_DISCOUNT",
    "FREE",
    "PRICES_PER_MILLION_TOKENS",
    "PROFILE_PREFIXES",
    "batch_prices",
    "estimate_cost",
    "foundation_model_id",
    "free_prices",
    "price_of",
]

BATCH_DISCOUNT: Final = 0.5
"""The share of the on-demand price a Bedrock batch inference job is billed at (half)."""

FREE: Final[tuple[float, float]] = (0.0, 0.0)
"""The (input, output) price of a model on your own server: nothing per token."""

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
    # OpenAI API list prices in USD per million (input, output) tokens (the seed's
    # "GPT-4o-mini at $0.60/1M tokens" is the output price).
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4o-mini-2024-07-18": (0.15, 0.60),
}
"""Known model prices; pass your own table to `estimate_cost` for others or for discounts."""

PROFILE_PREFIXES: Final[tuple[str, ...]] = (
    "us.",
    "eu.",
    "apac.",
    "us-gov.",
    "global.",
    "jp.",
    "au.",
)
"""Geography prefixes of Bedrock's cross-region inference profile ids: ``us.anthropic...``."""

# The resource types of Bedrock ARNs whose last part is a model id or a profile id.
_MODEL_RESOURCES: Final = ("foundation-model", "inference-profile")


def foundation_model_id(model_id: str) -> str | None:
    """The Bedrock foundation model id behind `model_id`, when it can be read from the id.

    - ``us.anthropic.claude-3-5-haiku-20241022-v1:0`` (a cross-region inference profile id,
      any prefix in `PROFILE_PREFIXES`) gives ``anthropic.claude-3-5-haiku-20241022-v1:0``.
    - ``arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic...`` and
      ``arn:aws:bedrock:us-east-1::foundation-model/anthropic...`` give the model id too.
    - An application inference profile ARN
      (``arn:aws:bedrock:...:application-inference-profile/a1b2c3d4e5f6``) names no model:
      `None`. Put that ARN in your own price table.
    - Any other id (a foundation model id, an OpenAI model name) is returned as it is.
    """
    key = model_id
    if key.startswith("arn:"):
        parts = key.split(":", 5)
        if len(parts) != 6 or parts[2] != "bedrock" or "/" not in parts[5]:
            return None
        resource_type, key = parts[5].split("/", 1)
        if resource_type not in _MODEL_RESOURCES:
            return None
    for prefix in PROFILE_PREFIXES:
        rest = key[len(prefix) :]
        # Bedrock model ids are "provider.model": "us.gpt-4o" is not a profile of anything.
        if key.startswith(prefix) and "." in rest:
            return rest
    return key


def price_of(
    model_id: str, prices: Mapping[str, tuple[float, float]] | None = None
) -> tuple[float, float] | None:
    """Return the (input, output) USD price per million tokens of `model_id`, if known.

    `model_id` itself is looked up first (so a table may price an application inference
    profile ARN), then the foundation model behind an inference profile id or ARN (see
    `foundation_model_id`). Nothing else is guessed: an unknown name has no price.
    """
    table = PRICES_PER_MILLION_TOKENS if prices is None else prices
    if model_id in table:
        return table[model_id]
    base = foundation_model_id(model_id)
    if base is not None and base in table:
        return table[base]
    return None


def free_prices(
    *model_ids: str, prices: Mapping[str, tuple[float, float]] | None = None
) -> dict[str, tuple[float, float]]:
    """A price table pricing `model_ids` (models on your own servers) at `FREE`.

    The other entries come from `prices` (default: `PRICES_PER_MILLION_TOKENS`), so known
    models keep their prices. Pass the result as ``prices=`` wherever a table is taken.

    Examples:
        >>> table = free_prices("llama3.1:8b")
        >>> price_of("llama3.1:8b", table), price_of("gpt-4o-mini", table)
        ((0.0, 0.0), (0.15, 0.6))
    """
    table = dict(PRICES_PER_MILLION_TOKENS if prices is None else prices)
    for model_id in model_ids:
        if not model_id:
            raise ConfigurationError("a model id must not be empty")
        table[model_id] = FREE
    return table


def batch_prices(
    prices: Mapping[str, tuple[float, float]] | None = None, *, discount: float = BATCH_DISCOUNT
) -> dict[str, tuple[float, float]]:
    """The price table of a Bedrock batch inference run: every price of `prices` times `discount`.

    `prices` defaults to `PRICES_PER_MILLION_TOKENS` (on-demand). Pass the result wherever a
    table is taken, e.g. ``counts.freeze(..., prices=batch_prices())``, so a batch run's
    report is priced at the batch rate. Models not in the table stay unknown.

    Raises:
        ConfigurationError: `discount` is not between 0 and 1.

    Examples:
        >>> batch_prices()["anthropic.claude-3-haiku-20240307-v1:0"]
        (0.125, 0.625)
    """
    if not 0 <= discount <= 1:
        raise ConfigurationError("discount must be between 0 and 1")
    table = PRICES_PER_MILLION_TOKENS if prices is None else prices
    return {
        model_id: (price[0] * discount, price[1] * discount) for model_id, price in table.items()
    }


def estimate_cost(
    model_id: str, usage: Usage, prices: Mapping[str, tuple[float, float]] | None = None
) -> float | None:
    """Estimate the USD cost of `usage` on `model_id`, or `None` for an unknown model."""
    price = price_of(model_id, prices)
    if price is None:
        return None
    return (usage.input_tokens * price[0] + usage.output_tokens * price[1]) / 1_000_000
