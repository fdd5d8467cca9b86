"""What the HTTP backends share to build request bodies and read answers.

Private: `BedrockBackend` and `OpenAIBackend` use these; they import nothing heavy.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

__all__ = ["json_default", "json_document", "token_count"]


def token_count(value: object) -> int:
    """A token count from a service's answer: a non-bool int, else 0."""
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def json_default(value: object) -> object:
    """`json.dumps` default: any Mapping as a dict."""
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def json_document(schema: Mapping[str, Any]) -> dict[str, Any]:
    """A plain-dict deep copy of a JSON schema (botocore, the SDKs and json reject other Mappings)."""
    copied: dict[str, Any] = json.loads(json.dumps(schema, default=json_default))
    return copied
