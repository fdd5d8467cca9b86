import logging

import pytest

from llm_normalize.config import DEFAULT_FIELDS, DEFAULT_MODEL_ID, NormalizationConfig
from llm_normalize.exceptions import ConfigurationError

SEED_ITEM = {
    "configId": "normalization-settings",
    "enabled": True,
    "fieldsToNormalize": ["nombres", "ciudad"],
    "batchSize": 20,
    "maxLeadsPerRun": 100,
    "normalizationTTLDays": 3,
}


class TestDefaults:
    def test_seed_defaults(self) -> None:
        """The defaults are the seed's."""
        config = NormalizationConfig()
        assert config.enabled is True
        assert config.fields_to_normalize == DEFAULT_FIELDS
        assert config.batch_size == 10
        assert config.max_leads_per_run == 50
        assert config.normalization_ttl_days == 7
        assert config.model_id == DEFAULT_MODEL_ID == "anthropic.claude-3-haiku-20240307-v1:0"
        assert config.id_field == "leadId"

    def test_camel_and_snake(self) -> None:
        """The seed's camelCase keys and snake_case names are interchangeable."""
        assert NormalizationConfig(batchSize=5) == NormalizationConfig(batch_size=5)  # type: ignore[call-arg]
        camel = NormalizationConfig.model_validate({"normalizationTTLDays": 2})
        assert camel.normalization_ttl_days == 2

    def test_frozen(self) -> None:
        """A config cannot be changed after it is built."""
        config = NormalizationConfig()
        with pytest.raises(ValueError, match="frozen"):
            config.batch_size = 3  # type: ignore[misc]


class TestResolve:
    def test_environment_over_defaults(self) -> None:
        """The seed's environment variables override the defaults."""
        config = NormalizationConfig.resolve(
            env={
                "BATCH_SIZE": "25",
                "FIELDS_TO_NORMALIZE": "nombres, ciudad",
                "NORMALIZATION_ENABLED": "false",
            }
        )
        assert config.batch_size == 25
        assert config.fields_to_normalize == ("nombres", "ciudad")
        assert config.enabled is False

    def test_stored_over_environment(self) -> None:
        """The stored config item wins over the environment, and its configId is ignored."""
        config = NormalizationConfig.resolve(env={"BATCH_SIZE": "25"}, stored=SEED_ITEM)
        assert config.batch_size == 20
        assert config.max_leads_per_run == 100
        assert config.normalization_ttl_days == 3
        assert config.fields_to_normalize == ("nombres", "ciudad")

    def test_overrides_win(self) -> None:
        """Call overrides win over everything, in either spelling."""
        config = NormalizationConfig.resolve(
            env={}, stored=SEED_ITEM, batchSize=7, max_leads_per_run=9
        )
        assert (config.batch_size, config.max_leads_per_run) == (7, 9)

    def test_stored_set_of_fields(self) -> None:
        """A DynamoDB string set of fields is accepted, in a stable order."""
        config = NormalizationConfig.resolve(
            env={}, stored={"fieldsToNormalize": {"ciudad", "apellidos"}}
        )
        assert config.fields_to_normalize == ("apellidos", "ciudad")

    def test_unknown_stored_key_ignored_by_name(self, caplog: pytest.LogCaptureFixture) -> None:
        """A newer config item's unknown key is skipped and logged by name only."""
        with caplog.at_level(logging.WARNING):
            config = NormalizationConfig.resolve(
                env={}, stored={"futureSetting": "secret-value", "batchSize": 4}
            )
        assert config.batch_size == 4
        assert "futureSetting" in caplog.text
        assert "secret-value" not in caplog.text

    def test_unknown_override_rejected(self) -> None:
        """A typo in an override is an error, not silently ignored."""
        with pytest.raises(ConfigurationError, match="unknown setting 'batch_sise'"):
            NormalizationConfig.resolve(env={}, batch_sise=3)

    @pytest.mark.parametrize(
        ("env", "message"),
        [
            ({"BATCH_SIZE": "zero"}, "invalid environment: batch_size"),
            ({"BATCH_SIZE": "0"}, "invalid environment: batch_size"),
            ({"NORMALIZATION_TTL_DAYS": "-1"}, "normalization_ttl_days"),
            ({"FIELDS_TO_NORMALIZE": " , "}, "fields_to_normalize"),
        ],
    )
    def test_bad_environment(self, env: dict[str, str], message: str) -> None:
        """A bad environment value names the setting and its source."""
        with pytest.raises(ConfigurationError, match=message):
            NormalizationConfig.resolve(env=env)

    def test_error_never_echoes_value(self) -> None:
        """Validation errors do not repeat the offending value."""
        with pytest.raises(ConfigurationError) as info:
            NormalizationConfig.from_mapping({"batchSize": "juan.perez@example.com"})
        assert "juan.perez" not in str(info.value)

    def test_extra_keys_forbidden_directly(self) -> None:
        """Building a config directly with an unknown key fails."""
        with pytest.raises(ConfigurationError, match="bogus"):
            NormalizationConfig.from_mapping({"bogus": 1})
