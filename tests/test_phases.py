"""`llm_normalize.phases`: the three phases give what `Normalizer.normalize` gives, asking less."""

from __future__ import annotations

import pickle
import random
from collections.abc import Sequence
from typing import Any, Final

import pytest

from guard_lies import LIE_CLASS, LyingResponder, profile_for, sample_leads
from llm_normalize import NormalizationConfig, Normalizer
from llm_normalize.backends.fake import FakeBackend
from llm_normalize.caches import LRUCache
from llm_normalize.exceptions import BackendAccessDeniedError, ModelFailedError, UnknownFieldError
from llm_normalize.phases import Draft, Pending, RulesPhase, TwoPhase, question_key
from llm_normalize.records import FLAG_NOT_SENT, NormalizedRecord

FAST: Final = 10_000.0  # requests per second: no waiting on the fake


def _shape(record: NormalizedRecord) -> tuple[Any, ...]:
    fields = {
        name: (r.value, r.source, r.confident, r.reason, r.flags)
        for name, r in sorted(record.fields.items())
    }
    return (record.id, dict(record.original), fields, record.error)


def _phased(
    phases: TwoPhase, records: Sequence[Any], parts: int = 1
) -> tuple[list[NormalizedRecord], int]:
    """Run the phases as a distributed engine would: drafts in `parts` shipped copies."""
    shipped = [pickle.loads(pickle.dumps(phases.rules)) for _ in range(parts)]
    drafts = [shipped[n % parts].draft(record, n) for n, record in enumerate(records)]
    pending = [value for draft in drafts for value in draft.pending]
    decided = phases.decide(pending)
    assembler = pickle.loads(pickle.dumps(phases.rules))
    return [assembler.assemble(draft, decided.results) for draft in drafts], len(
        {value.key for value in pending}
    )


def _items_sent(backend: FakeBackend) -> list[tuple[str, str]]:
    return [(item.field, item.value) for request in backend.requests for item in request.items]


@pytest.mark.parametrize(
    "lie", ["none", "renamed_person", "city_swapped", "digits_changed", "other_label"]
)
def test_equal_to_normalize_record_for_record(lie: str) -> None:
    leads = list(sample_leads()[:300])
    responder = None if lie == "none" else LyingResponder(LIE_CLASS[lie])
    profile = profile_for("forced" if lie != "none" else "auto")
    online = Normalizer(
        FakeBackend(responder), profile=profile, requests_per_second=FAST
    ).normalize(leads)

    backend = FakeBackend(None if lie == "none" else LyingResponder(LIE_CLASS[lie]))
    phases = TwoPhase(Normalizer(backend, profile=profile, requests_per_second=FAST))
    phased, distinct = _phased(phases, leads, parts=3)

    assert [_shape(r) for r in phased] == [_shape(r) for r in online]
    sent = _items_sent(backend)
    assert len(sent) == len(set(sent)) == distinct  # once per distinct unsure value
    assert distinct > 0


def test_model_items_do_not_depend_on_the_partitioning() -> None:
    leads = list(sample_leads()[:400])
    seen = []
    for parts, seed in [(1, 0), (4, 1), (7, 2)]:
        shuffled = leads[:]
        random.Random(seed).shuffle(shuffled)
        backend = FakeBackend()
        _phased(TwoPhase(Normalizer(backend, cache=LRUCache())), shuffled, parts)
        seen.append([[(i.field, i.value) for i in r.items] for r in backend.requests])
    assert seen[0] == seen[1] == seen[2]  # the very same batches


def test_a_second_decide_is_answered_by_the_cache() -> None:
    leads = list(sample_leads()[:300])
    backend = FakeBackend()
    phases = TwoPhase(Normalizer(backend))
    first, _ = _phased(phases, leads)
    calls = backend.calls
    second, _ = _phased(phases, leads)
    assert backend.calls == calls
    assert phases.normalizer.last_report is not None
    assert phases.normalizer.last_report.values_sent_to_model == 0
    assert [r.normalized for r in first] == [r.normalized for r in second]


def test_the_report_counts_the_model_pass() -> None:
    backend = FakeBackend()
    phases = TwoPhase(Normalizer(backend))
    drafts = [phases.rules.draft(r, n) for n, r in enumerate(sample_leads()[:200])]
    decided = phases.decide(v for d in drafts for v in d.pending)
    assert decided.report.values_sent_to_model == len(decided.results)
    assert decided.report.model_calls == backend.calls
    assert decided.report.records_in == 0


def test_pairs_are_decided_like_pendings() -> None:
    phases = TwoPhase(Normalizer(FakeBackend()))
    draft = phases.rules.draft({"leadId": "1", "ciudad": "bgta", "nombres": "JUAN"})
    by_pending = phases.decide(draft.pending).results
    again = TwoPhase(Normalizer(FakeBackend()))
    by_pairs = again.decide([(p.name, p.text) for p in draft.pending]).results
    assert dict(by_pending) == dict(by_pairs)


def test_without_a_model_nothing_is_pending() -> None:
    phases = TwoPhase(Normalizer())
    leads = list(sample_leads()[:200])
    drafts = [phases.rules.draft(r, n) for n, r in enumerate(leads)]
    assert not any(d.pending for d in drafts)
    assembled = [phases.rules.assemble(d, {}) for d in drafts]
    assert [_shape(r) for r in assembled] == [_shape(r) for r in Normalizer().normalize(leads)]


def test_a_missing_decision_is_never_passed_off_as_decided() -> None:
    phases = TwoPhase(Normalizer(FakeBackend()))
    draft = phases.rules.draft({"leadId": "1", "ciudad": "bgta"})
    assert draft.pending
    record = phases.rules.assemble(draft, {})
    result = record.fields["ciudad"]
    assert not result.confident
    assert FLAG_NOT_SENT in result.flags
    assert result.source == "rules"


def test_not_a_mapping_is_an_error_record() -> None:
    phases = TwoPhase(Normalizer(FakeBackend()))
    draft = phases.rules.draft(["not", "a", "record"], 4)
    assert isinstance(draft, Draft)
    record = phases.rules.assemble(draft, {})
    assert record.id == "#4"
    assert record.error is not None


def test_columns_of_other_names() -> None:
    normalizer = Normalizer(FakeBackend())
    phases = TwoPhase(normalizer, columns={"CIUDAD": "ciudad"})
    records = [{"leadId": "1", "CIUDAD": "bgta"}, {"leadId": "2", "CIUDAD": "medellin"}]
    drafts = [phases.rules.draft(r, n) for n, r in enumerate(records)]
    decided = phases.decide(v for d in drafts for v in d.pending)
    phased = [phases.rules.assemble(d, decided.results) for d in drafts]
    online = Normalizer(FakeBackend()).normalize(records, columns={"CIUDAD": "ciudad"})
    assert [_shape(r) for r in phased] == [_shape(r) for r in online]
    with pytest.raises(UnknownFieldError):
        TwoPhase(normalizer, columns={"X": "nope"})


def test_another_address_style_by_config() -> None:
    normalizer = Normalizer(FakeBackend())
    config = NormalizationConfig(address_style="full")
    phases = TwoPhase(normalizer, config=config)
    record = {"leadId": "1", "direccion": "cra 7 # 45-10"}
    draft = pickle.loads(pickle.dumps(phases.rules)).draft(record)
    decided = phases.decide(draft.pending)
    [online] = Normalizer(FakeBackend(), config=config).normalize([record])
    assert _shape(phases.rules.assemble(draft, decided.results)) == _shape(online)


def test_the_rules_phase_pickles_small_and_builds_once_per_process() -> None:
    phases = TwoPhase(Normalizer(FakeBackend()))
    data = pickle.dumps(phases.rules)
    assert len(data) < 4_000  # the built-in rules travel as their style
    one, two = pickle.loads(data), pickle.loads(data)
    one.draft({"ciudad": "bgta"})
    two.draft({"ciudad": "bgta"})
    assert one.normalizer is two.normalizer


def test_a_model_that_cannot_be_used_fails_with_a_report() -> None:
    backend = FakeBackend(faults=[BackendAccessDeniedError("denied")] * 5)
    phases = TwoPhase(Normalizer(backend))
    with pytest.raises(ModelFailedError) as failed:
        phases.decide([("ciudad", "bgta")])
    assert failed.value.report is not None


def test_keys_match_the_online_pass() -> None:
    pending = Pending("Ciudad", "bgta", Normalizer()._rules("ciudad", "bgta")[0])
    assert pending.key == question_key("ciudad", "bgta")
    assert isinstance(RulesPhase(NormalizationConfig(), asks_model=False), RulesPhase)


def test_a_cache_only_job_uses_the_cache_and_defers_the_rest() -> None:
    from llm_normalize.job import run_job
    from llm_normalize.stores.memory import MemoryLeadStore

    leads = [
        {"leadId": "a", "ciudad": "bgta", "updatedAt": 1},
        {"leadId": "b", "ciudad": "sn jose del guaviare xx", "updatedAt": 1},
        {"leadId": "c", "nombres": "JUAN", "updatedAt": 1},
    ]
    store = MemoryLeadStore(leads)
    backend = FakeBackend()
    normalizer = Normalizer(backend, requests_per_second=FAST)
    # "bgta" was answered before (say, by a batch job): it is in the cache.
    TwoPhase(normalizer).decide([("ciudad", "bgta")])
    calls = backend.calls
    result = run_job(normalizer, store, now_ms=10, cache_only=True)
    assert backend.calls == calls  # no model call
    assert result.statuses == {"a": "saved", "b": "deferred", "c": "saved"}
    assert result.reasons == {"b": "cache_only"}
    assert result.report.stopped_early == "cache_only"
    assert store.get("b") is not None
    assert "normalizedAt" not in (store.get("b") or {})


def test_a_cache_only_decide_makes_no_call() -> None:
    backend = FakeBackend()
    phases = TwoPhase(Normalizer(backend, requests_per_second=FAST))
    phases.decide([("ciudad", "bgta")])
    calls = backend.calls
    decided = phases.decide(
        [("ciudad", "bgta"), ("ciudad", "sn jose del guaviare xx")], cache_only=True
    )
    assert backend.calls == calls
    assert decided.results[question_key("ciudad", "bgta")].source == "cache"
    left = decided.results[question_key("ciudad", "sn jose del guaviare xx")]
    assert FLAG_NOT_SENT in left.flags
    assert decided.report.stopped_early == "cache_only"
