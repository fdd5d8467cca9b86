"""What the CSV writers cost: peak memory and rows per second, at 10k and 200k stored leads.

The store export (`write_items(..., "csv")`) learns its columns only once every item has been
seen: it spools the items' cells to a nameless file on disk, then writes the CSV from it, so
its memory should stay flat whatever the number of items. `write_csv` is given its columns and
streams. The `in memory` row (with --baseline) is what the export did before: every item held
in a list to learn the columns.

Items are the sample leads (examples/leads.jsonl), cycled with fresh ids, as a store holds them
after a run: the original attributes, `normalizedData`, `normalizationMeta` and timestamps.
Each item is built as the export asks for it, as a store scan yields it, so the source holds
nothing. Peak memory is tracemalloc's peak during one write (Python allocations only), in a run
of its own; rows per second come from another run, without tracemalloc, the best of --runs.

Usage: python benchmarks/bench_csv_write.py [--sizes 10000 200000] [--runs N] [--baseline]
    [--dialect standard|excel] [--markdown]
"""

from __future__ import annotations

import argparse
import csv
import json
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from llm_normalize.io import CsvDialectName, write_csv, write_items
from llm_normalize.io._csv_write import cell_text, neutralize_formula
from llm_normalize.records import (
    NORMALIZATION_META,
    NORMALIZED_AT,
    NORMALIZED_DATA,
    UPDATED_AT,
    FieldResult,
    NormalizedRecord,
)

SAMPLE = Path(__file__).resolve().parents[1] / "examples" / "leads.jsonl"
FIELDS = ("nombres", "apellidos", "ciudad", "nivelEducativo", "empresa", "telefono")

Writer = Callable[[int, Path], int]


def leads() -> list[dict[str, Any]]:
    lines = SAMPLE.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def items(sample: list[dict[str, Any]], n: int) -> Iterator[dict[str, Any]]:
    for i in range(n):
        lead = dict(sample[i % len(sample)], leadId=f"lead-{i}")
        lead[NORMALIZED_DATA] = {name: str(lead.get(name, "")).title() for name in FIELDS}
        lead[NORMALIZATION_META] = {"source": dict.fromkeys(FIELDS, "rules"), "flags": {}}
        lead[NORMALIZED_AT] = lead[UPDATED_AT] = 1_700_000_000_000 + i
        yield lead


def records(sample: list[dict[str, Any]], n: int) -> Iterator[NormalizedRecord]:
    for i in range(n):
        lead = dict(sample[i % len(sample)], leadId=f"lead-{i}")
        fields = {
            name: FieldResult(str(lead.get(name, "")).title(), "rules", True) for name in FIELDS
        }
        yield NormalizedRecord(id=lead["leadId"], original=lead, fields=fields)


def in_memory_export(rows_in: Iterator[Mapping[str, Any]], path: Path) -> int:
    """The export as it was: every item held to learn the columns first."""
    rows = [dict(item) for item in rows_in]
    own = {NORMALIZED_DATA, NORMALIZATION_META, NORMALIZED_AT, UPDATED_AT}
    columns = list(dict.fromkeys(k for row in rows for k in row if k not in own))
    columns += [extra for extra in (NORMALIZED_AT, UPDATED_AT) if any(extra in r for r in rows)]
    fields = list(dict.fromkeys(n for row in rows for n in row.get(NORMALIZED_DATA, {})))
    with path.open("w", encoding="utf-8", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow([*columns, *(f"{n}_normalized" for n in fields), "normalization_review"])
        for row in rows:
            data = row.get(NORMALIZED_DATA, {})
            writer.writerow(
                [neutralize_formula(cell_text(row.get(c))) for c in columns]
                + [neutralize_formula(cell_text(data.get(n))) for n in fields]
                + [""]
            )
    return len(rows)


def writers(
    sample: list[dict[str, Any]], dialect: CsvDialectName, baseline: bool
) -> dict[str, Writer]:
    columns = list(dict.fromkeys(key for lead in sample for key in lead))

    def export(n: int, path: Path) -> int:
        return write_items(items(sample, n), path, "csv", dialect=dialect)

    def stream(n: int, path: Path) -> int:
        written = write_csv(
            records(sample, n),
            path,
            columns=columns,
            fields=FIELDS,
            dialect=dialect,
        )
        return sum(1 for _ in written)

    found: dict[str, Writer] = {"write_items (spool)": export, "write_csv (columns given)": stream}
    if baseline:
        found["in memory (before)"] = lambda n, path: in_memory_export(items(sample, n), path)
    return found


def peak_mb(write: Writer, n: int, path: Path) -> float:
    tracemalloc.start()
    try:
        write(n, path)
        return tracemalloc.get_traced_memory()[1] / 1e6
    finally:
        tracemalloc.stop()


def rows_per_second(write: Writer, n: int, path: Path, runs: int) -> float:
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        write(n, path)
        best = min(best, time.perf_counter() - start)
    return n / best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 200_000])
    parser.add_argument("--runs", type=int, default=3, help="timed runs per row; the best counts")
    parser.add_argument("--dialect", choices=["standard", "excel"], default="standard")
    parser.add_argument("--baseline", action="store_true", help="also time the in-memory export")
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    args = parser.parse_args()

    sample = leads()
    table: list[tuple[str, int, float, float, float]] = []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "out.csv"
        for n in args.sizes:
            for name, write in writers(sample, args.dialect, args.baseline).items():
                peak = peak_mb(write, n, path)
                speed = rows_per_second(write, n, path, args.runs)
                table.append((name, n, peak, speed, path.stat().st_size / 1e6))

    print(f"{len(sample)} sample leads, cycled; dialect {args.dialect}; best of {args.runs} runs")
    if args.markdown:
        print("\n| writer | items | peak memory | rows/s | file |\n|---|---:|---:|---:|---:|")
        for name, n, peak, speed, size in table:
            print(f"| {name} | {n:,} | {peak:.1f} MB | {speed:,.0f} | {size:.0f} MB |")
    else:
        print(f"{'writer':28}{'items':>10}{'peak MB':>10}{'rows/s':>10}{'file MB':>10}")
        for name, n, peak, speed, size in table:
            print(f"{name:28}{n:>10,}{peak:>10.1f}{speed:>10,.0f}{size:>10.0f}")


if __name__ == "__main__":
    main()
