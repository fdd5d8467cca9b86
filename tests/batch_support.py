"""Helpers of the batch inference tests: a recording cache, a lying responder, builders."""

from __future__ import annotations

import json
import threading
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Final

from bedrock_server import BedrockWireServer
from guard_lies import LIE_CLASS, LyingResponder, profile_for
from llm_normalize import Normalizer
from llm_normalize.backends import BedrockBackend
from llm_normalize.batch_inference import BedrockBatchInference
from llm_normalize.caches import CacheKey
from llm_normalize.messages import ModelRequest
from llm_normalize.prompt import extract_items

if TYPE_CHECKING:
    from boto3.session import Session
    from mypy_boto3_bedrock import BedrockClient
    from mypy_boto3_s3 import S3Client

HAIKU: Final = "anthropic.claude-3-haiku-20240307-v1:0"
ROLE: Final = "arn:aws:iam::123456789012:role/bedrock-batch"


class RecordingCache:
    """A dict as a value cache, to compare what each path cached."""

    def __init__(self) -> None:
        self.data: dict[CacheKey, str] = {}
        self._lock = threading.Lock()

    def get(self, key: CacheKey) -> str | None:
        with self._lock:
            return self.data.get(key)

    def set(self, key: CacheKey, value: str) -> None:
        with self._lock:
            self.data[key] = value


def liar(request: ModelRequest) -> str:
    """Echo, except for the values a few deterministic, per-item lie classes lie about."""
    request = replace(request, items=tuple(extract_items(request)))
    answers = {item.id: item.value for item in request.items}
    for name in ("renamed_person", "digits_changed", "other_label", "city_swapped"):
        for item in json.loads(LyingResponder(LIE_CLASS[name])(request))["items"]:
            if item["value"] != answers[item["id"]]:
                answers[item["id"]] = item["value"]
    return json.dumps({"items": [{"id": i, "value": v} for i, v in answers.items()]})


def make_normalizer(
    session: Session,
    runtime: BedrockWireServer,
    cache: RecordingCache,
    *,
    answer_mode: str = "tool",
    concurrency: int = 64,
) -> Normalizer:
    from botocore.config import Config

    client = session.client(
        "bedrock-runtime",
        endpoint_url=runtime.endpoint_url,
        config=Config(retries={"total_max_attempts": 1}),
    )
    return Normalizer(
        BedrockBackend(HAIKU, client=client),
        cache=cache,
        profile=profile_for("forced"),
        concurrency=concurrency,
        requests_per_second=10_000,
        answer_mode=answer_mode,
    )


def make_batch(
    bucket: str, s3: S3Client, bedrock: BedrockClient, **settings: Any
) -> BedrockBatchInference:
    return BedrockBatchInference(
        bucket=bucket,
        role_arn=ROLE,
        prefix="runs",
        bedrock_client=bedrock,
        s3_client=s3,
        **settings,
    )
