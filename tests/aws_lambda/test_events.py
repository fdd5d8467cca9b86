"""What arrived: each AWS event shape recognised, stream records and SQS bodies read."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from aws_lambda.support import CANARY, load_event, stream_record
from llm_normalize.aws_lambda import event_kind
from llm_normalize.aws_lambda.events import (
    StreamRecord,
    UnusableRecord,
    parse_sqs_body,
    parse_stream_record,
    stream_verdict,
)


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


class TestStreamRecords:
    def test_images_decode_like_the_store(self) -> None:
        """Images come out as the store hands items out: int or float, sorted sets, no Decimal."""
        new = {"leadId": "lead-1", "n": 2, "x": Decimal("1.5"), "tags": {"web", "form"}}
        parsed = parse_stream_record(stream_record("INSERT", "lead-1", "7", new=new))
        assert parsed == StreamRecord(
            "INSERT",
            "lead-1",
            "7",
            None,
            {"leadId": "lead-1", "n": 2, "x": 1.5, "tags": ["form", "web"]},
        )
        assert type(parsed.new["n"]) is int  # type: ignore[index]

    def test_malformed_image_names_the_attribute_not_the_value(self) -> None:
        """A malformed attribute makes the record unusable; the message names it, not its value."""
        record = stream_record("INSERT", "lead-1", "7", new={"leadId": "lead-1"})
        record["dynamodb"]["NewImage"]["ciudad"] = {"N": CANARY}
        with pytest.raises(UnusableRecord, match="NewImage: attribute 'ciudad'") as raised:
            parse_stream_record(record)
        assert CANARY not in str(raised.value)

    @pytest.mark.parametrize(
        ("name", "old", "new", "verdict"),
        [
            ("INSERT", None, {"ciudad": "x"}, "normalize"),
            ("MODIFY", {"ciudad": "x"}, {"ciudad": "y"}, "normalize"),
            ("MODIFY", {"ciudad": "x"}, {"ciudad": "x", "normalizedAt": 1}, "own_write"),
            ("MODIFY", {"status": "a"}, {"status": "b"}, "unchanged"),
            ("MODIFY", None, {"normalizedAt": 5, "updatedAt": 5}, "own_write"),
            ("MODIFY", None, {"normalizedAt": 5, "updatedAt": 6}, "normalize"),
        ],
    )
    def test_verdicts(
        self, name: str, old: dict[str, Any] | None, new: dict[str, Any], verdict: str
    ) -> None:
        """Edits of a field to normalize ask for it; our own write-backs and other edits do not."""
        assert stream_verdict(name, old, new, ["ciudad"]) == verdict


class TestSqsBodies:
    def test_both_shapes_deduplicated(self) -> None:
        """leadIds (deduplicated, in order) or leadId, and forceAll."""
        assert parse_sqs_body('{"leadIds": ["b", "a", "b"]}') == (["b", "a"], False)
        assert parse_sqs_body('{"leadId": "a", "forceAll": true}') == (["a"], True)

    def test_malformed_body(self) -> None:
        """A body that is not such a message is unusable, without quoting it."""
        with pytest.raises(UnusableRecord, match="not JSON") as raised:
            parse_sqs_body(f"{CANARY} not json")
        assert CANARY not in str(raised.value)
