"""The seed's way against the library's defaults: 2k, 20k and 100k leads at 0.25 s and 3 s a call.

Both ways run on a `FakeBackend` with the same simulated latency per call and the same
service quota (10 requests/s by default; a call past it is throttled), priced as Claude 3
Haiku (`llm_normalize.pricing`). Tokens are the fake's estimates (characters / 3.3, plus the
tool overhead when a tool is forced): one estimator for both ways.

- **seed's way** (`seed_style.py`): the seed's Lambda. A seed-sized prompt (one user message of
  field rules, an example and the leads' fields as JSON: ~1,300 tokens per 10 leads, as the
  seed documents), every field of 10 leads per call, one call at a time, a fixed 500 ms sleep
  between calls, no dedupe, no cache. Its calls and tokens always come from running its loop
  (without the waits); its wall time is measured by running it for real when that takes at
  most ``--seed-run-max`` seconds, and otherwise computed exactly from its loop,
  ``calls x latency + (calls - 1) x 0.5 s``, and marked "computed".
- **llm_normalize defaults**: ``Normalizer(FakeBackend(...))`` with every other setting left
  to the library's defaults (whatever they are at HEAD when it runs).

The echo answers every item (the seed's way gets the same values back in the seed's JSON
array), so no call fails and the rules decide every value.

The floor is ``calls / quota + latency``: the last call cannot start before the quota allows
it, nor end before its latency. Exactly as the fake counts its quota (at most 10 calls in any
one-second window), it is ``(calls - 1) // 10`` seconds plus the latency, so that a handful of
calls is not given a floor it beats. wall/floor says how far a way is from it.

Leads past the sample's 2,000 are copies of it with new addresses (`scaled_leads.py`), so
the model's work grows with the leads instead of being answered by the cache.

Usage: python benchmarks/bench_pipeline.py [--sizes N ...] [--latencies S ...] [--rps R]
    [--quick] [--seed-run-max S] [--no-extras] [--markdown]
"""

from __future__ import annotations

import argparse
import inspect
import math
import os
import platform
import subprocess
import sys
import time
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from scaled_leads import SAMPLE, Lead, load_sample, scaled_leads
from seed_style import (
    SEED_PAUSE_S,
    SeedStyleReport,
    seed_echo,
    seed_style_run,
    seed_wall_s,
)

from llm_normalize import NormalizationConfig, Normalizer
from llm_normalize.backends.fake import FakeBackend
from llm_normalize.pricing import estimate_cost

HAIKU = "anthropic.claude-3-haiku-20240307-v1:0"
SEED = "seed's way"
OURS = "llm_normalize defaults"
REPO = Path(__file__).resolve().parents[1]


@dataclass(frozen=True, slots=True)
class Row:
    """One way at one size and one latency."""

    leads: int
    latency_s: float
    way: str
    calls: int
    throttled: int
    values_sent: int
    input_tokens: int
    output_tokens: int
    cost_usd: float
    wall_s: float
    measured: bool
    rps: float

    @property
    def floor_s(self) -> float:
        return floor_s(self.calls, self.rps, self.latency_s)

    @property
    def tokens_per_lead(self) -> float:
        return (self.input_tokens + self.output_tokens) / self.leads


def floor_s(calls: int, rps: float, latency: float) -> float:
    """The least wall time of `calls` calls under the quota: calls / quota + latency.

    Exactly as the `FakeBackend` counts its quota (at most ``rps`` calls answered in any
    one-second window, or one per ``1 / rps`` seconds below 1): the last call cannot start
    before ``(calls - 1) // per_window`` windows have passed, nor end before its latency.
    That is ``calls / rps + latency`` give or take one window.
    """
    if calls <= 0:
        return 0.0
    per_window, window = (math.floor(rps), 1.0) if rps >= 1 else (1, 1.0 / rps)
    return (calls - 1) // per_window * window + latency


def seed_plan(leads: Sequence[Lead]) -> SeedStyleReport:
    """The seed loop's calls and tokens, from running it without waiting (they do not depend
    on the latency)."""
    backend = FakeBackend(seed_echo, model_id=HAIKU)
    return seed_style_run(leads, backend, sleep=lambda _: None)


def seed_measured(
    leads: Sequence[Lead], latency: float, rps: float
) -> tuple[SeedStyleReport, float, int]:
    """The seed loop for real: its report, its wall time and the throttled calls."""
    backend = FakeBackend(seed_echo, latency_s=latency, requests_per_second=rps, model_id=HAIKU)
    start = time.perf_counter()
    report = seed_style_run(leads, backend)
    return report, time.perf_counter() - start, backend.calls - report.model_calls


def seed_row(
    leads: int,
    latency: float,
    rps: float,
    report: SeedStyleReport,
    wall: float,
    measured: bool,
    throttled: int,
) -> Row:
    return Row(
        leads=leads,
        latency_s=latency,
        way=SEED,
        calls=report.model_calls,
        throttled=throttled,
        values_sent=report.values_sent_to_model,
        input_tokens=report.input_tokens,
        output_tokens=report.output_tokens,
        cost_usd=estimate_cost(HAIKU, report.usage) or 0.0,
        wall_s=wall,
        measured=measured,
        rps=rps,
    )


def library_row(leads: Sequence[Lead], latency: float, rps: float) -> Row:
    """The library with its defaults on a fake with this latency and quota."""
    backend = FakeBackend(latency_s=latency, requests_per_second=rps, model_id=HAIKU)
    start = time.perf_counter()
    _, report = Normalizer(backend).normalize_with_report(leads)
    wall = time.perf_counter() - start
    return Row(
        leads=len(leads),
        latency_s=latency,
        way=OURS,
        calls=report.model_calls - report.throttled,
        throttled=report.throttled,
        values_sent=report.values_sent_to_model,
        input_tokens=report.input_tokens,
        output_tokens=report.output_tokens,
        cost_usd=report.estimated_cost_usd or 0.0,
        wall_s=wall,
        measured=True,
        rps=rps,
    )


def _seconds(value: float) -> str:
    if value < 100:
        return f"{value:.1f} s"
    text = f"{value:,.0f} s"
    if value >= 3600:
        return f"{text} ({value / 3600:.1f} h)"
    return f"{text} ({value / 60:.0f} min)"


def _cells(row: Row) -> list[str]:
    wall = _seconds(row.wall_s) + ("" if row.measured else ", computed")
    return [
        f"{row.leads:,}",
        f"{row.latency_s:g} s",
        row.way,
        f"{row.calls:,}",
        f"{row.throttled:,}",
        f"{row.values_sent:,}",
        f"{row.input_tokens / row.leads:.1f} + {row.output_tokens / row.leads:.1f}",
        f"${row.cost_usd:,.2f}" if row.cost_usd >= 10 else f"${row.cost_usd:.4f}",
        wall,
        _seconds(row.floor_s),
        f"{row.wall_s / row.floor_s:.1f}",
    ]


HEADERS = [
    "leads",
    "latency",
    "way",
    "calls",
    "throttled",
    "values sent",
    "tokens/lead (in + out)",
    "cost (Haiku)",
    "wall",
    "floor",
    "wall/floor",
]


def print_table(rows: Sequence[Row], *, markdown: bool) -> None:
    cells = [_cells(row) for row in rows]
    if markdown:
        print("| " + " | ".join(HEADERS) + " |")
        print("|" + "|".join(["---:", "---:", "---"] + ["---:"] * (len(HEADERS) - 3)) + "|")
        for line in cells:
            print("| " + " | ".join(line) + " |")
        return
    widths = [max(len(h), *(len(line[i]) for line in cells)) for i, h in enumerate(HEADERS)]
    print(
        "  ".join(
            h.ljust(w) if i == 2 else h.rjust(w)
            for i, (h, w) in enumerate(zip(HEADERS, widths, strict=True))
        )
    )
    for line in cells:
        print(
            "  ".join(
                c.ljust(w) if i == 2 else c.rjust(w)
                for i, (c, w) in enumerate(zip(line, widths, strict=True))
            )
        )


def summary(rows: Sequence[Row]) -> list[str]:
    """One line per size and latency: the library against the seed's way."""
    lines = []
    seeds = {(row.leads, row.latency_s): row for row in rows if row.way == SEED}
    for ours in (row for row in rows if row.way == OURS):
        seed = seeds.get((ours.leads, ours.latency_s))
        if seed is None:
            continue
        lines.append(
            f"{ours.leads:,} leads at {ours.latency_s:g} s: {seed.wall_s / ours.wall_s:.0f}x faster "
            f"than the seed's way, {100 * ours.tokens_per_lead / seed.tokens_per_lead:.1f}% of its "
            f"tokens per lead, {100 * ours.cost_usd / seed.cost_usd:.1f}% of its cost; "
            f"{ours.wall_s / ours.floor_s:.1f}x the floor"
        )
    return lines


def head() -> str:
    """The commit of this repository, and which llm_normalize ran (read-only git calls).

    When llm_normalize is imported from elsewhere (e.g. ``PYTHONPATH`` on a ``git archive
    HEAD`` copy, while the working tree is being edited), that place is named.
    """
    import llm_normalize

    where = Path(llm_normalize.__file__).resolve().parent
    try:
        commit = subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "--no-optional-locks", "-C", str(REPO), "status", "--porcelain", "--", "src"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return f"llm_normalize {llm_normalize.__version__} from {where}"
    if where.is_relative_to(REPO / "src"):
        return f"HEAD {commit}" + (" with uncommitted changes in src/" if dirty else "")
    return (
        f"llm_normalize {llm_normalize.__version__} from {where} "
        f"(this repository's HEAD was {commit} when the run started)"
    )


def defaults() -> str:
    """The library defaults this run used, as the code says them at run time."""
    params = inspect.signature(Normalizer).parameters
    shown = [
        f"{name}={params[name].default!r}"
        for name in ("concurrency", "requests_per_second", "chunk_size")
        if name in params and params[name].default is not inspect.Parameter.empty
    ]
    batch = getattr(NormalizationConfig(), "batch_size", None)
    if batch is not None:
        shown.append(f"batch_size={batch!r}")
    return ", ".join(shown)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--file", type=Path, default=SAMPLE)
    parser.add_argument("--sizes", type=int, nargs="+", default=[2000, 20000, 100000])
    parser.add_argument("--latencies", type=float, nargs="+", default=[0.25, 3.0])
    parser.add_argument("--rps", type=float, default=10.0, help="the service's requests per second")
    parser.add_argument("--quick", action="store_true", help="skip sizes of 100,000 leads and more")
    parser.add_argument(
        "--seed-run-max",
        type=float,
        default=1800.0,
        help="run the seed's loop for real when it takes at most this many seconds; compute it otherwise",
    )
    parser.add_argument(
        "--no-extras", action="store_true", help="skip rules speed, import time and CLI memory"
    )
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    args = parser.parse_args()

    started = head()
    sizes = [n for n in args.sizes if not (args.quick and n >= 100_000)]
    sample = load_sample(args.file)
    leads = {n: scaled_leads(sample, n) for n in sizes}
    plans = {n: seed_plan(leads[n]) for n in sizes}

    # The seed's real runs sleep nearly all the time: they run in threads of their own, next
    # to the library's runs, which run one after the other.
    real = [
        (n, lat)
        for lat in args.latencies
        for n in sizes
        if seed_wall_s(plans[n].model_calls, lat) <= args.seed_run_max
    ]
    rows: dict[tuple[int, float, str], Row] = {}
    with ThreadPoolExecutor(max_workers=max(len(real), 1)) as pool:
        futures: dict[tuple[int, float], Future[tuple[SeedStyleReport, float, int]]] = {
            (n, lat): pool.submit(seed_measured, leads[n], lat, args.rps) for n, lat in real
        }
        for lat in args.latencies:
            for n in sizes:
                rows[n, lat, OURS] = library_row(leads[n], lat, args.rps)
                print(f"  ran {OURS}: {n:,} leads at {lat:g} s", file=sys.stderr)
        checks = []
        for (n, lat), future in futures.items():
            report, wall, throttled = future.result()
            rows[n, lat, SEED] = seed_row(n, lat, args.rps, report, wall, True, throttled)
            checks.append(
                f"{n:,} leads at {lat:g} s: measured {wall:,.1f} s, computed {seed_wall_s(report.model_calls, lat):,.1f} s"
            )
    for lat in args.latencies:
        for n in sizes:
            if (n, lat, SEED) not in rows:
                wall = seed_wall_s(plans[n].model_calls, lat)
                rows[n, lat, SEED] = seed_row(n, lat, args.rps, plans[n], wall, False, 0)

    ordered = [rows[n, lat, way] for lat in args.latencies for n in sizes for way in (SEED, OURS)]
    print(
        f"{', '.join(f'{n:,}' for n in sizes)} leads from {args.file.name} (copies with new addresses "
        f"past {len(sample):,}); simulated latency {' and '.join(f'{lat:g} s' for lat in args.latencies)} "
        f"per call; quota {args.rps:g} requests/s; {started}; Normalizer defaults: {defaults()}; "
        f"Python {platform.python_version()}, {os.cpu_count()} CPUs"
    )
    print()
    print_table(ordered, markdown=args.markdown)
    print()
    print(
        f"Computed: the seed's loop was not run, its wall time is calls x latency + (calls - 1) x "
        f"{SEED_PAUSE_S:g} s. Its calls and tokens come from running its loop without waiting."
    )
    if checks:
        print("The seed's loop run for real, against the formula: " + "; ".join(checks) + ".")
    for line in summary(ordered):
        print(line)
    if not args.no_extras:
        from bench_footprint import footprint

        print()
        for label, value in footprint(args.file, markdown=args.markdown):
            print(f"- {label}: {value}" if args.markdown else f"{label}: {value}")


if __name__ == "__main__":
    main()
