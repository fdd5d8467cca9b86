"""A local HTTP server speaking the AWS Bedrock Runtime wire format, for tests.

boto3 talks to it for real (``endpoint_url=server.endpoint_url``), so botocore's request
serialization, error parsing and retry logic all run, unlike with a ``Stubber`` or moto
(moto's Bedrock Runtime returns ``{}`` for InvokeModel and does not implement Converse).

It serves ``POST /model/{modelId}/invoke`` (the Anthropic Messages body and answer) and
``POST /model/{modelId}/converse`` (the Converse body and answer). Each request is decoded
back into a `ModelRequest` and answered by a responder with the `FakeBackend` signature,
``(ModelRequest) -> str | ModelResponse``; the default echoes every item's raw value, as
``FakeBackend.echo`` does. A ``str`` answer to a request with a tool becomes a ``tool_use``
block when it is a JSON object, else a text block.

Usage::

    with BedrockWireServer() as server:
        backend = BedrockBackend(endpoint_url=server.endpoint_url, region_name="us-east-1")
        server.fail_next(429)          # the next request gets a ThrottlingException
        server.truncate = True         # answers stop at max_tokens, cut in half
        server.requests[0].model_request.tool

Reusable by any test suite: ``from bedrock_server import BedrockWireServer``
(``tests`` is on pytest's ``pythonpath``); ``tests/backends/conftest.py`` has a
``bedrock_server`` fixture.
"""

from __future__ import annotations

import importlib
import json
import math
import re
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Literal
from urllib.parse import unquote

from llm_normalize.backends.base import Message, ModelRequest, ModelResponse, ToolSpec

__all__ = [
    "DEFAULT_ERROR_TYPES",
    "BedrockWireServer",
    "Responder",
    "ScriptedError",
    "WireRequest",
    "echo",
    "estimate_tokens",
]

Responder = Callable[[ModelRequest], str | ModelResponse]
"""Answers a request, like a `FakeBackend` responder."""

DEFAULT_ERROR_TYPES: Mapping[int, str] = {
    400: "ValidationException",
    403: "AccessDeniedException",
    404: "ResourceNotFoundException",
    408: "ModelTimeoutException",
    424: "ModelErrorException",
    429: "ThrottlingException",
    500: "InternalServerException",
    503: "ServiceUnavailableException",
}
"""The Bedrock error type the server sends for a scripted status, as the real service does."""

_PATH = re.compile(r"^/model/(?P<model>[^/]+)/(?P<op>invoke|converse)$")
_RECORDS = re.compile(r"<records>\s*(?P<json>.*?)\s*</records>", re.S)


@dataclass(frozen=True)
class ScriptedError:
    """An error the server returns instead of an answer.

    Attributes:
        status: The HTTP status.
        error_type: The ``x-amzn-ErrorType`` header (default: by status, see
            `DEFAULT_ERROR_TYPES`); `None` sends no header (botocore then sees a generic error).
        message: The JSON body's ``message``.
    """

    status: int
    error_type: str | None = ""
    message: str = "scripted error from the test server"


@dataclass(frozen=True)
class WireRequest:
    """One request the server received.

    Attributes:
        api: ``"invoke"`` or ``"converse"``.
        model_id: The model id from the path, URL-decoded.
        path: The raw request path.
        body: The decoded JSON body.
        headers: The request headers.
        model_request: The body decoded back into a `ModelRequest`.
    """

    api: Literal["invoke", "converse"]
    model_id: str
    path: str
    body: Mapping[str, Any]
    headers: Mapping[str, str]
    model_request: ModelRequest


@dataclass
class _State:
    lock: threading.Lock = field(default_factory=threading.Lock)
    requests: list[WireRequest] = field(default_factory=list)
    errors: deque[ScriptedError] = field(default_factory=deque)
    responder_errors: list[Exception] = field(default_factory=list)
    truncate: bool = False
    delay_s: float = 0.0


def estimate_tokens(text: str) -> int:
    """A rough token count (about 3.3 characters per token), at least 1 for any text."""
    return max(1, math.ceil(len(text) / 3.3)) if text else 0


def echo(request: ModelRequest) -> str:
    """Answer with every item's raw value unchanged: ``{"items": [{"id", "value"}]}``.

    Uses ``llm_normalize.prompt.extract_items`` when it exists; otherwise reads the
    ``<records>`` JSON block of the last user message itself.
    """
    items = _extract_items(request)
    return json.dumps({"items": items}, ensure_ascii=False)


def _extract_items(request: ModelRequest) -> list[dict[str, str]]:
    try:
        prompt = importlib.import_module("llm_normalize.prompt")
    except ImportError:
        prompt = None
    extract_items = getattr(prompt, "extract_items", None)
    if extract_items is not None:
        return [{"id": item.id, "value": item.value} for item in extract_items(request)]
    for message in reversed(request.messages):
        if message.role != "user":
            continue
        match = _RECORDS.search(message.content)
        if match is None:
            continue
        decoded = json.loads(match.group("json"))
        return [
            {"id": str(item["id"]), "value": str(item["value"])}
            for item in decoded.get("items", [])
        ]
    return []


class BedrockWireServer:
    """A threaded local Bedrock Runtime endpoint; use it as a context manager.

    Args:
        responder: Answers each request; default `echo`. Also settable later.
        host: The interface to listen on.
        port: The port; 0 picks a free one.
    """

    def __init__(
        self, responder: Responder | None = None, *, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self.responder: Responder = responder if responder is not None else echo
        self._state = _State()
        self._httpd = _Server((host, port), _Handler)
        self._httpd.owner = self
        self._thread: threading.Thread | None = None

    # -- lifecycle --------------------------------------------------------------------

    def start(self) -> BedrockWireServer:
        """Start serving in a daemon thread."""
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._httpd.serve_forever,
                kwargs={"poll_interval": 0.05},
                name="bedrock-wire-server",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join()
            self._thread = None
        self._httpd.server_close()

    def __enter__(self) -> BedrockWireServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- inspection and scripting -----------------------------------------------------

    @property
    def endpoint_url(self) -> str:
        """The ``endpoint_url`` to give boto3, e.g. ``http://127.0.0.1:54321``."""
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def requests(self) -> list[WireRequest]:
        """A copy of the requests received so far, in arrival order."""
        with self._state.lock:
            return list(self._state.requests)

    @property
    def responder_errors(self) -> list[Exception]:
        """Exceptions the responder raised (each was answered with HTTP 500)."""
        with self._state.lock:
            return list(self._state.responder_errors)

    @property
    def truncate(self) -> bool:
        """When true, answers stop at ``max_tokens``: text cut in half, half the items."""
        return self._state.truncate

    @truncate.setter
    def truncate(self, value: bool) -> None:
        with self._state.lock:
            self._state.truncate = value

    @property
    def delay_s(self) -> float:
        """Seconds to wait before answering (to provoke client read timeouts)."""
        return self._state.delay_s

    @delay_s.setter
    def delay_s(self, value: float) -> None:
        with self._state.lock:
            self._state.delay_s = value

    def fail_next(self, *errors: int | ScriptedError) -> None:
        """Queue errors: each of the next requests gets one, in order, then answers resume.

        An ``int`` is an HTTP status with its usual Bedrock error type (429 ->
        ThrottlingException, 408 -> ModelTimeoutException, 503 -> ServiceUnavailableException,
        400 -> ValidationException, 403 -> AccessDeniedException, ...).
        """
        with self._state.lock:
            for error in errors:
                self._state.errors.append(
                    error if isinstance(error, ScriptedError) else ScriptedError(error)
                )

    def reset(self) -> None:
        """Forget requests, scripted errors, truncation and delay; keep the responder."""
        with self._state.lock:
            self._state.requests.clear()
            self._state.errors.clear()
            self._state.responder_errors.clear()
            self._state.truncate = False
            self._state.delay_s = 0.0

    # -- request handling (called from handler threads) -------------------------------

    def _handle(self, path: str, headers: Mapping[str, str], raw: bytes) -> _Reply:
        match = _PATH.match(path.split("?", 1)[0])
        if match is None:
            return _error_reply(ScriptedError(404, "UnknownOperationException", "no such route"))
        api: Literal["invoke", "converse"] = (
            "invoke" if match.group("op") == "invoke" else "converse"
        )
        model_id = unquote(match.group("model"))
        try:
            body = json.loads(raw)
            if not isinstance(body, dict):
                raise ValueError("body is not a JSON object")
            model_request = _invoke_request(body) if api == "invoke" else _converse_request(body)
        except (ValueError, KeyError, TypeError) as exc:
            return _error_reply(
                ScriptedError(400, "ValidationException", f"Malformed input: {exc}")
            )
        with self._state.lock:
            self._state.requests.append(
                WireRequest(api, model_id, path, body, dict(headers), model_request)
            )
            error = self._state.errors.popleft() if self._state.errors else None
            truncate = self._state.truncate
            delay_s = self._state.delay_s
        if delay_s:
            time.sleep(delay_s)
        if error is not None:
            return _error_reply(error)
        try:
            answer = self.responder(model_request)
        except Exception as exc:
            # Surface it to the test (.responder_errors) and to the client, as a 500.
            with self._state.lock:
                self._state.responder_errors.append(exc)
            return _error_reply(
                ScriptedError(500, "InternalServerException", f"responder raised {exc!r}")
            )
        response = _to_response(answer, model_request, model_id)
        if truncate:
            response = _truncated(response)
        if api == "invoke":
            return _invoke_reply(response, model_request)
        return _converse_reply(response, model_request)


# -- decoding requests ---------------------------------------------------------------------


def _text_of(content: object) -> str:
    """Anthropic content: a string, or a list of blocks of which the text ones count."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            str(block.get("text", ""))
            for block in content
            if isinstance(block, dict) and block.get("type", "text") == "text"
        )
    raise TypeError("content is neither a string nor a list of blocks")


def _invoke_request(body: Mapping[str, Any]) -> ModelRequest:
    if body.get("anthropic_version") != "bedrock-2023-05-31":
        raise ValueError("anthropic_version must be bedrock-2023-05-31")
    if not isinstance(body.get("max_tokens"), int):
        raise ValueError("max_tokens is required")
    messages = body["messages"]
    if not isinstance(messages, list) or not messages:
        raise ValueError("messages must be a non-empty list")
    tool = None
    if body.get("tools"):
        spec = body["tools"][0]
        tool = ToolSpec(spec["name"], spec.get("description", ""), spec["input_schema"])
    return ModelRequest(
        system=_text_of(body.get("system", "")),
        messages=tuple(Message(m["role"], _text_of(m["content"])) for m in messages),
        tool=tool,
        max_tokens=body["max_tokens"],
        temperature=float(body.get("temperature", 1.0)),
    )


def _converse_request(body: Mapping[str, Any]) -> ModelRequest:
    messages = body["messages"]
    if not isinstance(messages, list) or not messages:
        raise ValueError("messages must be a non-empty list")
    config = body.get("inferenceConfig", {})
    tool = None
    tools = body.get("toolConfig", {}).get("tools")
    if tools:
        spec = tools[0]["toolSpec"]
        tool = ToolSpec(spec["name"], spec.get("description", ""), spec["inputSchema"]["json"])
    return ModelRequest(
        system="".join(block.get("text", "") for block in body.get("system", [])),
        messages=tuple(
            Message(m["role"], "".join(block.get("text", "") for block in m["content"]))
            for m in messages
        ),
        tool=tool,
        max_tokens=int(config.get("maxTokens", 1000)),
        temperature=float(config.get("temperature", 1.0)),
    )


# -- encoding answers -------------------------------------------------------------------


@dataclass(frozen=True)
class _Reply:
    status: int
    body: bytes
    headers: Mapping[str, str]


def _to_response(
    answer: str | ModelResponse, request: ModelRequest, model_id: str
) -> ModelResponse:
    if isinstance(answer, ModelResponse):
        return answer
    if request.tool is not None:
        try:
            decoded = json.loads(answer)
        except ValueError:
            decoded = None
        if isinstance(decoded, dict):
            return ModelResponse(tool_input=decoded, stop_reason="tool_use", model_id=model_id)
    return ModelResponse(text=answer, stop_reason="end_turn", model_id=model_id)


def _truncated(response: ModelResponse) -> ModelResponse:
    tool_input = response.tool_input
    if tool_input is not None and isinstance(tool_input.get("items"), list):
        items = tool_input["items"]
        tool_input = {**tool_input, "items": items[: len(items) // 2]}
    return ModelResponse(
        text=response.text[: len(response.text) // 2],
        tool_input=tool_input,
        stop_reason="max_tokens",
        usage=response.usage,
        model_id=response.model_id,
    )


def _usage(response: ModelResponse, request: ModelRequest) -> tuple[int, int]:
    if response.usage.total_tokens:
        return response.usage.input_tokens, response.usage.output_tokens
    prompt = request.system + "".join(m.content for m in request.messages)
    if request.tool is not None:
        prompt += json.dumps(dict(request.tool.input_schema), ensure_ascii=False)
    answer = response.text
    if response.tool_input is not None:
        answer += json.dumps(dict(response.tool_input), ensure_ascii=False)
    return estimate_tokens(prompt), estimate_tokens(answer)


def _json_reply(payload: object, headers: Mapping[str, str] | None = None) -> _Reply:
    return _Reply(
        200,
        # ASCII-escaped: a lone surrogate in an echoed value must not break the encoding.
        json.dumps(payload).encode("utf-8"),
        {"Content-Type": "application/json", **(headers or {})},
    )


def _invoke_reply(response: ModelResponse, request: ModelRequest) -> _Reply:
    input_tokens, output_tokens = _usage(response, request)
    content: list[dict[str, Any]] = []
    if response.text:
        content.append({"type": "text", "text": response.text})
    if response.tool_input is not None:
        content.append(
            {
                "type": "tool_use",
                "id": f"toolu_{uuid.uuid4().hex[:24]}",
                "name": request.tool.name if request.tool is not None else "tool",
                "input": dict(response.tool_input),
            }
        )
    payload = {
        "id": f"msg_bdrk_{uuid.uuid4().hex[:24]}",
        "type": "message",
        "role": "assistant",
        "model": "claude-3-haiku-20240307",
        "content": content,
        "stop_reason": response.stop_reason,
        "stop_sequence": None,
        "usage": {"input_tokens": input_tokens, "output_tokens": output_tokens},
    }
    return _json_reply(
        payload,
        {
            "X-Amzn-Bedrock-Input-Token-Count": str(input_tokens),
            "X-Amzn-Bedrock-Output-Token-Count": str(output_tokens),
            "X-Amzn-Bedrock-Invocation-Latency": "1",
        },
    )


def _converse_reply(response: ModelResponse, request: ModelRequest) -> _Reply:
    input_tokens, output_tokens = _usage(response, request)
    content: list[dict[str, Any]] = []
    if response.text:
        content.append({"text": response.text})
    if response.tool_input is not None:
        content.append(
            {
                "toolUse": {
                    "toolUseId": f"tooluse_{uuid.uuid4().hex[:22]}",
                    "name": request.tool.name if request.tool is not None else "tool",
                    "input": dict(response.tool_input),
                }
            }
        )
    payload = {
        "output": {"message": {"role": "assistant", "content": content}},
        "stopReason": response.stop_reason or "end_turn",
        "usage": {
            "inputTokens": input_tokens,
            "outputTokens": output_tokens,
            "totalTokens": input_tokens + output_tokens,
        },
        "metrics": {"latencyMs": 1},
    }
    return _json_reply(payload)


def _error_reply(error: ScriptedError) -> _Reply:
    error_type = (
        DEFAULT_ERROR_TYPES.get(error.status, "InternalServerException")
        if error.error_type == ""
        else error.error_type
    )
    headers = {"Content-Type": "application/json"}
    if error_type is not None:
        # The real service appends the type's namespace; botocore strips it.
        headers["x-amzn-ErrorType"] = (
            f"{error_type}:http://internal.amazon.com/coral/com.amazon.bedrock/"
        )
    body = json.dumps({"message": error.message}).encode("utf-8")
    return _Reply(error.status, body, headers)


# -- HTTP plumbing ----------------------------------------------------------------------


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    owner: BedrockWireServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up (read timeout) closes its socket while we answer: expected.
        pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes: without TCP_NODELAY, Nagle's algorithm
    # and the client's delayed ACK add ~40 ms to every answer.
    disable_nagle_algorithm = True
    server: _Server

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        reply = self.server.owner._handle(self.path, dict(self.headers.items()), raw)
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        self.wfile.write(reply.body)

    def do_GET(self) -> None:
        reply = _error_reply(ScriptedError(404, "UnknownOperationException", "no such route"))
        self.send_response(reply.status)
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        self.wfile.write(reply.body)

    def log_message(self, format: str, *args: Any) -> None:
        # Quiet: pytest output stays readable.
        pass
