"""What the guard costs: microseconds per `Guard.check`, per kind of field, on honest answers.

Every distinct value of the sample (examples/leads.jsonl) is paired with the rules' output for
it, which is what an honest model answers, and with the rules' result, which the pipeline
passes to the guard. The guard runs on every model answer, so this is its cost per answer.

Each value is checked once per run, in sample order. The first run is timed on its own (the
guard meets each value for the first time, as in a real run; the data files and the gazetteer
are loaded before it), then the median of the other runs. The rejected column counts honest
answers the guard refused.

Usage: python benchmarks/bench_guard.py [--runs N] [--leads N] [--markdown]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from llm_normalize.fields import FieldSpec
from llm_normalize.guard import Guard
from llm_normalize.profiles.colombia import COLOMBIAN_LEADS, default_registry
from llm_normalize.records import FLAG_NOT_CONFIDENT, FieldResult

SAMPLE = Path(__file__).resolve().parents[1] / "examples" / "leads.jsonl"
KINDS = ("name", "address", "place", "category", "free_text")


@dataclass(frozen=True)
class Case:
    """One honest answer to check."""

    spec: FieldSpec
    raw: str
    answer: str
    rules: FieldResult


def honest_cases(leads: Sequence[dict[str, object]]) -> dict[str, list[Case]]:
    """The distinct (field, raw) values of `leads`, answered with the rules' output, by kind."""
    cases: dict[str, list[Case]] = {kind: [] for kind in KINDS}
    seen: set[tuple[str, str]] = set()
    for lead in leads:
        for name, spec in COLOMBIAN_LEADS.items():
            raw = lead.get(name)
            if not isinstance(raw, str) or (name, raw) in seen:
                continue
            seen.add((name, raw))
            outcome = default_registry.assess(name, raw)
            if not outcome.value:
                continue  # the pipeline sends nothing for an empty value
            rules = FieldResult(
                outcome.value,
                source="rules",
                confident=outcome.confident,
                reason=outcome.reason,
                flags=() if outcome.confident else (FLAG_NOT_CONFIDENT,),
            )
            cases[spec.kind].append(Case(spec, raw, outcome.value, rules))
    return cases


def time_run(guard: Guard, cases: Sequence[Case]) -> tuple[float, int]:
    """Check every case once; return microseconds per check and the number rejected."""
    rejected = 0
    start = time.perf_counter_ns()
    for case in cases:
        if not guard.check(case.spec, case.raw, case.answer, rules=case.rules).ok:
            rejected += 1
    elapsed = time.perf_counter_ns() - start
    return elapsed / 1000 / max(len(cases), 1), rejected


def warm_up(guard: Guard) -> None:
    """Load what the guard loads once (gazetteer, vocabularies) before anything is timed."""
    for name, raw in [
        ("nombres", "Zoe"),
        ("direccion", "cl 1 # 2-3"),
        ("ciudad", "zzz"),
        ("nivelEducativo", "zzz"),
        ("ocupacionActual", "zzz"),
        ("empresa", "zzz"),
    ]:
        guard.check(COLOMBIAN_LEADS[name], raw, raw + "x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--file", type=Path, default=SAMPLE)
    parser.add_argument("--leads", type=int, default=2000, help="leads to use (default: all 2000)")
    parser.add_argument("--runs", type=int, default=5, help="timed runs after the first")
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    args = parser.parse_args()

    lines = args.file.read_text(encoding="utf-8").splitlines()
    leads = [json.loads(line) for line in lines[: args.leads] if line.strip()]
    cases = honest_cases(leads)
    guard = Guard()
    warm_up(guard)

    rows = []
    for kind in KINDS:
        first, rejected = time_run(guard, cases[kind])
        later = [time_run(guard, cases[kind])[0] for _ in range(args.runs)]
        median = statistics.median(later) if later else first
        rows.append((kind, len(cases[kind]), rejected, first, median))
    total = sum(row[1] for row in rows)
    mean_first = sum(row[1] * row[3] for row in rows) / max(total, 1)
    mean_median = sum(row[1] * row[4] for row in rows) / max(total, 1)

    header = (
        "kind",
        "answers",
        "rejected",
        "first run µs/check",
        f"median of {args.runs} µs/check",
    )
    body = [
        (kind, f"{count:,}", f"{rejected:,}", f"{first:.1f}", f"{median:.1f}")
        for kind, count, rejected, first, median in rows
    ]
    body.append(
        (
            "all",
            f"{total:,}",
            f"{sum(row[2] for row in rows):,}",
            f"{mean_first:.1f}",
            f"{mean_median:.1f}",
        )
    )
    if args.markdown:
        print("| " + " | ".join(header) + " |")
        print("|" + "|".join(" --- " for _ in header) + "|")
        for row in body:
            print("| " + " | ".join(row) + " |")
        return
    widths = [max(len(header[i]), *(len(row[i]) for row in body)) for i in range(len(header))]
    print("  ".join(cell.ljust(width) for cell, width in zip(header, widths, strict=True)))
    for row in body:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))


if __name__ == "__main__":
    main()
