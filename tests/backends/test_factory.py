"""make_backend: one name means one backend, for the CLI and the Lambda alike."""

from __future__ import annotations

import subprocess
import sys
from typing import TYPE_CHECKING

import pytest

from bedrock_server import BedrockWireServer
from llm_normalize.backends.bedrock import BedrockBackend
from llm_normalize.backends.factory import BACKEND_NAMES, make_backend
from llm_normalize.backends.fake import FakeBackend
from llm_normalize.exceptions import ConfigurationError
from llm_normalize.messages import Message, ModelRequest

if TYPE_CHECKING:
    from boto3.session import Session

MODEL = "anthropic.claude-3-haiku-20240307-v1:0"


def request() -> ModelRequest:
    return ModelRequest(system="s", messages=(Message(role="user", content="hola"),), max_tokens=10)


class TestMakeBackend:
    def test_rules_is_no_backend(self) -> None:
        """``rules`` means the rules decide alone: no backend."""
        assert make_backend("rules", model_id=MODEL) is None

    def test_fake_answers_as_the_model(self) -> None:
        """``fake`` is the offline FakeBackend, answering as the configured model."""
        backend = make_backend("fake", model_id=MODEL)
        assert isinstance(backend, FakeBackend)
        assert backend.model_id == MODEL

    @pytest.mark.usefixtures("aws_env")
    def test_bedrock_with_its_settings(self, bedrock_server: BedrockWireServer) -> None:
        """``bedrock`` builds a BedrockBackend with the API, region and endpoint given."""
        bedrock_server.responder = lambda request: "ok"
        backend = make_backend(
            "bedrock",
            model_id=MODEL,
            api="converse",
            region_name="eu-west-1",
            endpoint_url=bedrock_server.endpoint_url,
        )
        assert isinstance(backend, BedrockBackend)
        assert backend.model_id == MODEL
        assert backend.client.meta.region_name == "eu-west-1"
        assert backend.client.meta.endpoint_url == bedrock_server.endpoint_url
        response = backend.complete(request())
        assert response.model_id == MODEL
        assert bedrock_server.requests[-1].api == "converse"

    def test_bedrock_on_a_session(
        self, boto3_session: Session, bedrock_server: BedrockWireServer
    ) -> None:
        """With a session, the Bedrock client is built on it (its credentials and region)."""
        bedrock_server.responder = lambda request: "ok"
        backend = make_backend(
            "bedrock",
            model_id=MODEL,
            session=boto3_session,
            endpoint_url=bedrock_server.endpoint_url,
        )
        assert isinstance(backend, BedrockBackend)
        assert backend.client.meta.region_name == "us-east-1"
        backend.complete(request())
        assert bedrock_server.requests[-1].api == "invoke"

    def test_unknown_name_lists_the_known_ones(self) -> None:
        """An unknown name is a ConfigurationError naming every known backend."""
        with pytest.raises(ConfigurationError, match="unknown backend 'gemini'") as raised:
            make_backend("gemini", model_id=MODEL)
        for name in BACKEND_NAMES:
            assert name in str(raised.value)

    def test_bad_bedrock_setting(self) -> None:
        """Bedrock's own checks apply (an unknown API) before any client is built."""
        with pytest.raises(ConfigurationError, match="api must be"):
            make_backend("bedrock", model_id=MODEL, api="chat")  # type: ignore[arg-type]

    def test_names_are_sorted(self) -> None:
        """BACKEND_NAMES is sorted, so error messages and help read the same everywhere."""
        assert list(BACKEND_NAMES) == sorted(BACKEND_NAMES)

    @pytest.mark.parametrize("name", ["rules", "fake"])
    def test_no_boto3_without_bedrock(self, name: str) -> None:
        """Only ``bedrock`` imports boto3; the factory itself imports no backend."""
        code = (
            "import sys\n"
            "from llm_normalize.backends.factory import make_backend\n"
            f"make_backend({name!r}, model_id='m')\n"
            "print(','.join(m for m in ('boto3', 'botocore') if m in sys.modules))"
        )
        result = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        )
        assert result.stdout.strip() == ""
