"""The planner's Lambda entrypoint, and the workers absorbing what a plan sends twice."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

from aws_lambda.support import FakeContext, Tables, load_event, messy_lead, metric
from bedrock_server import BedrockWireServer
from fanout_support import FlakySqs, drain, fresh_queue, received_ids
from llm_normalize.aws_lambda import InvocationError, handler
from llm_normalize.aws_lambda import planner as planner_module
from llm_normalize.aws_lambda.planner import configure_planner, reset_planner
from llm_normalize.exceptions import ConfigurationError

if TYPE_CHECKING:
    from llm_normalize.pipeline import Normalizer


@pytest.fixture(autouse=True)
def _fresh_planner(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in (
        "PLAN_SEGMENTS",
        "PLAN_MAX_LEADS",
        "PLAN_IDS_PER_MESSAGE",
        "STOP_BEFORE_TIMEOUT_MS",
    ):
        monkeypatch.delenv(name, raising=False)
    reset_planner()
    yield
    reset_planner()


def plan_event(event: Any, context: Any = None) -> dict[str, Any]:
    return planner_module.handler(event, context if context is not None else FakeContext())


def sqs_records(bodies: list[dict[str, Any]], prefix: str) -> dict[str, Any]:
    """The SQS event a worker gets for these bodies (the fixture's record shape)."""
    template = load_event("sqs")["Records"][0]
    return {
        "Records": [
            dict(template, body=json.dumps(body), messageId=f"{prefix}-{n}")
            for n, body in enumerate(bodies)
        ]
    }


class TestHandler:
    def test_scheduled_event_plans_the_due_leads(
        self, tables: Tables, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """An EventBridge scheduled event queues every due lead; the answer and metrics are counts."""
        monkeypatch.setenv("PLAN_SEGMENTS", "3")
        sqs, url = fresh_queue(fifo=False)
        tables.put(*(messy_lead(n) for n in range(25)))
        tables.put(messy_lead(99, normalizedAt=2**50))  # fresh: not due
        configure_planner(store=tables.store, sqs=sqs, queue_url=url)
        answer = plan_event(load_event("eventbridge_scheduled"))
        assert answer["plan"]["leadsPlanned"] == 25
        assert answer["plan"]["segments"] == 3
        assert sorted(received_ids(drain(sqs, url))) == sorted(f"lead-{n}" for n in range(25))
        out = capsys.readouterr().out
        assert metric(out, "LeadsPlanned") == 25
        assert metric(out, "PlanMessagesFailed") == 0

    def test_direct_limit_lowers_the_cap(
        self, tables: Tables, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A direct {"limit": N} plans N at most; PLAN_MAX_LEADS stays the ceiling."""
        monkeypatch.setenv("PLAN_MAX_LEADS", "8")
        sqs, url = fresh_queue(fifo=False)
        tables.put(*(messy_lead(n) for n in range(20)))
        configure_planner(store=tables.store, sqs=sqs, queue_url=url)
        assert plan_event({"limit": 5})["plan"]["leadsPlanned"] == 5
        assert plan_event({"limit": 500})["plan"]["leadsPlanned"] == 8
        assert plan_event({"forceAll": True, "limit": 3})["plan"]["capped"] is True
        assert len(received_ids(drain(sqs, url))) == 16

    @pytest.mark.parametrize(
        "event",
        [{"limit": 0}, {"forceAll": "yes"}, {"queue": "x"}, "not an object"],
    )
    def test_bad_direct_events_are_answered(self, tables: Tables, event: Any) -> None:
        """A bad direct event gets an error answer, and nothing is sent."""
        sqs, url = fresh_queue(fifo=False)
        tables.put(messy_lead(1))
        configure_planner(store=tables.store, sqs=sqs, queue_url=url)
        assert plan_event(event)["error"]["type"] == "InvalidEvent"
        assert drain(sqs, url) == []

    @pytest.mark.parametrize("name", ["sqs", "dynamodb_stream", "apigateway_http_admin"])
    def test_other_triggers_are_refused(self, tables: Tables, name: str) -> None:
        """Only scheduled and direct events start a plan."""
        sqs, url = fresh_queue(fifo=False)
        configure_planner(store=tables.store, sqs=sqs, queue_url=url)
        assert "scheduled" in plan_event(load_event(name))["error"]["message"]

    def test_time_running_out_stops_and_a_rerun_continues(self, tables: Tables) -> None:
        """With the timeout near, planning stops and says so; the next plan sends the rest once (FIFO)."""
        sqs, url = fresh_queue(fifo=True)
        tables.put(*(messy_lead(n) for n in range(60)))
        configure_planner(store=tables.store, sqs=sqs, queue_url=url)
        context = FakeContext(remaining_ms=60_000)
        real = context.get_remaining_time_in_millis

        def running_out() -> int:
            real()
            return 60_000 if context.calls <= 2 else 1_000  # the deadline is read, then time flies

        context.get_remaining_time_in_millis = running_out  # type: ignore[method-assign]
        first = plan_event(load_event("eventbridge_scheduled"), context)["plan"]
        assert first["stopped"] == "deadline"
        sent = received_ids(drain(sqs, url, delete=False))
        assert len(sent) == first["leadsPlanned"] < 60
        second = plan_event(load_event("eventbridge_scheduled"))["plan"]
        assert second["stopped"] is None
        rest = received_ids(drain(sqs, url))
        assert sorted(sent + rest) == sorted(f"lead-{n}" for n in range(60))

    def test_failed_messages_fail_the_invocation(
        self, tables: Tables, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Messages SQS keeps refusing: counted in the metrics, and the invocation fails for a retry."""
        sqs, url = fresh_queue(fifo=False)
        tables.put(*(messy_lead(n) for n in range(5)))
        flaky = FlakySqs(
            sqs, refuse={"lead-1": -1, "lead-2": -1, "lead-3": -1, "lead-4": -1, "lead-0": -1}
        )
        configure_planner(store=tables.store, sqs=flaky, queue_url=url)
        with pytest.raises(InvocationError, match="messages failed"):
            plan_event(load_event("eventbridge_scheduled"))
        assert metric(capsys.readouterr().out, "PlanMessagesFailed") >= 1

    def test_missing_queue_fails_the_invocation(self, tables: Tables) -> None:
        """A queue that does not exist fails the invocation with what to check."""
        sqs, url = fresh_queue(fifo=False)
        tables.put(messy_lead(1))
        configure_planner(store=tables.store, sqs=sqs, queue_url=url + "-gone")
        with pytest.raises(InvocationError, match="does not exist"):
            plan_event(load_event("eventbridge_scheduled"))

    def test_no_queue_url(self, tables: Tables, monkeypatch: pytest.MonkeyPatch) -> None:
        """Without WORK_QUEUE_URL the planner cannot be built, and says which variable to set."""
        monkeypatch.delenv("WORK_QUEUE_URL", raising=False)
        with pytest.raises(ConfigurationError, match="WORK_QUEUE_URL"):
            configure_planner(store=tables.store)

    @pytest.mark.parametrize(
        "variable", ["PLAN_SEGMENTS", "PLAN_MAX_LEADS", "STOP_BEFORE_TIMEOUT_MS"]
    )
    def test_bad_variables(
        self, tables: Tables, monkeypatch: pytest.MonkeyPatch, variable: str
    ) -> None:
        """A variable that is not a whole number is named."""
        monkeypatch.setenv(variable, "ten")
        sqs, url = fresh_queue(fifo=False)
        with pytest.raises(ConfigurationError, match=variable):
            configure_planner(store=tables.store, sqs=sqs, queue_url=url)


class TestWorkersAbsorbDuplicates:
    def test_standard_queue_duplicates_cost_no_second_model_call(
        self, tables: Tables, runtime_on: Normalizer, bedrock: BedrockWireServer
    ) -> None:
        """A plan sent twice to a standard queue: the second copies make no model call and no save."""
        sqs, url = fresh_queue(fifo=False)
        tables.put(*(messy_lead(n) for n in range(12)))
        configure_planner(store=tables.store, sqs=sqs, queue_url=url)
        plan_event(load_event("eventbridge_scheduled"))
        first = drain(sqs, url)
        plan_event(load_event("eventbridge_scheduled"))  # a retried planner
        second = drain(sqs, url)
        assert sorted(received_ids(first)) == sorted(received_ids(second))

        assert handler(sqs_records(first, "first"), FakeContext()) == {"batchItemFailures": []}
        calls = len(bedrock.requests)
        assert calls > 0
        saved = {n: tables.item(f"lead-{n}") for n in range(12)}
        assert all("normalizedData" in item for item in saved.values())  # type: ignore[operator]

        assert handler(sqs_records(second, "second"), FakeContext()) == {"batchItemFailures": []}
        assert len(bedrock.requests) == calls
        assert {n: tables.item(f"lead-{n}") for n in range(12)} == saved
