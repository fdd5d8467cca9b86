"""The command line's value cache: --cache, its defaults, rollback's purge, the console script."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from dynamo_server import dynamodb_endpoint, make_client, unique_table_name
from llm_normalize.caches.dynamodb import create_cache_table
from llm_normalize.cli import main

SAMPLE = Path(__file__).resolve().parents[1] / "examples" / "leads.jsonl"
SCRIPT = shutil.which("llm-normalize", path=str(Path(sys.executable).parent)) or "llm-normalize"


def script(*args: str | Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [SCRIPT, *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, **env},
    )


def report_of(path: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return loaded


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def user_cache() -> Path:
    """The default cache file under this test's XDG_CACHE_HOME (tests/conftest.py)."""
    return Path(os.environ["XDG_CACHE_HOME"]) / "llm-normalize" / "cache.db"


@pytest.fixture
def leads(tmp_path: Path) -> Path:
    """Records whose unsure values the fake answers acceptably (the guard refuses none)."""
    path = tmp_path / "leads.jsonl"
    path.write_text(
        "".join(
            json.dumps(
                {
                    "leadId": f"l{n}",
                    "nombres": "ANA",
                    "ciudad": f"Villa Remota {n % 7}",
                    "ocupacionActual": f"cosas varias {n % 3}",
                }
            )
            + "\n"
            for n in range(20)
        ),
        encoding="utf-8",
    )
    return path


def normalize(
    source: Path, tmp_path: Path, *options: str, name: str = "out"
) -> tuple[int, dict[str, Any]]:
    """`llm-normalize normalize` in process with the fake; its status and its report."""
    report = tmp_path / f"{name}.report.json"
    out = tmp_path / f"{name}.jsonl"
    args = ["normalize", str(source), "-o", str(out), "--backend", "fake", "--report", str(report)]
    status = main([*args, *options])
    return status, report_of(report)


class TestConsoleScript:
    """The issue's done-means, run as a user runs it: two runs over the same file."""

    def test_second_run_of_the_sample_makes_no_model_call(self, tmp_path: Path) -> None:
        env = {"XDG_CACHE_HOME": str(tmp_path / "xdg")}
        for name in ("first", "second"):
            result = script(
                "normalize",
                SAMPLE,
                "-o",
                tmp_path / f"{name}.jsonl",
                "--backend",
                "fake",
                "--report",
                tmp_path / f"{name}.json",
                env=env,
            )
            assert result.returncode == 0, result.stderr
        second = report_of(tmp_path / "second.json")
        assert second["cache_hits"] > 0
        assert second["model_calls"] == 0

    def test_second_run_of_the_sample_asks_only_what_the_guard_refused(
        self, tmp_path: Path
    ) -> None:
        """The default cache answers every accepted value of the first run; --cache none none."""
        env = {"XDG_CACHE_HOME": str(tmp_path / "xdg")}
        runs: dict[str, dict[str, Any]] = {}
        for name, extra in (("first", []), ("second", []), ("uncached", ["--cache", "none"])):
            result = script(
                "normalize",
                SAMPLE,
                "-o",
                tmp_path / f"{name}.jsonl",
                "--backend",
                "fake",
                "--report",
                tmp_path / f"{name}.json",
                *extra,
                env=env,
            )
            assert result.returncode == 0, result.stderr
            runs[name] = report_of(tmp_path / f"{name}.json")
            runs[name]["stderr"] = result.stderr
        first, second, uncached = runs["first"], runs["second"], runs["uncached"]
        refused = sum(first["guard_rejections"].values())
        assert first["values_sent_to_model"] > refused
        assert second["values_sent_to_model"] <= refused
        assert second["model_calls"] <= refused
        assert second["cache_hits"] >= first["values_sent_to_model"] - refused
        assert uncached["model_calls"] == first["model_calls"]
        assert uncached["values_sent_to_model"] == first["values_sent_to_model"]
        cache = tmp_path / "xdg" / "llm-normalize" / "cache.db"
        assert (
            f"value cache: SQLite file {str(cache)!r}, {second['cache_hits']} cache hits"
            in (second["stderr"])
        )
        assert "value cache: in memory, this run only" in uncached["stderr"]
        # The same records out, whoever answered.
        outputs = [
            [
                json.loads(line)["normalizedData"]
                for line in (tmp_path / f"{n}.jsonl").read_text(encoding="utf-8").splitlines()
            ]
            for n in ("first", "second", "uncached")
        ]
        assert outputs[0] == outputs[1] == outputs[2]

    def test_second_run_makes_no_model_call(self, leads: Path, tmp_path: Path) -> None:
        """With every answer accepted, the second run over the same file calls no model."""
        env = {"XDG_CACHE_HOME": str(tmp_path / "xdg")}
        for name in ("first", "second"):
            result = script(
                "normalize",
                leads,
                "-o",
                tmp_path / f"{name}.jsonl",
                "--backend",
                "fake",
                "--report",
                tmp_path / f"{name}.json",
                env=env,
            )
            assert result.returncode == 0, result.stderr
        first, second = report_of(tmp_path / "first.json"), report_of(tmp_path / "second.json")
        assert first["model_calls"] > 0
        assert (second["model_calls"], second["values_sent_to_model"]) == (0, 0)
        assert second["cache_hits"] == first["values_sent_to_model"]


class TestDefaultCacheFile:
    def test_owner_only_file_in_the_users_cache_dir(self, leads: Path, tmp_path: Path) -> None:
        """$XDG_CACHE_HOME/llm-normalize/cache.db, 0600 in a 0700 directory, whatever the umask."""
        old = os.umask(0o002)
        try:
            status, _ = normalize(leads, tmp_path)
        finally:
            os.umask(old)
        assert status == 0
        cache = user_cache()
        assert mode(cache) == 0o600
        assert mode(cache.parent) == 0o700
        # The command closed the file: SQLite removed its WAL files on the last close.
        assert sorted(p.name for p in cache.parent.iterdir()) == ["cache.db"]

    def test_fake_answers_are_cached_as_the_fake(self, leads: Path, tmp_path: Path) -> None:
        """The fake answers as model "fake": its echoes are never served for a real model."""
        status, report = normalize(leads, tmp_path)
        assert status == 0
        assert report["model_id"] == "fake"
        versions = {
            row[0]
            for row in sqlite3.connect(user_cache()).execute(
                "SELECT DISTINCT prompt_version FROM value_cache"
            )
        }
        assert versions
        assert {version.split("@", 1)[1] for version in versions} == {"fake"}

    def test_a_real_model_is_not_answered_with_the_fakes_echoes(
        self, leads: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """After a fake run, Bedrock (the wire server here) is still asked, with the same cache."""
        from bedrock_server import BedrockWireServer

        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        assert normalize(leads, tmp_path)[0] == 0
        with BedrockWireServer() as server:
            status, report = normalize(
                leads,
                tmp_path,
                "--backend",
                "bedrock",
                "--endpoint-url",
                server.endpoint_url,
                "--region",
                "us-east-1",
                name="bedrock",
            )
            assert server.requests
        assert status == 0
        assert report["cache_hits"] == 0

    def test_rules_open_no_cache(self, leads: Path, tmp_path: Path) -> None:
        """Without a model nothing is cached, and no cache file is made."""
        assert main(["normalize", str(leads), "-o", str(tmp_path / "o.jsonl"), "-q"]) == 0
        assert not user_cache().parent.exists()

    def test_none_writes_no_file(self, leads: Path, tmp_path: Path) -> None:
        status, report = normalize(leads, tmp_path, "--cache", "none")
        assert status == 0
        assert report["model_calls"] > 0
        assert not user_cache().parent.exists()

    def test_summary_names_the_cache_not_values(
        self, leads: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        normalize(leads, tmp_path)
        normalize(leads, tmp_path, name="again")
        err = capsys.readouterr().err
        assert f"value cache: SQLite file {str(user_cache())!r}, 10 cache hits" in err
        assert "Villa Remota" not in err

    def test_unwritable_cache_dir_is_a_usage_error(
        self, leads: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A cache directory that cannot be made says so, and how to do without it."""
        blocker = tmp_path / "file"
        blocker.write_text("", encoding="utf-8")
        monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
        status = main(
            ["normalize", str(leads), "-o", str(tmp_path / "o.jsonl"), "--backend", "fake"]
        )
        assert status == 2


class TestExplicitCache:
    def test_sqlite_url(self, leads: Path, tmp_path: Path) -> None:
        """--cache sqlite:///PATH keeps the answers in that file (made 0600), not the default one."""
        url = f"sqlite:///{tmp_path / 'mine' / 'answers.db'}"
        assert normalize(leads, tmp_path, "--cache", url)[0] == 0
        status, report = normalize(leads, tmp_path, "--cache", url, name="again")
        assert (status, report["model_calls"]) == (0, 0)
        assert mode(tmp_path / "mine" / "answers.db") == 0o600
        assert not user_cache().parent.exists()

    @pytest.mark.usefixtures("aws_env")
    def test_dynamodb_url(self, leads: Path, tmp_path: Path) -> None:
        """--cache dynamodb://TABLE shares the answers through the table (moto's server here)."""
        endpoint = dynamodb_endpoint()
        client = make_client(endpoint)
        table = unique_table_name("cache")
        create_cache_table(client, table)
        url = f"dynamodb://{table}?endpoint_url={endpoint}&region=us-east-1&ttl_days=2"
        assert normalize(leads, tmp_path, "--cache", url)[0] == 0
        assert client.scan(TableName=table, Select="COUNT")["Count"] == 10
        status, report = normalize(leads, tmp_path, "--cache", url, name="again")
        assert (status, report["model_calls"], report["cache_hits"]) == (0, 0, 10)
        client.close()

    @pytest.mark.parametrize(
        ("url", "message"),
        [
            ("redis://host", "unknown --cache 'redis://host'"),
            ("sqlite://host/x.db", "a SQLite --cache is sqlite:///"),
            ("dynamodb://", "a DynamoDB --cache names its table"),
            ("dynamodb://t?regoin=x", "unknown --cache option(s) ['regoin']"),
            ("dynamodb://t?ttl_days=soon", "--cache ttl_days must be a positive number of days"),
            ("dynamodb://t?ttl_days=inf", "--cache ttl_days must be a positive number of days"),
            ("dynamodb://t?ttl_days=0", "--cache ttl_days must be a positive number of days"),
        ],
    )
    def test_bad_url(
        self,
        leads: Path,
        tmp_path: Path,
        url: str,
        message: str,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        status = main(
            [
                "normalize",
                str(leads),
                "-o",
                str(tmp_path / "o.jsonl"),
                "--backend",
                "fake",
                "--cache",
                url,
            ]
        )
        assert status == 2
        assert message in capsys.readouterr().err


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake credentials and a region, as boto3 reads them (moto accepts any)."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.delenv("AWS_PROFILE", raising=False)


class TestStoreCommands:
    def test_run_caches_in_the_store_file_and_rollback_purges_it(
        self, leads: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """run keeps answers in the store's file; rollback purges them; the next run asks again."""
        db = tmp_path / "leads.db"
        url = f"sqlite:///{db}"
        assert main(["import", str(leads), "--store", url, "-q"]) == 0
        run = ["run", "--store", url, "--backend", "fake", "--json", "--no-progress"]
        assert main(run) == 0
        out, err = capsys.readouterr()
        first = json.loads(out)
        assert first["model_calls"] > 0
        assert f"value cache: SQLite file {str(db)!r}, 0 cache hits" in err
        assert main([*run, "--force-all"]) == 0
        again = json.loads(capsys.readouterr().out)
        assert (again["model_calls"], again["cache_hits"]) == (0, 10)
        assert not user_cache().parent.exists()

        version = first["prompt_version"]
        assert main(["rollback", "--store", url, "--prompt-version", version]) == 0
        err = capsys.readouterr().err
        assert (
            f"10 value cache entries of prompt version {version!r} purged from SQLite file" in err
        )
        assert "20 leads rolled back" in err
        assert main(run) == 0
        redo = json.loads(capsys.readouterr().out)
        assert redo["records_saved"] == 20
        assert redo["model_calls"] > 0

    def test_run_on_a_missing_store_creates_nothing(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A mistyped store is the store's error: the cache makes no file there either."""
        db = tmp_path / "typo.db"
        assert main(["run", "--store", f"sqlite:///{db}", "--backend", "fake"]) == 2
        assert "does not exist" in capsys.readouterr().err
        assert not db.exists()

    def test_rollback_without_a_cache_file_purges_nothing(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A memory store and no user cache file: nothing to purge, and no file is made."""
        assert main(["rollback", "--store", "memory://", "--prompt-version", "v1"]) == 0
        assert "purged" not in capsys.readouterr().err
        assert not user_cache().parent.exists()

    def test_rollback_purges_the_user_cache_file(
        self, leads: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Without a SQLite store, rollback purges the default cache file normalize uses."""
        _, report = normalize(leads, tmp_path)
        capsys.readouterr()
        version = report["prompt_version"]
        assert main(["rollback", "--store", "memory://", "--prompt-version", version]) == 0
        assert f"10 value cache entries of prompt version {version!r}" in capsys.readouterr().err
        assert normalize(leads, tmp_path, name="again")[1]["model_calls"] > 0

    def test_rollback_cache_none(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        url = f"sqlite:///{tmp_path / 'leads.db'}"
        args = ["rollback", "--create", "--store", url, "--prompt-version", "v1", "--cache", "none"]
        assert main(args) == 0
        err = capsys.readouterr().err
        assert "purged" not in err
        assert "0 leads rolled back" in err

    def test_rollback_cache_and_cache_table_together(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        url = f"sqlite:///{tmp_path / 'leads.db'}"
        args = ["rollback", "--create", "--store", url, "--prompt-version", "v1"]
        assert main([*args, "--cache", "none", "--cache-table", "t"]) == 2
        assert "not both" in capsys.readouterr().err

    def test_rollback_missing_cache_file_is_an_error(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """An explicit cache file that does not exist is a typo: nothing is rolled back or made."""
        url = f"sqlite:///{tmp_path / 'leads.db'}"
        missing = tmp_path / "nope.db"
        args = ["rollback", "--create", "--store", url, "--prompt-version", "v1"]
        assert main([*args, "--cache", f"sqlite:///{missing}"]) == 2
        err = capsys.readouterr().err
        assert "does not exist" in err
        assert "rolled back" not in err
        assert not missing.exists()

    @pytest.mark.usefixtures("aws_env")
    def test_rollback_cache_dynamodb_url(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """--cache dynamodb://TABLE purges that table, as --cache-table TABLE does."""
        from llm_normalize.caches import cache_key
        from llm_normalize.caches.dynamodb import DynamoDBValueCache

        endpoint = dynamodb_endpoint()
        client = make_client(endpoint)
        table = unique_table_name("cache")
        create_cache_table(client, table)
        cache = DynamoDBValueCache(table, client=client)
        cache.set_many({cache_key("ciudad", f"r{n}", "v1@m"): "X" for n in range(3)})
        url = f"sqlite:///{tmp_path / 'leads.db'}"
        cache_url = f"dynamodb://{table}?endpoint_url={endpoint}&region=us-east-1"
        args = ["rollback", "--create", "--store", url, "--prompt-version", "v1"]
        assert main([*args, "--cache", cache_url]) == 0
        assert (
            f"3 value cache entries of prompt version 'v1' purged from DynamoDB table {table!r}"
            in (capsys.readouterr().err)
        )
        assert client.scan(TableName=table, Select="COUNT")["Count"] == 0
        client.close()
