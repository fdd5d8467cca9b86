"""A store URL that points at nothing is an error, unless the caller asks to create the store."""

from __future__ import annotations

import logging
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from botocore.stub import Stubber

from dynamo_server import drop_table, dynamodb_endpoint, make_client, unique_table_name
from llm_normalize.exceptions import ConfigurationError, StorageError, StoreNotFoundError
from llm_normalize.stores import open_store
from llm_normalize.stores.dynamodb import DynamoDBLeadStore, create_leads_table
from llm_normalize.stores.sqlite import SQLiteLeadStore

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

LEAD = {"leadId": "lead-1", "ciudad": "bogota"}


def url_of(path: Path) -> str:
    return f"sqlite:///{path}"


class TestSQLiteURL:
    def test_missing_file_is_an_error(self, tmp_path: Path) -> None:
        """open_store on a SQLite file that does not exist raises StoreNotFoundError and creates nothing."""
        db = tmp_path / "typo" / "leads.db"
        with pytest.raises(StoreNotFoundError) as info:
            open_store(url_of(db))
        assert isinstance(info.value, ConfigurationError)
        assert not db.exists()
        assert not db.parent.exists()

    def test_message_names_the_path_and_the_fix(self, tmp_path: Path) -> None:
        """The message names the file and says to import first or pass --create, on one line."""
        db = tmp_path / "leads.db"
        url = url_of(db)
        with pytest.raises(StoreNotFoundError) as info:
            open_store(url)
        message = str(info.value)
        assert str(db) in message
        assert f"llm-normalize import FILE --store {url}" in message
        assert "--create" in message
        assert "\n" not in message

    def test_relative_path_is_shown_resolved(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A relative path is shown as given and as resolved from the working directory."""
        monkeypatch.chdir(tmp_path)
        with pytest.raises(StoreNotFoundError) as info:
            open_store("sqlite:///leeds.db")
        assert "'leeds.db'" in str(info.value)
        assert str(tmp_path / "leeds.db") in str(info.value)

    def test_create_makes_it(self, tmp_path: Path) -> None:
        """With create=True a missing file is created (0600), as before."""
        db = tmp_path / "new" / "leads.db"
        store = open_store(url_of(db), create=True)
        store.put([LEAD])
        store.close()
        assert db.stat().st_mode & 0o777 == 0o600
        reopened = open_store(url_of(db))
        try:
            assert reopened.get("lead-1") == LEAD
        finally:
            reopened.close()

    def test_existing_store_opens(self, tmp_path: Path) -> None:
        """A file made by an import opens without create, and keeps its leads."""
        db = tmp_path / "leads.db"
        SQLiteLeadStore(db).put([LEAD])
        store = open_store(url_of(db))
        try:
            assert store.get("lead-1") == LEAD
        finally:
            store.close()

    def test_create_is_keyword_only(self, tmp_path: Path) -> None:
        """create cannot be passed by position."""
        with pytest.raises(TypeError):
            open_store(url_of(tmp_path / "x.db"), True)  # type: ignore[call-arg]

    def test_odd_characters_in_the_path(self, tmp_path: Path) -> None:
        """A file name with ?, #, % and spaces opens the same file, not another one."""
        db = tmp_path / "a b?c#d%20e.db"
        SQLiteLeadStore(db).put([LEAD])
        store = SQLiteLeadStore(db, create=False)
        try:
            assert store.get("lead-1") == LEAD
        finally:
            store.close()
        assert sorted(
            p.name for p in tmp_path.iterdir() if not p.name.endswith(("-wal", "-shm"))
        ) == [db.name]

    def test_a_directory_is_a_storage_error(self, tmp_path: Path) -> None:
        """A path that is a directory is not 'missing': it fails to open, as before."""
        with pytest.raises(StorageError):
            open_store(url_of(tmp_path))


class TestSQLiteStore:
    def test_create_false_refuses_a_missing_file(self, tmp_path: Path) -> None:
        """SQLiteLeadStore(path, create=False) raises StoreNotFoundError and creates nothing."""
        db = tmp_path / "leads.db"
        with pytest.raises(StoreNotFoundError, match="does not exist"):
            SQLiteLeadStore(db, create=False)
        assert list(tmp_path.iterdir()) == []

    def test_create_defaults_to_true(self, tmp_path: Path) -> None:
        """The class keeps creating missing files by default."""
        db = tmp_path / "leads.db"
        SQLiteLeadStore(db).close()
        assert db.exists()

    def test_file_without_the_leads_table(self, tmp_path: Path) -> None:
        """An existing SQLite file with no leads table is not a store: StoreNotFoundError, untouched."""
        db = tmp_path / "other.db"
        conn = sqlite3.connect(db)
        conn.execute("CREATE TABLE t (x)")
        conn.commit()
        conn.close()
        with pytest.raises(StoreNotFoundError, match="'leads'"):
            SQLiteLeadStore(db, create=False)
        conn = sqlite3.connect(db)
        names = [row[0] for row in conn.execute("SELECT name FROM sqlite_master")]
        conn.close()
        assert names == ["t"]

    def test_empty_file(self, tmp_path: Path) -> None:
        """An empty file (e.g. made by touch) has no leads table either."""
        db = tmp_path / "empty.db"
        db.touch()
        with pytest.raises(StoreNotFoundError):
            SQLiteLeadStore(db, create=False)
        assert db.stat().st_size == 0

    def test_other_table_name(self, tmp_path: Path) -> None:
        """create=False looks for the table the store is given."""
        db = tmp_path / "leads.db"
        SQLiteLeadStore(db).close()
        with pytest.raises(StoreNotFoundError, match="'archive'"):
            SQLiteLeadStore(db, table="archive", create=False)
        SQLiteLeadStore(db, table="archive").close()
        SQLiteLeadStore(db, table="archive", create=False).close()

    def test_memory_database(self) -> None:
        """':memory:' is always new, so create=False does not apply to it."""
        SQLiteLeadStore(":memory:", create=False).close()

    def test_read_only_file_is_not_missing(self, tmp_path: Path) -> None:
        """A write-protected store fails as before (a StorageError), not as a missing one."""
        if os.geteuid() == 0:
            pytest.skip("root ignores file modes")
        db = tmp_path / "leads.db"
        SQLiteLeadStore(db).put([LEAD])
        for name in os.listdir(tmp_path):
            (tmp_path / name).chmod(0o400)
        try:
            with pytest.raises(StorageError) as info:
                SQLiteLeadStore(db, create=False)
            assert not isinstance(info.value, StoreNotFoundError)
        finally:
            for name in os.listdir(tmp_path):
                (tmp_path / name).chmod(0o600)

    def test_in_memory_database_url(self) -> None:
        """sqlite:///:memory: is a new in-memory database, as before."""
        store = open_store("sqlite:///:memory:")
        try:
            assert store.put([LEAD]) == 1
        finally:
            store.close()


class TestMemoryURL:
    def test_memory_always_opens(self) -> None:
        """memory:// needs no create."""
        store = open_store("memory://")
        store.close()


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Fake credentials, no region of boto3's own, no config file."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))


@pytest.fixture
def ddb() -> Iterator[DynamoDBClient]:
    client = make_client(dynamodb_endpoint())
    yield client
    client.close()


class TestDynamoDBURL:
    def test_missing_table_is_an_error(self, aws_env: None) -> None:
        """A dynamodb:// URL naming no table raises StoreNotFoundError naming the table and region."""
        endpoint = dynamodb_endpoint()
        name = unique_table_name("typo")
        with pytest.raises(StoreNotFoundError) as info:
            open_store(f"dynamodb://{name}?region=eu-west-3&endpoint_url={endpoint}")
        message = str(info.value)
        assert repr(name) in message
        assert "'eu-west-3'" in message
        assert endpoint not in message
        assert "\n" not in message

    def test_missing_table_with_create(self, aws_env: None) -> None:
        """create=True cannot create a DynamoDB table: a missing one is still reported."""
        endpoint = dynamodb_endpoint()
        name = unique_table_name("typo")
        with pytest.raises(StoreNotFoundError):
            open_store(f"dynamodb://{name}?region=us-east-1&endpoint_url={endpoint}", create=True)

    def test_existing_table_opens(self, aws_env: None, ddb: DynamoDBClient) -> None:
        """An existing table opens, and works."""
        endpoint = dynamodb_endpoint()
        name = unique_table_name("leads")
        create_leads_table(ddb, name)
        try:
            store = open_store(f"dynamodb://{name}?region=us-east-1&endpoint_url={endpoint}")
            try:
                store.put([LEAD])
                assert store.get("lead-1") == LEAD
            finally:
                store.close()
        finally:
            drop_table(ddb, name)


class TestDynamoDBCheck:
    def test_check_table_on_missing(self, ddb: DynamoDBClient) -> None:
        """check_table raises StoreNotFoundError for a missing table."""
        store = DynamoDBLeadStore(unique_table_name("typo"), client=ddb)
        with pytest.raises(StoreNotFoundError, match="'us-east-1'"):
            store.check_table()

    def test_access_denied_skips_the_check(self, caplog: pytest.LogCaptureFixture) -> None:
        """Without dynamodb:DescribeTable the check is skipped: the first real call will tell."""
        client = make_client(None)
        store = DynamoDBLeadStore("leads", client=client)
        with Stubber(client) as stub, caplog.at_level(logging.DEBUG):
            stub.add_client_error("describe_table", "AccessDeniedException", http_status_code=400)
            store.check_table()
            stub.assert_no_pending_responses()

    def test_other_errors_are_storage_errors(self) -> None:
        """Any other failure of DescribeTable is a StorageError naming the table."""
        client = make_client(None)
        store = DynamoDBLeadStore("leads", client=client)
        with Stubber(client) as stub:
            stub.add_client_error(
                "describe_table", "UnrecognizedClientException", http_status_code=400
            )
            with pytest.raises(StorageError, match="DescribeTable on table 'leads'") as info:
                store.check_table()
        assert not isinstance(info.value, StoreNotFoundError)
