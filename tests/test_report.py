"""Run figures: RunCounts added stage by stage, RunReport.merge, the moved names."""

import importlib
import sys

import pytest

from llm_normalize.messages import Usage
from llm_normalize.report import RunCounts, RunReport

HAIKU = "anthropic.claude-3-haiku-20240307-v1:0"


class TestRunCounts:
    def test_addition(self) -> None:
        """Counts, tokens and tallies add up; the first early stop is kept."""
        first = RunCounts(model_calls=2, usage=Usage(10, 5), guard_rejections={"a": 1})
        second = RunCounts(
            model_calls=1,
            usage=Usage(1, 1),
            guard_rejections={"a": 2, "b": 1},
            stopped_early="budget",
        )
        third = RunCounts(stopped_early="deadline")
        total = first + second + third
        assert total.model_calls == 3
        assert total.usage == Usage(11, 6)
        assert total.guard_rejections == {"a": 3, "b": 1}
        assert total.stopped_early == "budget"

    def test_freeze_prices_the_total(self) -> None:
        """The report's cost is that of the summed tokens, on the run's model."""
        report = RunCounts(usage=Usage(1_000_000, 0), stopped_early="budget").freeze(
            model_id=HAIKU, prompt_version="v", started_at=None, duration_s=1.5
        )
        assert report.estimated_cost_usd == pytest.approx(0.25)
        assert report.budget_exhausted
        assert report.enabled


class TestMerge:
    def test_none_and_one(self) -> None:
        """No report merges to None, one to itself."""
        report = RunReport(records_in=1)
        assert RunReport.merge([]) is None
        assert RunReport.merge([report]) is report

    def test_several(self) -> None:
        """Numbers and tallies add up, enabled needs all, the first model and stop win."""
        merged = RunReport.merge(
            [
                RunReport(
                    records_in=2, estimated_cost_usd=0.5, errors_by_kind={"X": 1}, model_id="m"
                ),
                RunReport(
                    records_in=3, estimated_cost_usd=None, errors_by_kind={"X": 2}, enabled=False
                ),
                RunReport(records_in=1, budget_exhausted=True, stopped_early="budget"),
            ]
        )
        assert merged is not None
        assert merged.records_in == 6
        assert merged.estimated_cost_usd == 0.5
        assert merged.errors_by_kind == {"X": 3}
        assert merged.model_id == "m"
        assert not merged.enabled
        assert merged.budget_exhausted
        assert merged.stopped_early == "budget"


class TestMovedNames:
    @pytest.mark.parametrize(
        ("name", "module"),
        [
            ("PRICES_PER_MILLION_TOKENS", "llm_normalize.pricing"),
            ("price_of", "llm_normalize.pricing"),
            ("quality_report", "llm_normalize.quality"),
        ],
    )
    def test_old_report_names_warn(self, name: str, module: str) -> None:
        """Names that left llm_normalize.report still work there, with a DeprecationWarning."""
        import llm_normalize.report as report

        with pytest.deprecated_call():
            value = getattr(report, name)
        assert value is getattr(importlib.import_module(module), name)

    def test_files_module_warns(self) -> None:
        """llm_normalize.files still gives the io functions, with a DeprecationWarning."""
        sys.modules.pop("llm_normalize.files", None)
        with pytest.deprecated_call():
            files = importlib.import_module("llm_normalize.files")
        from llm_normalize.io import read_records

        assert files.read_records is read_records
