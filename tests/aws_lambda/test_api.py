"""The admin API behind API Gateway (REST and HTTP API): routes, Cognito groups, queries."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest

from aws_lambda.support import (
    FakeContext,
    Tables,
    load_event,
    make_normalizer,
    messy_lead,
    with_groups,
)
from bedrock_server import BedrockWireServer
from llm_normalize.aws_lambda import configure, handler
from llm_normalize.backends.bedrock import BedrockBackend

if TYPE_CHECKING:
    from llm_normalize.pipeline import Normalizer


def without_claims(event: dict[str, Any]) -> dict[str, Any]:
    if "jwt" in event["requestContext"]["authorizer"]:
        del event["requestContext"]["authorizer"]  # an HTTP API route without authorizer
    else:
        event["requestContext"]["authorizer"] = None
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
        )
        tables.put(messy_lead(1))
        response = handler(load_event(fixture), FakeContext())
        report = json.loads(response["body"])["report"]
        assert response["statusCode"] == 200
        assert report["stopped_early"] == "deadline"
        assert report["records_deferred"] == 1
        assert not bedrock.requests
        assert tables.item("lead-1") == messy_lead(1)
