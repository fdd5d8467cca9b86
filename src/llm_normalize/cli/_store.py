"""The store commands: ``run`` (the scheduled job), ``rollback`` and ``report``."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TextIO

from llm_normalize.cli._cache import close_cache, describe_cache, rollback_cache
from llm_normalize.cli._common import (
    EXIT_OK,
    PROG,
    build_normalizer,
    progress_bar,
    resolve_config,
    store_label,
    stored_address_style,
)
from llm_normalize.io import write_text
from llm_normalize.job import due_leads
from llm_normalize.profiles.colombia import default_registry_for
from llm_normalize.stores import open_store


def run(args: argparse.Namespace, err: TextIO) -> int:
    # The store first: its file is the default value cache's (and a mistyped one fails here).
    store = open_store(args.store, create=args.create)
    try:
        normalizer = build_normalizer(args, resolve_config(args))
        due = due_leads(normalizer, store, force=args.force_all, limit=args.limit)
        with progress_bar(
            err, total=due.this_run, unit="lead", off=args.quiet or args.no_progress
        ) as bar:
            report = normalizer.run(
                store,
                force=args.force_all,
                limit=args.limit,
                now_ms=due.now_ms,
                progress=bar.update if bar is not None else None,
            )
        # Counted without --force-all: what the next scheduled run still has to do.
        left = store.count_due(now_ms=due.now_ms, ttl_days=due.ttl_days)
    finally:
        store.close()
    if args.json:
        print(report.model_dump_json(indent=2))
    else:
        print(report.summary())
    if not args.quiet:
        more = "; run again (or pass --limit N) to normalize them" if left else ""
        print(f"{PROG}: {left} leads still due in {store_label(args.store)}{more}", file=err)
        if normalizer.model_id is not None:
            print(
                f"{PROG}: value cache: {describe_cache(normalizer.cache)}, "
                f"{report.cache_hits} cache hits",
                file=err,
            )
    return EXIT_OK


def rollback(args: argparse.Namespace, err: TextIO) -> int:
    store = open_store(args.store, create=args.create)  # a mistyped store fails before the purge
    try:
        cache = rollback_cache(args)
        if cache is not None:
            # The cache first: if the purge fails, the leads keep the version's values and the
            # rollback can simply be run again; the other way round, the next run would bring
            # the rolled-back answers straight back from the cache.
            try:
                purged = cache.purge(args.prompt_version)
            finally:
                close_cache(cache)
            print(
                f"{PROG}: {purged} value cache entries of prompt version "
                f"{args.prompt_version!r} purged from {describe_cache(cache)}",
                file=err,
            )
        count = store.rollback(args.prompt_version)
    finally:
        store.close()
    print(
        f"{PROG}: {count} leads rolled back from prompt version {args.prompt_version!r} "
        f"in {store_label(args.store)}; the next run normalizes them again",
        file=err,
    )
    return EXIT_OK


def report(args: argparse.Namespace, err: TextIO) -> int:
    from llm_normalize.quality import quality_report
    from llm_normalize.quality.history import history_path, write_history

    history = args.history or history_path(args.store)
    previous = None
    if args.previous:
        previous = Path(args.previous).read_text(encoding="utf-8")
    elif history and Path(history).is_file():
        previous = Path(history).read_text(encoding="utf-8")
    store = open_store(args.store, create=args.create)
    try:
        report = quality_report(
            store,
            sample_rate=args.sample_rate,
            seed=args.seed,
            include_values=not args.no_values,
            previous=previous,
            registry=default_registry_for(stored_address_style(args, store)),
        )
    finally:
        store.close()
    if args.output:
        # The spot-check sample and top mappings are personal data: owner-only (0600).
        write_text(args.output, report.to_html())
    if history:
        write_history(report, history)  # the next report's drift baseline, without values
    if args.json:
        print(report.to_json())
    for anomaly in report.anomalies:
        print(f"{PROG}: anomaly: {anomaly.message}", file=err)
    compared = " (compared with the previous report)" if previous is not None else ""
    print(
        f"{PROG}: quality report of {store_label(args.store)}: "
        f"{len(report.anomalies)} anomalies{compared}"
        + (f"; HTML in {args.output}" if args.output else ""),
        file=err,
    )
    return 1 if args.check and report.has_anomalies else EXIT_OK
