"""Deprecated: the file readers and writers moved to `llm_normalize.io`.

Importing this module still works and warns; import from `llm_normalize.io` instead.
"""

import warnings

from llm_normalize.io import (
    BadLine,
    FileFormat,
    Row,
    detect_format,
    read_records,
    record_to_json,
    write_csv,
    write_items,
    write_jsonl,
)

__all__ = [
    "BadLine",
    "FileFormat",
    "Row",
    "detect_format",
    "read_records",
    "record_to_json",
    "write_csv",
    "write_items",
    "write_jsonl",
]

warnings.warn(
    "llm_normalize.files moved to llm_normalize.io; import from there",
    DeprecationWarning,
    stacklevel=2,
)
