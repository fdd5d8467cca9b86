import pytest

from llm_normalize.caches import (
    CacheKey,
    LRUCache,
    NullCache,
    PurgeableCache,
    ValueCache,
    cache_key,
    matches_prompt_version,
)
from llm_normalize.exceptions import ConfigurationError


class TestCacheKey:
    def test_field_spellings_share_a_key(self) -> None:
        """camelCase and snake_case spellings of a field build the same key."""
        assert cache_key("nivelEducativo", "bachiller", "abc") == cache_key(
            "nivel_educativo", "bachiller", "abc"
        )
        assert cache_key("nivelEducativo", "bachiller", "abc") == (
            "niveleducativo",
            "bachiller",
            "abc",
        )

    def test_raw_value_and_version_are_kept_exactly(self) -> None:
        """The raw value is not cleaned and the prompt version is part of the key."""
        assert cache_key("ciudad", " Bogota ", "v1") != cache_key("ciudad", "Bogota", "v1")
        assert cache_key("ciudad", "Bogota", "v1") != cache_key("ciudad", "Bogota", "v2")


class TestProtocol:
    @pytest.mark.parametrize("cache", [LRUCache(), NullCache()])
    def test_builtins_are_value_caches(self, cache: ValueCache) -> None:
        """Both built-in caches satisfy the ValueCache protocol."""
        assert isinstance(cache, ValueCache)

    def test_a_dict_wrapper_is_a_value_cache(self) -> None:
        """Any object with get and set is a ValueCache."""

        class DictCache:
            def __init__(self) -> None:
                self.data: dict[CacheKey, str] = {}

            def get(self, key: CacheKey) -> str | None:
                return self.data.get(key)

            def set(self, key: CacheKey, value: str) -> None:
                self.data[key] = value

        cache: ValueCache = DictCache()
        assert isinstance(cache, ValueCache)


class TestPurgeableCache:
    @pytest.mark.parametrize("cache", [LRUCache(), NullCache()])
    def test_builtins_are_purgeable(self, cache: ValueCache) -> None:
        """Both built-in caches satisfy PurgeableCache as well as ValueCache."""
        assert isinstance(cache, PurgeableCache)

    def test_a_cache_without_purge_is_still_a_value_cache(self) -> None:
        """ValueCache did not grow a purge method: users' own get/set caches still fit it."""

        class DictCache:
            def get(self, key: CacheKey) -> str | None:
                return None

            def set(self, key: CacheKey, value: str) -> None:
                pass

        assert isinstance(DictCache(), ValueCache)
        assert not isinstance(DictCache(), PurgeableCache)

    @pytest.mark.parametrize(
        ("version", "prompt_version", "expected"),
        [
            ("abc@model-1", "abc", True),
            ("abc", "abc", True),
            ("abc@model-1", "abc@model-1", True),
            ("abcd@model-1", "abc", False),
            ("xabc@model-1", "abc", False),
            ("abc@model-1", "abc@model-2", False),
            ("ab", "abc", False),
        ],
    )
    def test_matches_prompt_version(
        self, version: str, prompt_version: str, expected: bool
    ) -> None:
        """A key's version matches a prompt version when equal or when it is '<pv>@<model>'."""
        assert matches_prompt_version(version, prompt_version) is expected

    @pytest.mark.parametrize("bad", ["", 5, None])
    def test_purge_refuses_a_blank_version(self, bad: object) -> None:
        """An empty or non-string prompt version is refused instead of purging by accident."""
        with pytest.raises(ConfigurationError, match="prompt_version"):
            LRUCache().purge(bad)  # type: ignore[arg-type]
        with pytest.raises(ConfigurationError, match="prompt_version"):
            NullCache().purge(bad)  # type: ignore[arg-type]
