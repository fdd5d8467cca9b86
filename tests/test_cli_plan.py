"""``llm-normalize plan``: the fan-out planner from the command line, on moto's DynamoDB and SQS."""

from __future__ import annotations

import pytest

from fanout_support import CANARY, drain, fresh_queue, lead, leads_table, received_ids
from llm_normalize.cli import EXIT_BAD_LINES, EXIT_OK, EXIT_USAGE, main


@pytest.fixture(autouse=True)
def _aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake credentials, and SQS pointed at moto (boto3 reads AWS_ENDPOINT_URL_SQS itself)."""
    from dynamo_server import dynamodb_endpoint

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL_SQS", dynamodb_endpoint())


def store_url(table: str, endpoint: str) -> str:
    return f"dynamodb://{table}?endpoint_url={endpoint}&region=us-east-1"


class TestPlanCommand:
    def test_plans_the_due_leads_and_prints_counts(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Every due lead is queued once; the output holds counts, never a field value."""
        sqs, url = fresh_queue(fifo=True)
        with leads_table(45) as table:
            table.put([lead(n, normalizedAt=2**50) for n in range(45, 50)])  # not due
            code = main(
                [
                    "plan",
                    "--store",
                    store_url(table.name, table.endpoint),
                    "--queue",
                    url,
                    "--segments",
                    "3",
                    "--ids-per-message",
                    "4",
                ]
            )
        out, err = capsys.readouterr()
        assert code == EXIT_OK
        bodies = drain(sqs, url)
        assert sorted(received_ids(bodies)) == [f"lead-{n:04d}" for n in range(45)]
        assert all(len(body["leadIds"]) <= 4 for body in bodies)
        assert f"planned 45 leads in {len(bodies)} messages (3 segments)" in out
        assert CANARY not in out + err

    def test_max_leads_says_more_are_due(self, capsys: pytest.CaptureFixture[str]) -> None:
        """A capped plan sends exactly --max-leads ids and says more are due (exit 0)."""
        sqs, url = fresh_queue(fifo=False)
        with leads_table(30) as table:
            code = main(
                [
                    "plan",
                    "--store",
                    store_url(table.name, table.endpoint),
                    "--queue",
                    url,
                    "--max-leads",
                    "12",
                    "--segments",
                    "2",
                ]
            )
        assert code == EXIT_OK
        assert len(received_ids(drain(sqs, url))) == 12
        assert "--max-leads reached" in capsys.readouterr().err

    def test_force_sends_fresh_leads(self) -> None:
        """--force queues leads that are not due, with forceAll in each message."""
        sqs, url = fresh_queue(fifo=False)
        with leads_table(8, normalizedAt=2**50) as table:
            code = main(
                [
                    "plan",
                    "--store",
                    store_url(table.name, table.endpoint),
                    "--queue",
                    url,
                    "--force",
                ]
            )
        bodies = drain(sqs, url)
        assert code == EXIT_OK
        assert len(received_ids(bodies)) == 8
        assert all(body["forceAll"] for body in bodies)

    def test_missing_queue_is_a_usage_error(self, capsys: pytest.CaptureFixture[str]) -> None:
        """A queue that does not exist: exit 2 with what to check."""
        _, url = fresh_queue(fifo=False)
        with leads_table(2) as table:
            code = main(
                ["plan", "--store", store_url(table.name, table.endpoint), "--queue", url + "-nope"]
            )
        assert code == EXIT_USAGE
        assert "does not exist" in capsys.readouterr().err

    def test_not_a_dynamodb_store(self, capsys: pytest.CaptureFixture[str]) -> None:
        """A SQLite store is refused with exit 2, pointing at llm-normalize run."""
        code = main(
            [
                "plan",
                "--store",
                "sqlite:///leads.db",
                "--queue",
                "https://sqs.us-east-1.amazonaws.com/1/q",
            ]
        )
        assert code == EXIT_USAGE
        assert "llm-normalize run" in capsys.readouterr().err

    @pytest.mark.parametrize(
        ("option", "value"), [("--segments", "0"), ("--ids-per-message", "101")]
    )
    def test_bad_numbers(self, option: str, value: str, capsys: pytest.CaptureFixture[str]) -> None:
        """Out-of-range numbers: exit 2, naming the option."""
        _, url = fresh_queue(fifo=False)
        with leads_table(1) as table:
            code = main(
                [
                    "plan",
                    "--store",
                    store_url(table.name, table.endpoint),
                    "--queue",
                    url,
                    option,
                    value,
                ]
            )
        assert code == EXIT_USAGE
        assert option.lstrip("-").replace("-", "_") in capsys.readouterr().err

    def test_partial_failure_exits_1(
        self, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Messages SQS still refuses after the retries: counted, named, exit 1."""
        from fanout_support import FlakySqs
        from llm_normalize import _fanout_queue, fanout

        sqs, url = fresh_queue(fifo=False)
        flaky = FlakySqs(sqs, refuse={"lead-0003": -1})
        monkeypatch.setattr(fanout, "build_sqs_client", lambda *_: flaky)
        monkeypatch.setattr(_fanout_queue, "_BACKOFF_S", 0.0)
        with leads_table(10) as table:
            code = main(
                [
                    "plan",
                    "--store",
                    store_url(table.name, table.endpoint),
                    "--queue",
                    url,
                    "--ids-per-message",
                    "1",
                ]
            )
        out, err = capsys.readouterr()
        assert code == EXIT_BAD_LINES
        assert "failed: 1 messages (1 leads)" in out
        assert "lead-0003" in err
        assert len(received_ids(drain(sqs, url))) == 9
