"""The deprecated module `llm_normalize.cache` still serves the caches, with a warning."""

import importlib
import subprocess
import sys

import pytest

import llm_normalize.caches

NAMES = ["CacheKey", "LRUCache", "NullCache", "ValueCache", "cache_key"]


class TestDeprecatedCacheModule:
    @pytest.mark.parametrize("name", NAMES)
    def test_names_are_the_new_objects_with_a_warning(self, name: str) -> None:
        """Each name of the old module is the object of llm_normalize.caches, and warns."""
        old = importlib.import_module("llm_normalize.cache")
        with pytest.warns(DeprecationWarning, match=r"llm_normalize\.caches"):
            value = getattr(old, name)
        assert value is getattr(llm_normalize.caches, name)

    def test_from_import_warns(self) -> None:
        """`from llm_normalize.cache import LRUCache` works and warns."""
        with pytest.warns(DeprecationWarning, match="llm_normalize.cache is deprecated"):
            from llm_normalize.cache import LRUCache
        assert LRUCache is llm_normalize.caches.LRUCache

    def test_all_lists_the_same_names(self) -> None:
        """The old module's __all__ is the names it served."""
        old = importlib.import_module("llm_normalize.cache")
        assert old.__all__ == NAMES

    def test_unknown_name(self) -> None:
        """Other names are an AttributeError, without a warning."""
        old = importlib.import_module("llm_normalize.cache")
        with pytest.raises(AttributeError, match="no attribute 'DynamoDBValueCache'"):
            old.DynamoDBValueCache  # noqa: B018

    def test_star_import_warns_outside_tests(self) -> None:
        """A plain script importing the old names sees a DeprecationWarning (shown with -W)."""
        code = "from llm_normalize.cache import *\nprint(LRUCache.__module__)\n"
        result = subprocess.run(
            [sys.executable, "-W", "error::DeprecationWarning", "-c", code],
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode != 0
        assert "DeprecationWarning" in result.stderr


def test_caches_import_is_light() -> None:
    """Importing llm_normalize.caches loads neither boto3 nor the DynamoDB cache."""
    code = (
        "import sys, llm_normalize.caches\n"
        "loaded = [m for m in ('boto3', 'botocore', 'llm_normalize.caches.dynamodb') if m in sys.modules]\n"
        "assert not loaded, loaded\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_the_package_does_not_use_the_deprecated_module() -> None:
    """Nothing in the package imports llm_normalize.cache (it would warn)."""
    code = (
        "import sys, llm_normalize, llm_normalize.caches.dynamodb, llm_normalize.stores.dynamodb\n"
        "import llm_normalize.stores.sqlite, llm_normalize.pipeline\n"
        "assert 'llm_normalize.cache' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
