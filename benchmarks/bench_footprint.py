"""What the library costs besides model calls: rules speed, import time, CLI peak memory.

- **Rules only**, leads per second on one CPU (the process is pinned to one while it runs):
  `bench_rules.leads_per_second` (``Normalizer().normalize(...)`` with no backend, a fresh
  normalizer per run, the median of 3 runs) on the sample as it is (every value seen for the
  first time), on the sample cycled to 20,000 leads (the normalizer remembers outcomes, so
  repeats are cheap) and on 20,000 leads whose addresses are all new. ``bench_rules.py``
  measures more (addresses per second, geographicol); this reuses its functions.
- **Import time**: `bench_rules.import_ms`, ``python -c "import llm_normalize"`` minus
  ``python -c "pass"``, the median of 10 fresh processes each.
- **CLI peak memory**: ``llm-normalize normalize FILE -o OUT -q`` (the rules backend, the
  default) in a fresh wrapper process per measurement, which reads the peak RSS of its child
  from ``resource.getrusage(RUSAGE_CHILDREN).ru_maxrss``; JSONL and CSV input of 10,000 and
  200,000 leads (`scaled_leads.py`).

Usage: python benchmarks/bench_footprint.py [--skip-memory] [--markdown]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

from bench_rules import cycled, import_ms, leads_per_second
from scaled_leads import SAMPLE, Lead, iter_scaled, load_sample, scaled_leads

from llm_normalize import Normalizer

# Runs argv[1:] and prints the child's peak RSS in KiB (Linux) and its wall time.
WRAPPER = (
    "import resource, subprocess, sys, time\n"
    "start = time.perf_counter()\n"
    "subprocess.run(sys.argv[1:], check=True)\n"
    "wall = time.perf_counter() - start\n"
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, wall)\n"
)


def _pinned(measure: Callable[[], float]) -> float:
    """Run `measure` pinned to one CPU, where the platform allows it."""
    if not hasattr(os, "sched_setaffinity"):
        return measure()
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {min(before)})
    try:
        return measure()
    finally:
        os.sched_setaffinity(0, before)


def rules_speed(leads: Sequence[Lead], runs: int = 3) -> float:
    """`bench_rules.leads_per_second` on one CPU."""
    return _pinned(lambda: leads_per_second(leads, runs))


def write_file(path: Path, sample: Sequence[Lead], rows: int) -> None:
    """`rows` leads (`iter_scaled`) as JSON lines or CSV, by the file's suffix."""
    with path.open("w", encoding="utf-8", newline="") as stream:
        if path.suffix == ".jsonl":
            for lead in iter_scaled(sample, rows):
                stream.write(json.dumps(lead, ensure_ascii=False) + "\n")
            return
        columns = list(sample[0])
        writer = csv.writer(stream)
        writer.writerow(columns)
        for lead in iter_scaled(sample, rows):
            writer.writerow(["" if lead.get(c) is None else str(lead[c]) for c in columns])


def cli() -> list[str]:
    """The console script of this interpreter's environment, else ``python -m llm_normalize``."""
    script = Path(sys.executable).with_name("llm-normalize")
    if script.exists():
        return [str(script)]
    found = shutil.which("llm-normalize")
    return [found] if found else [sys.executable, "-m", "llm_normalize"]


def cli_peak(path: Path, out: Path) -> tuple[float, float]:
    """Peak RSS in MB of one ``llm-normalize normalize`` run on `path`, and its wall time."""
    argv = [*cli(), "normalize", str(path), "-o", str(out), "-q"]
    done = subprocess.run(
        [sys.executable, "-c", WRAPPER, *argv], capture_output=True, text=True, check=True
    )
    kib, wall = done.stdout.split()
    return int(kib) / 1024, float(wall)


def footprint(
    file: Path = SAMPLE, *, markdown: bool = False, memory: bool = True
) -> list[tuple[str, str]]:
    """The extra lines of the benchmark, as (label, value) pairs."""
    sample = load_sample(file)
    code = "`" if markdown else ""
    Normalizer().normalize(sample[:50])  # data files and tables loaded before timing
    lines = [
        (
            f"rules only, the sample ({len(sample):,} leads), a fresh Normalizer per run, one CPU",
            f"{rules_speed(sample):,.0f} leads/s",
        ),
        (
            "rules only, the sample cycled to 20,000 leads, one CPU",
            f"{rules_speed(cycled(sample, 20_000)):,.0f} leads/s",
        ),
        (
            "rules only, 20,000 leads with new addresses past the sample, one CPU",
            f"{rules_speed(scaled_leads(sample, 20_000)):,.0f} leads/s",
        ),
        (
            f"{code}import llm_normalize{code}, median of 10 fresh processes, minus bare python",
            f"{import_ms('import llm_normalize'):.0f} ms",
        ),
    ]
    if memory:
        with tempfile.TemporaryDirectory() as tmp:
            for rows in (10_000, 200_000):
                for suffix in (".jsonl", ".csv"):
                    path = Path(tmp) / f"leads{suffix}"
                    write_file(path, sample, rows)
                    mb = path.stat().st_size / 1e6
                    peak, wall = cli_peak(path, Path(tmp) / f"out{suffix}")
                    lines.append(
                        (
                            f"CLI {code}llm-normalize normalize{code}, {suffix[1:].upper()}, {rows:,} leads ({mb:.0f} MB)",
                            f"peak RSS {peak:.0f} MB, {wall:.1f} s ({rows / wall:,.0f} leads/s)",
                        )
                    )
                    path.unlink()
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--file", type=Path, default=SAMPLE)
    parser.add_argument("--skip-memory", action="store_true", help="skip the CLI memory runs")
    parser.add_argument("--markdown", action="store_true", help="print a Markdown list")
    args = parser.parse_args()
    for label, value in footprint(args.file, markdown=args.markdown, memory=not args.skip_memory):
        print(f"- {label}: {value}" if args.markdown else f"{label}: {value}")


if __name__ == "__main__":
    main()
