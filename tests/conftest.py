from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from hypothesis import HealthCheck, settings

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

# "ci" runs more examples than a developer's edit-test loop; both stay well under a minute.
settings.register_profile("dev", max_examples=200, deadline=None)
settings.register_profile(
    "ci", max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))


@pytest.fixture(scope="session")
def _user_cache_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("xdg-cache")


@pytest.fixture(autouse=True)
def _private_user_cache(_user_cache_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test gets its own XDG_CACHE_HOME (created on use), so the command line's default
    value cache neither reads nor writes the developer's ~/.cache, nor another test's."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(_user_cache_root / uuid.uuid4().hex))


@pytest.fixture(scope="session")
def spark() -> Iterator[SparkSession]:  # a local Spark, for the tests that ask for one
    """One local session for the test session: started once, stopped at the end."""
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[2,4]")
        .appName("llm_normalize-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.pyspark.python", sys.executable)
        .config("spark.pyspark.driver.python", sys.executable)
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
