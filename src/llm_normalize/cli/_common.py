"""What the commands share: exit statuses, usage errors, the normalizer and backend they build."""

from __future__ import annotations

import argparse
import os
import weakref
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Final, TextIO, TypeVar

from llm_normalize.backends.base import Backend
from llm_normalize.backends.fake import FakeBackend
from llm_normalize.cli._cache import FAKE_MODEL_ID, close_cache, open_cache
from llm_normalize.config import NormalizationConfig
from llm_normalize.dispatch import Budget
from llm_normalize.pipeline import Normalizer
from llm_normalize.postprocessors.address_styles import AddressStyle

if TYPE_CHECKING:
    from llm_normalize.stores.base import LeadStore

PROG: Final = "llm-normalize"

EXIT_OK: Final = 0

EXIT_BAD_LINES: Final = 1

EXIT_USAGE: Final = 2

EXIT_MODEL_FAILED: Final = 3

# Past this many, malformed lines are counted but no longer listed one by one.
MAX_LISTED_BAD_LINES: Final = 20

T = TypeVar("T")


class UsageError(Exception):
    """A problem with the command line or its files, reported as one line, exit 2."""


def resolve_config(args: argparse.Namespace, **overrides: Any) -> NormalizationConfig:
    """The settings of a command: the environment's, then the command line's on top."""
    if args.model_id:
        overrides["model_id"] = args.model_id
    if args.address_style:
        overrides["address_style"] = args.address_style
    return NormalizationConfig.resolve(**overrides)


def build_normalizer(args: argparse.Namespace, config: NormalizationConfig) -> Normalizer:
    """The normalizer of a command: the model options of `args` with `config`.

    With a model, its answers are cached where ``--cache`` says (`open_cache`); the cache
    is closed when the normalizer is garbage collected.
    """
    budget = None
    if args.max_tokens is not None or args.max_usd is not None:
        budget = Budget(max_tokens=args.max_tokens, max_usd=args.max_usd)
    if args.answer_mode == "json_schema" and args.backend != "openai":
        raise UsageError("--answer-mode json_schema needs --backend openai")
    backend = build_backend(args, config)
    if isinstance(backend, FakeBackend):
        # Its echoes must never be cached under a real model's id, which the key holds.
        backend = backend.with_model_id(FAKE_MODEL_ID)
    cache = open_cache(args) if backend is not None else None
    try:
        normalizer = Normalizer(
            backend,
            config=config,
            cache=cache,
            concurrency=args.concurrency,
            requests_per_second=args.rps,
            budget=budget,
            # JSON in text is the pipeline's mode; a JSON-schema format is the backend's way
            # of carrying the tool's answer.
            answer_mode="json" if args.answer_mode == "json" else None,
        )
    except BaseException:
        if cache is not None:
            close_cache(cache)
        raise
    if cache is not None:
        # The commands drop the normalizer when they end: the cache file is closed then.
        weakref.finalize(normalizer, close_cache, cache)
    return normalizer


def build_backend(args: argparse.Namespace, config: NormalizationConfig) -> Backend | None:
    from llm_normalize.backends.factory import make_backend

    return make_backend(
        args.backend,
        model_id=config.model_id,
        api=args.api,
        region_name=args.region,
        endpoint_url=args.endpoint_url,
        base_url=args.base_url,
        api_key=os.environ.get(args.api_key_env) or None,
        answer_mode=args.answer_mode or "tool",
    )


def stored_address_style(args: argparse.Namespace, store: LeadStore) -> AddressStyle:
    """The style the store's addresses were written in, as a run works it out.

    The idempotence probe re-applies the post-processors: in another style than the one the
    values were written in, every address would look changed.
    """
    overrides = {"address_style": args.address_style} if args.address_style else {}
    config = NormalizationConfig.resolve(**overrides)
    stored = store.load_config()
    return (config.with_stored(stored) if stored else config).address_style


@contextmanager
def progress_bar(err: TextIO, *, total: int | None, unit: str, off: bool) -> Iterator[Any]:
    """A tqdm bar on `err` with a total and an ETA, or `None` when off or not a terminal."""
    if off or not err.isatty():
        yield None
        return
    from tqdm import tqdm

    bar = tqdm(total=total, unit=unit, file=err, leave=False, dynamic_ncols=True)
    try:
        yield bar
    finally:
        bar.close()


def counted(items: Iterable[T], bar: Any) -> Iterator[T]:
    """`items`, each counted on the progress `bar` (if any) as it passes."""
    for item in items:
        yield item
        if bar is not None:
            bar.update()


def store_label(url: str) -> str:
    # Only the scheme and the name: query options may carry endpoints, never values.
    return url.split("?", 1)[0]
