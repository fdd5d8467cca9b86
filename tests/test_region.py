"""Where boto3 finds an AWS region, and what the error says when it finds none.

Checked against the installed botocore, from a clean environment: a region argument,
``AWS_DEFAULT_REGION``, the profile's ``region`` in the config file (profile from
``AWS_PROFILE`` or ``AWS_DEFAULT_PROFILE``). ``AWS_REGION`` is not one of them: only Lambda's
runtime reads it, itself. If botocore starts reading it, `test_aws_region_is_not_read`
fails, and `no_region_message` must say so.
"""

from __future__ import annotations

from pathlib import Path

import boto3.session
import pytest

from llm_normalize._aws import no_region_message
from llm_normalize._dynamodb import build_client
from llm_normalize.backends.bedrock import BedrockBackend
from llm_normalize.exceptions import ConfigurationError

_VARIABLES = (
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_DYNAMODB",
    "AWS_ENDPOINT_URL_BEDROCK_RUNTIME",
)


@pytest.fixture
def config_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A clean AWS environment whose config file (not yet written) is returned."""
    for name in _VARIABLES:
        monkeypatch.delenv(name, raising=False)
    path = tmp_path / "aws-config"
    monkeypatch.setenv("AWS_CONFIG_FILE", str(path))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "aws-credentials"))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    return path


def dynamodb_region() -> str:
    client = build_client(region_name=None, endpoint_url=None)
    try:
        return client.meta.region_name
    finally:
        client.close()


def dynamodb_error() -> str:
    with pytest.raises(ConfigurationError) as info:
        build_client(region_name=None, endpoint_url=None)
    return str(info.value)


class TestBotocoreSources:
    def test_argument(self, config_file: Path) -> None:
        """A region given as an argument wins."""
        client = build_client(region_name="sa-east-1", endpoint_url=None)
        assert client.meta.region_name == "sa-east-1"
        client.close()

    def test_aws_default_region(self, config_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """AWS_DEFAULT_REGION is read."""
        monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
        assert dynamodb_region() == "eu-west-1"

    def test_aws_region_is_not_read(
        self, config_file: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """AWS_REGION alone gives boto3 no region (the installed botocore reads only AWS_DEFAULT_REGION)."""
        monkeypatch.setenv("AWS_REGION", "eu-west-1")
        message = dynamodb_error()
        assert "AWS_REGION is set" in message
        assert "reads only AWS_DEFAULT_REGION" in message
        assert message.count("AWS_REGION") == 1  # said once, not again in the advice

    def test_default_profile(self, config_file: Path) -> None:
        """The default profile's region in the config file is read."""
        config_file.write_text("[default]\nregion = ap-south-1\n", encoding="utf-8")
        assert dynamodb_region() == "ap-south-1"

    @pytest.mark.parametrize("variable", ["AWS_PROFILE", "AWS_DEFAULT_PROFILE"])
    def test_named_profile(
        self, config_file: Path, monkeypatch: pytest.MonkeyPatch, variable: str
    ) -> None:
        """The region of the profile AWS_PROFILE (or AWS_DEFAULT_PROFILE) names is read."""
        config_file.write_text(
            "[default]\nregion = ap-south-1\n[profile etl]\nregion = ca-central-1\n",
            encoding="utf-8",
        )
        monkeypatch.setenv(variable, "etl")
        assert dynamodb_region() == "ca-central-1"

    def test_environment_beats_the_file(
        self, config_file: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """AWS_DEFAULT_REGION wins over the config file."""
        config_file.write_text("[default]\nregion = ap-south-1\n", encoding="utf-8")
        monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
        assert dynamodb_region() == "eu-west-1"


class TestMessage:
    def test_nothing_anywhere(self, config_file: Path) -> None:
        """No region anywhere: one line naming the argument, the variables and the missing file."""
        message = dynamodb_error()
        assert message == (
            "no AWS region for DynamoDB: none given (region_name, or ?region= in a "
            "dynamodb:// URL or --cache-table), AWS_DEFAULT_REGION and AWS_REGION are unset, "
            "and there "
            f"is no config file {str(config_file)!r} (profile 'default'); pass a region, "
            "set AWS_DEFAULT_REGION (boto3 does not read AWS_REGION), or give the profile one"
        )

    def test_profile_without_region(self, config_file: Path) -> None:
        """A profile with no region is named, with its file."""
        config_file.write_text("[default]\noutput = json\n", encoding="utf-8")
        message = dynamodb_error()
        assert f"profile 'default' in {str(config_file)!r} has no region" in message
        assert "\n" not in message

    def test_missing_default_profile(self, config_file: Path) -> None:
        """A config file without the profile says so."""
        config_file.write_text("[profile other]\nregion = eu-west-1\n", encoding="utf-8")
        assert f"{str(config_file)!r} has no profile 'default'" in dynamodb_error()

    def test_named_profile(self, config_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """The profile AWS_PROFILE names is the one reported."""
        config_file.write_text("[profile etl]\noutput = json\n", encoding="utf-8")
        monkeypatch.setenv("AWS_PROFILE", "etl")
        assert "profile 'etl'" in dynamodb_error()

    def test_default_config_path_shown_with_tilde(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Without AWS_CONFIG_FILE the file is shown as ~/.aws/config."""
        monkeypatch.delenv("AWS_CONFIG_FILE", raising=False)
        monkeypatch.setenv("HOME", "/nonexistent-home")
        for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
            monkeypatch.delenv(name, raising=False)
        message = no_region_message("Bedrock", given="region_name")
        assert "'~/.aws/config'" in message

    def test_empty_variable(self, config_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """An empty AWS_DEFAULT_REGION is called empty, not unset."""
        monkeypatch.setenv("AWS_DEFAULT_REGION", "")
        assert "AWS_DEFAULT_REGION is empty" in no_region_message("DynamoDB", given="x")

    def test_bedrock(self, config_file: Path) -> None:
        """Bedrock's error says the same, with its own way of giving a region."""
        with pytest.raises(ConfigurationError) as info:
            BedrockBackend()
        message = str(info.value)
        assert message.startswith(
            "no AWS region for Bedrock: none given (region_name, or --region), "
            "AWS_DEFAULT_REGION and AWS_REGION are unset"
        )

    def test_bedrock_session_profile(self, config_file: Path) -> None:
        """A session's own profile is the one reported."""
        config_file.write_text("[profile etl]\noutput = json\n", encoding="utf-8")
        session = boto3.session.Session(profile_name="etl")
        with pytest.raises(ConfigurationError, match="profile 'etl' in"):
            BedrockBackend.from_session(session)

    def test_unreadable_config_file(self, config_file: Path) -> None:
        """A config file that cannot be parsed is reported as such, never quoted."""
        config_file.write_text("[default\nregion = x\n", encoding="utf-8")
        message = no_region_message("DynamoDB", given="region_name")
        assert f"{str(config_file)!r} cannot be read" in message
