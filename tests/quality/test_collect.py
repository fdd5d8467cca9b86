"""llm_normalize.quality.collect: what one pass over items, stores and records counts."""

import pytest

from llm_normalize.pipeline import Normalizer
from llm_normalize.quality import quality_report
from llm_normalize.records import FieldResult, NormalizedRecord
from llm_normalize.stores.memory import MemoryLeadStore
from quality.helpers import item, items


class TestFigures:
    def test_rates_counts_and_sources(self) -> None:
        """Coverage, improvement, distinct values, sources, flags and empties are counted."""
        rows = [
            item("1", "bogota", "Bogotá D.C."),
            item("2", "BOGOTA", "Bogotá D.C.", source="llm"),
            item("3", "Cali", "Cali", source="cache"),
            item("4", "xyz", "Xyz", flags=("not_confident",)),
            item("5", "abc", "abc", source="llm", flags=("guard_rejected",)),
            item("6", "  ", ""),
            item("7", None, None),
        ]
        report = quality_report(rows, bands={})
        city = report.field("ciudad")
        assert (report.records, report.records_normalized) == (7, 7)
        assert (city.values, city.empty) == (7, 2)
        assert (city.coverage.successes, city.coverage.n) == (3, 5)
        assert (city.improvement.successes, city.improvement.n) == (3, 5)
        assert (city.distinct_before, city.distinct_after) == (5, 4)
        assert city.sources == {"cache": 1, "llm": 2, "rules": 4}
        assert city.flags == {"guard_rejected": 1, "not_confident": 1}
        assert city.guard_rejections == 1
        assert city.top_mappings[0].model_dump() == {
            "original": "BOGOTA",
            "normalized": "Bogotá D.C.",
            "count": 1,
        }
        assert len(city.top_mappings) == 3
        assert city.source_shares()["llm"] == pytest.approx(2 / 7)

    def test_top_mappings_are_most_frequent_first(self) -> None:
        """Mappings are ordered by count and cut at top_n."""
        rows = [item(str(i), "bogota", "Bogotá D.C.") for i in range(3)]
        rows += [item(f"m{i}", "medellin", "Medellín") for i in range(2)]
        rows += [item("x", "cali", "Cali")]
        city = quality_report(rows, top_n=2, bands={}).field("ciudad")
        assert [(m.original, m.count) for m in city.top_mappings] == [
            ("bogota", 3),
            ("medellin", 2),
        ]

    def test_normalized_records_are_accepted(self) -> None:
        """NormalizedRecords from the pipeline report like stored items."""
        lead = {"leadId": "a", "ciudad": "bogota", "nombres": "JUAN"}
        records = Normalizer().normalize([lead])
        report = quality_report(records, bands={})
        assert report.field("ciudad").improvement.successes == 1
        assert report.field("nombres").sources == {"rules": 1}

    def test_fields_filter_matches_either_spelling(self) -> None:
        """Only the fields asked for are reported, snake_case or camelCase."""
        rows = [item("1", "Bachiller", "Bachiller", field="nivelEducativo"), item("2", "a", "A")]
        report = quality_report(rows, fields=["nivel_educativo"], bands={})
        assert [f.field for f in report.fields] == ["nivelEducativo"]

    def test_items_without_normalized_data_are_skipped(self) -> None:
        """Leads not normalized yet are read but not measured."""
        report = quality_report([{"leadId": "1", "ciudad": "x"}, item("2", "a", "A")])
        assert (report.records, report.records_normalized) == (2, 1)

    def test_store_object_is_scanned(self) -> None:
        """A LeadStore is read through scan()."""
        store = MemoryLeadStore()
        store.put(items(2, 1))
        assert quality_report(store).records == 3


class TestSpotCheck:
    def test_sample_is_reproducible_and_order_independent(self) -> None:
        """The same seed picks the same leads, whatever the order they are read in."""
        rows = items(500, 500)
        first = quality_report(rows, sample_rate=0.05, seed=7, bands={})
        again = quality_report(list(reversed(rows)), sample_rate=0.05, seed=7, bands={})
        other = quality_report(rows, sample_rate=0.05, seed=8, bands={})
        ids = [spot.id for spot in first.sample]
        assert ids == [spot.id for spot in again.sample]
        assert ids != [spot.id for spot in other.sample]
        assert 20 <= len(ids) <= 85

    def test_sample_shows_original_beside_normalized(self) -> None:
        """Each sampled lead lists its fields with original and normalized values."""
        report = quality_report([item("1", "bogota", "Bogotá D.C.")], sample_rate=1.0, bands={})
        [spot] = report.sample
        assert spot.id == "1"
        assert spot.values[0].model_dump() == {
            "field": "ciudad",
            "original": "bogota",
            "normalized": "Bogotá D.C.",
            "source": "rules",
            "flags": [],
        }

    def test_zero_rate_samples_nothing(self) -> None:
        """sample_rate=0 gives an empty sample."""
        assert quality_report(items(10, 10), sample_rate=0.0).sample == []

    def test_records_are_read_through_their_stored_meta(self) -> None:
        """A record's flags and sources count as a store's would; a failed record is counted."""
        flagged = NormalizedRecord(
            id="a",
            original={"ciudad": "xyz", "nombres": "ANA"},
            fields={
                "ciudad": FieldResult("Xyz", "rules", False, flags=("not_confident",)),
                "nombres": FieldResult("Ana", "cache", True),
            },
        )
        failed = NormalizedRecord(id="b", original={}, error="expected a mapping, got list")
        report = quality_report([flagged, failed], bands={}, sample_rate=1.0)
        assert (report.records, report.records_normalized, report.records_failed) == (2, 1, 1)
        assert report.field("ciudad").flags == {"not_confident": 1}
        assert report.field("ciudad").coverage.successes == 0
        assert report.field("nombres").sources == {"cache": 1}
        assert report.field("nombres").flags == {}
        [spot] = report.sample
        assert [(v.field, v.source, v.flags) for v in spot.values] == [
            ("ciudad", "rules", ["not_confident"]),
            ("nombres", "cache", []),
        ]

    def test_original_found_under_either_spelling(self) -> None:
        """An original stored as nivel_educativo is matched to normalizedData's nivelEducativo."""
        row = {
            "leadId": "1",
            "nivel_educativo": "bachiller",
            "normalizedData": {"nivelEducativo": "Bachiller"},
        }
        field = quality_report([row], bands={}).field("nivelEducativo")
        assert (field.values, field.improvement.successes) == (1, 1)
        assert field.sources == {}
