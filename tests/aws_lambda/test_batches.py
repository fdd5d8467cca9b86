"""DynamoDB Streams and SQS batches: what is normalized, what is reported for a retry."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from aws_lambda.support import (
    BASE_MS,
    CANARY,
    FakeContext,
    Tables,
    json_lines,
    load_event,
    messy_lead,
    sqs_event,
    stream_event,
    stream_record,
)
from bedrock_server import BedrockWireServer
from llm_normalize.aws_lambda import InvocationError, handler

if TYPE_CHECKING:
    from llm_normalize.pipeline import Normalizer


class TestStreams:
    def test_fixture_records(
        self, tables: Tables, runtime_on: Normalizer, bedrock: BedrockWireServer
    ) -> None:
        """INSERT and a MODIFY of an original field are normalized; REMOVE is ignored."""
        event = load_event("dynamodb_stream")
        # The table holds what the images say (a save needs the lead to exist, unchanged).
        for record in event["Records"][:2]:
            tables.client.put_item(TableName=tables.leads, Item=record["dynamodb"]["NewImage"])
        assert handler(event, FakeContext()) == {"batchItemFailures": []}
        new = tables.item("lead-new")
        edited = tables.item("lead-edited")
        assert new is not None
        assert edited is not None
        assert new["normalizedData"]["nombres"] == "Juan Carlos"
        assert edited["normalizedData"]["ciudad"] == "Cali"
        assert edited["tags"] == ["form", "web"]
        assert tables.item("lead-deleted") is None

    def test_own_write_back_is_ignored(
        self, tables: Tables, runtime_on: Normalizer, bedrock: BedrockWireServer
    ) -> None:
        """The MODIFY our own save causes is fed back and nothing happens: no loop."""
        lead = messy_lead(1)
        tables.put(lead)
        before = tables.item("lead-1")
        assert before is not None
        assert handler(stream_event(stream_record("INSERT", "lead-1", "100", new=before))) == {
            "batchItemFailures": []
        }
        after = tables.item("lead-1")
        assert after is not None
        assert "normalizedData" in after
        calls = len(bedrock.requests)
        echo_event = stream_event(stream_record("MODIFY", "lead-1", "101", old=before, new=after))
        assert handler(echo_event, FakeContext()) == {"batchItemFailures": []}
        assert len(bedrock.requests) == calls
        assert tables.item("lead-1") == after

    def test_redelivered_change_and_its_write_back(
        self, tables: Tables, runtime_on: Normalizer, bedrock: BedrockWireServer
    ) -> None:
        """A retried batch holding a change and our write-back for it does nothing again."""
        tables.put(messy_lead(1))
        before = tables.item("lead-1")
        insert = stream_record("INSERT", "lead-1", "100", new=before)
        handler(stream_event(insert))
        after = tables.item("lead-1")
        write_back = stream_record("MODIFY", "lead-1", "101", old=before, new=after)
        assert handler(stream_event(insert, write_back)) == {"batchItemFailures": []}
        assert tables.item("lead-1") == after

    def test_own_write_back_on_a_new_image_stream(
        self, tables: Tables, runtime_on: Normalizer, bedrock: BedrockWireServer
    ) -> None:
        """Without OldImage, a write-back is known by normalizedAt == updatedAt."""
        tables.put(messy_lead(1))
        handler(stream_event(stream_record("INSERT", "lead-1", "100", new=tables.item("lead-1"))))
        after = tables.item("lead-1")
        calls = len(bedrock.requests)
        record = stream_record("MODIFY", "lead-1", "101", new=after, view="NEW_IMAGE")
        assert handler(stream_event(record)) == {"batchItemFailures": []}
        assert len(bedrock.requests) == calls
        assert tables.item("lead-1") == after

    def test_other_attribute_changes_are_ignored(
        self, tables: Tables, runtime_on: Normalizer, bedrock: BedrockWireServer
    ) -> None:
        """A MODIFY that changed no field to normalize (a CRM status) does nothing."""
        old = messy_lead(1, status="new")
        new = messy_lead(1, status="contacted", updatedAt=BASE_MS + 50)
        tables.put(new)
        record = stream_record("MODIFY", "lead-1", "100", old=old, new=new)
        assert handler(stream_event(record)) == {"batchItemFailures": []}
        assert not bedrock.requests
        assert tables.item("lead-1") == new

    def test_edit_then_other_change_in_one_batch(
        self, tables: Tables, runtime_on: Normalizer, bedrock: BedrockWireServer
    ) -> None:
        """An edit followed by an unrelated change is normalized once, from the latest image."""
        first = messy_lead(1)
        edited = messy_lead(1, ciudad="medellin", updatedAt=BASE_MS + 10)
        latest = messy_lead(1, ciudad="medellin", status="x", updatedAt=BASE_MS + 20)
        tables.put(latest)
        event = stream_event(
            stream_record("MODIFY", "lead-1", "100", old=first, new=edited),
            stream_record("MODIFY", "lead-1", "101", old=edited, new=latest),
        )
        assert handler(event) == {"batchItemFailures": []}
        item = tables.item("lead-1")
        assert item is not None
        assert item["normalizedData"]["ciudad"] == "Medellín"

    def test_partial_batch_failure(
        self, tables: Tables, runtime_on: Normalizer, bedrock: BedrockWireServer
    ) -> None:
        """A lead that fails is reported by its record's sequence number; the others are saved."""
        leads = [messy_lead(n) for n in (1, 2, 3)]
        tables.put(*leads)
        tables.store.fail_saves = {"lead-2"}
        event = stream_event(
            *(
                stream_record("INSERT", lead["leadId"], f"{200 + n}", new=lead)
                for n, lead in enumerate(leads)
            )
        )
        assert handler(event, FakeContext()) == {"batchItemFailures": [{"itemIdentifier": "201"}]}
        assert "normalizedData" in tables.item("lead-1")  # type: ignore[operator]
        assert "normalizedData" in tables.item("lead-3")  # type: ignore[operator]
        assert tables.item("lead-2") == leads[1]

    def test_retry_starts_at_the_first_unsaved_change(
        self, tables: Tables, runtime_on: Normalizer
    ) -> None:
        """When a lead fails, the record to retry from is its first change of the batch."""
        first = messy_lead(1)
        edited = messy_lead(1, ciudad="medellin", updatedAt=BASE_MS + 10)
        latest = messy_lead(1, ciudad="medellin", status="x", updatedAt=BASE_MS + 20)
        tables.put(latest)
        tables.store.fail_saves = {"lead-1"}
        event = stream_event(
            stream_record("INSERT", "lead-1", "100", new=first),
            stream_record("MODIFY", "lead-1", "101", old=first, new=edited),
            stream_record("MODIFY", "lead-1", "102", old=edited, new=latest),
        )
        assert handler(event) == {"batchItemFailures": [{"itemIdentifier": "100"}]}

    def test_unusable_records_are_skipped(
        self, tables: Tables, runtime_on: Normalizer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A record that can never succeed (no leadId key, a malformed image) is skipped, not retried."""
        tables.put(messy_lead(1))
        no_key = stream_record("INSERT", "lead-1", "300", new=messy_lead(1))
        no_key["dynamodb"]["Keys"] = {"id": {"N": "1"}}
        bad_image = stream_record("INSERT", "lead-1", "301", new=messy_lead(1))
        bad_image["dynamodb"]["NewImage"]["ciudad"] = {"N": "not a number"}
        keys_only = stream_record("INSERT", "lead-1", "302", view="KEYS_ONLY")
        assert handler(stream_event(no_key, bad_image, keys_only)) == {"batchItemFailures": []}
        assert tables.item("lead-1") == messy_lead(1)
        finished = [line for line in json_lines(capsys.readouterr().out) if "outcome" in line]
        assert finished[-1]["outcome"]["unusable"] == 2
        assert finished[-1]["outcome"]["no_new_image"] == 1

    def test_batch_wide_failure_fails_the_invocation(
        self, tables: Tables, runtime_on: Normalizer, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """When the config cannot be read the invocation fails (Lambda retries the batch), sanitized."""

        def broken() -> None:
            raise ValueError(f"{CANARY} in a message")

        monkeypatch.setattr(tables.store, "load_config", broken)
        record = stream_record("INSERT", "lead-1", "1", new=messy_lead(1))
        with pytest.raises(
            InvocationError, match=r"^dynamodb_stream invocation failed: ValueError$"
        ):
            handler(stream_event(record))
        with pytest.raises(InvocationError, match=r"^sqs invocation failed: ValueError$"):
            handler(sqs_event('{"leadId": "lead-1"}'))

    def test_disabled_config_ignores_the_batch(
        self, tables: Tables, runtime_on: Normalizer, bedrock: BedrockWireServer
    ) -> None:
        """With enabled=false in the config table a batch succeeds without doing anything."""
        tables.put(messy_lead(1))
        tables.set_config(enabled=False)
        record = stream_record("INSERT", "lead-1", "1", new=messy_lead(1))
        assert handler(stream_event(record)) == {"batchItemFailures": []}
        assert tables.item("lead-1") == messy_lead(1)


class TestSqs:
    def test_fixture_messages(
        self, tables: Tables, runtime_on: Normalizer, bedrock: BedrockWireServer
    ) -> None:
        """Both body shapes ({"leadIds": [...]}, {"leadId": ...}) name leads to normalize."""
        tables.put(messy_lead(1), messy_lead(2), messy_lead(3))
        assert handler(load_event("sqs"), FakeContext()) == {"batchItemFailures": []}
        for number in (1, 2, 3):
            assert "normalizedData" in tables.item(f"lead-{number}")  # type: ignore[operator]

    @pytest.mark.parametrize(
        "body",
        [
            "not json",
            "[1, 2]",
            "{}",
            '{"leadIds": ["lead-1"], "leadId": "lead-1"}',
            '{"leadIds": "lead-1"}',
            '{"leadIds": [""]}',
            '{"leadIds": [1]}',
            '{"leadId": null}',
            '{"leadId": "lead-1", "forceAll": "yes"}',
        ],
    )
    def test_malformed_message_fails_alone(
        self, body: str, tables: Tables, runtime_on: Normalizer
    ) -> None:
        """A malformed message is reported by its messageId; the good one is processed."""
        tables.put(messy_lead(1), messy_lead(2))
        event = sqs_event(body, '{"leadId": "lead-2"}')
        assert handler(event) == {"batchItemFailures": [{"itemIdentifier": "message-0"}]}
        assert "normalizedData" in tables.item("lead-2")  # type: ignore[operator]

    def test_failing_lead_fails_its_message(self, tables: Tables, runtime_on: Normalizer) -> None:
        """A lead that cannot be saved fails the message naming it, and only that one."""
        tables.put(messy_lead(1), messy_lead(2), messy_lead(3))
        tables.store.fail_saves = {"lead-3"}
        event = sqs_event('{"leadIds": ["lead-1", "lead-2"]}', '{"leadId": "lead-3"}')
        assert handler(event) == {"batchItemFailures": [{"itemIdentifier": "message-1"}]}
        assert "normalizedData" in tables.item("lead-1")  # type: ignore[operator]

    def test_missing_and_fresh_leads(
        self, tables: Tables, runtime_on: Normalizer, bedrock: BedrockWireServer
    ) -> None:
        """A deleted lead is done; a fresh one is skipped unless the message says forceAll."""
        fresh = messy_lead(1, normalizedAt=2**50)
        tables.put(fresh)
        event = sqs_event('{"leadIds": ["lead-1", "gone"]}')
        assert handler(event) == {"batchItemFailures": []}
        assert tables.item("lead-1") == fresh
        assert not bedrock.requests
        event = sqs_event('{"leadIds": ["lead-1"], "forceAll": true}')
        assert handler(event) == {"batchItemFailures": []}
        assert tables.item("lead-1")["normalizedAt"] != 2**50  # type: ignore[index]
