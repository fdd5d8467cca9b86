"""The scheduled job from the command line, on an embedded SQLite store: import, run, rollback, export."""

import csv
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

SAMPLE = Path(__file__).resolve().parents[1] / "examples" / "leads.jsonl"
SCRIPT = str(Path(sys.executable).parent / "llm-normalize")


def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [SCRIPT, *map(str, args)], capture_output=True, text=True, timeout=300, check=False
    )


def test_seed_job_end_to_end(tmp_path: Path) -> None:
    """Import the sample, run twice, roll back, run again, export: the seed's phases 1 to 3."""
    url = f"sqlite:///{tmp_path / 'leads.db'}"
    imported = run("import", SAMPLE, "--store", url)
    assert imported.returncode == 0, imported.stderr
    assert "2000 leads imported" in imported.stderr

    first = run("run", "--store", url, "--limit", "500", "--backend", "fake", "--json")
    assert first.returncode == 0, first.stderr
    report = json.loads(first.stdout)
    assert report["records_saved"] == 500
    assert report["values_sent_to_model"] > 0
    version = report["prompt_version"]

    rest = json.loads(run("run", "--store", url, "--limit", "5000", "--json").stdout)
    assert rest["records_saved"] == 1500
    again = json.loads(run("run", "--store", url, "--limit", "5000", "--json").stdout)
    assert again["records_in"] == 0

    rolled = run("rollback", "--store", url, "--prompt-version", version)
    assert rolled.returncode == 0
    assert "500 leads rolled back" in rolled.stderr
    redo = json.loads(run("run", "--store", url, "--limit", "5000", "--json").stdout)
    assert redo["records_saved"] == 500

    out = tmp_path / "export.jsonl"
    exported = run("export", "--store", url, "-o", out)
    assert exported.returncode == 0, exported.stderr
    items = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    originals = {
        lead["leadId"]: lead
        for lead in map(json.loads, SAMPLE.read_text(encoding="utf-8").splitlines())
    }
    assert len(items) == 2000
    own = {"normalizedData", "normalizedAt", "updatedAt", "normalizationMeta"}
    for item in items:
        assert {k: v for k, v in item.items() if k not in own} == originals[item["leadId"]]
        assert set(item["normalizedData"]) <= set(item)


def test_force_all_and_summary(tmp_path: Path) -> None:
    """--force-all redoes everything; the human summary names counts, never values."""
    url = f"sqlite:///{tmp_path / 'leads.db'}"
    src = tmp_path / "in.jsonl"
    src.write_text(
        '{"nombres": "ZZQX CANARIO", "ciudad": "bogta"}\n{"leadId": "b", "ciudad": "cali"}\n',
        encoding="utf-8",
    )
    assert run("import", src, "--store", url).returncode == 0
    assert run("run", "--store", url).returncode == 0
    forced = run("run", "--store", url, "--force-all")
    assert forced.returncode == 0
    assert "2 saved" in forced.stdout
    assert "ZZQX" not in forced.stdout + forced.stderr


def test_export_csv(tmp_path: Path) -> None:
    """Export to CSV gives originals and <field>_normalized columns."""
    url = f"sqlite:///{tmp_path / 'leads.db'}"
    src = tmp_path / "in.jsonl"
    src.write_text('{"leadId": "a", "nombres": "ANA", "empresa": "sena"}\n', encoding="utf-8")
    run("import", src, "--store", url)
    run("run", "--store", url)
    out = tmp_path / "out.csv"
    assert run("export", "--store", url, "-o", out).returncode == 0
    with out.open(encoding="utf-8", newline="") as stream:
        [row] = list(csv.DictReader(stream))
    assert row["nombres"] == "ANA"
    assert row["nombres_normalized"] == "Ana"
    assert row["empresa_normalized"] == "SENA"


def test_bad_store_url(tmp_path: Path) -> None:
    """An unknown store URL is one clear line, exit 2."""
    result = run("run", "--store", "postgres://x")
    assert result.returncode == 2
    assert "unknown store URL scheme 'postgres'" in result.stderr


def test_disabled_config(tmp_path: Path) -> None:
    """A stored config with enabled: false makes run do nothing and say so."""
    from llm_normalize.stores.sqlite import SQLiteLeadStore

    path = tmp_path / "leads.db"
    store = SQLiteLeadStore(path, config={"configId": "normalization-settings", "enabled": False})
    store.put([{"leadId": "a", "nombres": "ANA"}])
    store.close()
    result = run("run", "--store", f"sqlite:///{path}", "--json")
    data: dict[str, Any] = json.loads(result.stdout)
    assert data["enabled"] is False
    assert data["records_in"] == 0


def test_quality_report_command(tmp_path: Path) -> None:
    """report writes one HTML file and JSON; --check passes on healthy data; --no-values has none."""
    url = f"sqlite:///{tmp_path / 'leads.db'}"
    src = tmp_path / "in.jsonl"
    lines = SAMPLE.read_text(encoding="utf-8").splitlines()[:300]
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    run("import", src, "--store", url)
    run("run", "--store", url, "--limit", "1000")
    html = tmp_path / "report.html"
    result = run("report", "--store", url, "-o", html, "--json", "--check", "--no-values")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data
    page = html.read_text(encoding="utf-8")
    assert "<svg" in page
    first = json.loads(lines[0])
    assert first["email"] not in page
    assert str(first["direccion"]) not in page


def test_quality_history_drift(tmp_path: Path) -> None:
    """A SQLite store keeps its last report beside it; the next report compares with it."""
    db = tmp_path / "leads.db"
    url = f"sqlite:///{db}"
    src = tmp_path / "in.jsonl"
    lines = SAMPLE.read_text(encoding="utf-8").splitlines()[:200]
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    run("import", src, "--store", url)
    run("run", "--store", url, "--limit", "1000")
    first = run("report", "--store", url)
    assert first.returncode == 0, first.stderr
    history = tmp_path / "leads.db.quality.json"
    assert history.is_file()
    kept = history.read_text(encoding="utf-8")
    assert json.loads(lines[0])["direccion"] not in kept
    assert "compared with the previous report" not in first.stderr
    second = run("report", "--store", url, "--check")
    assert second.returncode == 0, second.stderr
    assert "compared with the previous report" in second.stderr
