"""NORMALIZATION_BACKEND=openai in the Lambda: an OpenAI-compatible server, its URL and API key.

The runtime is built from the environment as in Lambda. The model is the OpenAI wire server
(the real ``openai`` SDK talks to it over HTTP), the API key a Secrets Manager secret on moto's
server, the tables moto's DynamoDB.
"""

from __future__ import annotations

import json
import logging
import traceback
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from aws_lambda.support import FakeContext, Tables, load_event, messy_lead
from bedrock_server import echo
from dynamo_server import dynamodb_endpoint, is_external
from llm_normalize.aws_lambda import configure, handler, reset_runtime
from llm_normalize.aws_lambda import runtime as lambda_runtime
from llm_normalize.backends.base import ModelRequest
from llm_normalize.backends.openai import OpenAIBackend
from llm_normalize.exceptions import ConfigurationError
from llm_normalize.stores.memory import MemoryLeadStore
from openai_server import OpenAIWireServer

MODEL = "llama3.1:8b"
CANARY = "ZZCANARY"
KEY = f"sk-lambda-{CANARY}-5e1f0c"
"""The API key: it must never show up in an error, a traceback or a log line."""

SECRET_VAR = "OPENAI_API_KEY_SECRET_ARN"
MISSING_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:llm-normalize-none-AbCdEf"

LogText = Callable[[], str]


def fixing_bogota(request: ModelRequest) -> str:
    """The model: "bogta" and "bgota" become "Bogotá D.C."; other values come back unchanged."""
    answer = json.loads(echo(request))
    for item in answer["items"]:
        if item["value"] in ("bogta", "bgota"):
            item["value"] = "Bogotá D.C."
    return json.dumps(answer, ensure_ascii=False)


def bogta_lead(number: int) -> dict[str, Any]:
    """A lead whose city the rules leave to the model."""
    return messy_lead(number, ciudad="bogta")


def authorizations(server: OpenAIWireServer) -> set[str]:
    """The Authorization headers the server received."""
    return {
        value
        for request in server.requests
        for name, value in request.headers.items()
        if name.lower() == "authorization"
    }


# -- fixtures ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def aws_endpoint() -> Iterator[str]:
    """moto's server for Secrets Manager: the tests' own, or one of ours if DynamoDB is elsewhere."""
    endpoint = dynamodb_endpoint()
    if not is_external(endpoint):
        yield endpoint
        return
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


class Secrets:
    """Secrets on moto, each with a name no other test uses; all deleted at the end."""

    def __init__(self, endpoint: str) -> None:
        import boto3.session

        self.client: Any = boto3.session.Session().client(
            "secretsmanager",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        self.arns: list[str] = []

    def create(self, value: str | bytes | None) -> str:
        """A new secret holding `value` (`None`: a secret without any value); its ARN."""
        options: dict[str, Any] = {"Name": f"llm-normalize-test-{uuid.uuid4().hex[:12]}"}
        if isinstance(value, str):
            options["SecretString"] = value
        elif isinstance(value, bytes):
            options["SecretBinary"] = value
        # botocore logs request bodies at DEBUG: the test's own call must not fill the logs
        # the tests search for the key.
        logging.disable(logging.CRITICAL)
        try:
            arn: str = self.client.create_secret(**options)["ARN"]
        finally:
            logging.disable(logging.NOTSET)
        self.arns.append(arn)
        return arn

    def delete(self, arn: str) -> None:
        self.client.delete_secret(SecretId=arn, ForceDeleteWithoutRecovery=True)
        self.arns.remove(arn)

    def close(self) -> None:
        for arn in list(self.arns):
            self.delete(arn)
        self.client.close()


@pytest.fixture(scope="module")
def secrets(aws_endpoint: str) -> Iterator[Secrets]:
    made = Secrets(aws_endpoint)
    yield made
    made.close()


@pytest.fixture
def server() -> Iterator[OpenAIWireServer]:
    with OpenAIWireServer(fixing_bogota) as started:
        yield started


@pytest.fixture(autouse=True)
def openai_env(monkeypatch: pytest.MonkeyPatch, aws_endpoint: str, tmp_path: Path) -> None:
    """The function's environment: the openai backend, AWS on moto, no key or URL yet."""
    for name, value in {
        "NORMALIZATION_BACKEND": "openai",
        "BEDROCK_MODEL_ID": MODEL,
        "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "AKIATESTTESTTESTTEST",
        "AWS_SECRET_ACCESS_KEY": "test-secret-key",
        "AWS_ENDPOINT_URL_SECRETS_MANAGER": aws_endpoint,
        "AWS_CONFIG_FILE": str(tmp_path / "none"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
    }.items():
        monkeypatch.setenv(name, value)
    for name in (
        "AWS_PROFILE",
        "AWS_DEFAULT_REGION",
        "AWS_ENDPOINT_URL",
        "OPENAI_API_KEY",
        "OPENAI_BASE_URL",
        SECRET_VAR,
        "OPENAI_ORG_ID",
        "OPENAI_PROJECT_ID",
        "ANSWER_MODE",
    ):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def on_tables(tables: Tables, monkeypatch: pytest.MonkeyPatch) -> Tables:
    """The function's tables from the environment too, as in Lambda."""
    monkeypatch.setenv("LEADS_TABLE", tables.leads)
    monkeypatch.setenv("CONFIG_TABLE", tables.config)
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", tables.endpoint)
    return tables


@pytest.fixture
def logs(
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[LogText]:
    """Everything logged at DEBUG, botocore's own loggers included, and printed; as text."""
    monkeypatch.setenv("LOG_LEVEL", "DEBUG")
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="botocore")
    library = logging.getLogger("llm_normalize")
    library.addHandler(caplog.handler)

    def text() -> str:
        captured = capfd.readouterr()
        return "\n".join(
            [captured.out, captured.err]
            + [record.getMessage() for record in caplog.records]
            + [json.dumps(vars(record), default=str) for record in caplog.records]
        )

    yield text
    # Before caplog restores botocore's level: the runtime restores what it saw at install.
    reset_runtime()
    library.removeHandler(caplog.handler)


def no_sessions(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make building a boto3 session fail the test."""

    def refuse(self: object) -> Any:
        raise AssertionError("a boto3 session was built")

    monkeypatch.setattr(lambda_runtime._Sessions, "get", refuse)


def refused(logs: LogText, *fragments: str) -> ConfigurationError:
    """Building the runtime fails with a ConfigurationError naming `fragments`, no secret."""
    with pytest.raises(ConfigurationError) as raised:
        configure(store=MemoryLeadStore())
    assert lambda_runtime._runtime is None
    message = str(raised.value)
    for fragment in fragments:
        assert fragment in message
    assert "\n" not in message  # one line
    assert CANARY not in "".join(traceback.format_exception(raised.value))
    assert CANARY not in logs()
    return raised.value


# -- end to end -------------------------------------------------------------------------------


class TestRuns:
    def test_scheduled_run_with_a_plain_secret(
        self,
        on_tables: Tables,
        server: OpenAIWireServer,
        secrets: Secrets,
        logs: LogText,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        """The daily run calls the server with the secret's key, and saves the model's answers."""
        monkeypatch.setenv(SECRET_VAR, secrets.create(KEY))
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        on_tables.put(bogta_lead(1), bogta_lead(2))
        report = handler(load_event("eventbridge_scheduled"), FakeContext())["report"]
        assert report["records_saved"] == 2
        assert report["model_id"] == MODEL
        assert report["model_calls"] == len(server.requests) >= 1
        assert {request.body["model"] for request in server.requests} == {MODEL}
        assert authorizations(server) == {f"Bearer {KEY}"}
        for number in (1, 2):
            item = on_tables.item(f"lead-{number}")
            assert item is not None
            assert item["normalizedData"]["ciudad"] == "Bogotá D.C."
            assert item["normalizationMeta"]["modelId"] == MODEL
            assert item["normalizationMeta"]["source"]["ciudad"] == "llm"
        text = logs()
        assert "invocation finished" in text
        assert CANARY not in text

    def test_direct_run_with_a_json_secret(
        self,
        on_tables: Tables,
        server: OpenAIWireServer,
        secrets: Secrets,
        logs: LogText,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        """A JSON secret gives its api_key; a direct invocation runs on the server too."""
        arn = secrets.create(json.dumps({"api_key": KEY, "owner": "data-team"}))
        monkeypatch.setenv(SECRET_VAR, arn)
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        on_tables.put(bogta_lead(1))
        report = handler(load_event("direct_invocation"), FakeContext())["report"]
        assert report["records_saved"] == 1
        assert authorizations(server) == {f"Bearer {KEY}"}
        assert on_tables.item("lead-1")["normalizedData"]["ciudad"] == "Bogotá D.C."  # type: ignore[index]
        assert CANARY not in logs()

    def test_secret_read_once_per_container(
        self,
        on_tables: Tables,
        server: OpenAIWireServer,
        secrets: Secrets,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        """GetSecretValue runs once, on the runtime's one boto3 session; later runs reuse the key."""
        arn = secrets.create(KEY)
        monkeypatch.setenv(SECRET_VAR, arn)
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        reads: list[str] = []
        sessions: list[object] = []
        original = lambda_runtime._Sessions.get

        def counting(self: lambda_runtime._Sessions) -> Any:
            session = original(self)
            if session not in sessions:
                sessions.append(session)
                session.events.register(
                    "before-call.secrets-manager.GetSecretValue",
                    lambda **_: reads.append("read"),
                )
            return session

        monkeypatch.setattr(lambda_runtime._Sessions, "get", counting)
        on_tables.put(bogta_lead(1))
        assert handler({"forceAll": True}, FakeContext())["report"]["records_saved"] == 1
        secrets.delete(arn)  # a second read would now fail
        on_tables.put(messy_lead(2, ciudad="bgota"))  # not in the value cache: a model call
        assert handler({}, FakeContext())["report"]["records_saved"] == 1
        assert reads == ["read"]
        assert len(sessions) == 1  # the store's DynamoDB client and the secret's share it
        assert authorizations(server) == {f"Bearer {KEY}"}
        assert len(server.requests) == 2

    def test_stored_model_id_wins(
        self, on_tables: Tables, server: OpenAIWireServer, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """The config item's modelId picks the model at run time, as it does for Bedrock."""
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        on_tables.set_config(modelId="qwen2.5:7b")
        on_tables.put(bogta_lead(1))
        report = handler(load_event("eventbridge_scheduled"), FakeContext())["report"]
        assert report["model_id"] == "qwen2.5:7b"
        assert {request.body["model"] for request in server.requests} == {"qwen2.5:7b"}


class TestApiKey:
    def test_key_from_the_environment_without_boto3(
        self, server: OpenAIWireServer, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """OPENAI_API_KEY is used as is; without a secret no boto3 session is built."""
        no_sessions(monkeypatch)
        monkeypatch.setenv("OPENAI_API_KEY", KEY)
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        store = MemoryLeadStore([bogta_lead(1)])
        configure(store=store)
        assert handler({})["report"]["records_saved"] == 1
        assert authorizations(server) == {f"Bearer {KEY}"}
        assert store.get("lead-1")["normalizedData"]["ciudad"] == "Bogotá D.C."  # type: ignore[index]

    def test_local_server_needs_no_key(
        self, server: OpenAIWireServer, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """With a base URL and no key at all, the backend's placeholder key is sent."""
        no_sessions(monkeypatch)
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        configure(store=MemoryLeadStore([bogta_lead(1)]))
        assert handler({})["report"]["records_saved"] == 1
        assert authorizations(server) == {"Bearer not-needed"}

    @pytest.mark.parametrize("base_url", [None, "  "])
    def test_openai_itself_without_a_base_url(
        self, base_url: str | None, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """No (or a blank) OPENAI_BASE_URL is OpenAI itself."""
        monkeypatch.setenv("OPENAI_API_KEY", KEY)
        if base_url is not None:
            monkeypatch.setenv("OPENAI_BASE_URL", base_url)
        backend = configure(store=MemoryLeadStore()).normalizer.backend
        assert isinstance(backend, OpenAIBackend)
        assert backend.host == "api.openai.com"
        assert backend.model_id == MODEL

    def test_https_url_with_a_port(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("OPENAI_BASE_URL", "https://llm.example.com:8443/v1")
        backend = configure(store=MemoryLeadStore()).normalizer.backend
        assert isinstance(backend, OpenAIBackend)
        assert backend.host == "llm.example.com:8443"
        assert str(backend.client.base_url) == "https://llm.example.com:8443/v1/"

    def test_runtime_close_closes_the_client(
        self, server: OpenAIWireServer, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        backend = configure(store=MemoryLeadStore()).normalizer.backend
        assert isinstance(backend, OpenAIBackend)
        assert not backend.client.is_closed()
        reset_runtime()
        assert backend.client.is_closed()

    def test_default_model_id_is_warned_about(
        self, server: OpenAIWireServer, monkeypatch: pytest.MonkeyPatch, logs: LogText
    ) -> None:
        """The Bedrock default is no model of an OpenAI-compatible server: a warning says so."""
        monkeypatch.delenv("BEDROCK_MODEL_ID")
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        configure(store=MemoryLeadStore())
        assert "BEDROCK_MODEL_ID" in logs()


# -- every way to get it wrong ----------------------------------------------------------------


class TestErrors:
    @pytest.mark.parametrize("name", ["fake", "FAKE", "openia", "anthropic"])
    def test_bad_backend_name(
        self, name: str, logs: LogText, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """The fake (it echoes values into the leads table) and unknown names are refused."""
        monkeypatch.setenv("NORMALIZATION_BACKEND", name)
        monkeypatch.setenv("OPENAI_API_KEY", KEY)
        refused(logs, "NORMALIZATION_BACKEND", "'bedrock', 'openai' or 'rules'")

    @pytest.mark.parametrize(
        "url",
        [
            "ftp://llm.example.com/v1",
            "llm.example.com/v1",
            "http://",
            "https:///v1",
            f"https://user:{KEY}@llm.example.com/v1",
            f"https://{KEY}@llm.example.com/v1",
            "http://llm.example.com:99999/v1",
            "http://llm.example.com:port/v1",
            "http://llm example.com/v1",
            f"file:///{CANARY}",
        ],
    )
    def test_bad_base_url(self, url: str, logs: LogText, monkeypatch: pytest.MonkeyPatch) -> None:
        """A bad URL names the variable and what it must be, never the URL (it may hold a key)."""
        monkeypatch.setenv("OPENAI_BASE_URL", url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-fine")
        refused(logs, "OPENAI_BASE_URL", "http:// or https:// URL")

    def test_no_key_and_no_base_url(self, logs: LogText) -> None:
        """OpenAI itself needs a key: the message names both ways to give one, and the URL."""
        refused(logs, SECRET_VAR, "OPENAI_API_KEY", "OPENAI_BASE_URL")

    def test_key_and_secret_together(
        self, secrets: Secrets, logs: LogText, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv(SECRET_VAR, secrets.create(KEY))
        monkeypatch.setenv("OPENAI_API_KEY", KEY)
        refused(logs, SECRET_VAR, "OPENAI_API_KEY", "not both")

    @pytest.mark.parametrize("value", ["missing", None, "deleted"])
    def test_missing_secret(
        self,
        value: str | None,
        secrets: Secrets,
        logs: LogText,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        """No such secret, or one without a value: the fix is to create it or fix the ARN."""
        if value == "missing":
            arn = MISSING_ARN
        else:
            arn = secrets.create(None if value is None else KEY)
            if value == "deleted":
                secrets.delete(arn)
        monkeypatch.setenv(SECRET_VAR, arn)
        refused(logs, SECRET_VAR, "does not exist", "create it")

    @pytest.mark.parametrize("value", ["   ", " \n\t ", b"binary " + KEY.encode()])
    def test_empty_or_binary_secret(
        self,
        value: str | bytes,
        secrets: Secrets,
        logs: LogText,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        monkeypatch.setenv(SECRET_VAR, secrets.create(value))
        refused(logs, SECRET_VAR, "empty or binary")

    @pytest.mark.parametrize(
        "value",
        [
            json.dumps({"token": KEY}),
            json.dumps({"api_key": ""}),
            json.dumps({"api_key": "   ", "token": KEY}),
            json.dumps({"api_key": [KEY]}),
            json.dumps({"API_KEY": KEY}),
            "{api_key: " + KEY + "}",
        ],
    )
    def test_json_secret_without_api_key(
        self, value: str, secrets: Secrets, logs: LogText, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """JSON without a usable api_key (or broken JSON) is refused, without quoting it."""
        monkeypatch.setenv(SECRET_VAR, secrets.create(value))
        refused(logs, SECRET_VAR, '"api_key"')

    @pytest.mark.parametrize("value", [f"Bearer {KEY}", f"{KEY}\n{KEY}", f"{KEY}é"])
    def test_key_an_http_header_cannot_carry(
        self, value: str, secrets: Secrets, logs: LogText, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """The HTTP client would quote such a key in its error: refused up front."""
        monkeypatch.setenv(SECRET_VAR, secrets.create(value))
        refused(logs, SECRET_VAR, "store the key alone")

    def test_bad_key_in_the_environment(
        self, logs: LogText, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("OPENAI_API_KEY", f"{KEY} {KEY}")
        refused(logs, "OPENAI_API_KEY", "store the key alone")

    @pytest.mark.parametrize(
        ("code", "fix"),
        [
            ("AccessDeniedException", "secretsmanager:GetSecretValue"),
            ("DecryptionFailure", "kms:Decrypt"),
            ("InternalServiceError", "InternalServiceError"),
        ],
    )
    def test_secret_not_readable(
        self, code: str, fix: str, logs: LogText, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Secrets Manager's refusals (moto grants everything: a stubbed client here)."""
        import boto3.session
        from botocore.stub import Stubber

        client = boto3.session.Session().client(
            "secretsmanager",
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        stubber = Stubber(client)
        stubber.add_client_error(
            "get_secret_value",
            service_error_code=code,
            service_message="not for you",
            http_status_code=400,
            expected_params={"SecretId": MISSING_ARN},
        )
        stubber.activate()

        class StubbedSession:
            def client(self, service: str, **options: Any) -> Any:
                assert service == "secretsmanager"
                assert options["region_name"] == "us-east-1"
                return client

        monkeypatch.setattr(lambda_runtime._Sessions, "get", lambda self: StubbedSession())
        monkeypatch.setenv(SECRET_VAR, MISSING_ARN)
        refused(logs, SECRET_VAR, fix)
        stubber.assert_no_pending_responses()

    def test_secret_name_without_a_region(
        self, logs: LogText, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A secret name (not an ARN) needs the function's region; botocore errors are named."""
        monkeypatch.delenv("AWS_REGION")
        monkeypatch.setenv(SECRET_VAR, "llm-normalize/openai-api-key")
        refused(logs, SECRET_VAR, "NoRegionError")

    def test_secret_region_comes_from_the_arn(
        self, secrets: Secrets, server: OpenAIWireServer, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A full ARN is read in its own region, whatever the function's."""
        monkeypatch.setenv("AWS_REGION", "eu-west-1")
        monkeypatch.setenv(SECRET_VAR, secrets.create(KEY))
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        configure(store=MemoryLeadStore([bogta_lead(1)]))
        assert handler({})["report"]["records_saved"] == 1
        assert authorizations(server) == {f"Bearer {KEY}"}
