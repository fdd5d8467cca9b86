"""The seed-style baseline of the benchmarks (benchmarks/seed_style.py)."""

from seed_style import seed_style_run

from llm_normalize.backends import FakeBackend
from llm_normalize.backends.retry import RetryPolicy

NO_SLEEP = RetryPolicy(jitter_s=0, sleep=lambda _: None)


class TestSeedStyle:
    def test_lead_batches(self) -> None:
        """Every field of batch_size leads goes in one call, with a pause between calls."""
        backend = FakeBackend()
        pauses: list[float] = []
        lead = {"nombres": "JUAN", "apellidos": "PEREZ", "ciudad": "bogota", "empresa": "sena"}
        report = seed_style_run(
            [{"leadId": str(n), **lead} for n in range(25)],
            backend,
            batch_size=10,
            retry=NO_SLEEP,
            sleep=pauses.append,
        )
        assert backend.calls == report.model_calls == 3
        assert report.values_sent_to_model == 100
        assert sum(len(request.items) for request in backend.requests) == 100
        assert pauses == [0.5, 0.5]
        assert report.input_tokens > 0
        assert report.failed_calls == 0

    def test_no_dedupe(self) -> None:
        """The same value in every lead is sent every time: the seed has no dedupe, no cache."""
        backend = FakeBackend()
        seed_style_run(
            [{"ciudad": "bogota"}] * 20, backend, batch_size=5, retry=NO_SLEEP, sleep=lambda _: None
        )
        assert backend.calls == 4
        assert all(len(request.items) == 5 for request in backend.requests)
