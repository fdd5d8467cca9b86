"""What the CSV reader costs: rows per second and peak memory, at 10k and 200k rows.

The file is what Excel in Colombia saves: a ``sep=;`` first line, ';'-separated, CRLF, with
Spanish accents, addresses holding commas and one row in 50 with a quoted line break in a
cell; UTF-8 with a BOM, or Windows-1252 with --encoding cp1252. `read_records` decodes it
line by line, detects the encoding and delimiter from its first megabyte, and streams the
rows, so its peak memory should stay flat whatever the number of rows: about one sample
(1 MB) and one row. The `stdlib DictReader` line (with --baseline) is `csv.DictReader` on a
file opened with the right encoding and delimiter, told both: the floor a reader that
detects them and checks each row can approach.

Peak memory is tracemalloc's peak during one full read (Python allocations only), in a run of
its own; rows per second come from other runs, without tracemalloc, the best of --runs.

Usage: python benchmarks/bench_csv_read.py [--sizes 10000 200000] [--runs N]
    [--encoding utf-8|cp1252] [--baseline] [--markdown]
"""

from __future__ import annotations

import argparse
import csv
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

from llm_normalize.io import Row, read_records

HEADER = ("Nombres", "Apellidos", "Dirección", "CIUDAD", "Nivel Educativo", "Teléfono", "Correo")
FIRST = ("JOSÉ", "MARÍA", "ANDRÉS", "LUIS", "ANA", "NIÑO")
LAST = ("PEÑA MUÑOZ", "GÓMEZ", "LÓPEZ PÉREZ", "RAMÍREZ", "DÍAZ")
CITIES = ("BOGOTÁ D.C.", "Medellín", "cali", "Barranquilla", "Bucaramanga")
LEVELS = ("Técnico", "Bachiller Académico", "Profesional", "Tecnólogo")

Reader = Callable[[Path, str], int]


def write_export(path: Path, rows: int, encoding: str) -> None:
    """A synthetic Excel export of `rows` leads (synthetic names, no real data)."""
    with path.open("w", encoding=encoding, newline="") as stream:
        if encoding == "utf-8":
            stream.write("\ufeff")
        stream.write("sep=;\r\n")
        writer = csv.writer(stream, delimiter=";", lineterminator="\r\n")
        writer.writerow(HEADER)
        for i in range(rows):
            address = f"Calle {i % 200} # {i % 90}-{i % 70}, apto {i % 40}"
            if i % 50 == 0:
                address += "\nBarrio Centro"
            writer.writerow(
                (
                    FIRST[i % 6],
                    LAST[i % 5],
                    address,
                    CITIES[i % 5],
                    LEVELS[i % 4],
                    f"3{i:09d}",
                    f"lead{i}@example.com",
                )
            )


def read_llm_normalize(path: Path, encoding: str) -> int:
    return sum(1 for item in read_records(path) if isinstance(item, Row))


def read_stdlib(path: Path, encoding: str) -> int:
    with path.open(encoding="utf-8-sig" if encoding == "utf-8" else encoding, newline="") as f:
        f.readline()  # the sep= line
        return sum(1 for _ in csv.DictReader(f, delimiter=";"))


def measure(reader: Reader, path: Path, encoding: str, runs: int) -> tuple[int, float, int]:
    """Rows read, the best rows per second of `runs`, and the tracemalloc peak of one read."""
    best = float("inf")
    count = 0
    for _ in range(runs):
        start = time.perf_counter()
        count = reader(path, encoding)
        best = min(best, time.perf_counter() - start)
    tracemalloc.start()
    try:
        reader(path, encoding)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return count, count / best, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 200_000])
    parser.add_argument("--runs", type=int, default=3, help="timed reads per size (best kept)")
    parser.add_argument("--encoding", choices=["utf-8", "cp1252"], default="utf-8")
    parser.add_argument("--baseline", action="store_true", help="also time csv.DictReader")
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    args = parser.parse_args()

    readers: dict[str, Reader] = {"read_records": read_llm_normalize}
    if args.baseline:
        readers["stdlib DictReader"] = read_stdlib
    results: list[tuple[str, int, float, int, float]] = []
    with tempfile.TemporaryDirectory() as folder:
        for size in args.sizes:
            path = Path(folder) / f"leads_{size}.csv"
            write_export(path, size, args.encoding)
            megabytes = path.stat().st_size / 1e6
            for name, reader in readers.items():
                count, rate, peak = measure(reader, path, args.encoding, args.runs)
                assert count == size, (name, count, size)
                results.append((name, size, megabytes, peak, rate))

    if args.markdown:
        print("| reader | rows | file MB | peak MB | rows/s |\n|---|---:|---:|---:|---:|")
        for name, size, megabytes, peak, rate in results:
            print(f"| {name} | {size:,} | {megabytes:.1f} | {peak / 1e6:.2f} | {rate:,.0f} |")
    else:
        print(f"{'reader':20}{'rows':>10}{'file MB':>10}{'peak MB':>10}{'rows/s':>12}")
        for name, size, megabytes, peak, rate in results:
            print(f"{name:20}{size:>10,}{megabytes:>10.1f}{peak / 1e6:>10.2f}{rate:>12,.0f}")
    print(f"({args.encoding}, ';'-separated with a sep= line, CRLF; peak is tracemalloc's)")


if __name__ == "__main__":
    main()
