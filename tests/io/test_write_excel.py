"""CSV dialects: the standard one (RFC 4180) and the one es-CO Excel opens by double-click."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from llm_normalize.exceptions import ConfigurationError
from llm_normalize.io import CsvDialect, write_csv, write_items
from llm_normalize.records import NORMALIZED_DATA, FieldResult, NormalizedRecord

BOM = b"\xef\xbb\xbf"


def record(original: Mapping[str, Any], **values: str | None) -> NormalizedRecord:
    fields = {name: FieldResult(value, "rules", True) for name, value in values.items()}
    return NormalizedRecord(id="1", original=dict(original), fields=fields)


RECORDS = [
    record({"nombres": "JOSÉ PEÑA", "ciudad": "bogotá; d.c."}, nombres="José Peña"),
    record({"nombres": "ana", "ciudad": "Medellín"}, nombres="Ana"),
]


def write(path: Path, **options: Any) -> bytes:
    list(
        write_csv(iter(RECORDS), path, columns=["nombres", "ciudad"], fields=["nombres"], **options)
    )
    return path.read_bytes()


class TestStandardDialect:
    def test_default_is_rfc_4180(self, tmp_path: Path) -> None:
        """By default: commas, UTF-8 without a BOM, CRLF line ends (as before)."""
        data = write(tmp_path / "out.csv")
        assert not data.startswith(BOM)
        assert data.splitlines(keepends=True)[0] == (
            b"nombres,ciudad,nombres_normalized,normalization_review\r\n"
        )
        assert data.count(b"\r\n") == 3
        assert data.count(b"\n") == 3
        assert "JOSÉ PEÑA".encode() in data

    def test_named_and_object_dialects_agree(self, tmp_path: Path) -> None:
        """ "standard" and CsvDialect.STANDARD write the same bytes."""
        assert write(tmp_path / "a.csv", dialect="standard") == write(
            tmp_path / "b.csv", dialect=CsvDialect.STANDARD
        )


class TestExcelDialect:
    def test_bytes(self, tmp_path: Path) -> None:
        """Excel: a UTF-8 BOM, semicolons, CRLF, and cells holding a semicolon quoted."""
        data = write(tmp_path / "out.csv", dialect="excel")
        assert data.startswith(BOM)
        lines = data[len(BOM) :].split(b"\r\n")
        assert lines[0] == b"nombres;ciudad;nombres_normalized;normalization_review"
        assert lines[1] == 'JOSÉ PEÑA;"bogotá; d.c.";José Peña;'.encode()
        assert lines[-1] == b""
        assert data.count(b"\n") == data.count(b"\r\n") == 3

    def test_accents_round_trip(self, tmp_path: Path) -> None:
        """Read back as Excel writes it (utf-8-sig, ';'), every value is intact."""
        out = tmp_path / "out.csv"
        write(out, dialect="excel")
        with out.open(encoding="utf-8-sig", newline="") as stream:
            rows = list(csv.DictReader(stream, delimiter=";"))
        assert rows[0]["nombres"] == "JOSÉ PEÑA"
        assert rows[0]["ciudad"] == "bogotá; d.c."
        assert rows[0]["nombres_normalized"] == "José Peña"
        assert rows[1]["ciudad"] == "Medellín"

    def test_formulas_neutralised_too(self, tmp_path: Path) -> None:
        """The Excel dialect neutralises formula cells like the standard one."""
        out = tmp_path / "out.csv"
        list(
            write_csv(
                iter([record({"tel": "+57 304 585 7609"})]),
                out,
                columns=["tel"],
                fields=[],
                dialect="excel",
            )
        )
        assert out.read_bytes() == BOM + b"tel;normalization_review\r\n'+57 304 585 7609;\r\n"

    def test_write_items(self, tmp_path: Path) -> None:
        """The store export takes the dialect too."""
        out = tmp_path / "out.csv"
        items = [{"leadId": "a", "ciudad": "bogotá; d.c.", NORMALIZED_DATA: {"ciudad": "Bogotá"}}]
        assert write_items(items, out, "csv", dialect="excel") == 1
        assert (
            out.read_bytes()
            == BOM
            + (
                'leadId;ciudad;ciudad_normalized;normalization_review\r\na;"bogotá; d.c.";Bogotá;\r\n'
            ).encode()
        )

    def test_write_items_standard_unchanged(self, tmp_path: Path) -> None:
        """The export's default stays comma-separated UTF-8 without a BOM."""
        out = tmp_path / "out.csv"
        write_items([{"leadId": "a", "ciudad": "Cúcuta"}], out, "csv")
        assert out.read_bytes() == "leadId,ciudad,normalization_review\r\na,Cúcuta,\r\n".encode()

    def test_empty_export_has_a_bom_and_header(self, tmp_path: Path) -> None:
        """No items: the Excel file still opens, with the review column only."""
        out = tmp_path / "out.csv"
        assert write_items([], out, "csv", dialect="excel") == 0
        assert out.read_bytes() == BOM + b"normalization_review\r\n"


class TestStandardOutput:
    def test_excel_to_stdout_writes_the_bom(
        self, capsysbinary: pytest.CaptureFixture[bytes]
    ) -> None:
        """ "-" with the Excel dialect gets the same bytes a file would, BOM first."""
        list(write_csv(iter(RECORDS[1:]), "-", columns=["ciudad"], fields=[], dialect="excel"))
        assert capsysbinary.readouterr().out == (
            BOM + "ciudad;normalization_review\r\nMedellín;\r\n".encode()
        )

    def test_export_to_stdout(self, capsysbinary: pytest.CaptureFixture[bytes]) -> None:
        """The store export to standard output (None) writes UTF-8 CSV there."""
        write_items([{"leadId": "a", "ciudad": "Cúcuta"}], None, "csv", dialect="excel")
        assert capsysbinary.readouterr().out == (
            BOM + "leadId;ciudad;normalization_review\r\na;Cúcuta;\r\n".encode()
        )

    def test_text_only_stdout(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """A stdout without bytes underneath (a notebook's) gets the text, BOM character first."""
        stream = io.StringIO()
        monkeypatch.setattr("sys.stdout", stream)
        list(write_csv(iter(RECORDS[1:]), None, columns=["ciudad"], fields=[], dialect="excel"))
        assert stream.getvalue() == "\ufeffciudad;normalization_review\r\nMedellín;\r\n"


class TestDialect:
    def test_excel_constants(self) -> None:
        """The Excel dialect is ';' with a BOM; the standard one ',' without."""
        assert (CsvDialect.EXCEL.delimiter, CsvDialect.EXCEL.bom) == (";", True)
        assert (CsvDialect.STANDARD.delimiter, CsvDialect.STANDARD.bom) == (",", False)

    def test_custom_dialect(self, tmp_path: Path) -> None:
        """A CsvDialect of one's own, e.g. tab-separated."""
        data = write(tmp_path / "out.csv", dialect=CsvDialect(delimiter="\t"))
        assert data.splitlines()[0] == b"nombres\tciudad\tnombres_normalized\tnormalization_review"

    @pytest.mark.parametrize("delimiter", ["", ";;", '"', "\n", "\r"])
    def test_bad_delimiter(self, delimiter: str) -> None:
        """A delimiter must be one character that is neither a quote nor a line end."""
        with pytest.raises(ConfigurationError, match="delimiter"):
            CsvDialect(delimiter=delimiter)

    def test_unknown_name(self, tmp_path: Path) -> None:
        """An unknown dialect name is a configuration error naming the known ones."""
        with pytest.raises(ConfigurationError, match="excel"):
            write_items([], tmp_path / "o.csv", "csv", dialect="libreoffice")  # type: ignore[arg-type]
