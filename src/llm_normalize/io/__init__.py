"""Files: read records from JSONL and CSV, write them back with their normalized values.

`read_records` streams `Row`s and `BadLine`s (a malformed line never stops a file);
the writers stream results to a temporary file moved in place only when complete, and
create every file readable by its owner only (0600): they hold personal data.
"""

from llm_normalize.io.read import BadLine, FileFormat, Row, detect_format, read_records
from llm_normalize.io.write import (
    PRIVATE_FILE_MODE,
    record_to_json,
    write_csv,
    write_items,
    write_jsonl,
    write_text,
)

__all__ = [
    "PRIVATE_FILE_MODE",
    "BadLine",
    "FileFormat",
    "Row",
    "detect_format",
    "read_records",
    "record_to_json",
    "write_csv",
    "write_items",
    "write_jsonl",
    "write_text",
]
