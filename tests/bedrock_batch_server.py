"""A local HTTP server speaking the Bedrock control plane of batch inference, for tests.

boto3's ``bedrock`` client talks to it for real (``endpoint_url=server.endpoint_url``), so
botocore's REST-JSON serialization and error parsing run. It serves the three calls of a
batch run (paths and shapes from botocore's service model):

- ``POST /model-invocation-job`` (CreateModelInvocationJob): idempotent on
  ``clientRequestToken``, as the service is (the same token gives the same job);
- ``GET /model-invocation-job/{jobIdentifier}`` (GetModelInvocationJob; the identifier, an
  ARN or a job id, arrives URL-encoded);
- ``POST /model-invocation-job/{jobIdentifier}/stop`` (StopModelInvocationJob).

Errors carry botocore's shape: the ``x-amzn-ErrorType`` header (ValidationException,
AccessDeniedException, ServiceQuotaExceededException, ThrottlingException, ...).

When a job reaches its final status (after the statuses of its `JobPlan`, one per
GetModelInvocationJob), the server reads its input JSONL from S3 (moto, through the boto3 S3
client it was given), answers every record with the responder (`bedrock_server.echo` by
default, reused with the wire helpers of ``bedrock_server``), and writes
``<output>/<job id>/<input file>.out`` and ``manifest.json.out`` as the service does. The
plan's knobs make records fail (``error`` objects), go missing, come back cut off at
``max_tokens`` or unreadable, and make the job fail, stop or expire.

Usage::

    with BedrockBatchServer(s3_client) as server:
        server.plan = JobPlan(error_records={3}, final_status="PartiallyCompleted")
        client = session.client("bedrock", endpoint_url=server.endpoint_url)
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from collections import deque
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from bedrock_server import (
    Responder,
    ScriptedError,
    _error_reply,
    _invoke_reply,
    _invoke_request,
    _Reply,
    _to_response,
    _truncated,
    echo,
)

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

__all__ = ["BATCH_ERROR_TYPES", "BedrockBatchServer", "JobPlan", "ServerJob"]

BATCH_ERROR_TYPES: Mapping[int, str] = {
    400: "ValidationException",
    403: "AccessDeniedException",
    404: "ResourceNotFoundException",
    409: "ConflictException",
    429: "ThrottlingException",
    500: "InternalServerException",
}
"""The error type the control plane sends for a scripted status."""

ACCOUNT = "123456789012"
REGION = "us-east-1"

_CREATE = re.compile(r"^/model-invocation-job$")
_JOB = re.compile(r"^/model-invocation-job/(?P<id>[^/]+)$")
_STOP = re.compile(r"^/model-invocation-job/(?P<id>[^/]+)/stop$")


@dataclass
class JobPlan:
    """How the server runs the next jobs it creates.

    Attributes:
        statuses: The statuses shown on successive GetModelInvocationJob calls before the
            final one (the last is repeated if there are more calls).
        final_status: The status the job ends in; `None`: ``PartiallyCompleted`` when some
            records get errors, else ``Completed``.
        error_records: Record numbers (in input order, from 0) answered with an ``error``.
        missing_records: Record numbers left out of the output.
        truncated_records: Record numbers answered cut off at ``max_tokens``.
        unreadable_records: Record numbers whose ``modelOutput`` is no Anthropic body.
        output_on_failure: Whether a Failed/Stopped/Expired job still writes its outputs.
        min_records: The service's minimum: fewer records fail the job at validation.
        responder: Answers each record's request (default: the server's).
    """

    statuses: tuple[str, ...] = ("Submitted", "Validating", "InProgress")
    final_status: str | None = None
    error_records: Collection[int] = ()
    missing_records: Collection[int] = ()
    truncated_records: Collection[int] = ()
    unreadable_records: Collection[int] = ()
    output_on_failure: bool = False
    min_records: int = 1
    responder: Responder | None = None


@dataclass
class ServerJob:
    """One job the server holds."""

    arn: str
    name: str
    request: Mapping[str, Any]
    plan: JobPlan
    submitted: datetime
    polls: int = 0
    status: str = "Submitted"
    message: str | None = None
    processed: bool = False
    counts: dict[str, int] = field(default_factory=dict)
    stop_requested: bool = False

    @property
    def job_id(self) -> str:
        """The last part of the ARN."""
        return self.arn.rsplit("/", 1)[-1]


class BedrockBatchServer:
    """A threaded local Bedrock control-plane endpoint; use it as a context manager.

    Args:
        s3: The boto3 S3 client the server reads inputs and writes outputs with.
        responder: Answers each record's request; default `bedrock_server.echo`.
    """

    def __init__(
        self, s3: S3Client, responder: Responder | None = None, *, host: str = "127.0.0.1"
    ) -> None:
        self.s3 = s3
        self.responder: Responder = responder or echo
        self.plan = JobPlan()
        self.jobs: dict[str, ServerJob] = {}
        self.creates: list[Mapping[str, Any]] = []
        self.gets = 0
        self._tokens: dict[str, str] = {}
        self._errors: dict[str, deque[ScriptedError]] = {"create": deque(), "get": deque()}
        self._lock = threading.RLock()
        self._httpd = _Server((host, 0), _Handler)
        self._httpd.owner = self
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------

    def __enter__(self) -> BedrockBatchServer:
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._httpd.shutdown()
        if self._thread is not None:
            self._thread.join()
        self._httpd.server_close()

    @property
    def endpoint_url(self) -> str:
        """The ``endpoint_url`` to give boto3."""
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    # -- scripting ---------------------------------------------------------------------

    def fail_next(self, operation: str, *errors: int | ScriptedError) -> None:
        """Queue errors for the next ``"create"`` or ``"get"`` calls (an int is a status)."""
        with self._lock:
            for error in errors:
                scripted = error if isinstance(error, ScriptedError) else ScriptedError(error)
                self._errors[operation].append(scripted)

    def finish_all(self) -> None:
        """Bring every job to its final status now (as if polled to the end)."""
        with self._lock:
            for job in self.jobs.values():
                self._advance(job, to_end=True)

    # -- handling ----------------------------------------------------------------------

    def _handle(self, method: str, path: str, raw: bytes) -> _Reply:
        path = path.split("?", 1)[0]
        with self._lock:
            if method == "POST" and _CREATE.match(path):
                return self._create(json.loads(raw or b"{}"))
            match = _STOP.match(path)
            if method == "POST" and match:
                return self._stop(unquote(match.group("id")))
            match = _JOB.match(path)
            if method == "GET" and match:
                return self._get(unquote(match.group("id")))
        return _error(ScriptedError(404, "UnknownOperationException", "no such route"))

    def _create(self, body: Mapping[str, Any]) -> _Reply:
        self.creates.append(body)
        if self._errors["create"]:
            return _error(self._errors["create"].popleft())
        missing = [
            name
            for name in ("jobName", "roleArn", "modelId", "inputDataConfig", "outputDataConfig")
            if name not in body
        ]
        if missing:
            return _error(ScriptedError(400, "ValidationException", f"missing {missing}"))
        token = body.get("clientRequestToken")
        if token and token in self._tokens:
            return _json({"jobArn": self._tokens[token]})
        if any(job.name == body["jobName"] for job in self.jobs.values()):
            return _error(ScriptedError(409, "ConflictException", "job name in use"))
        job_id = uuid.uuid4().hex[:12]
        arn = f"arn:aws:bedrock:{REGION}:{ACCOUNT}:model-invocation-job/{job_id}"
        plan = self.plan
        self.jobs[arn] = ServerJob(arn, str(body["jobName"]), body, plan, datetime.now(UTC))
        if token:
            self._tokens[token] = arn
        return _json({"jobArn": arn})

    def _find(self, identifier: str) -> ServerJob | None:
        for job in self.jobs.values():
            if identifier in (job.arn, job.job_id):
                return job
        return None

    def _get(self, identifier: str) -> _Reply:
        self.gets += 1
        if self._errors["get"]:
            return _error(self._errors["get"].popleft())
        job = self._find(identifier)
        if job is None:
            return _error(ScriptedError(404, "ResourceNotFoundException", "no such job"))
        self._advance(job)
        body = job.request
        answer: dict[str, Any] = {
            "jobArn": job.arn,
            "jobName": job.name,
            "modelId": body["modelId"],
            "roleArn": body["roleArn"],
            "status": job.status,
            "submitTime": job.submitted.isoformat(),
            "inputDataConfig": body["inputDataConfig"],
            "outputDataConfig": body["outputDataConfig"],
            "timeoutDurationInHours": body.get("timeoutDurationInHours", 24),
            **job.counts,
        }
        if job.message:
            answer["message"] = job.message
        return _json(answer)

    def _stop(self, identifier: str) -> _Reply:
        job = self._find(identifier)
        if job is None:
            return _error(ScriptedError(404, "ResourceNotFoundException", "no such job"))
        if job.status in ("Completed", "PartiallyCompleted", "Failed", "Stopped", "Expired"):
            return _error(ScriptedError(400, "ValidationException", "job already ended"))
        job.stop_requested = True
        job.status = "Stopping"
        return _json({})

    def _advance(self, job: ServerJob, *, to_end: bool = False) -> None:
        """One poll further along the plan; at its end, run the job and settle its status."""
        if job.processed:
            return
        if job.stop_requested:
            job.plan = JobPlan(final_status="Stopped", output_on_failure=job.plan.output_on_failure)
            to_end = True
        statuses = job.plan.statuses
        if not to_end and job.polls < len(statuses):
            job.status = statuses[job.polls]
            job.polls += 1
            return
        self._run(job)

    def _run(self, job: ServerJob) -> None:
        plan = job.plan
        records, outputs = self._read_input(job)
        final = plan.final_status
        if len(records) < plan.min_records:
            final = "Failed"
            job.message = f"fewer than {plan.min_records} records"
        if final is None:
            final = "PartiallyCompleted" if plan.error_records else "Completed"
        job.status = final
        job.processed = True
        failed = final in ("Failed", "Stopped", "Expired")
        if failed and not plan.output_on_failure:
            return
        self._answer(job, records, outputs)

    def _read_input(self, job: ServerJob) -> tuple[list[tuple[str, dict[str, Any]]], list[str]]:
        """Every input record (with the key of its file), and the files in order."""
        uri = job.request["inputDataConfig"]["s3InputDataConfig"]["s3Uri"]
        bucket, _, prefix = uri[len("s3://") :].partition("/")
        if prefix.endswith(".jsonl"):
            keys = [prefix]
        else:
            listed = self.s3.list_objects_v2(Bucket=bucket, Prefix=prefix)
            keys = sorted(
                o["Key"] for o in listed.get("Contents", []) if o["Key"].endswith(".jsonl")
            )
        records: list[tuple[str, dict[str, Any]]] = []
        for key in keys:
            text = self.s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode("utf-8")
            records.extend((key, json.loads(line)) for line in text.splitlines() if line.strip())
        return records, keys

    def _answer(
        self, job: ServerJob, records: list[tuple[str, dict[str, Any]]], keys: list[str]
    ) -> None:
        plan, body = job.plan, job.request
        uri = job.request["inputDataConfig"]["s3InputDataConfig"]["s3Uri"]
        in_prefix = uri[len("s3://") :].partition("/")[2]
        out_uri = body["outputDataConfig"]["s3OutputDataConfig"]["s3Uri"]
        out_bucket, _, out_prefix = out_uri[len("s3://") :].partition("/")
        out_prefix = out_prefix.rstrip("/") + "/" if out_prefix else ""
        lines: dict[str, list[str]] = {key: [] for key in keys}
        tally = {"input": 0, "output": 0, "errors": 0, "processed": 0}
        for number, (key, record) in enumerate(records):
            if number in plan.missing_records:
                continue
            tally["processed"] += 1
            line = self._answer_record(job, number, record, tally)
            lines[key].append(json.dumps(line))
        for key, written in lines.items():
            relative = (
                key[len(in_prefix) :].lstrip("/")
                if not in_prefix.endswith(".jsonl")
                else key.rsplit("/", 1)[-1]
            )
            out_key = f"{out_prefix}{job.job_id}/{relative}.out"
            data = "".join(f"{line}\n" for line in written).encode("utf-8")
            self.s3.put_object(Bucket=out_bucket, Key=out_key, Body=data)
        job.counts = {
            "totalRecordCount": len(records),
            "processedRecordCount": tally["processed"],
            "successRecordCount": tally["processed"] - tally["errors"],
            "errorRecordCount": tally["errors"],
        }
        manifest = {
            **job.counts,
            "inputTokenCount": tally["input"],
            "outputTokenCount": tally["output"],
        }
        self.s3.put_object(
            Bucket=out_bucket,
            Key=f"{out_prefix}{job.job_id}/manifest.json.out",
            Body=json.dumps(manifest).encode("utf-8"),
        )

    def _answer_record(
        self, job: ServerJob, number: int, record: Mapping[str, Any], tally: dict[str, int]
    ) -> dict[str, Any]:
        plan = job.plan
        line: dict[str, Any] = {
            "recordId": record.get("recordId"),
            "modelInput": record["modelInput"],
        }
        if number in plan.error_records:
            tally["errors"] += 1
            line["error"] = {"errorCode": 400, "errorMessage": "scripted record error"}
            return line
        request = _invoke_request(record["modelInput"])
        responder = plan.responder or self.responder
        response = _to_response(responder(request), request, str(job.request["modelId"]))
        if number in plan.truncated_records:
            response = _truncated(response)
        output = json.loads(_invoke_reply(response, request).body)
        if number in plan.unreadable_records:
            output = {"type": "message", "content": "not a list of blocks"}
        tally["input"] += output.get("usage", {}).get("input_tokens", 0)
        tally["output"] += output.get("usage", {}).get("output_tokens", 0)
        line["modelOutput"] = output
        return line


def _json(payload: object) -> _Reply:
    return _Reply(200, json.dumps(payload).encode("utf-8"), {"Content-Type": "application/json"})


def _error(error: ScriptedError) -> _Reply:
    if error.error_type == "":
        error = ScriptedError(
            error.status,
            BATCH_ERROR_TYPES.get(error.status, "InternalServerException"),
            error.message,
        )
    return _error_reply(error)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    owner: BedrockBatchServer


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: _Server

    def _reply(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        reply = self.server.owner._handle(method, self.path, raw)
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        self.wfile.write(reply.body)

    def do_POST(self) -> None:
        self._reply("POST")

    def do_GET(self) -> None:
        self._reply("GET")

    def log_message(self, format: str, *args: Any) -> None:
        pass
