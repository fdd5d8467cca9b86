"""Spark's phase 2 through one Bedrock batch inference job: the same frame as on demand."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from typing import TYPE_CHECKING

import pytest

from batch_support import RecordingCache, liar, make_batch, make_normalizer
from bedrock_batch_server import BedrockBatchServer, JobPlan
from bedrock_server import BedrockWireServer
from guard_lies import sample_leads

pytest.importorskip("pyspark", reason="the spark extra is not installed")
pd = pytest.importorskip("pandas", reason="the spark extra is not installed")

from llm_normalize.backfill import decide_in_batch  # noqa: E402
from llm_normalize.phases import Decisions, TwoPhase  # noqa: E402
from llm_normalize.spark import normalize_spark  # noqa: E402

if TYPE_CHECKING:
    from boto3.session import Session
    from mypy_boto3_bedrock import BedrockClient
    from mypy_boto3_s3 import S3Client
    from pyspark.sql import SparkSession

pytestmark = [
    pytest.mark.skipif(shutil.which("java") is None, reason="Spark needs Java: no java on PATH"),
    pytest.mark.filterwarnings(
        "ignore:PySpark does not yet fully support pandas >= 3.0.0:FutureWarning"
    ),
    pytest.mark.filterwarnings("ignore:The copy keyword is deprecated:DeprecationWarning"),
]


def test_phase_two_in_a_batch_job_gives_the_online_frame(
    spark: SparkSession,
    session: Session,
    runtime: BedrockWireServer,
    control: BedrockBatchServer,
    bucket: str,
    s3: S3Client,
    bedrock: BedrockClient,
) -> None:
    control.plan = JobPlan(min_records=5)
    control.responder = runtime.responder = liar
    frame = pd.DataFrame(list(sample_leads()[:150]))
    frame.insert(0, "row", range(len(frame)))
    df = spark.createDataFrame(frame).repartition(3)

    with normalize_spark(df, make_normalizer(session, runtime, RecordingCache())) as online:
        expected = online.frame.toPandas().sort_values("row").reset_index(drop=True)
    asked_online = len(runtime.requests)
    assert asked_online > 0

    normalizer = make_normalizer(session, runtime, RecordingCache())
    phases = TwoPhase(normalizer)
    batch = make_batch(bucket, s3, bedrock, min_records=5)

    def decide(pairs: Sequence[tuple[str, str]]) -> Decisions:
        return decide_in_batch(
            phases, pairs, batch, poll_s=1, sleep=lambda _s: control.finish_all()
        )

    with normalize_spark(df, normalizer, decide=decide) as batched:
        got = batched.frame.toPandas().sort_values("row").reset_index(drop=True)
    assert len(runtime.requests) == asked_online  # no on-demand call
    assert len(control.creates) == 1
    pd.testing.assert_frame_equal(got, expected)
