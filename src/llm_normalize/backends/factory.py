"""`make_backend`: a model backend from its name, as a command line or an environment names it.

The CLI's ``--backend`` and the Lambda's ``NORMALIZATION_BACKEND`` both go through here, so
that a name means the same backend everywhere.
Each backend's module is imported only when that backend is chosen: ``rules`` and ``fake``
never import boto3.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final, Literal, TypeAlias

from llm_normalize.exceptions import ConfigurationError

if TYPE_CHECKING:
    from boto3.session import Session

    from llm_normalize.backends.base import Backend
    from llm_normalize.backends.bedrock import BedrockApi
    from llm_normalize.backends.openai import AnswerMode

__all__ = ["BACKEND_NAMES", "BackendName", "make_backend"]

BackendName: TypeAlias = Literal["bedrock", "fake", "openai", "rules"]
"""The names `make_backend` knows."""

BACKEND_NAMES: Final[tuple[BackendName, ...]] = ("bedrock", "fake", "openai", "rules")
"""Every name `make_backend` knows, sorted."""


def make_backend(
    name: str,
    *,
    model_id: str,
    region_name: str | None = None,
    api: BedrockApi = "invoke",
    endpoint_url: str | None = None,
    session: Session | None = None,
    base_url: str | None = None,
    api_key: str | None = None,
    answer_mode: AnswerMode = "tool",
) -> Backend | None:
    """Build the backend called `name`; ``rules`` means no model at all (`None`).

    Args:
        name: ``bedrock`` (Claude on Bedrock), ``openai`` (an OpenAI-compatible server), ``fake`` (the offline `FakeBackend`, which
            echoes) or ``rules`` (no backend: the rules decide alone).
        model_id: The model the backend answers as.
        region_name: The Bedrock region (default: boto3's).
        api: The Bedrock API, ``invoke`` or ``converse``.
        endpoint_url: A Bedrock Runtime endpoint (a local test server, say).
        session: The boto3 session to build the Bedrock client on (default: a new one).
            Ignored by the other backends.
        base_url: The OpenAI-compatible server's API root (``openai`` only; default OpenAI).
        api_key: The ``openai`` backend's API key (default ``OPENAI_API_KEY``).
        answer_mode: The ``openai`` backend's answer mode: ``tool``, ``json_schema``, ``json``.

    Raises:
        ConfigurationError: `name` is not one of `BACKEND_NAMES`, or a Bedrock setting is bad.

    Examples:
        >>> make_backend("rules", model_id="anthropic.claude-3-haiku-20240307-v1:0") is None
        True
        >>> make_backend("fake", model_id="m").model_id
        'm'
    """
    if name == "rules":
        return None
    if name == "fake":
        from llm_normalize.backends.fake import FakeBackend

        return FakeBackend(model_id=model_id)
    if name == "bedrock":
        from llm_normalize.backends.bedrock import BedrockBackend

        if session is not None:
            return BedrockBackend.from_session(
                session, model_id, api=api, region_name=region_name, endpoint_url=endpoint_url
            )
        return BedrockBackend(model_id, api=api, region_name=region_name, endpoint_url=endpoint_url)
    if name == "openai":
        from llm_normalize.backends.openai import OpenAIBackend

        return OpenAIBackend(model_id, base_url=base_url, api_key=api_key, answer_mode=answer_mode)
    raise ConfigurationError(f"unknown backend {name!r}; known: {', '.join(BACKEND_NAMES)}")
