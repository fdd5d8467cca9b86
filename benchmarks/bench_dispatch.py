"""How close a model-bound run comes to its quota's floor: wall time and calls against the ideal.

A `FakeBackend` simulates the model: each call takes `--latency` seconds and the service
answers at most `--rps` calls in any one-second window, throttling the rest (as Bedrock's
quota does). Every item is echoed, so the rules' values stand and the run's work is the
model's; with `--lies`, one value in four is answered with a company name the guard refuses
(values a run must not ask again). The normalizer runs with its defaults (batch size 10),
as a user would build it.

For each number of leads and latency it prints:

- wall: the run's wall time; calls: model calls made (retries included), and how many of
  them were throttled;
- distinct: the distinct unsure ``(field, raw value)`` pairs the model saw, and
  ``ideal = ceil(distinct / batch size)``, the fewest calls that could carry them;
- floor: ``calls / quota + latency``, the least time those calls can take at the quota,
  and ``wall / floor``; ``calls / ideal`` says how full the batches were.

The leads are the 2,000 of examples/leads.jsonl; more are copies of them, copy k (from 1)
with `` casa k`` after each address, so that addresses stay unsure in every copy and about
one lead in fifteen brings a new value for the model, as in a larger export.

Runs with whatever `llm_normalize` is importable, so a checkout of another version can be
measured with the same script: ``PYTHONPATH=/path/to/other/src python
benchmarks/bench_dispatch.py --label before --json before.json``, then
``--compare before.json after.json`` prints both side by side.

Usage: python benchmarks/bench_dispatch.py [--leads 2000 20000] [--latency 0.2 3]
    [--rps 10] [--label NAME] [--json FILE] [--markdown] [--compare A.json B.json]
"""

from __future__ import annotations

import argparse
import json
import math
import time
import zlib
from pathlib import Path
from typing import Any

from llm_normalize import NormalizationConfig, Normalizer
from llm_normalize.backends.fake import FakeBackend
from llm_normalize.messages import ModelRequest

SAMPLE = Path(__file__).resolve().parents[1] / "examples" / "leads.jsonl"
BATCH_SIZE = 10

Row = dict[str, Any]


def load_leads(count: int, path: Path = SAMPLE) -> list[dict[str, Any]]:
    """`count` leads: the sample's, then copies of it with a different address suffix each."""
    sample = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    leads: list[dict[str, Any]] = []
    for n in range(count):
        copy, lead = divmod(n, len(sample))
        item = dict(sample[lead])
        if copy:
            item["leadId"] = f"{item['leadId']}-{copy}"
            if isinstance(item.get("direccion"), str):
                item["direccion"] = f"{item['direccion']} casa {copy}"
        leads.append(item)
    return leads


def lying(request: ModelRequest) -> str:
    """Echo, but answer one value in four (the same ones every time) with a company name."""
    items = []
    for item in request.items:
        lie = zlib.crc32(f"{item.field}:{item.value}".encode()) % 4 == 0
        items.append({"id": item.id, "value": "Bancolombia" if lie else item.value})
    return json.dumps({"items": items})


def measure(leads: list[dict[str, Any]], *, latency: float, rps: float, lies: bool) -> Row:
    """One run with the normalizer's defaults against a fake model; its figures."""
    backend = FakeBackend(lying if lies else None, latency_s=latency, requests_per_second=rps)
    normalizer = Normalizer(backend, NormalizationConfig(batch_size=BATCH_SIZE))
    start = time.perf_counter()
    _, report = normalizer.normalize_with_report(leads)
    wall = time.perf_counter() - start
    distinct = len({(item.field, item.value) for r in backend.requests for item in r.items})
    ideal = math.ceil(distinct / BATCH_SIZE)
    floor = report.model_calls / rps + latency
    return {
        "leads": len(leads),
        "latency": latency,
        "rps": rps,
        "wall": round(wall, 2),
        "calls": report.model_calls,
        "throttled": report.throttled,
        "values_sent": report.values_sent_to_model,
        "distinct": distinct,
        "ideal": ideal,
        "floor": round(floor, 2),
        "wall_over_floor": round(wall / floor, 2),
        "calls_over_ideal": round(report.model_calls / max(ideal, 1), 2),
        "ideal_floor": round(ideal / rps + latency, 2),
    }


HEADER = (
    "leads",
    "latency",
    "wall",
    "calls",
    "throttled",
    "distinct",
    "ideal",
    "floor",
    "wall/floor",
    "calls/ideal",
)


def cells(row: Row) -> list[str]:
    return [
        f"{row['leads']:,}",
        f"{row['latency']:g} s",
        f"{row['wall']:.2f} s",
        str(row["calls"]),
        str(row["throttled"]),
        str(row["distinct"]),
        str(row["ideal"]),
        f"{row['floor']:.2f} s",
        f"{row['wall_over_floor']:.2f}x",
        f"{row['calls_over_ideal']:.2f}x",
    ]


def print_table(rows: list[Row], labels: list[str], markdown: bool) -> None:
    header = (["version"] if any(labels) else []) + list(HEADER)
    lines = [
        [label, *cells(row)] if any(labels) else cells(row)
        for row, label in zip(rows, labels, strict=True)
    ]
    if markdown:
        print("| " + " | ".join(header) + " |")
        print("|" + "|".join("---" if i == 0 else "---:" for i in range(len(header))) + "|")
        for line in lines:
            print("| " + " | ".join(line) + " |")
        return
    widths = [max(len(h), *(len(line[i]) for line in lines)) for i, h in enumerate(header)]
    print("  ".join(h.rjust(w) for h, w in zip(header, widths, strict=True)))
    for line in lines:
        print("  ".join(c.rjust(w) for c, w in zip(line, widths, strict=True)))


def compare(paths: list[Path], markdown: bool) -> None:
    """Print the rows of several result files side by side, by leads and latency."""
    runs = [json.loads(path.read_text(encoding="utf-8")) for path in paths]
    rows: list[Row] = []
    labels: list[str] = []
    keys = sorted({(r["leads"], r["latency"]) for run in runs for r in run["rows"]})
    for key in keys:
        for run in runs:
            for row in run["rows"]:
                if (row["leads"], row["latency"]) == key:
                    rows.append(row)
                    labels.append(run["label"])
    print_table(rows, labels, markdown)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, nargs="+", default=[2000, 20000])
    parser.add_argument("--latency", type=float, nargs="+", default=[0.2, 3.0])
    parser.add_argument("--rps", type=float, default=10.0, help="the service's quota")
    parser.add_argument("--lies", action="store_true", help="a model the guard often refuses")
    parser.add_argument("--label", default="", help="a name for this version")
    parser.add_argument("--json", type=Path, help="also write the rows to this file")
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    parser.add_argument("--compare", type=Path, nargs="+", help="print saved results instead")
    args = parser.parse_args()
    if args.compare:
        compare(args.compare, args.markdown)
        return
    rows = []
    for count in args.leads:
        leads = load_leads(count)
        for latency in args.latency:
            rows.append(measure(leads, latency=latency, rps=args.rps, lies=args.lies))
            print(json.dumps(rows[-1]), flush=True)
    if args.json:
        args.json.write_text(json.dumps({"label": args.label, "rows": rows}), encoding="utf-8")
    print()
    print_table(rows, [args.label] * len(rows), args.markdown)


if __name__ == "__main__":
    main()
