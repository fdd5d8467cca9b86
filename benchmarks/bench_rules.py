"""What the rules cost on one core: leads per second, addresses per second, and the import.

- **rules only**: `Normalizer().normalize(leads)` without a model, a fresh normalizer per run,
  on the sample (``examples/leads.jsonl``) cycled to ``--leads`` leads, and on as many leads
  whose addresses are all distinct (copy ``k`` of the sample has every number of its
  addresses increased by ``k``, or ``Casa k`` added, as ``scaled_leads`` in the pipeline
  benchmark does): cycling alone repeats every value, which the normalizer's memo answers.
- **normalize_address**: the distinct addresses of the sample, then of the address corpus
  (``tests/data/address_corpus.tsv``), once per run, in the default style and in the code
  style; and `geographicol.normalize` (a Colombian address parser on PyPI, whose default
  style is the cadastral codes) on the same addresses, when it is installed.
- **import**: ``import llm_normalize`` and ``from llm_normalize import Normalizer`` in fresh
  processes, minus a bare ``python -c pass``.

Each figure is the median of ``--runs`` runs (of 10 processes for the imports); the data files
and lookup tables are loaded before anything is timed. No assertion: the numbers are printed.

Usage: python benchmarks/bench_rules.py [--leads N] [--runs N] [--markdown]
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from llm_normalize import Normalizer
from llm_normalize.postprocessors.address import AddressStyle, make_address_normalizer

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "examples" / "leads.jsonl"
CORPUS = ROOT / "tests" / "data" / "address_corpus.tsv"
_NUMBER = re.compile(r"\d+")
# The default style, and the one to compare with geographicol's (the cadastral codes).
STYLES: tuple[AddressStyle, ...] = ("abbreviated", "code")

Lead = dict[str, Any]
Row = tuple[str, str, str]


def load_leads(path: Path) -> list[Lead]:
    """The leads of a JSON-lines file."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def cycled(sample: Sequence[Lead], n: int) -> list[Lead]:
    """The sample repeated to `n` leads."""
    return [sample[i % len(sample)] for i in range(n)]


def _copy(lead: Lead, k: int) -> Lead:
    """Copy `k` of a lead: its address a new value (numbers + k, or "Casa k" added)."""
    if not k:
        return lead
    out = dict(lead)
    address = out.get("direccion")
    if isinstance(address, str) and address.strip():
        if _NUMBER.search(address):
            out["direccion"] = _NUMBER.sub(lambda m: str(int(m.group()) + k), address)
        else:
            out["direccion"] = f"{address.rstrip()} Casa {k}"
    return out


def distinct_addresses(sample: Sequence[Lead], n: int) -> list[Lead]:
    """`n` leads: the sample, then copies of it whose addresses are new values."""
    return [_copy(sample[i % len(sample)], i // len(sample)) for i in range(n)]


def corpus_addresses() -> list[str]:
    """The raw addresses of the address corpus."""
    with CORPUS.open(encoding="utf-8", newline="") as lines:
        reader = csv.DictReader(lines, delimiter="\t", quoting=csv.QUOTE_NONE)
        return [row["raw"] for row in reader]


def leads_per_second(leads: Sequence[Lead], runs: int) -> float:
    """The median rate of `Normalizer().normalize(leads)`, a fresh normalizer per run."""
    rates = []
    for _ in range(runs):
        normalizer = Normalizer()
        start = time.perf_counter()
        normalizer.normalize(leads)
        rates.append(len(leads) / (time.perf_counter() - start))
    return statistics.median(rates)


def values_per_second(func: Callable[[str], object], values: Sequence[str], runs: int) -> float:
    """The median rate of `func` over `values`, each once per run."""
    rates = []
    for _ in range(runs):
        start = time.perf_counter()
        for value in values:
            func(value)
        rates.append(len(values) / (time.perf_counter() - start))
    return statistics.median(rates)


def import_ms(code: str, runs: int = 10) -> float:
    """Milliseconds `code` adds to a fresh interpreter: the median of `runs` processes."""

    def median_s(source: str) -> float:
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            subprocess.run([sys.executable, "-c", source], check=True)
            times.append(time.perf_counter() - start)
        return statistics.median(times)

    return (median_s(code) - median_s("pass")) * 1000


def address_rows(addresses: dict[str, list[str]], runs: int) -> list[Row]:
    """normalize_address in `STYLES`, and geographicol when it is installed."""
    rows: list[Row] = []
    for name, values in addresses.items():
        for style in STYLES:
            rate = values_per_second(make_address_normalizer(style), values, runs)
            label = f"normalize_address ({style}), {name}: {len(values):,} distinct"
            rows.append((label, f"{rate:,.0f}", "values/s"))
    try:
        import geographicol  # type: ignore[import-not-found, unused-ignore]
    except ImportError:
        note = "not installed (pip install geographicol to compare)"
        rows.append(("geographicol.normalize", "skipped", note))
        return rows
    for name, values in addresses.items():
        for value in values[:10]:
            geographicol.normalize(value)  # its tables, loaded before it is timed
        rate = values_per_second(geographicol.normalize, values, runs)
        label = f"geographicol.normalize (catastral), {name}: {len(values):,} distinct"
        rows.append((label, f"{rate:,.0f}", "values/s"))
    return rows


def print_table(rows: Sequence[Row], markdown: bool) -> None:
    header = ("measure", "value", "unit")
    if markdown:
        print("| " + " | ".join(header) + " |")
        print("| --- | ---: | --- |")
        for row in rows:
            print("| " + " | ".join(row) + " |")
        return
    widths = [max(len(header[i]), *(len(row[i]) for row in rows)) for i in range(len(header))]
    for row in (header, *rows):
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--file", type=Path, default=SAMPLE)
    parser.add_argument("--leads", type=int, default=100_000, help="leads per rules run")
    parser.add_argument("--runs", type=int, default=3, help="timed runs per figure")
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    args = parser.parse_args()

    sample = load_leads(args.file)
    Normalizer().normalize(sample[:50])  # data files and tables loaded before timing
    rows: list[Row] = []
    for label, leads in (
        ("sample cycled", cycled(sample, args.leads)),
        ("distinct addresses", distinct_addresses(sample, args.leads)),
    ):
        rate = leads_per_second(leads, args.runs)
        rows.append((f"rules only, {label}: {args.leads:,} leads", f"{rate:,.0f}", "leads/s"))

    sample_addresses = sorted(
        {lead["direccion"] for lead in sample if isinstance(lead.get("direccion"), str)}
    )
    addresses = {"sample": sample_addresses, "corpus": sorted(set(corpus_addresses()))}
    rows += address_rows(addresses, args.runs)

    for code in ("import llm_normalize", "from llm_normalize import Normalizer"):
        rows.append((f"`{code}`", f"{import_ms(code):.0f}", "ms over bare python"))
    print_table(rows, args.markdown)


if __name__ == "__main__":
    main()
