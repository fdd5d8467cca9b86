"""The streaming model pass: one queue per run, full batches, order kept, memory bounded.

The reference for "the same records" is the whole input as one chunk, sent one call at a
time (`NormalizationRun.normalize_chunk`): what the per-chunk path made of it when the
chunk held everything. Every other setting (records held, calls in flight, the order in
which answers come back) must give exactly the same `NormalizedRecord`s.
"""

import json
import math
import threading
import zlib
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from llm_normalize import Normalizer
from llm_normalize.backends.fake import FakeBackend
from llm_normalize.backends.retry import RetryPolicy
from llm_normalize.caches import NullCache
from llm_normalize.exceptions import BackendThrottledError
from llm_normalize.messages import ModelRequest
from llm_normalize.profiles.colombia import COLOMBIAN_LEADS
from llm_normalize.records import NormalizedRecord
from llm_normalize.run import DEFAULT_CHUNK_SIZE, READ_AHEAD

SAMPLE = Path(__file__).resolve().parents[1] / "examples" / "leads.jsonl"
NO_SLEEP = RetryPolicy(sleep=lambda _seconds: None, jitter_s=0)
PROFILE = COLOMBIAN_LEADS.with_fields(COLOMBIAN_LEADS["empresa"].with_strategy("llm"))


@cache
def sample() -> tuple[dict[str, Any], ...]:
    lines = SAMPLE.read_text(encoding="utf-8").splitlines()
    return tuple(json.loads(line) for line in lines if line.strip())


def changing(request: ModelRequest) -> str:
    """A deterministic model that changes values: title case, and now and then a lie."""
    items = []
    for item in request.items:
        value = item.value.title()
        if zlib.crc32(f"{item.field}:{item.value}".encode()) % 4 == 0:
            value = "Bancolombia"  # a company, a name, a place: the guard refuses most
        items.append({"id": item.id, "value": value})
    return json.dumps({"items": items})


def make(responder: Callable[[ModelRequest], str] | None = None, **kwargs: Any) -> Normalizer:
    kwargs.setdefault("requests_per_second", 10_000)
    kwargs.setdefault("retry", NO_SLEEP)
    return Normalizer(FakeBackend(responder), **kwargs)


def fields(records: list[NormalizedRecord]) -> list[tuple[str, dict[str, Any], str | None]]:
    return [(r.id, dict(r.fields), r.error) for r in records]


@cache
def reference(responder_name: str) -> tuple[tuple[str, dict[str, Any], str | None], ...]:
    """The whole sample as one chunk, one call at a time."""
    responder = changing if responder_name == "changing" else None
    normalizer = make(responder, concurrency=1)
    run = normalizer.start()
    records = run.normalize_chunk(list(enumerate(sample())))
    run.finish()
    return tuple(fields(records))


class TestSameRecords:
    @pytest.mark.parametrize("responder_name", ["echo", "changing"])
    @pytest.mark.parametrize(
        ("chunk_size", "concurrency"), [(1, 1), (7, 3), (250, None), (1000, 8), (5000, None)]
    )
    def test_streaming_gives_the_per_chunk_records(
        self, responder_name: str, chunk_size: int, concurrency: int | None
    ) -> None:
        """Values, sources, flags and reasons are those of the per-chunk path, in order."""
        responder = changing if responder_name == "changing" else None
        normalizer = make(responder, chunk_size=chunk_size, concurrency=concurrency)
        records = list(normalizer.iter_normalize(sample()))
        assert fields(records) == list(reference(responder_name))

    def test_without_a_cache_too(self) -> None:
        """With no value cache, repeated values are still asked once per run, alike."""
        normalizer = make(changing, chunk_size=100, cache=NullCache())
        records, report = normalizer.normalize_with_report(sample())
        assert fields(records) == list(reference("changing"))
        assert report.cache_hits == 0
        backend = normalizer.backend
        assert isinstance(backend, FakeBackend)
        sent = [(item.field, item.value) for r in backend.requests for item in r.items]
        assert len(sent) == len(set(sent))  # no value asked twice

    def test_answers_out_of_order_keep_the_input_order(self) -> None:
        """A slow first call does not reorder the records, it only holds the later ones back."""
        second_done = threading.Event()
        calls = 0
        lock = threading.Lock()

        def respond(request: ModelRequest) -> str:
            nonlocal calls
            with lock:
                calls += 1
                mine = calls
            if mine == 1:
                second_done.wait(10)
            else:
                second_done.set()
            return FakeBackend.echo(request)

        leads = [{"leadId": f"l{n}", "ciudad": f"pueblo raro {n}"} for n in range(40)]
        records = list(make(respond, concurrency=2).iter_normalize(leads))
        assert [r.id for r in records] == [f"l{n}" for n in range(40)]
        assert all(r.sources["ciudad"] == "llm" for r in records)


class TestOneQueue:
    def test_batches_are_full_across_the_run(self) -> None:
        """Values spread thinly over many records still travel in full batches; one partial last.

        Chunks of 1,000 records would each have ended in a partial batch (34 values each).
        """
        backend = FakeBackend()
        leads = [
            {"leadId": str(n), "ciudad": f"pueblo raro {n // 30}" if n % 30 == 0 else "bogota"}
            for n in range(95 * 30)
        ]
        Normalizer(backend, requests_per_second=10_000).normalize(leads)
        sizes = [len(request.items) for request in backend.requests]
        assert len(sizes) == math.ceil(95 / 10)
        assert sorted(sizes)[1:] == [10] * (len(sizes) - 1)

    def test_calls_start_while_the_rules_pass_goes_on(self) -> None:
        """The first call is made long before the last record is read."""
        read = 0
        read_at_first_call: list[int] = []

        def leads() -> Iterator[dict[str, str]]:
            nonlocal read
            for n in range(500):
                read += 1
                yield {"leadId": str(n), "ciudad": f"pueblo raro {n}"}

        def respond(request: ModelRequest) -> str:
            read_at_first_call.append(read)
            return FakeBackend.echo(request)

        make(respond, concurrency=1).normalize(leads())
        assert read_at_first_call[0] < 100

    def test_records_held_are_bounded_by_chunk_size(self) -> None:
        """The input is read no further ahead than the `chunk_size` records a run may hold."""
        read = 0
        most_held = 0

        def leads() -> Iterator[dict[str, str]]:
            nonlocal read
            for n in range(600):
                read += 1
                yield {"leadId": str(n), "ciudad": f"pueblo raro {n}"}

        given = 0
        for _record in make(concurrency=1, chunk_size=5).iter_normalize(leads()):
            given += 1
            most_held = max(most_held, read - given + 1)
        assert given == 600
        assert most_held == 5

    def test_by_default_reads_ahead_while_the_model_waits_for_values(self) -> None:
        """Past DEFAULT_CHUNK_SIZE records held, the run reads on while calls want values."""
        far_enough = threading.Event()
        read = 0

        def leads() -> Iterator[dict[str, str]]:
            nonlocal read
            for n in range(3000):
                read += 1
                if read == DEFAULT_CHUNK_SIZE + 200:
                    far_enough.set()
                yield {"leadId": str(n), "ciudad": f"pueblo raro {n}"}

        def respond(request: ModelRequest) -> str:
            far_enough.wait(30)  # the first answers wait until the run read that far
            return FakeBackend.echo(request)

        given = 0
        for _record in make(respond, requests_per_second=1000).iter_normalize(leads()):
            given += 1
            assert read - given + 1 <= DEFAULT_CHUNK_SIZE * READ_AHEAD
        assert far_enough.is_set()
        assert given == 3000

    def test_rules_alone_hold_one_record(self) -> None:
        """Without a model, each record comes out before the next is read."""
        read = 0
        lags = []

        def leads() -> Iterator[dict[str, str]]:
            nonlocal read
            for n in range(50):
                read += 1
                yield {"leadId": str(n), "ciudad": "bogota"}

        for n, _record in enumerate(Normalizer().iter_normalize(leads())):
            lags.append(read - n)
        assert set(lags) == {1}

    def test_abandoned_iterator_stops_cleanly(self) -> None:
        """Leaving an iterator early stops its calls; the normalizer serves the next run."""
        normalizer = make(chunk_size=10)
        leads = [{"leadId": str(n), "ciudad": f"pueblo raro {n}"} for n in range(300)]
        iterator = normalizer.iter_normalize(leads)
        first = [next(iterator) for _ in range(5)]
        iterator.close()  # type: ignore[attr-defined]
        assert [r.id for r in first] == ["0", "1", "2", "3", "4"]
        assert len(normalizer.normalize(leads[:20])) == 20


class TestRunMemo:
    def test_rejected_answers_are_not_asked_again_in_the_run(self) -> None:
        """A refused answer keeps its outcome for the run, and is cached for the next runs."""

        def liar(request: ModelRequest) -> str:
            items = [{"id": item.id, "value": "Bancolombia"} for item in request.items]
            return json.dumps({"items": items})

        normalizer = make(liar, profile=PROFILE, chunk_size=10)
        leads = [{"leadId": str(n), "empresa": "empresa rara"} for n in range(500)]
        records, report = normalizer.normalize_with_report(leads)
        backend = normalizer.backend
        assert isinstance(backend, FakeBackend)
        assert backend.calls == 1
        assert {r.fields["empresa"] for r in records} == {records[0].fields["empresa"]}
        assert "guard_rejected" in records[0].flags["empresa"]
        assert report.guard_rejections
        again = normalizer.normalize(leads[:3])  # the refusal is cached: not asked again
        assert backend.calls == 1
        assert "guard_rejected" in again[0].flags["empresa"]
        assert again[0].fields["empresa"] == records[0].fields["empresa"]

    def test_failed_values_are_not_asked_again_in_the_run(self) -> None:
        """A value whose call failed after its retries keeps its outcome; the next run asks."""
        busy = BackendThrottledError("busy")
        backend = FakeBackend(faults=[None] + [busy] * 4)
        normalizer = Normalizer(
            backend, requests_per_second=10_000, retry=NO_SLEEP, concurrency=1, chunk_size=10
        )
        first = [{"leadId": f"a{n}", "ciudad": f"pueblo raro {n}"} for n in range(20)]
        again = [{"leadId": f"b{n}", "ciudad": f"pueblo raro {n}"} for n in range(10, 20)]
        records = normalizer.normalize(first + again)
        assert backend.calls == 1 + 4  # the first batch, then the second's four attempts
        failed = [r for r in records if "model_failed" in r.flags.get("ciudad", ())]
        assert [r.id for r in failed] == [f"a{n}" for n in range(10, 20)] + [
            r["leadId"] for r in again
        ]
        normalizer.normalize(again)
        assert backend.calls == 6
