"""The console script on the files people in Colombia really have (issue 12).

Exports from Excel and CRMs: Windows-1252 with ``;`` and Excel's ``sep=;`` line, UTF-8 with a
BOM, CRLF with quoted line breaks, Spanish headers with accents, one bad byte, one huge cell,
a JSON array; and pipes, signals, progress, typos in store URLs. Every test runs the installed
``llm-normalize`` in its own process, as a user does, and checks the records and fields
normalized (from ``--report``), the untouched originals and the exit status. All names and
addresses are synthetic.
"""

from __future__ import annotations

import csv
import fcntl
import io
import json
import os
import pty
import select
import shutil
import signal
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

SCRIPT = shutil.which("llm-normalize", path=str(Path(sys.executable).parent)) or "llm-normalize"
SAMPLE = Path(__file__).resolve().parents[1] / "examples" / "leads.jsonl"
POSIX = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals, pipes and terminals")

HEADER = ["Nombres", "Apellidos", "Dirección", "CIUDAD", "Nivel Educativo", "Observaciones"]
GIVEN = ["JOSÉ", "maría  josé", "ANDRÉS FELIPE", "luz ángela"]
SURNAMES = ["PEÑA MUÑOZ", "niño castaño", "DE LA CRUZ", "ibáñez"]
ADDRESSES = ["CRA 15 NO 100 25", "calle 45 # 12-30", "AV BOYACA 68 90", "cll 10 sur 5-20"]
CITIES = ["bogota", "MEDELLIN", "Cali", "barranquilla"]
LEVELS = ["profesional universitario", "BACHILLER", "tecnico", "Especialización"]
# What the rules make of each raw value of a field (checked against the output).
CITY_OUT = {"bogota": "Bogotá D.C.", "MEDELLIN": "Medellín", "Cali": "Cali"}
FIELDS = ["nombres", "apellidos", "direccion", "ciudad", "nivelEducativo"]


def lead(n: int) -> list[str]:
    """A synthetic lead row of the export, the note column empty."""
    k = n % 4
    return [GIVEN[k], SURNAMES[k], ADDRESSES[k], CITIES[k], LEVELS[k], ""]


def export(
    rows: Sequence[Sequence[str]],
    *,
    encoding: str = "utf-8",
    delimiter: str = ";",
    sep_line: bool = False,
    bom: bool = False,
    header: Sequence[str] = HEADER,
) -> bytes:
    """The bytes Excel writes for `rows`: CRLF, cells quoted where needed."""
    text = io.StringIO(newline="")
    if sep_line:
        text.write(f"sep={delimiter}\r\n")
    writer = csv.writer(text, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    data = text.getvalue().encode(encoding)
    return (b"\xef\xbb\xbf" if bom else b"") + data


def run(*args: str | Path, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [SCRIPT, *map(str, args)], input=stdin, capture_output=True, timeout=300, check=False
    )


def normalize(
    tmp_path: Path, data: bytes, *extra: str, name: str = "export.csv", out: str = "out.csv"
) -> tuple[subprocess.CompletedProcess[bytes], dict[str, Any], Path]:
    """Run ``normalize`` on `data`; the process, the run report and the output file."""
    src = tmp_path / name
    src.write_bytes(data)
    report = tmp_path / "report.json"
    output = tmp_path / out
    done = run("normalize", src, "-o", output, "--report", report, *extra)
    figures = json.loads(report.read_text(encoding="utf-8")) if report.exists() else {}
    return done, figures, output


def on_a_terminal(*args: str | Path) -> bytes:
    """Run the command with standard error on a terminal 100 columns wide; what it showed."""
    primary, secondary = pty.openpty()
    # A pty starts with no width, and tqdm draws nothing in no width.
    fcntl.ioctl(secondary, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    process = subprocess.Popen(
        [SCRIPT, *map(str, args)], stdout=subprocess.DEVNULL, stderr=secondary
    )
    os.close(secondary)
    seen = b""
    while select.select([primary], [], [], 60)[0]:
        try:
            chunk = os.read(primary, 4096)
        except OSError:  # the terminal closed with the process
            break
        if not chunk:
            break
        seen += chunk
    os.close(primary)
    assert process.wait(timeout=60) == 0, seen
    return seen


def read_csv(path: Path, *, delimiter: str = ",") -> list[dict[str, str]]:
    csv.field_size_limit(1 << 24)  # the 200 KB cell
    with path.open(encoding="utf-8-sig", newline="") as stream:
        return list(csv.DictReader(stream, delimiter=delimiter))


class TestExcelExports:
    def test_cp1252_with_sep_line_and_spanish_headers(self, tmp_path: Path) -> None:
        """Excel's es-CO CSV: cp1252, sep=;, CRLF, a quoted line break, Spanish headers."""
        rows = [lead(n) for n in range(40)]
        rows[7][2] = "CRA 15 NO 100 25\r\nINT 3"  # a line break inside a quoted cell
        data = export(rows, encoding="cp1252", sep_line=True)
        done, figures, out = normalize(tmp_path, data)
        assert done.returncode == 0, done.stderr
        assert figures["records_in"] == 40
        assert figures["fields_normalized"] == 40 * 5
        written = read_csv(out)
        assert [row["Apellidos"] for row in written] == [row[1] for row in rows]  # untouched
        assert written[0]["Apellidos"] == "PEÑA MUÑOZ"
        assert written[7]["Dirección"] == "CRA 15 NO 100 25\r\nINT 3"
        assert written[0]["ciudad_normalized"] == "Bogotá D.C."
        assert written[1]["nivelEducativo_normalized"] == "Bachiller"
        assert b"cp1252" in done.stderr
        assert b"';'-separated" in done.stderr
        assert b"'CIUDAD' as 'ciudad'" in done.stderr

    def test_utf8_with_bom_and_commas(self, tmp_path: Path) -> None:
        data = export([lead(n) for n in range(12)], delimiter=",", bom=True)
        done, figures, out = normalize(tmp_path, data)
        assert done.returncode == 0, done.stderr
        assert figures["records_in"] == 12
        assert figures["fields_normalized"] == 60
        written = read_csv(out)
        assert next(iter(written[0])) == "Nombres"  # no BOM glued to the first header
        assert written[2]["Nombres"] == "ANDRÉS FELIPE"

    def test_one_bad_byte_spoils_one_line_only(self, tmp_path: Path) -> None:
        """999 of 1,000 UTF-8 rows keep their exact text; the bad one is reported by line."""
        data = bytearray(export([lead(n) for n in range(1000)]))
        spot = data.index("niño".encode()) + 1  # inside the row of the 2nd lead (line 3)
        data[spot : spot + 2] = b"\xf1"  # "ñ" as Windows-1252 would write it
        done, figures, out = normalize(tmp_path, bytes(data))
        assert done.returncode == 1
        assert figures["records_in"] == 999
        assert b"line 3: not UTF-8" in done.stderr
        written = read_csv(out)
        assert len(written) == 999
        assert written[0]["Apellidos"] == "PEÑA MUÑOZ"
        assert sum(row["Apellidos"] == "PEÑA MUÑOZ" for row in written) == 250

    def test_a_200_kb_cell_keeps_the_rest_of_the_file(self, tmp_path: Path) -> None:
        rows = [lead(n) for n in range(1002)]
        rows[500][5] = "x" * 200_000
        done, figures, out = normalize(tmp_path, export(rows))
        assert done.returncode == 0, done.stderr
        assert figures["records_in"] == 1002
        assert len(read_csv(out)[500]["Observaciones"]) == 200_000

    def test_ragged_row_is_reported_and_the_others_normalized(self, tmp_path: Path) -> None:
        rows: list[list[str]] = [lead(n) for n in range(5)]
        rows[2] = [*rows[2], "extra", "cells"]
        done, figures, _ = normalize(tmp_path, export(rows))
        assert done.returncode == 1
        assert figures["records_in"] == 4
        assert b"line 4:" in done.stderr

    def test_json_array_file(self, tmp_path: Path) -> None:
        """A .json export holding one array of objects is read record by record."""
        leads = [
            {"leadId": str(n), "nombres": GIVEN[n % 4], "ciudad": CITIES[n % 4]} for n in range(9)
        ]
        data = json.dumps(leads, ensure_ascii=False, indent=2).encode()
        done, figures, out = normalize(tmp_path, data, name="leads.json", out="out.jsonl")
        assert done.returncode == 0, done.stderr
        assert figures["records_in"] == 9
        assert figures["fields_normalized"] == 18
        first = json.loads(out.read_text(encoding="utf-8").splitlines()[0])
        assert first["normalizedData"]["ciudad"] == "Bogotá D.C."

    def test_no_column_for_any_field_is_an_error(self, tmp_path: Path) -> None:
        data = export([["a", "b"]], header=["Col A", "Col B"])
        done, figures, out = normalize(tmp_path, data)
        assert done.returncode == 2
        assert b"'Col A', 'Col B'" in done.stderr
        assert b"--map" in done.stderr
        assert not out.exists()
        assert not figures

    def test_map_names_a_column(self, tmp_path: Path) -> None:
        header = ["Nombres", "Lugar"]
        data = export([["ANA", "bogota"]], header=header)
        done, figures, out = normalize(tmp_path, data, "--map", "Lugar=ciudad")
        assert done.returncode == 0, done.stderr
        assert figures["fields_normalized"] == 2
        assert read_csv(out)[0]["ciudad_normalized"] == "Bogotá D.C."

    def test_delimiter_and_encoding_overrides(self, tmp_path: Path) -> None:
        """Without a sep= line, a '|' latin-1 file is read as the user says."""
        data = export([lead(n) for n in range(3)], delimiter="|", encoding="latin-1")
        done, figures, out = normalize(tmp_path, data, "--delimiter", "|", "--encoding", "latin-1")
        assert done.returncode == 0, done.stderr
        assert figures["records_in"] == 3
        assert read_csv(out)[0]["Apellidos"] == "PEÑA MUÑOZ"


class TestExcelOutput:
    def test_excel_flag_writes_bom_and_semicolons(self, tmp_path: Path) -> None:
        done, _, out = normalize(tmp_path, export([lead(0)]), "--excel")
        assert done.returncode == 0, done.stderr
        data = out.read_bytes()
        assert data.startswith(b"\xef\xbb\xbfNombres;Apellidos;")
        assert read_csv(out, delimiter=";")[0]["Apellidos"] == "PEÑA MUÑOZ"

    def test_formula_cells_are_neutralised(self, tmp_path: Path) -> None:
        """A cell an attacker typed as a formula reaches the CSV as text, prefixed with '."""
        rows = [lead(0)]
        rows[0][5] = '=HYPERLINK("http://example.invalid","clic")'
        done, _, out = normalize(tmp_path, export(rows))
        assert done.returncode == 0, done.stderr
        assert read_csv(out)[0]["Observaciones"] == "'" + rows[0][5]


@POSIX
class TestPipes:
    def test_standard_input_and_output(self, tmp_path: Path) -> None:
        data = export([lead(n) for n in range(4)])
        done = run("normalize", "-", "--format", "csv", "-o", "-", stdin=data)
        assert done.returncode == 0, done.stderr
        written = list(csv.DictReader(io.StringIO(done.stdout.decode("utf-8"), newline="")))
        assert [row["ciudad_normalized"] for row in written[:3]] == list(CITY_OUT.values())
        assert b"from standard input" in done.stderr

    def test_standard_input_needs_a_format(self) -> None:
        done = run("normalize", "-", stdin=b"{}\n")
        assert done.returncode == 2
        assert b"--format" in done.stderr

    def test_closed_pipe_ends_quietly(self) -> None:
        """``llm-normalize normalize leads.jsonl | head -1``: no traceback, status 141."""
        with subprocess.Popen(
            [SCRIPT, "normalize", str(SAMPLE)], stdout=subprocess.PIPE, stderr=subprocess.PIPE
        ) as process:
            assert process.stdout is not None
            assert process.stderr is not None
            first = process.stdout.readline()
            process.stdout.close()  # what head does once it has its line
            err = process.stderr.read()
            assert process.wait(timeout=120) == 141
        assert json.loads(first)["leadId"]
        assert b"Traceback" not in err
        assert b"BrokenPipe" not in err

    def test_sigterm_leaves_no_temporary_file(self, tmp_path: Path) -> None:
        """Killed mid-write, the command removes its temporary file: no personal data left."""
        big = tmp_path / "big.jsonl"
        lines = SAMPLE.read_bytes()
        big.write_bytes(lines * 15)  # 30,000 leads: several seconds of work
        out = tmp_path / "out" / "normalized.jsonl"
        out.parent.mkdir()
        process = subprocess.Popen(
            [SCRIPT, "normalize", str(big), "-o", str(out)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while not any(out.parent.iterdir()) and time.monotonic() < deadline:
            time.sleep(0.05)  # until the temporary file exists
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 143
        assert list(out.parent.iterdir()) == []


@POSIX
class TestProgress:
    def test_progress_bar_with_a_total_on_a_terminal(self, tmp_path: Path) -> None:
        """On a terminal, normalize shows N/total and a percentage; none in a pipe."""
        seen = on_a_terminal("normalize", SAMPLE, "-o", tmp_path / "out.jsonl")
        assert b"/2000" in seen
        assert b"%" in seen

    def test_import_and_export_show_their_totals(self, tmp_path: Path) -> None:
        url = f"sqlite:///{tmp_path / 'leads.db'}"
        assert b"/2000" in on_a_terminal("import", SAMPLE, "--store", url)
        assert b"/2000" in on_a_terminal("export", "--store", url, "-o", tmp_path / "x.csv")
        quiet = on_a_terminal("export", "--store", url, "-o", tmp_path / "y.csv", "-q")
        assert quiet == b""

    def test_no_progress_bar_in_a_pipe(self, tmp_path: Path) -> None:
        done = run("normalize", SAMPLE, "-o", tmp_path / "out.jsonl")
        assert done.returncode == 0
        assert b"%" not in done.stderr
        assert b"\r" not in done.stderr


class TestStores:
    def test_mistyped_store_is_an_error(self, tmp_path: Path) -> None:
        """A typo in a SQLite URL no longer makes an empty store that passes a quality gate."""
        url = f"sqlite:///{tmp_path / 'leeds.db'}"
        for command in (["export", "-o", str(tmp_path / "x.jsonl")], ["report", "--check"], []):
            done = run(*(command[:1] or ["run"]), "--store", url, *command[1:])
            assert done.returncode == 2, command
            assert b"does not exist" in done.stderr
            assert b"--create" in done.stderr
        assert not (tmp_path / "leeds.db").exists()

    def test_run_says_how_many_leads_are_still_due(self, tmp_path: Path) -> None:
        url = f"sqlite:///{tmp_path / 'leads.db'}"
        data = export([[*lead(n)[:5], str(n)] for n in range(120)], header=[*HEADER[:5], "leadId"])
        src = tmp_path / "leads.csv"
        src.write_bytes(data)
        imported = run("import", src, "--store", url)
        assert imported.returncode == 0, imported.stderr
        assert b"'CIUDAD' stored as 'ciudad'" in imported.stderr
        done = run("run", "--store", url)  # maxLeadsPerRun: 50
        assert done.returncode == 0, done.stderr
        assert b"70 leads still due" in done.stderr
        assert b"run again" in done.stderr
        exported = run("export", "--store", url, "-o", "-")
        first = json.loads(exported.stdout.splitlines()[0])
        assert first["ciudad"] == "bogota"
        assert first["normalizedData"]["ciudad"] == "Bogotá D.C."

    def test_create_makes_a_new_store(self, tmp_path: Path) -> None:
        url = f"sqlite:///{tmp_path / 'new.db'}"
        done = run("run", "--store", url, "--create")
        assert done.returncode == 0, done.stderr
        assert b"0 leads still due" in done.stderr
