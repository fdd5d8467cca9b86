import doctest
import json
import threading
from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

import llm_normalize.backends.fake
from llm_normalize.backends.base import Backend, Message, ModelRequest, ModelResponse, Usage
from llm_normalize.backends.fake import FakeBackend
from llm_normalize.exceptions import (
    BackendThrottledError,
    BackendTimeoutError,
    BackendUnavailableError,
    ConfigurationError,
)
from llm_normalize.parsing import ResponseParser, TruncatedResponseError
from llm_normalize.prompt import Item, PromptBuilder, estimate_request_tokens, estimate_tokens
from strategies import any_text

ITEMS = [Item("0", "ciudad", "bogota"), Item("1", "nombres", "JUAN CARLOS")]
TOOL_REQUEST = PromptBuilder().build(ITEMS)
TEXT_REQUEST = PromptBuilder(use_tool=False).build(ITEMS)


class FakeClock:
    """A monotonic clock that only moves when told to."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class SleepRecorder:
    """A sleep that records how long it was asked to wait, and waits not at all."""

    def __init__(self, clock: FakeClock | None = None) -> None:
        self.waits: list[float] = []
        self.clock = clock

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        if self.clock is not None:
            self.clock.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


class TestEcho:
    def test_is_a_backend(self) -> None:
        """FakeBackend satisfies the Backend protocol and reports its model id."""
        backend = FakeBackend(model_id="fake-haiku")
        assert isinstance(backend, Backend)
        assert backend.model_id == "fake-haiku"

    def test_echo_answers_every_item_with_its_raw_value(self) -> None:
        """The echo answer is the JSON of each item's id and raw value."""
        assert json.loads(FakeBackend.echo(TOOL_REQUEST)) == {
            "items": [{"id": "0", "value": "bogota"}, {"id": "1", "value": "JUAN CARLOS"}]
        }

    def test_tool_request_gets_a_tool_input(self) -> None:
        """With a tool in the request, a JSON object answer comes back as the tool input."""
        response = FakeBackend().complete(TOOL_REQUEST)
        assert response.tool_input == json.loads(FakeBackend.echo(TOOL_REQUEST))
        assert response.text == ""
        assert response.stop_reason == "tool_use"
        assert response.model_id == "fake"

    def test_text_request_gets_text(self) -> None:
        """Without a tool, the answer comes back as text."""
        response = FakeBackend().complete(TEXT_REQUEST)
        assert response.tool_input is None
        assert response.text == FakeBackend.echo(TEXT_REQUEST)
        assert response.stop_reason == "end_turn"

    @pytest.mark.parametrize("use_tool", [True, False])
    def test_round_trip_through_the_parser(self, use_tool: bool) -> None:
        """Builder, echo and parser agree: every raw value comes back under its id."""
        request = PromptBuilder(use_tool=use_tool).build(ITEMS)
        parsed = ResponseParser().parse(FakeBackend().complete(request), ["0", "1"])
        assert parsed.values == {"0": "bogota", "1": "JUAN CARLOS"}
        assert parsed.errors == {}

    @given(st.lists(any_text, min_size=1, max_size=6), st.booleans())
    def test_round_trip_for_any_unicode(self, values: list[str], use_tool: bool) -> None:
        """Any values, surrogates and fence-breaking text included, echo back exactly."""
        items = [Item(str(i), "empresa", v) for i, v in enumerate(values)]
        request = PromptBuilder(use_tool=use_tool).build(items)
        parsed = ResponseParser().parse(FakeBackend().complete(request), [i.id for i in items])
        assert parsed.values == {i.id: i.value for i in items}

    def test_echo_of_a_foreign_request_is_a_configuration_error(self) -> None:
        """A request without a records block cannot be echoed."""
        request = ModelRequest(system="hi", messages=(Message("user", "hello"),))
        with pytest.raises(ConfigurationError):
            FakeBackend().complete(request)


class TestResponder:
    def test_string_responder(self) -> None:
        """A responder's JSON string becomes the tool input; its requests are the ones sent."""
        seen: list[ModelRequest] = []

        def responder(request: ModelRequest) -> str:
            seen.append(request)
            return '{"items": [{"id": "0", "value": "Bogotá D.C."}]}'

        response = FakeBackend(responder).complete(TOOL_REQUEST)
        assert seen == [TOOL_REQUEST]
        assert response.tool_input == {"items": [{"id": "0", "value": "Bogotá D.C."}]}

    @pytest.mark.parametrize("answer", ["Sure! ```json\n{}\n```", "[1, 2]", "{not json"])
    def test_non_object_string_is_text_even_with_a_tool(self, answer: str) -> None:
        """A string that is not a JSON object comes back as text, as a chatty model's would."""
        response = FakeBackend(lambda _: answer).complete(TOOL_REQUEST)
        assert response.tool_input is None
        assert response.text == answer
        assert response.stop_reason == "end_turn"

    def test_responder_can_start_from_echo(self) -> None:
        """A custom responder can reuse echo and change one value."""

        def responder(request: ModelRequest) -> str:
            answer = json.loads(FakeBackend.echo(request))
            answer["items"][0]["value"] = "Bogotá D.C."
            return json.dumps(answer)

        parsed = ResponseParser().parse(FakeBackend(responder).complete(TEXT_REQUEST), ["0", "1"])
        assert parsed.values == {"0": "Bogotá D.C.", "1": "JUAN CARLOS"}

    def test_model_response_is_returned_as_is_with_model_id_filled(self) -> None:
        """A ModelResponse comes back unchanged, with the backend's model id if it had none."""
        truncated = ModelResponse(text='{"items": [', stop_reason="max_tokens", usage=Usage(5, 7))
        response = FakeBackend(lambda _: truncated, model_id="m").complete(TOOL_REQUEST)
        assert response == ModelResponse(
            text='{"items": [', stop_reason="max_tokens", usage=Usage(5, 7), model_id="m"
        )
        with pytest.raises(TruncatedResponseError):
            ResponseParser().parse(response, ["0", "1"])
        own = ModelResponse(text="x", model_id="other")
        assert FakeBackend(lambda _: own).complete(TOOL_REQUEST) is own

    def test_responder_errors_propagate(self) -> None:
        """An exception raised by the responder reaches the caller."""

        def responder(request: ModelRequest) -> str:
            raise BackendTimeoutError("slow model")

        with pytest.raises(BackendTimeoutError):
            FakeBackend(responder).complete(TOOL_REQUEST)

    def test_wrong_return_type_is_a_type_error(self) -> None:
        """A responder returning neither str nor ModelResponse is a programming error."""
        with pytest.raises(TypeError, match="dict"):
            FakeBackend(lambda _: {"items": []}).complete(TOOL_REQUEST)  # type: ignore[arg-type, return-value]


class TestUsage:
    def test_usage_is_estimated_from_characters(self) -> None:
        """Input is the request estimate, output the answer's characters / 3.3, rounded up."""
        response = FakeBackend().complete(TEXT_REQUEST)
        assert response.usage == Usage(
            input_tokens=estimate_request_tokens(TEXT_REQUEST),
            output_tokens=estimate_tokens(len(FakeBackend.echo(TEXT_REQUEST))),
        )
        assert response.usage.input_tokens > 0
        assert response.usage.output_tokens > 0

    def test_tool_requests_cost_more_input(self) -> None:
        """A forced tool adds its schema and the hidden tool prompt to the input tokens."""
        with_tool = FakeBackend().complete(TOOL_REQUEST).usage.input_tokens
        without = FakeBackend().complete(TEXT_REQUEST).usage.input_tokens
        assert with_tool - without > 340


class TestLatency:
    def test_latency_is_slept_through_the_injected_sleep(self, clock: FakeClock) -> None:
        """Each call sleeps latency_s and reports the elapsed time."""
        sleep = SleepRecorder(clock)
        backend = FakeBackend(latency_s=0.25, sleep=sleep, clock=clock)
        response = backend.complete(TOOL_REQUEST)
        backend.complete(TOOL_REQUEST)
        assert sleep.waits == [0.25, 0.25]
        assert response.latency_s == pytest.approx(0.25)

    def test_no_latency_means_no_sleep(self) -> None:
        """With latency_s=0 the backend never sleeps."""
        sleep = SleepRecorder()
        FakeBackend(sleep=sleep).complete(TOOL_REQUEST)
        assert sleep.waits == []

    def test_latency_also_delays_faults(self) -> None:
        """A scripted fault takes the latency too, as a timeout would."""
        sleep = SleepRecorder()
        backend = FakeBackend(latency_s=1.0, sleep=sleep, faults=[BackendTimeoutError("t")])
        with pytest.raises(BackendTimeoutError):
            backend.complete(TOOL_REQUEST)
        assert sleep.waits == [1.0]

    @pytest.mark.parametrize(
        "kwargs", [{"latency_s": -1.0}, {"requests_per_second": 0}, {"requests_per_second": -2.0}]
    )
    def test_bad_settings_are_refused(self, kwargs: dict[str, float]) -> None:
        """A negative latency or a non-positive rate is a configuration error."""
        with pytest.raises(ConfigurationError):
            FakeBackend(**kwargs)  # type: ignore[arg-type]


class TestRateLimit:
    def test_calls_past_the_limit_are_throttled(self, clock: FakeClock) -> None:
        """The third call within one second of a 2 rps backend raises BackendThrottledError."""
        sleep = SleepRecorder()
        backend = FakeBackend(requests_per_second=2, latency_s=0.1, sleep=sleep, clock=clock)
        backend.complete(TOOL_REQUEST)
        clock.now += 0.5
        backend.complete(TOOL_REQUEST)
        clock.now += 0.4
        with pytest.raises(BackendThrottledError) as caught:
            backend.complete(TOOL_REQUEST)
        assert caught.value.retryable
        assert caught.value.code == "ThrottlingException"
        # Throttled calls fail at once: only the two answered calls slept.
        assert sleep.waits == [0.1, 0.1]

    def test_window_slides(self, clock: FakeClock) -> None:
        """Once the oldest call is a second old, a new call is answered."""
        backend = FakeBackend(requests_per_second=2, clock=clock)
        backend.complete(TOOL_REQUEST)
        clock.now += 0.5
        backend.complete(TOOL_REQUEST)
        clock.now += 0.5
        backend.complete(TOOL_REQUEST)  # the first call left the window
        with pytest.raises(BackendThrottledError):
            backend.complete(TOOL_REQUEST)
        clock.now += 0.5
        backend.complete(TOOL_REQUEST)

    def test_throttled_calls_do_not_count(self, clock: FakeClock) -> None:
        """A refused call does not use up the budget of the next window."""
        backend = FakeBackend(requests_per_second=1, clock=clock)
        backend.complete(TOOL_REQUEST)
        for _ in range(5):
            clock.now += 0.1
            with pytest.raises(BackendThrottledError):
                backend.complete(TOOL_REQUEST)
        clock.now = 101.0
        backend.complete(TOOL_REQUEST)
        assert backend.calls == 7

    def test_rate_below_one(self, clock: FakeClock) -> None:
        """A rate of 0.5 answers one call every two seconds."""
        backend = FakeBackend(requests_per_second=0.5, clock=clock)
        backend.complete(TOOL_REQUEST)
        clock.now += 1.5
        with pytest.raises(BackendThrottledError):
            backend.complete(TOOL_REQUEST)
        clock.now += 0.5
        backend.complete(TOOL_REQUEST)

    def test_no_limit_by_default(self, clock: FakeClock) -> None:
        """Without requests_per_second, any number of calls are answered."""
        backend = FakeBackend(clock=clock)
        for _ in range(100):
            backend.complete(TOOL_REQUEST)
        assert backend.calls == 100


class TestFaults:
    def test_faults_are_consumed_in_order_then_calls_succeed(self) -> None:
        """Each call takes the next scripted entry; None answers; after the script, all answer."""
        backend = FakeBackend(
            faults=[
                BackendThrottledError("slow down"),
                None,
                BackendUnavailableError("503"),
                BackendTimeoutError("408"),
            ]
        )
        with pytest.raises(BackendThrottledError):
            backend.complete(TOOL_REQUEST)
        assert backend.complete(TOOL_REQUEST).tool_input is not None
        with pytest.raises(BackendUnavailableError):
            backend.complete(TOOL_REQUEST)
        with pytest.raises(BackendTimeoutError):
            backend.complete(TOOL_REQUEST)
        for _ in range(3):
            assert backend.complete(TOOL_REQUEST).tool_input is not None
        assert backend.calls == 7

    def test_faults_accept_any_iterable(self) -> None:
        """A generator works as a script."""

        def script() -> Iterator[BaseException | None]:
            yield None
            yield RuntimeError("boom")

        backend = FakeBackend(faults=script())
        backend.complete(TOOL_REQUEST)
        with pytest.raises(RuntimeError, match="boom"):
            backend.complete(TOOL_REQUEST)

    def test_faulted_and_throttled_calls_are_recorded(self, clock: FakeClock) -> None:
        """Every request is recorded, whether it was answered or not."""
        backend = FakeBackend(faults=[BackendTimeoutError("t")], requests_per_second=1, clock=clock)
        with pytest.raises(BackendTimeoutError):
            backend.complete(TOOL_REQUEST)
        backend.complete(TEXT_REQUEST)
        with pytest.raises(BackendThrottledError):
            backend.complete(TOOL_REQUEST)
        assert backend.requests == [TOOL_REQUEST, TEXT_REQUEST, TOOL_REQUEST]


class TestRecording:
    def test_requests_is_a_copy(self) -> None:
        """Mutating the returned list does not change what the backend recorded."""
        backend = FakeBackend()
        backend.complete(TOOL_REQUEST)
        backend.requests.clear()
        assert backend.requests == [TOOL_REQUEST]

    def test_thread_safety(self) -> None:
        """Many threads calling at once: every request is recorded, every call answered."""
        backend = FakeBackend(faults=[None] * 50 + [BackendThrottledError("x")] * 10)
        requests = [
            PromptBuilder().build([Item("0", "ciudad", f"ciudad {n}")], metadata={"n": str(n)})
            for n in range(400)
        ]
        errors: list[BaseException] = []
        answers: list[ModelResponse] = []
        lock = threading.Lock()
        barrier = threading.Barrier(16)

        def worker(chunk: list[ModelRequest]) -> None:
            barrier.wait()
            for request in chunk:
                try:
                    response = backend.complete(request)
                except BackendThrottledError as exc:
                    with lock:
                        errors.append(exc)
                else:
                    with lock:
                        answers.append(response)

        threads = [threading.Thread(target=worker, args=(requests[i::16],)) for i in range(16)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert backend.calls == 400
        assert len(errors) == 10
        assert len(answers) == 390
        seen = backend.requests
        assert len(seen) == 400
        assert {r.metadata["n"] for r in seen} == {str(n) for n in range(400)}

    def test_repr_names_the_settings(self) -> None:
        """The repr shows the model id and simulation settings, not requests."""
        assert repr(FakeBackend(latency_s=0.5)) == (
            "FakeBackend(model_id='fake', latency_s=0.5, requests_per_second=None)"
        )


def test_doctests() -> None:
    """The examples in the module's docstrings run."""
    assert doctest.testmod(llm_normalize.backends.fake).failed == 0
