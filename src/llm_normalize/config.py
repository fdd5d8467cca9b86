"""Run settings: `NormalizationConfig`, layered defaults < environment < stored config < overrides.

The settings and their names are the seed's, so a team moving from the seed's Node.js Lambda
keeps its environment variables and its `normalization-settings` config item:

| setting                  | seed config key         | environment variable     | default |
|--------------------------|-------------------------|--------------------------|---------|
| `enabled`                | `enabled`               | `NORMALIZATION_ENABLED`  | true    |
| `fields_to_normalize`    | `fieldsToNormalize`     | `FIELDS_TO_NORMALIZE`    | the seven seed fields |
| `batch_size`             | `batchSize`             | `BATCH_SIZE`             | 10      |
| `max_leads_per_run`      | `maxLeadsPerRun`        | `MAX_LEADS_PER_RUN`      | 50      |
| `normalization_ttl_days` | `normalizationTTLDays`  | `NORMALIZATION_TTL_DAYS` | 7       |
| `model_id`               | `modelId`               | `BEDROCK_MODEL_ID`       | Claude 3 Haiku |
| `id_field`               | `idField`               | `ID_FIELD`               | `leadId` |
| `address_style`          | `addressStyle`          | `ADDRESS_STYLE`          | `abbreviated` |

`address_style` is this library's own: how `direccion` is written (`abbreviated`, the seed's
`Cl. 45 # 12 - 30`; `full`; `code`, the cadastral `CL 45 12 30`; or the deprecated `legacy`,
the output of earlier versions). It picks the field's built-in chain and prompt.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any, Final

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, ValidationError, field_validator

from llm_normalize.exceptions import ConfigurationError
from llm_normalize.postprocessors.address_styles import DEFAULT_ADDRESS_STYLE, AddressStyle
from llm_normalize.profiles.colombia import COLOMBIAN_LEADS

__all__ = [
    "CONFIG_ID",
    "DEFAULT_FIELDS",
    "DEFAULT_MODEL_ID",
    "NormalizationConfig",
    "stored_model_id",
]

logger = logging.getLogger(__name__)

DEFAULT_FIELDS: Final = COLOMBIAN_LEADS.names
"""The seed's `fieldsToNormalize`: the fields of the Colombian lead profile, in order."""

DEFAULT_MODEL_ID: Final = "anthropic.claude-3-haiku-20240307-v1:0"
"""Claude 3 Haiku on Bedrock, the seed's model."""

CONFIG_ID: Final = "normalization-settings"
"""The `configId` of the seed's stored config item."""

_ENV_VARS: Final = {
    "enabled": "NORMALIZATION_ENABLED",
    "fields_to_normalize": "FIELDS_TO_NORMALIZE",
    "batch_size": "BATCH_SIZE",
    "max_leads_per_run": "MAX_LEADS_PER_RUN",
    "normalization_ttl_days": "NORMALIZATION_TTL_DAYS",
    "model_id": "BEDROCK_MODEL_ID",
    "id_field": "ID_FIELD",
    "address_style": "ADDRESS_STYLE",
}

# Keys of the seed's config item that are not settings.
_STORED_BOOKKEEPING: Final = frozenset({"configId", "updatedAt", "updatedBy", "createdAt"})


class NormalizationConfig(BaseModel):
    """The settings of a normalization run; immutable.

    Accepts snake_case names and the seed's camelCase keys alike:
    `NormalizationConfig(batchSize=20)` and `NormalizationConfig(batch_size=20)` are the same.
    Use `resolve` to layer the environment and a stored config item under call overrides.
    """

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        populate_by_name=True,
        hide_input_in_errors=True,
    )

    enabled: bool = Field(
        default=True,
        validation_alias=AliasChoices("enabled", "normalizationEnabled"),
        description="Global on/off switch: a disabled run does nothing and says so.",
    )
    fields_to_normalize: tuple[str, ...] = Field(
        default=DEFAULT_FIELDS,
        validation_alias=AliasChoices("fields_to_normalize", "fieldsToNormalize"),
        description="The record attributes to normalize.",
    )
    batch_size: int = Field(
        default=10,
        ge=1,
        le=200,
        validation_alias=AliasChoices("batch_size", "batchSize"),
        description="Items per model call.",
    )
    max_leads_per_run: int = Field(
        default=50,
        ge=1,
        validation_alias=AliasChoices("max_leads_per_run", "maxLeadsPerRun"),
        description="Safety limit of leads per scheduled run.",
    )
    normalization_ttl_days: float = Field(
        default=7,
        ge=0,
        validation_alias=AliasChoices(
            "normalization_ttl_days", "normalizationTTLDays", "normalizationTtlDays"
        ),
        description="Re-normalize a lead this many days after its last normalization.",
    )
    model_id: str = Field(
        default=DEFAULT_MODEL_ID,
        min_length=1,
        validation_alias=AliasChoices("model_id", "modelId", "bedrockModelId"),
        description="The Bedrock model id.",
    )
    id_field: str = Field(
        default="leadId",
        min_length=1,
        validation_alias=AliasChoices("id_field", "idField"),
        description="The attribute that identifies a record.",
    )
    address_style: AddressStyle = Field(
        default=DEFAULT_ADDRESS_STYLE,
        validation_alias=AliasChoices("address_style", "addressStyle"),
        description=(
            "How addresses are written: 'abbreviated' (the seed's, Cl. 45 # 12 - 30), 'full' "
            "(Calle 45 # 12 - 30), 'code' (CL 45 12 30) or 'legacy' (deprecated)."
        ),
    )

    @field_validator("fields_to_normalize", mode="before")
    @classmethod
    def _split_fields(cls, value: Any) -> Any:
        # The environment gives "nombres,ciudad"; a config item gives a list (or a DynamoDB set).
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",")]
        if isinstance(value, set | frozenset):
            value = sorted(value)
        if isinstance(value, list | tuple):
            cleaned = [v for v in value if not (isinstance(v, str) and not v.strip())]
            if not cleaned:
                raise ValueError("at least one field is needed")
            return tuple(cleaned)
        return value

    @field_validator("address_style", mode="before")
    @classmethod
    def _fold_style(cls, value: Any) -> Any:
        # "CODE" or " Full " from an environment variable or a config item mean the same.
        return value.strip().lower() if isinstance(value, str) else value

    @classmethod
    def from_mapping(
        cls, values: Mapping[str, Any], *, source: str = "settings"
    ) -> NormalizationConfig:
        """Build a config from a mapping, raising `ConfigurationError` on a bad value.

        Args:
            values: Settings by snake_case name or the seed's camelCase key.
            source: Where the values came from, for the error message.
        """
        try:
            return cls.model_validate(dict(values))
        except ValidationError as exc:
            raise ConfigurationError(_describe(exc, source)) from None

    def with_stored(self, stored: Mapping[str, Any]) -> NormalizationConfig:
        """Return this config with the seed's stored config item layered on top.

        The scheduled job reads the item at every run, as the seed does, so a change in the
        config table takes effect without a redeploy.
        """
        values = self.model_dump()
        values.update(_stored_settings(stored))
        return type(self).from_mapping(values, source="stored config")

    @classmethod
    def resolve(
        cls,
        *,
        env: Mapping[str, str] | None = None,
        stored: Mapping[str, Any] | None = None,
        **overrides: Any,
    ) -> NormalizationConfig:
        """Layer defaults < environment < stored config item < keyword overrides.

        Args:
            env: Environment variables (default `os.environ`); see the module table.
            stored: The seed's config item, e.g. from the `normalization-settings` row.
                Its bookkeeping keys (`configId`, ...) are ignored, and so are keys this
                version does not know (logged by name only), so an older library keeps
                working with a newer config item.
            **overrides: Settings that win over everything else.

        Raises:
            ConfigurationError: A value is invalid; the message names the setting and its
                source, never the value.
        """
        environ = os.environ if env is None else env
        layered: dict[str, Any] = {}
        for name, var in _ENV_VARS.items():
            raw = environ.get(var)
            if raw is not None and raw.strip():
                layered[name] = raw.strip()
        if layered:
            cls.from_mapping(layered, source="environment")
        if stored:
            layered.update(_stored_settings(stored))
            cls.from_mapping(layered, source="stored config")
        for key, value in overrides.items():
            setting = _known_keys().get(key)
            if setting is None:
                raise ConfigurationError(f"unknown setting {key!r}")
            layered[setting] = value
        return cls.from_mapping(layered)


def stored_model_id(stored: Mapping[str, Any]) -> str | None:
    """The model a stored config item asks for (`modelId`), if it names one.

    The scheduled job calls this model: the item is the one place that picks it at run time,
    over the model the backend was built with.

    Raises:
        ConfigurationError: The item's model id is not a non-empty string.
    """
    value = _stored_settings(stored).get("model_id")
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ConfigurationError("the stored config's modelId must be a non-empty string")
    return value.strip()


def _stored_settings(stored: Mapping[str, Any]) -> dict[str, Any]:
    """The settings of a stored config item by field name, bookkeeping and unknown keys dropped."""
    known = _known_keys()
    settings: dict[str, Any] = {}
    for key, value in stored.items():
        if key in _STORED_BOOKKEEPING:
            continue
        setting = known.get(key)
        if setting is None:
            logger.warning("ignoring unknown key %r in the stored config", key)
            continue
        settings[setting] = value
    return settings


def _known_keys() -> dict[str, str]:
    """Map every accepted spelling of a setting to its field name."""
    keys: dict[str, str] = {}
    for name, info in NormalizationConfig.model_fields.items():
        keys[name] = name
        alias = info.validation_alias
        if isinstance(alias, AliasChoices):
            for choice in alias.choices:
                if isinstance(choice, str):
                    keys[choice] = name
    return keys


def _describe(exc: ValidationError, source: str) -> str:
    problems = []
    for error in exc.errors(include_input=False, include_url=False):
        where = ".".join(str(part) for part in error["loc"]) or "config"
        problems.append(f"{where}: {error['msg']}")
    return f"invalid {source}: " + "; ".join(problems)
