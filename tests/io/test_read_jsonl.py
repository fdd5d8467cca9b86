"""Reading JSONL, and JSON arrays: what can be stored is read, the rest named by line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from llm_normalize.io import BadLine, Row, read_records

LEADS: list[dict[str, Any]] = [
    {"leadId": "1", "nombres": "JOSÉ", "apellidos": "PEÑA MUÑOZ", "ciudad": "BOGOTÁ"},
    {"leadId": "2", "nombres": "ana", "apellidos": "niño", "extra": {"canal": ["web", 2]}},
    {"leadId": "3", "nombres": "LUIS 😀", "apellidos": "", "edad": 31.5, "ok": True},
]
NAN = "not valid JSON: NaN/Infinity are not JSON"
SURROGATE = "contains an invalid Unicode escape (lone surrogate)"
DEEP = "nested deeper than 64 levels"


def jsonl(*lines: str | dict[str, Any]) -> bytes:
    text = [line if isinstance(line, str) else json.dumps(line) for line in lines]
    return ("\n".join(text) + "\n").encode()


def read(tmp_path: Path, data: bytes, name: str = "leads.jsonl") -> list[Row | BadLine]:
    path = tmp_path / name
    path.write_bytes(data)
    reader = read_records(path)
    assert (reader.format, reader.delimiter, reader.columns) == ("jsonl", None, None)
    return list(reader)


def nested(depth: int) -> str:
    """An object whose value is `depth - 1` arrays deep: `depth` levels in all."""
    return '{"a": ' + "[" * (depth - 1) + "]" * (depth - 1) + "}"


class TestLines:
    def test_values_are_exact(self, tmp_path: Path) -> None:
        """Every line is its object, accents and emoji as written."""
        data = ("\n".join(json.dumps(lead, ensure_ascii=False) for lead in LEADS) + "\n").encode()
        assert read(tmp_path, data) == [Row(i + 1, lead) for i, lead in enumerate(LEADS)]

    def test_bom_and_blank_lines(self, tmp_path: Path) -> None:
        """A UTF-8 BOM on line 1 is dropped; blank lines are skipped but counted."""
        data = b"\xef\xbb\xbf" + jsonl(LEADS[0], "", "  ", LEADS[1])
        assert read(tmp_path, data) == [Row(1, LEADS[0]), Row(4, LEADS[1])]

    @pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
    def test_nan_and_infinity(self, tmp_path: Path, literal: str) -> None:
        """NaN and Infinity cannot be stored, so their line is bad, and reading goes on."""
        data = jsonl(LEADS[0], '{"leadId": "x", "edad": ' + literal + "}", LEADS[1])
        assert read(tmp_path, data) == [Row(1, LEADS[0]), BadLine(2, NAN), Row(3, LEADS[1])]

    @pytest.mark.parametrize(
        "line",
        [
            r'{"nombres": "ANA \ud800"}',
            r'{"nombres\udfff": "ANA"}',
            r'{"a": {"b": [1, {"c": "x\udc80y"}]}}',
            r'{"a": "\ude00\ud83d"}',
        ],
    )
    def test_lone_surrogates(self, tmp_path: Path, line: str) -> None:
        """A lone surrogate anywhere, keys included, is a bad line: it cannot be encoded."""
        data = jsonl(line, LEADS[0])
        assert read(tmp_path, data) == [BadLine(1, SURROGATE), Row(2, LEADS[0])]

    def test_surrogate_pairs_and_escaped_backslashes(self, tmp_path: Path) -> None:
        """A surrogate pair is one character; an escaped backslash before 'ud800' is text."""
        data = jsonl(r'{"a": "\ud83d\ude00"}', r'{"a": "\\ud800"}')
        assert read(tmp_path, data) == [Row(1, {"a": "😀"}), Row(2, {"a": "\\ud800"})]

    def test_deep_nesting(self, tmp_path: Path) -> None:
        """100,000 levels is a bad line, not a RecursionError; 64 levels is fine."""
        data = jsonl(nested(100_000), nested(65), nested(64), LEADS[0])
        items = read(tmp_path, data)
        assert items[:2] == [BadLine(1, DEEP), BadLine(2, DEEP)]
        assert isinstance(items[2], Row)
        assert items[2].line == 3
        assert items[3] == Row(4, LEADS[0])

    def test_brackets_inside_strings_do_not_count(self, tmp_path: Path) -> None:
        """Depth counts structure only; a string of 200 brackets is a value."""
        value = {"a": "[{" * 100}
        assert read(tmp_path, jsonl(value)) == [Row(1, value)]

    def test_not_utf8(self, tmp_path: Path) -> None:
        """A line that is not UTF-8 is bad with the --encoding hint; the next lines are read."""
        data = jsonl(LEADS[0]) + '{"nombres": "PEÑA"}\n'.encode("cp1252") + jsonl(LEADS[1])
        assert read(tmp_path, data) == [
            Row(1, LEADS[0]),
            BadLine(
                2,
                "not UTF-8 (byte 16); hint: --encoding cp1252 if the whole file is Windows-1252",
            ),
            Row(3, LEADS[1]),
        ]

    def test_not_objects(self, tmp_path: Path) -> None:
        """Values other than objects, and broken JSON, are named by line."""
        data = jsonl(LEADS[0], "[1, 2]", '"x"', "{broken", LEADS[1])
        assert read(tmp_path, data) == [
            Row(1, LEADS[0]),
            BadLine(2, "expected a JSON object, got an array"),
            BadLine(3, "expected a JSON object, got a string"),
            BadLine(
                4, "not valid JSON (Expecting property name enclosed in double quotes at column 2)"
            ),
            Row(5, LEADS[1]),
        ]

    def test_first_line_an_array_then_objects(self, tmp_path: Path) -> None:
        """JSONL whose first line is an array is still JSONL: that line is bad, the rest read."""
        data = jsonl("[" + json.dumps(LEADS[0]) + "]", "", LEADS[1], LEADS[2])
        assert read(tmp_path, data) == [
            BadLine(1, "expected a JSON object, got an array"),
            Row(3, LEADS[1]),
            Row(4, LEADS[2]),
        ]

    def test_utf16_with_bom(self, tmp_path: Path) -> None:
        """A UTF-16 file with a BOM is decoded by the BOM."""
        data = b"\xff\xfe" + jsonl(*LEADS).decode().replace("\n", "\r\n").encode("utf-16-le")
        path = tmp_path / "leads.jsonl"
        path.write_bytes(data)
        reader = read_records(path)
        assert reader.encoding == "utf-16-le"
        assert list(reader) == [Row(i + 1, lead) for i, lead in enumerate(LEADS)]


class TestArrays:
    """A file whose first non-blank character is '[' is one JSON array; "line" is the element."""

    def test_pretty_printed(self, tmp_path: Path) -> None:
        """A .json export, indented, is read element by element, numbered from 1."""
        data = b"\n  " + json.dumps(LEADS, indent=2, ensure_ascii=False).encode() + b"\n"
        assert read(tmp_path, data, "leads.json") == [Row(i + 1, x) for i, x in enumerate(LEADS)]

    def test_compact(self, tmp_path: Path) -> None:
        """An array on one line is read the same way."""
        data = b"\xef\xbb\xbf" + json.dumps(LEADS).encode()
        assert read(tmp_path, data, "leads.json") == [Row(i + 1, x) for i, x in enumerate(LEADS)]

    def test_empty(self, tmp_path: Path) -> None:
        """An empty array has no records."""
        assert read(tmp_path, b"[\n]\n", "leads.json") == []

    def test_bad_elements(self, tmp_path: Path) -> None:
        """Each element is checked alone: a bad one is named by its number and the rest read."""
        deep = "[" * 100_000 + "]" * 100_000
        data = (
            "[\n"
            f"  {json.dumps(LEADS[0])},\n"
            '  {"edad": NaN},\n'
            '  "texto",\n'
            f"  {deep},\n"
            r'  {"a": "\udfff"},' + "\n"
            f"  {nested(70)},\n"
            "  {broken: 1, [x]},\n"
            f"  {json.dumps(LEADS[1])}\n"
            "]\n"
        ).encode()
        assert read(tmp_path, data, "leads.json") == [
            Row(1, LEADS[0]),
            BadLine(2, NAN),
            BadLine(3, "expected a JSON object, got a string"),
            BadLine(4, DEEP),
            BadLine(5, SURROGATE),
            BadLine(6, DEEP),
            BadLine(
                7,
                "not valid JSON (Expecting property name enclosed in double quotes at line 8 column 4)",
            ),
            Row(8, LEADS[1]),
        ]

    def test_cut_short(self, tmp_path: Path) -> None:
        """A truncated array gives the elements before the cut and one bad line for the rest."""
        text = json.dumps(LEADS, indent=2)
        data = text[: text.index('"leadId": "3"') + 5].encode()
        items = read(tmp_path, data, "leads.json")
        assert items[:2] == [Row(1, LEADS[0]), Row(2, LEADS[1])]
        assert [type(item) for item in items[2:]] == [BadLine]
        assert items[2].line == 3

    def test_not_utf8_element(self, tmp_path: Path) -> None:
        """A bad byte spoils the element it is in, not the array."""
        data = b"[" + json.dumps(LEADS[0]).encode() + b',{"a": "PE\xd1A"},' + b'{"b": "\xc3\x91"}]'
        assert read(tmp_path, data, "leads.json") == [
            Row(1, LEADS[0]),
            BadLine(2, "not UTF-8; hint: --encoding cp1252 if the whole file is Windows-1252"),
            Row(3, {"b": "Ñ"}),
        ]

    def test_text_after_the_array(self, tmp_path: Path) -> None:
        """Anything after the closing bracket is one bad line after the last element."""
        data = b"[\n" + json.dumps(LEADS[0]).encode() + b"\n]\n{}\n"
        items = read(tmp_path, data, "leads.json")
        assert items[0] == Row(1, LEADS[0])
        assert [type(item) for item in items[1:]] == [BadLine]
        assert items[1].line == 2
