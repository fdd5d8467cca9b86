"""The queue side of the fan-out planner: the plan's shared state, messages, batches.

Private to `llm_normalize.fanout`, which documents the design: `Chunker` cuts a
segment's ids into messages at content-defined boundaries, `Sender` sends them with
SendMessageBatch and retries only the refused entries, `Plan` holds what the segment
threads share. boto3 is imported when a client is built, never on import.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal, Protocol, TypeAlias

from llm_normalize._aws import SETUP_BOTOCORE_ERRORS, SETUP_ERROR_CODES, no_region_message
from llm_normalize._dynamodb import error_kind
from llm_normalize.exceptions import ConfigurationError

__all__ = [
    "BATCH",
    "Chunker",
    "Message",
    "Plan",
    "Sender",
    "SqsClient",
    "StopReason",
    "build_sqs_client",
]

logger = logging.getLogger("llm_normalize.fanout")

StopReason: TypeAlias = Literal["cap", "deadline", "queue", "setup"]
"""Why a plan stopped before the end of the table."""

BATCH: Final = 10
"""SendMessageBatch takes at most 10 entries."""

_KEPT_FAILED_IDS: Final = 100
_BACKOFF_S: Final = 0.2
_QUEUE_MISSING: Final = frozenset(
    {"AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist", "NonExistentQueue"}
)
_SQS_DENIED: Final = frozenset(
    {"AccessDenied", "AccessDeniedException", "KMS.AccessDeniedException", "KmsAccessDenied"}
)
_SQS_SETUP: Final = (
    SETUP_ERROR_CODES
    | _QUEUE_MISSING
    | _SQS_DENIED
    | frozenset(
        {"InvalidClientTokenId", "InvalidSecurity", "SignatureDoesNotMatch", "ExpiredToken"}
    )
)


class SqsClient(Protocol):
    """The one call of a boto3 ``sqs`` client the planner makes."""

    def send_message_batch(self, **kwargs: Any) -> Mapping[str, Any]:
        """Send up to 10 messages; SQS answers with ``Successful`` and ``Failed`` entries."""
        ...


@dataclass(frozen=True, slots=True)
class Message:
    """One message: its lead ids, its body and its deduplication id."""

    lead_ids: tuple[str, ...]
    body: str
    dedup_id: str


@dataclass
class Plan:
    """What the segment threads share, under one lock: the allowance, the counts, the stop."""

    left: int | None
    stop_when: Callable[[], bool] | None
    lock: threading.Lock = field(default_factory=threading.Lock)
    halted: threading.Event = field(default_factory=threading.Event)
    reason: StopReason | None = None
    capped: bool = False
    fatal: BaseException | None = None
    leads_planned: int = 0
    leads_failed: int = 0
    messages_sent: int = 0
    messages_failed: int = 0
    segments_failed: int = 0
    failed_ids: list[str] = field(default_factory=list)

    def take(self) -> bool:
        """Take one id from the allowance; `False` (and the plan stops) when none is left."""
        with self.lock:
            if self.left is None:
                return True
            if self.left > 0:
                self.left -= 1
                return True
            self.capped = True
        self.halt("cap")
        return False

    def halt(self, reason: StopReason, error: BaseException | None = None) -> None:
        """Stop every segment; the first reason (and setup error) wins."""
        with self.lock:
            if self.reason is None:
                self.reason = reason
            if error is not None and self.fatal is None:
                self.fatal = error
        self.halted.set()

    def stopping(self) -> StopReason | None:
        """Why the plan must stop now, if it must: a halt, or the deadline passing."""
        if not self.halted.is_set() and self.stop_when is not None and self.stop_when():
            self.halt("deadline")
        return self.reason if self.halted.is_set() else None

    def sent(self, message: Message) -> None:
        with self.lock:
            self.messages_sent += 1
            self.leads_planned += len(message.lead_ids)

    def failed(self, message: Message) -> None:
        with self.lock:
            self.messages_failed += 1
            self.leads_failed += len(message.lead_ids)
            room = _KEPT_FAILED_IDS - len(self.failed_ids)
            self.failed_ids.extend(message.lead_ids[: max(room, 0)])


def build_sqs_client(queue_url: str, region_name: str | None = None) -> SqsClient:
    """An ``sqs`` client with botocore's standard retries; its region from the URL if boto3 has none.

    ``AWS_ENDPOINT_URL_SQS`` points it at a local server, as boto3 reads it itself.

    Raises:
        ConfigurationError: No AWS region is given, configured or in the queue URL.
    """
    import boto3.session  # ~200 ms: only when a plan runs
    from botocore.config import Config
    from botocore.exceptions import NoRegionError

    session = boto3.session.Session()
    region = region_name or session.region_name or _url_region(queue_url)
    config = Config(retries={"mode": "standard", "max_attempts": 5})
    try:
        client: SqsClient = session.client("sqs", region_name=region, config=config)
    except NoRegionError as exc:
        raise ConfigurationError(
            no_region_message(
                "SQS", given="region_name, or a queue URL of sqs.REGION.amazonaws.com"
            )
        ) from exc
    return client


# -- messages ------------------------------------------------------------------------------


class Chunker:
    """Cut a segment's ids into messages at content-defined boundaries (see the module docstring)."""

    def __init__(self, per_message: int, force: bool) -> None:
        self._per_message = per_message
        self._force = force
        self._ids: list[str] = []
        self._states: list[str] = []

    def add(self, lead_id: str, state: str) -> Message | None:
        """Add one id; the message it completes, if it does."""
        self._ids.append(lead_id)
        self._states.append(state)
        if len(self._ids) >= self._per_message or _is_boundary(lead_id, self._per_message):
            return self.flush()
        return None

    def flush(self) -> Message | None:
        """The message of the ids added since the last one, if any."""
        if not self._ids:
            return None
        ids, states = tuple(self._ids), self._states
        self._ids, self._states = [], []
        body: dict[str, Any] = {"leadIds": list(ids)}
        if self._force:
            body["forceAll"] = True
        digest = hashlib.sha256(json.dumps([self._force, states]).encode("utf-8")).hexdigest()
        return Message(ids, json.dumps(body, separators=(",", ":")), digest)


def _is_boundary(lead_id: str, per_message: int) -> bool:
    """Whether a message ends after this id: one id in `per_message`, by its SHA-256."""
    digest = hashlib.sha256(lead_id.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % per_message == 0


class Sender:
    """Send messages with SendMessageBatch, retrying only the refused entries, a bounded number of times."""

    def __init__(
        self,
        client: SqsClient,
        queue_url: str,
        fifo: bool,
        attempts: int,
        sleep: Callable[[float], None],
        plan: Plan,
    ) -> None:
        self._client, self._queue_url, self._fifo = client, queue_url, fifo
        self._attempts, self._sleep, self._plan = attempts, sleep, plan

    def send(self, messages: Iterable[Message]) -> None:
        """Send up to 10 messages; count each as sent or failed. A setup error halts the plan."""
        pending = dict(enumerate(messages))
        if not pending:
            return
        refused: dict[int, Message] = {}
        codes: set[str] = set()
        accepted = False
        for attempt in range(self._attempts):
            if attempt:
                if self._plan.stopping() == "deadline":
                    break
                self._sleep(_BACKOFF_S * 2 ** (attempt - 1))
            answer = self._call(pending, codes)
            if answer is None:
                return
            done, retry, permanent = answer
            for key in done:
                self._plan.sent(pending[key])
            accepted = accepted or bool(done)
            refused.update({key: pending[key] for key in permanent})
            pending = {key: pending[key] for key in retry}
            if not pending:
                break
        refused.update(pending)
        self._count_refused(refused, codes, accepted)

    def _call(
        self, pending: Mapping[int, Message], codes: set[str]
    ) -> tuple[list[int], list[int], list[int]] | None:
        """One SendMessageBatch: the keys accepted, to retry, refused for good; `None` on a setup error."""
        from botocore.exceptions import BotoCoreError, ClientError

        entries = [self._entry(key, message) for key, message in pending.items()]
        try:
            response = self._client.send_message_batch(QueueUrl=self._queue_url, Entries=entries)
        except (ClientError, BotoCoreError) as exc:
            code = error_kind(exc)
            if code in _SQS_SETUP or code in SETUP_BOTOCORE_ERRORS:
                error = _queue_error(self._queue_url, code)
                error.__cause__ = exc
                self._plan.halt("setup", error)
                return None
            codes.add(code)
            return [], list(pending), []
        done = [int(entry["Id"]) for entry in response.get("Successful", [])]
        retry: list[int] = []
        permanent: list[int] = []
        for entry in response.get("Failed", []):
            codes.add(str(entry.get("Code") or "Unknown"))
            (permanent if entry.get("SenderFault") else retry).append(int(entry["Id"]))
        return done, retry, permanent

    def _entry(self, key: int, message: Message) -> dict[str, Any]:
        entry: dict[str, Any] = {"Id": str(key), "MessageBody": message.body}
        if self._fifo:
            entry["MessageDeduplicationId"] = message.dedup_id
            entry["MessageGroupId"] = message.dedup_id
        return entry

    def _count_refused(
        self, refused: Mapping[int, Message], codes: set[str], accepted: bool
    ) -> None:
        if not refused:
            return
        for message in refused.values():
            self._plan.failed(message)
        ids = [lead_id for message in refused.values() for lead_id in message.lead_ids]
        logger.warning(
            "SQS refused %d messages (%d leads) after %d attempts (%s); lead ids: %s",
            len(refused),
            len(ids),
            self._attempts,
            ", ".join(sorted(codes)) or "no code",
            ", ".join(ids[:_KEPT_FAILED_IDS]),
        )
        if not accepted:
            # Not one entry of the batch went through: the queue is not taking messages.
            self._plan.halt("queue")


def _queue_error(queue_url: str, code: str) -> ConfigurationError:
    if code in _QUEUE_MISSING:
        return ConfigurationError(
            f"SQS queue {queue_url!r} does not exist ({code}); check the queue URL (--queue, "
            "WORK_QUEUE_URL) and its region, or deploy the stack with EnableSqsWorkers=true"
        )
    if code in _SQS_DENIED:
        return ConfigurationError(
            f"may not send to SQS queue {queue_url!r} ({code}); grant sqs:SendMessage on the "
            "queue (it also covers SendMessageBatch), and kms:GenerateDataKey if it has a KMS key"
        )
    return ConfigurationError(
        f"cannot send to SQS queue {queue_url!r} ({code}); check the AWS credentials and region"
    )


def _url_region(queue_url: str) -> str | None:
    """The region of an AWS queue URL (``https://sqs.us-east-1.amazonaws.com/...``), if it has one."""
    host = queue_url.split("://", 1)[-1].split("/", 1)[0]
    parts = host.split(".")
    if len(parts) >= 4 and parts[0] == "sqs" and parts[2] == "amazonaws":
        return parts[1]
    return None
