"""The ``plan`` command: send the ids of the due leads of a DynamoDB table to the SQS work queue."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, TextIO

from llm_normalize.cli._common import EXIT_BAD_LINES, EXIT_OK, PROG, store_label
from llm_normalize.config import NormalizationConfig
from llm_normalize.exceptions import ConfigurationError
from llm_normalize.fanout import (
    DEFAULT_IDS_PER_MESSAGE,
    DEFAULT_MAX_LEADS,
    MAX_IDS_PER_MESSAGE,
    MAX_SEGMENTS,
    plan_fanout,
)
from llm_normalize.stores import open_store

if TYPE_CHECKING:
    from llm_normalize.fanout import PlanResult

__all__ = ["add_plan", "plan"]


def add_plan(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``plan`` sub-command to the command line."""
    planner = commands.add_parser(
        "plan",
        help="send the ids of the due leads of a DynamoDB table to the SQS work queue",
        description=(
            "Scan a DynamoDB leads table for the leads due (parallel segments, reading only "
            "their key, normalizedAt and updatedAt) and send their ids to the work queue the "
            'Lambda workers consume, as {"leadIds": [...]} messages. Bounded by --max-leads; '
            "on a FIFO queue a plan run again within 5 minutes sends nothing twice. Prints "
            "counts only. Exit 1 when some messages or segments failed."
        ),
    )
    planner.add_argument(
        "--store",
        required=True,
        metavar="dynamodb://TABLE",
        help=("the leads table: dynamodb://TABLE[?config_table=...&region=R&endpoint_url=U]"),
    )
    planner.add_argument("--queue", required=True, metavar="URL", help="the work queue's URL")
    planner.add_argument(
        "--segments",
        type=int,
        default=1,
        help=f"parallel scan segments, 1 to {MAX_SEGMENTS} (default 1)",
    )
    planner.add_argument(
        "--max-leads",
        type=int,
        default=DEFAULT_MAX_LEADS,
        help=f"send at most this many lead ids (default {DEFAULT_MAX_LEADS})",
    )
    planner.add_argument(
        "--ids-per-message",
        type=int,
        default=DEFAULT_IDS_PER_MESSAGE,
        help=f"at most this many ids per message, 1 to {MAX_IDS_PER_MESSAGE} "
        f"(default {DEFAULT_IDS_PER_MESSAGE})",
    )
    planner.add_argument(
        "--force",
        action="store_true",
        help='plan every lead, due or not; the messages say "forceAll": true',
    )
    planner.add_argument(
        "--region", help="the AWS region of the queue (default: boto3's, else the URL's)"
    )


def plan(args: argparse.Namespace, err: TextIO) -> int:
    """Run ``plan``: 0 when everything due was sent or a cap or nothing stopped it, 1 on failures."""
    if not args.store.startswith("dynamodb://"):
        raise ConfigurationError(
            f"plan needs a DynamoDB store (dynamodb://TABLE), not {store_label(args.store)}; "
            "for a SQLite or memory store, run the job itself: llm-normalize run"
        )
    store = open_store(args.store)
    try:
        stored = store.load_config()
        config = NormalizationConfig.resolve(stored=stored)
        if not config.enabled and not args.force:
            print(
                f"{PROG}: normalization is disabled by the configuration; nothing planned", file=err
            )
            return EXIT_OK
        result = plan_fanout(
            store,
            args.queue,
            ttl_days=config.normalization_ttl_days,
            region_name=args.region,
            force=args.force,
            segments=args.segments,
            max_leads=args.max_leads,
            ids_per_message=args.ids_per_message,
        )
    finally:
        store.close()
    print(_summary(result))
    for line in _notes(result, store_label(args.store)):
        print(f"{PROG}: {line}", file=err)
    return EXIT_OK if result.ok else EXIT_BAD_LINES


def _summary(result: PlanResult) -> str:
    return (
        f"planned {result.leads_planned} leads in {result.messages_sent} messages "
        f"({result.segments} segments); failed: {result.messages_failed} messages "
        f"({result.leads_failed} leads), {result.segments_failed} segments"
    )


def _notes(result: PlanResult, label: str) -> list[str]:
    notes: list[str] = []
    if result.capped:
        notes.append(f"--max-leads reached; more leads are due in {label}: plan again later")
    if result.deadline_reached:
        notes.append("stopped before the end of the table; plan again to continue")
    if result.stopped == "queue":
        notes.append("the queue refused a whole batch; planning stopped: check the queue")
    if result.messages_failed:
        notes.append(
            f"{result.leads_failed} leads were not sent (ids in the log above); plan again "
            "to send them" + ("" if result.fifo else ": the workers skip leads already done")
        )
    if result.segments_failed:
        notes.append(f"{result.segments_failed} scan segments failed; plan again")
    return notes
