"""Each invocation's deadline: cut-offs, and invocations that never see each other's."""

from __future__ import annotations

import json
import threading
from typing import TYPE_CHECKING, Any

from aws_lambda.support import (
    FakeContext,
    Tables,
    load_event,
    make_normalizer,
    messy_lead,
    stream_event,
    stream_record,
)
from bedrock_server import BedrockWireServer, echo
from llm_normalize.aws_lambda import configure, get_runtime, handler
from llm_normalize.backends.base import ModelRequest
from llm_normalize.backends.bedrock import BedrockBackend

if TYPE_CHECKING:
    from llm_normalize.pipeline import Normalizer


class TestDeadline:
    def test_remaining_time_cut_off(
        self, tables: Tables, backend: BedrockBackend, bedrock: BedrockWireServer
    ) -> None:
        """When little time is left no model call starts; leads not reached stay untouched."""
        context = FakeContext(remaining_ms=60_000)

        def responder(request: ModelRequest) -> str:
            context.remaining_ms = 1_000  # the first call took (almost) all the time
            return echo(request)

        bedrock.responder = responder
        configure(
            store=tables.store,
            normalizer=make_normalizer(backend, batch_size=2),
            stop_before_timeout_ms=5_000,
        )
        leads = [messy_lead(n) for n in (1, 2, 3)]
        tables.put(*leads)
        report = handler(load_event("eventbridge_scheduled"), context)["report"]
        assert report["stopped_early"] == "deadline"
        assert len(bedrock.requests) == 1
        assert report["records_saved"] == 2
        assert report["records_deferred"] == 1
        assert tables.item("lead-3") == leads[2]
        assert get_runtime().normalizer.stop_when is None  # never set by an invocation

    def test_stream_records_cut_off_are_retried(
        self, tables: Tables, backend: BedrockBackend, bedrock: BedrockWireServer
    ) -> None:
        """Stream records whose leads the deadline kept from the model are reported failed."""
        context = FakeContext(remaining_ms=60_000)

        def responder(request: ModelRequest) -> str:
            context.remaining_ms = 1_000
            return echo(request)

        bedrock.responder = responder
        configure(
            store=tables.store,
            normalizer=make_normalizer(backend, batch_size=2),
            stop_before_timeout_ms=5_000,
        )
        leads = [messy_lead(n) for n in (1, 2, 3)]
        tables.put(*leads)
        event = stream_event(
            *(
                stream_record("INSERT", lead["leadId"], f"{400 + n}", new=lead)
                for n, lead in enumerate(leads)
            )
        )
        assert handler(event, context) == {"batchItemFailures": [{"itemIdentifier": "402"}]}

    def test_overlapping_invocations_keep_their_own_deadlines(
        self, tables: Tables, backend: BedrockBackend, bedrock: BedrockWireServer
    ) -> None:
        """One runtime, two invocations at once: one's deadline neither stops the other nor
        lands on the shared normalizer."""
        normalizer = make_normalizer(backend, batch_size=1)
        configure(store=tables.store, normalizer=normalizer, stop_before_timeout_ms=5_000)
        late, on_time = FakeContext(remaining_ms=60_000), FakeContext(remaining_ms=60_000)
        in_call, release = threading.Event(), threading.Event()
        seen_stop_when: list[object] = []

        def responder(request: ModelRequest) -> str:
            if any("Remota 3" in message.content for message in request.messages):
                seen_stop_when.append(normalizer.stop_when)
                in_call.set()  # the late invocation is inside its model call...
                assert release.wait(30)  # ...until the other one has finished
            return echo(request)

        bedrock.responder = responder
        # The late lead holds one value for the model, so the late invocation makes one call.
        leads = [messy_lead(1), messy_lead(2), {"leadId": "lead-3", "ciudad": "Villa Remota 3"}]
        tables.put(*leads)
        results: list[dict[str, Any]] = []
        late_event = stream_event(stream_record("INSERT", "lead-3", "503", new=leads[2]))
        worker = threading.Thread(target=lambda: results.append(handler(late_event, late)))
        worker.start()
        try:
            assert in_call.wait(30)
            late.remaining_ms = 1_000  # the late invocation is now past its deadline
            on_time_event = stream_event(
                stream_record("INSERT", "lead-1", "501", new=leads[0]),
                stream_record("INSERT", "lead-2", "502", new=leads[1]),
            )
            assert handler(on_time_event, on_time) == {"batchItemFailures": []}
        finally:
            release.set()
            worker.join(30)
        assert results == [{"batchItemFailures": []}]  # its call was in flight: it finished
        for number in (1, 2, 3):
            assert "normalizedData" in tables.item(f"lead-{number}")  # type: ignore[operator]
        assert seen_stop_when == [None]
        assert normalizer.stop_when is None

    def test_deadline_does_not_outlive_its_invocation(
        self, tables: Tables, backend: BedrockBackend, bedrock: BedrockWireServer
    ) -> None:
        """An invocation stopped by its deadline leaves the next one on the runtime unaffected."""
        normalizer = make_normalizer(backend)
        configure(store=tables.store, normalizer=normalizer, api_deadline_ms=0)
        tables.put(messy_lead(1))
        response = handler(load_event("apigateway_rest_admin"), FakeContext())
        assert json.loads(response["body"])["report"]["stopped_early"] == "deadline"
        report = handler({}, FakeContext())["report"]
        assert report["stopped_early"] is None
        assert report["records_saved"] == 1
        assert normalizer.stop_when is None

    def test_threshold_is_at_most_half_the_time(
        self, tables: Tables, runtime_on: Normalizer, bedrock: BedrockWireServer
    ) -> None:
        """A threshold above half the invocation's time is halved, so short functions still work."""
        tables.put(messy_lead(1))
        report = handler({}, FakeContext(remaining_ms=10_000))["report"]
        assert report["stopped_early"] is None
        assert report["records_saved"] == 1
