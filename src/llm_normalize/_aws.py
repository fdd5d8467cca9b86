"""AWS facts shared by the adapters: which error codes mean "set up wrongly", and where a region comes from.

An AWS error either says the service had a bad moment (throttling, a 5xx, a timeout),
which a retry or a skipped cache entry absorbs, or that the caller's setup is wrong:
no table or model, no permission, bad or expired credentials. The second kind must
surface at once, from the Bedrock backend and the DynamoDB value cache alike.

A client's region, as botocore resolves it: the ``region_name`` argument, then
``AWS_DEFAULT_REGION``, then the ``region`` of the profile (``AWS_DEFAULT_PROFILE``,
``AWS_PROFILE``, else ``default``) in the config file (``AWS_CONFIG_FILE``, else
``~/.aws/config``; a ``region`` in that profile of the credentials file counts too).
botocore reads no ``AWS_REGION`` (other SDKs do, and Lambda sets both), and asks the
instance metadata service for a region only to pick its defaults mode, never for a client.
`no_region_message` says all of that in one line.
"""

from __future__ import annotations

import os
from typing import Final

__all__ = ["SETUP_BOTOCORE_ERRORS", "SETUP_ERROR_CODES", "no_region_message"]

_DEFAULT_CONFIG_FILE: Final = "~/.aws/config"

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


def no_region_message(service: str, *, given: str, profile: str | None = None) -> str:
    """One line saying where boto3 looked for a region for `service`, found none, and what to do.

    Args:
        service: What needs the region, e.g. ``"Bedrock"``.
        given: How the caller could have given one, e.g. ``"region_name, or --region"``.
        profile: The session's profile, if known (default: as botocore picks it from the
            environment).

    Examples:
        >>> no_region_message("Bedrock", given="region_name")  # doctest: +SKIP
        "no AWS region for Bedrock: none given (region_name), AWS_DEFAULT_REGION and
        AWS_REGION are unset, and profile 'default' in '~/.aws/config' has no region; ..."
    """
    # Said once: after the variables when AWS_REGION is set, else in the advice.
    unread = "" if os.environ.get("AWS_REGION") else " (boto3 does not read AWS_REGION)"
    return (
        f"no AWS region for {service}: none given ({given}), {_variables()}, and "
        f"{_config_file(profile)}; pass a region, set AWS_DEFAULT_REGION{unread}, or give "
        "the profile one"
    )


def _variables() -> str:
    default = os.environ.get("AWS_DEFAULT_REGION")
    if default is not None:
        # Set, so empty (or blank): botocore takes it as is and finds no region in it.
        return "AWS_DEFAULT_REGION is empty"
    if os.environ.get("AWS_REGION"):
        return "AWS_DEFAULT_REGION is unset (AWS_REGION is set, but boto3 reads only AWS_DEFAULT_REGION)"
    return "AWS_DEFAULT_REGION and AWS_REGION are unset"


def _config_file(profile: str | None) -> str:
    if profile is None:
        profile = (
            os.environ.get("AWS_DEFAULT_PROFILE") or os.environ.get("AWS_PROFILE") or "default"
        )
    shown = os.environ.get("AWS_CONFIG_FILE") or _DEFAULT_CONFIG_FILE
    path = os.path.expanduser(shown)
    if not os.path.isfile(path):
        return f"there is no config file {shown!r} (profile {profile!r})"
    # botocore is loaded already: this runs after one of its clients failed to be built.
    from botocore.configloader import load_config
    from botocore.exceptions import BotoCoreError

    try:
        profiles = load_config(path).get("profiles", {})
    except (BotoCoreError, OSError, UnicodeDecodeError):
        # Its parser's messages may quote the file's lines: only the path is said.
        return f"the config file {shown!r} cannot be read (profile {profile!r})"
    if profile not in profiles:
        return f"{shown!r} has no profile {profile!r}"
    return f"profile {profile!r} in {shown!r} has no region"
