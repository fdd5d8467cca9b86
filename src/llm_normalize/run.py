"""`NormalizationRun`: one run of a `Normalizer`, chunk by chunk.

A run holds its settings, its model pass and its figures. `normalize_chunk` runs the rules
pass over a chunk of records, hands the values the model must decide to the model pass
(`llm_normalize.model_pass`), and assembles each record as soon as every value it waits on
is decided, so the scheduled job can save finished records before the chunk ends.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from llm_normalize._names import field_key
from llm_normalize.config import NormalizationConfig
from llm_normalize.exceptions import ModelFailedError
from llm_normalize.model_pass import ModelPass, Question
from llm_normalize.records import FieldResult, NormalizedRecord
from llm_normalize.report import RunCounts, RunReport

if TYPE_CHECKING:
    # The normalizer opens runs; here it is only a type.
    from llm_normalize.pipeline import Normalizer

__all__ = ["NormalizationRun"]

_Numbered = Sequence[tuple[int, Any]]


class NormalizationRun:
    """One run of a `Normalizer`: its settings, its model pass and its figures so far.

    Built by `Normalizer.start`; used by one thread. `normalize_chunk` as often as needed,
    then `finish` for the report (which also becomes the normalizer's `last_report`).
    """

    def __init__(
        self,
        normalizer: Normalizer,
        config: NormalizationConfig,
        model: ModelPass | None,
        *,
        columns: Mapping[str, str] | None = None,
    ) -> None:
        self.normalizer = normalizer
        # {field key: column} for fields read from a column of another name.
        self.columns: Mapping[str, str] = dict(columns or {})
        self.config = config
        self.model = model
        self.counts = RunCounts()
        self.started_at = datetime.now(UTC)
        self._started = time.monotonic()

    @property
    def model_id(self) -> str | None:
        """The model this run calls, if any."""
        return self.model.dispatcher.model_id if self.model is not None else None

    @property
    def run_version(self) -> str:
        """What this run records as `normalizationMeta.promptVersion`, now.

        The prompt version of the model this run calls, in the answer mode it uses now (a
        model that refused forced tool use is asked in JSON text, a prompt of its own);
        without a model, the normalizer's `rules-<version>`.
        """
        if self.model is not None:
            return self.model.dispatcher.prompt_version
        return self.normalizer.run_version

    @property
    def stopped_early(self) -> str | None:
        """Why the model pass stopped scheduling calls (budget, deadline), if it did."""
        return self.model.stopped_early if self.model is not None else None

    def add(self, counts: RunCounts) -> None:
        """Add the figures of a stage outside the normalizer (e.g. the job's saves)."""
        self.counts = self.counts + counts

    @contextlib.contextmanager
    def failing(self) -> Iterator[None]:
        """Give a `ModelFailedError` raised inside the run's report so far."""
        try:
            yield
        except ModelFailedError as exc:
            if exc.report is None:
                exc.report = self.finish()
            raise

    def finish(self, *, enabled: bool = True) -> RunReport:
        """The run's report; it also becomes the normalizer's `last_report`."""
        report = self.counts.freeze(
            model_id=self.model_id,
            prompt_version=self.run_version,
            started_at=self.started_at,
            duration_s=time.monotonic() - self._started,
            prices=self.normalizer.prices,
            enabled=enabled,
        )
        self.normalizer._publish(report)
        return report

    def normalize_chunk(
        self, chunk: _Numbered, on_record: Callable[[int, NormalizedRecord], None] | None = None
    ) -> list[NormalizedRecord]:
        """Normalize `(position, record)` pairs: rules, then the model, then assembly.

        `on_record(position, record)` is called with each record as soon as it is complete
        (the records the rules settle alone first, then the others batch by batch as the
        model decides them), so a caller can save finished work before the chunk ends. The list returned
        is in the chunk's order.

        Raises:
            ModelFailedError: The model cannot be used; the records passed to `on_record`
                before it were complete.
        """
        pending: list[NormalizedRecord | tuple[str, Mapping[str, Any], dict[str, Any]]] = []
        questions: dict[Hashable, Question] = {}
        positions: list[int] = []
        for position, record in chunk:
            positions.append(position)
            pending.append(self._rules_pass(position, record, questions))
        out: list[NormalizedRecord | None] = [None] * len(pending)
        decided: dict[Hashable, FieldResult] = {}

        def finish(index: int) -> None:
            record = self._assemble(pending[index], decided)
            out[index] = record
            if on_record is not None:
                on_record(positions[index], record)

        try:
            waiting = self._waiting(pending)
            for index in range(len(pending)):
                if index not in waiting.unresolved:
                    finish(index)
            if questions and self.model is not None:
                keys = list(questions)
                counts = RunCounts()

                def on_decided(pairs: Sequence[tuple[int, FieldResult]]) -> None:
                    for position, result in pairs:
                        key = keys[position]
                        decided[key] = result
                        for index in waiting.resolve(key):
                            finish(index)

                try:
                    _, counts = self.model.decide(
                        list(questions.values()), self.config.batch_size, on_decided
                    )
                except ModelFailedError:
                    counts = self.model.drain()
                    raise
                finally:
                    self.counts = self.counts + counts
        finally:
            done = [record for record in out if record is not None]
            self.counts = self.counts + _record_counts(done)
        assert len(done) == len(out)  # every record waited only on questions now decided
        return done

    @staticmethod
    def _waiting(
        pending: Sequence[NormalizedRecord | tuple[str, Mapping[str, Any], dict[str, Any]]],
    ) -> _Waiting:
        waiting = _Waiting()
        for index, item in enumerate(pending):
            if isinstance(item, NormalizedRecord):
                continue
            for value in item[2].values():
                if isinstance(value, _Key):
                    waiting.add(index, value.key)
        return waiting

    def _rules_pass(
        self, position: int, record: Any, questions: dict[Hashable, Question]
    ) -> NormalizedRecord | tuple[str, Mapping[str, Any], dict[str, Any]]:
        """A record's rules results, with a question key where the model must decide."""
        if not isinstance(record, Mapping):
            return NormalizedRecord(
                id=f"#{position}",
                original=MappingProxyType({}),
                error=f"expected a mapping, got {type(record).__name__}",
            )
        normalizer = self.normalizer
        original = MappingProxyType(dict(record))
        record_id = original.get(self.config.id_field)
        rid = (
            str(record_id)
            if isinstance(record_id, str | int) and record_id != ""
            else f"#{position}"
        )
        results: dict[str, Any] = {}
        for name in self.config.fields_to_normalize:
            column = self.columns.get(field_key(name), name) if self.columns else name
            if column not in original:
                continue
            rules, text = normalizer._rules(name, original[column])
            spec = normalizer._spec(name)
            if text is None or not normalizer._wants_model(spec, rules):
                results[name] = rules
                continue
            key = (field_key(name), text)
            questions.setdefault(key, Question(name, spec, text, rules))
            results[name] = _Key(key)
        return rid, original, results

    @staticmethod
    def _assemble(
        item: NormalizedRecord | tuple[str, Mapping[str, Any], dict[str, Any]],
        decided: Mapping[Hashable, FieldResult],
    ) -> NormalizedRecord:
        if isinstance(item, NormalizedRecord):
            return item
        rid, original, results = item
        fields = {
            name: decided[value.key] if isinstance(value, _Key) else value
            for name, value in results.items()
        }
        return NormalizedRecord(id=rid, original=original, fields=fields)


class _Waiting:
    """Which records wait on which questions, and how many each still waits on."""

    __slots__ = ("by_key", "unresolved")

    def __init__(self) -> None:
        self.by_key: dict[Hashable, list[int]] = {}
        self.unresolved: dict[int, int] = {}

    def add(self, index: int, key: Hashable) -> None:
        records = self.by_key.setdefault(key, [])
        if not records or records[-1] != index:  # a record asking one question twice
            records.append(index)
            self.unresolved[index] = self.unresolved.get(index, 0) + 1

    def resolve(self, key: Hashable) -> list[int]:
        """The records that `key`'s answer completes."""
        complete = []
        for index in self.by_key.pop(key, ()):
            left = self.unresolved[index] - 1
            self.unresolved[index] = left
            if left == 0:
                complete.append(index)
        return complete


class _Key:
    """A placeholder for a field's result: the model pass decides the question `key`."""

    __slots__ = ("key",)

    def __init__(self, key: Hashable) -> None:
        self.key = key


def _record_counts(records: Sequence[NormalizedRecord]) -> RunCounts:
    """The rules-and-assembly figures of some records."""
    failed = sum(1 for record in records if record.error is not None)
    fields = changed = not_confident = 0
    sources: dict[str, int] = {}
    review: dict[str, int] = {}
    for record in records:
        if record.error is not None:
            continue
        fields += len(record.fields)
        changed += len(record.changed)
        for name, result in record.fields.items():
            sources[result.source] = sources.get(result.source, 0) + 1
            if not result.confident:
                not_confident += 1
                review[name] = review.get(name, 0) + 1
    return RunCounts(
        records_in=len(records),
        records_failed=failed,
        records_normalized=len(records) - failed,
        fields_normalized=fields,
        fields_changed=changed,
        values_by_source=dict(sources),
        not_confident=not_confident,
        not_confident_by_field=review,
    )
