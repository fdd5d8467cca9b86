"""llm_normalize.fanout: the SQS fan-out planner, against moto's DynamoDB and SQS over HTTP."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from typing import Any

import pytest

from fanout_support import (
    CANARY,
    FlakySqs,
    answer_error,
    drain,
    fresh_queue,
    lead,
    leads_table,
    received_ids,
    record_calls,
)
from llm_normalize.aws_lambda.events import parse_sqs_body
from llm_normalize.exceptions import ConfigurationError, StoreNotFoundError
from llm_normalize.fanout import PlanResult, plan_fanout
from llm_normalize.stores.memory import MemoryLeadStore

NOW_MS = 1_769_500_000_000
DAY_MS = 86_400_000


def plan(table: Any, sqs: Any, url: str, **options: Any) -> PlanResult:
    return plan_fanout(table.store, url, ttl_days=7, sqs_client=sqs, now_ms=NOW_MS, **options)


class TestPlan:
    @pytest.mark.parametrize("segments", [1, 4])
    def test_each_due_lead_once_in_worker_messages(self, segments: int) -> None:
        """Every due lead is sent once, in bodies the workers accept, at most N ids each."""
        sqs, url = fresh_queue(fifo=False)
        with leads_table(120) as table:
            table.put([lead(n, normalizedAt=NOW_MS - DAY_MS) for n in range(120, 150)])  # fresh
            table.put(
                [lead(n, normalizedAt=NOW_MS - 30 * DAY_MS) for n in range(150, 160)]
            )  # stale
            result = plan(table, sqs, url, segments=segments, ids_per_message=7)
        bodies = drain(sqs, url)
        ids = received_ids(bodies)
        expected = {f"lead-{n:04d}" for n in [*range(120), *range(150, 160)]}
        assert sorted(ids) == sorted(expected)
        for body in bodies:
            lead_ids, force = parse_sqs_body(json.dumps(body))
            assert 1 <= len(lead_ids) <= 7
            assert not force
        assert result == PlanResult(
            leads_planned=len(expected),
            messages_sent=len(bodies),
            segments=segments,
            fifo=False,
        )
        assert result.complete

    def test_reads_only_the_key_and_the_due_state(self, caplog: pytest.LogCaptureFixture) -> None:
        """The Scan projects leadId, normalizedAt and updatedAt; no field value is sent or logged."""
        caplog.set_level(logging.DEBUG, logger="llm_normalize")
        sqs, url = fresh_queue(fifo=True)
        with leads_table(30) as table:
            calls = record_calls(table.client)
            plan(table, sqs, url, segments=2)
        scans = [params for name, params in calls if name == "Scan"]
        assert scans
        for params in scans:
            names = params["ExpressionAttributeNames"]
            projected = {names[part.strip()] for part in params["ProjectionExpression"].split(",")}
            assert projected == {"leadId", "normalizedAt", "updatedAt"}
        assert CANARY not in json.dumps(drain(sqs, url))
        ours = [r.getMessage() for r in caplog.records if r.name.startswith("llm_normalize")]
        assert ours  # the plan's summary line
        assert not any(CANARY in line for line in ours)

    def test_force_plans_every_lead_and_says_so(self) -> None:
        """With force, fresh leads are planned too, and each message carries forceAll."""
        sqs, url = fresh_queue(fifo=False)
        with leads_table(20, normalizedAt=NOW_MS) as table:
            assert plan(table, sqs, url).leads_planned == 0
            result = plan(table, sqs, url, force=True)
        bodies = drain(sqs, url)
        assert result.leads_planned == len(received_ids(bodies)) == 20
        assert all(body["forceAll"] is True for body in bodies)

    def test_streams_page_by_page(self) -> None:
        """Messages go out while the table is still being scanned: memory holds a page, not the table."""
        sqs, url = fresh_queue(fifo=False)
        with leads_table(200) as table:
            calls = record_calls(table.client)
            record_calls(sqs, calls)
            plan(table, sqs, url, page_size=25, ids_per_message=1)
        names = [name for name, _ in calls]
        scans = [n for n, name in enumerate(names) if name == "Scan"]
        sends = [n for n, name in enumerate(names) if name == "SendMessageBatch"]
        assert len(scans) >= 8
        assert len(sends) == 20  # 200 single-id messages, 10 per batch
        assert sends[0] < scans[-1]  # the first batch went out before the last page was read
        assert len(received_ids(drain(sqs, url))) == 200


class TestCap:
    @pytest.mark.parametrize("segments", [1, 3, 8])
    def test_never_more_than_the_cap(self, segments: int) -> None:
        """With several segments in parallel, exactly max_leads ids are sent, and capped says more were due."""
        sqs, url = fresh_queue(fifo=False)
        with leads_table(150) as table:
            result = plan(table, sqs, url, segments=segments, max_leads=37)
        ids = received_ids(drain(sqs, url))
        assert len(ids) == len(set(ids)) == 37
        assert result.leads_planned == 37
        assert result.capped
        assert result.stopped == "cap"
        assert result.ok
        assert not result.complete

    def test_a_cap_the_table_fits_in_is_not_capped(self) -> None:
        """When every due lead fits under the cap, the plan is complete."""
        sqs, url = fresh_queue(fifo=False)
        with leads_table(40) as table:
            result = plan(table, sqs, url, max_leads=40, segments=2)
        assert (result.leads_planned, result.capped, result.stopped) == (40, False, None)

    def test_zero_sends_nothing(self) -> None:
        """max_leads=0 plans nothing and says the cap stopped it."""
        sqs, url = fresh_queue(fifo=False)
        with leads_table(5) as table:
            result = plan(table, sqs, url, max_leads=0)
        assert drain(sqs, url) == []
        assert (result.leads_planned, result.capped) == (0, True)


class TestIdempotence:
    @pytest.mark.parametrize("segments", [1, 4])
    def test_twice_on_a_fifo_queue_sends_each_lead_once(self, segments: int) -> None:
        """A plan run again (a Lambda retry) within 5 minutes is deduplicated by SQS."""
        sqs, url = fresh_queue(fifo=True)
        with leads_table(160) as table:
            first = plan(table, sqs, url, segments=segments)
            second = plan(table, sqs, url, segments=segments)
        ids = received_ids(drain(sqs, url))
        assert len(ids) == len(set(ids)) == 160
        assert first.fifo
        assert first.messages_sent == second.messages_sent  # the same messages, dropped by SQS

    def test_twice_on_a_standard_queue_duplicates(self) -> None:
        """A standard queue keeps both copies: there the workers' due check absorbs them."""
        sqs, url = fresh_queue(fifo=False)
        with leads_table(30) as table:
            plan(table, sqs, url)
            plan(table, sqs, url)
        ids = received_ids(drain(sqs, url))
        assert len(ids) == 60
        assert len(set(ids)) == 30

    def test_a_lead_done_between_plans_changes_only_its_neighbourhood(self) -> None:
        """Content-defined message boundaries: one lead leaving the scan re-sends few others."""
        sqs, url = fresh_queue(fifo=True)
        with leads_table(200) as table:
            plan(table, sqs, url)
            ids = received_ids(drain(sqs, url, delete=False))
            done = ids[len(ids) // 2]
            table.put([lead(int(done.split("-")[1]), normalizedAt=NOW_MS)])
            plan(table, sqs, url)
        again = received_ids(drain(sqs, url))
        assert done not in again
        # Fixed-size messages would shift every message after it: about half the table again.
        assert 0 < len(again) <= 20

    def test_deadline_then_rerun_sends_each_lead_once(self) -> None:
        """A plan cut short by its deadline says how far it got; a new plan completes it, no duplicates on FIFO."""
        sqs, url = fresh_queue(fifo=True)
        checks = 0

        def stop_when() -> bool:
            nonlocal checks
            checks += 1
            return checks > 3

        with leads_table(200) as table:
            first = plan(table, sqs, url, page_size=20, stop_when=stop_when)
            assert first.deadline_reached
            assert first.stopped == "deadline"
            assert 0 < first.leads_planned < 200
            # The first plan's messages are still in the queue (in flight) when the second runs.
            sent_first = received_ids(drain(sqs, url, delete=False))
            assert len(sent_first) == first.leads_planned
            second = plan(table, sqs, url, page_size=20)
        assert second.complete
        rest = received_ids(drain(sqs, url))
        assert sorted(sent_first + rest) == sorted(f"lead-{n:04d}" for n in range(200))


class TestSendFailures:
    def test_refused_entries_are_retried_only(self) -> None:
        """Entries SQS refuses are sent again, only those; nothing is lost."""
        sqs, url = fresh_queue(fifo=False)
        flaky = FlakySqs(sqs, refuse={"lead-0002": 1, "lead-0005": 2})
        waits: list[float] = []
        with leads_table(100) as table:
            result = plan(table, flaky, url, ids_per_message=1, sleep=waits.append)
        assert sorted(received_ids(drain(sqs, url))) == [f"lead-{n:04d}" for n in range(100)]
        assert result.complete
        assert flaky.calls[1] == ["2", "5"]  # the retry carries the refused entries only
        assert flaky.calls[2] == ["5"]
        assert waits == [0.2, 0.4]

    def test_entries_refused_after_the_retries_are_counted_and_named(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        """Still refused after 3 attempts: counted, their lead ids in the result and the log."""
        sqs, url = fresh_queue(fifo=False)
        flaky = FlakySqs(sqs, refuse={"lead-0000": -1, "lead-0010": -1, "lead-0020": -1})
        with leads_table(25) as table:
            result = plan(table, flaky, url, ids_per_message=1, sleep=lambda _: None)
        received = received_ids(drain(sqs, url))
        assert result.messages_failed == 3  # one of each batch of 10, 10, 5
        assert result.leads_failed == 3
        assert len(received) == result.leads_planned == 22
        assert set(result.failed_lead_ids).isdisjoint(received)
        assert len(result.failed_lead_ids) == 3
        assert not result.ok
        assert all(lead_id in caplog.text for lead_id in result.failed_lead_ids)
        assert "InternalError" in caplog.text
        assert len(flaky.calls) == 3 * 3

    def test_sender_faults_are_not_retried(self) -> None:
        """An entry SQS refuses as the sender's fault is counted at once, not sent again."""
        sqs, url = fresh_queue(fifo=False)
        flaky = FlakySqs(
            sqs, refuse={"lead-0001": -1}, code="InvalidMessageContents", sender_fault=True
        )
        with leads_table(10) as table:
            result = plan(table, flaky, url, ids_per_message=1, sleep=lambda _: None)
        assert len(flaky.calls) == 1
        assert (result.messages_failed, result.messages_sent) == (1, 9)

    def test_a_batch_refused_entirely_stops_the_plan(self) -> None:
        """When SQS takes nothing of a batch after the retries, planning stops and says so."""
        sqs, url = fresh_queue(fifo=False)
        flaky = FlakySqs(sqs, raise_on="ServiceUnavailable")
        with leads_table(60) as table:
            result = plan(table, flaky, url, ids_per_message=1, sleep=lambda _: None)
        assert result.stopped == "queue"
        assert result.messages_failed == 10
        assert result.messages_sent == 0
        assert len(flaky.calls) == 3
        assert not result.ok


class TestSetupErrors:
    def test_missing_queue(self) -> None:
        """A queue that does not exist is named, with what to check."""
        sqs, url = fresh_queue(fifo=False)
        with leads_table(3) as table, pytest.raises(ConfigurationError) as caught:
            plan(table, sqs, url + "-missing")
        message = str(caught.value)
        assert "does not exist" in message
        assert "WORK_QUEUE_URL" in message

    def test_access_denied_to_the_queue(self) -> None:
        """No sqs:SendMessage: the error says which permission to grant."""
        sqs, url = fresh_queue(fifo=False)
        answer_error(sqs, "SendMessageBatch", "AccessDenied", status=403)
        with leads_table(3) as table, pytest.raises(ConfigurationError, match="sqs:SendMessage"):
            plan(table, sqs, url)

    def test_missing_table(self) -> None:
        """A table that does not exist raises StoreNotFoundError naming it."""
        sqs, url = fresh_queue(fifo=False)
        with leads_table() as table:
            table.client.delete_table(TableName=table.name)
            with pytest.raises(StoreNotFoundError, match=table.name):
                plan(table, sqs, url, segments=3)

    def test_access_denied_to_the_table(self) -> None:
        """No dynamodb:Scan: the error says which permission to grant."""
        sqs, url = fresh_queue(fifo=False)
        with leads_table(3) as table:
            answer_error(table.client, "Scan", "AccessDeniedException")
            with pytest.raises(ConfigurationError, match="dynamodb:Scan"):
                plan(table, sqs, url)

    def test_not_a_dynamodb_store(self) -> None:
        """The planner needs a DynamoDB table; another store is refused with what to do instead."""
        with pytest.raises(ConfigurationError, match="llm-normalize run"):
            plan_fanout(MemoryLeadStore(), "https://sqs.us-east-1.amazonaws.com/1/q", ttl_days=7)

    @pytest.mark.parametrize(
        ("option", "value"),
        [
            ("segments", 0),
            ("segments", 65),
            ("ids_per_message", 0),
            ("ids_per_message", 101),
            ("max_leads", -1),
            ("send_attempts", 0),
            ("page_size", 0),
            ("segments", True),
        ],
    )
    def test_bad_options(self, option: str, value: Any) -> None:
        """Out-of-range options are refused before anything is read or sent."""
        sqs, url = fresh_queue(fifo=False)
        with leads_table(1) as table, pytest.raises(ConfigurationError, match=option):
            plan(table, sqs, url, **{option: value})


class TestSegmentFailure:
    def test_one_failing_segment_spares_the_others(self) -> None:
        """A segment whose Scan fails is counted; the other segments' leads are still sent."""
        sqs, url = fresh_queue(fifo=False)
        with leads_table(120) as table:
            answer_error(
                table.client,
                "Scan",
                "InternalServerError",
                status=500,
                when=lambda params: params.get("Segment") == 1,
            )
            result = plan(table, sqs, url, segments=4)
        ids = received_ids(drain(sqs, url))
        assert result.segments_failed == 1
        assert not result.ok
        assert 0 < len(ids) == result.leads_planned < 120


def test_importing_the_package_loads_neither_boto3_nor_the_planner() -> None:
    """``import llm_normalize`` stays light: the planner and boto3 load only when used."""
    code = "import sys, llm_normalize; print('boto3' in sys.modules, 'llm_normalize.fanout' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
    code = "import sys, llm_normalize.fanout; print('boto3' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False"]
