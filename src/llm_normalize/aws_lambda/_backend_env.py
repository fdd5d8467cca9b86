"""The Lambda's model backend, from its environment: ``NORMALIZATION_BACKEND`` and its settings.

| variable | backend | meaning |
|---|---|---|
| ``NORMALIZATION_BACKEND`` | | ``bedrock`` (default), ``openai`` or ``rules``; never ``fake`` |
| ``BEDROCK_MODEL_ID`` | both | the model (`NormalizationConfig.model_id`; the config item's ``modelId`` wins at run time) |
| ``BEDROCK_API`` | bedrock | ``invoke`` (default) or ``converse`` |
| ``OPENAI_BASE_URL`` | openai | the server's API root, an ``http(s)://`` URL (default OpenAI itself) |
| ``OPENAI_API_KEY_SECRET_ARN`` | openai | a Secrets Manager secret holding the API key, plain or ``{"api_key": ...}`` |
| ``OPENAI_API_KEY`` | openai | the API key itself (the SDK's convention), instead of the secret |

The secret is read once, when the runtime is built (once per container), with the runtime's
boto3 session; boto3 is not imported for a backend that needs no AWS client. No message ever
holds the key, nor the secret's value.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Final, Protocol
from urllib.parse import urlsplit

from llm_normalize.aws_lambda.telemetry import QUIET_LOGGERS
from llm_normalize.config import DEFAULT_MODEL_ID, NormalizationConfig
from llm_normalize.exceptions import ConfigurationError

if TYPE_CHECKING:
    from boto3.session import Session

    from llm_normalize.backends.base import Backend

__all__ = ["LAMBDA_BACKENDS", "OPENAI_DEFAULT_BASE_URL", "SessionSource", "backend_from_env"]

logger = logging.getLogger(__name__)

LAMBDA_BACKENDS: Final = ("bedrock", "openai", "rules")
"""The backends ``NORMALIZATION_BACKEND`` may name in Lambda."""

OPENAI_DEFAULT_BASE_URL: Final = "https://api.openai.com/v1"
"""OpenAI itself, when ``OPENAI_BASE_URL`` is unset (the SDK's default)."""

_BASE_URL_VAR: Final = "OPENAI_BASE_URL"
_KEY_VAR: Final = "OPENAI_API_KEY"
_SECRET_VAR: Final = "OPENAI_API_KEY_SECRET_ARN"
_SECRET_JSON_KEY: Final = "api_key"

# One secret read at a time: each raises the AWS loggers' levels and restores them after.
_secret_lock = threading.Lock()


class SessionSource(Protocol):
    """Where the runtime's boto3 session comes from (created on first use), and its closers."""

    closers: list[Callable[[], None]]

    def get(self) -> Session: ...


def backend_from_env(
    config: NormalizationConfig, region: str | None, sessions: SessionSource
) -> Backend | None:
    """The backend ``NORMALIZATION_BACKEND`` names; the runtime closes the client it builds.

    Raises:
        ConfigurationError: An unknown backend, or a bad setting of the chosen one (see the
            module table); the message names the variable, never its value.
    """
    from llm_normalize.backends.factory import make_backend

    name = (os.environ.get("NORMALIZATION_BACKEND") or "bedrock").strip().lower()
    if name not in LAMBDA_BACKENDS:
        # The fake echoes values back: saved to the leads table, that would be a bad surprise.
        raise ConfigurationError("NORMALIZATION_BACKEND must be 'bedrock', 'openai' or 'rules'")
    api = (os.environ.get("BEDROCK_API") or "invoke").strip().lower()
    if api not in ("invoke", "converse"):
        raise ConfigurationError("BEDROCK_API must be 'invoke' or 'converse'")
    if name == "openai":
        base_url = _base_url_from_env()
        api_key = _api_key_from_env(base_url, region, sessions)
        if config.model_id == DEFAULT_MODEL_ID:
            logger.warning(
                "NORMALIZATION_BACKEND=openai with the default Bedrock model id: set "
                "BEDROCK_MODEL_ID, or the config item's modelId, to the server's model name"
            )
        backend = make_backend(
            name,
            model_id=config.model_id,
            base_url=base_url or OPENAI_DEFAULT_BASE_URL,
            api_key=api_key,
        )
    else:
        backend = make_backend(
            name,
            model_id=config.model_id,
            api="invoke" if api == "invoke" else "converse",
            region_name=region,
            session=sessions.get() if name == "bedrock" else None,
        )
    close = getattr(getattr(backend, "client", None), "close", None)
    if callable(close):
        sessions.closers.append(close)
    return backend


def _base_url_from_env() -> str | None:
    """``OPENAI_BASE_URL`` checked to be an ``http(s)://host[...]`` URL, or `None` if unset."""
    raw = os.environ.get(_BASE_URL_VAR, "").strip()
    if not raw:
        return None
    if not _is_http_url(raw):
        # Never the value: a URL may carry a user and password.
        raise ConfigurationError(
            f"{_BASE_URL_VAR} must be an http:// or https:// URL with a host and no user or "
            "password, e.g. https://llm.example.com/v1"
        )
    return raw


def _is_http_url(text: str) -> bool:
    try:
        parts = urlsplit(text)
        port = parts.port  # a port that is not a number, or out of range, raises ValueError
    except ValueError:
        return False
    return (
        parts.scheme.lower() in ("http", "https")
        and bool(parts.hostname)
        and "@" not in parts.netloc
        and port != 0
        and not any(c.isspace() for c in text)
    )


def _api_key_from_env(
    base_url: str | None, region: str | None, sessions: SessionSource
) -> str | None:
    """The API key from the secret or ``OPENAI_API_KEY``; `None` for a key-less server.

    Raises:
        ConfigurationError: Both sources set, neither set for OpenAI itself, or the secret
            cannot be read or holds no key.
    """
    secret_id = os.environ.get(_SECRET_VAR, "").strip()
    key = os.environ.get(_KEY_VAR, "").strip()
    if secret_id and key:
        raise ConfigurationError(
            f"set {_SECRET_VAR} or {_KEY_VAR}, not both: the key would be ambiguous"
        )
    if secret_id:
        return _header_safe(
            _read_secret_key(secret_id, region, sessions), f"the secret {_SECRET_VAR} names"
        )
    if key:
        return _header_safe(key, _KEY_VAR)
    if base_url is None:
        raise ConfigurationError(
            f"NORMALIZATION_BACKEND=openai needs an API key for OpenAI: set {_SECRET_VAR} to a "
            f"Secrets Manager secret holding it (or {_KEY_VAR}), or set {_BASE_URL_VAR} to a "
            "server that needs none"
        )
    return None  # a local server: OpenAIBackend sends a placeholder key


def _read_secret_key(secret_id: str, region: str | None, sessions: SessionSource) -> str:
    """GetSecretValue on `secret_id`, in the ARN's region; the key, plain or JSON ``api_key``."""
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError

    parts = secret_id.split(":")
    if secret_id.startswith("arn:") and len(parts) > 3 and parts[3]:
        region = parts[3]  # the secret lives in its ARN's region, maybe not the function's
    client: Any = None
    try:
        with _secret_lock, _aws_loggers_quiet():
            client = sessions.get().client(
                "secretsmanager",
                region_name=region,
                config=Config(retries={"mode": "standard", "max_attempts": 3}),
            )
            answer = client.get_secret_value(SecretId=secret_id)
    except ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code") or "ClientError")
        raise ConfigurationError(_secret_error(code)) from exc
    except BotoCoreError as exc:
        raise ConfigurationError(
            f"could not read the secret {_SECRET_VAR} names ({type(exc).__name__}): check "
            "the function's region, credentials and network access to Secrets Manager"
        ) from exc
    finally:
        if client is not None:
            client.close()
    return _key_of(answer.get("SecretString"))


@contextmanager
def _aws_loggers_quiet() -> Iterator[None]:
    """Keep botocore's loggers (`QUIET_LOGGERS`) at ``INFO`` or above for a while.

    At ``DEBUG`` botocore logs response bodies, and GetSecretValue's holds the key. The
    runtime's telemetry quiets them only once the runtime is built (``_activate``), after
    the secret is read, while Lambda's ``AWS_LAMBDA_LOG_LEVEL=DEBUG`` sets the root logger
    to ``DEBUG`` from the start.
    """
    prefixes = tuple(f"{name}." for name in QUIET_LOGGERS)
    loud = [logging.getLogger(name) for name in QUIET_LOGGERS] + [
        child
        for name, child in list(logging.Logger.manager.loggerDict.items())
        if isinstance(child, logging.Logger) and name.startswith(prefixes)
    ]
    saved = [
        (logger_, logger_.level) for logger_ in loud if logger_.getEffectiveLevel() < logging.INFO
    ]
    for logger_, _ in saved:
        logger_.setLevel(logging.INFO)
    try:
        yield
    finally:
        for logger_, level in saved:
            logger_.setLevel(level)


def _secret_error(code: str) -> str:
    """A one-line fix for a failed GetSecretValue, by its error code."""
    if code == "ResourceNotFoundException":
        return (
            f"the secret {_SECRET_VAR} names does not exist (or has no current value): "
            "create it, or give the full ARN that create-secret printed"
        )
    if code == "AccessDeniedException":
        return (
            f"the function may not read the secret {_SECRET_VAR} names: allow "
            "secretsmanager:GetSecretValue on that ARN (the template does, from "
            "OpenAIApiKeySecretArn), and kms:Decrypt for a customer-managed key"
        )
    if code == "DecryptionFailure":
        return (
            f"the secret {_SECRET_VAR} names cannot be decrypted: allow kms:Decrypt on its "
            "KMS key to the function's role"
        )
    return f"could not read the secret {_SECRET_VAR} names: GetSecretValue failed with {code}"


def _key_of(value: object) -> str:
    """The key a secret string holds: the string itself, or its JSON object's ``api_key``."""
    if not isinstance(value, str) or not value.strip():
        raise ConfigurationError(
            f"the secret {_SECRET_VAR} names is empty or binary: store the API key as its "
            f'secret string, plain or as {{"{_SECRET_JSON_KEY}": "..."}}'
        )
    text = value.strip()
    if not text.startswith("{"):
        return text
    try:
        document = json.loads(text)
    except ValueError:
        document = None  # never chained: the error would carry the secret's text
    key = document.get(_SECRET_JSON_KEY) if isinstance(document, dict) else None
    if not isinstance(key, str) or not key.strip():
        raise ConfigurationError(
            f"the secret {_SECRET_VAR} names is JSON without a non-empty "
            f'"{_SECRET_JSON_KEY}" string: store {{"{_SECRET_JSON_KEY}": "..."}}, or the key '
            "as plain text"
        )
    return key.strip()


def _header_safe(key: str, source: str) -> str:
    """`key`, if an HTTP header can carry it (else the HTTP client's error would quote it)."""
    if not all(33 <= ord(c) < 127 for c in key):
        raise ConfigurationError(
            f"the API key in {source} has spaces, control or non-ASCII characters: store the "
            "key alone"
        )
    return key
