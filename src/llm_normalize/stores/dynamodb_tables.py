"""The seed's DynamoDB tables: their keys, and how to create them for development and tests.

Both tables are on-demand with one string hash key: ``leadId`` for the leads table
(`llm_normalize.stores.dynamodb.DynamoDBLeadStore` reads and writes it) and ``configId``
for the config table, whose ``normalization-settings`` item configures runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from llm_normalize._dynamodb import create_table
from llm_normalize.records import LEAD_ID

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

__all__ = ["CONFIG_KEY", "create_config_table", "create_leads_table"]

CONFIG_KEY: Final = "configId"
"""The key attribute of the config table."""


def create_leads_table(client: DynamoDBClient, name: str, *, stream: bool = False) -> None:
    """Create a leads table like the seed's (key ``leadId``, on-demand), and wait until ACTIVE.

    Args:
        client: The ``dynamodb`` client to use.
        name: The table name.
        stream: Also enable a stream of new and old images (for a stream-triggered Lambda).

    Raises:
        StorageError: The table exists already, or the service refused the request.

    Examples:
        >>> create_leads_table(client, "awsrestart-leads")  # doctest: +SKIP
    """
    extra: dict[str, Any] = {}
    if stream:
        extra["StreamSpecification"] = {
            "StreamEnabled": True,
            "StreamViewType": "NEW_AND_OLD_IMAGES",
        }
    create_table(client, name, LEAD_ID, **extra)


def create_config_table(client: DynamoDBClient, name: str) -> None:
    """Create a config table like the seed's (key ``configId``, on-demand), and wait until ACTIVE.

    Put the seed's item in it (``configId: "normalization-settings"``) to configure runs.

    Raises:
        StorageError: The table exists already, or the service refused the request.

    Examples:
        >>> create_config_table(client, "awsrestart-normalization-config")  # doctest: +SKIP
    """
    create_table(client, name, CONFIG_KEY)
