"""The Spark path (`llm_normalize.spark`) beside `normalize_dataframe` on the same N leads.

The leads are the sample followed by copies of it with new addresses (`scaled_leads.py`), so
the model's work grows with the rows instead of being answered by the dedupe. They are written
once to a parquet file (``--data-dir``), which both paths read:

- **spark**: `normalize_spark` in local mode (``local[*]``: every core of this machine), the
  result written to Spark's ``noop`` sink (computed in full, stored nowhere). Phases 1 and 2 run
  inside the call; phase 3 runs in the write.
- **pandas**: the parquet read into pandas, then `normalize_dataframe`.

Both use a `FakeBackend` answering with the echo after ``--latency`` seconds per call, with the
library's default batch size and concurrency and no rate limit. Each path runs in a fresh
interpreter, so its peak memory is its own: the driver's Python process (``ru_maxrss``) and,
for Spark, the JVM (which in local mode runs the executors too) and its Python workers, sampled
every 50 ms with psutil when it is installed.

Usage: python benchmarks/bench_spark.py [--rows N] [--latency S] [--data-dir DIR]
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import resource
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from scaled_leads import iter_scaled, load_sample

from llm_normalize import Normalizer
from llm_normalize.backends.fake import FakeBackend

_CHUNK = 100_000
_FAST = 1_000_000.0  # requests per second: the fake's latency is the only wait


def _write_data(rows: int, path: Path) -> None:
    """The scaled leads as a parquet directory, a part per chunk (never all in memory)."""
    import pandas as pd

    sample = load_sample()
    tmp = path.with_suffix(".tmp")
    tmp.mkdir(parents=True, exist_ok=True)
    chunk: list[dict[str, Any]] = []
    for n, lead in enumerate(iter_scaled(sample, rows), 1):
        chunk.append(lead)
        if len(chunk) == _CHUNK or n == rows:
            part = tmp / f"part-{n // _CHUNK:05d}-{n}.parquet"
            pd.DataFrame(chunk, columns=list(sample[0])).to_parquet(part, index=False)
            chunk = []
    tmp.rename(path)


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


class _Sampler:
    """The peak RSS of this process's children: the JVM, and the Python workers under it."""

    def __init__(self) -> None:
        self.jvm_mb = 0.0
        self.workers_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> _Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        try:
            # Optional, and untyped here: the figures say "-" without it.
            psutil: Any = importlib.import_module("psutil")
        except ImportError:
            return
        me = psutil.Process()
        while not self._stop.wait(0.05):
            jvm = workers = 0.0
            for child in me.children(recursive=True):
                try:
                    rss = child.memory_info().rss / 2**20
                    if "java" in child.name():
                        jvm += rss
                    else:
                        workers += rss
                except psutil.Error:
                    continue
            self.jvm_mb = max(self.jvm_mb, jvm)
            self.workers_mb = max(self.workers_mb, workers)


def _backend(latency: float) -> tuple[Normalizer, FakeBackend]:
    backend = FakeBackend(latency_s=latency)
    return Normalizer(backend, requests_per_second=_FAST), backend


def _items(backend: FakeBackend) -> int:
    return sum(len(request.items) for request in backend.requests)


def run_spark(path: Path, latency: float) -> dict[str, Any]:
    """`normalize_spark` over the parquet, written to the noop sink."""
    from pyspark.sql import SparkSession

    from llm_normalize.spark import normalize_spark

    spark = (
        SparkSession.builder.master("local[*]")
        .config("spark.ui.enabled", "false")
        .config("spark.driver.memory", "6g")
        .config("spark.sql.shuffle.partitions", "8")
        .config("spark.pyspark.python", sys.executable)
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    normalizer, backend = _backend(latency)
    with _Sampler() as sampler:
        start = time.perf_counter()
        df = spark.read.parquet(str(path))
        rows = df.count()
        out = normalize_spark(df, normalizer)
        phases_12 = time.perf_counter() - start
        with out:
            out.frame.write.format("noop").mode("overwrite").save()
        wall = time.perf_counter() - start
    spark.stop()
    return {
        "path": "spark",
        "rows": rows,
        "wall_s": wall,
        "phases_12_s": phases_12,
        "distinct_unsure": out.distinct_values,
        "model_items": _items(backend),
        "model_calls": backend.calls,
        "driver_mb": _peak_rss_mb(),
        "jvm_mb": sampler.jvm_mb,
        "workers_mb": sampler.workers_mb,
    }


def run_pandas(path: Path, latency: float) -> dict[str, Any]:
    """`normalize_dataframe` over the parquet read into pandas."""
    import pandas as pd

    from llm_normalize.notebook import normalize_dataframe

    normalizer, backend = _backend(latency)
    start = time.perf_counter()
    frame = pd.read_parquet(path)
    out = normalize_dataframe(frame, normalizer=normalizer, progress=False)
    wall = time.perf_counter() - start
    report = normalizer.last_report
    return {
        "path": "normalize_dataframe",
        "rows": len(out),
        "wall_s": wall,
        "distinct_unsure": report.values_sent_to_model if report else 0,
        "model_items": _items(backend),
        "model_calls": backend.calls,
        "driver_mb": _peak_rss_mb(),
    }


_RUNS: dict[str, Callable[[Path, float], dict[str, Any]]] = {
    "spark": run_spark,
    "pandas": run_pandas,
}


def _table(results: list[dict[str, Any]]) -> str:
    lines = [
        "| path | rows | wall s | phases 1+2 s | rows/s | distinct unsure | model items | calls "
        "| driver Python MB | JVM MB | Spark workers MB |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in results:
        jvm = f"{r['jvm_mb']:,.0f}" if r.get("jvm_mb") else "-"
        workers = f"{r['workers_mb']:,.0f}" if r.get("workers_mb") else "-"
        phases = f"{r['phases_12_s']:,.1f}" if "phases_12_s" in r else "-"
        lines.append(
            f"| {r['path']} | {r['rows']:,} | {r['wall_s']:,.1f} | {phases} "
            f"| {r['rows'] / r['wall_s']:,.0f} "
            f"| {r['distinct_unsure']:,} | {r['model_items']:,} | {r['model_calls']:,} "
            f"| {r['driver_mb']:,.0f} | {jvm} | {workers} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--latency", type=float, default=0.05, help="seconds per model call")
    parser.add_argument("--data-dir", type=Path, default=Path("/tmp/llm_normalize_bench_spark"))
    parser.add_argument("--only", choices=sorted(_RUNS), help=argparse.SUPPRESS)
    args = parser.parse_args()
    path = args.data_dir / f"leads-{args.rows}.parquet"
    if args.only:  # one path, in this fresh interpreter: print its figures as JSON
        print(json.dumps(_RUNS[args.only](path, args.latency)))
        return
    args.data_dir.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        _write_data(args.rows, path)
    results = []
    for name in ("spark", "pandas"):
        command = [sys.executable, __file__, "--only", name, "--rows", str(args.rows)]
        command += ["--latency", str(args.latency), "--data-dir", str(args.data_dir)]
        done = subprocess.run(
            command, capture_output=True, text=True, check=True, env=os.environ.copy()
        )
        results.append(json.loads(done.stdout.strip().splitlines()[-1]))
        print(f"{name}: done in {results[-1]['wall_s']:.1f} s", file=sys.stderr)
    print(f"{args.rows:,} leads, {os.cpu_count()} cores, {args.latency} s per model call")
    print(_table(results))


if __name__ == "__main__":
    main()
