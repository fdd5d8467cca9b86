"""The address style in the Lambda: ADDRESS_STYLE, and the config item's addressStyle."""

from __future__ import annotations

import pytest

from aws_lambda.support import FakeContext
from llm_normalize.aws_lambda import configure, handler
from llm_normalize.aws_lambda import runtime as lambda_runtime
from llm_normalize.exceptions import ConfigurationError
from llm_normalize.stores.memory import MemoryLeadStore

RAW = "CALLE 45 A BIS SUR NO 12-30 APTO 301"


def _address(store: MemoryLeadStore) -> object:
    item = store.get("lead-1")
    assert item is not None
    return item["normalizedData"]["direccion"]


class TestAddressStyle:
    def test_environment(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """ADDRESS_STYLE picks the style the function writes addresses in."""
        monkeypatch.setenv("NORMALIZATION_BACKEND", "rules")
        monkeypatch.setenv("ADDRESS_STYLE", "code")
        store = MemoryLeadStore([{"leadId": "lead-1", "direccion": RAW}])
        runtime = configure(store=store)
        assert runtime.normalizer.config.address_style == "code"
        assert handler({}, FakeContext())["report"]["records_saved"] == 1
        assert _address(store) == "CL 45A BIS SUR 12 30 APTO 301"

    def test_default_and_config_item(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """The seed's abbreviated style by default; the config item's addressStyle wins per run."""
        monkeypatch.setenv("NORMALIZATION_BACKEND", "rules")
        monkeypatch.delenv("ADDRESS_STYLE", raising=False)
        store = MemoryLeadStore([{"leadId": "lead-1", "direccion": RAW}])
        configure(store=store)
        handler({}, FakeContext())
        assert _address(store) == "Cl. 45A Bis Sur # 12 - 30 Apto. 301"
        store = MemoryLeadStore(
            [{"leadId": "lead-1", "direccion": RAW}], config={"addressStyle": "full"}
        )
        configure(store=store)
        handler({}, FakeContext())
        assert _address(store) == "Calle 45A Bis Sur # 12 - 30 Apartamento 301"

    def test_bad_environment(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """An unknown ADDRESS_STYLE is a ConfigurationError naming the setting, not the value."""
        monkeypatch.setenv("NORMALIZATION_BACKEND", "rules")
        monkeypatch.setenv("ADDRESS_STYLE", "tiny")
        with pytest.raises(ConfigurationError, match="address_style") as caught:
            configure(store=MemoryLeadStore())
        assert "tiny" not in str(caught.value)
        assert lambda_runtime._runtime is None
