"""The answer mode in the Lambda: ANSWER_MODE."""

from __future__ import annotations

import pytest

from llm_normalize.aws_lambda import configure
from llm_normalize.exceptions import ConfigurationError
from llm_normalize.stores.memory import MemoryLeadStore


@pytest.fixture(autouse=True)
def bedrock_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """A Bedrock backend built from the environment (no call is made)."""
    monkeypatch.setenv("NORMALIZATION_BACKEND", "bedrock")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIATESTTESTTESTTEST")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test-secret-key")


def test_answer_mode_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """ANSWER_MODE=json makes the function ask for JSON in text from the start."""
    monkeypatch.setenv("ANSWER_MODE", "JSON")
    runtime = configure(store=MemoryLeadStore())
    assert runtime.normalizer.dispatcher is not None
    assert runtime.normalizer.dispatcher.answer_mode == "json"


def test_default_is_tool(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANSWER_MODE", raising=False)
    runtime = configure(store=MemoryLeadStore())
    assert runtime.normalizer.dispatcher is not None
    assert runtime.normalizer.dispatcher.answer_mode == "tool"


def test_bad_answer_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANSWER_MODE", "xml")
    with pytest.raises(ConfigurationError, match="ANSWER_MODE"):
        configure(store=MemoryLeadStore())
