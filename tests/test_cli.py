"""The `llm-normalize` console script, run as a user runs it: a separate process."""

import csv
import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from llm_normalize.cli import main

SAMPLE = Path(__file__).resolve().parents[1] / "examples" / "leads.jsonl"
SCRIPT = shutil.which("llm-normalize", path=str(Path(sys.executable).parent)) or "llm-normalize"


def run(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [SCRIPT, *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=120, check=False
    )


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


class TestNormalizeCommand:
    def test_sample_end_to_end(self, tmp_path: Path) -> None:
        """The README's main job: the sample in, normalizedData out, input untouched."""
        before = SAMPLE.read_bytes()
        out = tmp_path / "normalized.jsonl"
        result = run("normalize", SAMPLE, "-o", out)
        assert result.returncode == 0, result.stderr
        assert SAMPLE.read_bytes() == before
        rows = read_jsonl(out)
        originals = read_jsonl(SAMPLE)
        assert len(rows) == 2000
        for row, original in zip(rows, originals, strict=True):
            assert {
                k: v for k, v in row.items() if k not in {"normalizedData", "normalizationMeta"}
            } == original
            assert isinstance(row["normalizedData"], dict)
        assert "2000 records" in result.stderr
        assert "0 malformed lines" in result.stderr

    def test_summary_has_no_values(self, tmp_path: Path) -> None:
        """Standard error carries counts and field names, never a field value."""
        out = tmp_path / "n.jsonl"
        result = run("normalize", SAMPLE, "-o", out)
        first = read_jsonl(SAMPLE)[0]
        for key in ("nombres", "apellidos", "email", "telefono"):
            assert str(first[key]) not in result.stderr

    def test_stdout(self, tmp_path: Path) -> None:
        """Without -o the records go to standard output."""
        src = tmp_path / "in.jsonl"
        src.write_text('{"leadId": "1", "nombres": "ANA"}\n', encoding="utf-8")
        result = run("normalize", src, "-q")
        assert result.returncode == 0
        assert result.stderr == ""
        assert json.loads(result.stdout)["normalizedData"] == {"nombres": "Ana"}

    def test_malformed_lines(self, tmp_path: Path) -> None:
        """Bad lines are named by number and counted, the others still written; exit 1."""
        src = tmp_path / "in.jsonl"
        src.write_text(
            '{"leadId": "1", "nombres": "ANA"}\n'
            '{"leadId": "2", "nombres": "SECRETO\n'
            "\n"
            "[1, 2]\n"
            '{"leadId": "3", "ciudad": "cali"}\n',
            encoding="utf-8",
        )
        out = tmp_path / "out.jsonl"
        result = run("normalize", src, "-o", out)
        assert result.returncode == 1
        assert "line 2: not valid JSON" in result.stderr
        assert "line 4: expected a JSON object, got an array" in result.stderr
        assert "2 malformed lines skipped" in result.stderr
        assert "SECRETO" not in result.stderr
        assert [row["leadId"] for row in read_jsonl(out)] == ["1", "3"]

    def test_not_utf8_line(self, tmp_path: Path) -> None:
        """A line that is not UTF-8 is reported and skipped."""
        src = tmp_path / "in.jsonl"
        src.write_bytes(b'{"nombres": "ANA"}\n{"nombres": "PE\xd1A"}\n')
        result = run("normalize", src, "-o", tmp_path / "o.jsonl")
        assert result.returncode == 1
        assert "line 2: not UTF-8" in result.stderr

    def test_missing_file(self, tmp_path: Path) -> None:
        """A missing input is one clear line and exit 2, with no output file left behind."""
        out = tmp_path / "out.jsonl"
        result = run("normalize", tmp_path / "nope.jsonl", "-o", out)
        assert result.returncode == 2
        assert (
            result.stderr.strip()
            == f"llm-normalize: error: no such file: '{tmp_path / 'nope.jsonl'}'"
        )
        assert not out.exists()

    def test_unknown_field(self, tmp_path: Path) -> None:
        """An unknown field is one clear line with a suggestion, exit 2."""
        result = run("normalize", SAMPLE, "--fields", "nombres,ciudda", "-o", tmp_path / "o.jsonl")
        assert result.returncode == 2
        assert (
            result.stderr.strip()
            == "llm-normalize: error: unknown field 'ciudda'; did you mean 'ciudad'?"
        )

    def test_refuses_to_overwrite_input(self, tmp_path: Path) -> None:
        """OUTPUT may not be the INPUT: originals are never overwritten."""
        src = tmp_path / "in.jsonl"
        src.write_text('{"nombres": "ANA"}\n', encoding="utf-8")
        result = run("normalize", src, "-o", src)
        assert result.returncode == 2
        assert "originals are never overwritten" in result.stderr
        assert src.read_text(encoding="utf-8") == '{"nombres": "ANA"}\n'

    def test_unknown_suffix(self, tmp_path: Path) -> None:
        """A file whose format cannot be told asks for --format."""
        src = tmp_path / "in.data"
        src.write_text("nombres\nANA\n", encoding="utf-8")
        result = run("normalize", src)
        assert result.returncode == 2
        assert "--format" in result.stderr
        forced = run("normalize", src, "--format", "csv", "-q")
        assert forced.returncode == 0
        assert "Ana" in forced.stdout

    def test_csv_round_trip(self, tmp_path: Path) -> None:
        """CSV in (semicolon-separated, Windows-1252), CSV out with _normalized columns."""
        src = tmp_path / "in.csv"
        src.write_bytes(
            "leadId;nombres;ciudad;nivelEducativo\n1;JOSÉ PEÑA;bogota;bachiller academico\n2;ana;;\n".encode(
                "cp1252"
            )
        )
        out = tmp_path / "out.csv"
        result = run("normalize", src, "-o", out)
        assert result.returncode == 0, result.stderr
        with out.open(encoding="utf-8", newline="") as stream:
            rows = list(csv.DictReader(stream))
        assert rows[0]["nombres"] == "JOSÉ PEÑA"
        assert rows[0]["nombres_normalized"] == "José Peña"
        assert rows[0]["nivelEducativo_normalized"] == "Bachiller"
        assert rows[0]["ciudad_normalized"].endswith("D.C.")
        assert rows[1]["nombres_normalized"] == "Ana"
        assert "normalization_review" in rows[0]

    def test_jsonl_to_csv(self, tmp_path: Path) -> None:
        """JSONL can be written as CSV; the columns are every key seen."""
        src = tmp_path / "in.jsonl"
        src.write_text(
            '{"leadId": "1", "nombres": "ANA"}\n{"leadId": "2", "empresa": "sena"}\n',
            encoding="utf-8",
        )
        out = tmp_path / "out.csv"
        assert run("normalize", src, "-o", out).returncode == 0
        with out.open(encoding="utf-8", newline="") as stream:
            rows = list(csv.DictReader(stream))
        assert list(rows[0]) == [
            "leadId",
            "nombres",
            "empresa",
            "nombres_normalized",
            "empresa_normalized",
            "normalization_review",
        ]
        assert rows[1]["empresa_normalized"] == "SENA"

    def test_csv_too_many_cells(self, tmp_path: Path) -> None:
        """A CSV row with more cells than columns is reported by line."""
        src = tmp_path / "in.csv"
        src.write_text("nombres,ciudad\nana,cali\nluis,cali,extra,cells\n", encoding="utf-8")
        result = run("normalize", src, "-o", tmp_path / "o.csv")
        assert result.returncode == 1
        assert "line 3: 4 cells for 2 columns" in result.stderr

    def test_python_dash_m(self, tmp_path: Path) -> None:
        """python -m llm_normalize is the same command."""
        result = subprocess.run(
            [sys.executable, "-m", "llm_normalize", "--version"],
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0
        assert result.stdout.startswith("llm-normalize ")


class TestInProcess:
    def test_usage_error(self, capsys: pytest.CaptureFixture[str]) -> None:
        """argparse usage errors exit 2."""
        with pytest.raises(SystemExit) as info:
            main(["normalize"])
        assert info.value.code == 2

    def test_backend_choice(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """An unknown backend is a usage error."""
        with pytest.raises(SystemExit):
            main(["normalize", str(SAMPLE), "--backend", "no-such-backend"])
        assert "invalid choice" in capsys.readouterr().err


class TestModelBackends:
    def test_fake_backend(self, tmp_path: Path) -> None:
        """--backend fake runs the whole model path offline and reports it."""
        out, report = tmp_path / "o.jsonl", tmp_path / "report.json"
        result = run("normalize", SAMPLE, "-o", out, "--backend", "fake", "--report", report)
        assert result.returncode == 0, result.stderr
        data = json.loads(report.read_text(encoding="utf-8"))
        assert data["records_in"] == 2000
        assert data["model_calls"] > 0
        assert data["values_sent_to_model"] < 400
        assert "model:" in result.stderr
        first = read_jsonl(SAMPLE)[0]
        assert str(first["nombres"]) not in report.read_text(encoding="utf-8")

    def test_bedrock_backend_over_http(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """--backend bedrock talks to Bedrock Runtime over HTTP (a local wire server here)."""
        from bedrock_server import BedrockWireServer

        src = tmp_path / "in.jsonl"
        src.write_text(
            '{"leadId": "1", "ciudad": "bogta", "nombres": "ANA"}\n{"leadId": "2", "ciudad": "bogta"}\n',
            encoding="utf-8",
        )
        out = tmp_path / "o.jsonl"
        with BedrockWireServer() as server:
            result = subprocess.run(
                [
                    SCRIPT,
                    "normalize",
                    str(src),
                    "-o",
                    str(out),
                    "--backend",
                    "bedrock",
                    "--endpoint-url",
                    server.endpoint_url,
                    "--region",
                    "us-east-1",
                    "--api",
                    "converse",
                ],
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
                env={
                    **os.environ,
                    "AWS_ACCESS_KEY_ID": "testing",
                    "AWS_SECRET_ACCESS_KEY": "testing",
                },
            )
            assert result.returncode == 0, result.stderr
            assert len(server.requests) == 1
        rows = read_jsonl(out)
        assert [row["normalizedData"]["ciudad"] for row in rows] == ["Bogotá D.C.", "Bogotá D.C."]


class TestOwnerOnlyOutput:
    @pytest.mark.parametrize("suffix", [".jsonl", ".csv"])
    def test_normalize_output_is_owner_only(
        self, tmp_path: Path, suffix: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """The output of normalize holds personal data: 0600, whatever the umask."""
        src = tmp_path / "in.jsonl"
        src.write_text('{"leadId": "a", "nombres": "ANA"}\n', encoding="utf-8")
        out = tmp_path / f"out{suffix}"
        old_umask = os.umask(0o002)
        try:
            assert main(["normalize", str(src), "-o", str(out), "-q"]) == 0
        finally:
            os.umask(old_umask)
        assert stat.S_IMODE(out.stat().st_mode) == 0o600

    def test_replaced_output_is_owner_only(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """An existing, world-readable output file is replaced by an owner-only one."""
        src = tmp_path / "in.jsonl"
        src.write_text('{"leadId": "a", "nombres": "ANA"}\n', encoding="utf-8")
        out = tmp_path / "out.jsonl"
        out.write_text("old\n", encoding="utf-8")
        out.chmod(0o644)
        assert main(["normalize", str(src), "-o", str(out), "-q"]) == 0
        assert stat.S_IMODE(out.stat().st_mode) == 0o600
        assert read_jsonl(out)[0]["leadId"] == "a"


class TestAnswerModeOption:
    """--answer-mode reaches the pipeline; json_schema needs the OpenAI backend."""

    def test_json_mode_sends_no_tool(self, tmp_path: Path) -> None:
        from llm_normalize import cli

        src = tmp_path / "in.jsonl"
        src.write_text('{"leadId": "1", "ciudad": "villa remota 7"}\n', encoding="utf-8")
        out = tmp_path / "out.jsonl"
        args = ["normalize", str(src), "-o", str(out), "--backend", "fake", "--answer-mode", "json"]
        assert cli.main(args) == 0
        assert out.exists()

    def test_json_schema_needs_openai(self, tmp_path: Path) -> None:
        from llm_normalize import cli

        src = tmp_path / "in.jsonl"
        src.write_text('{"leadId": "1", "ciudad": "x"}\n', encoding="utf-8")
        args = ["normalize", str(src), "--backend", "fake", "--answer-mode", "json_schema"]
        assert cli.main(args) == 2
