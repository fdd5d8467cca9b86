"""Reading the CSV files people really have: Excel's exports, any encoding they come in."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path

import pytest

from llm_normalize.exceptions import ConfigurationError, InputFormatError
from llm_normalize.io import BadLine, RecordReader, Row, read_records

HEADER = ["Nombres", "Apellidos", "Dirección", "CIUDAD", "Nivel Educativo"]
FIRST = ["ANA", "LUIS", "JOSÉ", "MARÍA", "ANDRÉS"]
CITIES = ["BOGOTÁ D.C.", "Medellín", "cali"]
LEVELS = ["Técnico", "Bachiller Académico", "Profesional"]


def lead(i: int) -> list[str]:
    """A synthetic lead; every one has the surname PEÑA MUÑOZ, to check bytes survive."""
    return [FIRST[i % 5], "PEÑA MUÑOZ", f"Calle {i} # 4-5", CITIES[i % 3], LEVELS[i % 3]]


def export(
    rows: Sequence[Sequence[str]],
    *,
    sep: str = ";",
    encoding: str = "utf-8",
    newline: str = "\r\n",
    bom: bytes = b"",
    sep_line: bool = False,
    header: Sequence[str] = HEADER,
) -> bytes:
    """A file as a spreadsheet writes it: quoted only where needed, CRLF by default."""
    buffer = io.StringIO()
    if sep_line:
        buffer.write(f"sep={sep}{newline}")
    writer = csv.writer(buffer, delimiter=sep, lineterminator=newline)
    writer.writerow(header)
    writer.writerows(rows)
    return bom + buffer.getvalue().encode(encoding)


def read(
    tmp_path: Path,
    data: bytes,
    name: str = "leads.csv",
    *,
    encoding: str | None = None,
    delimiter: str | None = None,
) -> tuple[RecordReader, list[Row], list[BadLine]]:
    path = tmp_path / name
    path.write_bytes(data)
    reader = read_records(path, encoding=encoding, delimiter=delimiter)
    items = list(reader)
    rows = [item for item in items if isinstance(item, Row)]
    bad = [item for item in items if isinstance(item, BadLine)]
    return reader, rows, bad


def as_dict(cells: Sequence[str]) -> dict[str, str]:
    return dict(zip(HEADER, cells, strict=True))


class TestEncoding:
    def test_cp1252_excel_export_with_sep_line(self, tmp_path: Path) -> None:
        """Excel's Windows-1252 export, ';'-separated with a sep=; first line, reads exactly."""
        data = export([lead(i) for i in range(3)], encoding="cp1252", sep_line=True)
        reader, rows, bad = read(tmp_path, data)
        assert (reader.encoding, reader.delimiter, reader.format) == ("cp1252", ";", "csv")
        assert reader.columns == tuple(HEADER)
        assert bad == []
        assert [row.line for row in rows] == [3, 4, 5]
        assert rows[2].record == as_dict(lead(2))
        assert rows[0].record["Apellidos"] == "PEÑA MUÑOZ"

    def test_utf8_bom(self, tmp_path: Path) -> None:
        """A UTF-8 BOM is dropped: the first column is named without it."""
        data = export([lead(0)], bom=b"\xef\xbb\xbf")
        reader, rows, bad = read(tmp_path, data)
        assert reader.encoding == "utf-8"
        assert reader.columns is not None
        assert reader.columns[0] == "Nombres"
        assert (rows, bad) == ([Row(2, as_dict(lead(0)))], [])

    def test_one_bad_byte_spoils_one_line_not_the_file(self, tmp_path: Path) -> None:
        """One Windows-1252 byte in a UTF-8 file is one bad line; the other 999 are exact."""
        lines = export([lead(i) for i in range(1000)]).split(b"\r\n")
        broken = lines[501].replace("Ñ".encode(), b"\xd1", 1)
        lines[501] = broken
        reader, rows, bad = read(tmp_path, b"\r\n".join(lines))
        assert reader.encoding == "utf-8"
        assert len(rows) == 999
        offset = broken.index(b"\xd1") + 1
        assert bad == [
            BadLine(
                502,
                f"not UTF-8 (byte {offset}); hint: --encoding cp1252 if the whole file is Windows-1252",
            )
        ]
        assert all(row.record["Apellidos"] == "PEÑA MUÑOZ" for row in rows)
        assert rows[500].record == as_dict(lead(501))
        assert rows[500].line == 503

    def test_utf8_line_in_a_cp1252_file(self, tmp_path: Path) -> None:
        """Past a Windows-1252 sample, a line that is valid UTF-8 is still read exactly."""
        rows_in = [lead(i) for i in range(20_000)]
        data = export(rows_in, encoding="cp1252") + ";".join(lead(7)).encode() + b"\r\n"
        assert len(data) > 1_100_000
        reader, rows, bad = read(tmp_path, data)
        assert (reader.encoding, bad) == ("cp1252", [])
        assert [row.record for row in rows] == [as_dict(cells) for cells in [*rows_in, lead(7)]]

    def test_undefined_cp1252_byte(self, tmp_path: Path) -> None:
        """A byte Windows-1252 leaves undefined is a bad line, not a guess."""
        data = export([lead(0), lead(1)], encoding="cp1252") + b"ANA;L\x81PEZ;x;y;z\r\n"
        _, rows, bad = read(tmp_path, data)
        assert (len(rows), bad) == (2, [BadLine(4, "not cp1252 (byte 6)")])

    def test_bad_line_after_the_sample(self, tmp_path: Path) -> None:
        """A Windows-1252 line past the first megabyte of an ASCII file is a bad line with a hint."""
        ascii_rows = [
            ["ANA", "LOPEZ", f"Calle {i} # 4-5", "cali", "Tecnico"] for i in range(30_000)
        ]
        tail = export([lead(7)], encoding="cp1252").split(b"\r\n", 1)[1]
        data = export(ascii_rows) + tail
        assert len(data) > 1_100_000
        reader, rows, bad = read(tmp_path, data)
        assert reader.encoding == "utf-8"
        assert len(rows) == 30_000
        assert [line.line for line in bad] == [30_002]
        assert "--encoding cp1252" in bad[0].problem

    def test_explicit_encoding_wins(self, tmp_path: Path) -> None:
        """encoding= overrides detection; what it cannot decode is a bad line, never replaced."""
        plain = ["Nombres", "Apellidos", "Direccion", "CIUDAD", "Nivel"]
        rows_in = [lead(0), ["ANA", "LOPEZ", "Calle 1", "cali", "Tecnico"]]
        data = export(rows_in, encoding="cp1252", header=plain)
        reader, rows, bad = read(tmp_path, data, encoding="UTF-8")
        assert reader.encoding == "utf-8"
        assert [row.line for row in rows] == [3]
        assert [line.line for line in bad] == [2]
        assert bad[0].problem.startswith("not UTF-8 (byte 7)")

    def test_explicit_legacy_encoding(self, tmp_path: Path) -> None:
        """encoding='windows-1252' is read under Python's name for it."""
        data = export([lead(0)], encoding="cp1252")
        reader, rows, _ = read(tmp_path, data, encoding="windows-1252")
        assert reader.encoding == "cp1252"
        assert rows[0].record == as_dict(lead(0))

    def test_unknown_encoding(self, tmp_path: Path) -> None:
        """An encoding Python does not know, or one that is not text, is the caller's mistake."""
        path = tmp_path / "leads.csv"
        path.write_bytes(export([lead(0)]))
        for name in ("klingon", "base64"):
            with pytest.raises(ConfigurationError, match="encoding"):
                read_records(path, encoding=name)

    @pytest.mark.parametrize(
        ("codec", "bom"), [("utf-16-le", b"\xff\xfe"), ("utf-16-be", b"\xfe\xff")]
    )
    def test_excel_unicode_text(self, tmp_path: Path, codec: str, bom: bytes) -> None:
        """Excel's "Unicode text": UTF-16 with a BOM, tab-separated, CRLF."""
        rows_in = [lead(i) for i in range(4)]
        data = export(rows_in, sep="\t", encoding=codec, bom=bom)
        reader, rows, bad = read(tmp_path, data, name="leads.txt")
        assert (reader.encoding, reader.delimiter) == (codec, "\t")
        assert bad == []
        assert [row.record for row in rows] == [as_dict(cells) for cells in rows_in]
        assert [row.line for row in rows] == [2, 3, 4, 5]


class TestDialect:
    def test_crlf_with_quoted_line_breaks(self, tmp_path: Path) -> None:
        """A quoted cell may hold line breaks; each record has the line it starts on."""
        rows_in = [
            ["ANA", "PEÑA MUÑOZ", "Calle 5\nApto 301", "cali", "Técnico"],
            lead(1),
            ["LUIS", "NIÑO", "Cra 7, Torre 2\r\nPiso 3\r\nOf. 4", "cali", "Técnico"],
            lead(3),
        ]
        reader, rows, bad = read(tmp_path, export(rows_in))
        assert reader.delimiter == ";"
        assert bad == []
        assert [row.line for row in rows] == [2, 4, 5, 8]
        assert [row.record for row in rows] == [as_dict(cells) for cells in rows_in]

    def test_ragged_file_the_stdlib_sniffer_cannot_read(self, tmp_path: Path) -> None:
        """Ragged rows, commas and quoted line breaks do not hide the ';' delimiter."""
        rows_in = [lead(i)[: 2 + i % 4] for i in range(40)]
        rows_in[3][2] = "Calle 3, apto 3\nBarrio Centro, Cali"
        reader, rows, bad = read(tmp_path, export(rows_in))
        assert reader.delimiter == ";"
        assert (len(rows), bad) == (40, [])
        assert rows[3].record == as_dict(rows_in[3])
        assert rows[4].record == as_dict([*rows_in[4], "", "", ""])
        assert [row.line for row in rows[3:5]] == [5, 7]

    @pytest.mark.parametrize("sep", [",", ";", "\t", "|"])
    def test_each_delimiter(self, tmp_path: Path, sep: str) -> None:
        """Each of , ; tab | is found from a consistent cell count."""
        rows_in = [lead(i) for i in range(5)]
        reader, rows, bad = read(tmp_path, export(rows_in, sep=sep, newline="\n"))
        assert reader.delimiter == sep
        assert ([row.record for row in rows], bad) == ([as_dict(c) for c in rows_in], [])

    def test_one_column(self, tmp_path: Path) -> None:
        """A single column whose values hold commas is read whole, not split on them."""
        data = "Nombre completo\r\nPEÑA, ANA\r\nNIÑO, LUIS\r\n".encode()
        reader, rows, bad = read(tmp_path, data)
        assert (reader.columns, bad) == (("Nombre completo",), [])
        assert [row.record["Nombre completo"] for row in rows] == ["PEÑA, ANA", "NIÑO, LUIS"]

    def test_sep_line_wins_over_the_content(self, tmp_path: Path) -> None:
        """Excel's sep= line decides, is skipped, and still counts as line 1."""
        data = b"sep=|\n" + b"a|b,c\n1|2,3\n"
        reader, rows, bad = read(tmp_path, data)
        assert (reader.delimiter, reader.columns) == ("|", ("a", "b,c"))
        assert (rows, bad) == ([Row(3, {"a": "1", "b,c": "2,3"})], [])

    def test_explicit_delimiter(self, tmp_path: Path) -> None:
        """delimiter= overrides detection and the sep= line, which is still skipped."""
        data = b"sep=;\n" + b"a;b,c\n1;2,3\n"
        reader, rows, _ = read(tmp_path, data, delimiter=",")
        assert (reader.delimiter, reader.columns) == (",", ("a;b", "c"))
        assert rows == [Row(3, {"a;b": "1;2", "c": "3"})]

    @pytest.mark.parametrize("delimiter", ["", ";;", '"', "\n"])
    def test_bad_delimiter(self, tmp_path: Path, delimiter: str) -> None:
        """A delimiter must be one character other than a quote or a line break."""
        path = tmp_path / "leads.csv"
        path.write_bytes(export([lead(0)]))
        with pytest.raises(ConfigurationError, match="delimiter"):
            read_records(path, delimiter=delimiter)

    def test_ragged_rows(self, tmp_path: Path) -> None:
        """More cells than columns is a bad line; fewer are padded with empty cells."""
        rows_in = [lead(0), [*lead(1), "sobra"], lead(2)[:3], lead(3)]
        _, rows, bad = read(tmp_path, export(rows_in))
        assert bad == [BadLine(3, "6 cells for 5 columns")]
        assert [row.line for row in rows] == [2, 4, 5]
        assert rows[1].record == as_dict([*lead(2)[:3], "", ""])

    def test_blank_rows_are_skipped(self, tmp_path: Path) -> None:
        """Blank lines and rows of empty cells are not records."""
        data = (
            export([lead(0)]) + b"\r\n;;;;\r\n  ; ;;;\r\n" + export([lead(1)]).split(b"\r\n", 1)[1]
        )
        _, rows, bad = read(tmp_path, data)
        assert ([row.line for row in rows], bad) == ([2, 6], [])

    def test_a_200_kb_cell(self, tmp_path: Path) -> None:
        """A cell far over csv's default limit is read, and so is everything after it."""
        rows_in = [lead(i) for i in range(1002)]
        rows_in[500][2] = "Ñ" * 200_000
        _, rows, bad = read(tmp_path, export(rows_in))
        assert (len(rows), bad) == (1002, [])
        assert rows[500].record["Dirección"] == "Ñ" * 200_000
        assert rows[1001].record == as_dict(lead(1001))

    def test_carriage_return_in_an_unquoted_cell(self, tmp_path: Path) -> None:
        """A stray CR inside an unquoted cell is one bad line; reading goes on."""
        data = b"a;b\n1;2\nx\ry;z\n3;4\n"
        _, rows, bad = read(tmp_path, data)
        assert [row.record for row in rows] == [{"a": "1", "b": "2"}, {"a": "3", "b": "4"}]
        assert [line.line for line in bad] == [3]
        assert bad[0].problem.startswith("not valid CSV")

    def test_bad_byte_inside_a_multiline_record(self, tmp_path: Path) -> None:
        """A bad byte on a record's second line names that line; the record starts the report."""
        data = b'a;b\n0;\xc3\x91\n1;"x\ny\xd1z"\n2;3\n'
        reader, rows, bad = read(tmp_path, data)
        assert reader.encoding == "utf-8"
        assert [row.record for row in rows] == [{"a": "0", "b": "Ñ"}, {"a": "2", "b": "3"}]
        assert bad == [
            BadLine(
                3,
                "not UTF-8 (line 4, byte 2); hint: --encoding cp1252 if the whole file is Windows-1252",
            )
        ]


class TestHeader:
    def test_names_are_stripped(self, tmp_path: Path) -> None:
        """Spaces and a stray BOM around a column name are not part of it."""
        data = b"\xef\xbb\xbf \xef\xbb\xbfNombres ;\tCIUDAD\xc2\xa0\n" + b"ana;cali\n"
        reader, rows, _ = read(tmp_path, data, encoding="utf-8")
        assert reader.columns == ("Nombres", "CIUDAD")
        assert rows == [Row(2, {"Nombres": "ana", "CIUDAD": "cali"})]

    def test_duplicate_names(self, tmp_path: Path) -> None:
        """Two columns of one name would lose a value: an error naming their positions."""
        path = tmp_path / "leads.csv"
        path.write_bytes(b"CIUDAD;Nombres;Apellidos;CIUDAD\ncali;ana;lopez;cali\n")
        with pytest.raises(InputFormatError, match=r"columns 1 and 4 have the same name"):
            read_records(path)

    def test_empty_name(self, tmp_path: Path) -> None:
        """A column with no name between named ones is an error naming its position."""
        path = tmp_path / "leads.csv"
        path.write_bytes(b"Nombres;;Apellidos; ;x\nana;1;lopez;2;3\n")
        with pytest.raises(InputFormatError, match=r"columns 2, 4 have no name"):
            read_records(path)

    def test_trailing_unnamed_columns(self, tmp_path: Path) -> None:
        """Excel's trailing empty columns are ignored while they stay empty."""
        data = b"Nombres;Apellidos;;\nana;lopez;;\nluis;diaz\nx;y;;z\nx;y;;;\n"
        reader, rows, bad = read(tmp_path, data)
        assert reader.columns == ("Nombres", "Apellidos")
        assert [row.record for row in rows] == [
            {"Nombres": "ana", "Apellidos": "lopez"},
            {"Nombres": "luis", "Apellidos": "diaz"},
        ]
        assert bad == [
            BadLine(4, "a value in column 4, which has no name"),
            BadLine(5, "5 cells for 4 columns"),
        ]

    @pytest.mark.parametrize("data", [b"", b"\r\n\r\n", b";;\r\nana;lopez\r\n"])
    def test_no_header(self, tmp_path: Path, data: bytes) -> None:
        """A file without a header row cannot be read as records."""
        path = tmp_path / "leads.csv"
        path.write_bytes(data)
        with pytest.raises(InputFormatError, match="no CSV header"):
            read_records(path)

    def test_header_after_blank_lines(self, tmp_path: Path) -> None:
        """Blank lines before the header are skipped, and line numbers stay physical."""
        _, rows, _ = read(tmp_path, b"\r\n\r\nnombres,ciudad\r\nana,cali\r\n")
        assert rows == [Row(4, {"nombres": "ana", "ciudad": "cali"})]

    def test_header_not_utf8(self, tmp_path: Path) -> None:
        """A header that cannot be decoded is an error naming its line, never a guess."""
        path = tmp_path / "leads.csv"
        path.write_bytes(b"Direcci\xf3n;CIUDAD\n" + "ñ;ñ\n".encode() * 3)
        with pytest.raises(InputFormatError, match=r"line 1 is not UTF-8 \(byte 8\)"):
            read_records(path)
