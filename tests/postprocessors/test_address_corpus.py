"""The address corpus of issue 13: real-shaped addresses and what a careful human writes.

`tests/data/address_corpus.tsv` holds addresses shaped like those typed into CRMs, public
directories and open-data exports (made up: no real person's address): every street type and
city convention, towns, buildings and shopping centres before or after the street,
urbanizations, rural kilometres and veredas, phone numbers pasted after the address, runs of
spaces and mixed punctuation. Each row gives the canonical form a careful human writes
(``expected``), whether the rules should be sure of it (``confident``) and its shape.

The rules must be sure of at least 70% of the corpus and never wrongly sure: a confident
outcome is always a row marked confident, written exactly as expected.
``python -m pytest tests/postprocessors/test_address_corpus.py -s`` prints the unsure rows
by reason.
"""

import csv
import functools
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from guard_support import DIRECCION, GUARD
from llm_normalize.postprocessors.address import assess_address
from llm_normalize.postprocessors.base import Outcome

CORPUS = Path(__file__).resolve().parents[1] / "data" / "address_corpus.tsv"

_MIN_ROWS = 300
_MIN_SHAPES = 15
_MIN_CONFIDENT_SHARE = 0.70


@dataclass(frozen=True)
class Row:
    """One address of the corpus: as typed, as a careful human writes it, and if it is sure."""

    raw: str
    expected: str
    confident: bool
    shape: str


@functools.cache
def corpus() -> tuple[Row, ...]:
    with CORPUS.open(encoding="utf-8", newline="") as lines:
        reader = csv.DictReader(lines, delimiter="\t", quoting=csv.QUOTE_NONE)
        return tuple(
            Row(line["raw"], line["expected"], line["confident"] == "yes", line["shape"])
            for line in reader
        )


@functools.cache
def outcomes() -> tuple[tuple[Row, Outcome], ...]:
    """Each row with the rules' outcome, in the canonical form the corpus is written in."""
    return tuple((row, assess_address(row.raw, "legacy")) for row in corpus())


def confident_errors() -> list[str]:
    """The rows the rules are sure of although they should not be, or write otherwise."""
    return [
        f"{row.raw!r} -> {outcome.value!r} (expected {row.expected!r}, confident {row.confident})"
        for row, outcome in outcomes()
        if outcome.confident and (not row.confident or outcome.value != row.expected)
    ]


def render_unsure() -> str:
    """The rows the rules leave to the model, by reason, with what the rules wrote."""
    by_reason: dict[str, list[str]] = defaultdict(list)
    for row, outcome in outcomes():
        if not outcome.confident:
            mark = " (should be sure)" if row.confident else ""
            by_reason[outcome.reason or "?"].append(f"  {row.raw!r} -> {outcome.value!r}{mark}")
    confident = sum(outcome.confident for _, outcome in outcomes())
    lines = [f"confident on {confident} of {len(outcomes())} ({confident / len(outcomes()):.1%})"]
    for reason, rows in sorted(by_reason.items(), key=lambda item: -len(item[1])):
        lines.append(f"{reason}: {len(rows)}")
        lines.extend(rows)
    return "\n".join(lines)


class TestAddressCorpus:
    def test_corpus_is_large_and_varied(self) -> None:
        """At least 300 distinct addresses of at least 15 shapes, each with its written form."""
        rows = corpus()
        assert len(rows) >= _MIN_ROWS
        assert len({row.raw for row in rows}) == len(rows)
        assert len({row.shape for row in rows}) >= _MIN_SHAPES
        assert all(row.raw.strip() and row.expected.strip() for row in rows)

    def test_no_confident_error(self) -> None:
        """Whatever the rules are sure of is marked sure and written as a careful human does."""
        errors = confident_errors()
        assert not errors, "\n".join(errors)

    def test_confident_share(self) -> None:
        """The rules are sure of at least 70% of the corpus; the unsure rows are listed."""
        summary = render_unsure()
        sys.stdout.write(summary + "\n")
        confident = sum(outcome.confident for _, outcome in outcomes())
        assert confident >= _MIN_CONFIDENT_SHARE * len(outcomes()), summary

    def test_written_forms_are_fixed_points(self) -> None:
        """What a careful human writes for a sure row is read back as itself, confidently."""
        for row in corpus():
            if row.confident:
                outcome = assess_address(row.expected, "legacy")
                assert outcome == Outcome(row.expected, confident=True, reason="parsed"), row

    def test_outputs_and_written_forms_pass_the_guard(self) -> None:
        """The guard accepts the rules' output for every row, and the careful human's form."""
        for row, outcome in outcomes():
            assert GUARD.check(DIRECCION, row.raw, outcome.value).ok, row
            assert GUARD.check(DIRECCION, row.raw, row.expected).ok, row
