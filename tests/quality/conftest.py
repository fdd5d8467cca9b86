"""The 2000-lead sample, normalized by the rules into a memory store, once per module."""

import json

import pytest

from llm_normalize.pipeline import Normalizer
from llm_normalize.stores.memory import MemoryLeadStore
from quality.helpers import SAMPLE


@pytest.fixture(scope="module")
def sample_store() -> MemoryLeadStore:
    store = MemoryLeadStore()
    store.put(json.loads(line) for line in SAMPLE.read_text(encoding="utf-8").splitlines())
    Normalizer().run(store, force=True, limit=10_000)
    return store
