"""Field-name matching shared by the registry, the profile and the config."""

from __future__ import annotations

__all__ = ["field_key"]


def field_key(name: str) -> str:
    """Return the key under which a field name is matched.

    The seed's camelCase names and their snake_case spellings share one key:
    `field_key("nivelEducativo") == field_key("nivel_educativo") == "niveleducativo"`.
    """
    return name.replace("_", "").replace("-", "").casefold()
