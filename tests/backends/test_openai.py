"""OpenAIBackend through the real openai SDK against a local chat-completions wire server."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from llm_normalize.backends.factory import make_backend
from llm_normalize.backends.openai import OpenAIBackend
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
from llm_normalize.messages import Item, Message, ModelRequest, ModelResponse, ToolSpec, Usage
from openai_server import OpenAIWireServer, ScriptedError

MODEL = "llama3.1:8b"
SECRET = "Calle 123 secreta"
TOOL = ToolSpec(
    "record_items",
    "Record the normalized values.",
    {
        "type": "object",
        "properties": {"items": {"type": "array", "items": {"type": "object"}}},
        "required": ["items"],
    },
)
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "leads.jsonl"


def request(*, tool: ToolSpec | None = TOOL, timeout_s: float | None = None) -> ModelRequest:
    records = json.dumps({"items": [{"id": "0", "field": "direccion", "value": SECRET}]})
    return ModelRequest(
        system="Normalize.",
        messages=(Message("user", f"<records>\n{records}\n</records>"),),
        tool=tool,
        max_tokens=200,
        items=(Item("0", "direccion", SECRET),),
        timeout_s=timeout_s,
    )


@pytest.fixture
def server() -> Iterator[OpenAIWireServer]:
    with OpenAIWireServer() as started:
        yield started


@pytest.fixture(autouse=True)
def _no_openai_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_ORG_ID", "OPENAI_PROJECT_ID"):
        monkeypatch.delenv(name, raising=False)


def backend(server: OpenAIWireServer, **options: object) -> OpenAIBackend:
    return OpenAIBackend(MODEL, base_url=server.base_url, api_key="sk-test-key", **options)  # type: ignore[arg-type]


class TestAnswerModes:
    def test_tool_mode_forces_the_function(self, server: OpenAIWireServer) -> None:
        """'tool' sends tools + a named tool_choice; the arguments become tool_input."""
        response = backend(server).complete(request())
        assert response.tool_input == {"items": [{"id": "0", "value": SECRET}]}
        assert response.stop_reason == "tool_use"
        assert response.model_id == MODEL
        assert response.latency_s > 0
        body = server.requests[-1].body
        assert body["model"] == MODEL
        assert body["tool_choice"] == {"type": "function", "function": {"name": TOOL.name}}
        assert body["tools"][0]["function"]["parameters"] == TOOL.input_schema
        assert body["messages"][0] == {"role": "system", "content": "Normalize."}
        assert body["max_tokens"] == 200
        assert "response_format" not in body
        headers = {k.lower(): v for k, v in server.requests[-1].headers.items()}
        assert headers["authorization"] == "Bearer sk-test-key"

    def test_forced_tool_with_finish_stop_is_tool_use(self, server: OpenAIWireServer) -> None:
        """OpenAI answers a forced named tool with finish_reason 'stop': still tool_use."""
        server.configure(tool_finish_reason="stop")
        response = backend(server).complete(request())
        assert response.stop_reason == "tool_use"
        assert response.tool_input is not None

    def test_json_schema_mode(self, server: OpenAIWireServer) -> None:
        """'json_schema' sends a response_format with the tool's schema; the answer is text."""
        response = backend(server, answer_mode="json_schema").complete(request())
        body = server.requests[-1].body
        assert "tools" not in body
        assert body["response_format"]["type"] == "json_schema"
        assert body["response_format"]["json_schema"]["schema"] == TOOL.input_schema
        assert response.tool_input is None
        assert json.loads(response.text) == {"items": [{"id": "0", "value": SECRET}]}
        assert response.stop_reason == "end_turn"

    def test_json_mode_ignores_the_tool(self, server: OpenAIWireServer) -> None:
        """'json' sends neither tools nor a response format: JSON in text."""
        response = backend(server, answer_mode="json").complete(request())
        body = server.requests[-1].body
        assert "tools" not in body
        assert "response_format" not in body
        assert json.loads(response.text)["items"][0]["value"] == SECRET
        assert response.stop_reason == "end_turn"

    def test_text_answer_in_tool_mode(self, server: OpenAIWireServer) -> None:
        """A model that answers text instead of calling the tool: text, no tool_input."""
        server.responder = lambda r: "no tool today"
        response = backend(server).complete(request())
        assert response.tool_input is None
        assert response.text == "no tool today"

    def test_unknown_answer_mode(self) -> None:
        with pytest.raises(ConfigurationError):
            OpenAIBackend(MODEL, base_url="http://x/v1", answer_mode="xml")  # type: ignore[arg-type]


class TestUsageAndStop:
    def test_usage_is_mapped(self, server: OpenAIWireServer) -> None:
        server.responder = lambda r: ModelResponse(
            tool_input={"items": []}, usage=Usage(input_tokens=123, output_tokens=45)
        )
        assert backend(server).complete(request()).usage == Usage(123, 45)

    def test_estimated_usage_is_positive(self, server: OpenAIWireServer) -> None:
        usage = backend(server).complete(request()).usage
        assert usage.input_tokens > 0
        assert usage.output_tokens > 0

    def test_length_is_a_truncation(self, server: OpenAIWireServer) -> None:
        """finish_reason 'length' -> max_tokens; cut tool arguments stay text, not parsed."""
        server.configure(truncate=True)
        response = backend(server).complete(request())
        assert response.stop_reason == "max_tokens"
        assert response.tool_input is None
        assert response.text  # the cut-off arguments, for the parser to see as truncated

    def test_truncation_is_split_not_repaired(self, server: OpenAIWireServer) -> None:
        """The pipeline's parser treats the truncated answer as a truncation."""
        from llm_normalize.parsing import ResponseParser, TruncatedResponseError

        server.configure(truncate=True)
        response = backend(server).complete(request())
        with pytest.raises(TruncatedResponseError):
            ResponseParser().parse(response, ["0"])


ERRORS = [
    (429, BackendThrottledError, True),
    (401, BackendAccessDeniedError, False),
    (403, BackendAccessDeniedError, False),
    (404, BackendAccessDeniedError, False),
    (400, BackendInvalidRequestError, False),
    (500, BackendUnavailableError, True),
    (503, BackendUnavailableError, True),
    (408, BackendTimeoutError, True),
]


class TestErrors:
    @pytest.mark.parametrize(("status", "cls", "retryable"), ERRORS)
    def test_status_mapping(
        self, server: OpenAIWireServer, status: int, cls: type[BackendError], retryable: bool
    ) -> None:
        """Each status maps to its error type, sent once (SDK retries off), no content leaked."""
        server.fail_next(ScriptedError(status, f"bad request echoing {SECRET}", retry_after=0))
        with pytest.raises(cls) as info:
            backend(server).complete(request())
        assert type(info.value) is cls
        assert info.value.retryable is retryable
        message = str(info.value)
        assert MODEL in message
        assert "127.0.0.1" in message
        assert f"HTTP {status}" in message
        assert SECRET not in message
        assert "sk-test-key" not in message
        assert len(server.requests) == 1

    def test_throttle_with_retry_after_is_not_retried_by_the_sdk(
        self, server: OpenAIWireServer
    ) -> None:
        server.fail_next(429)
        with pytest.raises(BackendThrottledError) as info:
            backend(server).complete(request())
        assert info.value.code == "rate_limit_exceeded"
        assert len(server.requests) == 1
        # The next call succeeds: our RetryPolicy, not the SDK, retries.
        assert backend(server).complete(request()).tool_input is not None

    def test_model_not_found_code(self, server: OpenAIWireServer) -> None:
        server.fail_next(404)
        with pytest.raises(BackendAccessDeniedError) as info:
            backend(server).complete(request())
        assert info.value.code == "model_not_found"

    def test_model_rejecting_tools_is_invalid_request(self, server: OpenAIWireServer) -> None:
        """A server that rejects tool use: a 400 (the run can switch to 'json')."""
        server.configure(reject_tools=True)
        with pytest.raises(BackendInvalidRequestError):
            backend(server).complete(request())
        assert backend(server, answer_mode="json").complete(request()).text

    def test_unreachable_server(self) -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        unreachable = OpenAIBackend(MODEL, base_url=f"http://127.0.0.1:{port}/v1", api_key="k")
        with pytest.raises(BackendUnavailableError) as info:
            unreachable.complete(request())
        assert info.value.retryable
        assert f"127.0.0.1:{port}" in str(info.value)

    def test_request_timeout_is_honoured(self, server: OpenAIWireServer) -> None:
        """request.timeout_s (the run's time left) bounds the call."""
        server.configure(delay_s=1.5)
        started = time.perf_counter()
        with pytest.raises(BackendTimeoutError) as info:
            backend(server).complete(request(timeout_s=0.3))
        assert time.perf_counter() - started < 1.2
        assert info.value.retryable

    def test_read_timeout(self, server: OpenAIWireServer) -> None:
        server.configure(delay_s=1.5)
        with pytest.raises(BackendTimeoutError):
            backend(server, read_timeout_s=0.3).complete(request())

    def test_non_object_tool_arguments(self, server: OpenAIWireServer) -> None:
        """Hostile answer: tool arguments that are valid JSON but no object."""
        from openai_server import _Reply

        def hostile(path: str, headers: object, raw: bytes) -> _Reply:
            payload = {
                "id": "x",
                "object": "chat.completion",
                "created": 0,
                "model": MODEL,
                "choices": [
                    {
                        "index": 0,
                        "finish_reason": "tool_calls",
                        "message": {
                            "role": "assistant",
                            "content": None,
                            "tool_calls": [
                                {
                                    "id": "c",
                                    "type": "function",
                                    "function": {"name": TOOL.name, "arguments": "[1, 2]"},
                                }
                            ],
                        },
                    }
                ],
            }
            return _Reply(200, json.dumps(payload).encode(), {"Content-Type": "application/json"})

        server._handle = hostile  # type: ignore[method-assign]
        with pytest.raises(ResponseParseError):
            backend(server).complete(request())


class TestConstruction:
    def test_with_model_id_keeps_client_and_mode(self, server: OpenAIWireServer) -> None:
        first = backend(server, answer_mode="json")
        other = first.with_model_id("qwen2.5:7b")
        assert other.client is first.client
        assert other.answer_mode == "json"
        other.complete(request())
        assert server.requests[-1].body["model"] == "qwen2.5:7b"
        with pytest.raises(ConfigurationError):
            first.with_model_id("")

    def test_sdk_retries_are_off(self, server: OpenAIWireServer) -> None:
        assert backend(server).client.max_retries == 0

    def test_no_key_for_openai_itself(self) -> None:
        with pytest.raises(ConfigurationError, match="OPENAI_API_KEY"):
            OpenAIBackend("gpt-4o-mini")

    def test_local_server_needs_no_key(self, server: OpenAIWireServer) -> None:
        local = OpenAIBackend(MODEL, base_url=server.base_url)
        assert local.complete(request()).tool_input is not None

    def test_client_and_base_url_conflict(self, server: OpenAIWireServer) -> None:
        client = backend(server).client
        with pytest.raises(ConfigurationError):
            OpenAIBackend(MODEL, client=client, base_url=server.base_url)

    def test_injected_client(self, server: OpenAIWireServer) -> None:
        injected = OpenAIBackend(MODEL, client=backend(server).client)
        assert injected.host == server.base_url.split("//")[1].split("/")[0]
        assert injected.complete(request()).tool_input is not None

    def test_factory(self, server: OpenAIWireServer) -> None:
        made = make_backend(
            "openai",
            model_id=MODEL,
            base_url=server.base_url,
            api_key="k",
            answer_mode="json_schema",
        )
        assert isinstance(made, OpenAIBackend)
        assert made.answer_mode == "json_schema"
        assert made.complete(request()).text

    def test_openai_is_imported_lazily(self) -> None:
        code = "import sys, llm_normalize, llm_normalize.backends; print('openai' in sys.modules)"
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        ).stdout
        assert out.strip() == "False"


class TestCli:
    @pytest.mark.parametrize("mode", ["tool", "json"])
    def test_normalize_end_to_end(
        self,
        server: OpenAIWireServer,
        tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch,
        mode: str,
    ) -> None:
        """--backend openai --base-url --model: exit 0 with the model's answers used."""
        from llm_normalize.cli import main

        monkeypatch.setenv("MY_KEY", "sk-from-env")
        out = tmp_path / "out.jsonl"
        code = main(
            [
                "normalize",
                str(EXAMPLES),
                "-o",
                str(out),
                "--backend",
                "openai",
                "--base-url",
                server.base_url,
                "--model",
                "m",
                "--api-key-env",
                "MY_KEY",
                "--answer-mode",
                mode,
                "--quiet",
            ]
        )
        assert code == 0
        assert server.requests, "the model was never called"
        assert all(r.body["model"] == "m" for r in server.requests)
        assert all(r.mode == mode for r in server.requests)
        headers = {k.lower(): v for k, v in server.requests[0].headers.items()}
        assert headers["authorization"] == "Bearer sk-from-env"
        sources = [
            source
            for line in out.read_text(encoding="utf-8").splitlines()
            for source in json.loads(line)["normalizationMeta"]["source"].values()
        ]
        assert len(sources) > 0
        assert any(source in ("llm", "cache") for source in sources)


class TestExample:
    def test_local_model_example_runs(self, server: OpenAIWireServer) -> None:
        """examples/local_model.py normalizes the sample through the server, the model used."""
        script = Path(__file__).resolve().parents[2] / "examples" / "local_model.py"
        done = subprocess.run(
            [sys.executable, str(script), "--base-url", server.base_url, "--model", MODEL],
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        leads = [json.loads(line) for line in done.stdout.splitlines()]
        assert len(leads) == 50
        assert all("normalizedData" in lead for lead in leads)
        assert server.requests  # the rules were unsure of some values: the model was asked
        assert "model" in done.stderr
        assert "est. cost $0.0000" in done.stderr  # a local model is free
