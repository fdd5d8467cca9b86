"""The answer mode: forced tool use or JSON in text, and the capability fallback between them."""

import json
import logging
import threading
from pathlib import Path
from typing import Any

import pytest

from bedrock_server import BedrockWireServer, ScriptedError
from llm_normalize import Normalizer
from llm_normalize.backends.base import ModelRequest
from llm_normalize.backends.bedrock import BedrockBackend
from llm_normalize.backends.fake import FakeBackend
from llm_normalize.backends.retry import RetryPolicy
from llm_normalize.caches import LRUCache
from llm_normalize.config import NormalizationConfig
from llm_normalize.exceptions import (
    BackendInvalidRequestError,
    ConfigurationError,
    ModelFailedError,
)
from llm_normalize.prompt import PromptBuilder, extract_items

NO_SLEEP = RetryPolicy(sleep=lambda _seconds: None)


def answer(request: ModelRequest) -> str:
    items = [
        {"id": item.id, "value": "Bogotá D.C." if item.value == "bogta" else item.value}
        for item in extract_items(request)
    ]
    return json.dumps({"items": items})


def no_tools(request: ModelRequest) -> str:
    """A model that refuses forced tool use and answers JSON in text otherwise."""
    if request.tool is not None:
        raise BackendInvalidRequestError("this model does not support tool use", code="400")
    return answer(request)


def refuses_all(request: ModelRequest) -> str:
    raise BackendInvalidRequestError("invalid request", code="ValidationException")


def make(backend: Any, **kwargs: Any) -> Normalizer:
    kwargs.setdefault("requests_per_second", 10_000)
    kwargs.setdefault("retry", NO_SLEEP)
    return Normalizer(backend, **kwargs)


def leads(n: int, **fields: str) -> list[dict[str, str]]:
    return [{"leadId": f"lead-{i}", **fields} for i in range(n)]


class TestPromptBuilder:
    def test_modes_differ_in_version_and_tool(self) -> None:
        tool = PromptBuilder()
        text = tool.with_answer_mode("json")
        assert tool.answer_mode == "tool"
        assert tool.tool is not None
        assert text.answer_mode == "json"
        assert text.tool is None
        assert text.prompt_version != tool.prompt_version
        assert text.prompt_version == PromptBuilder(use_tool=False).prompt_version
        assert tool.with_answer_mode("tool") is tool

    def test_unknown_mode(self) -> None:
        with pytest.raises(ConfigurationError):
            PromptBuilder().with_answer_mode("xml")
        with pytest.raises(ConfigurationError):
            Normalizer(FakeBackend(), answer_mode="xml")


class TestFallback:
    def test_switches_once_and_uses_the_answers(self, caplog: pytest.LogCaptureFixture) -> None:
        backend = FakeBackend(no_tools)
        normalizer = make(backend, concurrency=1, config=NormalizationConfig(batch_size=1))
        tool_version = normalizer.prompt_version
        with caplog.at_level(logging.WARNING, logger="llm_normalize"):
            records = normalizer.normalize(
                leads(3, ciudad="bogta") + leads(2, ciudad="medelinn") + leads(2, ciudad="cali x")
            )
        assert {r.sources["ciudad"] for r in records} == {"llm"}
        assert records[0].normalized["ciudad"] == "Bogotá D.C."
        # One refused tool call, then every call in text.
        tools = [request.tool is not None for request in backend.requests]
        assert tools[0] is True
        assert not any(tools[1:])
        report = normalizer.last_report
        assert report is not None
        assert report.answer_mode == "json"
        assert report.answer_mode_switched
        assert report.prompt_version == normalizer.prompt_version != tool_version
        assert report.errors_by_kind == {}
        assert normalizer.dispatcher is not None
        assert normalizer.dispatcher.answer_mode == "json"
        switches = [r for r in caplog.records if "refused forced tool use" in r.getMessage()]
        assert len(switches) == 1
        assert "bogta" not in caplog.text

    def test_later_runs_start_in_json(self) -> None:
        backend = FakeBackend(no_tools)
        normalizer = make(backend, cache=LRUCache())
        normalizer.normalize(leads(1, ciudad="bogta"))
        calls = backend.calls
        records = normalizer.normalize(leads(1, ciudad="medelinn"))
        assert records[0].sources["ciudad"] == "llm"
        assert backend.calls == calls + 1
        assert backend.requests[-1].tool is None
        # The answer of the first run was cached under the json prompt version.
        again = normalizer.normalize(leads(1, ciudad="bogta"))
        assert again[0].sources["ciudad"] == "cache"

    def test_concurrent_calls_each_retry_once(self) -> None:
        barrier = threading.Barrier(4, timeout=5)

        def slow_no_tools(request: ModelRequest) -> str:
            if request.tool is not None:
                barrier.wait()  # every tool call is in flight before any is refused
            return no_tools(request)

        backend = FakeBackend(slow_no_tools)
        normalizer = make(backend, concurrency=4, config=NormalizationConfig(batch_size=1))
        values = ["bogta", "medelinn", "cali x", "pereira y"]
        records = normalizer.normalize(
            [{"leadId": f"l{i}", "ciudad": v} for i, v in enumerate(values)],
        )
        assert [request.tool is not None for request in backend.requests].count(True) == 4
        assert {r.sources["ciudad"] for r in records} == {"llm"}
        report = normalizer.last_report
        assert report is not None
        assert report.answer_mode_switched

    def test_refused_in_both_modes_fails(self) -> None:
        backend = FakeBackend(refuses_all)
        normalizer = make(backend)
        with pytest.raises(ModelFailedError) as caught:
            normalizer.normalize(leads(2, ciudad="bogta"))
        assert [request.tool is not None for request in backend.requests] == [True, False]
        assert normalizer.dispatcher is not None
        assert normalizer.dispatcher.answer_mode == "tool"
        report = caught.value.report
        assert report is not None
        assert not report.answer_mode_switched

    def test_explicit_json_sends_no_tool(self) -> None:
        backend = FakeBackend(answer)
        normalizer = make(backend, answer_mode="json")
        records = normalizer.normalize(leads(2, ciudad="bogta"))
        assert records[0].sources["ciudad"] == "llm"
        assert backend.requests
        assert all(request.tool is None for request in backend.requests)
        report = normalizer.last_report
        assert report is not None
        assert report.answer_mode == "json"
        assert not report.answer_mode_switched
        assert normalizer.prompt_version == PromptBuilder(use_tool=False).prompt_version

    def test_tool_mode_report(self) -> None:
        normalizer = make(FakeBackend(answer))
        normalizer.normalize(leads(1, ciudad="bogta"))
        report = normalizer.last_report
        assert report is not None
        assert report.answer_mode == "tool"
        assert not report.answer_mode_switched


def test_bedrock_validation_exception_switches(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A real 400 ValidationException from the Bedrock wire format triggers the fallback."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIATESTTESTTESTTEST")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test-secret-key")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    with BedrockWireServer(answer) as server:
        backend = BedrockBackend(
            endpoint_url=server.endpoint_url, region_name="us-east-1", api="converse"
        )
        server.fail_next(ScriptedError(400, "ValidationException", "toolChoice not supported"))
        normalizer = make(backend)
        records = normalizer.normalize(leads(2, ciudad="bogta"))
        sent = [wire.model_request.tool is not None for wire in server.requests]
    assert sent == [True, False]
    assert records[0].normalized["ciudad"] == "Bogotá D.C."
    assert records[0].sources["ciudad"] == "llm"
    report = normalizer.last_report
    assert report is not None
    assert report.answer_mode_switched


class TestStampAfterASwitch:
    """Leads saved after the switch to JSON text are stamped with the version they used."""

    def test_saved_leads_carry_the_json_version_and_roll_back(self) -> None:
        import json as _json

        from llm_normalize.exceptions import BackendInvalidRequestError
        from llm_normalize.job import run_job
        from llm_normalize.messages import ModelRequest
        from llm_normalize.profiles.colombia import COLOMBIAN_LEADS
        from llm_normalize.stores.memory import MemoryLeadStore

        def no_tools(request: ModelRequest) -> str:
            if request.tool is not None:
                raise BackendInvalidRequestError("tool use is not supported by this model")
            items = [{"id": item.id, "value": item.value.title()} for item in request.items]
            return _json.dumps({"items": items})

        profile = COLOMBIAN_LEADS.with_fields(COLOMBIAN_LEADS["empresa"].with_strategy("llm"))
        normalizer = Normalizer(
            FakeBackend(no_tools), profile=profile, requests_per_second=10_000, concurrency=1
        )
        tool_version = normalizer.prompt_version
        store = MemoryLeadStore(
            [{"leadId": f"l{n}", "empresa": f"empresa numero {n}"} for n in range(5)]
        )
        result = run_job(normalizer, store, now_ms=1_000)
        assert result.report.answer_mode_switched
        json_version = normalizer.prompt_version
        assert json_version != tool_version
        versions = {item["normalizationMeta"]["promptVersion"] for item in store.scan()}
        assert versions == {json_version}
        assert normalizer.rollback(store, json_version) == 5
        assert all("normalizedAt" not in item for item in store.scan())
