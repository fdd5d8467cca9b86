"""The model pass of one run: `ModelPass`, and the `Question`s it decides.

`ModelPass.decide` takes the distinct `Question`s of a chunk and, in order:

1. answers what the value cache knows;
2. plans the rest in groups, in the order the records asked them (so a run cut short by its
   budget or deadline leaves whole records decided), values of one field together,
   `batch_size` per call;
3. sends the batches, several at a time, each after the deadline check and the budget
   reservation (a call is reserved at its worst case, so the ceiling holds with calls in
   flight; a batch the rest of the budget cannot pay for is halved until it can), with
   retries under the rate limit; no retry waits past the deadline, each call's timeout is
   the time left, and a call still out at the deadline is abandoned;
4. parses each answer, splits a cut-off batch in halves and sends them again, checks every
   item with the guard, runs the field's post-processors on what passes, and caches it;
5. falls back to the rules' value, flagged, for whatever was refused, failed or never sent.

It tells its caller each question as soon as it is decided (`on_decided`), so finished
records can be saved before the chunk ends, and returns the results with the `RunCounts` of
what it did; worker threads return what their call did, and only the pass's own thread adds
it up.

A call refused as invalid while the model was asked to answer through a forced tool is sent
once more in json mode by the dispatcher before it counts as failed (the capability fallback,
see `llm_normalize.dispatch`); the pass only sees the outcome.

A model that cannot be used stops the pass with `ModelFailedError`: a call refused in a way
no retry can fix (access denied, an invalid request, an unknown model), or every call failing
after its retries (three in a row, with none answered). When calls answered before, three
failures in a row stop the scheduling instead (``stopped_early="model_errors"``).

`llm_normalize.dispatch.ModelDispatcher` holds what runs share (the backend, the cache, the
limiter, the guard) and makes the calls; `ModelDispatcher.start` opens a pass.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Final

from llm_normalize._names import field_key
from llm_normalize.caches import cache_key
from llm_normalize.deadline import Deadline, StopWhen, time_left
from llm_normalize.exceptions import BackendError, DeadlineExceededError, ModelFailedError
from llm_normalize.fields import FieldSpec
from llm_normalize.messages import ModelRequest, Usage
from llm_normalize.parsing import ParsedAnswer
from llm_normalize.pricing import estimate_cost
from llm_normalize.prompt import Item
from llm_normalize.records import FLAG_MODEL_FAILED, FLAG_NOT_SENT, FieldResult
from llm_normalize.report import RunCounts

if TYPE_CHECKING:
    # The dispatcher opens the pass; here it is only a type.
    from llm_normalize.dispatch import ModelDispatcher

__all__ = ["CallOutcome", "ModelPass", "OnDecided", "Question", "fallback"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Question:
    """One distinct value the model should decide, and what the rules made of it.

    Attributes:
        name: The field name as the record spells it.
        spec: The field's spec (kind, instructions, labels) for the prompt and the guard.
        raw: The raw value, as text.
        rules: The rules' result, kept when the model's answer is refused or missing.
    """

    name: str
    spec: FieldSpec
    raw: str
    rules: FieldResult


@dataclass(frozen=True, slots=True)
class CallOutcome:
    """What one model call did: built in a worker thread by the dispatcher, added up by the pass."""

    parsed: ParsedAnswer | None = None
    truncated: bool = False
    failure: BackendError | None = None
    counts: RunCounts = field(default_factory=RunCounts)
    answer_mode: str | None = None  # the mode of the request answered (or refused) last


def fallback(question: Question, flag: str, reason: str) -> FieldResult:
    """The rules' result for `question`, not confident, with `flag` added and `reason` set."""
    flags = tuple(dict.fromkeys((*question.rules.flags, flag)))
    return FieldResult(
        question.rules.value, source="rules", confident=False, reason=reason, flags=flags
    )


_Batch = list[int]  # positions in the pass's questions


def _calls(count: int) -> str:
    return "1 call" if count == 1 else f"{count} calls"


def _pairs(
    positions: Sequence[int], results: Sequence[FieldResult | None]
) -> list[tuple[int, FieldResult]]:
    pairs = [(i, results[i]) for i in positions]
    return [(i, result) for i, result in pairs if result is not None]


OnDecided = Callable[[Sequence[tuple[int, FieldResult]]], None]
"""Called from the pass's own thread with the questions just decided: (position, result)."""

# Batches in a row that failed after their retries before a run that never got an answer
# gives up (a throttle storm, an unreachable endpoint), or one that did stops calling.
_FAILURES_IN_A_ROW: Final = 3

# Seconds a call may overrun the deadline (its own timeout is the time left) before the
# pass stops waiting for it.
_GRACE_S: Final = 1.0

_HINTS: Final = {
    "BackendAccessDeniedError": (
        "check the credentials, the permission to invoke this model (bedrock:InvokeModel on "
        "its ARN for Bedrock) and that the model is enabled in this region"
    ),
    "BackendInvalidRequestError": (
        "check the model id and that this model accepts the request (for a non-Anthropic "
        "model on Bedrock use api='converse')"
    ),
}


class ModelPass:
    """The model pass of one run: what it spent and whether it stopped; one thread at a time.

    Built by `ModelDispatcher.start`. Call `decide` once per chunk of records; the budget,
    an early stop and the count of failed calls hold across the chunks of the run.

    Attributes:
        stopped_early: Why the pass stopped scheduling calls (``"budget"``, ``"deadline"``,
            ``"model_errors"``), if it did.
    """

    def __init__(self, dispatcher: ModelDispatcher, stop_when: StopWhen | None = None) -> None:
        self.dispatcher = dispatcher
        self.deadline = Deadline.combine(stop_when)
        self.spent = Usage()
        self.stopped_early: str | None = None
        self._answered = 0  # calls that brought a usable answer
        self._failed = 0  # calls that failed after their retries
        self._failed_in_a_row = 0
        self._last_failure: BackendError | None = None
        self._counts = RunCounts()

    @property
    def stop_when(self) -> StopWhen | None:
        """The pass's deadline check, if any."""
        return self.deadline

    def decide(
        self,
        questions: Sequence[Question],
        batch_size: int,
        on_decided: OnDecided | None = None,
    ) -> tuple[list[FieldResult], RunCounts]:
        """Decide each question; return its result (in order) and what the pass did.

        Questions are taken in groups, in their order (the order of the records that asked
        them), so a pass cut short by its budget or deadline leaves whole records decided.
        `on_decided` is called with the positions of the questions decided so far, as they
        are decided (cache hits first, then batch by batch), so callers can save finished
        records at once.

        Raises:
            ModelFailedError: The model cannot be used (a call refused for good, or every
                call failing after its retries); what was decided before stays decided.
        """
        results: list[FieldResult | None] = [None] * len(questions)
        self._counts += self._from_cache(questions, results)
        hits = [i for i, result in enumerate(results) if result is not None]
        if hits and on_decided is not None:
            on_decided(_pairs(hits, results))
        misses = [i for i, result in enumerate(results) if result is None]
        queue = deque(self._plan(questions, misses, batch_size))
        if queue:
            self._send(questions, queue, results, on_decided)
            if self._failed and not self._answered:
                raise self._unusable()
        # Whatever was never sent (budget, deadline, failing model) falls back to the rules.
        unsent = [i for batch in queue for i in batch]
        for i in unsent:
            results[i] = fallback(questions[i], FLAG_NOT_SENT, "not_sent")
        if unsent:
            self._counts += RunCounts(values_not_sent=len(unsent))
            if on_decided is not None:
                on_decided(_pairs(unsent, results))
        decided = [result for result in results if result is not None]
        assert len(decided) == len(questions)  # every question was settled above
        return decided, self.drain()

    def drain(self) -> RunCounts:
        """What the pass did since the last `decide` returned (or `drain` was called).

        After a `ModelFailedError`, the run takes the failed chunk's figures from here.
        """
        dispatcher = self.dispatcher
        counts = replace(
            self._counts,
            stopped_early=self.stopped_early,
            answer_mode=dispatcher.answer_mode,
            answer_mode_switched=self._counts.answer_mode_switched
            or dispatcher.answer_mode_switched,
        )
        self._counts = RunCounts()
        return counts

    def _plan(
        self, questions: Sequence[Question], misses: list[int], batch_size: int
    ) -> list[_Batch]:
        """Batches in groups of about two rounds of calls, each group's values by field."""
        group = self.dispatcher.concurrency * batch_size * 2
        batches: list[_Batch] = []
        for start in range(0, len(misses), group):
            # Values of one field together: a batch then carries fewer fields' instructions.
            part = sorted(misses[start : start + group], key=lambda i: field_key(questions[i].name))
            batches.extend(part[i : i + batch_size] for i in range(0, len(part), batch_size))
        return batches

    def _from_cache(
        self, questions: Sequence[Question], results: list[FieldResult | None]
    ) -> RunCounts:
        dispatcher = self.dispatcher
        version = dispatcher.cache_version
        hits = 0
        for i, question in enumerate(questions):
            cached = dispatcher.cache.get(cache_key(question.name, question.raw, version))
            if cached is not None:
                hits += 1
                results[i] = FieldResult(cached, source="cache", confident=True)
        return RunCounts(cache_hits=hits)

    def _over_budget(self, cost: Usage, reserved: Usage) -> bool:
        """Whether `cost` (one call's worst case) would break the budget on top of the rest."""
        dispatcher = self.dispatcher
        budget = dispatcher.budget
        if budget is None:
            return False
        worst = self.spent + reserved + cost
        if budget.max_tokens is not None and worst.total_tokens > budget.max_tokens:
            return True
        if budget.max_usd is not None:
            usd = estimate_cost(dispatcher.model_id, worst, dispatcher.prices)
            return usd is not None and usd > budget.max_usd
        return False

    def _may_start(self) -> bool:
        deadline = self.deadline
        if self.stopped_early is None and deadline is not None and deadline():
            self.stopped_early = "deadline"
        return self.stopped_early is None

    def _next_request(
        self, questions: Sequence[Question], queue: deque[_Batch], reserved: Usage
    ) -> tuple[ModelRequest, Usage] | None:
        """The request of the next batch within budget (halving it to fit); `None`: stop."""
        builder = self.dispatcher.prompt_builder
        while True:
            batch = queue[0]
            items = [Item(str(n), questions[i].name, questions[i].raw) for n, i in enumerate(batch)]
            request = builder.build(items)
            cost = Usage(builder.estimate_input_tokens(request), request.max_tokens)
            if not self._over_budget(cost, reserved):
                return request, cost
            if len(batch) == 1:
                self.stopped_early = "budget"
                return None
            # What is left of the budget may still pay for a smaller batch.
            half = len(batch) // 2
            queue[0] = batch[half:]
            queue.appendleft(batch[:half])

    def _send(
        self,
        questions: Sequence[Question],
        queue: deque[_Batch],
        results: list[FieldResult | None],
        on_decided: OnDecided | None,
    ) -> None:
        dispatcher = self.dispatcher
        in_flight: dict[Future[CallOutcome], tuple[_Batch, Usage]] = {}
        reserved = Usage()
        pool = ThreadPoolExecutor(
            max_workers=dispatcher.concurrency, thread_name_prefix="llm-normalize"
        )
        try:
            while queue or in_flight:
                while queue and len(in_flight) < dispatcher.concurrency and self._may_start():
                    planned = self._next_request(questions, queue, reserved)
                    if planned is None:
                        break
                    request, cost = planned
                    batch = queue.popleft()
                    reserved = reserved + cost
                    self._counts += RunCounts(values_sent_to_model=len(batch))
                    future = pool.submit(dispatcher.call, request, len(batch), self.deadline)
                    in_flight[future] = (batch, cost)
                if not in_flight:
                    break
                done, _ = wait(in_flight, timeout=self._wait_s(), return_when=FIRST_COMPLETED)
                if not done:
                    self._counts += self._abandon(questions, in_flight, results, on_decided)
                    break
                for future in done:
                    batch, cost = in_flight.pop(future)
                    reserved = Usage(
                        reserved.input_tokens - cost.input_tokens,
                        reserved.output_tokens - cost.output_tokens,
                    )
                    outcome = future.result()
                    self.spent = self.spent + outcome.counts.usage
                    self._counts += outcome.counts
                    self._counts += self._settle(questions, batch, outcome, queue, results)
                    if on_decided is not None:
                        settled = [i for i in batch if results[i] is not None]
                        if settled:
                            on_decided(_pairs(settled, results))
        finally:
            # Calls left in flight (the deadline passed, the model failed) are not waited for:
            # nothing more is taken from them.
            pool.shutdown(wait=not in_flight, cancel_futures=True)

    def _wait_s(self) -> float | None:
        """How long to wait for a call: until the deadline plus a grace, or forever."""
        left = time_left(self.deadline)
        return None if left is None else max(left, 0.0) + _GRACE_S

    def _abandon(
        self,
        questions: Sequence[Question],
        in_flight: dict[Future[CallOutcome], tuple[_Batch, Usage]],
        results: list[FieldResult | None],
        on_decided: OnDecided | None,
    ) -> RunCounts:
        """The deadline passed with calls still out: leave their values undecided."""
        self.stopped_early = self.stopped_early or "deadline"
        abandoned = [i for batch, _cost in in_flight.values() for i in batch]
        for i in abandoned:
            results[i] = fallback(questions[i], FLAG_MODEL_FAILED, "deadline")
        logger.warning(
            "the deadline passed with %d model calls still running; %d values left undecided",
            len(in_flight),
            len(abandoned),
        )
        if on_decided is not None:
            on_decided(_pairs(abandoned, results))
        calls = len(in_flight)
        # Keep the futures listed so the pool is shut down without waiting for them.
        return RunCounts(errors_by_kind={"AbandonedAtDeadline": calls})

    def _settle(
        self,
        questions: Sequence[Question],
        batch: _Batch,
        outcome: CallOutcome,
        queue: deque[_Batch],
        results: list[FieldResult | None],
    ) -> RunCounts:
        if outcome.truncated:
            if len(batch) > 1:
                # Never repair a cut-off answer: send each half again, smaller.
                half = len(batch) // 2
                queue.appendleft(batch[half:])
                queue.appendleft(batch[:half])
                return RunCounts(truncated_batches=1)
            results[batch[0]] = fallback(questions[batch[0]], FLAG_MODEL_FAILED, "truncated")
            return RunCounts(truncated_batches=1, item_errors={"truncated": 1})
        if outcome.failure is not None:
            reason = self._failed_call(outcome.failure)
            for i in batch:
                results[i] = fallback(questions[i], FLAG_MODEL_FAILED, reason)
            return RunCounts()
        self._answered += 1
        self._failed_in_a_row = 0
        assert outcome.parsed is not None  # neither truncated nor failed
        return self._accept(questions, batch, outcome.parsed, results, outcome.answer_mode)

    def _failed_call(self, error: BackendError) -> str:
        """Record a call that failed for good; raise when the model cannot be used at all."""
        if isinstance(error, DeadlineExceededError):
            self.stopped_early = self.stopped_early or "deadline"
            return "deadline"
        if not error.retryable:
            hint = _HINTS.get(type(error).__name__, "see the cause")
            raise ModelFailedError(
                f"the model cannot be used, so the run stopped: {error}; {hint}", error
            )
        self._failed += 1
        self._failed_in_a_row += 1
        self._last_failure = error
        if self._failed_in_a_row >= _FAILURES_IN_A_ROW:
            if self._answered == 0:
                raise self._unusable()
            self.stopped_early = self.stopped_early or "model_errors"
        return "model_error"

    def _unusable(self) -> ModelFailedError:
        """The error of a run whose every model call failed after its retries."""
        error = self._last_failure
        assert error is not None  # only called after a failure
        return ModelFailedError(
            f"every model call failed after its retries ({_calls(self._failed)}, the last "
            f"with {type(error).__name__}): nothing was saved from them; check that the model is "
            "reachable and not throttled (lower the rate or the concurrency), then run again",
            error,
        )

    def _accept(
        self,
        questions: Sequence[Question],
        batch: _Batch,
        parsed: ParsedAnswer,
        results: list[FieldResult | None],
        answer_mode: str | None = None,
    ) -> RunCounts:
        item_errors: dict[str, int] = {}
        if parsed.unknown_ids:
            item_errors["unknown_id"] = parsed.unknown_ids
        rejections: dict[str, int] = {}
        for n, i in enumerate(batch):
            answer = parsed.values.get(str(n))
            if answer is None:
                reason = parsed.errors.get(str(n), "missing")
                item_errors[reason] = item_errors.get(reason, 0) + 1
                results[i] = fallback(questions[i], FLAG_MODEL_FAILED, reason)
                continue
            results[i], refused = self.dispatcher.judge(
                questions[i], answer, answer_mode=answer_mode
            )
            if refused is not None:
                rejections[refused] = rejections.get(refused, 0) + 1
        return RunCounts(item_errors=item_errors, guard_rejections=rejections)
