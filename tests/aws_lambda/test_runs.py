"""Scheduled and direct invocations: the daily job, its options, its failures."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from aws_lambda.support import FakeContext, Tables, json_lines, load_event, messy_lead, metric
from bedrock_server import BedrockWireServer, ScriptedError
from llm_normalize.aws_lambda import InvocationError, handler

if TYPE_CHECKING:
    from llm_normalize.pipeline import Normalizer


class TestSchedule:
    def test_daily_run_normalizes_due_leads(
        self,
        tables: Tables,
        runtime_on: Normalizer,
        bedrock: BedrockWireServer,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        """The scheduled event runs the seed's job: due leads saved, fresh ones left alone."""
        fresh = messy_lead(9, normalizedAt=2**50, normalizedData={"ciudad": "x"})
        tables.put(messy_lead(1), messy_lead(2), messy_lead(3), fresh)
        result = handler(load_event("eventbridge_scheduled"), FakeContext())
        report = result["report"]
        assert report["records_saved"] == 3
        assert report["stopped_early"] is None
        assert bedrock.requests
        for number in (1, 2, 3):
            item = tables.item(f"lead-{number}")
            assert item is not None
            assert item["normalizedData"]["nombres"] == "Juan Carlos"
            assert item["ciudad"] == f"Villa Remota {number}"  # originals untouched
        assert tables.item("lead-9")["normalizedData"] == {"ciudad": "x"}  # type: ignore[index]
        out = capsys.readouterr().out
        assert metric(out, "LeadsProcessed") == 3
        assert metric(out, "ModelCalls") == report["model_calls"]
        assert metric(out, "InputTokens") == report["input_tokens"] > 0

    def test_config_table_settings_apply(
        self, tables: Tables, runtime_on: Normalizer, bedrock: BedrockWireServer
    ) -> None:
        """The config item is read at every run: maxLeadsPerRun caps it, enabled=false stops it."""
        tables.put(*(messy_lead(n) for n in range(4)))
        tables.set_config(maxLeadsPerRun=2)
        assert handler(load_event("eventbridge_scheduled"))["report"]["records_saved"] == 2
        tables.set_config(enabled=False)
        tables.store._config_cached = None  # the store keeps the item for a minute
        report = handler(load_event("eventbridge_scheduled"))["report"]
        assert report["enabled"] is False
        assert report["records_saved"] == 0

    def test_failure_raises_without_details(
        self, tables: Tables, runtime_on: Normalizer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A failed run fails the invocation, naming the error type only, and still emits metrics."""
        tables.store.fail_selection = ValueError("ZZCANARY personal data")
        with pytest.raises(InvocationError, match=r"normalization run failed: ValueError$"):
            handler(load_event("eventbridge_scheduled"), FakeContext())
        out = capsys.readouterr().out
        assert "ZZCANARY" not in out
        assert metric(out, "NormalizationErrors") == 1
        [error] = [line for line in json_lines(out) if line.get("level") == "ERROR"]
        assert error["error_type"] == "ValueError"
        assert any(frame.startswith("runs.py:") for frame in error["error_frames"])

    @pytest.mark.parametrize(
        ("status", "code"), [(403, "AccessDeniedException"), (404, "ResourceNotFoundException")]
    )
    def test_unusable_model_fails_the_invocation_and_saves_nothing(
        self,
        tables: Tables,
        runtime_on: Normalizer,
        bedrock: BedrockWireServer,
        capsys: pytest.CaptureFixture[str],
        status: int,
        code: str,
    ) -> None:
        """Bedrock refusing the model fails the scheduled run: its alarm fires, no lead is done."""
        tables.put(*(messy_lead(n) for n in range(12)))
        bedrock.fail_next(*[ScriptedError(status, code)] * 20)
        with pytest.raises(InvocationError, match="ModelFailedError"):
            handler(load_event("eventbridge_scheduled"), FakeContext())
        for n in range(12):
            item = tables.item(f"lead-{n}")
            assert item is not None
            assert "normalizedAt" not in item
        assert len(bedrock.requests) <= runtime_on.dispatcher.concurrency  # type: ignore[union-attr]
        out = capsys.readouterr().out
        assert metric(out, "NormalizationErrors") >= 1
        assert metric(out, "LeadsProcessed") == 0


class TestDirect:
    def test_force_all_and_limit(
        self, tables: Tables, runtime_on: Normalizer, bedrock: BedrockWireServer
    ) -> None:
        """{"forceAll": true, "limit": N} redoes at most N leads, fresh ones included."""
        fresh = [messy_lead(n, normalizedAt=2**50) for n in range(3)]
        tables.put(*fresh)
        result = handler(load_event("direct_invocation"), FakeContext())
        assert result["report"]["records_saved"] == 2

    def test_empty_event_is_the_daily_run(self, tables: Tables, runtime_on: Normalizer) -> None:
        """{} (``aws lambda invoke`` without a payload) runs the daily job."""
        tables.put(messy_lead(1), messy_lead(2, normalizedAt=2**50))
        assert handler({})["report"]["records_saved"] == 1

    @pytest.mark.parametrize(
        ("event", "message"),
        [
            ({"forceAll": "yes"}, "forceAll must be true or false"),
            ({"forceAll": 1}, "forceAll must be true or false"),
            ({"limit": 0}, "limit must be a positive integer"),
            ({"limit": "5"}, "limit must be a positive integer"),
            ({"limit": True}, "limit must be a positive integer"),
            ({"limit": 2.5}, "limit must be a positive integer"),
            ({"forceAll": True, "extra": 1}, "not a recognised event"),
            ({"Records": [{"eventSource": "aws:s3"}]}, "not a recognised event"),
            ([1, 2], "must be a JSON object"),
            ("normalize", "must be a JSON object"),
        ],
    )
    def test_bad_events_get_an_error_result(
        self,
        tables: Tables,
        runtime_on: Normalizer,
        bedrock: BedrockWireServer,
        event: Any,
        message: str,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        """A bad direct event is answered with an error (no exception, no retry loop, no run)."""
        tables.put(messy_lead(1))
        result = handler(event, FakeContext())
        assert result["error"]["type"] == "InvalidEvent"
        assert message in result["error"]["message"]
        assert not bedrock.requests
        assert tables.item("lead-1") == messy_lead(1)
        assert metric(capsys.readouterr().out, "NormalizationErrors") == 1
