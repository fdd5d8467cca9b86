"""AWS facts shared by the adapters: which error codes mean "set up wrongly".

An AWS error either says the service had a bad moment (throttling, a 5xx, a timeout),
which a retry or a skipped cache entry absorbs, or that the caller's setup is wrong:
no table or model, no permission, bad or expired credentials. The second kind must
surface at once, from the Bedrock backend and the DynamoDB value cache alike.
"""

from __future__ import annotations

from typing import Final

__all__ = ["SETUP_BOTOCORE_ERRORS", "SETUP_ERROR_CODES"]

SETUP_ERROR_CODES: Final = frozenset(
    {
        "AccessDeniedException",
        "ExpiredTokenException",
        "IncompleteSignature",
        "InvalidSignatureException",
        "MissingAuthenticationTokenException",
        "ResourceNotFoundException",
        "UnrecognizedClientException",
    }
)
"""Service error codes (``ClientError``) that say the setup is wrong, not the moment."""

SETUP_BOTOCORE_ERRORS: Final = frozenset({"NoCredentialsError", "NoRegionError"})
"""botocore's own error classes, by name, that say the setup is wrong."""
