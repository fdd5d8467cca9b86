"""JSON logs and EMF metrics through powertools, and no field value in either."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from aws_lambda.support import (
    BASE_MS,
    CANARY,
    FakeContext,
    Tables,
    canary_lead,
    emf_documents,
    json_lines,
    load_event,
    make_normalizer,
    messy_lead,
    metric,
    sqs_event,
    stream_event,
    stream_record,
    with_groups,
)
from bedrock_server import BedrockWireServer
from llm_normalize.aws_lambda import InvocationError, configure, get_runtime, handler
from llm_normalize.backends.bedrock import BedrockBackend


@pytest.mark.parametrize("telemetry", ["auto", "powertools"])
class TestTelemetry:
    def test_json_logs_and_emf(
        self,
        telemetry: Any,
        tables: Tables,
        backend: BedrockBackend,
        monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        """Every line is JSON with the invocation's keys; one EMF document per invocation."""
        monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "TestNamespace")
        configure(store=tables.store, normalizer=make_normalizer(backend), telemetry=telemetry)
        assert get_runtime().telemetry == "powertools"
        tables.put(messy_lead(1))
        handler(load_event("eventbridge_scheduled"), FakeContext())
        out = capsys.readouterr().out
        lines = [line for line in out.splitlines() if line.strip()]
        assert all(line.startswith("{") for line in lines)
        [doc] = emf_documents(out)
        [directive] = doc["_aws"]["CloudWatchMetrics"]
        assert directive["Namespace"] == "TestNamespace"
        assert directive["Dimensions"] == [["service"]]
        names = {m["Name"] for m in directive["Metrics"]}
        assert names >= {
            "LeadsProcessed",
            "NormalizationErrors",
            "Duration",
            "InputTokens",
            "OutputTokens",
            "EstimatedCostUSD",
            "ModelCalls",
            "CacheHits",
        }
        assert doc["service"] == "llm-normalize"
        assert doc["trigger"] == "schedule"
        assert metric(out, "LeadsProcessed") == 1
        assert metric(out, "EstimatedCostUSD") > 0
        logs = [line for line in json_lines(out) if "_aws" not in line]
        [finished] = [line for line in logs if line["message"] == "invocation finished"]
        assert finished["function_request_id"] == FakeContext.aws_request_id
        assert finished["trigger"] == "schedule"
        assert finished["cold_start"] is True
        assert finished["report"]["records_saved"] == 1


def test_no_pii_in_logs_or_metrics(
    tables: Tables,
    backend: BedrockBackend,
    bedrock: BedrockWireServer,
    capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Every trigger, failures included, at DEBUG: no canary value in any log line or metric."""
    configure(store=tables.store, normalizer=make_normalizer(backend))
    library = logging.getLogger("llm_normalize")
    library.setLevel(logging.DEBUG)
    library.addHandler(caplog.handler)
    caplog.handler.setLevel(logging.DEBUG)
    try:
        tables.put(*(canary_lead(n) for n in range(6)))
        context = FakeContext()
        bedrock.fail_next(400)  # a model call that fails for good
        handler(load_event("eventbridge_scheduled"), context)
        api = with_groups(load_event("apigateway_rest_admin"), "viewers")
        api["requestContext"]["authorizer"]["claims"]["email"] = f"{CANARY}@example.com"
        handler(api, context)
        handler(load_event("apigateway_http_admin"), context)
        items = [tables.item(f"lead-{n}") for n in range(6)]
        edited = dict(canary_lead(1), ciudad=f"{CANARY} otra", updatedAt=BASE_MS + 100)
        tables.put(edited)
        tables.store.fail_saves = {"lead-1"}
        handler(
            stream_event(
                stream_record("MODIFY", "lead-1", "1", old=items[1], new=edited),
                stream_record("MODIFY", "lead-2", "2", old=canary_lead(2), new=items[2]),
            ),
            context,
        )
        handler(sqs_event('{"leadIds": ["lead-1"]}', f'{{"leadId": {CANARY}}}'), context)
        tables.store.fail_selection = ValueError(f"{CANARY} in an exception")
        with pytest.raises(InvocationError):
            handler({"forceAll": True}, context)
        handler({"forceAll": f"{CANARY}"}, context)
    finally:
        library.removeHandler(caplog.handler)
    captured = capfd.readouterr()
    text = "\n".join(
        [captured.out, captured.err, *(record.getMessage() for record in caplog.records)]
        + [json.dumps(vars(record), default=str) for record in caplog.records]
    )
    assert len(emf_documents(captured.out)) == 7
    assert "invocation finished" in text
    assert CANARY.lower() not in text.lower()
