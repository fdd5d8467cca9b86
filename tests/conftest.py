import os
import uuid
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

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
