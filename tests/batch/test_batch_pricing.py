"""Batch inference is priced at the batch rate: half the on-demand price."""

from __future__ import annotations

import pytest

from llm_normalize.batch_inference import BatchOutcome
from llm_normalize.exceptions import ConfigurationError
from llm_normalize.messages import Usage
from llm_normalize.pricing import (
    BATCH_DISCOUNT,
    PRICES_PER_MILLION_TOKENS,
    batch_prices,
    estimate_cost,
    price_of,
)
from llm_normalize.report import RunCounts

HAIKU = "anthropic.claude-3-haiku-20240307-v1:0"
USAGE = Usage(1_234_567, 345_678)


class TestBatchPrices:
    def test_every_known_price_is_halved(self) -> None:
        """The default table, each price times the batch discount of one half."""
        assert BATCH_DISCOUNT == 0.5
        table = batch_prices()
        assert table.keys() == PRICES_PER_MILLION_TOKENS.keys()
        for model_id, (input_price, output_price) in PRICES_PER_MILLION_TOKENS.items():
            assert table[model_id] == (input_price / 2, output_price / 2)

    def test_a_table_of_your_own(self) -> None:
        """Your own (on-demand) table is discounted the same; the original is left alone."""
        mine = {"my-profile-arn": (2.0, 8.0)}
        assert batch_prices(mine) == {"my-profile-arn": (1.0, 4.0)}
        assert mine == {"my-profile-arn": (2.0, 8.0)}
        assert batch_prices(mine, discount=0.25) == {"my-profile-arn": (0.5, 2.0)}

    def test_inference_profiles_and_unknown_models(self) -> None:
        """A profile id finds its foundation model's batch price; an unknown model stays unknown."""
        table = batch_prices()
        assert price_of(f"us.{HAIKU}", table) == (0.125, 0.625)
        assert estimate_cost("unknown-model", USAGE, table) is None

    @pytest.mark.parametrize("discount", [-0.1, 1.5])
    def test_a_discount_out_of_range_is_refused(self, discount: float) -> None:
        """A discount must be a share of the price."""
        with pytest.raises(ConfigurationError, match="discount"):
            batch_prices(discount=discount)


class TestBatchReport:
    def test_counts_frozen_at_the_batch_rate_cost_half(self) -> None:
        """The same usage costs half at batch prices."""
        counts = RunCounts(usage=USAGE, model_calls=3)
        on_demand = counts.freeze(
            model_id=HAIKU, prompt_version="v", started_at=None, duration_s=0.0
        )
        batch = counts.freeze(
            model_id=HAIKU,
            prompt_version="v",
            started_at=None,
            duration_s=0.0,
            prices=batch_prices(),
        )
        assert on_demand.estimated_cost_usd is not None
        assert batch.estimated_cost_usd == pytest.approx(on_demand.estimated_cost_usd / 2)

    def test_an_outcome_reports_at_the_batch_rate(self) -> None:
        """`BatchOutcome.report` applies the discount to the on-demand table it is given."""
        outcome: BatchOutcome[str] = BatchOutcome(
            results={},
            undecided=frozenset(),
            counts=RunCounts(usage=USAGE, model_calls=2, answer_mode="tool"),
            records=2,
            records_answered=2,
            statuses={},
            manifest={},
            model_id=HAIKU,
            prompt_version="abc123",
        )
        report = outcome.report()
        full = estimate_cost(HAIKU, USAGE)
        assert full is not None
        assert report.estimated_cost_usd == pytest.approx(full * BATCH_DISCOUNT)
        assert (report.model_id, report.prompt_version, report.input_tokens) == (
            HAIKU,
            "abc123",
            USAGE.input_tokens,
        )
        mine = {HAIKU: (1.0, 1.0)}
        assert outcome.report(prices=mine).estimated_cost_usd == pytest.approx(
            (USAGE.input_tokens + USAGE.output_tokens) / 2_000_000
        )
