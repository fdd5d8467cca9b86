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
from llm_normalize.aws_lambda import (
    InvocationError,
    configure,
    get_runtime,
    handler,
    reset_runtime,
)
from llm_normalize.aws_lambda.telemetry import (
    METRIC_LEADS_DEFERRED,
    METRIC_MODEL_THROTTLES,
    METRIC_SCHEDULED_RUN_COMPLETED,
    METRIC_SCHEDULED_RUN_FAILED,
)
from llm_normalize.backends.bedrock import BedrockBackend
from llm_normalize.backends.retry import RetryPolicy
from llm_normalize.config import NormalizationConfig
from llm_normalize.exceptions import StorageError
from llm_normalize.pipeline import Normalizer


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
        # A model call refused for good (with tools, then as JSON text): the run fails.
        bedrock.fail_next(400, 400)
        with pytest.raises(InvocationError):
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


class TestAlarmMetrics:
    """The metrics the template's alarms watch: heartbeat, failed runs, deferrals, throttles."""

    def test_scheduled_run_sends_a_heartbeat(
        self, tables: Tables, runtime_on: Normalizer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A scheduled run that completes counts one completed run and no failed one."""
        tables.put(messy_lead(1))
        handler(load_event("eventbridge_scheduled"), FakeContext())
        out = capsys.readouterr().out
        assert metric(out, METRIC_SCHEDULED_RUN_COMPLETED) == 1
        assert metric(out, METRIC_SCHEDULED_RUN_FAILED) == 0
        assert metric(out, METRIC_LEADS_DEFERRED) == 0
        assert metric(out, METRIC_MODEL_THROTTLES) == 0

    def test_failed_scheduled_run_is_counted(
        self, tables: Tables, runtime_on: Normalizer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A scheduled run that fails counts one failed run and no heartbeat."""
        tables.store.fail_selection = StorageError("DynamoDB Scan on table 'x' failed")
        with pytest.raises(InvocationError):
            handler(load_event("eventbridge_scheduled"), FakeContext())
        out = capsys.readouterr().out
        assert metric(out, METRIC_SCHEDULED_RUN_FAILED) == 1
        assert metric(out, METRIC_SCHEDULED_RUN_COMPLETED) == 0

    def test_other_triggers_send_no_heartbeat(
        self, tables: Tables, runtime_on: Normalizer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Only the schedule beats: a direct run is not the daily run."""
        handler({}, FakeContext())
        [doc] = emf_documents(capsys.readouterr().out)
        assert METRIC_SCHEDULED_RUN_COMPLETED not in doc
        assert METRIC_SCHEDULED_RUN_FAILED not in doc

    def test_throttled_calls_are_a_metric(
        self,
        tables: Tables,
        backend: BedrockBackend,
        bedrock: BedrockWireServer,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        """The report's throttled calls go out as ModelThrottles."""
        normalizer = Normalizer(
            backend,
            config=NormalizationConfig(),
            retry=RetryPolicy(max_attempts=3, sleep=lambda _s: None),
            requests_per_second=1000,
            concurrency=1,
        )
        configure(store=tables.store, normalizer=normalizer)
        tables.put(messy_lead(1))
        bedrock.fail_next(429)
        result = handler(load_event("eventbridge_scheduled"), FakeContext())
        out = capsys.readouterr().out
        assert result["report"]["throttled"] == 1
        assert metric(out, METRIC_MODEL_THROTTLES) == 1


def test_botocore_never_logs_items_at_debug(
    tables: Tables,
    backend: BedrockBackend,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """With the Lambda at DEBUG, botocore's loggers stay at INFO: no item value in any line."""
    # What Lambda's runtime does with AWS_LAMBDA_LOG_LEVEL=DEBUG: the root logger at DEBUG.
    monkeypatch.setenv("AWS_LAMBDA_LOG_LEVEL", "DEBUG")
    caplog.set_level(logging.DEBUG)
    configure(store=tables.store, normalizer=make_normalizer(backend))
    tables.put(*(canary_lead(n) for n in range(3)))  # a BatchWriteItem of canary items
    assert logging.getLogger("llm_normalize").level == logging.DEBUG
    for name in ("botocore", "boto3", "urllib3", "s3transfer"):
        assert logging.getLogger(name).getEffectiveLevel() >= logging.INFO, name
    result = handler(load_event("eventbridge_scheduled"), FakeContext())
    assert result["report"]["records_saved"] == 3  # Scan and UpdateItem went through boto3
    captured = capfd.readouterr()
    text = "\n".join(
        [captured.out, captured.err, *(record.getMessage() for record in caplog.records)]
    )
    assert "invocation finished" in text
    assert CANARY.lower() not in text.lower()
    assert not [
        r
        for r in caplog.records
        if r.name.startswith(("botocore", "urllib3")) and r.levelno < logging.INFO
    ]


def test_reset_restores_third_party_levels(tables: Tables) -> None:
    """The runtime raises botocore's loggers to INFO, and reset puts their levels back."""
    botocore = logging.getLogger("botocore")
    before = botocore.level
    configure(store=tables.store, normalizer=make_normalizer(None))
    assert botocore.level == logging.INFO
    reset_runtime()
    assert botocore.level == before
