"""Normalize in phases: the rules over every record, the model once per distinct value, assembly.

`Normalizer.normalize` does all of it in one process. At data-lake scale the work splits
naturally, because the rules settle most values and the rest repeat: the model work is a
small set of distinct values, not the rows. `TwoPhase` gives the three steps separately, so
a distributed engine (see `llm_normalize.spark`) or a batch job can run each where it fits:

1. `RulesPhase.draft` (anywhere, e.g. on Spark executors; the `RulesPhase` pickles small
   and holds no model, cache or client): the rules' result of each field of a record, or a
   `Pending` value the model must decide;
2. `TwoPhase.decide` (once, on the driver): the distinct pending values through the model,
   with the normalizer's cache, guard, budget, deadline and rate limit, as online;
3. `RulesPhase.assemble` (anywhere): the final `NormalizedRecord` from a draft and the
   decisions.

Record for record, the result equals `Normalizer.normalize` on the same records with the same
backend (the tests compare them), and each distinct `(field, value)` reaches the model at most
once, whatever way the records were split.

Examples:
    >>> from llm_normalize import Normalizer
    >>> phases = TwoPhase(Normalizer())
    >>> draft = phases.rules.draft({"leadId": "7", "ciudad": "bogota"})
    >>> decided = phases.decide(draft.pending)
    >>> phases.rules.assemble(draft, decided.results).normalized["ciudad"]
    'Bogotá D.C.'
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final, cast

from llm_normalize._names import field_key
from llm_normalize.config import NormalizationConfig
from llm_normalize.model_pass import Question, fallback
from llm_normalize.records import FLAG_NOT_SENT, FieldResult, NormalizedRecord
from llm_normalize.report import RunReport
from llm_normalize.run import identify, wants_model

if TYPE_CHECKING:
    from collections.abc import Callable

    from llm_normalize.fields import Profile
    from llm_normalize.pipeline import Normalizer
    from llm_normalize.postprocessors.registry import PostProcessorRegistry

__all__ = ["Decisions", "Draft", "Pending", "RulesPhase", "TwoPhase", "question_key"]

# Rules-only normalizers built in this process, by the token of the `RulesPhase` they serve:
# an executor builds one per phase, not one per task (a task unpickles its own copy).
_BUILT: dict[str, Normalizer] = {}
_BUILT_LOCK: Final = threading.Lock()
_BUILT_MOST: Final = 8  # phases whose rules a long-lived worker keeps built


def question_key(name: str, text: str) -> tuple[str, str]:
    """The key a value is decided under: the field's key and the value's text."""
    return (field_key(name), text)


@dataclass(frozen=True, slots=True)
class Pending:
    """A value the rules were unsure of: the model decides it (phase 2).

    Attributes:
        name: The field, as the config spells it.
        text: The raw value as text, as the model is shown it.
        rules: What the rules made of it, kept if the model's answer is refused or missing.
    """

    name: str
    text: str
    rules: FieldResult

    @property
    def key(self) -> tuple[str, str]:
        """The key the value is decided under (`question_key`)."""
        return question_key(self.name, self.text)


@dataclass(frozen=True, slots=True)
class Draft:
    """A record after the rules (phase 1): each field's result, or the value still pending.

    Attributes:
        id: The record's id (its id attribute, else ``#<position>``).
        original: The record as read, untouched.
        fields: Each field normalized: its result, or a `Pending` value.
        error: Why the record could not be normalized at all (not a mapping), if so.
    """

    id: str
    original: Mapping[str, Any]
    fields: Mapping[str, FieldResult | Pending] = field(default_factory=dict)
    error: str | None = None

    @property
    def pending(self) -> tuple[Pending, ...]:
        """The values the model must decide before the record can be assembled."""
        return tuple(value for value in self.fields.values() if isinstance(value, Pending))


@dataclass(frozen=True, slots=True)
class Decisions:
    """What phase 2 decided: a result per pending key, and the run's report.

    Attributes:
        results: ``{question_key: FieldResult}`` for every distinct value asked: the model's
            accepted answer (``source="llm"``), a cached one (``"cache"``), or the rules'
            value flagged (refused by the guard, failed, not sent).
        report: The report of the model pass (calls, tokens, cost, cache hits, refusals);
            its record counts are zero, the records being assembled elsewhere.
    """

    results: Mapping[tuple[str, str], FieldResult]
    report: RunReport


class RulesPhase:
    """Phases 1 and 3 of a `TwoPhase`: the rules over a record, and its assembly.

    Holds no model, cache or client, and pickles small (the built-in rules travel as their
    address style), so it can be shipped to other processes or machines; each process builds
    its rules once.
    """

    def __init__(
        self,
        config: NormalizationConfig,
        *,
        asks_model: bool,
        columns: Mapping[str, str] | None = None,
        profile: Profile | None = None,
        registry: PostProcessorRegistry | None = None,
        normalizer: Normalizer | None = None,
    ) -> None:
        self.config = config
        self.asks_model = asks_model
        # {field key: column} for fields read from a column of another name.
        self.columns: dict[str, str] = dict(columns or {})
        self._profile = profile
        self._registry = registry
        self.token = uuid.uuid4().hex
        # Here, the normalizer whose rules these are; unpickled elsewhere, built there once.
        self._normalizer: Normalizer | None = normalizer

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_normalizer"] = None  # rebuilt where it lands
        return state

    def __repr__(self) -> str:
        return (
            f"RulesPhase(fields={self.config.fields_to_normalize!r}, asks_model={self.asks_model})"
        )

    @property
    def normalizer(self) -> Normalizer:
        """The normalizer whose rules run here: the one given, else a rules-only one built once."""
        built = self._normalizer
        if built is None:
            with _BUILT_LOCK:
                built = _BUILT.pop(self.token, None)
                if built is None:
                    from llm_normalize.pipeline import Normalizer

                    built = Normalizer(None, self.config, self._registry, profile=self._profile)
                _BUILT[self.token] = built  # the most recently used last
                while len(_BUILT) > _BUILT_MOST:
                    del _BUILT[next(iter(_BUILT))]
            self._normalizer = built
        return built

    def draft(self, record: Any, position: int = 0) -> Draft:
        """Phase 1: the rules over one record; what they were unsure of is left `Pending`.

        Args:
            record: A mapping of field (or column) name to raw value; anything else gives a
                draft with an `error`, as `Normalizer.normalize` does.
            position: The record's position, which names it when it has no id.
        """
        named = identify(record, position, self.config.id_field)
        if isinstance(named, NormalizedRecord):
            return Draft(named.id, named.original, error=named.error)
        rid, original = named
        normalizer, columns, asks = self.normalizer, self.columns, self.asks_model
        fields: dict[str, FieldResult | Pending] = {}
        for name in self.config.fields_to_normalize:
            column = columns.get(field_key(name), name) if columns else name
            if column not in original:
                continue
            rules, text = normalizer._rules(name, original[column])
            if text is not None and asks and wants_model(normalizer._spec(name), rules):
                fields[name] = Pending(name, text, rules)
            else:
                fields[name] = rules
        return Draft(rid, original, fields)

    def assemble(
        self, draft: Draft, results: Mapping[tuple[str, str], FieldResult]
    ) -> NormalizedRecord:
        """Phase 3: the record from its draft and the decisions of phase 2.

        A pending value with no decision (phase 2 never saw it) keeps the rules' value,
        flagged ``not_sent`` and not confident: never passed off as decided.
        """
        if draft.error is not None:
            return NormalizedRecord(id=draft.id, original=draft.original, error=draft.error)
        fields: dict[str, FieldResult] = {}
        for name, value in draft.fields.items():
            if isinstance(value, Pending):
                decided = results.get(value.key)
                if decided is None:
                    question = Question(name, self.normalizer._spec(name), value.text, value.rules)
                    decided = fallback(question, FLAG_NOT_SENT, "not_sent")
                fields[name] = decided
            else:
                fields[name] = value
        return NormalizedRecord(id=draft.id, original=draft.original, fields=fields)


class TwoPhase:
    """A `Normalizer` split in phases: rules anywhere, the model once per distinct value.

    Args:
        normalizer: The normalizer whose rules, model, cache, guard and limits are used.
        config: The run's settings (default: the normalizer's), e.g. a stored config item's.
        columns: ``{column: field}`` for fields read from a column of another name (as in
            `Normalizer.normalize`).

    Raises:
        UnknownFieldError: `columns` maps to a field the profile and registry do not know.
        ConfigurationError: `config` asks for another address style and the normalizer has
            rules of its own.
    """

    def __init__(
        self,
        normalizer: Normalizer,
        *,
        config: NormalizationConfig | None = None,
        columns: Mapping[str, str] | None = None,
    ) -> None:
        config = config or normalizer.config
        if config.address_style != normalizer.config.address_style:
            normalizer = normalizer._restyled(config.address_style)
        self.normalizer = normalizer
        self.config = config
        self.columns = dict(columns or {})
        own = normalizer._own_rules
        self.rules = RulesPhase(
            config,
            asks_model=normalizer.dispatcher is not None,
            columns=normalizer._read_from(columns),
            profile=normalizer.profile if own else None,
            registry=normalizer.registry if own else None,
            normalizer=normalizer,
        )

    def __repr__(self) -> str:
        return f"TwoPhase({self.normalizer!r})"

    def decide(
        self,
        pending: Iterable[Pending | Question | tuple[str, str]],
        *,
        stop_when: Callable[[], bool] | None = None,
        cache_only: bool = False,
    ) -> Decisions:
        """Phase 2: each distinct pending value through the model, once, as online.

        The values are deduplicated and asked in a fixed order (by field, then text), so the
        batches depend only on the set of values, never on how the records were split. The
        value cache answers what it knows; the rest go in full batches under the rate limit,
        the budget and the deadline, each answer parsed and checked by the guard.

        Args:
            pending: The values: `Pending`s from drafts, `Question`s, or ``(field name,
                text)`` pairs (the rules are run again on the driver for those).
            stop_when: This pass's deadline check, on top of the normalizer's own.
            cache_only: Make no model call: what the value cache lacks keeps the rules'
                value, flagged ``not_sent`` (`stopped_early="cache_only"`).

        Raises:
            ModelFailedError: The model cannot be used; its ``report`` says what was done.
        """
        questions = self.questions(pending)
        run = self.normalizer.start(config=self.config, stop_when=stop_when, columns=self.columns)
        results: dict[tuple[str, str], FieldResult] = {}
        model = run.model
        if model is None:  # no model: the rules' results stand
            for key, question in questions.items():
                results[key] = question.rules
            return Decisions(MappingProxyType(results), run.finish())

        def on_decided(decided: Iterable[tuple[Hashable, FieldResult]]) -> None:
            for key, result in decided:
                results[cast("tuple[str, str]", key)] = result

        if cache_only:
            model.stop("cache_only")
        with run.failing():
            try:
                model.span = max(len(questions), 1)
                for number, (key, question) in enumerate(questions.items()):
                    answer = model.ask(key, question, number)
                    if answer is not None:
                        results[key] = answer
                    elif model.due(number):
                        model.step(on_decided, record=number)
                last = len(questions) - 1
                while model.undecided:
                    model.step(on_decided, record=last, flush=True, wait=True)
                model.check_usable()
            finally:
                model.close()
        return Decisions(MappingProxyType(results), run.finish())

    def questions(
        self, pending: Iterable[Pending | Question | tuple[str, str]]
    ) -> dict[tuple[str, str], Question]:
        """The distinct questions of `pending`, by key, in a fixed order (field, then text)."""
        normalizer = self.normalizer
        found: dict[tuple[str, str], Question] = {}
        for value in pending:
            if isinstance(value, Pending):
                name, text, rules = value.name, value.text, value.rules
            elif isinstance(value, Question):
                name, text, rules = value.name, value.raw, value.rules
            else:
                name, text = value
                rules = normalizer._rules(name, text)[0]
            key = question_key(name, text)
            if key not in found:
                found[key] = Question(name, normalizer._spec(name), text, rules)
        return {key: found[key] for key in sorted(found)}
