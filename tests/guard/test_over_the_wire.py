"""The hostile- and honest-model checks through real backends talking to local wire servers.

`test_hostile` and `test_honest` measure the guard with `FakeBackend`, which hands the
responder's text straight to the pipeline. Here the same lying and honest responders answer
behind the wire servers, so the lies and the honest answers travel as each backend really
receives them: tool calls, a JSON-schema response format or JSON in text from an
OpenAI-compatible server through the ``openai`` SDK, and InvokeModel or Converse answers from
Bedrock through boto3. Each backend must let exactly as many lies through as the fake does
(none) after sending the same lies, and accept the same honest answers.

The first leads of the sample keep this quick; the fake-backend suites cover the whole sample.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest

from bedrock_server import BedrockWireServer
from guard_lies import (
    LIE_CLASSES,
    BackendFor,
    LieClass,
    Responder,
    count_lies,
    honest_sample,
    render_honest_summary,
    sample_leads,
)
from llm_normalize.backends import Backend
from llm_normalize.backends.bedrock import BedrockApi, BedrockBackend
from llm_normalize.messages import ModelRequest
from llm_normalize.prompt import extract_items
from openai_server import OpenAIWireServer

if TYPE_CHECKING:
    from boto3.session import Session

pytest.importorskip("openai")
from llm_normalize.backends.openai import AnswerMode, OpenAIBackend

_LEADS = 150
_OPENAI_MODES: dict[str, AnswerMode] = {
    "openai-tool": "tool",
    "openai-json_schema": "json_schema",
    "openai-json": "json",
}
_BEDROCK_APIS: dict[str, BedrockApi] = {"bedrock-invoke": "invoke", "bedrock-converse": "converse"}


@functools.cache
def _leads() -> tuple[dict[str, object], ...]:
    return sample_leads()[:_LEADS]


@pytest.fixture(scope="module")
def servers() -> Iterator[tuple[OpenAIWireServer, BedrockWireServer]]:
    with OpenAIWireServer() as openai_server, BedrockWireServer() as bedrock_server:
        yield openai_server, bedrock_server


@pytest.fixture(scope="module")
def session() -> Session:
    import boto3.session

    return boto3.session.Session(
        aws_access_key_id="AKIATESTTESTTESTTEST",
        aws_secret_access_key="test-secret-key",
        region_name="us-east-1",
    )


def _reading_the_prompt(responder: Responder) -> Responder:
    """The responder answering what a model reads: the items of the prompt's records block.

    A request decoded from the wire carries text only; the responders answer structured items.
    """

    def answer(request: ModelRequest) -> str:
        assert not request.items  # the wire carried the prompt's text, nothing else
        return responder(dataclasses.replace(request, items=tuple(extract_items(request))))

    return answer


@pytest.fixture(params=[*_OPENAI_MODES, *_BEDROCK_APIS])
def backend_for(
    request: pytest.FixtureRequest,
    servers: tuple[OpenAIWireServer, BedrockWireServer],
    session: Session,
) -> Iterator[BackendFor]:
    """Builds a backend of one wire whose server answers with the given responder."""
    wire = str(request.param)
    openai_server, bedrock_server = servers
    built: list[Callable[[], Any]] = []

    def make(responder: Responder) -> Backend:
        if wire in _OPENAI_MODES:
            openai_server.responder = _reading_the_prompt(responder)
            backend = OpenAIBackend(
                "m", base_url=openai_server.base_url, api_key="k", answer_mode=_OPENAI_MODES[wire]
            )
            built.append(backend.client.close)
            return backend
        bedrock_server.responder = _reading_the_prompt(responder)
        bedrock = BedrockBackend.from_session(
            session, endpoint_url=bedrock_server.endpoint_url, api=_BEDROCK_APIS[wire]
        )
        built.append(bedrock.client.close)
        return bedrock

    yield make
    for close in built:
        close()
    assert not openai_server.responder_errors
    assert not bedrock_server.responder_errors


@pytest.mark.parametrize("lie_class", LIE_CLASSES, ids=lambda lie_class: lie_class.name)
def test_no_lie_reaches_the_output_over_the_wire(
    lie_class: LieClass, backend_for: BackendFor
) -> None:
    """The wire carries the same lies as the fake, and none of them reaches the output."""
    by_fake = count_lies(lie_class, "forced", _leads())
    over_the_wire = count_lies(lie_class, "forced", _leads(), backend_for=backend_for)
    assert over_the_wire.sent == by_fake.sent
    assert over_the_wire.reached == by_fake.reached == 0, over_the_wire.passed


def test_honest_answers_are_accepted_over_the_wire(backend_for: BackendFor) -> None:
    """The honest answers are judged over the wire exactly as with the fake backend."""
    by_fake = honest_sample(_leads())
    over_the_wire = honest_sample(_leads(), backend_for=backend_for)
    assert len(over_the_wire) > 500
    assert over_the_wire == by_fake, render_honest_summary(over_the_wire)
