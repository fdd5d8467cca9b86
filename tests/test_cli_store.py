"""The scheduled job from the command line, on an embedded SQLite store: import, run, rollback, export."""

import csv
import json
import os
import stat
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from dynamo_server import dynamodb_endpoint, make_client, unique_table_name
from llm_normalize.caches import cache_key
from llm_normalize.caches.dynamodb import DynamoDBValueCache, create_cache_table
from llm_normalize.cli import EXIT_BAD_LINES, main
from llm_normalize.stores import open_store
from llm_normalize.stores.dynamodb import create_leads_table

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
    own = {
        "normalizedData",
        "normalizedAt",
        "updatedAt",
        "normalizationMeta",
        "normalizationPrevious",
    }
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
    assert run("import", src, "--store", url, "--generate-ids").returncode == 0
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
    # What normalization writes is not exported as an original column.
    assert "normalizationPrevious" not in row


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


# -- import keeps ids as typed ------------------------------------------------------------


def stored_ids(url: str) -> list[Any]:
    store = open_store(url)
    try:
        return sorted(item["leadId"] for item in store.scan())
    finally:
        store.close()


IMPORT_LINES = [
    '{"leadId": "a", "nombres": "ANA"}',
    '{"leadId": 5, "nombres": "ZZSECRET CINCO"}',
    '{"leadId": "", "nombres": "ZZSECRET VACIO"}',
    '{"nombres": "ZZSECRET SIN ID"}',
    '{"leadId": "   ", "nombres": "ZZSECRET BLANCO"}',
    '{"leadId": " b ", "nombres": "BETO"}',
    '{"leadId": "c", "nombres": "ZZSECRET',
    '{"leadId": null, "nombres": "ZZSECRET NULO"}',
    '{"leadId": true, "nombres": "ZZSECRET"}',
    '{"leadId": 7.5, "nombres": "ZZSECRET"}',
]


class TestImportIds:
    def test_ids_are_kept_exactly_and_bad_ones_listed(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """String ids are kept as typed; number, blank and missing ids are listed by line, not imported."""
        src = tmp_path / "in.jsonl"
        src.write_text("\n".join(IMPORT_LINES) + "\n", encoding="utf-8")
        url = f"sqlite:///{tmp_path / 'leads.db'}"
        assert main(["import", str(src), "--store", url]) == EXIT_BAD_LINES
        err = capsys.readouterr().err
        assert stored_ids(url) == [" b ", "a"]
        assert "2 leads imported" in err
        assert "0 leadIds generated; 8 lines skipped" in err
        assert f"{src}: line 2: leadId is a number" in err
        assert 'quote it ("leadId": "...")' in err
        assert "line 3: leadId is blank" in err
        assert "line 4: no leadId" in err
        assert "line 5: leadId is blank" in err
        assert "line 7: not valid JSON" in err
        assert "line 8: no leadId" in err
        assert "line 9: leadId is a boolean" in err
        assert "line 10: leadId is a number" in err
        assert "--generate-ids" in err
        assert "ZZSECRET" not in err

    def test_importing_twice_keeps_the_same_leads(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """The same file imported twice leaves the same leads, not twice as many."""
        src = tmp_path / "in.jsonl"
        src.write_text("\n".join(IMPORT_LINES) + "\n", encoding="utf-8")
        url = f"sqlite:///{tmp_path / 'leads.db'}"
        main(["import", str(src), "--store", url])
        first = stored_ids(url)
        main(["import", str(src), "--store", url])
        assert stored_ids(url) == first
        assert len(first) == 2

    def test_generate_ids_for_blank_and_missing_only(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """--generate-ids gives blank and missing ids a UUID, never a number id."""
        src = tmp_path / "in.jsonl"
        src.write_text("\n".join(IMPORT_LINES) + "\n", encoding="utf-8")
        url = f"sqlite:///{tmp_path / 'leads.db'}"
        assert main(["import", str(src), "--store", url, "--generate-ids"]) == EXIT_BAD_LINES
        err = capsys.readouterr().err
        assert "6 leads imported" in err
        assert "4 leadIds generated; 4 lines skipped" in err
        assert "line 2: leadId is a number" in err
        assert "line 9: leadId is a boolean" in err
        ids = stored_ids(url)
        generated = [lead_id for lead_id in ids if lead_id not in {"a", " b "}]
        assert len(generated) == 4
        assert all(str(uuid.UUID(lead_id)) == lead_id for lead_id in generated)

    def test_csv_ids_are_text(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """A CSV id is text as written ("007" stays "007"); a blank cell is refused."""
        src = tmp_path / "in.csv"
        src.write_text("leadId,nombres\n007,ANA\n,ZZSECRET\n5,BETO\n", encoding="utf-8")
        url = f"sqlite:///{tmp_path / 'leads.db'}"
        assert main(["import", str(src), "--store", url]) == EXIT_BAD_LINES
        err = capsys.readouterr().err
        assert stored_ids(url) == ["007", "5"]
        assert "line 3: leadId is blank" in err
        assert "ZZSECRET" not in err

    def test_clean_file_exits_zero(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A file whose every lead has a text id imports with exit 0."""
        src = tmp_path / "in.jsonl"
        src.write_text('{"leadId": "a"}\n{"leadId": "b"}\n', encoding="utf-8")
        url = f"sqlite:///{tmp_path / 'leads.db'}"
        assert main(["import", str(src), "--store", url]) == 0
        assert "2 leads imported" in capsys.readouterr().err


# -- files with personal data are owner-only ----------------------------------------------


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


class TestPrivateFiles:
    def test_report_html_and_export_are_owner_only(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """report -o and export create their files 0600, even under a permissive umask."""
        src = tmp_path / "in.jsonl"
        lines = SAMPLE.read_text(encoding="utf-8").splitlines()[:50]
        src.write_text("\n".join(lines) + "\n", encoding="utf-8")
        url = f"sqlite:///{tmp_path / 'leads.db'}"
        assert main(["import", str(src), "--store", url]) == 0
        assert main(["run", "--store", url]) == 0
        old_umask = os.umask(0o002)
        try:
            html = tmp_path / "report.html"
            assert main(["report", "--store", url, "-o", str(html)]) == 0
            exported_jsonl = tmp_path / "export.jsonl"
            exported_csv = tmp_path / "export.csv"
            assert main(["export", "--store", url, "-o", str(exported_jsonl)]) == 0
            assert main(["export", "--store", url, "-o", str(exported_csv)]) == 0
        finally:
            os.umask(old_umask)
        assert "<svg" in html.read_text(encoding="utf-8")
        assert mode(html) == 0o600
        assert mode(exported_jsonl) == 0o600
        assert mode(exported_csv) == 0o600

    def test_replaced_report_is_owner_only(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A world-readable report from before is replaced by an owner-only one."""
        src = tmp_path / "in.jsonl"
        src.write_text('{"leadId": "a", "ciudad": "bogota"}\n', encoding="utf-8")
        url = f"sqlite:///{tmp_path / 'leads.db'}"
        main(["import", str(src), "--store", url])
        html = tmp_path / "report.html"
        html.write_text("old", encoding="utf-8")
        html.chmod(0o644)
        assert main(["report", "--store", url, "-o", str(html)]) == 0
        assert mode(html) == 0o600
        assert html.read_text(encoding="utf-8") != "old"
        assert not [p for p in tmp_path.iterdir() if p.name.startswith(".report.html.")]


# -- rollback purges the value cache ------------------------------------------------------


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake credentials and a region, as boto3 reads them (moto accepts any)."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.delenv("AWS_PROFILE", raising=False)


def cache_with_entries(endpoint: str) -> tuple[str, DynamoDBValueCache]:
    client = make_client(endpoint)
    name = unique_table_name("cache")
    create_cache_table(client, name)
    cache = DynamoDBValueCache(name, client=client)
    for n in range(3):
        cache.set(cache_key("ciudad", f"raw{n}", "v1@model-a"), f"BAD{n}")
    cache.set(cache_key("ciudad", "raw", "v2@model-a"), "GOOD")
    return name, cache


class TestRollbackCache:
    def test_rollback_purges_the_cache_table(
        self, tmp_path: Path, aws_env: None, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """--cache-table purges the version's entries, says how many, and keeps the others."""
        endpoint = dynamodb_endpoint()
        name, cache = cache_with_entries(endpoint)
        url = f"sqlite:///{tmp_path / 'leads.db'}"
        status = main(
            [
                "rollback",
                "--create",
                "--store",
                url,
                "--prompt-version",
                "v1",
                "--cache-table",
                f"{name}?endpoint_url={endpoint}&region=us-east-1",
            ]
        )
        assert status == 0
        err = capsys.readouterr().err
        assert (
            f"3 value cache entries of prompt version 'v1' purged from DynamoDB table {name!r}"
            in err
        )
        assert "0 leads rolled back" in err
        assert cache.get(cache_key("ciudad", "raw0", "v1@model-a")) is None
        assert cache.get(cache_key("ciudad", "raw", "v2@model-a")) == "GOOD"
        assert endpoint not in err

    def test_cache_takes_the_dynamodb_store_endpoint(
        self, aws_env: None, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """With a dynamodb:// store, the cache table uses the store URL's endpoint and region."""
        endpoint = dynamodb_endpoint()
        client = make_client(endpoint)
        leads = unique_table_name("leads")
        create_leads_table(client, leads)
        name, cache = cache_with_entries(endpoint)
        url = f"dynamodb://{leads}?endpoint_url={endpoint}&region=us-east-1"
        status = main(["rollback", "--store", url, "--prompt-version", "v1", "--cache-table", name])
        assert status == 0
        assert "3 value cache entries" in capsys.readouterr().err
        assert cache.get(cache_key("ciudad", "raw1", "v1@model-a")) is None

    def test_missing_cache_table_is_an_error_before_the_rollback(
        self, tmp_path: Path, aws_env: None, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A cache table that does not exist fails the command before any lead is rolled back."""
        endpoint = dynamodb_endpoint()
        url = f"sqlite:///{tmp_path / 'leads.db'}"
        status = main(
            [
                "rollback",
                "--create",
                "--store",
                url,
                "--prompt-version",
                "v1",
                "--cache-table",
                f"{unique_table_name('absent')}?endpoint_url={endpoint}",
            ]
        )
        assert status == 2
        err = capsys.readouterr().err
        assert "ResourceNotFoundException" in err
        assert "rolled back" not in err

    def test_unknown_cache_option(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """An unknown option after the cache table name is a usage error."""
        url = f"sqlite:///{tmp_path / 'leads.db'}"
        status = main(
            [
                "rollback",
                "--create",
                "--store",
                url,
                "--prompt-version",
                "v1",
                "--cache-table",
                "t?regoin=x",
            ]
        )
        assert status == 2
        assert "unknown --cache-table option(s) ['regoin']" in capsys.readouterr().err


# -- a model that cannot be used ----------------------------------------------------------


@pytest.mark.usefixtures("aws_env")
@pytest.mark.parametrize("command", ["run", "normalize"])
def test_unusable_model_exits_3_and_records_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    """Bedrock denying access: one error line naming the fix, exit 3, nothing recorded."""
    from bedrock_server import BedrockWireServer, ScriptedError

    src = tmp_path / "in.jsonl"
    src.write_text(
        "".join(
            json.dumps({"leadId": f"l{n}", "ciudad": f"Villa Remota {n}", "nombres": "ANA"}) + "\n"
            for n in range(30)
        ),
        encoding="utf-8",
    )
    url = f"sqlite:///{tmp_path / 'leads.db'}"
    out = tmp_path / "out.jsonl"
    with BedrockWireServer() as server:
        server.fail_next(*[ScriptedError(403, "AccessDeniedException")] * 100)
        model = ["--backend", "bedrock", "--endpoint-url", server.endpoint_url]
        if command == "run":
            assert main(["import", str(src), "--store", url]) == 0
            status = main(["run", "--store", url, "--no-progress", *model])
        else:
            status = main(["normalize", str(src), "-o", str(out), *model])
        calls = len(server.requests)
    err = capsys.readouterr().err
    assert status == 3
    assert calls <= 4  # no more calls after the refusal (4 may have been in flight)
    [line] = [line for line in err.splitlines() if "error:" in line]
    assert "AccessDeniedException" in line
    assert "bedrock:InvokeModel" in line
    if command == "run":
        assert all("normalizedAt" not in item for item in open_store(url).scan())
    else:
        assert not out.exists()
