"""Which column of a file or DataFrame holds which field: header matching and explicit maps.

Exports from Excel and CRMs name the seed's fields their own way: ``Nombres``, ``CIUDAD``,
``Dirección de residencia``, ``Nivel Educativo``. `match_columns` matches such headers to
the profile's fields, the same way for the command line, the notebook helper and the API:

1. an explicit map first (``--map 'Columna=campo'``, ``columns={"Columna": "campo"}``);
2. then each wanted field's name and its `FieldSpec.aliases`, compared by `column_key`:
   case, accents, spaces and punctuation ignored, so ``NIVEL EDUCATIVO``, ``nivel_educativo``
   and ``Nivel Educativo`` are one header.

The result maps each field to the column it is read from. The records are never renamed:
originals keep their headers, and the normalized values are keyed by the field's name.
Messages name headers and fields, never cell values.

Examples:
    >>> from llm_normalize.profiles.colombia import COLOMBIAN_LEADS
    >>> match_columns(["Nombres", "CIUDAD", "Dirección de residencia"], COLOMBIAN_LEADS)
    {'nombres': 'Nombres', 'direccion': 'Dirección de residencia', 'ciudad': 'CIUDAD'}
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping, Sequence

from llm_normalize.exceptions import ConfigurationError, UnknownFieldError
from llm_normalize.fields import Profile

__all__ = ["NoFieldColumnsError", "column_key", "match_columns", "parse_column_map"]

# Past this many, the headers an error names are cut short.
_SHOWN_HEADERS = 30


class NoFieldColumnsError(ConfigurationError):
    """None of the wanted fields is a column of the input (or a wanted field is missing).

    Attributes:
        headers: The input's column headers.
        wanted: The fields looked for.
    """

    def __init__(self, message: str, headers: Sequence[str], wanted: Sequence[str]) -> None:
        super().__init__(message)
        self.headers = tuple(headers)
        self.wanted = tuple(wanted)


def column_key(header: str) -> str:
    """The key a header is matched under: no accents, no case, only letters and digits.

    Examples:
        >>> column_key(" Nivel Educativo ") == column_key("nivel_educativo") == "niveleducativo"
        True
        >>> column_key("Dirección") == column_key("DIRECCION")
        True
    """
    decomposed = unicodedata.normalize("NFKD", header)
    return "".join(char for char in decomposed.casefold() if char.isalnum())


def parse_column_map(entries: Iterable[str]) -> dict[str, str]:
    """Read ``Columna=campo`` entries (the command line's ``--map``) into a column-to-field map.

    Raises:
        ConfigurationError: An entry without ``=``, or with an empty side.
    """
    mapping: dict[str, str] = {}
    for entry in entries:
        column, sep, field_name = entry.rpartition("=")
        if not sep or not column.strip() or not field_name.strip():
            raise ConfigurationError(
                f"--map takes COLUMN=FIELD, e.g. 'Nivel Educativo=nivelEducativo'; got {entry!r}"
            )
        mapping[column.strip()] = field_name.strip()
    return mapping


def match_columns(
    headers: Iterable[str],
    profile: Profile,
    *,
    fields: Sequence[str] | None = None,
    explicit: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Match an input's headers to fields: ``{field name: column header}``, in profile order.

    Args:
        headers: The input's column headers (a CSV header row, a DataFrame's columns, the
            keys of the first record).
        profile: The fields and their aliases.
        fields: The fields wanted; default: every field of the profile. Each named field must
            be found; without `fields`, at least one must be.
        explicit: ``{column header: field name}`` pairs that win over matching by name.

    Raises:
        UnknownFieldError: `explicit` or `fields` names a field the profile does not know.
        NoFieldColumnsError: A field of `fields` or of `explicit` has no column, or, without
            `fields`, no field has one. The message lists the headers seen and the fields
            wanted.
    """
    columns = [header for header in headers if isinstance(header, str)]
    wanted = [profile[name].name for name in fields] if fields is not None else list(profile)
    found = _explicit(columns, profile, explicit or {}, wanted)
    by_key: dict[str, list[str]] = {}
    for column in columns:
        by_key.setdefault(column_key(column), []).append(column)
    taken = set(found.values())
    for name in wanted:
        if name in found:
            continue
        spec = profile[name]
        keys = dict.fromkeys(column_key(label) for label in (spec.name, *spec.aliases))
        matches = [c for key in keys for c in by_key.get(key, ()) if c not in taken]
        if len(matches) > 1:
            exact = [c for c in matches if c == spec.name]
            if len(exact) != 1:
                raise ConfigurationError(
                    f"columns {', '.join(map(repr, matches))} could all be field {name!r}; "
                    f"say which with --map / columns={{COLUMN: {name!r}}}"
                )
            matches = exact
        if matches:
            found[name] = matches[0]
            taken.add(matches[0])
    missing = [name for name in wanted if name not in found]
    if (fields is not None and missing) or not found:
        raise _no_columns(columns, missing if fields is not None else wanted)
    return {name: found[name] for name in profile if name in found}


def _explicit(
    columns: Sequence[str], profile: Profile, explicit: Mapping[str, str], wanted: list[str]
) -> dict[str, str]:
    found: dict[str, str] = {}
    present = set(columns)
    for column, field_name in explicit.items():
        if field_name not in profile:
            raise UnknownFieldError(field_name, profile.names)
        name = profile[field_name].name
        if column not in present:
            raise _no_columns(columns, [name], column)
        if name in found:
            raise ConfigurationError(f"field {name!r} is mapped from two columns")
        found[name] = column
        if name not in wanted:
            wanted.append(name)
    return found


def _no_columns(
    columns: Sequence[str], wanted: Sequence[str], missing_column: str | None = None
) -> NoFieldColumnsError:
    shown = ", ".join(repr(c) for c in columns[:_SHOWN_HEADERS]) or "none"
    if len(columns) > _SHOWN_HEADERS:
        shown += f", ... ({len(columns)} in all)"
    if missing_column is not None:
        head = f"no column {missing_column!r} to map to {wanted[0]!r}"
    else:
        head = f"no column for field(s) {', '.join(map(repr, wanted))}"
    return NoFieldColumnsError(
        f"{head}; the input's columns are: {shown}. Name the column of a field with "
        "--map 'COLUMN=FIELD' (columns={COLUMN: FIELD} in Python)",
        columns,
        wanted,
    )
