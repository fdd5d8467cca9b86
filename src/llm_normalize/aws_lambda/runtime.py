"""The runtime: the store, the normalizer and the telemetry, built once per container.

`get_runtime()` builds them from the environment on first use and keeps them;
`configure()` builds them from parts you give (tests, teams with their own store or
normalizer); `reset_runtime()` forgets them.
The AWS clients (DynamoDB, Bedrock, Secrets Manager for an OpenAI-compatible server's API
key) come from one boto3 session, imported only when a client is built; the backend comes
from ``NORMALIZATION_BACKEND`` (`llm_normalize.aws_lambda._backend_env`).

With ``VALUE_CACHE_TABLE`` set (and a model), the normalizer's value cache is that
`DynamoDBValueCache` table behind an in-memory LRU (`TieredCache`), so containers share
the model's answers; entries live ``VALUE_CACHE_TTL_DAYS`` days (default 30). Unset, the
cache is the container's own LRU.

An invocation never changes the runtime: its deadline lives in its own
`llm_normalize.aws_lambda.invocation.Invocation`.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Final

from llm_normalize._aws import no_region_message
from llm_normalize.aws_lambda._backend_env import backend_from_env
from llm_normalize.aws_lambda.telemetry import Telemetry, TelemetryMode, make_telemetry
from llm_normalize.caches import TieredCache
from llm_normalize.config import NormalizationConfig
from llm_normalize.exceptions import ConfigurationError
from llm_normalize.pipeline import Normalizer

if TYPE_CHECKING:
    from boto3.session import Session
    from mypy_boto3_dynamodb import DynamoDBClient

    from llm_normalize.backends.base import Backend
    from llm_normalize.stores.base import LeadStore

__all__ = [
    "DEFAULT_ADMIN_GROUP",
    "DEFAULT_API_DEADLINE_MS",
    "DEFAULT_STOP_BEFORE_TIMEOUT_MS",
    "DEFAULT_VALUE_CACHE_TTL_DAYS",
    "Runtime",
    "configure",
    "first_invocation",
    "get_runtime",
    "reset_runtime",
]

logger = logging.getLogger(__name__)

DEFAULT_ADMIN_GROUP: Final = "admins"
"""The Cognito group the admin API requires when ``ADMIN_GROUP`` is unset."""

DEFAULT_STOP_BEFORE_TIMEOUT_MS: Final = 30_000
"""No model call starts with less time left than this, when ``STOP_BEFORE_TIMEOUT_MS`` is unset."""

DEFAULT_API_DEADLINE_MS: Final = 20_000
"""No model call starts this long after an API request arrived, when ``API_DEADLINE_MS`` is unset."""

DEFAULT_VALUE_CACHE_TTL_DAYS: Final = 30.0
"""How long a value cache entry lives, when ``VALUE_CACHE_TTL_DAYS`` is unset."""


class Runtime:
    """What the handler works with, built once per container by `get_runtime` or `configure`.

    Invocations share it and never change it: each passes its own deadline to its runs.

    Attributes:
        store: The lead store.
        normalizer: The normalizer.
        admin_group: The Cognito group the admin API requires.
        stop_before_timeout_ms: No model call starts with less time than this left.
        api_deadline_ms: No model call starts this long after an API request arrived.
        sink: Where logs and metrics go.
    """

    def __init__(
        self,
        store: LeadStore,
        normalizer: Normalizer,
        *,
        admin_group: str,
        stop_before_timeout_ms: int,
        api_deadline_ms: int,
        sink: Telemetry,
        closers: Sequence[Callable[[], None]] = (),
    ) -> None:
        self.store = store
        self.normalizer = normalizer
        self.admin_group = admin_group
        self.stop_before_timeout_ms = stop_before_timeout_ms
        self.api_deadline_ms = api_deadline_ms
        self.sink = sink
        self._closers = list(closers)

    def __repr__(self) -> str:
        return (
            f"Runtime(store={self.store!r}, normalizer={self.normalizer!r}, "
            f"admin_group={self.admin_group!r}, telemetry={self.telemetry!r})"
        )

    @property
    def telemetry(self) -> str:
        """How logs and metrics are written: always ``"powertools"`` (aws-lambda-powertools)."""
        return self.sink.mode

    def close(self) -> None:
        """Detach the log handler, and close the store and clients the runtime built."""
        self.sink.uninstall()
        for close in self._closers:
            close()
        self._closers = []


_runtime: Runtime | None = None
_runtime_lock = threading.Lock()
_cold_start = True


def get_runtime() -> Runtime:
    """Return the container's runtime, building it from the environment on first use.

    Raises:
        ConfigurationError: An environment variable has a bad value.
    """
    global _runtime
    with _runtime_lock:
        if _runtime is None:
            _runtime = _activate(_build_runtime())
        return _runtime


def configure(
    *,
    store: LeadStore | None = None,
    normalizer: Normalizer | None = None,
    backend: Backend | None = None,
    admin_group: str | None = None,
    stop_before_timeout_ms: int | None = None,
    api_deadline_ms: int | None = None,
    telemetry: TelemetryMode = "auto",
) -> Runtime:
    """Build the runtime from the parts given (the environment gives the rest) and use it.

    Replaces (and closes) the current runtime. Call it at import time of your own handler
    module to inject a store or a normalizer, or in tests.

    Args:
        store: The lead store (default: `DynamoDBLeadStore.from_env`).
        normalizer: The normalizer (default: one on `backend`, with
            `NormalizationConfig.resolve()`).
        backend: The model backend of the default normalizer (default: from
            ``NORMALIZATION_BACKEND``); not together with `normalizer`.
        admin_group: Default ``ADMIN_GROUP`` or ``"admins"``.
        stop_before_timeout_ms: Default ``STOP_BEFORE_TIMEOUT_MS`` or 30000.
        api_deadline_ms: Default ``API_DEADLINE_MS`` or 20000.
        telemetry: Kept for compatibility: logs and metrics always go through
            aws-lambda-powertools; ``"plain"`` is deprecated.

    Raises:
        ConfigurationError: Both `normalizer` and `backend` are given, a setting is bad, or
            aws-lambda-powertools is not installed.

    Examples:
        >>> configure(store=MemoryLeadStore(), backend=FakeBackend())  # doctest: +SKIP
    """
    global _runtime
    runtime = _build_runtime(
        store=store,
        normalizer=normalizer,
        backend=backend,
        admin_group=admin_group,
        stop_before_timeout_ms=stop_before_timeout_ms,
        api_deadline_ms=api_deadline_ms,
        telemetry=telemetry,
    )
    with _runtime_lock:
        previous, _runtime = _runtime, runtime
        # Closing the previous runtime first restores the logging state it changed, so that
        # the new one saves (and one day restores) the original state.
        if previous is not None:
            previous.close()
        return _activate(runtime)


def reset_runtime() -> None:
    """Forget the runtime (closing what it built); the next invocation builds a new one."""
    global _runtime, _cold_start
    with _runtime_lock:
        previous, _runtime = _runtime, None
        _cold_start = True
    if previous is not None:
        previous.close()


def first_invocation() -> bool:
    """Whether this is the container's first invocation (a cold start); later calls say no."""
    global _cold_start
    with _runtime_lock:
        cold, _cold_start = _cold_start, False
    return cold


def _activate(runtime: Runtime) -> Runtime:
    runtime.sink.install()
    backend = runtime.normalizer.backend
    logger.info(
        "runtime ready",
        extra={
            "store": type(runtime.store).__name__,
            "model_id": backend.model_id if backend is not None else None,
            "telemetry": runtime.telemetry,
        },
    )
    return runtime


def _build_runtime(
    *,
    store: LeadStore | None = None,
    normalizer: Normalizer | None = None,
    backend: Backend | None = None,
    admin_group: str | None = None,
    stop_before_timeout_ms: int | None = None,
    api_deadline_ms: int | None = None,
    telemetry: TelemetryMode = "auto",
) -> Runtime:
    if normalizer is not None and backend is not None:
        raise ConfigurationError("pass either normalizer or backend, not both")
    group = admin_group if admin_group is not None else os.environ.get("ADMIN_GROUP", "").strip()
    stop_ms = _milliseconds(
        stop_before_timeout_ms, "STOP_BEFORE_TIMEOUT_MS", DEFAULT_STOP_BEFORE_TIMEOUT_MS
    )
    api_ms = _milliseconds(api_deadline_ms, "API_DEADLINE_MS", DEFAULT_API_DEADLINE_MS)
    sink = make_telemetry(telemetry)
    region = os.environ.get("AWS_REGION") or None
    # One boto3 session for every client: each new session loads botocore's data files again
    # (~100 ms of cold start).
    sessions = _Sessions()
    if normalizer is None:
        config = NormalizationConfig.resolve()
        if backend is None:
            backend = backend_from_env(config, region, sessions)
        cache = _cache_from_env(region, sessions) if backend is not None else None
        normalizer = Normalizer(
            backend, config=config, cache=cache, answer_mode=_answer_mode_from_env()
        )
    if store is None:
        store = _store_from_env(region, sessions)
    return Runtime(
        store,
        normalizer,
        admin_group=group or DEFAULT_ADMIN_GROUP,
        stop_before_timeout_ms=stop_ms,
        api_deadline_ms=api_ms,
        sink=sink,
        closers=sessions.closers,
    )


def _milliseconds(value: int | None, variable: str, default: int) -> int:
    if value is None:
        raw = os.environ.get(variable, "").strip()
        if not raw:
            return default
        if not raw.isdigit():
            raise ConfigurationError(f"{variable} must be a whole number of milliseconds")
        value = int(raw)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigurationError(f"{variable} must be a whole number of milliseconds, at least 0")
    return value


class _Sessions:
    """The boto3 session of the runtime's clients, created when the first client is."""

    def __init__(self) -> None:
        self._session: Session | None = None
        self.closers: list[Callable[[], None]] = []  # what the runtime built, closes

    def get(self) -> Session:
        if self._session is None:
            import boto3.session  # boto3 costs ~200 ms: only when a client is built

            self._session = boto3.session.Session()
        return self._session


def _store_from_env(region: str | None, sessions: _Sessions) -> LeadStore:
    """`DynamoDBLeadStore.from_env`, on a client configured as the store's own would be."""
    from llm_normalize.stores.dynamodb import DynamoDBLeadStore

    client = _dynamodb_client(region, sessions, max_attempts=5, timeouts_s=None)
    store = DynamoDBLeadStore.from_env(client=client)
    sessions.closers += [store.close, client.close]
    return store


def _cache_from_env(region: str | None, sessions: _Sessions) -> TieredCache | None:
    """The ``VALUE_CACHE_TABLE`` cache behind an LRU, or None when the variable is unset.

    Its client gives up sooner than the store's (3 attempts, 2 s to connect, 5 s to read):
    a lookup that fails is a miss, and the model answers instead.
    """
    table = os.environ.get("VALUE_CACHE_TABLE", "").strip()
    if not table:
        return None
    raw = os.environ.get("VALUE_CACHE_TTL_DAYS", "").strip()
    try:
        ttl_days = float(raw) if raw else DEFAULT_VALUE_CACHE_TTL_DAYS
    except ValueError:
        ttl_days = 0.0
    if not 0 < ttl_days < float("inf"):
        raise ConfigurationError("VALUE_CACHE_TTL_DAYS must be a positive number of days")
    from llm_normalize.caches.dynamodb import DynamoDBValueCache

    client = _dynamodb_client(region, sessions, max_attempts=3, timeouts_s=(2, 5))
    sessions.closers.append(client.close)
    return TieredCache(DynamoDBValueCache(table, client=client, ttl_days=ttl_days))


def _dynamodb_client(
    region: str | None,
    sessions: _Sessions,
    *,
    max_attempts: int,
    timeouts_s: tuple[float, float] | None,
) -> DynamoDBClient:
    """A ``dynamodb`` client of the runtime's session, with standard retries.

    `timeouts_s` is ``(connect, read)``; None keeps botocore's (60 s each).
    """
    from botocore.config import Config
    from botocore.exceptions import NoRegionError

    config = Config(
        retries={"mode": "standard", "max_attempts": max_attempts}, max_pool_connections=10
    )
    if timeouts_s is not None:
        config = config.merge(Config(connect_timeout=timeouts_s[0], read_timeout=timeouts_s[1]))
    try:
        return sessions.get().client("dynamodb", region_name=region, config=config)
    except NoRegionError as exc:
        raise ConfigurationError(
            no_region_message(
                "DynamoDB",
                given="AWS_REGION, which Lambda sets and the runtime passes",
                profile=sessions.get().profile_name,
            )
        ) from exc


def _answer_mode_from_env() -> str | None:
    """``ANSWER_MODE`` (``tool`` or ``json``), or `None` for the default (tool, with fallback)."""
    value = os.environ.get("ANSWER_MODE", "").strip().lower()
    if not value:
        return None
    if value not in ("tool", "json"):
        raise ConfigurationError(f"ANSWER_MODE must be 'tool' or 'json', not {value!r}")
    return value
