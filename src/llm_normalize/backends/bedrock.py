"""`BedrockBackend`: one model call on AWS Bedrock Runtime, through boto3.

Two APIs reach the same models:

- ``api="invoke"`` (the default, the seed's call) sends InvokeModel with the Anthropic
  Messages body (``anthropic_version: "bedrock-2023-05-31"``), so it works with the
  Anthropic models (Claude 3 Haiku by default).
- ``api="converse"`` sends Converse, Bedrock's model-independent format, so any Bedrock
  model that supports it works.

Structured output is a forced tool call (``tool_choice`` / ``toolChoice.tool``) when the
request carries a `ToolSpec`; otherwise the model answers in text.

The backend makes exactly one HTTP request per `BedrockBackend.complete` call: the botocore
client it builds has ``retries={"total_max_attempts": 1}``, because retries belong to
`llm_normalize.backends.retry.RetryingBackend` (tenacity), and two retry layers would
multiply (4 tenacity attempts x 3 botocore attempts = 12 requests for one call).
An injected client keeps whatever retry configuration its owner gave it.

Region, endpoint and credentials are boto3's business: the usual environment variables,
config files and roles apply, including ``AWS_ENDPOINT_URL_BEDROCK_RUNTIME``.
boto3 is imported when a backend is created, never when this module is imported.

Errors are translated at this boundary into the `llm_normalize.exceptions.BackendError`
subclasses (``raise ... from exc``).
Their messages carry the error code, the model id and the HTTP status, never the service's
own message, which may echo the request (field values are personal data).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import threading
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal, NoReturn, cast, get_args

from llm_normalize._aws import SETUP_ERROR_CODES, no_region_message
from llm_normalize.backends._wire import json_default, json_document, token_count
from llm_normalize.backends.base import ModelRequest, ModelResponse, StopReason, Usage
from llm_normalize.config import DEFAULT_MODEL_ID
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
    from mypy_boto3_bedrock_runtime import BedrockRuntimeClient
    from mypy_boto3_bedrock_runtime.type_defs import (
        ConverseRequestTypeDef,
        ConverseResponseTypeDef,
    )

__all__ = [
    "ANTHROPIC_VERSION",
    "DEFAULT_MODEL_ID",
    "BedrockApi",
    "BedrockBackend",
]

logger = logging.getLogger(__name__)

ANTHROPIC_VERSION = "bedrock-2023-05-31"
"""The ``anthropic_version`` Bedrock expects in an InvokeModel body for Anthropic models."""

BedrockApi = Literal["invoke", "converse"]
"""Which Bedrock Runtime operation `BedrockBackend` calls."""

_STOP_REASONS: frozenset[str] = frozenset(get_args(StopReason))

_THROTTLED_CODES = frozenset({"ThrottlingException", "TooManyRequestsException"})
_TIMEOUT_CODES = frozenset({"ModelTimeoutException"})
_UNAVAILABLE_CODES = frozenset(
    {
        "InternalFailure",
        "InternalServerException",
        "ModelNotReadyException",
        "ServiceUnavailable",
        "ServiceUnavailableException",
    }
)
_INVALID_CODES = frozenset({"ValidationException"})
_DENIED_CODES = SETUP_ERROR_CODES


class BedrockBackend:
    """Call a model on AWS Bedrock Runtime: one request, one HTTP call, one answer.

    Thread-safe: boto3 clients are, and the backend holds no other mutable state.

    Args:
        model_id: The Bedrock model id, a cross-region inference profile id or an ARN
            (foundation model, inference profile, application inference profile), e.g.
            ``"anthropic.claude-3-haiku-20240307-v1:0"``,
            ``"us.anthropic.claude-3-5-haiku-20241022-v1:0"`` or
            ``"arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic..."``.
        client: A ready ``bedrock-runtime`` client to use as is (its own retry and timeout
            configuration included). When `None`, one is built from a new boto3 session with
            botocore retries off and the timeouts below.
        api: ``"invoke"`` for InvokeModel with the Anthropic Messages body (Anthropic models
            only), ``"converse"`` for Converse (any model that supports it).
        region_name: The AWS region of the built client (default: boto3's own resolution:
            ``AWS_DEFAULT_REGION``, then the profile's ``region``; boto3 does not read
            ``AWS_REGION``). Not allowed with `client`.
        endpoint_url: A custom endpoint of the built client (a VPC endpoint, a local test
            server). Not allowed with `client`; ``AWS_ENDPOINT_URL_BEDROCK_RUNTIME`` also works.
        read_timeout_s: Seconds to wait for the answer before a `BackendTimeoutError`.
        connect_timeout_s: Seconds to wait for the connection before a `BackendTimeoutError`.

    Raises:
        ConfigurationError: For an unknown `api`, an empty `model_id` (or one with whitespace,
            or an ``arn:`` that is not a Bedrock ARN), a `client` together
            with `region_name` / `endpoint_url`, non-positive timeouts, or no AWS region.

    Examples:
        >>> backend = BedrockBackend(region_name="us-east-1")  # doctest: +SKIP
        >>> backend.complete(request).tool_input  # doctest: +SKIP
        {'items': [{'id': '0', 'value': 'Bogotá D.C.'}]}
    """

    def __init__(
        self,
        model_id: str = DEFAULT_MODEL_ID,
        *,
        client: BedrockRuntimeClient | None = None,
        api: BedrockApi = "invoke",
        region_name: str | None = None,
        endpoint_url: str | None = None,
        read_timeout_s: float = 60,
        connect_timeout_s: float = 5,
    ) -> None:
        _check_settings(model_id, api, read_timeout_s, connect_timeout_s)
        if client is not None and (region_name is not None or endpoint_url is not None):
            raise ConfigurationError(
                "pass either client or region_name/endpoint_url, not both: "
                "an injected client keeps its own region and endpoint"
            )
        self._model_id = model_id
        self._api: BedrockApi = api
        if client is None:
            import boto3.session  # boto3 costs ~200 ms: only when used

            maker = _ClientMaker(
                boto3.session.Session(),
                region_name=region_name,
                endpoint_url=endpoint_url,
                connect_timeout_s=connect_timeout_s,
            )
            client = maker.client(read_timeout_s)
            self._maker: _ClientMaker | None = maker
        else:
            self._maker = None
        self._client = client
        self._read_timeout_s = read_timeout_s

    @classmethod
    def from_session(
        cls,
        session: Session,
        model_id: str = DEFAULT_MODEL_ID,
        *,
        api: BedrockApi = "invoke",
        region_name: str | None = None,
        endpoint_url: str | None = None,
        read_timeout_s: float = 60,
        connect_timeout_s: float = 5,
    ) -> BedrockBackend:
        """Build the backend on a client made from `session` (its credentials, profile, region).

        The client is built like the default one: botocore retries off, the given timeouts.
        Create the backend once and share it between threads: boto3 sessions are not
        thread-safe, the client they make is.

        Examples:
            >>> import boto3
            >>> BedrockBackend.from_session(boto3.Session(profile_name="etl"))  # doctest: +SKIP
        """
        _check_settings(model_id, api, read_timeout_s, connect_timeout_s)
        maker = _ClientMaker(
            session,
            region_name=region_name,
            endpoint_url=endpoint_url,
            connect_timeout_s=connect_timeout_s,
        )
        backend = cls(model_id, client=maker.client(read_timeout_s), api=api)
        backend._maker = maker
        backend._read_timeout_s = read_timeout_s
        return backend

    @property
    def model_id(self) -> str:
        """The Bedrock model id this backend calls."""
        return self._model_id

    @property
    def api(self) -> BedrockApi:
        """The Bedrock Runtime operation used: ``"invoke"`` or ``"converse"``."""
        return self._api

    @property
    def client(self) -> BedrockRuntimeClient:
        """The boto3 ``bedrock-runtime`` client (e.g. to attach a botocore ``Stubber``)."""
        return self._client

    def __repr__(self) -> str:
        return f"BedrockBackend(model_id={self._model_id!r}, api={self._api!r})"

    def with_model_id(self, model_id: str) -> BedrockBackend:
        """A backend like this one (same client, same API) calling `model_id`.

        The scheduled job uses it when the stored config item names another `modelId`.

        Raises:
            ConfigurationError: An empty `model_id`.
        """
        other = type(self)(model_id, client=self._client, api=self._api)
        other._maker = self._maker
        other._read_timeout_s = self._read_timeout_s
        return other

    def complete(self, request: ModelRequest) -> ModelResponse:
        """Send `request` to the model with one HTTP call and return its answer.

        Raises:
            BackendThrottledError: Throttled (HTTP 429); retryable.
            BackendTimeoutError: Model timeout (HTTP 408) or connect / read timeout; retryable.
            BackendUnavailableError: HTTP 5xx, model not ready, endpoint unreachable; retryable.
            BackendInvalidRequestError: Rejected as malformed (HTTP 400); not retryable.
            BackendAccessDeniedError: No permission, unknown model, no or bad credentials;
                not retryable.
            BackendError: Any other failure of the call; not retryable.
            ResponseParseError: The service's answer is not the expected envelope (e.g.
                ``api="invoke"`` with a non-Anthropic model).
        """
        operation = "InvokeModel" if self._api == "invoke" else "Converse"
        started = time.perf_counter()
        try:
            call = self._invoke if self._api == "invoke" else self._converse
            response = call(request)
        except (BackendError, ResponseParseError):
            raise
        except Exception as exc:
            region = getattr(getattr(self._client, "meta", None), "region_name", None)
            where = f"{self._model_id} in {region}" if region else self._model_id
            _raise_translated(exc, operation, where)
        latency_s = time.perf_counter() - started
        response = dataclasses.replace(response, latency_s=latency_s)
        logger.debug(
            "bedrock %s model=%s latency_s=%.3f input_tokens=%d output_tokens=%d stop=%s",
            operation,
            self._model_id,
            latency_s,
            response.usage.input_tokens,
            response.usage.output_tokens,
            response.stop_reason,
        )
        return response

    def _client_for(self, request: ModelRequest) -> BedrockRuntimeClient:
        """The client whose read timeout fits the request's `timeout_s` (the run's time left).

        botocore sets timeouts per client, so a backend that built its own client keeps one
        per whole second of shorter timeout. An injected client keeps its own timeouts: the
        model pass then stops waiting for the call at the deadline instead.
        """
        timeout = request.timeout_s
        if timeout is None or self._maker is None or timeout >= self._read_timeout_s:
            return self._client
        return self._maker.client(max(1, math.ceil(timeout)))

    # -- InvokeModel ------------------------------------------------------------------

    def _invoke(self, request: ModelRequest) -> ModelResponse:
        body = _invoke_body(request)
        result = self._client_for(request).invoke_model(
            modelId=self._model_id,
            # ASCII-escaped JSON: a lone surrogate in the text cannot break the encoding.
            body=json.dumps(body, default=json_default).encode("ascii"),
            contentType="application/json",
            accept="application/json",
        )
        raw = result["body"].read()
        try:
            decoded = json.loads(raw)
        except ValueError:
            decoded = None
        return self._parse_invoke(decoded, request)

    def _parse_invoke(self, decoded: object, request: ModelRequest) -> ModelResponse:
        return _invoke_response(decoded, request, self._model_id)

    # -- Converse ---------------------------------------------------------------------

    def _converse(self, request: ModelRequest) -> ModelResponse:
        result = self._client_for(request).converse(**_converse_params(self._model_id, request))
        return self._parse_converse(result, request)

    def _parse_converse(
        self, result: ConverseResponseTypeDef, request: ModelRequest
    ) -> ModelResponse:
        message = result.get("output", {}).get("message")
        if message is None:
            raise ResponseParseError(
                f"Converse answer of model {self._model_id} has no output message"
            )
        texts: list[str] = []
        tool_input: Mapping[str, Any] | None = None
        wanted = request.tool.name if request.tool is not None else None
        for block in message.get("content", []):
            if "text" in block:
                texts.append(block["text"])
            elif "toolUse" in block and tool_input is None:
                tool_use = block["toolUse"]
                if wanted is not None and tool_use.get("name") != wanted:
                    continue
                tool_input = _tool_input(tool_use.get("input"), self._model_id)
        usage = result.get("usage")
        return ModelResponse(
            text="\n".join(texts),
            tool_input=tool_input,
            stop_reason=_stop_reason(result.get("stopReason")),
            usage=Usage(
                token_count(usage.get("inputTokens")) if usage else 0,
                token_count(usage.get("outputTokens")) if usage else 0,
            ),
            model_id=self._model_id,
        )


# -- request bodies --------------------------------------------------------------------


def _invoke_body(request: ModelRequest) -> dict[str, Any]:
    """The InvokeModel body (the Anthropic Messages API on Bedrock) for `request`."""
    body: dict[str, Any] = {
        "anthropic_version": ANTHROPIC_VERSION,
        "max_tokens": request.max_tokens,
        "temperature": request.temperature,
    }
    if request.system:
        body["system"] = request.system
    body["messages"] = [{"role": m.role, "content": m.content} for m in request.messages]
    if request.tool is not None:
        body["tools"] = [
            {
                "name": request.tool.name,
                "description": request.tool.description,
                "input_schema": json_document(request.tool.input_schema),
            }
        ]
        body["tool_choice"] = {"type": "tool", "name": request.tool.name}
    return body


def _invoke_response(decoded: object, request: ModelRequest, model_id: str) -> ModelResponse:
    """Read a decoded InvokeModel answer (an Anthropic Messages body) to `request`.

    Shared with batch inference, whose output records carry the same body.

    Raises:
        ResponseParseError: `decoded` is not an Anthropic Messages body, or its tool input
            is not a JSON object.
    """
    if not isinstance(decoded, dict) or not isinstance(decoded.get("content"), list):
        raise ResponseParseError(
            f"InvokeModel answer of model {model_id} is not an Anthropic Messages "
            "body; use api='converse' for non-Anthropic models"
        )
    texts: list[str] = []
    tool_input: Mapping[str, Any] | None = None
    wanted = request.tool.name if request.tool is not None else None
    for block in decoded["content"]:
        if not isinstance(block, dict):
            continue
        if block.get("type") == "text" and isinstance(block.get("text"), str):
            texts.append(block["text"])
        elif block.get("type") == "tool_use" and tool_input is None:
            if wanted is not None and block.get("name") != wanted:
                continue
            tool_input = _tool_input(block.get("input"), model_id)
    usage = decoded.get("usage")
    usage = usage if isinstance(usage, dict) else {}
    return ModelResponse(
        text="\n".join(texts),
        tool_input=tool_input,
        stop_reason=_stop_reason(decoded.get("stop_reason")),
        usage=Usage(
            token_count(usage.get("input_tokens")),
            token_count(usage.get("output_tokens")),
        ),
        model_id=model_id,
    )


def _converse_params(model_id: str, request: ModelRequest) -> ConverseRequestTypeDef:
    """The keyword arguments of ``client.converse`` for `request`."""
    params: ConverseRequestTypeDef = {
        "modelId": model_id,
        "messages": [{"role": m.role, "content": [{"text": m.content}]} for m in request.messages],
        "inferenceConfig": {
            "maxTokens": request.max_tokens,
            "temperature": request.temperature,
        },
    }
    if request.system:
        params["system"] = [{"text": request.system}]
    if request.tool is not None:
        params["toolConfig"] = {
            "tools": [
                {
                    "toolSpec": {
                        "name": request.tool.name,
                        "description": request.tool.description,
                        "inputSchema": {"json": json_document(request.tool.input_schema)},
                    }
                }
            ],
            "toolChoice": {"tool": {"name": request.tool.name}},
        }
    return params


# -- helpers ---------------------------------------------------------------------------


def _check_settings(
    model_id: str, api: str, read_timeout_s: float, connect_timeout_s: float
) -> None:
    _check_model_id(model_id)
    if api not in ("invoke", "converse"):
        raise ConfigurationError(f"api must be 'invoke' or 'converse', not {api!r}")
    if read_timeout_s <= 0 or connect_timeout_s <= 0:
        raise ConfigurationError("read_timeout_s and connect_timeout_s must be positive")


# What Bedrock takes as a modelId: a foundation model id, a cross-region inference profile id
# ("us.anthropic.claude-..."), or an ARN (foundation model, inference profile, application
# inference profile, provisioned or custom model, ...). Only the ARN's frame is checked here;
# whether the model exists is Bedrock's answer to give.
_ARN_PARTS = 6


def _check_model_id(model_id: str) -> None:
    if not model_id:
        raise ConfigurationError("model_id must not be empty")
    if model_id != model_id.strip() or any(c.isspace() for c in model_id):
        raise ConfigurationError(f"model_id must not contain whitespace: {model_id!r}")
    if model_id.startswith("arn:"):
        parts = model_id.split(":", _ARN_PARTS - 1)
        if (
            len(parts) != _ARN_PARTS
            or not parts[1].startswith("aws")
            or parts[2] != "bedrock"
            or not parts[3]
            or "/" not in parts[5]
            or not all(parts[5].split("/"))
        ):
            raise ConfigurationError(
                f"model_id {model_id!r} is not a Bedrock ARN: expected "
                "arn:PARTITION:bedrock:REGION:ACCOUNT:TYPE/ID, e.g. "
                "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-..."
            )


class _ClientMaker:
    """Builds the backend's clients (one per read timeout), thread-safely, from one session."""

    def __init__(
        self,
        session: Session,
        *,
        region_name: str | None,
        endpoint_url: str | None,
        connect_timeout_s: float,
    ) -> None:
        self._session = session
        self._region_name = region_name
        self._endpoint_url = endpoint_url
        self._connect_timeout_s = connect_timeout_s
        self._clients: dict[float, BedrockRuntimeClient] = {}
        self._lock = threading.Lock()  # boto3 sessions are not thread-safe

    def client(self, read_timeout_s: float) -> BedrockRuntimeClient:
        with self._lock:
            client = self._clients.get(read_timeout_s)
            if client is None:
                client = _build_client(
                    self._session,
                    region_name=self._region_name,
                    endpoint_url=self._endpoint_url,
                    read_timeout_s=read_timeout_s,
                    connect_timeout_s=self._connect_timeout_s,
                )
                self._clients[read_timeout_s] = client
            return client


def _build_client(
    session: Session,
    *,
    region_name: str | None,
    endpoint_url: str | None,
    read_timeout_s: float,
    connect_timeout_s: float,
) -> BedrockRuntimeClient:
    from botocore.config import Config  # lazily, like boto3
    from botocore.exceptions import NoRegionError

    config = Config(
        # total_max_attempts counts the first request ("max_attempts" counts retries, so
        # max_attempts=1 would still send two requests): exactly one request per call.
        retries={"total_max_attempts": 1},
        read_timeout=read_timeout_s,
        connect_timeout=connect_timeout_s,
    )
    try:
        return session.client(
            "bedrock-runtime", region_name=region_name, endpoint_url=endpoint_url, config=config
        )
    except NoRegionError as exc:
        raise ConfigurationError(
            no_region_message(
                "Bedrock", given="region_name, or --region", profile=session.profile_name
            )
        ) from exc


def _raise_translated(exc: Exception, operation: str, model_id: str) -> NoReturn:
    # `model_id` names the model and its region: "anthropic.claude-... in us-east-1".
    """Raise the `BackendError` for a boto3 / botocore failure, chained to it."""
    from botocore import exceptions as bx  # loaded with the client already

    if isinstance(exc, bx.ClientError):
        raise _client_error(exc, operation, model_id) from exc
    name = type(exc).__name__
    where = f"Bedrock {operation} for model {model_id}"
    error: BackendError
    # Order matters: ConnectTimeoutError is a ConnectionError, ReadTimeoutError an
    # HTTPClientError. str(exc) is left out: some (ParamValidationError) quote values.
    if isinstance(exc, bx.ReadTimeoutError | bx.ConnectTimeoutError):
        error = BackendTimeoutError(f"{where} timed out: {name}", code=name)
    elif isinstance(exc, bx.ConnectionError | bx.HTTPClientError):
        error = BackendUnavailableError(f"{where} could not reach the endpoint: {name}", code=name)
    elif isinstance(exc, bx.NoCredentialsError | bx.PartialCredentialsError):
        error = BackendAccessDeniedError(f"{where}: no usable AWS credentials ({name})", code=name)
    elif isinstance(exc, bx.ParamValidationError):
        error = BackendInvalidRequestError(f"{where}: invalid parameters ({name})", code=name)
    elif isinstance(exc, bx.BotoCoreError):
        error = BackendError(f"{where} failed: {name}", code=name)
    else:
        raise exc
    raise error from exc


def _client_error(exc: Any, operation: str, model_id: str) -> BackendError:
    response: Mapping[str, Any] = getattr(exc, "response", None) or {}
    error: Mapping[str, Any] = response.get("Error") or {}
    metadata: Mapping[str, Any] = response.get("ResponseMetadata") or {}
    code = str(error.get("Code") or "Unknown")
    status = metadata.get("HTTPStatusCode")
    status_code = status if isinstance(status, int) else 0
    request_id = metadata.get("RequestId")
    # Deliberately not error["Message"]: the service may echo the request in it.
    message = f"Bedrock {operation} for model {model_id} failed: {code} (HTTP {status_code or '?'})"
    if request_id:
        message += f", request id {request_id}"
    cls: type[BackendError]
    if code in _THROTTLED_CODES:
        cls = BackendThrottledError
    elif code in _TIMEOUT_CODES:
        cls = BackendTimeoutError
    elif code in _UNAVAILABLE_CODES:
        cls = BackendUnavailableError
    elif code in _INVALID_CODES:
        cls = BackendInvalidRequestError
    elif code in _DENIED_CODES:
        cls = BackendAccessDeniedError
    elif status_code == 429:
        cls = BackendThrottledError
    elif status_code == 408:
        cls = BackendTimeoutError
    elif status_code >= 500:
        cls = BackendUnavailableError
    else:
        cls = BackendError
    return cls(message, code=code)


def _stop_reason(value: object) -> StopReason | None:
    if value is None:
        return None
    if isinstance(value, str) and value in _STOP_REASONS:
        return cast("StopReason", value)
    return "other"


def _tool_input(value: object, model_id: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise ResponseParseError(f"tool input from model {model_id} is not a JSON object")
    return value
