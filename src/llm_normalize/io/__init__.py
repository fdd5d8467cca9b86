"""Files: read records from JSONL and CSV, write them back with their normalized values.

`read_records` streams `Row`s and `BadLine`s (a malformed line never stops a file);
the writers stream results to a temporary file moved in place only when complete.
"""

from llm_normalize.io.read import BadLine, FileFormat, Row, detect_format, read_records
from llm_normalize.io.write import record_to_json, write_csv, write_items, write_jsonl

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
