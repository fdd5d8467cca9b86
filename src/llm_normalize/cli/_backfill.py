"""The ``backfill`` command: every due lead of a store, online or through Bedrock batch inference.

With ``--batch-inference`` each invocation does the next step and returns (see
`llm_normalize.backfill`): plan and submit a batch job (recorded in the store), report that it
is still running, or collect it and save the leads it decided. ``--wait`` polls until the job
ends and collects it in the same invocation. Without it, the due leads are normalized with
on-demand calls, all of them (no per-run cap).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, TextIO

from llm_normalize.cli._cache import describe_cache
from llm_normalize.cli._common import (
    EXIT_OK,
    PROG,
    UsageError,
    build_normalizer,
    progress_bar,
    resolve_config,
    store_label,
)
from llm_normalize.job import NO_LIMIT, due_leads
from llm_normalize.stores import open_store

if TYPE_CHECKING:
    from llm_normalize.backfill import BackfillStep
    from llm_normalize.batch_inference import BedrockBatchInference
    from llm_normalize.pipeline import Normalizer
    from llm_normalize.stores.base import LeadStore


def backfill(args: argparse.Namespace, err: TextIO) -> int:
    """Run one backfill invocation; see the module's docstring."""
    if args.batch_inference and not (args.bucket and args.role_arn):
        raise UsageError("--batch-inference needs --bucket and --role-arn")
    if not args.batch_inference and (args.bucket or args.role_arn or args.wait or args.abandon):
        raise UsageError("--bucket, --role-arn, --wait and --abandon go with --batch-inference")
    store = open_store(args.store, create=args.create)
    try:
        normalizer = build_normalizer(args, resolve_config(args))
        if not args.batch_inference:
            return _online(args, err, normalizer, store)
        if normalizer.dispatcher is None:
            raise UsageError("--batch-inference needs --backend bedrock")
        batch = _batch(args)
        if args.abandon:
            return _abandon(args, err, store, batch)
        step = _step(args, err, normalizer, store, batch)
        while args.wait and step.action in ("submitted", "waiting"):
            if step.action == "submitted":
                _tell(args, err, step, None)
            time.sleep(args.poll_s)
            step = _step(args, err, normalizer, store, batch)
        left = None
        if step.saved is not None:
            due = due_leads(normalizer, store)
            left = store.count_due(now_ms=due.now_ms, ttl_days=due.ttl_days)
    finally:
        store.close()
    _tell(args, err, step, left, normalizer.prices)
    if step.saved is not None and not args.quiet and normalizer.model_id is not None:
        print(f"{PROG}: value cache: {describe_cache(normalizer.cache)}", file=err)
    return EXIT_OK


def _batch(args: argparse.Namespace) -> BedrockBatchInference:
    from llm_normalize.batch_inference import DEFAULT_MIN_RECORDS, BedrockBatchInference

    return BedrockBatchInference(
        bucket=args.bucket,
        role_arn=args.role_arn,
        prefix=args.prefix,
        region_name=args.region,
        min_records=args.min_records or DEFAULT_MIN_RECORDS,
    )


def _step(
    args: argparse.Namespace,
    err: TextIO,
    normalizer: Normalizer,
    store: LeadStore,
    batch: BedrockBatchInference,
) -> BackfillStep:
    from llm_normalize.backfill import backfill_step

    with progress_bar(err, total=None, unit="lead", off=args.quiet or args.no_progress) as bar:
        return backfill_step(
            normalizer,
            store,
            batch,
            force=args.force_all,
            limit=args.limit,
            progress=bar.update if bar is not None else None,
        )


def _online(args: argparse.Namespace, err: TextIO, normalizer: Normalizer, store: LeadStore) -> int:
    limit = NO_LIMIT if args.limit is None else args.limit
    due = due_leads(normalizer, store, force=args.force_all, limit=limit)
    with progress_bar(
        err, total=due.this_run, unit="lead", off=args.quiet or args.no_progress
    ) as bar:
        report = normalizer.run(
            store,
            force=args.force_all,
            limit=limit,
            now_ms=due.now_ms,
            progress=bar.update if bar is not None else None,
        )
    left = store.count_due(now_ms=due.now_ms, ttl_days=due.ttl_days)
    print(report.model_dump_json(indent=2) if args.json else report.summary())
    if not args.quiet:
        print(f"{PROG}: {left} leads still due in {store_label(args.store)}", file=err)
    return EXIT_OK


def _abandon(
    args: argparse.Namespace, err: TextIO, store: LeadStore, batch: BedrockBatchInference
) -> int:
    from llm_normalize.batch_inference import BatchJob
    from llm_normalize.stores.base import RecordsBatchJob

    if not isinstance(store, RecordsBatchJob):
        raise UsageError(f"{store_label(args.store)} cannot record batch jobs")
    recorded = store.load_batch_job()
    if recorded is None:
        print(f"{PROG}: no batch job is recorded in {store_label(args.store)}", file=err)
        return EXIT_OK
    job = BatchJob.from_json(recorded)
    batch.stop(job)
    store.record_batch_job(None)
    print(
        f"{PROG}: batch run {job.name} stopped and forgotten; its leads are untouched and "
        "still due",
        file=err,
    )
    return EXIT_OK


def _tell(
    args: argparse.Namespace,
    err: TextIO,
    step: BackfillStep,
    left: int | None,
    prices: Mapping[str, tuple[float, float]] | None = None,
) -> None:
    """Say what the step did: its report on standard output, the rest on standard error."""
    job = step.job
    if step.saved is not None:
        report = step.saved.report
        print(report.model_dump_json(indent=2) if args.json else report.summary())
    if args.quiet:
        return
    where = store_label(args.store)
    if step.action == "online":
        print(
            f"{PROG}: {step.values} values for the model, too few for a batch job; they were "
            "asked with on-demand calls",
            file=err,
        )
    elif step.action == "submitted" and job is not None:
        print(
            f"{PROG}: batch run {job.name} submitted ({len(job.parts)} jobs, {job.records} "
            f"records, {step.values} values) and recorded in {where}; run this command again "
            "later to collect it (or pass --wait)",
            file=err,
        )
    elif step.action == "waiting" and job is not None and step.status is not None:
        states = ", ".join(sorted(set(step.status.statuses.values())))
        print(
            f"{PROG}: batch run {job.name} is not finished ({states}); run again later",
            file=err,
        )
    elif step.action == "collected" and job is not None and step.outcome is not None:
        outcome = step.outcome
        cost = outcome.report(prices=prices).estimated_cost_usd
        priced = f", about ${cost:.4f} at the batch rate" if cost is not None else ""
        print(
            f"{PROG}: batch run {job.name} collected: {outcome.records_answered} of "
            f"{outcome.records} records answered, {len(outcome.undecided)} values left "
            f"undecided{priced}",
            file=err,
        )
    if left is not None:
        print(f"{PROG}: {left} leads still due in {where}", file=err)
