"""Bedrock batch inference through boto3, against moto's S3 and a local control-plane server.

The online path for comparison runs through `BedrockBackend` and the local Bedrock Runtime
server, with the same responder, so both paths see the same answers.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import pytest

from batch_support import HAIKU, ROLE, RecordingCache, liar, make_batch, make_normalizer
from bedrock_batch_server import BedrockBatchServer, JobPlan
from bedrock_server import BedrockWireServer, ScriptedError
from guard_lies import profile_for, sample_leads
from llm_normalize import Normalizer
from llm_normalize._names import field_key
from llm_normalize.backends import BedrockBackend
from llm_normalize.batch_inference import (
    BatchJob,
    BatchOutcome,
    BedrockBatchInference,
)
from llm_normalize.dispatch import ModelDispatcher, Question
from llm_normalize.exceptions import (
    BackendAccessDeniedError,
    BackendError,
    BackendThrottledError,
    ConfigurationError,
)
from llm_normalize.pricing import estimate_cost
from llm_normalize.records import (
    FLAG_GUARD_REJECTED,
    FLAG_MODEL_FAILED,
    FLAG_NOT_SENT,
    FieldResult,
)

if TYPE_CHECKING:
    from boto3.session import Session
    from mypy_boto3_bedrock import BedrockClient
    from mypy_boto3_s3 import S3Client

BATCH_SIZE = 2
VALUES = 250  # 125 records at BATCH_SIZE: above the default minimum of 100

Key = tuple[str, str]


def dispatcher_of(normalizer: Normalizer) -> ModelDispatcher:
    assert normalizer.dispatcher is not None
    return normalizer.dispatcher


def questions_of(normalizer: Normalizer, count: int = VALUES) -> dict[Key, Question]:
    """The distinct values the model must decide, as a run builds them (`run._rules_pass`)."""
    questions: dict[Key, Question] = {}
    for lead in sample_leads():
        for name in normalizer.config.fields_to_normalize:
            rules, text = normalizer._rules(name, lead.get(name))
            spec = normalizer._spec(name)
            if text is None or not normalizer._wants_model(spec, rules):
                continue
            questions.setdefault((field_key(name), text), Question(name, spec, text, rules))
            if len(questions) == count:
                return questions
    raise AssertionError("not enough values in the sample")


def online(
    dispatcher: ModelDispatcher, questions: Mapping[Key, Question]
) -> dict[Key, FieldResult]:
    """Decide `questions` with the online model pass."""
    results: dict[Key, FieldResult] = {}

    def decided(pairs: Any) -> None:
        results.update(pairs)

    model = dispatcher.start(batch_size=BATCH_SIZE)
    try:
        for number, (key, question) in enumerate(questions.items()):
            answer = model.ask(key, question, number)
            if answer is not None:
                results[key] = answer
        while model.undecided:
            model.step(decided, flush=True, wait=True)
    finally:
        model.close()
    return results


def run_batch(
    batch: BedrockBatchInference,
    questions: Mapping[Key, Question],
    dispatcher: ModelDispatcher,
) -> tuple[BatchJob, BatchOutcome[Key]]:
    job = batch.submit(questions, dispatcher, batch_size=BATCH_SIZE)
    status = batch.wait(job, poll_s=1, sleep=lambda _s: None)
    assert status.done
    return job, batch.collect(job, questions, dispatcher)


def keys(s3: S3Client, bucket: str) -> list[str]:
    listed = s3.list_objects_v2(Bucket=bucket)
    return sorted(o["Key"] for o in listed.get("Contents", []))


def assert_undecided(
    outcome: BatchOutcome[Key],
    questions: Mapping[Key, Question],
    cache: RecordingCache,
    dispatcher: ModelDispatcher,
    expected: set[Key],
    reason: str,
) -> None:
    """`expected` are model_failed fallbacks to the rules, undecided, and not cached."""
    assert expected
    assert set(outcome.undecided) == expected
    version = dispatcher.cache_version
    cached = {(field_key(k[0]), k[1]) for k in cache.data if k[2] == version}
    for key in expected:
        result, question = outcome.results[key], questions[key]
        assert FLAG_MODEL_FAILED in result.flags
        assert (result.value, result.source, result.confident) == (
            question.rules.value,
            "rules",
            False,
        )
        assert result.reason == reason
        assert (field_key(question.name), question.raw) not in cached
    decided = set(questions) - expected
    assert all(FLAG_MODEL_FAILED not in outcome.results[k].flags for k in decided)


def record_keys(s3: S3Client, job: BatchJob, numbers: set[int]) -> set[Key]:
    """The question keys carried by the records with these numbers (input order)."""
    bucket = job.folder_uri[len("s3://") :].split("/", 1)[0]
    data = json.loads(
        s3.get_object(Bucket=bucket, Key=job.record_map_uri.split("/", 3)[3])["Body"].read()
    )
    chosen: set[Key] = set()
    for record_id, entry in data["records"].items():
        if int(record_id[1:]) in numbers:
            chosen.update((field_key(name), raw) for name, raw in entry["items"])
    return chosen


class _Raw:
    def __init__(self, body: bytes) -> None:
        self.body = body

    def stream(self, **_kwargs: Any) -> Iterator[bytes]:
        yield self.body


def _access_denied(request: Any, **_kwargs: Any) -> Any:
    """A botocore before-send hook: S3 answers 403 AccessDenied without the request going out."""
    from botocore.awsrequest import AWSResponse

    body = b"<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>"
    from botocore.awsrequest import HTTPHeaders

    headers = HTTPHeaders()
    headers["Content-Type"] = "application/xml"
    return AWSResponse(request.url, 403, headers, _Raw(body))


# -- equality with the online path -------------------------------------------------------


class TestEqualityWithOnline:
    @pytest.mark.parametrize("answer_mode", ["tool", "json"])
    def test_same_results_and_cache_as_online(
        self,
        session: Session,
        runtime: BedrockWireServer,
        control: BedrockBatchServer,
        bucket: str,
        s3: S3Client,
        bedrock: BedrockClient,
        answer_mode: str,
    ) -> None:
        """The same questions and answers give the same results and cache entries, refusals included."""
        runtime.responder = control.responder = liar
        online_cache, batch_cache = RecordingCache(), RecordingCache()
        online_normalizer = make_normalizer(session, runtime, online_cache, answer_mode=answer_mode)
        batch_normalizer = make_normalizer(session, runtime, batch_cache, answer_mode=answer_mode)
        questions = questions_of(online_normalizer)

        expected = online(dispatcher_of(online_normalizer), questions)
        runtime_calls = len(runtime.requests)
        _job, outcome = run_batch(
            make_batch(bucket, s3, bedrock), questions, dispatcher_of(batch_normalizer)
        )

        assert outcome.results == expected
        assert batch_cache.data == online_cache.data
        refused = [k for k, r in expected.items() if FLAG_GUARD_REJECTED in r.flags]
        assert refused, "the liar must get some answers refused"
        assert any(r.source == "llm" for r in expected.values())
        assert outcome.undecided == frozenset()
        assert sum(outcome.counts.guard_rejections.values()) == len(refused)
        assert len(runtime.requests) == runtime_calls  # the batch path made no online call

    def test_records_are_the_online_requests(
        self,
        session: Session,
        runtime: BedrockWireServer,
        bucket: str,
        s3: S3Client,
        bedrock: BedrockClient,
    ) -> None:
        """Each record's modelInput is a request the online pass sends for the same questions."""
        normalizer = make_normalizer(session, runtime, RecordingCache())
        questions = questions_of(normalizer)
        online(dispatcher_of(normalizer), questions)
        sent = sorted(json.dumps(r.body, sort_keys=True) for r in runtime.requests)

        job = make_batch(bucket, s3, bedrock).submit(
            questions, dispatcher_of(normalizer), batch_size=BATCH_SIZE
        )
        (part,) = job.parts
        key = f"{part.input_uri.split('/', 3)[3]}records.jsonl"
        lines = s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode().splitlines()
        written = sorted(
            json.dumps(json.loads(line)["modelInput"], sort_keys=True) for line in lines
        )

        assert written == sent
        ids = [json.loads(line)["recordId"] for line in lines]
        assert len(set(ids)) == len(ids)
        assert all(len(i) >= 11 and i.isalnum() for i in ids)


# -- failures: every undecided value stays undecided -------------------------------------


@pytest.fixture
def setup(
    session: Session, runtime: BedrockWireServer, bucket: str, s3: S3Client, bedrock: BedrockClient
) -> tuple[BedrockBatchInference, dict[Key, Question], ModelDispatcher, RecordingCache]:
    cache = RecordingCache()
    normalizer = make_normalizer(session, runtime, cache)
    return (
        make_batch(bucket, s3, bedrock),
        questions_of(normalizer),
        dispatcher_of(normalizer),
        cache,
    )


Setup = tuple[BedrockBatchInference, dict[Key, Question], ModelDispatcher, RecordingCache]


class TestFailedRecords:
    @pytest.mark.parametrize(
        ("plan", "reason"),
        [
            (JobPlan(error_records={0, 5}, min_records=100), "batch_error:400"),
            (JobPlan(missing_records={1, 7}, min_records=100), "batch_missing"),
            (JobPlan(truncated_records={4}, min_records=100), "truncated"),
            (JobPlan(unreadable_records={6}, min_records=100), "unreadable"),
        ],
        ids=["error_records", "missing", "truncated", "unreadable"],
    )
    def test_record_failures_leave_their_values_undecided(
        self, setup: Setup, control: BedrockBatchServer, s3: S3Client, plan: JobPlan, reason: str
    ) -> None:
        """Values of a failed, missing, cut-off or unreadable record are model_failed, not cached."""
        batch, questions, dispatcher, cache = setup
        control.plan = plan
        job, outcome = run_batch(batch, questions, dispatcher)
        numbers = {
            *plan.error_records,
            *plan.missing_records,
            *plan.truncated_records,
            *plan.unreadable_records,
        }
        assert_undecided(
            outcome, questions, cache, dispatcher, record_keys(s3, job, numbers), reason
        )
        assert outcome.records_answered == job.records - len(numbers)

    def test_partially_completed_counts(self, setup: Setup, control: BedrockBatchServer) -> None:
        """A partly completed job reports its error records by kind and its status."""
        batch, questions, dispatcher, _cache = setup
        control.plan = JobPlan(error_records={2, 3, 9}, min_records=100)
        job, outcome = run_batch(batch, questions, dispatcher)
        assert set(outcome.statuses.values()) == {"PartiallyCompleted"}
        assert outcome.counts.errors_by_kind == {"BatchRecordError": 3}
        assert outcome.manifest["errorRecordCount"] == 3
        assert outcome.counts.model_calls == job.records
        assert outcome.counts.usage.input_tokens > 0
        assert outcome.manifest["inputTokenCount"] == outcome.counts.usage.input_tokens
        on_demand = estimate_cost(HAIKU, outcome.counts.usage)
        assert on_demand is not None
        assert outcome.report().estimated_cost_usd == pytest.approx(on_demand / 2)

    @pytest.mark.parametrize("status", ["Failed", "Stopped", "Expired"])
    def test_a_failed_job_decides_nothing(
        self, setup: Setup, control: BedrockBatchServer, status: str
    ) -> None:
        """Failed, stopped or expired: every value is undecided, even with outputs written."""
        batch, questions, dispatcher, cache = setup
        control.plan = JobPlan(final_status=status, output_on_failure=True, min_records=100)
        _job, outcome = run_batch(batch, questions, dispatcher)
        assert_undecided(
            outcome, questions, cache, dispatcher, set(questions), f"batch_{status.lower()}"
        )
        assert cache.data == {}
        assert outcome.counts.errors_by_kind == {f"BatchJob{status}": 1}

    def test_stop_then_collect(self, setup: Setup, control: BedrockBatchServer) -> None:
        """A run stopped through `stop` leaves its values undecided."""
        batch, questions, dispatcher, cache = setup
        job = batch.submit(questions, dispatcher, batch_size=BATCH_SIZE)
        batch.stop(job)
        assert batch.wait(job, poll_s=1, sleep=lambda _s: None).statuses == {
            job.job_arns[0]: "Stopped"
        }
        outcome = batch.collect(job, questions, dispatcher)
        assert_undecided(outcome, questions, cache, dispatcher, set(questions), "batch_stopped")

    def test_questions_not_in_the_run_are_not_sent(
        self, setup: Setup, session: Session, runtime: BedrockWireServer
    ) -> None:
        """A question the run did not carry comes back not_sent, undecided."""
        batch, questions, dispatcher, _cache = setup
        job, _outcome = run_batch(batch, questions, dispatcher)
        normalizer = make_normalizer(session, runtime, RecordingCache())
        more = questions_of(normalizer, VALUES + 5)
        outcome = batch.collect(job, more, dispatcher)
        extra = set(more) - set(questions)
        assert set(outcome.undecided) == extra
        assert all(FLAG_NOT_SENT in outcome.results[k].flags for k in extra)


class TestSubmitFailures:
    def test_a_missing_bucket(
        self, setup: Setup, control: BedrockBatchServer, s3: S3Client, bedrock: BedrockClient
    ) -> None:
        """No bucket: a clear access error, and no job created."""
        _batch, questions, dispatcher, cache = setup
        batch = make_batch(f"missing-{uuid.uuid4().hex[:8]}", s3, bedrock)
        with pytest.raises(
            BackendAccessDeniedError, match=r"S3 \w+ on s3://missing-.*NoSuchBucket"
        ):
            batch.submit(questions, dispatcher, batch_size=BATCH_SIZE)
        assert control.creates == []
        assert cache.data == {}

    def test_s3_refusing_the_upload(
        self,
        setup: Setup,
        control: BedrockBatchServer,
        session: Session,
        moto_endpoint: str,
        bedrock: BedrockClient,
        bucket: str,
    ) -> None:
        """PutObject denied: BackendAccessDeniedError naming the object, and no job created."""
        from botocore.config import Config

        _batch, questions, dispatcher, cache = setup
        config = Config(s3={"addressing_style": "path"}, retries={"total_max_attempts": 1})
        denied = session.client("s3", endpoint_url=moto_endpoint, config=config)
        denied.meta.events.register("before-send.s3.PutObject", _access_denied)
        batch = make_batch(bucket, denied, bedrock)
        with pytest.raises(
            BackendAccessDeniedError, match=r"S3 PutObject on s3://.*AccessDenied \(HTTP 403\)"
        ):
            batch.submit(questions, dispatcher, batch_size=BATCH_SIZE)
        assert control.creates == []
        assert cache.data == {}

    @pytest.mark.parametrize(
        ("error", "raised", "hint"),
        [
            (ScriptedError(429, "ThrottlingException"), BackendThrottledError, "no second job"),
            (ScriptedError(400, "ServiceQuotaExceededException"), BackendError, "quota"),
            (ScriptedError(403, "AccessDeniedException"), BackendAccessDeniedError, "iam:PassRole"),
        ],
        ids=["throttled", "quota", "denied"],
    )
    def test_create_refused(
        self,
        setup: Setup,
        control: BedrockBatchServer,
        error: ScriptedError,
        raised: type[BackendError],
        hint: str,
    ) -> None:
        """CreateModelInvocationJob refused: a clear error; a later resume creates exactly one job."""
        batch, questions, dispatcher, cache = setup
        control.fail_next("create", error)
        with pytest.raises(raised, match=hint) as caught:
            batch.submit(questions, dispatcher, batch_size=BATCH_SIZE)
        assert caught.value.code == error.error_type
        assert control.jobs == {}
        assert cache.data == {}
        job = batch.submit(questions, dispatcher, batch_size=BATCH_SIZE)  # submitted again
        assert len(control.jobs) == 1
        assert job.job_arns == tuple(control.jobs)

    def test_resume_after_the_process_died(
        self,
        setup: Setup,
        control: BedrockBatchServer,
        s3: S3Client,
        bedrock: BedrockClient,
        bucket: str,
    ) -> None:
        """A new process finds the run by name or ARN, and collects it."""
        batch, questions, dispatcher, _cache = setup
        job = batch.submit(questions, dispatcher, batch_size=BATCH_SIZE)
        del batch  # the process dies

        fresh = make_batch(bucket, s3, bedrock)
        assert fresh.resume(job.name) == job
        assert fresh.resume(job.job_arns[0]) == job
        control.finish_all()
        # The questions rebuilt from what the run carries, as a later process would.
        carried = fresh.values(fresh.resume(job.name))
        assert sorted((field_key(name), raw) for name, raw in carried) == sorted(questions)
        rebuilt = {(field_key(n), r): questions[(field_key(n), r)] for n, r in carried}
        outcome = fresh.collect(fresh.resume(job.name), rebuilt, dispatcher)
        assert outcome.undecided == frozenset()
        assert len(outcome.results) == len(questions)
        assert len(control.creates) == 1

    def test_resume_creates_a_job_the_submit_did_not(
        self,
        setup: Setup,
        control: BedrockBatchServer,
        s3: S3Client,
        bedrock: BedrockClient,
        bucket: str,
    ) -> None:
        """The input was written, then the process died before the job existed: resume creates it."""
        batch, questions, dispatcher, _cache = setup
        control.fail_next("create", 500)
        with pytest.raises(BackendError):
            batch.submit(questions, dispatcher, batch_size=BATCH_SIZE)
        name = next(k for k in keys(s3, bucket) if k.endswith("job.json")).split("/")[1]
        job = make_batch(bucket, s3, bedrock).resume(name)
        assert len(job.job_arns) == 1
        assert len(control.jobs) == 1

    def test_a_retried_submit_makes_no_second_job(
        self, setup: Setup, control: BedrockBatchServer, s3: S3Client, bucket: str
    ) -> None:
        """Submitting again, even after a crash hid the ARN, returns the same job."""
        batch, questions, dispatcher, _cache = setup
        job = batch.submit(questions, dispatcher, batch_size=BATCH_SIZE)
        assert batch.submit(questions, dispatcher, batch_size=BATCH_SIZE) == job
        # A crash between CreateModelInvocationJob and recording its ARN:
        pending = replace(job, parts=tuple(replace(p, job_arn="") for p in job.parts))
        key = job.job_uri.split("/", 3)[3]
        s3.put_object(Bucket=bucket, Key=key, Body=pending.to_json().encode())
        again = batch.submit(questions, dispatcher, batch_size=BATCH_SIZE)
        assert again.job_arns == job.job_arns
        assert len(control.creates) == 2
        assert len(control.jobs) == 1
        assert control.creates[0]["clientRequestToken"] == control.creates[1]["clientRequestToken"]

    def test_the_same_values_after_their_run_ended_make_a_new_run(
        self, setup: Setup, control: BedrockBatchServer
    ) -> None:
        """Once a run ended (failed, say), submitting its values again makes a new one."""
        batch, questions, dispatcher, _cache = setup
        control.plan = JobPlan(final_status="Failed", min_records=100)
        first, _outcome = run_batch(batch, questions, dispatcher)
        second = batch.submit(questions, dispatcher, batch_size=BATCH_SIZE)
        assert second.name == f"{first.name}-2"
        assert second.job_arns != first.job_arns
        assert len(control.jobs) == 2


# -- quotas --------------------------------------------------------------------------------


class TestQuotas:
    def test_too_few_records_are_refused(
        self, setup: Setup, control: BedrockBatchServer, s3: S3Client, bucket: str
    ) -> None:
        """Fewer records than the minimum: refused with the advice to call on demand; nothing written."""
        batch, questions, dispatcher, _cache = setup
        few = dict(list(questions.items())[:198])  # 99 records
        assert not batch.enough(few, batch_size=BATCH_SIZE)
        assert batch.enough(questions, batch_size=BATCH_SIZE)
        with pytest.raises(
            ConfigurationError, match=r"99 batch records.*fewer than the 100.*on-demand"
        ):
            batch.submit(few, dispatcher, batch_size=BATCH_SIZE)
        assert keys(s3, bucket) == []
        assert control.creates == []

    def test_records_for(self) -> None:
        """Records are values over batch size, rounded up."""
        assert BedrockBatchInference.records_for(201, batch_size=2) == 101
        assert BedrockBatchInference.records_for(200, batch_size=10) == 20
        with pytest.raises(ConfigurationError):
            BedrockBatchInference.records_for(10, batch_size=0)

    def test_past_the_maximum_the_run_is_split(
        self,
        setup: Setup,
        control: BedrockBatchServer,
        s3: S3Client,
        bucket: str,
        bedrock: BedrockClient,
        session: Session,
        runtime: BedrockWireServer,
    ) -> None:
        """125 records at 60 a job and 20 a file: 3 jobs of 41-42 records in 3 files each."""
        _batch, questions, dispatcher, _cache = setup
        control.plan = JobPlan(min_records=25)
        batch = make_batch(
            bucket, s3, bedrock, min_records=25, max_records_per_job=60, max_records_per_file=20
        )
        job, outcome = run_batch(batch, questions, dispatcher)
        assert [p.records for p in job.parts] == [42, 42, 41]
        assert all(len(p.input_files) == 3 for p in job.parts)
        assert len(set(job.job_arns)) == 3
        assert len(control.jobs) == 3
        for part in job.parts:
            lines = [
                s3.get_object(Bucket=bucket, Key=f"{part.input_uri.split('/', 3)[3]}{name}")["Body"]
                .read()
                .count(b"\n")
                for name in part.input_files
            ]
            assert sum(lines) == part.records
            assert max(lines) <= 20
        expected = online(
            dispatcher_of(make_normalizer(session, runtime, RecordingCache())), questions
        )
        assert outcome.results == expected
        assert outcome.undecided == frozenset()

    def test_a_file_byte_limit_splits_files(
        self, setup: Setup, s3: S3Client, bucket: str, bedrock: BedrockClient
    ) -> None:
        """Files stay under max_file_bytes."""
        _batch, questions, dispatcher, _cache = setup
        batch = make_batch(bucket, s3, bedrock, max_file_bytes=50_000)
        job = batch.submit(questions, dispatcher, batch_size=BATCH_SIZE)
        (part,) = job.parts
        sizes = [
            s3.head_object(Bucket=bucket, Key=f"{part.input_uri.split('/', 3)[3]}{n}")[
                "ContentLength"
            ]
            for n in part.input_files
        ]
        assert len(sizes) > 1
        assert max(sizes) <= 50_000


# -- waiting, status, checks ---------------------------------------------------------------


class TestWait:
    def test_backoff_until_done(self, setup: Setup, control: BedrockBatchServer) -> None:
        """Polls double from poll_s up to max_poll_s until the job is terminal."""
        batch, questions, dispatcher, _cache = setup
        control.plan = JobPlan(
            statuses=("Submitted", "Validating", "Scheduled", "InProgress", "InProgress"),
            min_records=100,
        )
        job = batch.submit(questions, dispatcher, batch_size=BATCH_SIZE)
        sleeps: list[float] = []
        status = batch.wait(job, poll_s=10, max_poll_s=30, sleep=sleeps.append)
        assert status.done
        assert sleeps == [10, 20, 30, 30, 30]

    def test_stop_when_ends_the_wait(self, setup: Setup) -> None:
        """stop_when ends the wait with the job still running; collecting it then is refused."""
        batch, questions, dispatcher, _cache = setup
        job = batch.submit(questions, dispatcher, batch_size=BATCH_SIZE)
        status = batch.wait(job, stop_when=lambda: True, sleep=_never_sleep)
        assert not status.done
        with pytest.raises(ConfigurationError, match="has not finished"):
            batch.collect(job, questions, dispatcher)

    def test_a_throttled_status_call_is_polled_again(
        self, setup: Setup, control: BedrockBatchServer
    ) -> None:
        """A throttled GetModelInvocationJob does not end the wait; access denied does."""
        batch, questions, dispatcher, _cache = setup
        job = batch.submit(questions, dispatcher, batch_size=BATCH_SIZE)
        control.fail_next("get", 429, 429)
        assert batch.wait(job, poll_s=1, sleep=lambda _s: None).done
        control.fail_next("get", 403)
        with pytest.raises(BackendAccessDeniedError):
            batch.wait(job, poll_s=1, sleep=lambda _s: None)


def _never_sleep(seconds: float) -> None:
    pytest.fail(f"slept {seconds} s")


class TestChecks:
    def test_job_json_round_trip(self, setup: Setup) -> None:
        """A BatchJob survives JSON; garbage is refused."""
        batch, questions, dispatcher, _cache = setup
        job = batch.submit(questions, dispatcher, batch_size=BATCH_SIZE)
        assert BatchJob.from_json(job.to_json()) == job
        assert (job.model_id, job.answer_mode, job.batch_size) == (HAIKU, "tool", BATCH_SIZE)
        assert job.prompt_version == dispatcher.prompt_version
        with pytest.raises(ConfigurationError):
            BatchJob.from_json('{"format": 1}')

    def test_collect_with_another_prompt_is_refused(
        self,
        setup: Setup,
        control: BedrockBatchServer,
        session: Session,
        runtime: BedrockWireServer,
    ) -> None:
        """Answers are never cached under a prompt version they were not asked with."""
        batch, questions, dispatcher, _cache = setup
        job = batch.submit(questions, dispatcher, batch_size=BATCH_SIZE)
        control.finish_all()
        forced = profile_for("forced")
        edited = replace(forced["ciudad"], instructions="Escribe la ciudad de otra manera.")
        other = Normalizer(
            BedrockBackend(HAIKU, client=dispatcher.backend.client),  # type: ignore[attr-defined]
            cache=RecordingCache(),
            profile=forced.with_fields(edited),
        )
        with pytest.raises(ConfigurationError, match="prompt version"):
            batch.collect(job, questions, dispatcher_of(other))

    def test_converse_and_other_models_are_refused(
        self, setup: Setup, session: Session, runtime: BedrockWireServer
    ) -> None:
        """Only InvokeModel records with Anthropic bodies are written."""
        batch, questions, dispatcher, _cache = setup
        client = dispatcher.backend.client  # type: ignore[attr-defined]
        converse = dispatcher.with_backend(BedrockBackend(HAIKU, client=client, api="converse"))
        with pytest.raises(ConfigurationError, match="api='converse'"):
            batch.submit(questions, converse, batch_size=BATCH_SIZE)
        llama = dispatcher.with_backend(
            BedrockBackend("meta.llama3-8b-instruct-v1:0", client=client)
        )
        with pytest.raises(ConfigurationError, match="Claude model"):
            batch.submit(questions, llama, batch_size=BATCH_SIZE)

    def test_settings_are_checked(self, s3: S3Client, bedrock: BedrockClient) -> None:
        """Bad settings are refused at construction."""
        with pytest.raises(ConfigurationError, match="role"):
            BedrockBatchInference(bucket="b", role_arn="nope", bedrock_client=bedrock, s3_client=s3)
        with pytest.raises(ConfigurationError, match="timeout_hours"):
            BedrockBatchInference(
                bucket="b", role_arn=ROLE, timeout_hours=12, bedrock_client=bedrock, s3_client=s3
            )
        with pytest.raises(ConfigurationError, match="min_records"):
            BedrockBatchInference(
                bucket="b",
                role_arn=ROLE,
                min_records=10,
                max_records_per_job=5,
                bedrock_client=bedrock,
                s3_client=s3,
            )

    def test_no_field_value_in_logs_or_errors(
        self, setup: Setup, control: BedrockBatchServer, caplog: pytest.LogCaptureFixture
    ) -> None:
        """Logs and errors name runs, jobs and counts, never a raw value."""
        batch, questions, dispatcher, _cache = setup
        caplog.set_level(logging.DEBUG, logger="llm_normalize")
        control.plan = JobPlan(error_records={1}, truncated_records={2}, min_records=100)
        control.fail_next(
            "create",
            ScriptedError(
                400, "ValidationException", json.dumps([q.raw for q in questions.values()])
            ),
        )
        with pytest.raises(BackendError) as caught:
            batch.submit(questions, dispatcher, batch_size=BATCH_SIZE)
        run_batch(batch, questions, dispatcher)
        text = caplog.text + str(caught.value)
        raws = {q.raw for q in questions.values() if len(q.raw) > 3}
        assert not [raw for raw in raws if raw in text]
        assert "collected" in caplog.text


def test_importing_batch_inference_loads_no_boto3() -> None:
    """The module is light until a client is built."""
    from test_architecture import loaded_after

    assert loaded_after("import llm_normalize.batch_inference", ("boto3", "botocore")) == []
    assert loaded_after("import llm_normalize", ("llm_normalize.batch_inference",)) == []
