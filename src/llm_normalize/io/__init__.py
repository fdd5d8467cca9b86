"""Files: read records from JSONL and CSV, write them back with their normalized values.

`read_records` streams `Row`s and `BadLine`s (a malformed line never stops a file);
the writers stream results to a temporary file moved in place only when complete, and
create every file readable by its owner only (0600): they hold personal data.
"""

from llm_normalize.io._atomic import Terminated, cleanup_on_signals
from llm_normalize.io._csv_write import CsvDialect, CsvDialectName
from llm_normalize.io._stdout import EXIT_BROKEN_PIPE, quiet_broken_pipe
from llm_normalize.io.read import (
    BadLine,
    FileFormat,
    RecordReader,
    Row,
    detect_format,
    read_records,
)
from llm_normalize.io.write import (
    PRIVATE_FILE_MODE,
    record_to_json,
    write_csv,
    write_items,
    write_jsonl,
    write_text,
)

__all__ = [
    "EXIT_BROKEN_PIPE",
    "PRIVATE_FILE_MODE",
    "BadLine",
    "CsvDialect",
    "CsvDialectName",
    "FileFormat",
    "RecordReader",
    "Row",
    "Terminated",
    "cleanup_on_signals",
    "detect_format",
    "quiet_broken_pipe",
    "read_records",
    "record_to_json",
    "write_csv",
    "write_items",
    "write_jsonl",
    "write_text",
]
