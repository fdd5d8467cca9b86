"""A local HTTP server speaking the OpenAI chat-completions wire format, for tests.

The official ``openai`` SDK talks to it for real (``base_url=server.base_url``), so the SDK's
request building, response parsing and error classes all run.

It serves ``POST /v1/chat/completions``. Each body is decoded back into a `ModelRequest`
(``tools[0]`` or a ``json_schema`` response format becomes its `ToolSpec`) and answered by
a responder with the `FakeBackend` signature, ``(ModelRequest) -> str | ModelResponse``; the
default echoes every item's raw value (`bedrock_server.echo`). A ``str`` answer to a request
with ``tools`` becomes a tool call when it is a JSON object, else message content.

Usage::

    with OpenAIWireServer() as server:
        backend = OpenAIBackend("m", base_url=server.base_url, api_key="k")
        server.fail_next(429)           # the next request gets a 429 with retry-after
        server.truncate = True          # finish_reason "length", the answer cut in half
        server.reject_tools = True      # a 400 for any request with tools / response_format
        server.requests[0].body
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Literal

from bedrock_server import echo, estimate_tokens
from llm_normalize.backends.base import Message, ModelRequest, ModelResponse, ToolSpec

__all__ = ["OpenAIWireServer", "Responder", "ScriptedError", "WireRequest"]

Responder = Callable[[ModelRequest], str | ModelResponse]

_ERROR_TYPES: Mapping[int, tuple[str, str | None]] = {
    400: ("invalid_request_error", None),
    401: ("invalid_request_error", "invalid_api_key"),
    403: ("insufficient_quota", None),
    404: ("invalid_request_error", "model_not_found"),
    408: ("timeout", None),
    429: ("rate_limit_exceeded", "rate_limit_exceeded"),
    500: ("server_error", None),
    503: ("server_error", None),
}


@dataclass(frozen=True)
class ScriptedError:
    """An error the server returns instead of an answer (``retry_after`` in seconds)."""

    status: int
    message: str = "scripted error from the test server"
    retry_after: float | None = None


@dataclass(frozen=True)
class WireRequest:
    """One request the server received, raw and decoded."""

    path: str
    body: Mapping[str, Any]
    headers: Mapping[str, str]
    model_request: ModelRequest
    mode: Literal["tool", "json_schema", "json"]


@dataclass
class _State:
    lock: threading.Lock = field(default_factory=threading.Lock)
    requests: list[WireRequest] = field(default_factory=list)
    errors: deque[ScriptedError] = field(default_factory=deque)
    responder_errors: list[Exception] = field(default_factory=list)
    truncate: bool = False
    reject_tools: bool = False
    delay_s: float = 0.0
    tool_finish_reason: str = "tool_calls"


class OpenAIWireServer:
    """A threaded local chat-completions endpoint; use it as a context manager."""

    def __init__(
        self, responder: Responder | None = None, *, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self.responder: Responder = responder if responder is not None else echo
        self._state = _State()
        self._httpd = _Server((host, port), _Handler)
        self._httpd.owner = self
        self._thread: threading.Thread | None = None

    def start(self) -> OpenAIWireServer:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._httpd.serve_forever,
                kwargs={"poll_interval": 0.05},
                name="openai-wire-server",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join()
            self._thread = None
        self._httpd.server_close()

    def __enter__(self) -> OpenAIWireServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        """The ``base_url`` to give the SDK, e.g. ``http://127.0.0.1:54321/v1``."""
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    @property
    def requests(self) -> list[WireRequest]:
        with self._state.lock:
            return list(self._state.requests)

    @property
    def responder_errors(self) -> list[Exception]:
        with self._state.lock:
            return list(self._state.responder_errors)

    def configure(
        self,
        *,
        truncate: bool | None = None,
        reject_tools: bool | None = None,
        delay_s: float | None = None,
        tool_finish_reason: str | None = None,
    ) -> None:
        """Set the answering modes: truncation, rejecting tools, a delay, the tool finish."""
        with self._state.lock:
            if truncate is not None:
                self._state.truncate = truncate
            if reject_tools is not None:
                self._state.reject_tools = reject_tools
            if delay_s is not None:
                self._state.delay_s = delay_s
            if tool_finish_reason is not None:
                self._state.tool_finish_reason = tool_finish_reason

    def fail_next(self, *errors: int | ScriptedError) -> None:
        """Queue errors: each of the next requests gets one, in order (429 has retry-after 1)."""
        with self._state.lock:
            for error in errors:
                if isinstance(error, int):
                    error = ScriptedError(error, retry_after=1 if error == 429 else None)
                self._state.errors.append(error)

    # -- request handling ---------------------------------------------------------------

    def _handle(self, path: str, headers: Mapping[str, str], raw: bytes) -> _Reply:
        if path.split("?", 1)[0] != "/v1/chat/completions":
            return _error_reply(ScriptedError(404, "no such route"))
        try:
            body = json.loads(raw)
            if not isinstance(body, dict):
                raise ValueError("body is not a JSON object")
            model_request, mode = _decode(body)
        except (ValueError, KeyError, TypeError) as exc:
            return _error_reply(ScriptedError(400, f"malformed input: {exc}"))
        with self._state.lock:
            self._state.requests.append(WireRequest(path, body, dict(headers), model_request, mode))
            error = self._state.errors.popleft() if self._state.errors else None
            truncate = self._state.truncate
            reject_tools = self._state.reject_tools
            delay_s = self._state.delay_s
            tool_finish = self._state.tool_finish_reason
        if delay_s:
            time.sleep(delay_s)
        if error is not None:
            return _error_reply(error)
        if reject_tools and mode != "json":
            return _error_reply(ScriptedError(400, f"this model does not support {mode}"))
        try:
            answer = self.responder(model_request)
        except Exception as exc:
            with self._state.lock:
                self._state.responder_errors.append(exc)
            return _error_reply(ScriptedError(500, f"responder raised {exc!r}"))
        return _reply(answer, model_request, body, mode, truncate, tool_finish)


def _decode(body: Mapping[str, Any]) -> tuple[ModelRequest, Literal["tool", "json_schema", "json"]]:
    if not isinstance(body.get("model"), str) or not body["model"]:
        raise ValueError("model is required")
    messages = body["messages"]
    if not isinstance(messages, list) or not messages:
        raise ValueError("messages must be a non-empty list")
    system = "".join(str(m["content"]) for m in messages if m["role"] == "system")
    turns = tuple(Message(m["role"], str(m["content"])) for m in messages if m["role"] != "system")
    tool = None
    mode: Literal["tool", "json_schema", "json"] = "json"
    if body.get("tools"):
        function = body["tools"][0]["function"]
        tool = ToolSpec(function["name"], function.get("description", ""), function["parameters"])
        choice = body.get("tool_choice")
        if not isinstance(choice, dict) or choice["function"]["name"] != function["name"]:
            raise ValueError("tool_choice must name the tool")
        mode = "tool"
    elif isinstance(body.get("response_format"), dict):
        fmt = body["response_format"]
        if fmt.get("type") == "json_schema":
            schema = fmt["json_schema"]
            tool = ToolSpec(schema["name"], schema.get("description", ""), schema["schema"])
            mode = "json_schema"
    return (
        ModelRequest(
            system=system,
            messages=turns,
            tool=tool,
            max_tokens=int(body.get("max_tokens") or body.get("max_completion_tokens") or 1000),
            temperature=float(body.get("temperature", 1.0)),
        ),
        mode,
    )


@dataclass(frozen=True)
class _Reply:
    status: int
    body: bytes
    headers: Mapping[str, str]


def _reply(
    answer: str | ModelResponse,
    request: ModelRequest,
    body: Mapping[str, Any],
    mode: str,
    truncate: bool,
    tool_finish: str,
) -> _Reply:
    if isinstance(answer, ModelResponse):
        text = answer.text
        arguments = json.dumps(dict(answer.tool_input)) if answer.tool_input is not None else None
        usage = answer.usage
    else:
        text, arguments, usage = answer, None, None
        if mode == "tool":
            try:
                decoded = json.loads(answer)
            except ValueError:
                decoded = None
            if isinstance(decoded, dict):
                text, arguments = "", answer
    finish = tool_finish if arguments is not None else "stop"
    if truncate:
        text = text[: len(text) // 2]
        arguments = arguments[: len(arguments) // 2] if arguments is not None else None
        finish = "length"
    message: dict[str, Any] = {"role": "assistant", "content": text or None}
    if arguments is not None:
        assert request.tool is not None
        message["tool_calls"] = [
            {
                "id": f"call_{uuid.uuid4().hex[:24]}",
                "type": "function",
                "function": {"name": request.tool.name, "arguments": arguments},
            }
        ]
    if usage is not None and usage.total_tokens:
        prompt_tokens, completion_tokens = usage.input_tokens, usage.output_tokens
    else:
        prompt = request.system + "".join(m.content for m in request.messages)
        prompt_tokens = estimate_tokens(prompt)
        completion_tokens = estimate_tokens(text + (arguments or ""))
    payload = {
        "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body["model"],
        "choices": [{"index": 0, "message": message, "finish_reason": finish, "logprobs": None}],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }
    return _Reply(200, json.dumps(payload).encode("utf-8"), {"Content-Type": "application/json"})


def _error_reply(error: ScriptedError) -> _Reply:
    error_type, code = _ERROR_TYPES.get(error.status, ("server_error", None))
    body = {"error": {"message": error.message, "type": error_type, "param": None, "code": code}}
    headers = {"Content-Type": "application/json"}
    if error.retry_after is not None:
        headers["retry-after"] = f"{error.retry_after:g}"
    return _Reply(error.status, json.dumps(body).encode("utf-8"), headers)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    owner: OpenAIWireServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: _Server

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        reply = self.server.owner._handle(self.path, dict(self.headers.items()), raw)
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.send_header("x-request-id", f"req_{uuid.uuid4().hex[:16]}")
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        self.wfile.write(reply.body)

    def log_message(self, format: str, *args: Any) -> None:
        pass
