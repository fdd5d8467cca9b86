import pytest

from llm_normalize.caches import CacheKey, LRUCache, NullCache, ValueCache, cache_key


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
