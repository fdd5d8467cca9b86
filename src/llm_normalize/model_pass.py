"""The model pass of one run: `ModelPass`, and the `Question`s it decides.

A run asks its questions one at a time, as its rules pass meets them (`ModelPass.ask`), and
the pass streams them to the model while the rules pass goes on:

1. a question already decided in this run gets the same result at once, from the run's memo:
   an accepted answer, and also an answer the guard refused or a value whose call failed,
   so no value is asked twice in a run (the next run asks again); a question already on its
   way is joined; the value cache answers what it knows;
2. the rest wait in one queue, in the order the records asked them, and leave it in groups:
   as soon as a group's worth of values wait (two rounds of calls: ``2 x concurrency x
   batch_size``; with an automatic concurrency, four calls a round, and the first groups are
   one batch, then two, four..., so the first call starts early), they are sorted by
   field (a batch then carries few fields' instructions) and cut into full batches. So a
   run cut short by its budget or deadline leaves whole records decided, and the batches
   depend only on the input, never on timing. A group closes early only when its oldest value
   was asked `span` records ago (the most records the run may hold, so it never waits on
   itself), or at the end of the input (``flush``): only then can a batch be partial;
3. batches are sent as call slots free up (`ModelDispatcher.slots`), each after the deadline
   check and the budget reservation (at its worst case, so the ceiling holds with calls in
   flight; a batch the budget cannot pay for waits for the calls in flight to give back what
   they did not spend, and with none in flight is halved until it fits), with retries under
   the rate limit; no retry waits past the deadline, each call's timeout is the time left,
   and a call still out at the deadline is abandoned;
4. each answer is parsed (a cut-off batch is split in halves and sent again), every item is
   checked by the guard, the field's post-processors run on what passes, and it is cached;
5. whatever was refused, failed or never sent falls back to the rules' value, flagged.

The run drives the pass with `step`, which tells it each question decided (`on_decided`),
batch by batch, so finished records can be saved at once. Worker threads only make the calls
(with the dispatcher's capability fallback from tool to json mode); everything else, the
figures included, happens in the run's own thread.

A model that cannot be used stops the pass with `ModelFailedError`: a call refused in a way
no retry can fix (access denied, an invalid request, an unknown model), or every call failing
after its retries (three in a row, with none answered). When calls answered before, three
failures in a row stop the scheduling instead (``stopped_early="model_errors"``).

`llm_normalize.dispatch.ModelDispatcher` holds what runs share (the backend, the cache, the
limiter, the guard) and makes the calls; `ModelDispatcher.start` opens a pass.
"""

from __future__ import annotations

import itertools
import logging
import queue
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Hashable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Final

from llm_normalize._names import field_key
from llm_normalize.caches import cache_key, get_many, rejection_key
from llm_normalize.deadline import Deadline, StopWhen, time_left
from llm_normalize.exceptions import BackendError, DeadlineExceededError, ModelFailedError
from llm_normalize.fields import FieldSpec
from llm_normalize.messages import ModelRequest, Usage
from llm_normalize.parsing import ParsedAnswer
from llm_normalize.pricing import estimate_cost
from llm_normalize.prompt import Item
from llm_normalize.records import (
    FLAG_GUARD_REJECTED,
    FLAG_MODEL_FAILED,
    FLAG_NOT_SENT,
    FieldResult,
)
from llm_normalize.report import RunCounts

if TYPE_CHECKING:
    # The dispatcher opens the pass; here it is only a type.
    from llm_normalize.dispatch import ModelDispatcher

__all__ = ["CallOutcome", "CallTicket", "ModelPass", "OnDecided", "Question", "fallback"]

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


class CallTicket:
    """When the attempt of a call now at the backend started (`time.monotonic`), if one is.

    Set by the worker thread making the call, read by the pass to size its call slots.
    """

    __slots__ = ("started",)

    def __init__(self) -> None:
        self.started: float | None = None


def fallback(question: Question, flag: str, reason: str) -> FieldResult:
    """The rules' result for `question`, not confident, with `flag` added and `reason` set."""
    flags = tuple(dict.fromkeys((*question.rules.flags, flag)))
    return FieldResult(
        question.rules.value, source="rules", confident=False, reason=reason, flags=flags
    )


_Batch = list[Hashable]  # question keys

OnDecided = Callable[[Sequence[tuple[Hashable, FieldResult]]], None]
"""Called from the run's own thread with the questions just decided: (key, result)."""

# Batches in a row that failed after their retries before a run that never got an answer
# gives up (a throttle storm, an unreachable endpoint), or one that did stops calling.
_FAILURES_IN_A_ROW: Final = 3

# Seconds a call may overrun the deadline (its own timeout is the time left) before the
# pass stops waiting for it.
_GRACE_S: Final = 1.0

# How often a pass waiting for calls looks again whether more may start (automatic sizing:
# slots grow while the calls in flight take longer than expected).
_POLL_S: Final = 0.05

# Rounds of calls in a group of values, and calls in a round when the concurrency is
# automatic (a group must not depend on timing).
_GROUP_ROUNDS: Final = 2
_AUTO_ROUND: Final = 4

# Decided questions a run remembers (least recently used first out); past it, a value seen
# again is looked up in the value cache, or asked again.
_MEMO_LIMIT: Final = 100_000

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


@dataclass(slots=True)
class _Call:
    batch: _Batch
    cost: Usage
    ticket: CallTicket


class ModelPass:
    """The model pass of one run: its queue, its calls, what it spent and whether it stopped.

    Built by `ModelDispatcher.start`; used by one thread (worker threads only make calls).
    Ask questions with `ask`, move them along with `step`, and `close` when the input is
    done. The budget, the memo, an early stop and the count of failed calls hold across the
    whole run.

    Attributes:
        stopped_early: Why the pass stopped scheduling calls (``"budget"``, ``"deadline"``,
            ``"model_errors"``), if it did.
    """

    def __init__(
        self,
        dispatcher: ModelDispatcher,
        stop_when: StopWhen | None = None,
        *,
        batch_size: int = 10,
        span: int = 1000,
    ) -> None:
        self.dispatcher = dispatcher
        self.deadline = Deadline.combine(stop_when)
        self.batch_size = batch_size
        self.span = span
        calls = _AUTO_ROUND if dispatcher.auto_concurrency else dispatcher.concurrency
        self.group = _GROUP_ROUNDS * calls * batch_size
        self.spent = Usage()
        self.stopped_early: str | None = None
        self._answered = 0  # calls that brought a usable answer
        self._failed = 0  # calls that failed after their retries
        self._failed_in_a_row = 0
        self._last_failure: BackendError | None = None
        self._counts = RunCounts()
        self._cache_hits = self._not_sent = self._sent = 0
        self._memo: OrderedDict[Hashable, FieldResult] = OrderedDict()
        self._questions: dict[Hashable, Question] = {}  # undecided: queued, ready or in flight
        # Not yet in a batch, in asking order: key -> (field key, the asking record's number).
        self._queue: dict[Hashable, tuple[str, int]] = {}
        self._ready: deque[_Batch] = deque()  # batches made, not sent yet
        self._in_flight: dict[Future[CallOutcome], _Call] = {}
        self._done: queue.SimpleQueue[Future[CallOutcome]] = queue.SimpleQueue()
        self._reserved = Usage()
        self._pool: ThreadPoolExecutor | None = None
        self._abandoned = False
        self._slots = dispatcher.slots()
        self._groups = 0  # groups made so far

    @property
    def undecided(self) -> int:
        """Questions asked and not decided yet."""
        return len(self._questions)

    @property
    def wants_more(self) -> bool:
        """Whether fewer values wait than a group and two rounds of calls: read on, if you may."""
        return len(self._questions) < 2 * self._slots * self.batch_size + self.group

    def due(self, record: int) -> bool:
        """Whether a `step` would do something now that records up to `record` were read."""
        return bool(self._ready) or not self._done.empty() or self._group_due(record)

    def _group_size(self) -> int:
        """The size of the next group: `group`; automatically, one batch, then twice as many."""
        if not self.dispatcher.auto_concurrency:
            return self.group
        return min(self.group, self.batch_size << min(self._groups, 16))

    def _group_due(self, record: int) -> bool:
        waiting = self._queue
        if len(waiting) >= self._group_size():
            return True
        oldest = next(iter(waiting.values()), None)
        return oldest is not None and record - oldest[1] + 1 >= self.span

    def known(self, key: Hashable) -> FieldResult | None:
        """The result of `key` if this run already decided it."""
        result = self._memo.get(key)
        if result is not None:
            self._memo.move_to_end(key)
        return result

    def ask(self, key: Hashable, question: Question, record: int = 0) -> FieldResult | None:
        """The result of `question` (known by `key`) now, or `None`: it is on its way.

        `record` numbers the record asking, in reading order. A question on its way is
        decided by a later `step`, which tells `on_decided`.
        """
        result = self.known(key)
        if result is not None or key in self._questions:
            return result
        result = self._from_cache(question)
        if result is not None:
            self._cache_hits += 1
        elif self.stopped_early is not None:
            self._not_sent += 1
            result = fallback(question, FLAG_NOT_SENT, "not_sent")
        else:
            self._questions[key] = question
            self._queue[key] = (field_key(question.name), record)
            return None
        self._remember(key, result)
        return result

    def _from_cache(self, question: Question) -> FieldResult | None:
        """The cached outcome of `question`: an accepted answer, or a remembered refusal.

        Both keys go in one look-up (one request for a remote cache).
        """
        version = self.dispatcher.cache_version
        accepted = cache_key(question.name, question.raw, version)
        refused = rejection_key(question.name, question.raw, version)
        found = get_many(self.dispatcher.cache, [accepted, refused])
        if accepted in found:
            return FieldResult(found[accepted], source="cache", confident=True)
        if refused in found:
            return fallback(question, FLAG_GUARD_REJECTED, f"guard:{found[refused]}")
        return None

    def _remember(self, key: Hashable, result: FieldResult) -> None:
        memo = self._memo
        memo[key] = result
        if len(memo) > _MEMO_LIMIT:
            memo.popitem(last=False)

    def step(
        self,
        on_decided: OnDecided,
        *,
        record: int = 0,
        flush: bool = False,
        wait: bool = False,
    ) -> None:
        """Send what may go, settle the calls that are done, and tell `on_decided`.

        Args:
            on_decided: Called with the questions decided, a batch at a time.
            record: The number of the last record read.
            flush: The input is done: send the last values, even in a partial batch.
            wait: Block until a call is done (or the deadline passes) if one is in flight.

        Raises:
            ModelFailedError: The model cannot be used; what was decided before stays so.
        """
        self._make_batches(record, flush)
        self._start()
        if wait and not self._in_flight and self._queue and self.stopped_early is None:
            # Nothing in flight to wait for: never wait on ourselves (a safety net; the
            # run's window and `span` keep it from happening).
            logger.debug("flushing %d values early: nothing else in flight", len(self._queue))
            self._make_batches(record, flush=True)
            self._start()
        for future in self._finished(wait, on_decided):
            self._finish(future, on_decided)
            self._start()
        if self.stopped_early is not None:
            self._give_up(on_decided)

    def stop(self, reason: str) -> None:
        """Schedule no call from now on: what the cache lacks falls back to the rules, flagged.

        `reason` becomes `stopped_early`, e.g. ``"cache_only"`` for a run that may use only
        the answers a batch job left in the cache.
        """
        self.stopped_early = self.stopped_early or reason

    def check_usable(self) -> None:
        """Raise `ModelFailedError` if calls were made and every one failed after its retries."""
        if self._failed and not self._answered:
            raise self._unusable()

    def close(self) -> None:
        """Stop the worker threads, not waiting for calls in flight; forget what is undecided."""
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=not (self._in_flight or self._abandoned), cancel_futures=True)
        self._in_flight.clear()
        self._questions.clear()
        self._queue.clear()
        self._ready.clear()
        self._reserved = Usage()

    def drain(self) -> RunCounts:
        """What the pass did since the last `drain`."""
        dispatcher = self.dispatcher
        counts = replace(
            self._counts
            + RunCounts(
                cache_hits=self._cache_hits,
                values_not_sent=self._not_sent,
                values_sent_to_model=self._sent,
            ),
            stopped_early=self.stopped_early,
            answer_mode=dispatcher.answer_mode,
            answer_mode_switched=self._counts.answer_mode_switched
            or dispatcher.answer_mode_switched,
        )
        self._counts = RunCounts()
        self._cache_hits = self._not_sent = self._sent = 0
        return counts

    # -- making and sending batches ----------------------------------------------------------

    def _make_batches(self, record: int, flush: bool) -> None:
        """Cut the groups due (or, with `flush`, everything waiting) into ready batches."""
        waiting, size = self._queue, self.batch_size
        while waiting and (flush or self._group_due(record)):
            group = list(itertools.islice(waiting.items(), self._group_size()))
            self._groups += 1
            for key, _value in group:
                del waiting[key]
            # Values of one field together: a batch then carries fewer fields' instructions.
            keys = [key for key, _value in sorted(group, key=lambda item: item[1][0])]
            self._ready.extend(keys[i : i + size] for i in range(0, len(keys), size))

    def _start(self) -> None:
        """Send ready batches while call slots are free, the deadline and the budget allow."""
        self._slots = slots = self.dispatcher.slots(self._busy_s())
        while self._ready and len(self._in_flight) < slots:
            if not self._may_start():
                return
            planned = self._next_request()
            if planned is None:
                return
            request, cost = planned
            self._submit(self._ready.popleft(), request, cost)

    def _busy_s(self) -> float:
        """How long the oldest call now at the backend has been there."""
        started = [call.ticket.started for call in self._in_flight.values()]
        times = [t for t in started if t is not None]
        return time.monotonic() - min(times) if times else 0.0

    def _submit(self, batch: _Batch, request: ModelRequest, cost: Usage) -> None:
        dispatcher = self.dispatcher
        if self._pool is None:
            self._pool = ThreadPoolExecutor(
                max_workers=dispatcher.concurrency, thread_name_prefix="llm-normalize"
            )
        ticket = CallTicket()
        future = self._pool.submit(dispatcher.call, request, len(batch), self.deadline, ticket)
        self._in_flight[future] = _Call(batch, cost, ticket)
        self._reserved = self._reserved + cost
        self._sent += len(batch)
        future.add_done_callback(self._done.put)

    def _over_budget(self, cost: Usage) -> bool:
        """Whether `cost` (one call's worst case) would break the budget on top of the rest."""
        dispatcher = self.dispatcher
        budget = dispatcher.budget
        if budget is None:
            return False
        worst = self.spent + self._reserved + cost
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

    def _next_request(self) -> tuple[ModelRequest, Usage] | None:
        """The request of the next ready batch within budget; `None`: wait, or stop."""
        builder = self.dispatcher.prompt_builder
        ready, questions = self._ready, self._questions
        while True:
            batch = ready[0]
            items = [
                Item(str(n), questions[key].name, questions[key].raw) for n, key in enumerate(batch)
            ]
            request = builder.build(items)
            cost = Usage(builder.estimate_input_tokens(request), request.max_tokens)
            if not self._over_budget(cost):
                return request, cost
            if self._in_flight:
                return None  # what the calls in flight do not spend comes back to the budget
            if len(batch) == 1:
                self.stopped_early = "budget"
                return None
            # What is left of the budget may still pay for a smaller batch.
            half = len(batch) // 2
            ready[0] = batch[half:]
            ready.appendleft(batch[:half])

    # -- settling calls ----------------------------------------------------------------------

    def _finished(self, wait: bool, on_decided: OnDecided) -> list[Future[CallOutcome]]:
        """The calls done now; with `wait`, after blocking for one (or the deadline)."""
        done: list[Future[CallOutcome]] = []
        if wait and self._in_flight:
            timeout, at_deadline = self._wait_s()
            try:
                done.append(self._done.get(timeout=timeout))
            except queue.Empty:
                if at_deadline:
                    self._abandon(on_decided)
                return []
        while not self._done.empty():
            done.append(self._done.get_nowait())
        return [future for future in done if future in self._in_flight]

    def _wait_s(self) -> tuple[float | None, bool]:
        """How long to wait for a call, and whether that is until the deadline (plus a grace).

        Forever without a deadline, unless more calls may start while it waits (automatic
        sizing with batches waiting): then a short poll.
        """
        left = time_left(self.deadline)
        wait = None if left is None else max(left, 0.0) + _GRACE_S
        more = self.dispatcher.auto_concurrency and self._ready
        if more and (wait is None or wait > _POLL_S):
            return _POLL_S, False
        return wait, wait is not None

    def _finish(self, future: Future[CallOutcome], on_decided: OnDecided) -> None:
        call = self._in_flight.pop(future)
        reserved, cost = self._reserved, call.cost
        self._reserved = Usage(
            reserved.input_tokens - cost.input_tokens, reserved.output_tokens - cost.output_tokens
        )
        outcome = future.result()  # a bug in a custom backend is raised here
        self.spent = self.spent + outcome.counts.usage
        self._counts += outcome.counts
        results: dict[Hashable, FieldResult] = {}
        self._counts += self._settle(call.batch, outcome, results)
        self._decide(results, on_decided)

    def _decide(self, results: dict[Hashable, FieldResult], on_decided: OnDecided) -> None:
        if not results:
            return
        for key, result in results.items():
            del self._questions[key]
            self._remember(key, result)
        on_decided(list(results.items()))

    def _give_up(self, on_decided: OnDecided) -> None:
        """The pass stopped: what was never sent falls back to the rules, flagged."""
        unsent = [key for batch in self._ready for key in batch] + list(self._queue)
        self._ready.clear()
        self._queue.clear()
        if unsent:
            self._not_sent += len(unsent)
            questions = self._questions
            results = {key: fallback(questions[key], FLAG_NOT_SENT, "not_sent") for key in unsent}
            self._decide(results, on_decided)

    def _abandon(self, on_decided: OnDecided) -> None:
        """The deadline passed with calls still out: leave their values undecided."""
        self.stopped_early = self.stopped_early or "deadline"
        self._abandoned = True
        calls = list(self._in_flight.values())
        self._in_flight.clear()
        self._reserved = Usage()
        questions = self._questions
        results = {
            key: fallback(questions[key], FLAG_MODEL_FAILED, "deadline")
            for call in calls
            for key in call.batch
        }
        logger.warning(
            "the deadline passed with %d model calls still running; %d values left undecided",
            len(calls),
            len(results),
        )
        self._counts += RunCounts(errors_by_kind={"AbandonedAtDeadline": len(calls)})
        self._decide(results, on_decided)

    def _settle(
        self, batch: _Batch, outcome: CallOutcome, results: dict[Hashable, FieldResult]
    ) -> RunCounts:
        questions = self._questions
        if outcome.truncated:
            if len(batch) > 1:
                # Never repair a cut-off answer: send each half again, smaller.
                half = len(batch) // 2
                self._ready.appendleft(batch[half:])
                self._ready.appendleft(batch[:half])
                return RunCounts(truncated_batches=1)
            results[batch[0]] = fallback(questions[batch[0]], FLAG_MODEL_FAILED, "truncated")
            return RunCounts(truncated_batches=1, item_errors={"truncated": 1})
        if outcome.failure is not None:
            reason = self._failed_call(outcome.failure)
            for key in batch:
                results[key] = fallback(questions[key], FLAG_MODEL_FAILED, reason)
            return RunCounts()
        self._answered += 1
        self._failed_in_a_row = 0
        assert outcome.parsed is not None  # neither truncated nor failed
        return self._accept(batch, outcome.parsed, results, outcome.answer_mode)

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
        calls = "1 call" if self._failed == 1 else f"{self._failed} calls"
        return ModelFailedError(
            f"every model call failed after its retries ({calls}, the last "
            f"with {type(error).__name__}): nothing was saved from them; check that the model is "
            "reachable and not throttled (lower the rate or the concurrency), then run again",
            error,
        )

    def _accept(
        self,
        batch: _Batch,
        parsed: ParsedAnswer,
        results: dict[Hashable, FieldResult],
        answer_mode: str | None = None,
    ) -> RunCounts:
        item_errors: dict[str, int] = {}
        if parsed.unknown_ids:
            item_errors["unknown_id"] = parsed.unknown_ids
        rejections: dict[str, int] = {}
        questions = self._questions
        for n, key in enumerate(batch):
            answer = parsed.values.get(str(n))
            if answer is None:
                reason = parsed.errors.get(str(n), "missing")
                item_errors[reason] = item_errors.get(reason, 0) + 1
                results[key] = fallback(questions[key], FLAG_MODEL_FAILED, reason)
                continue
            results[key], refused = self.dispatcher.judge(
                questions[key], answer, answer_mode=answer_mode
            )
            if refused is not None:
                rejections[refused] = rejections.get(refused, 0) + 1
        return RunCounts(item_errors=item_errors, guard_rejections=rejections)
