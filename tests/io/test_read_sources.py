"""Where records come from: files, standard input, pipes; and reading them without holding them."""

from __future__ import annotations

import gc
import io
import os
import subprocess
import sys
import textwrap
import threading
import tracemalloc
from pathlib import Path

import pytest

from llm_normalize.exceptions import InputFormatError
from llm_normalize.io import BadLine, Row, detect_format, read_records

CSV = "Nombres;Apellidos;CIUDAD\r\nJOSÉ;PEÑA MUÑOZ;BOGOTÁ\r\nana;niño;cali\r\n".encode("cp1252")
ROWS = [
    Row(2, {"Nombres": "JOSÉ", "Apellidos": "PEÑA MUÑOZ", "CIUDAD": "BOGOTÁ"}),
    Row(3, {"Nombres": "ana", "Apellidos": "niño", "CIUDAD": "cali"}),
]


class FakeStdin:
    """What sys.stdin offers the reader: a binary buffer."""

    def __init__(self, data: bytes) -> None:
        self.buffer = io.BytesIO(data)


class TestStandardInput:
    def test_dash_reads_stdin(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """'-' reads the bytes of standard input, detecting encoding and delimiter as for files."""
        stdin = FakeStdin(CSV)
        monkeypatch.setattr(sys, "stdin", stdin)
        reader = read_records("-", "csv")
        assert (reader.encoding, reader.delimiter) == ("cp1252", ";")
        assert list(reader) == ROWS
        assert not stdin.buffer.closed  # standard input is not ours to close

    def test_dash_needs_a_format(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Standard input has no suffix to tell its format: the error says to pass --format."""
        monkeypatch.setattr(sys, "stdin", FakeStdin(CSV))
        with pytest.raises(InputFormatError, match="pass --format"):
            read_records("-")
        with pytest.raises(InputFormatError, match="pass --format"):
            detect_format("-")
        assert detect_format("-", "jsonl") == "jsonl"

    def test_dev_stdin(self, tmp_path: Path) -> None:
        """/dev/stdin, a pipe and no regular file, is read like any file."""
        code = textwrap.dedent(
            """
            from llm_normalize.io import Row, read_records
            items = list(read_records("/dev/stdin", "jsonl"))
            print(sum(isinstance(item, Row) for item in items), len(items))
            """
        )
        data = '{"nombres": "PEÑA"}\n{"nombres": NaN}\n{"a": 1}\n'.encode()
        result = subprocess.run(
            [sys.executable, "-c", code], input=data, capture_output=True, check=True
        )
        assert result.stdout.split() == [b"2", b"3"]


class TestFiles:
    def test_fifo(self, tmp_path: Path) -> None:
        """A named pipe is read as it is written."""
        fifo = tmp_path / "leads.csv"
        os.mkfifo(fifo)

        def write() -> None:
            with fifo.open("wb") as stream:
                for line in CSV.splitlines(keepends=True):
                    stream.write(line)
                    stream.flush()

        writer = threading.Thread(target=write)
        writer.start()
        try:
            assert list(read_records(fifo)) == ROWS
        finally:
            writer.join(timeout=10)

    def test_missing(self, tmp_path: Path) -> None:
        """A missing file is an error naming it."""
        path = tmp_path / "nope.csv"
        with pytest.raises(InputFormatError, match="no such file"):
            read_records(path)

    def test_directory(self, tmp_path: Path) -> None:
        """A directory is not records."""
        with pytest.raises(InputFormatError, match="directory"):
            read_records(tmp_path, "csv")

    def test_unknown_format(self, tmp_path: Path) -> None:
        """A format other than jsonl or csv is refused."""
        path = tmp_path / "leads.csv"
        path.write_bytes(CSV)
        with pytest.raises(InputFormatError, match="unknown format"):
            read_records(path, "xlsx")  # type: ignore[arg-type]


class TestReader:
    def test_closes_when_done(self, tmp_path: Path) -> None:
        """The file is closed when the records run out, and the reader stays exhausted."""
        path = tmp_path / "leads.csv"
        path.write_bytes(CSV)
        reader = read_records(path)
        assert list(reader) == ROWS
        assert list(reader) == []

    def test_context_manager_closes_early(self, tmp_path: Path) -> None:
        """Leaving the with block closes the file; nothing more is read."""
        path = tmp_path / "leads.jsonl"
        path.write_text('{"a": 1}\n{"a": 2}\n', encoding="utf-8")
        with read_records(path) as reader:
            assert next(reader) == Row(1, {"a": 1})
        assert list(reader) == []
        assert "format='jsonl'" in repr(reader)

    @pytest.mark.parametrize("in_a_cycle", [False, True])
    def test_dropped_unread(self, tmp_path: Path, in_a_cycle: bool) -> None:
        """A reader dropped unread closes its file, with no ResourceWarning, even in a cycle."""
        path = tmp_path / "leads.csv"
        path.write_bytes(CSV)
        for _ in range(20):
            holder: dict[str, object] = {"reader": read_records(path)}
            if in_a_cycle:  # as a caller's object whose generator refers back to it
                holder["self"] = holder
            del holder
        # A ResourceWarning is an unraisable exception here, an error (filterwarnings = error).
        gc.collect()

    def test_memory_stays_flat(self, tmp_path: Path) -> None:
        """Reading a 12 MB file holds about one sample and one row, not the file."""
        path = tmp_path / "leads.csv"
        row = "JOSÉ;PEÑA MUÑOZ;Calle 10 # 4-5 apto 301;BOGOTÁ D.C.;Técnico profesional\r\n"
        with path.open("wb") as stream:
            stream.write(b"Nombres;Apellidos;Direccion;CIUDAD;Nivel\r\n")
            for _ in range(20):
                stream.write(row.encode() * 8_000)
        assert path.stat().st_size > 12_000_000
        tracemalloc.start()
        try:
            count = sum(1 for item in read_records(path) if not isinstance(item, BadLine))
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert count == 160_000
        assert peak < 4_000_000
