"""``llm-normalize backfill``: the command line over boto3, moto's S3 and the local Bedrock servers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from batch_support import HAIKU, ROLE
from bedrock_batch_server import BedrockBatchServer, JobPlan
from bedrock_server import BedrockWireServer
from guard_lies import sample_leads
from llm_normalize.cli import main
from llm_normalize.stores.sqlite import SQLiteLeadStore

LEADS = 200


@pytest.fixture
def leads_file(tmp_path: Path) -> Path:
    path = tmp_path / "leads.jsonl"
    with path.open("w", encoding="utf-8") as out:
        for lead in sample_leads()[:LEADS]:
            out.write(json.dumps(lead, ensure_ascii=False) + "\n")
    return path


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch, moto_endpoint: str, control: BedrockBatchServer) -> None:
    """boto3's own settings: the batch clients the command builds reach the local servers."""
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", moto_endpoint)
    monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK", control.endpoint_url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIATESTTESTTESTTEST")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test-secret-key")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("XDG_CACHE_HOME", "/nonexistent-never-used")
    control.plan = JobPlan(min_records=1, statuses=("Submitted", "InProgress"))
    return


def _backfill(url: str, bucket: str, runtime: BedrockWireServer, *extra: str) -> list[str]:
    return [
        "backfill",
        "--store",
        url,
        "--batch-inference",
        "--bucket",
        bucket,
        "--role-arn",
        ROLE,
        "--backend",
        "bedrock",
        "--model-id",
        HAIKU,
        "--endpoint-url",
        runtime.endpoint_url,
        "--region",
        "us-east-1",
        "--min-records",
        "1",
        *extra,
    ]


def test_submit_then_collect_in_two_invocations(
    tmp_path: Path,
    leads_file: Path,
    aws: None,
    bucket: str,
    runtime: BedrockWireServer,
    control: BedrockBatchServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url = f"sqlite:///{tmp_path / 'leads.db'}"
    assert main(["import", str(leads_file), "--store", url, "-q"]) == 0

    assert main(_backfill(url, bucket, runtime)) == 0
    err = capsys.readouterr().err
    assert "submitted" in err
    assert "recorded in" in err
    assert len(control.creates) == 1

    assert main(_backfill(url, bucket, runtime)) == 0
    assert "is not finished" in capsys.readouterr().err

    control.finish_all()
    assert main(_backfill(url, bucket, runtime, "--json")) == 0
    captured = capsys.readouterr()
    report = json.loads(captured.out)
    assert report["records_saved"] == LEADS
    assert "collected" in captured.err
    assert "0 leads still due" in captured.err
    assert len(runtime.requests) == 0  # every answer came from the batch job
    assert len(control.creates) == 1
    store = SQLiteLeadStore(tmp_path / "leads.db")
    try:
        assert store.load_batch_job() is None
        assert all("normalizedData" in item for item in store.scan())
    finally:
        store.close()
    # Nothing of a lead's values reached the terminal.
    for lead in sample_leads()[:LEADS]:
        assert str(lead["nombres"]) not in captured.err


def test_wait_polls_until_the_job_ends(
    tmp_path: Path,
    leads_file: Path,
    aws: None,
    bucket: str,
    runtime: BedrockWireServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url = f"sqlite:///{tmp_path / 'leads.db'}"
    assert main(["import", str(leads_file), "--store", url, "-q"]) == 0
    assert main(_backfill(url, bucket, runtime, "--wait", "--poll-s", "0.01")) == 0
    err = capsys.readouterr().err
    assert "submitted" in err
    assert "collected" in err
    assert "0 leads still due" in err


def test_abandon_stops_and_forgets_the_job(
    tmp_path: Path,
    leads_file: Path,
    aws: None,
    bucket: str,
    runtime: BedrockWireServer,
    control: BedrockBatchServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url = f"sqlite:///{tmp_path / 'leads.db'}"
    assert main(["import", str(leads_file), "--store", url, "-q"]) == 0
    assert main(_backfill(url, bucket, runtime)) == 0
    assert main(_backfill(url, bucket, runtime, "--abandon")) == 0
    assert "stopped and forgotten" in capsys.readouterr().err
    assert all(job.stop_requested for job in control.jobs.values())
    store = SQLiteLeadStore(tmp_path / "leads.db")
    try:
        assert store.load_batch_job() is None
        assert store.count_due(now_ms=2**50, ttl_days=7) == LEADS
    finally:
        store.close()


def test_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'leads.db'}"
    assert main(["backfill", "--store", url, "--create", "--batch-inference"]) == 2
    assert "--bucket and --role-arn" in capsys.readouterr().err
    assert main(["backfill", "--store", url, "--create", "--wait"]) == 2
    assert "go with --batch-inference" in capsys.readouterr().err


def test_online_backfill_takes_every_due_lead(
    tmp_path: Path, leads_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'leads.db'}"
    assert main(["import", str(leads_file), "--store", url, "-q"]) == 0
    # Past the config's maxLeadsPerRun (50): a backfill has no per-run cap.
    assert main(["backfill", "--store", url, "--json"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["records_saved"] == LEADS
    assert "0 leads still due" in captured.err
