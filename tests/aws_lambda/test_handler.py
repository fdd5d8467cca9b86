"""The Lambda handler, driven by AWS's event shapes, against moto's DynamoDB and a wire-level Bedrock."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from typing import TYPE_CHECKING, Any

import pytest
from boto3.dynamodb.types import TypeSerializer

from aws_lambda.support import BASE_MS, FakeContext, Tables, load_event, make_normalizer, messy_lead
from bedrock_server import BedrockWireServer, echo
from llm_normalize import aws_lambda
from llm_normalize.aws_lambda import (
    InvocationError,
    configure,
    event_kind,
    get_runtime,
    handler,
    reset_runtime,
)
from llm_normalize.backends.base import ModelRequest
from llm_normalize.backends.bedrock import BedrockBackend
from llm_normalize.exceptions import ConfigurationError
from llm_normalize.stores.memory import MemoryLeadStore

if TYPE_CHECKING:
    from llm_normalize.pipeline import Normalizer


def json_lines(text: str) -> list[dict[str, Any]]:
    """Every JSON object printed, one per line (logs and EMF documents)."""
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("{"):
            out.append(json.loads(line))
    return out


def emf_documents(text: str) -> list[dict[str, Any]]:
    return [doc for doc in json_lines(text) if "_aws" in doc]


def metric(text: str, name: str) -> float:
    [doc] = emf_documents(text)
    value = doc[name]
    return float(value[0] if isinstance(value, list) else value)


def typed(item: dict[str, Any]) -> dict[str, Any]:
    serializer = TypeSerializer()
    return {key: serializer.serialize(value) for key, value in item.items()}


def stream_record(
    name: str,
    lead_id: str,
    sequence: str,
    *,
    old: dict[str, Any] | None = None,
    new: dict[str, Any] | None = None,
    view: str = "NEW_AND_OLD_IMAGES",
) -> dict[str, Any]:
    """A DynamoDB Streams record in the fixture's shape, from plain items."""
    record: dict[str, Any] = load_event("dynamodb_stream")["Records"][0]
    record["eventName"] = name
    record["eventID"] = f"event-{sequence}"
    data: dict[str, Any] = {
        "ApproximateCreationDateTime": 1769263331,
        "Keys": {"leadId": {"S": lead_id}},
        "SequenceNumber": sequence,
        "SizeBytes": 100,
        "StreamViewType": view,
    }
    if old is not None:
        data["OldImage"] = typed(old)
    if new is not None:
        data["NewImage"] = typed(new)
    record["dynamodb"] = data
    return record


def stream_event(*records: dict[str, Any]) -> dict[str, Any]:
    return {"Records": list(records)}


def sqs_event(*bodies: str) -> dict[str, Any]:
    template = load_event("sqs")["Records"][0]
    records = []
    for number, body in enumerate(bodies):
        record = dict(template, body=body, messageId=f"message-{number}")
        records.append(record)
    return {"Records": records}


@pytest.fixture
def runtime_on(tables: Tables, backend: BedrockBackend) -> Normalizer:
    """The handler's runtime on the test tables and the wire Bedrock (plain telemetry)."""
    normalizer = make_normalizer(backend)
    configure(store=tables.store, normalizer=normalizer, telemetry="plain")
    return normalizer


class TestEventKind:
    @pytest.mark.parametrize(
        ("fixture", "kind"),
        [
            ("eventbridge_scheduled", "schedule"),
            ("apigateway_rest_admin", "api_rest"),
            ("apigateway_http_admin", "api_http"),
            ("dynamodb_stream", "dynamodb_stream"),
            ("sqs", "sqs"),
            ("direct_invocation", "direct"),
        ],
    )
    def test_fixtures(self, fixture: str, kind: str) -> None:
        """Each AWS event fixture is recognised as its trigger."""
        assert event_kind(load_event(fixture)) == kind

    @pytest.mark.parametrize(
        "event", [{}, None, "text", [1, 2], {"Records": [{"eventSource": "aws:s3"}]}]
    )
    def test_anything_else_is_direct(self, event: Any) -> None:
        """Unknown shapes count as direct invocations (which then validate them)."""
        assert event_kind(event) == "direct"


class TestSchedule:
    def test_daily_run_normalizes_due_leads(
        self,
        tables: Tables,
        runtime_on: Normalizer,
        bedrock: BedrockWireServer,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        """The scheduled event runs the seed's job: due leads saved, fresh ones left alone."""
        fresh = messy_lead(9, normalizedAt=2**50, normalizedData={"ciudad": "x"})
        tables.put(messy_lead(1), messy_lead(2), messy_lead(3), fresh)
        result = handler(load_event("eventbridge_scheduled"), FakeContext())
        report = result["report"]
        assert report["records_saved"] == 3
        assert report["stopped_early"] is None
        assert bedrock.requests
        for number in (1, 2, 3):
            item = tables.item(f"lead-{number}")
            assert item is not None
            assert item["normalizedData"]["nombres"] == "Juan Carlos"
            assert item["ciudad"] == f"Villa Remota {number}"  # originals untouched
        assert tables.item("lead-9")["normalizedData"] == {"ciudad": "x"}  # type: ignore[index]
        out = capsys.readouterr().out
        assert metric(out, "LeadsProcessed") == 3
        assert metric(out, "ModelCalls") == report["model_calls"]
        assert metric(out, "InputTokens") == report["input_tokens"] > 0

    def test_config_table_settings_apply(
        self, tables: Tables, runtime_on: Normalizer, bedrock: BedrockWireServer
    ) -> None:
        """The config item is read at every run: maxLeadsPerRun caps it, enabled=false stops it."""
        tables.put(*(messy_lead(n) for n in range(4)))
        tables.set_config(maxLeadsPerRun=2)
        assert handler(load_event("eventbridge_scheduled"))["report"]["records_saved"] == 2
        tables.set_config(enabled=False)
        tables.store._config_cached = None  # the store keeps the item for a minute
        report = handler(load_event("eventbridge_scheduled"))["report"]
        assert report["enabled"] is False
        assert report["records_saved"] == 0

    def test_failure_raises_without_details(
        self, tables: Tables, runtime_on: Normalizer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A failed run fails the invocation, naming the error type only, and still emits metrics."""
        tables.store.fail_selection = ValueError("ZZCANARY personal data")
        with pytest.raises(InvocationError, match=r"normalization run failed: ValueError$"):
            handler(load_event("eventbridge_scheduled"), FakeContext())
        out = capsys.readouterr().out
        assert "ZZCANARY" not in out
        assert metric(out, "NormalizationErrors") == 1
        [error] = [line for line in json_lines(out) if line.get("level") == "ERROR"]
        assert error["error_type"] == "ValueError"
        assert any("aws_lambda.py" in frame for frame in error["error_frames"])


class TestDirect:
    def test_force_all_and_limit(
        self, tables: Tables, runtime_on: Normalizer, bedrock: BedrockWireServer
    ) -> None:
        """{"forceAll": true, "limit": N} redoes at most N leads, fresh ones included."""
        fresh = [messy_lead(n, normalizedAt=2**50) for n in range(3)]
        tables.put(*fresh)
        result = handler(load_event("direct_invocation"), FakeContext())
        assert result["report"]["records_saved"] == 2

    def test_empty_event_is_the_daily_run(self, tables: Tables, runtime_on: Normalizer) -> None:
        """{} (``aws lambda invoke`` without a payload) runs the daily job."""
        tables.put(messy_lead(1), messy_lead(2, normalizedAt=2**50))
        assert handler({})["report"]["records_saved"] == 1

    @pytest.mark.parametrize(
        ("event", "message"),
        [
            ({"forceAll": "yes"}, "forceAll must be true or false"),
            ({"forceAll": 1}, "forceAll must be true or false"),
            ({"limit": 0}, "limit must be a positive integer"),
            ({"limit": "5"}, "limit must be a positive integer"),
            ({"limit": True}, "limit must be a positive integer"),
            ({"limit": 2.5}, "limit must be a positive integer"),
            ({"forceAll": True, "extra": 1}, "not a recognised event"),
            ({"Records": [{"eventSource": "aws:s3"}]}, "not a recognised event"),
            ([1, 2], "must be a JSON object"),
            ("normalize", "must be a JSON object"),
        ],
    )
    def test_bad_events_get_an_error_result(
        self,
        tables: Tables,
        runtime_on: Normalizer,
        bedrock: BedrockWireServer,
        event: Any,
        message: str,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        """A bad direct event is answered with an error (no exception, no retry loop, no run)."""
        tables.put(messy_lead(1))
        result = handler(event, FakeContext())
        assert result["error"]["type"] == "InvalidEvent"
        assert message in result["error"]["message"]
        assert not bedrock.requests
        assert tables.item("lead-1") == messy_lead(1)
        assert metric(capsys.readouterr().out, "NormalizationErrors") == 1


def without_claims(event: dict[str, Any]) -> dict[str, Any]:
    if "jwt" in event["requestContext"]["authorizer"]:
        del event["requestContext"]["authorizer"]  # an HTTP API route without authorizer
    else:
        event["requestContext"]["authorizer"] = None
    return event


def with_groups(event: dict[str, Any], groups: Any) -> dict[str, Any]:
    authorizer = event["requestContext"]["authorizer"]
    claims = authorizer["jwt"]["claims"] if "jwt" in authorizer else authorizer["claims"]
    claims["cognito:groups"] = groups
    return event


def with_query(event: dict[str, Any], **params: str | list[str]) -> dict[str, Any]:
    single = {k: v if isinstance(v, str) else ",".join(v) for k, v in params.items()}
    event["queryStringParameters"] = single or None
    if "multiValueQueryStringParameters" in event:
        event["multiValueQueryStringParameters"] = {
            k: [v] if isinstance(v, str) else v for k, v in params.items()
        } or None
    return event


API_FIXTURES = ["apigateway_rest_admin", "apigateway_http_admin"]


@pytest.mark.parametrize("fixture", API_FIXTURES)
class TestApi:
    def test_admin_run(
        self, fixture: str, tables: Tables, runtime_on: Normalizer, bedrock: BedrockWireServer
    ) -> None:
        """An admin's POST ?forceAll=true runs over every lead and answers the report as JSON."""
        tables.put(messy_lead(1), messy_lead(2, normalizedAt=2**50))
        response = handler(load_event(fixture), FakeContext())
        assert response["statusCode"] == 200
        assert response["headers"]["Content-Type"] == "application/json"
        assert response["isBase64Encoded"] is False
        report = json.loads(response["body"])["report"]
        assert report["records_saved"] == 2
        assert report["duration_s"] >= 0

    def test_without_force_only_due_leads(
        self, fixture: str, tables: Tables, runtime_on: Normalizer
    ) -> None:
        """Without forceAll the manual run is the daily one; limit caps it."""
        tables.put(messy_lead(1), messy_lead(2), messy_lead(3, normalizedAt=2**50))
        response = handler(with_query(load_event(fixture), limit="1"))
        assert json.loads(response["body"])["report"]["records_saved"] == 1
        response = handler(with_query(load_event(fixture)))
        assert json.loads(response["body"])["report"]["records_saved"] == 1

    def test_no_claims_is_forbidden(
        self, fixture: str, tables: Tables, runtime_on: Normalizer, bedrock: BedrockWireServer
    ) -> None:
        """A request without authorizer claims gets 403, even with a bad query, and runs nothing."""
        tables.put(messy_lead(1))
        event = with_query(without_claims(load_event(fixture)), forceAll="maybe")
        response = handler(event)
        assert response["statusCode"] == 403
        assert json.loads(response["body"])["error"]["type"] == "Forbidden"
        assert not bedrock.requests
        assert tables.item("lead-1") == messy_lead(1)

    @pytest.mark.parametrize("groups", ["operators", "[operators viewers]", "", ["admin"], None])
    def test_wrong_group_is_forbidden(
        self, fixture: str, groups: Any, tables: Tables, runtime_on: Normalizer
    ) -> None:
        """A caller outside the admin group gets 403."""
        response = handler(with_groups(load_event(fixture), groups))
        assert response["statusCode"] == 403
        assert "admin group" in json.loads(response["body"])["error"]["message"]

    @pytest.mark.parametrize(
        "groups", ["admins", "operators,admins", "[operators admins]", ["admins"]]
    )
    def test_group_shapes(
        self, fixture: str, groups: Any, tables: Tables, runtime_on: Normalizer
    ) -> None:
        """REST's "a,b", HTTP API's "[a b]" and a plain list all name the groups."""
        assert handler(with_groups(load_event(fixture), groups))["statusCode"] == 200

    def test_configured_admin_group(
        self, fixture: str, tables: Tables, backend: BedrockBackend
    ) -> None:
        """ADMIN_GROUP (here through configure) replaces "admins"."""
        configure(
            store=tables.store,
            normalizer=make_normalizer(backend),
            admin_group="operators",
            telemetry="plain",
        )
        assert handler(load_event(fixture))["statusCode"] == 200
        assert handler(with_groups(load_event(fixture), "admins"))["statusCode"] == 403

    @pytest.mark.parametrize(
        "query",
        [
            {"forceAll": "yes"},
            {"forceAll": ""},
            {"limit": "0"},
            {"limit": "-1"},
            {"limit": "ten"},
            {"limit": "1e3"},
            {"limit": "12345678901"},
            {"force": "true"},
            {"forceAll": ["true", "false"]},
        ],
    )
    def test_bad_query_is_400(
        self,
        fixture: str,
        query: dict[str, Any],
        tables: Tables,
        runtime_on: Normalizer,
        bedrock: BedrockWireServer,
    ) -> None:
        """Bad query values get 400 and run nothing."""
        tables.put(messy_lead(1))
        response = handler(with_query(load_event(fixture), **query))
        assert response["statusCode"] == 400
        assert json.loads(response["body"])["error"]["type"] == "BadRequest"
        assert not bedrock.requests

    def test_force_all_false_and_case(
        self, fixture: str, tables: Tables, runtime_on: Normalizer
    ) -> None:
        """forceAll takes true/false in any case."""
        tables.put(messy_lead(1, normalizedAt=2**50))
        response = handler(with_query(load_event(fixture), forceAll="FALSE"))
        assert json.loads(response["body"])["report"]["records_in"] == 0
        response = handler(with_query(load_event(fixture), forceAll="True"))
        assert json.loads(response["body"])["report"]["records_in"] == 1

    def test_wrong_path_and_method(
        self, fixture: str, tables: Tables, runtime_on: Normalizer
    ) -> None:
        """Another path gets 404; another method on the admin path 405 with Allow: POST."""
        event = load_event(fixture)
        if "rawPath" in event:
            event["rawPath"] = "/admin/other"
        else:
            event["path"] = "/admin/other"
        assert handler(event)["statusCode"] == 404
        event = load_event(fixture)
        if "rawPath" in event:
            event["requestContext"]["http"]["method"] = "GET"
        else:
            event["httpMethod"] = "GET"
        response = handler(event)
        assert response["statusCode"] == 405
        assert response["headers"]["Allow"] == "POST"

    def test_stage_prefix(self, fixture: str, tables: Tables, runtime_on: Normalizer) -> None:
        """A path with a stage or base-path prefix still reaches the route."""
        event = load_event(fixture)
        event["rawPath" if "rawPath" in event else "path"] = "/prod/admin/normalize-leads/"
        assert handler(event)["statusCode"] == 200

    def test_run_failure_is_500(self, fixture: str, tables: Tables, runtime_on: Normalizer) -> None:
        """A failed run answers 500 with the error type only."""
        tables.store.fail_selection = KeyError("ZZCANARY")
        response = handler(load_event(fixture))
        assert response["statusCode"] == 500
        body = json.loads(response["body"])
        assert body["error"]["message"] == "normalization run failed: KeyError"

    def test_api_deadline(
        self, fixture: str, tables: Tables, backend: BedrockBackend, bedrock: BedrockWireServer
    ) -> None:
        """Past API_DEADLINE_MS no model call starts, so the answer beats the gateway's timeout."""
        configure(
            store=tables.store,
            normalizer=make_normalizer(backend),
            api_deadline_ms=0,
            telemetry="plain",
        )
        tables.put(messy_lead(1))
        response = handler(load_event(fixture), FakeContext())
        report = json.loads(response["body"])["report"]
        assert response["statusCode"] == 200
        assert report["stopped_early"] == "deadline"
        assert report["records_deferred"] == 1
        assert not bedrock.requests
        assert tables.item("lead-1") == messy_lead(1)


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


class TestDeadline:
    def test_remaining_time_cut_off(
        self, tables: Tables, backend: BedrockBackend, bedrock: BedrockWireServer
    ) -> None:
        """When little time is left no model call starts; leads not reached stay untouched."""
        context = FakeContext(remaining_ms=60_000)

        def responder(request: ModelRequest) -> str:
            context.remaining_ms = 1_000  # the first call took (almost) all the time
            return echo(request)

        bedrock.responder = responder
        configure(
            store=tables.store,
            normalizer=make_normalizer(backend, batch_size=2),
            stop_before_timeout_ms=5_000,
            telemetry="plain",
        )
        leads = [messy_lead(n) for n in (1, 2, 3)]
        tables.put(*leads)
        report = handler(load_event("eventbridge_scheduled"), context)["report"]
        assert report["stopped_early"] == "deadline"
        assert len(bedrock.requests) == 1
        assert report["records_saved"] == 2
        assert report["records_deferred"] == 1
        assert tables.item("lead-3") == leads[2]
        assert get_runtime().normalizer.stop_when is None  # restored after the invocation

    def test_stream_records_cut_off_are_retried(
        self, tables: Tables, backend: BedrockBackend, bedrock: BedrockWireServer
    ) -> None:
        """Stream records whose leads the deadline kept from the model are reported failed."""
        context = FakeContext(remaining_ms=60_000)

        def responder(request: ModelRequest) -> str:
            context.remaining_ms = 1_000
            return echo(request)

        bedrock.responder = responder
        configure(
            store=tables.store,
            normalizer=make_normalizer(backend, batch_size=2),
            stop_before_timeout_ms=5_000,
            telemetry="plain",
        )
        leads = [messy_lead(n) for n in (1, 2, 3)]
        tables.put(*leads)
        event = stream_event(
            *(
                stream_record("INSERT", lead["leadId"], f"{400 + n}", new=lead)
                for n, lead in enumerate(leads)
            )
        )
        assert handler(event, context) == {"batchItemFailures": [{"itemIdentifier": "402"}]}

    def test_threshold_is_at_most_half_the_time(
        self, tables: Tables, runtime_on: Normalizer, bedrock: BedrockWireServer
    ) -> None:
        """A threshold above half the invocation's time is halved, so short functions still work."""
        tables.put(messy_lead(1))
        report = handler({}, FakeContext(remaining_ms=10_000))["report"]
        assert report["stopped_early"] is None
        assert report["records_saved"] == 1


class TestRuntime:
    def test_built_from_the_environment_once(
        self,
        tables: Tables,
        bedrock: BedrockWireServer,
        monkeypatch: pytest.MonkeyPatch,
        tmp_path: Any,
    ) -> None:
        """Without configure(), the first invocation builds the clients from the environment."""
        for name, value in {
            "LEADS_TABLE": tables.leads,
            "CONFIG_TABLE": tables.config,
            "AWS_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "AKIATESTTESTTESTTEST",
            "AWS_SECRET_ACCESS_KEY": "test-secret-key",
            "AWS_ENDPOINT_URL_DYNAMODB": tables.endpoint,
            "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": bedrock.endpoint_url,
            "AWS_CONFIG_FILE": str(tmp_path / "none"),
            "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
            "BEDROCK_MODEL_ID": "anthropic.claude-3-haiku-20240307-v1:0",
        }.items():
            monkeypatch.setenv(name, value)
        monkeypatch.delenv("AWS_PROFILE", raising=False)
        tables.put(messy_lead(1))
        report = handler(load_event("eventbridge_scheduled"), FakeContext())["report"]
        assert report["records_saved"] == 1
        assert report["model_id"] == "anthropic.claude-3-haiku-20240307-v1:0"
        assert bedrock.requests
        runtime = get_runtime()
        handler({}, FakeContext())
        assert get_runtime() is runtime
        assert runtime.store.table_name == tables.leads  # type: ignore[attr-defined]

    def test_rules_backend(self, tables: Tables, monkeypatch: pytest.MonkeyPatch) -> None:
        """NORMALIZATION_BACKEND=rules runs without a model."""
        monkeypatch.setenv("NORMALIZATION_BACKEND", "rules")
        runtime = configure(store=tables.store, telemetry="plain")
        assert runtime.normalizer.backend is None
        tables.put(messy_lead(1))
        assert handler({})["report"]["model_calls"] == 0

    @pytest.mark.parametrize(
        ("variable", "value"),
        [
            ("NORMALIZATION_BACKEND", "openai"),
            ("BEDROCK_API", "chat"),
            ("STOP_BEFORE_TIMEOUT_MS", "soon"),
            ("API_DEADLINE_MS", "-5"),
            ("LOG_LEVEL", "LOUD"),
            ("BATCH_SIZE", "0"),
        ],
    )
    def test_bad_environment(
        self, variable: str, value: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A bad environment variable is a ConfigurationError naming it, not a value."""
        monkeypatch.setenv(variable, value)
        with pytest.raises(ConfigurationError):
            configure(store=MemoryLeadStore(), telemetry="plain")
        assert aws_lambda._runtime is None

    def test_normalizer_and_backend_exclusive(self, backend: BedrockBackend) -> None:
        """configure() takes a normalizer or a backend, not both."""
        with pytest.raises(ConfigurationError, match="not both"):
            configure(store=MemoryLeadStore(), normalizer=make_normalizer(None), backend=backend)

    def test_configure_with_a_backend_and_memory_store(
        self, backend: BedrockBackend, bedrock: BedrockWireServer
    ) -> None:
        """Teams inject their own store and backend; the rest comes from the environment."""
        store = MemoryLeadStore([messy_lead(1)])
        configure(store=store, backend=backend, telemetry="plain")
        assert handler({})["report"]["records_saved"] == 1
        assert bedrock.requests

    def test_import_is_light(self) -> None:
        """Importing the module loads neither boto3 nor powertools."""
        code = (
            "import sys, llm_normalize.aws_lambda\n"
            "print(','.join(m for m in ('boto3', 'botocore', 'aws_lambda_powertools')"
            " if m in sys.modules))"
        )
        result = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        )
        assert result.stdout.strip() == ""

    def test_reset_restores_logging(self, tables: Tables) -> None:
        """The runtime routes the library's loggers to its JSON handler, and reset undoes it."""
        library = logging.getLogger("llm_normalize")
        before = (library.level, library.propagate, list(library.handlers))
        configure(store=tables.store, normalizer=make_normalizer(None), telemetry="plain")
        configure(store=tables.store, normalizer=make_normalizer(None), telemetry="powertools")
        assert library.propagate is False
        assert len(library.handlers) == len(before[2]) + 1
        reset_runtime()
        assert (library.level, library.propagate, list(library.handlers)) == before


@pytest.mark.parametrize("telemetry", ["plain", "powertools"])
class TestTelemetry:
    def test_json_logs_and_emf(
        self,
        telemetry: Any,
        tables: Tables,
        backend: BedrockBackend,
        monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        """Every line is JSON with the invocation's keys; one EMF document per invocation."""
        monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "TestNamespace")
        configure(store=tables.store, normalizer=make_normalizer(backend), telemetry=telemetry)
        assert get_runtime().telemetry == telemetry
        tables.put(messy_lead(1))
        handler(load_event("eventbridge_scheduled"), FakeContext())
        out = capsys.readouterr().out
        lines = [line for line in out.splitlines() if line.strip()]
        assert all(line.startswith("{") for line in lines)
        [doc] = emf_documents(out)
        [directive] = doc["_aws"]["CloudWatchMetrics"]
        assert directive["Namespace"] == "TestNamespace"
        assert directive["Dimensions"] == [["service"]]
        names = {m["Name"] for m in directive["Metrics"]}
        assert names >= {
            "LeadsProcessed",
            "NormalizationErrors",
            "Duration",
            "InputTokens",
            "OutputTokens",
            "EstimatedCostUSD",
            "ModelCalls",
            "CacheHits",
        }
        assert doc["service"] == "llm-normalize"
        assert doc["trigger"] == "schedule"
        assert metric(out, "LeadsProcessed") == 1
        assert metric(out, "EstimatedCostUSD") > 0
        logs = [line for line in json_lines(out) if "_aws" not in line]
        [finished] = [line for line in logs if line["message"] == "invocation finished"]
        assert finished["function_request_id"] == FakeContext.aws_request_id
        assert finished["trigger"] == "schedule"
        assert finished["cold_start"] is True
        assert finished["report"]["records_saved"] == 1


CANARY = "ZZCANARY"


def canary_lead(number: int) -> dict[str, Any]:
    return {
        "leadId": f"lead-{number}",
        "nombres": f"{CANARY} JUAN",
        "apellidos": f"{CANARY} PEREZ",
        "direccion": f"CRA 15 {CANARY} 100",
        "ciudad": f"{CANARY} {number}",
        "nivelEducativo": CANARY,
        "ocupacionActual": f"{CANARY} ingeniero",
        "empresa": f"{CANARY} SAS",
        "email": f"{CANARY.lower()}@example.com",
        "telefono": f"300{CANARY}",
        "updatedAt": BASE_MS + number,
    }


@pytest.mark.parametrize("telemetry", ["plain", "powertools"])
def test_no_pii_in_logs_or_metrics(
    telemetry: Any,
    tables: Tables,
    backend: BedrockBackend,
    bedrock: BedrockWireServer,
    capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Every trigger, failures included, at DEBUG: no canary value in any log line or metric."""
    configure(store=tables.store, normalizer=make_normalizer(backend), telemetry=telemetry)
    library = logging.getLogger("llm_normalize")
    library.setLevel(logging.DEBUG)
    library.addHandler(caplog.handler)
    caplog.handler.setLevel(logging.DEBUG)
    try:
        tables.put(*(canary_lead(n) for n in range(6)))
        context = FakeContext()
        bedrock.fail_next(400)  # a model call that fails for good
        handler(load_event("eventbridge_scheduled"), context)
        api = with_groups(load_event("apigateway_rest_admin"), "viewers")
        api["requestContext"]["authorizer"]["claims"]["email"] = f"{CANARY}@example.com"
        handler(api, context)
        handler(load_event("apigateway_http_admin"), context)
        items = [tables.item(f"lead-{n}") for n in range(6)]
        edited = dict(canary_lead(1), ciudad=f"{CANARY} otra", updatedAt=BASE_MS + 100)
        tables.put(edited)
        tables.store.fail_saves = {"lead-1"}
        handler(
            stream_event(
                stream_record("MODIFY", "lead-1", "1", old=items[1], new=edited),
                stream_record("MODIFY", "lead-2", "2", old=canary_lead(2), new=items[2]),
            ),
            context,
        )
        handler(sqs_event('{"leadIds": ["lead-1"]}', f'{{"leadId": {CANARY}}}'), context)
        tables.store.fail_selection = ValueError(f"{CANARY} in an exception")
        with pytest.raises(InvocationError):
            handler({"forceAll": True}, context)
        handler({"forceAll": f"{CANARY}"}, context)
    finally:
        library.removeHandler(caplog.handler)
    captured = capfd.readouterr()
    text = "\n".join(
        [captured.out, captured.err, *(record.getMessage() for record in caplog.records)]
        + [json.dumps(vars(record), default=str) for record in caplog.records]
    )
    assert len(emf_documents(captured.out)) == 7
    assert "invocation finished" in text
    assert CANARY.lower() not in text.lower()
