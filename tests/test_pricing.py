"""The price table: Claude on Bedrock (inference profiles included), GPT-4o-mini, local models."""

from __future__ import annotations

import pytest

from llm_normalize.exceptions import ConfigurationError
from llm_normalize.messages import Usage
from llm_normalize.pricing import (
    FREE,
    PRICES_PER_MILLION_TOKENS,
    estimate_cost,
    foundation_model_id,
    free_prices,
    price_of,
)

HAIKU_35 = "anthropic.claude-3-5-haiku-20241022-v1:0"
HAIKU_35_PRICE = (0.80, 4.00)
ACCOUNT = "123456789012"


class TestInferenceProfiles:
    @pytest.mark.parametrize("prefix", ["us.", "eu.", "apac.", "us-gov.", "global."])
    def test_profile_id_costs_its_model(self, prefix: str) -> None:
        assert foundation_model_id(prefix + HAIKU_35) == HAIKU_35
        assert price_of(prefix + HAIKU_35) == HAIKU_35_PRICE

    def test_inference_profile_arn(self) -> None:
        arn = f"arn:aws:bedrock:us-east-1:{ACCOUNT}:inference-profile/us.{HAIKU_35}"
        assert foundation_model_id(arn) == HAIKU_35
        assert price_of(arn) == HAIKU_35_PRICE

    def test_gov_cloud_inference_profile_arn(self) -> None:
        arn = f"arn:aws-us-gov:bedrock:us-gov-west-1:{ACCOUNT}:inference-profile/us-gov.{HAIKU_35}"
        assert price_of(arn) == HAIKU_35_PRICE

    def test_foundation_model_arn(self) -> None:
        arn = f"arn:aws:bedrock:us-east-1::foundation-model/{HAIKU_35}"
        assert price_of(arn) == HAIKU_35_PRICE

    def test_application_profile_arn_names_no_model(self) -> None:
        """Its id is opaque: no price, unless the caller's table names the ARN."""
        arn = f"arn:aws:bedrock:us-east-1:{ACCOUNT}:application-inference-profile/a1b2c3d4e5f6"
        assert foundation_model_id(arn) is None
        assert price_of(arn) is None
        assert price_of(arn, {arn: HAIKU_35_PRICE}) == HAIKU_35_PRICE

    def test_profile_of_a_model_in_the_callers_table(self) -> None:
        assert price_of("eu.acme.model-v1:0", {"acme.model-v1:0": (1.0, 2.0)}) == (1.0, 2.0)

    @pytest.mark.parametrize(
        "model_id",
        [
            "us.anthropic.claude-unknown-v1:0",
            "xx.anthropic.claude-3-5-haiku-20241022-v1:0",
            f"arn:aws:s3:::bucket/{HAIKU_35}",
            f"arn:aws:bedrock:us-east-1:{ACCOUNT}:provisioned-model/{HAIKU_35}",
        ],
    )
    def test_unknown_stays_unknown(self, model_id: str) -> None:
        assert price_of(model_id) is None


class TestOpenAI:
    def test_gpt_4o_mini(self) -> None:
        """The seed's alternative: $0.15 in, $0.60 out per million tokens."""
        assert PRICES_PER_MILLION_TOKENS["gpt-4o-mini"] == (0.15, 0.60)
        cost = estimate_cost("gpt-4o-mini", Usage(input_tokens=1_000_000, output_tokens=1_000_000))
        assert cost == pytest.approx(0.75)

    @pytest.mark.parametrize(
        "model_id", ["org/gpt-4o-mini", "us.gpt-4o-mini", "gpt-4o-mini-local", "GPT-4O-MINI"]
    )
    def test_names_are_never_guessed(self, model_id: str) -> None:
        assert price_of(model_id) is None


class TestLocalModels:
    def test_unmarked_local_model_has_no_price(self) -> None:
        """A local model is free only when the caller says so."""
        assert estimate_cost("llama3.1:8b", Usage(10, 10)) is None

    def test_free_prices(self) -> None:
        table = free_prices("llama3.1:8b", "Qwen/Qwen2.5-7B-Instruct")
        assert price_of("llama3.1:8b", table) == FREE
        assert estimate_cost("Qwen/Qwen2.5-7B-Instruct", Usage(5000, 5000), table) == 0.0
        # The known prices stay, and the shared table is not changed.
        assert price_of("gpt-4o-mini", table) == (0.15, 0.60)
        assert "llama3.1:8b" not in PRICES_PER_MILLION_TOKENS

    def test_free_prices_on_a_table_of_ones_own(self) -> None:
        table = free_prices("local", prices={"m": (1.0, 1.0)})
        assert table == {"m": (1.0, 1.0), "local": FREE}

    def test_a_zero_price_in_a_table(self) -> None:
        assert estimate_cost("local", Usage(100, 100), {"local": (0, 0)}) == 0.0

    def test_empty_id_refused(self) -> None:
        with pytest.raises(ConfigurationError):
            free_prices("")


def test_zero_cost_holds_a_dollar_budget() -> None:
    """A free local model can run under a dollar budget (its cost is 0.0, not unknown)."""
    assert estimate_cost("local", Usage(1, 1), free_prices("local")) == 0.0
