"""RetryPolicy and RetryingBackend: units on scripted callables, then end to end over Bedrock."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest

from bedrock_server import BedrockWireServer, ScriptedError
from llm_normalize.backends.base import Backend, Message, ModelRequest, ModelResponse
from llm_normalize.backends.bedrock import BedrockApi, BedrockBackend
from llm_normalize.backends.retry import RetryingBackend, RetryPolicy
from llm_normalize.exceptions import (
    BackendAccessDeniedError,
    BackendError,
    BackendInvalidRequestError,
    BackendThrottledError,
    BackendTimeoutError,
    BackendUnavailableError,
    ConfigurationError,
    ResponseParseError,
)

if TYPE_CHECKING:
    from boto3.session import Session

REQUEST = ModelRequest(
    system="s",
    messages=(
        Message(
            "user", '<records>\n{"items":[{"id":"0","field":"ciudad","value":"cali"}]}\n</records>'
        ),
    ),
)


class Script:
    """A callable that raises the scripted exceptions in order, then returns "ok"."""

    def __init__(self, *outcomes: BaseException) -> None:
        self.outcomes = list(outcomes)
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.outcomes:
            raise self.outcomes.pop(0)
        return "ok"


class Recorder:
    """A no-op sleep that records the waits requested, and an on_retry that records calls."""

    def __init__(self) -> None:
        self.waits: list[float] = []
        self.retries: list[tuple[type[BaseException], int]] = []

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)

    def on_retry(self, exc: BaseException, attempt: int) -> None:
        self.retries.append((type(exc), attempt))


def throttled() -> BackendThrottledError:
    return BackendThrottledError("throttled", code="ThrottlingException")


def assert_backoff(waits: list[float], expected: list[float], jitter_s: float) -> None:
    assert len(waits) == len(expected)
    for wait, base in zip(waits, expected, strict=True):
        assert base <= wait <= base + jitter_s


class TestRetryPolicy:
    def test_defaults_are_the_seeds(self) -> None:
        """Four attempts, 1 s doubling up to 8 s, half a second of jitter."""
        policy = RetryPolicy()
        assert (policy.max_attempts, policy.initial_wait_s, policy.max_wait_s, policy.jitter_s) == (
            4,
            1.0,
            8.0,
            0.5,
        )

    def test_success_needs_no_retry(self) -> None:
        """A first success returns at once, with no wait."""
        rec = Recorder()
        assert RetryPolicy(sleep=rec.sleep).call(Script(), on_retry=rec.on_retry) == "ok"
        assert rec.waits == []
        assert rec.retries == []

    def test_waits_1_2_4_seconds_plus_jitter(self) -> None:
        """Three retryable failures wait about 1 s, 2 s and 4 s before the fourth attempt."""
        rec = Recorder()
        script = Script(throttled(), BackendTimeoutError("t"), BackendUnavailableError("u"))
        result = RetryPolicy(sleep=rec.sleep).call(script, on_retry=rec.on_retry)
        assert result == "ok"
        assert script.calls == 4
        assert_backoff(rec.waits, [1, 2, 4], 0.5)
        assert rec.retries == [
            (BackendThrottledError, 1),
            (BackendTimeoutError, 2),
            (BackendUnavailableError, 3),
        ]

    def test_exact_waits_without_jitter_and_the_cap(self) -> None:
        """Without jitter the waits double exactly and stop growing at max_wait_s."""
        rec = Recorder()
        policy = RetryPolicy(max_attempts=7, jitter_s=0, sleep=rec.sleep)
        with pytest.raises(BackendThrottledError):
            policy.call(Script(*(throttled() for _ in range(7))))
        assert rec.waits == [1, 2, 4, 8, 8, 8]

    def test_custom_initial_wait(self) -> None:
        """initial_wait_s scales the whole sequence."""
        rec = Recorder()
        policy = RetryPolicy(initial_wait_s=0.25, max_wait_s=1, jitter_s=0, sleep=rec.sleep)
        policy.call(Script(throttled(), throttled(), throttled()))
        assert rec.waits == [0.25, 0.5, 1.0]

    def test_jitter_is_random_and_bounded(self) -> None:
        """Jitter spreads the waits within [base, base + jitter_s]."""
        rec = Recorder()
        policy = RetryPolicy(max_attempts=2, jitter_s=0.5, sleep=rec.sleep)
        for _ in range(200):
            policy.call(Script(throttled()))
        assert all(1 <= wait <= 1.5 for wait in rec.waits)
        assert len(set(rec.waits)) > 100

    def test_gives_up_after_max_attempts_with_attempts_set(self) -> None:
        """When attempts run out the last error is raised, saying how many were made."""
        rec = Recorder()
        last = throttled()
        script = Script(throttled(), throttled(), throttled(), last)
        with pytest.raises(BackendThrottledError) as caught:
            RetryPolicy(sleep=rec.sleep).call(script, on_retry=rec.on_retry)
        assert caught.value is last
        assert caught.value.attempts == 4
        assert script.calls == 4
        assert len(rec.waits) == 3
        assert [attempt for _, attempt in rec.retries] == [1, 2, 3]

    @pytest.mark.parametrize(
        "error",
        [BackendInvalidRequestError("bad"), BackendAccessDeniedError("no"), BackendError("x")],
    )
    def test_non_retryable_errors_are_raised_at_once(self, error: BackendError) -> None:
        """Invalid request, access denied and plain backend errors are not retried."""
        rec = Recorder()
        script = Script(error)
        with pytest.raises(type(error)) as caught:
            RetryPolicy(sleep=rec.sleep).call(script, on_retry=rec.on_retry)
        assert caught.value is error
        assert caught.value.attempts == 1
        assert script.calls == 1
        assert rec.waits == []
        assert rec.retries == []

    def test_non_retryable_after_retries_counts_all_attempts(self) -> None:
        """A non-retryable error after two throttles is raised with attempts == 3."""
        rec = Recorder()
        script = Script(throttled(), throttled(), BackendInvalidRequestError("bad"))
        with pytest.raises(BackendInvalidRequestError) as caught:
            RetryPolicy(sleep=rec.sleep).call(script)
        assert caught.value.attempts == 3
        assert len(rec.waits) == 2

    @pytest.mark.parametrize(
        "error", [ResponseParseError("bad json"), ValueError("bug"), KeyError("k")]
    )
    def test_other_exceptions_pass_through_untouched(self, error: Exception) -> None:
        """Exceptions that are not BackendErrors are neither retried nor changed."""
        rec = Recorder()
        script = Script(error)
        with pytest.raises(type(error)) as caught:
            RetryPolicy(sleep=rec.sleep).call(script)
        assert caught.value is error
        assert script.calls == 1
        assert rec.waits == []

    def test_single_attempt_policy(self) -> None:
        """max_attempts=1 never retries."""
        rec = Recorder()
        with pytest.raises(BackendThrottledError) as caught:
            RetryPolicy(max_attempts=1, sleep=rec.sleep).call(Script(throttled()))
        assert caught.value.attempts == 1
        assert rec.waits == []

    @pytest.mark.parametrize(
        "kwargs",
        [
            {"max_attempts": 0},
            {"initial_wait_s": -1},
            {"max_wait_s": -1},
            {"jitter_s": -0.1},
            {"initial_wait_s": 4, "max_wait_s": 2},
        ],
    )
    def test_bad_settings(self, kwargs: dict[str, Any]) -> None:
        """Impossible settings are configuration errors."""
        with pytest.raises(ConfigurationError):
            RetryPolicy(**kwargs)

    def test_shared_between_threads(self) -> None:
        """One policy serves concurrent calls; each call counts its own attempts."""
        policy = RetryPolicy(sleep=lambda s: None)
        errors: list[BackendError] = []
        results: list[str] = []
        lock = threading.Lock()

        def work(failures: int) -> None:
            script = Script(*(throttled() for _ in range(failures)))
            try:
                result = policy.call(script)
            except BackendError as exc:
                with lock:
                    errors.append(exc)
            else:
                with lock:
                    results.append(result)

        threads = [threading.Thread(target=work, args=(n % 6,)) for n in range(60)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(results) == 40  # 0-3 failures recover
        assert len(errors) == 20  # 4-5 failures give up
        assert all(error.attempts == 4 for error in errors)

    def test_tenacity_is_imported_on_first_call_only(self) -> None:
        """Importing the retry module does not import tenacity."""
        code = (
            "import sys, llm_normalize\n"
            "before = 'tenacity' in sys.modules\n"
            "import llm_normalize.backends.retry as r\n"
            "print(before or 'tenacity' not in sys.modules)\n"
            "r.RetryPolicy().call(lambda: 1)\n"
            "print('tenacity' in sys.modules)\n"
        )
        result = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        )
        assert result.stdout.split() == ["True", "True"]


class ScriptedBackend:
    """A minimal backend raising scripted errors, then answering."""

    def __init__(self, *errors: BackendError) -> None:
        self.errors = list(errors)
        self.calls = 0

    @property
    def model_id(self) -> str:
        return "scripted"

    def complete(self, request: ModelRequest) -> ModelResponse:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return ModelResponse(text="ok", model_id=self.model_id)


class TestRetryingBackend:
    def test_is_a_backend_with_the_inner_model_id(self) -> None:
        """It implements Backend and reports the inner backend's model id."""
        inner = ScriptedBackend()
        backend = RetryingBackend(inner)
        assert isinstance(backend, Backend)
        assert backend.model_id == "scripted"
        assert backend.inner is inner
        assert backend.policy == RetryPolicy()

    def test_retries_and_reports(self) -> None:
        """Retryable errors are retried with the policy, each reported to on_retry."""
        rec = Recorder()
        inner = ScriptedBackend(throttled(), BackendTimeoutError("t"))
        backend = RetryingBackend(inner, RetryPolicy(sleep=rec.sleep), on_retry=rec.on_retry)
        assert backend.complete(REQUEST).text == "ok"
        assert inner.calls == 3
        assert rec.retries == [(BackendThrottledError, 1), (BackendTimeoutError, 2)]
        assert_backoff(rec.waits, [1, 2], 0.5)


@pytest.fixture
def bedrock(
    bedrock_server: BedrockWireServer, boto3_session: Session
) -> Iterator[Callable[..., BedrockBackend]]:
    built: list[BedrockBackend] = []

    def make(api: BedrockApi = "invoke") -> BedrockBackend:
        backend = BedrockBackend.from_session(
            boto3_session, api=api, endpoint_url=bedrock_server.endpoint_url
        )
        built.append(backend)
        return backend

    yield make
    for backend in built:
        backend.client.close()


@pytest.mark.usefixtures("aws_env")
@pytest.mark.parametrize("api", ["invoke", "converse"])
class TestRetryingOverBedrock:
    """RetryingBackend over a real BedrockBackend and the local server: botocore never retries."""

    def test_recovers_from_throttling_and_model_timeout(
        self,
        api: BedrockApi,
        bedrock_server: BedrockWireServer,
        bedrock: Callable[..., BedrockBackend],
    ) -> None:
        """A 429 then a 408 are retried after ~1 s and ~2 s; the third request answers."""
        rec = Recorder()
        backend = RetryingBackend(bedrock(api), RetryPolicy(sleep=rec.sleep), on_retry=rec.on_retry)
        bedrock_server.fail_next(429, 408)
        response = backend.complete(REQUEST)
        assert response.text == '{"items": [{"id": "0", "value": "cali"}]}'
        assert len(bedrock_server.requests) == 3
        assert_backoff(rec.waits, [1, 2], 0.5)
        assert rec.retries == [(BackendThrottledError, 1), (BackendTimeoutError, 2)]

    def test_three_failures_wait_1_2_4(
        self,
        api: BedrockApi,
        bedrock_server: BedrockWireServer,
        bedrock: Callable[..., BedrockBackend],
    ) -> None:
        """429, 503 and model-not-ready are retried after ~1, 2, 4 s; the fourth request answers."""
        rec = Recorder()
        backend = RetryingBackend(bedrock(api), RetryPolicy(sleep=rec.sleep))
        bedrock_server.fail_next(429, 503, ScriptedError(429, "ModelNotReadyException"))
        assert backend.complete(REQUEST).stop_reason == "end_turn"
        assert len(bedrock_server.requests) == 4
        assert_backoff(rec.waits, [1, 2, 4], 0.5)

    def test_gives_up_after_max_attempts(
        self,
        api: BedrockApi,
        bedrock_server: BedrockWireServer,
        bedrock: Callable[..., BedrockBackend],
    ) -> None:
        """Four 429s in a row: four requests (not 4 x botocore's), then the error with attempts=4."""
        rec = Recorder()
        backend = RetryingBackend(bedrock(api), RetryPolicy(sleep=rec.sleep))
        bedrock_server.fail_next(429, 429, 429, 429, 429)
        with pytest.raises(BackendThrottledError) as caught:
            backend.complete(REQUEST)
        assert caught.value.attempts == 4
        assert len(bedrock_server.requests) == 4
        assert len(rec.waits) == 3

    @pytest.mark.parametrize(
        ("status", "error_class"),
        [(400, BackendInvalidRequestError), (403, BackendAccessDeniedError)],
    )
    def test_does_not_retry_invalid_or_denied(
        self,
        api: BedrockApi,
        status: int,
        error_class: type[BackendError],
        bedrock_server: BedrockWireServer,
        bedrock: Callable[..., BedrockBackend],
    ) -> None:
        """400 and 403 are raised after one request, with no wait."""
        rec = Recorder()
        backend = RetryingBackend(bedrock(api), RetryPolicy(sleep=rec.sleep))
        bedrock_server.fail_next(status)
        with pytest.raises(error_class) as caught:
            backend.complete(REQUEST)
        assert caught.value.attempts == 1
        assert len(bedrock_server.requests) == 1
        assert rec.waits == []

    def test_truncated_answer_is_returned_not_retried(
        self,
        api: BedrockApi,
        bedrock_server: BedrockWireServer,
        bedrock: Callable[..., BedrockBackend],
    ) -> None:
        """A max_tokens answer is a success for the retry layer: the pipeline splits the batch."""
        rec = Recorder()
        backend = RetryingBackend(bedrock(api), RetryPolicy(sleep=rec.sleep))
        bedrock_server.truncate = True
        assert backend.complete(REQUEST).stop_reason == "max_tokens"
        assert len(bedrock_server.requests) == 1
        assert rec.waits == []
