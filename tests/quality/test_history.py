"""llm_normalize.quality.history: the previous report and drift against it."""

import json
from pathlib import Path

import pytest

from llm_normalize.quality import QualityReport, drift_z, quality_report
from llm_normalize.quality.history import as_previous, history_path, write_history
from quality.helpers import item, items


class TestDrift:
    def test_drift_against_previous_report(self) -> None:
        """A rate that moved significantly since the previous report is drift."""
        previous = quality_report(items(40, 60), bands={})
        current = quality_report(items(80, 20), bands={}, previous=previous.to_json())
        [anomaly] = current.anomalies
        assert (anomaly.kind, anomaly.metric) == ("drift", "improvement")
        assert anomaly.z == pytest.approx(drift_z(80, 100, 40, 100))
        assert anomaly.expected == pytest.approx(0.4)

    def test_previous_as_object_or_dict(self) -> None:
        """The previous report may be the object or its parsed JSON; no change, no drift."""
        previous = quality_report(items(40, 60), bands={})
        for given in (previous, json.loads(previous.to_json())):
            assert not quality_report(items(42, 58), bands={}, previous=given).has_anomalies

    def test_a_field_new_since_the_previous_report_cannot_drift(self) -> None:
        """A field the previous report does not hold is not compared."""
        previous = quality_report(items(40, 60), bands={})
        current = quality_report(items(95, 5, field="empresa"), bands={}, previous=previous)
        assert not current.has_anomalies

    def test_as_previous(self) -> None:
        """The previous report may be absent, the object, its JSON text or the parsed JSON."""
        report = quality_report(items(3, 2), bands={})
        assert as_previous(None) is None
        assert as_previous(report) is report
        assert as_previous(report.to_json()) == report
        assert as_previous(json.loads(report.to_json())) == report


class TestHistoryFile:
    def test_sqlite_store_keeps_its_history_beside_it(self) -> None:
        """A SQLite store's history is <database>.quality.json; other stores keep none."""
        assert history_path("sqlite:///data/leads.db") == "data/leads.db.quality.json"
        assert history_path("SQLITE:////tmp/leads.db") == "/tmp/leads.db.quality.json"
        assert history_path("memory://") is None
        assert history_path("dynamodb://Leads") is None

    def test_history_holds_figures_never_values(self, tmp_path: Path) -> None:
        """The history is the report without values, and reads back as the next previous."""
        rows = [item(str(i), f"CANARY-ORIG-{i}", f"canary-norm-{i}") for i in range(50)]
        report = quality_report(rows, sample_rate=1.0, bands={})
        path = tmp_path / "leads.db.quality.json"
        write_history(report, path)
        text = path.read_text(encoding="utf-8")
        assert "canary" not in text.casefold()
        kept = QualityReport.from_json(text)
        assert kept == report.without_values()
        again = quality_report(rows, bands={}, previous=text)
        assert [a for a in again.anomalies if a.kind == "drift"] == []
        assert again.field("ciudad").improvement == kept.field("ciudad").improvement
