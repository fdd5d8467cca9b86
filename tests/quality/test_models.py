"""llm_normalize.quality.models: the report's JSON and repr."""

import json

from llm_normalize.quality import QualityReport, quality_report
from quality.helpers import items


class TestQualityReportModel:
    def test_json_round_trip(self) -> None:
        """to_json and from_json give back the same report."""
        report = quality_report(items(3, 2), sample_rate=1.0)
        assert QualityReport.from_json(report.to_json()) == report
        assert json.loads(report.to_json())["fields"][0]["coverage"]["n"] == 5

    def test_repr_is_short(self) -> None:
        """repr names counts, never values."""
        report = quality_report(items(3, 2), sample_rate=1.0)
        assert repr(report) == "QualityReport(records=5, fields=1, anomalies=0)"
        assert report._repr_html_() == report.to_html()
