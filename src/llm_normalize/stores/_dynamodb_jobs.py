"""The backfill's batch job in flight, recorded in a DynamoDB config table beside the config item."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from llm_normalize._dynamodb import error_code, translate_errors
from llm_normalize.exceptions import StorageError
from llm_normalize.stores.base import BATCH_JOB_ID, batch_job_recorded
from llm_normalize.stores.dynamodb_tables import CONFIG_KEY

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

__all__ = ["load_job", "record_job"]


def load_job(client: DynamoDBClient, table: str) -> str | None:
    """The job recorded in `table`, if any (a consistent read)."""
    with translate_errors("GetItem", table):
        response = client.get_item(
            TableName=table, Key={CONFIG_KEY: {"S": BATCH_JOB_ID}}, ConsistentRead=True
        )
    job = response.get("Item", {}).get("job", {}).get("S")
    return job if isinstance(job, str) else None


def record_job(client: DynamoDBClient, table: str, job: str | None, *, replace: bool) -> None:
    """Record `job` in `table` (`None` deletes the record), never over another unless `replace`."""
    from botocore.exceptions import ClientError

    key = {CONFIG_KEY: {"S": BATCH_JOB_ID}}
    if job is None:
        with translate_errors("DeleteItem", table):
            client.delete_item(TableName=table, Key=key)
        return
    params: dict[str, Any] = {"TableName": table, "Item": {**key, "job": {"S": job}}}
    if not replace:
        params["ConditionExpression"] = "attribute_not_exists(#k) OR job = :job"
        params["ExpressionAttributeNames"] = {"#k": CONFIG_KEY}
        params["ExpressionAttributeValues"] = {":job": {"S": job}}
    try:
        with translate_errors("PutItem", table):
            client.put_item(**params)
    except StorageError as exc:
        cause = exc.__cause__
        if isinstance(cause, ClientError) and error_code(cause) == (
            "ConditionalCheckFailedException"
        ):
            recorded = load_job(client, table) or ""
            raise batch_job_recorded(f"DynamoDB table {table!r}", recorded) from None
        raise
