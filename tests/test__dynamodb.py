"""The shared DynamoDB helpers: the codec, error translation, the client factory.

Pure functions and a context manager, so no server: errors are built as botocore raises
them. The store and cache suites run the same code against moto over HTTP.
"""

from __future__ import annotations

import base64
import math
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from botocore import exceptions as bx
from hypothesis import given
from hypothesis import strategies as st

from llm_normalize._aws import SETUP_BOTOCORE_ERRORS, SETUP_ERROR_CODES
from llm_normalize._dynamodb import (
    build_client,
    client_or_build,
    error_kind,
    is_setup_error,
    item_from_wire,
    item_to_wire,
    translate_errors,
    value_from_wire,
)
from llm_normalize.exceptions import ConfigurationError, StorageError

SECRET = "Juan SECRETO"


def client_error(code: str | None, status: int | None = 400) -> bx.ClientError:
    """A ClientError shaped as botocore raises it, its service message quoting a value."""
    response: dict[str, Any] = {"Error": {"Message": f"bad value {SECRET}"}}
    if code is not None:
        response["Error"]["Code"] = code
    if status is not None:
        response["ResponseMetadata"] = {"HTTPStatusCode": status}
    return bx.ClientError(response, "UpdateItem")  # type: ignore[arg-type]


def no_decimals(value: Any) -> bool:
    if isinstance(value, Decimal):
        return False
    if isinstance(value, dict):
        return all(no_decimals(v) for v in value.values())
    if isinstance(value, list):
        return all(no_decimals(v) for v in value)
    return True


def same(back: Any, sent: Any) -> bool:
    """Equal, a float compared with what came back as a float (its printed digits are stored)."""
    if isinstance(sent, float):
        return isinstance(back, int | float) and float(back) == sent
    if isinstance(sent, dict):
        return (
            isinstance(back, dict)
            and back.keys() == sent.keys()
            and all(same(back[k], v) for k, v in sent.items())
        )
    if isinstance(sent, list):
        return (
            isinstance(back, list)
            and len(back) == len(sent)
            and all(same(b, s) for b, s in zip(back, sent, strict=True))
        )
    return type(back) is type(sent) and back == sent


class TestTranslateErrors:
    @pytest.mark.parametrize(
        ("code", "status"),
        [
            ("ProvisionedThroughputExceededException", 400),
            ("ThrottlingException", 400),
            ("RequestLimitExceeded", 400),
            ("ValidationException", 400),
            ("ConditionalCheckFailedException", 400),
            ("ResourceNotFoundException", 400),
            ("ResourceInUseException", 400),
            ("AccessDeniedException", 400),
            ("UnrecognizedClientException", 400),
            ("ItemCollectionSizeLimitExceededException", 400),
            ("InternalServerError", 500),
            ("ServiceUnavailable", 503),
        ],
    )
    def test_client_errors_name_operation_table_lead_code_and_status(
        self, code: str, status: int
    ) -> None:
        """Every service error becomes a StorageError with the code and HTTP status, from it."""
        error = client_error(code, status)
        with (
            pytest.raises(StorageError) as info,
            translate_errors("UpdateItem", "leads", lead_id="lead-1"),
        ):
            raise error
        assert str(info.value) == (
            f"DynamoDB UpdateItem on table 'leads' for lead 'lead-1' failed: {code}, HTTP {status}"
        )
        assert info.value.__cause__ is error
        assert "SECRETO" not in str(info.value)

    def test_without_lead_code_or_status(self) -> None:
        """No lead id, no error code, no status: the message says only what it knows."""
        with pytest.raises(StorageError) as info, translate_errors("Scan", "leads"):
            raise client_error(None, None)
        assert str(info.value) == "DynamoDB Scan on table 'leads' failed: Unknown"

    @pytest.mark.parametrize(
        "error",
        [
            bx.EndpointConnectionError(endpoint_url="http://127.0.0.1:9"),
            bx.ReadTimeoutError(endpoint_url="http://127.0.0.1:9"),
            bx.ConnectTimeoutError(endpoint_url="http://127.0.0.1:9"),
            bx.ParamValidationError(report=f"Invalid type for parameter Item, value: {SECRET}"),
            bx.NoCredentialsError(),
            bx.NoRegionError(),
            bx.WaiterError(name="TableExists", reason=SECRET, last_response={}),
        ],
        ids=type,
    )
    def test_botocore_errors_name_only_their_class(self, error: bx.BotoCoreError) -> None:
        """botocore's own errors become a StorageError naming the class, never the message."""
        with (
            pytest.raises(StorageError) as info,
            translate_errors("PutItem", "cache", lead_id="x"),
        ):
            raise error
        name = type(error).__name__
        assert str(info.value) == f"DynamoDB PutItem on table 'cache' for lead 'x' failed: {name}"
        assert info.value.__cause__ is error
        assert "SECRETO" not in str(info.value)

    def test_other_exceptions_pass_through(self) -> None:
        """An exception that is not botocore's is raised unchanged."""
        error = KeyError("leadId")
        with pytest.raises(KeyError) as info, translate_errors("Scan", "leads"):
            raise error
        assert info.value is error

    def test_no_error_no_effect(self) -> None:
        """A block that succeeds runs to the end."""
        ran = []
        with translate_errors("Scan", "leads"):
            ran.append(1)
        assert ran == [1]


class TestSetupErrors:
    @pytest.mark.parametrize("code", sorted(SETUP_ERROR_CODES))
    def test_setup_codes(self, code: str) -> None:
        """Access, credential and missing-resource codes say the setup is wrong."""
        assert is_setup_error(client_error(code))
        assert error_kind(client_error(code)) == code

    @pytest.mark.parametrize(
        "code", ["ProvisionedThroughputExceededException", "InternalServerError", None]
    )
    def test_transient_codes(self, code: str | None) -> None:
        """Throttling, 5xx and unknown codes are not setup errors."""
        assert not is_setup_error(client_error(code))

    def test_botocore_classes(self) -> None:
        """No credentials or no region is a setup error; a lost connection is not."""
        assert {"NoCredentialsError", "NoRegionError"} == SETUP_BOTOCORE_ERRORS
        assert is_setup_error(bx.NoCredentialsError())
        assert is_setup_error(bx.NoRegionError())
        assert not is_setup_error(bx.EndpointConnectionError(endpoint_url="http://x"))
        assert error_kind(bx.NoCredentialsError()) == "NoCredentialsError"
        assert not is_setup_error(None)
        assert not is_setup_error(ValueError("x"))

    def test_bedrock_shares_the_codes(self) -> None:
        """The Bedrock backend refuses the same codes as the cache: one list."""
        from llm_normalize.backends import bedrock

        assert bedrock._DENIED_CODES is SETUP_ERROR_CODES


class TestDecoding:
    def test_client_item(self) -> None:
        """Every type decodes to a plain value: ints, floats, sorted sets, bytes, None."""
        raw = {
            "leadId": {"S": "lead-1"},
            "n": {"N": "3"},
            "whole": {"N": "1E+3"},
            "exact": {"N": "2.50"},
            "flag": {"BOOL": False},
            "nothing": {"NULL": True},
            "blob": {"B": b"\x00\x01"},
            "tags": {"SS": ["b", "a"]},
            "scores": {"NS": ["10", "1.5", "2"]},
            "blobs": {"BS": [b"b", b"a"]},
            "nested": {"M": {"l": {"L": [{"N": "1"}, {"M": {"x": {"N": "-0.25"}}}]}}},
        }
        item = item_from_wire(raw)
        assert item == {
            "leadId": "lead-1",
            "n": 3,
            "whole": 1000,
            "exact": 2.5,
            "flag": False,
            "nothing": None,
            "blob": b"\x00\x01",
            "tags": ["a", "b"],
            "scores": [1.5, 2, 10],
            "blobs": [b"a", b"b"],
            "nested": {"l": [1, {"x": -0.25}]},
        }
        assert type(item["n"]) is int
        assert type(item["whole"]) is int
        assert type(item["scores"][1]) is int
        assert no_decimals(item)

    def test_stream_image_binaries_are_base64(self) -> None:
        """A DynamoDB Streams image (JSON) carries binaries as base64 text."""
        encoded = base64.b64encode(b"hola").decode()
        assert item_from_wire({"b": {"B": encoded}, "bs": {"BS": [encoded]}}) == {
            "b": b"hola",
            "bs": [b"hola"],
        }

    def test_one_value(self) -> None:
        """value_from_wire decodes a single typed value."""
        assert value_from_wire({"N": "0.1"}) == 0.1
        with pytest.raises(ValueError, match="not well-formed"):
            value_from_wire({"N": SECRET})

    @pytest.mark.parametrize(
        "value",
        [
            {"S": 5},
            {"N": SECRET},
            {"N": "Infinity"},
            {"N": "NaN"},
            {"BOOL": "true"},
            {"B": "not base64 !"},
            {"B": 7},
            {"M": [SECRET]},
            {"L": {"S": SECRET}},
            {"SS": SECRET},
            {"NS": [SECRET]},
            {"ZZ": SECRET},
            {"S": SECRET, "N": "1"},
            {},
            SECRET,
            {"M": {"inner": {"S": None}}},
        ],
    )
    def test_malformed_values_name_the_attribute_only(self, value: Any) -> None:
        """Malformed DynamoDB JSON is a ValueError naming the attribute, never a value."""
        with pytest.raises(ValueError, match="attribute 'nombres'") as info:
            item_from_wire({"leadId": {"S": "x"}, "nombres": value})
        assert "SECRETO" not in str(info.value)

    @pytest.mark.parametrize("raw", [None, [("a", {"S": "b"})], SECRET])
    def test_not_a_mapping(self, raw: Any) -> None:
        """An item that is not a mapping is a ValueError without its content."""
        with pytest.raises(ValueError, match="must be a mapping") as info:
            item_from_wire(raw)
        assert "SECRETO" not in str(info.value)


class TestEncoding:
    def test_types(self) -> None:
        """Floats keep their printed digits, tuples are lists, an empty set is an empty list."""
        wire = item_to_wire(
            {
                "ratio": 0.1,
                "exact": Decimal("2.50"),
                "pair": (1, "a"),
                "empty": set(),
                "tags": {"b", "a"},
                "nested": {"x": [1e-7]},
                "blob": b"x",
            }
        )
        assert wire["ratio"] == {"N": "0.1"}
        assert wire["exact"] == {"N": "2.50"}
        assert wire["pair"] == {"L": [{"N": "1"}, {"S": "a"}]}
        assert wire["empty"] == {"L": []}
        assert sorted(wire["tags"]["SS"]) == ["a", "b"]
        assert wire["nested"] == {"M": {"x": {"L": [{"N": "1E-7"}]}}}
        assert wire["blob"] == {"B": b"x"}

    @pytest.mark.parametrize(
        ("value", "reason"),
        [
            (math.nan, "NaN or infinity"),
            (math.inf, "NaN or infinity"),
            (Decimal("NaN"), "NaN or infinity"),
            (10**40 + 1, "38 digits"),
            (object(), "unsupported type"),
            ({1: "x"}, "map key that is not a string"),
            ({"a", 1}, "unsupported type"),
        ],
    )
    def test_unstorable_values(self, value: Any, reason: str) -> None:
        """A value DynamoDB cannot hold is a ConfigurationError naming the attribute and why."""
        with pytest.raises(ConfigurationError) as info:
            item_to_wire({"score": value}, "item 3")
        message = str(info.value)
        assert message.startswith("item 3: attribute 'score' cannot be stored in DynamoDB: ")
        assert reason in message

    def test_attribute_names_must_be_strings(self) -> None:
        """A non-string attribute name is refused without showing it."""
        with pytest.raises(ConfigurationError, match="item: an attribute name is not a string"):
            item_to_wire({1: "x"})  # type: ignore[dict-item]

    @given(
        st.dictionaries(
            st.text(min_size=1, max_size=5),
            st.recursive(
                st.none()
                | st.booleans()
                | st.integers(-(10**37), 10**37)
                | st.floats(min_value=1e-100, max_value=1e100)
                | st.floats(min_value=-1e100, max_value=-1e-100)
                | st.just(0.0)
                | st.text(max_size=10)
                | st.binary(max_size=5),
                lambda inner: (
                    st.lists(inner, max_size=3)
                    | st.dictionaries(st.text(max_size=3), inner, max_size=3)
                ),
                max_leaves=8,
            ),
            max_size=4,
        )
    )
    def test_round_trip(self, item: dict[str, Any]) -> None:
        """What goes in comes back equal, integral numbers as int, never as Decimal."""
        back = item_from_wire(item_to_wire(item))
        assert same(back, item)
        assert no_decimals(back)


class TestClients:
    def test_no_region(self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
        """Without any region, building a client says how to give one."""
        for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
        with pytest.raises(ConfigurationError, match="no AWS region for DynamoDB") as info:
            build_client(region_name=None, endpoint_url=None)
        assert isinstance(info.value.__cause__, bx.NoRegionError)

    def test_built_client_retries_five_times(self) -> None:
        """A built client uses botocore's standard retry mode with 5 attempts."""
        client = build_client(region_name="us-east-1", endpoint_url="http://127.0.0.1:9")
        retries = client.meta.config.retries  # type: ignore[attr-defined]
        assert retries is not None
        assert retries["mode"] == "standard"
        assert retries["total_max_attempts"] == 6  # botocore's name: 5 retries after the first
        assert client.meta.endpoint_url == "http://127.0.0.1:9"
        client.close()

    def test_injected_client_is_used_as_is(self) -> None:
        """An injected client comes back unchanged; a region or endpoint with it is refused."""
        client = build_client(region_name="us-east-1", endpoint_url=None)
        assert client_or_build(client, region_name=None, endpoint_url=None) is client
        with pytest.raises(ConfigurationError, match="either client"):
            client_or_build(client, region_name=None, endpoint_url="http://x")
        client.close()
