"""The runtime: built once from the environment or from parts, and the logging state it owns."""

from __future__ import annotations

import logging
import subprocess
import sys
from typing import Any

import pytest

from aws_lambda.support import FakeContext, Tables, load_event, make_normalizer, messy_lead
from bedrock_server import BedrockWireServer
from llm_normalize.aws_lambda import configure, get_runtime, handler, reset_runtime
from llm_normalize.aws_lambda import runtime as lambda_runtime
from llm_normalize.backends.bedrock import BedrockBackend
from llm_normalize.exceptions import ConfigurationError
from llm_normalize.stores.memory import MemoryLeadStore


class TestRuntime:
    def test_built_from_the_environment_once(
        self,
        tables: Tables,
        bedrock: BedrockWireServer,
        monkeypatch: pytest.MonkeyPatch,
        tmp_path: Any,
    ) -> None:
        """Without configure(), the first invocation builds the clients from the environment."""
        for name, value in {
            "LEADS_TABLE": tables.leads,
            "CONFIG_TABLE": tables.config,
            "AWS_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "AKIATESTTESTTESTTEST",
            "AWS_SECRET_ACCESS_KEY": "test-secret-key",
            "AWS_ENDPOINT_URL_DYNAMODB": tables.endpoint,
            "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": bedrock.endpoint_url,
            "AWS_CONFIG_FILE": str(tmp_path / "none"),
            "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
            "BEDROCK_MODEL_ID": "anthropic.claude-3-haiku-20240307-v1:0",
        }.items():
            monkeypatch.setenv(name, value)
        monkeypatch.delenv("AWS_PROFILE", raising=False)
        tables.put(messy_lead(1))
        report = handler(load_event("eventbridge_scheduled"), FakeContext())["report"]
        assert report["records_saved"] == 1
        assert report["model_id"] == "anthropic.claude-3-haiku-20240307-v1:0"
        assert bedrock.requests
        runtime = get_runtime()
        handler({}, FakeContext())
        assert get_runtime() is runtime
        assert runtime.store.table_name == tables.leads  # type: ignore[attr-defined]

    def test_rules_backend(self, tables: Tables, monkeypatch: pytest.MonkeyPatch) -> None:
        """NORMALIZATION_BACKEND=rules runs without a model."""
        monkeypatch.setenv("NORMALIZATION_BACKEND", "rules")
        runtime = configure(store=tables.store)
        assert runtime.normalizer.backend is None
        tables.put(messy_lead(1))
        assert handler({})["report"]["model_calls"] == 0

    @pytest.mark.parametrize(
        ("variable", "value"),
        [
            ("NORMALIZATION_BACKEND", "fake"),
            ("BEDROCK_API", "chat"),
            ("STOP_BEFORE_TIMEOUT_MS", "soon"),
            ("API_DEADLINE_MS", "-5"),
            ("LOG_LEVEL", "LOUD"),
            ("BATCH_SIZE", "0"),
        ],
    )
    def test_bad_environment(
        self, variable: str, value: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A bad environment variable is a ConfigurationError naming it, not a value."""
        monkeypatch.setenv(variable, value)
        with pytest.raises(ConfigurationError):
            configure(store=MemoryLeadStore())
        assert lambda_runtime._runtime is None

    def test_normalizer_and_backend_exclusive(self, backend: BedrockBackend) -> None:
        """configure() takes a normalizer or a backend, not both."""
        with pytest.raises(ConfigurationError, match="not both"):
            configure(store=MemoryLeadStore(), normalizer=make_normalizer(None), backend=backend)

    def test_configure_with_a_backend_and_memory_store(
        self, backend: BedrockBackend, bedrock: BedrockWireServer
    ) -> None:
        """Teams inject their own store and backend; the rest comes from the environment."""
        store = MemoryLeadStore([messy_lead(1)])
        configure(store=store, backend=backend)
        assert handler({})["report"]["records_saved"] == 1
        assert bedrock.requests

    def test_import_is_light(self) -> None:
        """Importing the module loads neither boto3 nor powertools."""
        code = (
            "import sys, llm_normalize.aws_lambda\n"
            "print(','.join(m for m in ('boto3', 'botocore', 'aws_lambda_powertools')"
            " if m in sys.modules))"
        )
        result = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        )
        assert result.stdout.strip() == ""

    def test_plain_telemetry_is_deprecated(self, tables: Tables) -> None:
        """telemetry="plain" still configures, with a DeprecationWarning; powertools writes."""
        with pytest.warns(DeprecationWarning, match="plain") as warned:
            runtime = configure(
                store=tables.store, normalizer=make_normalizer(None), telemetry="plain"
            )
        assert runtime.telemetry == "powertools"
        assert warned[0].filename == __file__

    def test_powertools_is_required(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Without aws-lambda-powertools, building the runtime names the extra to install."""
        monkeypatch.setitem(sys.modules, "aws_lambda_powertools", None)
        with pytest.raises(ConfigurationError, match=r"llm-normalize\[lambda\]"):
            configure(store=MemoryLeadStore(), normalizer=make_normalizer(None))
        assert lambda_runtime._runtime is None

    @pytest.mark.parametrize(
        ("controls", "level"), [("TRACE", logging.DEBUG), ("DEBUG", logging.DEBUG)]
    )
    def test_lambda_log_level_wins(
        self, controls: str, level: int, tables: Tables, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Lambda's advanced logging controls set the library's level, as powertools reads them."""
        monkeypatch.setenv("POWERTOOLS_LOG_LEVEL", "ERROR")
        monkeypatch.setenv("AWS_LAMBDA_LOG_LEVEL", controls)
        configure(store=tables.store, normalizer=make_normalizer(None))
        assert logging.getLogger("llm_normalize").level == level

    def test_reset_restores_logging(self, tables: Tables) -> None:
        """The runtime routes the library's loggers to its JSON handler, and reset undoes it."""
        library = logging.getLogger("llm_normalize")
        before = (library.level, library.propagate, list(library.handlers))
        configure(store=tables.store, normalizer=make_normalizer(None))
        configure(store=tables.store, normalizer=make_normalizer(None), telemetry="powertools")
        assert library.propagate is False
        assert len(library.handlers) == len(before[2]) + 1
        reset_runtime()
        assert (library.level, library.propagate, list(library.handlers)) == before
