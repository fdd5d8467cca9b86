"""What the writers do to keep exports safe: formulas, signals, closed pipes, memory."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import weakref
from collections.abc import Generator, Iterator, Mapping
from pathlib import Path
from typing import Any, cast

import pytest
from hypothesis import given
from hypothesis import strategies as st

from llm_normalize.io import (
    Terminated,
    cleanup_on_signals,
    quiet_broken_pipe,
    write_csv,
    write_items,
    write_jsonl,
    write_text,
)
from llm_normalize.io._csv_write import FORMULA_TRIGGERS, neutralize_formula
from llm_normalize.records import NORMALIZATION_META, NORMALIZED_DATA, FieldResult, NormalizedRecord

POSIX = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals and pipes")

HOSTILE = [
    '=HYPERLINK("http://x","y")',
    "+57 304 585 7609",
    "-5",
    "@SUM(A1)",
    "\tcmd",
    "\r=1+1",
]


def record(original: Mapping[str, Any], **values: str | None) -> NormalizedRecord:
    fields = {name: FieldResult(value, "rules", True) for name, value in values.items()}
    return NormalizedRecord(id="1", original=dict(original), fields=fields)


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as stream:
        return list(csv.DictReader(stream))


def kill_self(signum: int) -> None:
    os.kill(os.getpid(), signum)
    for _ in range(10**6):  # Python runs the handler between bytecodes, soon after the kill
        pass


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.startswith("."))


class TestFormulaNeutralisation:
    @pytest.mark.parametrize("value", HOSTILE)
    def test_write_csv_prefixes_formula_cells(self, tmp_path: Path, value: str) -> None:
        """A cell starting with = + - @ tab or CR gets a leading apostrophe, originals and normalized alike."""
        out = tmp_path / "out.csv"
        list(write_csv(iter([record({"c": value}, c=value)]), out, columns=["c"], fields=["c"]))
        [row] = read_csv(out)
        assert row["c"] == "'" + value
        assert row["c_normalized"] == "'" + value

    @pytest.mark.parametrize("value", ["Ana María", "", "3045857609", "a=b", " =1", "'=1"])
    def test_plain_text_is_unchanged(self, tmp_path: Path, value: str) -> None:
        """Cells not starting with a formula character are written as they are."""
        out = tmp_path / "out.csv"
        list(write_csv(iter([record({"c": value})]), out, columns=["c"], fields=[]))
        [row] = read_csv(out)
        assert row["c"] == value

    def test_header_cells_are_neutralised(self, tmp_path: Path) -> None:
        """Column names come from the input too, so a formula in a header is prefixed."""
        out = tmp_path / "out.csv"
        list(write_csv(iter([record({"=cmd": "x"})]), out, columns=["=cmd"], fields=[]))
        assert list(read_csv(out)[0]) == ["'=cmd", "normalization_review"]

    def test_record_is_not_changed(self, tmp_path: Path) -> None:
        """Only the CSV cell text changes: the record's values stay as they were."""
        result = record({"c": "=1+1"}, c="=1+1")
        list(write_csv(iter([result]), tmp_path / "o.csv", columns=["c"], fields=["c"]))
        assert result.original["c"] == "=1+1"
        assert result.normalized["c"] == "=1+1"

    def test_jsonl_is_never_altered(self, tmp_path: Path) -> None:
        """JSONL keeps every value exactly: it is data for programs, not a spreadsheet."""
        out = tmp_path / "out.jsonl"
        list(
            write_jsonl(
                iter(
                    [
                        record({"c": v} | {f"k{i}": v for i, v in enumerate(HOSTILE)})
                        for v in HOSTILE
                    ]
                ),
                out,
            )
        )
        lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
        assert [line["c"] for line in lines] == HOSTILE

    def test_opt_out(self, tmp_path: Path) -> None:
        """neutralize_formulas=False writes cells as they are."""
        out = tmp_path / "out.csv"
        list(
            write_csv(
                iter([record({"c": "=1+1"})]),
                out,
                columns=["c"],
                fields=[],
                neutralize_formulas=False,
            )
        )
        assert read_csv(out)[0]["c"] == "=1+1"

    @pytest.mark.parametrize("value", HOSTILE)
    def test_write_items_prefixes_formula_cells(self, tmp_path: Path, value: str) -> None:
        """The store export neutralises originals and normalized values alike."""
        out = tmp_path / "out.csv"
        item = {"leadId": "a", "c": value, NORMALIZED_DATA: {"c": value}}
        assert write_items([item], out, "csv") == 1
        [row] = read_csv(out)
        assert row["c"] == "'" + value
        assert row["c_normalized"] == "'" + value
        assert row["leadId"] == "a"

    def test_write_items_jsonl_is_never_altered(self, tmp_path: Path) -> None:
        """The JSONL export writes items as stored."""
        out = tmp_path / "out.jsonl"
        write_items([{"c": v} for v in HOSTILE], out, "jsonl")
        lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
        assert [line["c"] for line in lines] == HOSTILE


class TestNeutralizeFormulaProperties:
    @given(st.text())
    def test_never_starts_a_formula(self, value: str) -> None:
        """Whatever the text, the cell starts with no trigger, and only gains a leading quote."""
        cell = neutralize_formula(value)
        assert cell[:1] not in FORMULA_TRIGGERS
        assert cell in (value, "'" + value)

    @given(st.text())
    def test_idempotent(self, value: str) -> None:
        """Neutralising twice is neutralising once."""
        assert neutralize_formula(neutralize_formula(value)) == neutralize_formula(value)


class TestStreamingExport:
    def test_columns_and_cells_as_before(self, tmp_path: Path) -> None:
        """Originals in first-seen order, then normalizedAt/updatedAt, then fields, then review."""
        items = [
            {"leadId": "a", "updatedAt": 2, "nombres": "ANA", NORMALIZED_DATA: {"nombres": "Ana"}},
            {
                "leadId": "b",
                "ciudad": "cali",
                "edad": 30,
                "normalizedAt": 1,
                NORMALIZED_DATA: {"ciudad": "Cali"},
                NORMALIZATION_META: {"flags": {"ciudad": ["not_confident"], "a": ["x"]}},
            },
        ]
        out = tmp_path / "out.csv"
        assert write_items(iter(items), out, "csv") == 2
        rows = read_csv(out)
        assert list(rows[0]) == [
            "leadId",
            "nombres",
            "ciudad",
            "edad",
            "normalizedAt",
            "updatedAt",
            "nombres_normalized",
            "ciudad_normalized",
            "normalization_review",
        ]
        assert rows[0]["updatedAt"] == "2"
        assert rows[0]["ciudad"] == ""
        assert rows[1]["edad"] == "30"
        assert rows[1]["ciudad_normalized"] == "Cali"
        assert rows[1]["normalization_review"] == "a;ciudad"

    def test_items_are_not_held(self, tmp_path: Path) -> None:
        """The CSV export lets go of each item once it is spooled: memory stays flat."""

        class Value:
            def __str__(self) -> str:
                return "v"

        refs: list[weakref.ref[Value]] = []
        most_alive = 0

        def items() -> Iterator[dict[str, Any]]:
            nonlocal most_alive
            for i in range(200):
                value = Value()
                refs.append(weakref.ref(value))
                most_alive = max(most_alive, sum(ref() is not None for ref in refs))
                yield {"leadId": str(i), "v": value}

        assert write_items(items(), tmp_path / "out.csv", "csv") == 200
        assert most_alive <= 2
        assert read_csv(tmp_path / "out.csv")[0]["v"] == '"v"'

    def test_no_spool_file_is_left_or_visible(self, tmp_path: Path) -> None:
        """While the export runs, only the owner-only temporary output exists; after, only the output."""
        seen: list[tuple[str, int]] = []

        def items() -> Iterator[dict[str, Any]]:
            yield {"leadId": "a"}
            seen.extend((p.name, p.stat().st_mode & 0o777) for p in tmp_path.iterdir())
            yield {"leadId": "b"}

        write_items(items(), tmp_path / "out.csv", "csv")
        assert all(name.startswith(".out.csv.") and mode == 0o600 for name, mode in seen)
        assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv"]

    def test_failure_leaves_nothing(self, tmp_path: Path) -> None:
        """An error mid-export leaves neither output, temporary file nor spool behind."""

        def items() -> Iterator[dict[str, Any]]:
            yield {"leadId": "a"}
            raise RuntimeError("boom")

        with pytest.raises(RuntimeError):
            write_items(items(), tmp_path / "out.csv", "csv")
        assert list(tmp_path.iterdir()) == []

    def test_write_csv_streams(self, tmp_path: Path) -> None:
        """write_csv passes each record on as it writes it, without reading ahead."""
        pulled = 0

        def results() -> Iterator[NormalizedRecord]:
            nonlocal pulled
            for i in range(3):
                pulled += 1
                yield record({"c": str(i)})

        stream = write_csv(results(), tmp_path / "o.csv", columns=["c"], fields=[])
        next(stream)
        assert pulled == 1
        list(stream)


class TestSignalsInProcess:
    @POSIX
    def test_sigterm_mid_write_removes_temp_file(self, tmp_path: Path) -> None:
        """SIGTERM during a write raises Terminated (exit status 143) and removes the temporary file."""

        def results() -> Iterator[NormalizedRecord]:
            yield record({"c": "a"})
            os.kill(os.getpid(), signal.SIGTERM)
            yield record({"c": "b"})

        with pytest.raises(Terminated) as caught:
            list(write_jsonl(results(), tmp_path / "out.jsonl"))
        assert caught.value.code == 143
        assert caught.value.signum == signal.SIGTERM
        assert list(tmp_path.iterdir()) == []
        assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL

    @POSIX
    def test_sigterm_while_generator_is_suspended(self, tmp_path: Path) -> None:
        """A signal that lands outside the writer's frame still removes its temporary file at once."""
        writer = write_jsonl(iter([record({"c": "a"}), record({"c": "b"})]), tmp_path / "o.jsonl")
        next(writer)
        assert leftovers(tmp_path) != []
        with pytest.raises(Terminated):
            kill_self(signal.SIGTERM)
        assert list(tmp_path.iterdir()) == []
        cast("Generator[NormalizedRecord]", writer).close()
        assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL

    @POSIX
    def test_sigterm_while_export_writes_csv(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """SIGTERM in the export's second pass (spool to CSV) leaves neither file behind."""
        from llm_normalize.io import _csv_write

        def neutralize(cell: str) -> str:
            if cell == "b":
                os.kill(os.getpid(), signal.SIGTERM)
            return cell

        monkeypatch.setattr(_csv_write, "neutralize_formula", neutralize)
        with pytest.raises(Terminated):
            write_items([{"v": "a"}, {"v": "b"}, {"v": "c"}], tmp_path / "out.csv", "csv")
        assert list(tmp_path.iterdir()) == []

    @POSIX
    def test_handlers_restored_and_others_respected(self) -> None:
        """The guard installs over default handlers only, and puts them back after."""
        previous = signal.signal(signal.SIGHUP, signal.SIG_IGN)  # as under nohup
        try:
            with cleanup_on_signals():
                assert signal.getsignal(signal.SIGTERM) not in (signal.SIG_DFL, None)
                assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN
                with cleanup_on_signals():
                    pass
                assert signal.getsignal(signal.SIGTERM) not in (signal.SIG_DFL, None)
            assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
            assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN
        finally:
            signal.signal(signal.SIGHUP, previous)

    def test_other_threads_install_nothing(self, tmp_path: Path) -> None:
        """From a worker thread the guard installs no handler and the write still works."""
        errors: list[BaseException] = []

        def work() -> None:
            try:
                with cleanup_on_signals():
                    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
                write_text(tmp_path / "t.txt", "hola")
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        thread = threading.Thread(target=work)
        thread.start()
        thread.join()
        assert errors == []
        assert (tmp_path / "t.txt").read_text(encoding="utf-8") == "hola"


SLOW_WRITER = textwrap.dedent(
    """
    import sys, time
    from llm_normalize.io import write_items, write_jsonl
    from llm_normalize.records import NormalizedRecord

    kind, target = sys.argv[1], sys.argv[2]

    def slow(n):
        for i in range(n):
            yield i
            if i == 1:
                print("ready", flush=True)
            time.sleep(0.02)

    if kind == "jsonl":
        records = (NormalizedRecord(id=str(i), original={"nombres": "ANA"}) for i in slow(3000))
        for _ in write_jsonl(records, target):
            pass
    else:
        write_items(({"leadId": str(i), "nombres": "ANA"} for i in slow(3000)), target, "csv")
    """
)


@POSIX
class TestSignalsForReal:
    def start(self, tmp_path: Path, kind: str, target: Path) -> subprocess.Popen[str]:
        script = tmp_path / "slow_writer.py"
        script.write_text(SLOW_WRITER, encoding="utf-8")
        proc = subprocess.Popen(
            [sys.executable, str(script), kind, str(target)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert proc.stdout is not None
        assert proc.stdout.readline() == "ready\n"
        return proc

    @pytest.mark.parametrize(
        ("kind", "name", "signum"),
        [
            ("jsonl", "out.jsonl", signal.SIGTERM),
            ("csv", "out.csv", signal.SIGTERM),
            ("jsonl", "out.jsonl", getattr(signal, "SIGHUP", 1)),
        ],
    )
    def test_signal_removes_temp_file(
        self, tmp_path: Path, kind: str, name: str, signum: int
    ) -> None:
        """A killed writer exits 128+signal and leaves no temporary file and no output."""
        out_dir = tmp_path / "out"
        out_dir.mkdir()
        target = out_dir / name
        proc = self.start(tmp_path, kind, target)
        if kind == "jsonl":  # the CSV export is spooling its items: to a file with no name
            assert leftovers(out_dir) != []
        proc.send_signal(signum)
        _, stderr = proc.communicate(timeout=30)
        assert proc.returncode == 128 + signum
        assert stderr == ""
        assert list(out_dir.iterdir()) == []

    def test_existing_target_keeps_its_contents(self, tmp_path: Path) -> None:
        """A file being replaced keeps its old contents when the writer is killed."""
        out_dir = tmp_path / "out"
        out_dir.mkdir()
        target = out_dir / "out.jsonl"
        target.write_text("old\n", encoding="utf-8")
        proc = self.start(tmp_path, "jsonl", target)
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=30)
        assert proc.returncode == 143
        assert target.read_text(encoding="utf-8") == "old\n"
        assert leftovers(out_dir) == []


PIPE_WRITER = textwrap.dedent(
    """
    import sys
    from llm_normalize.io import quiet_broken_pipe, write_csv, write_jsonl
    from llm_normalize.records import NormalizedRecord

    records = (NormalizedRecord(id=str(i), original={"nombres": "ANA"}) for i in range(100_000))
    with quiet_broken_pipe():
        if sys.argv[1] == "jsonl":
            for _ in write_jsonl(records, "-"):
                pass
        else:
            for _ in write_csv(records, None, columns=["nombres"], fields=[], dialect="excel"):
                pass
    """
)


@POSIX
class TestClosedPipe:
    @pytest.mark.parametrize("kind", ["jsonl", "csv"])
    def test_reader_closing_early_ends_quietly(self, tmp_path: Path, kind: str) -> None:
        """`... | head -1`: no traceback, exit status 141 (128 + SIGPIPE) as other tools."""
        script = tmp_path / "pipe_writer.py"
        script.write_text(PIPE_WRITER, encoding="utf-8")
        proc = subprocess.Popen(
            [sys.executable, str(script), kind], stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        assert proc.stdout is not None
        assert proc.stderr is not None
        with proc.stdout, proc.stderr:
            first = proc.stdout.readline()
            proc.stdout.close()
            stderr = proc.stderr.read()
        proc.wait(timeout=30)
        assert first
        assert stderr == b""
        assert proc.returncode == 141

    def test_other_errors_pass_through(self) -> None:
        """Only a closed pipe is made quiet: other errors propagate."""
        with pytest.raises(OSError, match="disk"), quiet_broken_pipe():
            raise OSError(28, "disk full")

    def test_stdout_without_file_descriptor(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Under a stdout without a descriptor (a notebook), a closed pipe still exits 141."""
        monkeypatch.setattr(sys, "stdout", io.StringIO())
        with pytest.raises(SystemExit) as caught, quiet_broken_pipe():
            raise BrokenPipeError
        assert caught.value.code == 141
