import threading

import pytest
from hypothesis import given
from hypothesis import strategies as st

from llm_normalize.caches import CacheKey, LRUCache, NullCache
from llm_normalize.exceptions import ConfigurationError


def key(n: int, version: str = "v1") -> CacheKey:
    return ("ciudad", f"raw{n}", version)


class TestLRUCache:
    def test_get_returns_what_was_set(self) -> None:
        """A stored value comes back, and an unknown key gives None."""
        cache = LRUCache()
        cache.set(key(1), "Bogotá D.C.")
        assert cache.get(key(1)) == "Bogotá D.C."
        assert cache.get(key(2)) is None
        assert cache.get(key(1, "v2")) is None

    def test_empty_string_is_a_value(self) -> None:
        """An empty answer is cached and counted as a hit, not mistaken for a miss."""
        cache = LRUCache()
        cache.set(key(1), "")
        assert cache.get(key(1)) == ""
        assert (cache.hits, cache.misses) == (1, 0)

    def test_set_replaces(self) -> None:
        """Setting a key again replaces its value without growing the cache."""
        cache = LRUCache()
        cache.set(key(1), "a")
        cache.set(key(1), "b")
        assert cache.get(key(1)) == "b"
        assert len(cache) == 1

    def test_counters(self) -> None:
        """Hits and misses count get calls."""
        cache = LRUCache()
        cache.set(key(1), "a")
        for n in (1, 1, 2, 3, 1):
            cache.get(key(n))
        assert (cache.hits, cache.misses) == (3, 2)

    def test_eviction_is_least_recently_set(self) -> None:
        """Without reads, the oldest entry goes first."""
        cache = LRUCache(maxsize=3)
        for n in range(5):
            cache.set(key(n), str(n))
        assert len(cache) == 3
        assert [cache.get(key(n)) for n in range(5)] == [None, None, "2", "3", "4"]

    def test_eviction_is_least_recently_used(self) -> None:
        """A read refreshes an entry, so the least recently read or written one goes first."""
        cache = LRUCache(maxsize=3)
        for n in range(3):
            cache.set(key(n), str(n))
        assert cache.get(key(0)) == "0"  # order now 1, 2, 0
        cache.set(key(1), "1b")  # order now 2, 0, 1
        cache.set(key(3), "3")  # evicts 2
        assert key(2) not in cache
        cache.set(key(4), "4")  # evicts 0
        assert key(0) not in cache
        assert [cache.get(key(n)) for n in (1, 3, 4)] == ["1b", "3", "4"]

    def test_contains_does_not_count_or_refresh(self) -> None:
        """Membership tests change neither the counters nor the eviction order."""
        cache = LRUCache(maxsize=2)
        cache.set(key(0), "0")
        cache.set(key(1), "1")
        assert key(0) in cache
        assert "not a key" not in cache
        cache.set(key(2), "2")  # key 0 is still the least recently used
        assert key(0) not in cache
        assert (cache.hits, cache.misses) == (0, 0)

    def test_clear_empties_and_resets_counters(self) -> None:
        """clear removes every entry and zeroes the counters."""
        cache = LRUCache()
        cache.set(key(1), "a")
        cache.get(key(1))
        cache.get(key(2))
        cache.clear()
        assert len(cache) == 0
        assert (cache.hits, cache.misses) == (0, 0)
        assert cache.get(key(1)) is None

    def test_maxsize_default(self) -> None:
        """The default holds 100,000 entries."""
        assert LRUCache().maxsize == 100_000

    @pytest.mark.parametrize("maxsize", [0, -1, 1.5, True, "10"])
    def test_bad_maxsize_is_refused(self, maxsize: object) -> None:
        """A maxsize that is not a positive integer is a configuration error."""
        with pytest.raises(ConfigurationError, match="maxsize"):
            LRUCache(maxsize=maxsize)  # type: ignore[arg-type]

    def test_repr_shows_no_values(self) -> None:
        """The repr shows sizes and counters, never a key or value."""
        cache = LRUCache(maxsize=5)
        cache.set(("nombres", "Juan Perez", "v1"), "Juan Pérez")
        cache.get(("nombres", "Juan Perez", "v1"))
        text = repr(cache)
        assert text == "LRUCache(maxsize=5, size=1, hits=1, misses=0)"
        assert "Juan" not in text

    def test_threads_share_the_cache_safely(self) -> None:
        """Concurrent gets and sets keep the size bound and count every get exactly once."""
        cache = LRUCache(maxsize=50)
        threads_count, per_thread = 8, 2_000
        barrier = threading.Barrier(threads_count)
        errors: list[BaseException] = []

        def work(thread: int) -> None:
            try:
                barrier.wait()
                for i in range(per_thread):
                    k = key((thread * 7 + i) % 80)
                    if cache.get(k) is None:
                        cache.set(k, f"value-{k[1]}")
                    value = cache.get(k)
                    # Another thread may have evicted it meanwhile, but never corrupted it.
                    assert value is None or value == f"value-{k[1]}"
                    assert len(cache) <= 50
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(t,)) for t in range(threads_count)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        assert cache.hits + cache.misses == threads_count * per_thread * 2
        assert len(cache) == 50

    @given(st.lists(st.tuples(st.booleans(), st.integers(0, 9)), max_size=60), st.integers(1, 5))
    def test_behaves_like_a_reference_lru(self, ops: list[tuple[bool, int]], maxsize: int) -> None:
        """Any sequence of gets and sets matches a plain-list LRU model."""
        cache = LRUCache(maxsize=maxsize)
        model: list[tuple[CacheKey, str]] = []  # least recently used first
        for is_set, n in ops:
            k = key(n)
            found = next((i for i, (mk, _) in enumerate(model) if mk == k), None)
            if is_set:
                if found is not None:
                    model.pop(found)
                model.append((k, f"v{n}"))
                del model[:-maxsize]
                cache.set(k, f"v{n}")
            else:
                expected = None
                if found is not None:
                    entry = model.pop(found)
                    model.append(entry)
                    expected = entry[1]
                assert cache.get(k) == expected
        assert len(cache) == len(model)
        assert all(mk in cache for mk, _ in model)


class TestNullCache:
    def test_stores_nothing(self) -> None:
        """Every get misses, whatever was set."""
        cache = NullCache()
        cache.set(key(1), "a")
        assert cache.get(key(1)) is None
        assert cache.get(key(1)) is None
        assert len(cache) == 0
        assert (cache.hits, cache.misses) == (0, 2)

    def test_clear_resets_misses(self) -> None:
        """clear zeroes the miss counter."""
        cache = NullCache()
        cache.get(key(1))
        cache.clear()
        assert cache.misses == 0
        assert repr(cache) == "NullCache(misses=0)"


class TestPurge:
    def test_lru_purge_removes_one_prompt_version(self) -> None:
        """purge drops every entry of a prompt version, for any model, and says how many."""
        cache = LRUCache()
        cache.set(key(1, "v1@model-a"), "a")
        cache.set(key(2, "v1@model-b"), "b")
        cache.set(key(3, "v1"), "c")
        cache.set(key(4, "v2@model-a"), "d")
        cache.set(key(5, "v10@model-a"), "e")
        assert cache.purge("v1") == 3
        assert cache.get(key(1, "v1@model-a")) is None
        assert cache.get(key(3, "v1")) is None
        assert cache.get(key(4, "v2@model-a")) == "d"
        assert cache.get(key(5, "v10@model-a")) == "e"
        assert len(cache) == 2
        assert cache.purge("v1") == 0

    def test_lru_purge_of_one_model(self) -> None:
        """A full cache version '<pv>@<model>' purges that model's entries only."""
        cache = LRUCache()
        cache.set(key(1, "v1@model-a"), "a")
        cache.set(key(2, "v1@model-b"), "b")
        assert cache.purge("v1@model-a") == 1
        assert cache.get(key(2, "v1@model-b")) == "b"

    def test_null_cache_purges_nothing(self) -> None:
        """NullCache holds nothing, so purge removes nothing."""
        cache = NullCache()
        cache.set(key(1), "a")
        assert cache.purge("v1") == 0
