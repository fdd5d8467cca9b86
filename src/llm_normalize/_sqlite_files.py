"""What the SQLite lead store and the SQLite value cache share: private files, WAL, UTF-8.

Both hold personal data in a file the user names, so both create it readable by its owner
only, refuse to create it unless asked (a mistyped path must fail, not start an empty file),
and open it in WAL mode from several threads.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Final

from llm_normalize.exceptions import StorageError, StoreNotFoundError

__all__ = ["MEMORY", "PRIVATE_MODE", "connect_target", "describe_file", "encodable", "use_wal"]

MEMORY: Final = ":memory:"
PRIVATE_MODE: Final = 0o600
"""The mode of a database file created here: read and write for its owner only."""


def describe_file(path: str) -> str:
    """``SQLite file 'leads.db' (/abs/leads.db)``: a relative path is also shown resolved."""
    absolute = os.path.abspath(path)
    resolved = "" if absolute == path else f" ({absolute})"
    return f"SQLite file {path!r}{resolved}"


def connect_target(path: str, *, create: bool, what: str, missing: str) -> tuple[str, bool]:
    """What to give `sqlite3.connect` for `path`: the target and whether it is a URI.

    With `create`, a missing file is created 0600 with its directories (SQLite would make it
    0644); an existing file keeps its mode. Without it, a missing file raises, and an existing
    one is opened ``mode=rw``, which never creates it, even if it vanished since the check.

    Args:
        path: The database file, or ``:memory:`` / ``""``, returned as they are.
        create: Whether a missing file may be created.
        what: Names the owner in errors, e.g. ``"SQLite store"``.
        missing: Ends the message for a missing file, e.g. ``"start an empty store"``.

    Raises:
        StoreNotFoundError: The file does not exist and `create` is false.
        StorageError: The file or its directory cannot be created.
    """
    if path in (MEMORY, ""):
        return path, False
    if create:
        _create_private_file(path, what)
        return path, False
    if not os.path.exists(path):
        raise StoreNotFoundError(
            f"{describe_file(path)} does not exist; check the path, or pass create=True to "
            f"{missing}"
        )
    return f"{Path(os.path.abspath(path)).as_uri()}?mode=rw", True


def _create_private_file(path: str, what: str) -> None:
    try:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StorageError(f"{what} {path!r}: cannot create its directory: {exc.strerror}") from exc
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_MODE)
    except FileExistsError:
        return  # the user's file (or a directory, which connect reports): mode unchanged
    except OSError as exc:
        raise StorageError(f"{what} {path!r}: cannot create the file: {exc.strerror}") from exc
    os.close(fd)


def use_wal(conn: sqlite3.Connection) -> None:
    """WAL journal: readers never block the writer; NORMAL sync is safe with it."""
    conn.execute("PRAGMA journal_mode=WAL")
    # Safe with WAL: a power cut may lose the last commits, never corrupt the file.
    conn.execute("PRAGMA synchronous=NORMAL")


def encodable(text: str) -> bool:
    """Whether `text` can be stored as UTF-8 (a lone surrogate cannot)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
