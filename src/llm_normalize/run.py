"""`NormalizationRun`: one run of a `Normalizer`, streamed record by record.

A run holds its settings, its model pass and its figures. `NormalizationRun.stream` reads
`(position, record)` pairs and runs the rules pass on each as it comes; the values the model
must decide go to the run's model pass (`llm_normalize.model_pass`), one queue for the whole
run, which sends full batches while the rules pass goes on. Each record is given back as soon
as every value it waits on is decided: in input order (`normalize`, `iter_normalize`), or as
they complete (the scheduled job, which saves each lead at once).

Memory is bounded by the records held (read and not given back yet): at most the
normalizer's `chunk_size` when it was given one; by default, `DEFAULT_CHUNK_SIZE`, and past
that only while the model pass wants more values to keep its calls busy, up to `READ_AHEAD`
times as many. When the run may read no more, it waits for calls to come back; the model pass
closes its groups of values early enough (`ModelPass.span`) that it never waits on itself.
"""

from __future__ import annotations

import contextlib
import time
from collections import deque
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final, TypeAlias

from llm_normalize._names import field_key
from llm_normalize.config import NormalizationConfig
from llm_normalize.exceptions import ModelFailedError
from llm_normalize.fields import FieldSpec
from llm_normalize.model_pass import ModelPass, Question
from llm_normalize.records import FieldResult, NormalizedRecord
from llm_normalize.report import RunCounts, RunReport

if TYPE_CHECKING:
    # The normalizer opens runs; here it is only a type.
    from llm_normalize.pipeline import Normalizer

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "READ_AHEAD",
    "NormalizationRun",
    "OnRecord",
    "identify",
    "wants_model",
]

DEFAULT_CHUNK_SIZE: Final = 1000
"""Records a run holds at once, by default, while its model pass has values enough."""

READ_AHEAD: Final = 16
"""How many times `DEFAULT_CHUNK_SIZE` records a run may hold while its model wants values."""

OnRecord: TypeAlias = Callable[[int, NormalizedRecord], object]
"""Called with a record's position and the record as soon as it is complete."""

_Numbered = Iterable[tuple[int, Any]]
_Results = dict[str, "FieldResult | _Key"]
_Read = NormalizedRecord | tuple[str, Mapping[str, Any], _Results, dict[Hashable, None]]


class NormalizationRun:
    """One run of a `Normalizer`: its settings, its model pass and its figures so far.

    Built by `Normalizer.start`; used by one thread. `stream` (or `normalize_chunk`) as often
    as needed, then `finish` for the report (which also becomes the normalizer's
    `last_report`).
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
        self._tally = _Tally()
        # Records held: at most `_held_most`; past `_held_easily`, only while the model wants.
        given = normalizer.chunk_size
        self._held_easily = given or DEFAULT_CHUNK_SIZE
        self._held_most = given or DEFAULT_CHUNK_SIZE * READ_AHEAD
        if model is not None:
            model.span = self._held_most

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
        self.counts = self.counts + self._tally.take()
        if self.model is not None:
            self.counts = self.counts + self.model.drain()
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
        self, chunk: Sequence[tuple[int, Any]], on_record: OnRecord | None = None
    ) -> list[NormalizedRecord]:
        """Normalize `(position, record)` pairs, all of them before returning, in order.

        A `stream` of the chunk: `on_record(position, record)` is called with each record
        as soon as it is complete, so a caller can save finished work before the chunk ends.

        Raises:
            ModelFailedError: The model cannot be used; the records passed to `on_record`
                before it were complete.
        """
        return list(self.stream(chunk, on_record=on_record))

    def stream(
        self,
        numbered: _Numbered,
        *,
        on_record: OnRecord | None = None,
        ordered: bool = True,
        stop_reading: bool = False,
    ) -> Iterator[NormalizedRecord]:
        """Normalize `(position, record)` pairs as they come: rules, the model, assembly.

        Yields each record once every value it waits on is decided: in input order, or in
        the order they complete when `ordered` is false. `on_record(position, record)` is
        called as each record completes, whatever the order. Memory is bounded by the
        records held (see the module's docstring); the input is read no faster.

        Args:
            numbered: The records with their positions (their ids when they have none).
            on_record: Called with each record as soon as it is complete.
            ordered: Yield the records in input order (else as they complete).
            stop_reading: Read no more records once the model pass stopped early (budget,
                deadline, failing model): what was read is finished, the rest left unread.

        Raises:
            ModelFailedError: The model cannot be used; the records passed to `on_record`
                (and yielded) before it were complete.
        """
        model = self.model
        window = _Window(self._tally, on_record, ordered)
        source = iter(numbered)
        reading = True
        try:
            while reading or window.held:
                if reading and stop_reading and self.stopped_early is not None:
                    reading = False
                elif reading and self._room(window):
                    item = next(source, None)
                    if item is None:
                        reading = False
                    else:
                        window.add(item[0], self._rules_pass(window.read, *item))
                        if model is not None and model.due(window.read - 1):
                            model.step(window.resolve, record=window.read - 1)
                else:
                    assert model is not None  # without a model no record ever waits
                    # Wait for calls to come back; at the end of the input, send the rest.
                    model.step(window.resolve, record=window.read - 1, flush=not reading, wait=True)
                    if window.waiting and not model.undecided:  # never spin on nothing
                        raise AssertionError("records wait on questions no longer asked")
                yield from window.emit()
            if model is not None:
                model.check_usable()
        finally:
            if model is not None:
                model.close()

    def _room(self, window: _Window) -> bool:
        """Whether another record may be read now."""
        held = window.held
        if held < self._held_easily:
            return True
        model = self.model
        return model is not None and held < self._held_most and model.wants_more

    def _rules_pass(self, number: int, position: int, record: Any) -> _Read:
        """A record's rules results, with a question key where the model is still deciding.

        `number` counts the records read before this one.
        """
        named = identify(record, position, self.config.id_field)
        if isinstance(named, NormalizedRecord):
            return named
        rid, original = named
        normalizer, model = self.normalizer, self.model
        results: _Results = {}
        keys: dict[Hashable, None] = {}
        for name in self.config.fields_to_normalize:
            column = self.columns.get(field_key(name), name) if self.columns else name
            if column not in original:
                continue
            rules, text = normalizer._rules(name, original[column])
            spec = normalizer._spec(name)
            if text is None or model is None or not normalizer._wants_model(spec, rules):
                results[name] = rules
                continue
            key = (field_key(name), text)
            answer = model.known(key)
            if answer is None:
                answer = model.ask(key, Question(name, spec, text, rules), number)
            if answer is None:
                results[name] = _Key(key)
                keys[key] = None
            else:
                results[name] = answer
        return rid, original, results, keys


def identify(
    record: Any, position: int, id_field: str
) -> tuple[str, Mapping[str, Any]] | NormalizedRecord:
    """A record's id and a read-only copy of it; a record that is not a mapping, as an error.

    The id is the record's `id_field` when it is a non-empty string or an integer, else
    ``#<position>``.
    """
    if not isinstance(record, Mapping):
        return NormalizedRecord(
            id=f"#{position}",
            original=MappingProxyType({}),
            error=f"expected a mapping, got {type(record).__name__}",
        )
    original = MappingProxyType(dict(record))
    record_id = original.get(id_field)
    rid = str(record_id) if isinstance(record_id, str | int) and record_id != "" else f"#{position}"
    return rid, original


def wants_model(spec: FieldSpec, rules: FieldResult) -> bool:
    """Whether a model, when there is one, should decide a value the rules made `rules` of."""
    if spec.strategy == "rules":
        return False
    if spec.strategy == "llm":
        return True
    return not rules.confident


class _Key:
    """A placeholder for a field's result: the model pass decides the question `key`."""

    __slots__ = ("key",)

    def __init__(self, key: Hashable) -> None:
        self.key = key


class _Held:
    """A record waiting on questions: what it is made of, and how many questions are left."""

    __slots__ = ("left", "original", "position", "results", "rid")

    def __init__(
        self, position: int, rid: str, original: Mapping[str, Any], results: _Results, left: int
    ) -> None:
        self.position = position
        self.rid = rid
        self.original = original
        self.results = results
        self.left = left


def _assemble(rid: str, original: Mapping[str, Any], results: _Results) -> NormalizedRecord:
    fields = {name: value for name, value in results.items() if isinstance(value, FieldResult)}
    assert len(fields) == len(results)  # every question was decided
    return NormalizedRecord(id=rid, original=original, fields=fields)


class _Window:
    """The records a stream holds: read, and not given back yet."""

    def __init__(self, tally: _Tally, on_record: OnRecord | None, ordered: bool) -> None:
        self.tally = tally
        self.on_record = on_record
        self.ordered = ordered
        self.read = self.given = 0
        self.waiting: dict[int, _Held] = {}  # by order of reading
        self.by_key: dict[Hashable, list[int]] = {}
        self.behind: dict[int, NormalizedRecord] = {}  # complete, behind a waiting one
        self.out: deque[NormalizedRecord] = deque()
        self.next = 0  # ordered: the next record to give back

    @property
    def held(self) -> int:
        """Records read and not given back yet."""
        return self.read - self.given

    def add(self, position: int, item: _Read) -> None:
        """Hold a record just read; it is complete at once unless it waits on questions."""
        seq = self.read
        self.read += 1
        if isinstance(item, NormalizedRecord):
            self._complete(seq, position, item)
            return
        rid, original, results, keys = item
        if not keys:
            self._complete(seq, position, _assemble(rid, original, results))
            return
        self.waiting[seq] = _Held(position, rid, original, results, len(keys))
        for key in keys:
            self.by_key.setdefault(key, []).append(seq)

    def resolve(self, decided: Sequence[tuple[Hashable, FieldResult]]) -> None:
        """Fill in decided questions; complete the records that waited on nothing else."""
        for key, result in decided:
            for seq in self.by_key.pop(key, ()):
                held = self.waiting[seq]
                results = held.results
                for name, value in results.items():
                    if isinstance(value, _Key) and value.key == key:
                        results[name] = result
                held.left -= 1
                if held.left == 0:
                    del self.waiting[seq]
                    record = _assemble(held.rid, held.original, results)
                    self._complete(seq, held.position, record)

    def _complete(self, seq: int, position: int, record: NormalizedRecord) -> None:
        self.tally.add(record)
        if self.on_record is not None:
            self.on_record(position, record)
        if not self.ordered:
            self.out.append(record)
            return
        if seq != self.next:
            self.behind[seq] = record
            return
        self.out.append(record)
        self.next += 1
        while self.next in self.behind:
            self.out.append(self.behind.pop(self.next))
            self.next += 1

    def emit(self) -> Iterator[NormalizedRecord]:
        """Give back the records ready to go."""
        out = self.out
        while out:
            self.given += 1
            yield out.popleft()


class _Tally:
    """The rules-and-assembly figures of the records completed so far."""

    __slots__ = ("changed", "failed", "fields", "not_confident", "records", "review", "sources")

    def __init__(self) -> None:
        self.records = self.failed = self.fields = self.changed = self.not_confident = 0
        self.sources: dict[str, int] = {}
        self.review: dict[str, int] = {}

    def _reset(self) -> None:
        self.records = self.failed = self.fields = self.changed = self.not_confident = 0
        self.sources = {}
        self.review = {}

    def add(self, record: NormalizedRecord) -> None:
        self.records += 1
        if record.error is not None:
            self.failed += 1
            return
        self.fields += len(record.fields)
        self.changed += len(record.changed)
        sources, review = self.sources, self.review
        for name, result in record.fields.items():
            sources[result.source] = sources.get(result.source, 0) + 1
            if not result.confident:
                self.not_confident += 1
                review[name] = review.get(name, 0) + 1

    def take(self) -> RunCounts:
        """The figures so far, as `RunCounts`; the tally starts again from zero."""
        counts = RunCounts(
            records_in=self.records,
            records_failed=self.failed,
            records_normalized=self.records - self.failed,
            fields_normalized=self.fields,
            fields_changed=self.changed,
            values_by_source=dict(self.sources),
            not_confident=self.not_confident,
            not_confident_by_field=dict(self.review),
        )
        self._reset()
        return counts
