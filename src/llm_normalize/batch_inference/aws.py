"""The AWS edge of batch inference: S3 objects and the Bedrock control plane, errors translated.

boto3 is imported when clients are built, never when this module is imported. Errors become
`llm_normalize.exceptions.BackendError` subclasses (``raise ... from exc``) whose messages
carry the operation, the S3 URI or job, the error code and the HTTP status: never the
service's own message, which may quote the request.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final, NoReturn

from llm_normalize._aws import no_region_message
from llm_normalize.exceptions import (
    BackendAccessDeniedError,
    BackendError,
    BackendThrottledError,
    BackendUnavailableError,
    ConfigurationError,
)

if TYPE_CHECKING:
    from boto3.session import Session
    from mypy_boto3_bedrock import BedrockClient
    from mypy_boto3_s3 import S3Client

__all__ = ["bedrock_error", "build_clients", "s3_error", "split_uri"]

# S3 error codes that say the setup is wrong (permissions, credentials, no bucket).
_S3_DENIED: Final = frozenset(
    {
        "AccessDenied",
        "AllAccessDisabled",
        "AccountProblem",
        "ExpiredToken",
        "InvalidAccessKeyId",
        "NoSuchBucket",
        "SignatureDoesNotMatch",
    }
)
_S3_THROTTLED: Final = frozenset({"SlowDown", "TooManyRequests", "RequestLimitExceeded"})

_HINTS: Final = {
    "ServiceQuotaExceededException": (
        "a batch inference quota of the account was reached (jobs submitted or in progress "
        "at once, or records per job); wait for running jobs to end or ask AWS for an "
        "increase, then submit again"
    ),
    "AccessDeniedException": (
        "the caller needs bedrock:CreateModelInvocationJob and bedrock:GetModelInvocationJob, "
        "and iam:PassRole on the service role"
    ),
    "ThrottlingException": (
        "the Bedrock control plane throttled the call; try again later (a repeated submit "
        "makes no second job)"
    ),
    "ValidationException": (
        "check the model id (it must support batch inference in this region), the role ARN "
        "and the S3 locations"
    ),
}


def build_clients(
    session: Session | None, region_name: str | None
) -> tuple[BedrockClient, S3Client]:
    """A ``bedrock`` and an ``s3`` client from `session` (default: a new boto3 session).

    Raises:
        ConfigurationError: No AWS region is known.
    """
    import boto3.session  # boto3 costs ~200 ms: only when used
    from botocore.exceptions import NoRegionError

    session = session or boto3.session.Session()
    try:
        bedrock = session.client("bedrock", region_name=region_name)
        s3 = session.client("s3", region_name=region_name)
    except NoRegionError as exc:
        raise ConfigurationError(
            no_region_message(
                "Bedrock batch inference", given="region_name", profile=session.profile_name
            )
        ) from exc
    return bedrock, s3


def split_uri(uri: str) -> tuple[str, str]:
    """The bucket and the key of ``s3://bucket/key``."""
    if not uri.startswith("s3://"):
        raise ConfigurationError(f"not an S3 URI: {uri!r}")
    bucket, _, key = uri[len("s3://") :].partition("/")
    return bucket, key


def bedrock_error(exc: Exception, operation: str, model_id: str) -> NoReturn:
    """Raise the `BackendError` for a failed control-plane call, with advice, chained to `exc`."""
    from llm_normalize.backends.bedrock import _raise_translated

    try:
        _raise_translated(exc, operation, model_id)
    except BackendError as error:
        hint = _HINTS.get(error.code or "")
        if hint is None:
            raise
        advised = type(error)(f"{error}; {hint}", code=error.code)
        raise advised from exc


def s3_error(exc: Exception, operation: str, uri: str) -> BackendError:
    """The `BackendError` for a failed S3 call (raise it ``from exc``)."""
    from botocore import exceptions as bx

    where = f"S3 {operation} on {uri}"
    if isinstance(exc, bx.ClientError):
        response: Mapping[str, Any] = getattr(exc, "response", None) or {}
        error: Mapping[str, Any] = response.get("Error") or {}
        metadata: Mapping[str, Any] = response.get("ResponseMetadata") or {}
        code = str(error.get("Code") or "Unknown")
        status = metadata.get("HTTPStatusCode")
        status = status if isinstance(status, int) else 0
        message = f"{where} failed: {code} (HTTP {status or '?'})"
        if code in _S3_DENIED or status == 403:
            return BackendAccessDeniedError(
                f"{message}; check the bucket and that the caller may read and write it",
                code=code,
            )
        if code in _S3_THROTTLED or status == 429:
            return BackendThrottledError(message, code=code)
        if status >= 500:
            return BackendUnavailableError(message, code=code)
        return BackendError(message, code=code)
    name = type(exc).__name__
    if isinstance(exc, bx.NoCredentialsError | bx.PartialCredentialsError):
        return BackendAccessDeniedError(f"{where}: no usable AWS credentials ({name})", code=name)
    if isinstance(exc, bx.ConnectionError | bx.HTTPClientError):
        return BackendUnavailableError(f"{where} could not reach the endpoint: {name}", code=name)
    return BackendError(f"{where} failed: {name}", code=name)
