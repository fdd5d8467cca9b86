import json
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from llm_normalize.pipeline import Normalizer
from llm_normalize.postprocessors.registry import default_registry
from llm_normalize.quality import (
    COLOMBIAN_BANDS,
    QualityReport,
    drift_z,
    quality_report,
    wilson_interval,
    z_against_band,
)
from llm_normalize.stores.memory import MemoryLeadStore

SAMPLE = Path(__file__).resolve().parents[1] / "examples" / "leads.jsonl"
CANARY = "<script>alert(1)</script>"


def item(
    lead_id: str,
    original: str | None,
    normalized: str | None,
    *,
    field: str = "ciudad",
    source: str = "rules",
    flags: tuple[str, ...] = (),
) -> dict[str, Any]:
    return {
        "leadId": lead_id,
        field: original,
        "normalizedData": {field: normalized},
        "normalizationMeta": {
            "source": {field: source},
            "flags": {field: list(flags)} if flags else {},
        },
    }


def items(changed: int, unchanged: int, *, field: str = "ciudad") -> list[dict[str, Any]]:
    rows = [item(f"c{i}", f"bogota {i}", f"Bogotá {i}", field=field) for i in range(changed)]
    rows += [item(f"u{i}", f"Cali {i}", f"Cali {i}", field=field) for i in range(unchanged)]
    return rows


@pytest.fixture(scope="module")
def sample_store() -> MemoryLeadStore:
    store = MemoryLeadStore()
    store.put(json.loads(line) for line in SAMPLE.read_text(encoding="utf-8").splitlines())
    Normalizer().run(store, force=True, limit=10_000)
    return store


class _Checker(HTMLParser):
    """Collects tags and checks that every non-void element is closed in order."""

    VOID = frozenset({"meta", "br", "hr", "img", "input", "link", "rect", "path"})

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.tags: list[str] = []
        self.errors: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in self.VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"unexpected </{tag}> with open {self.stack[-3:]}")
            return
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(page: str) -> _Checker:
    checker = _Checker()
    checker.feed(page)
    checker.close()
    return checker


class TestWilson:
    @pytest.mark.parametrize(
        ("successes", "n", "low", "high"),
        [
            (0, 10, 0.0, 0.2775),
            (10, 10, 0.7225, 1.0),
            (5, 10, 0.2366, 0.7634),
            (1, 10, 0.0179, 0.4042),
            (50, 100, 0.4038, 0.5962),
            (0, 0, 0.0, 1.0),
        ],
    )
    def test_known_values(self, successes: int, n: int, low: float, high: float) -> None:
        """The interval matches published Wilson score values to four decimals."""
        got_low, got_high = wilson_interval(successes, n)
        assert got_low == pytest.approx(low, abs=5e-5)
        assert got_high == pytest.approx(high, abs=5e-5)

    def test_stays_inside_unit_interval(self) -> None:
        """Unlike the normal approximation, the interval never leaves [0, 1]."""
        for n in (1, 2, 7, 1000):
            for k in range(0, n + 1, max(1, n // 10)):
                low, high = wilson_interval(k, n)
                assert 0.0 <= low <= k / n <= high <= 1.0


class TestZScores:
    def test_inside_band_is_zero(self) -> None:
        """A rate inside its band scores 0."""
        assert z_against_band(50, 100, (0.4, 0.6)) == 0.0

    def test_above_band(self) -> None:
        """Above the band, z is the distance to the upper bound in its standard errors."""
        # p = 0.9, bound 0.6, se = sqrt(0.24 / 100) = 0.04899 -> z = 6.1237
        assert z_against_band(90, 100, (0.4, 0.6)) == pytest.approx(6.1237, abs=1e-4)

    def test_below_band(self) -> None:
        """Below the band, z is negative."""
        # p = 0.1, bound 0.4, se = sqrt(0.24 / 100) -> z = -6.1237
        assert z_against_band(10, 100, (0.4, 0.6)) == pytest.approx(-6.1237, abs=1e-4)

    def test_no_observation(self) -> None:
        """No value, no evidence."""
        assert z_against_band(0, 0, (0.4, 0.6)) == 0.0

    def test_drift_known_value(self) -> None:
        """The two-proportion z-test matches a hand computation."""
        # 60/100 vs 40/100: pooled 0.5, se = sqrt(0.25 * 0.02) = 0.070711 -> z = 2.8284
        assert drift_z(60, 100, 40, 100) == pytest.approx(2.8284, abs=1e-4)
        assert drift_z(40, 100, 60, 100) == pytest.approx(-2.8284, abs=1e-4)

    def test_drift_degenerate(self) -> None:
        """Equal all-or-nothing rates and empty sides give 0."""
        assert drift_z(10, 10, 20, 20) == 0.0
        assert drift_z(0, 0, 5, 10) == 0.0


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

    def test_bad_arguments(self) -> None:
        """A sample rate outside [0, 1] is refused."""
        with pytest.raises(ValueError, match="sample_rate"):
            quality_report([], sample_rate=1.5)

    def test_real_sample_has_no_anomaly(self, sample_store: MemoryLeadStore) -> None:
        """The rules on the 2000-lead sample land inside every default band, idempotently."""
        report = quality_report(sample_store)
        assert report.records_normalized == 2000
        assert not report.has_anomalies, [a.message for a in report.anomalies]
        assert {f.field for f in report.fields} == {
            "nombres",
            "apellidos",
            "direccion",
            "ciudad",
            "nivelEducativo",
            "ocupacionActual",
            "empresa",
        }
        city = report.field("ciudad")
        assert city.distinct_before > 2 * city.distinct_after
        assert all(f.idempotence.checked > 0 for f in report.fields)


class TestAnomalies:
    def test_rate_above_band_is_an_anomaly(self) -> None:
        """An improvement rate far above its band is flagged with its z-score, without values."""
        report = quality_report(items(95, 5), bands={"ciudad": {"improvement": (0.2, 0.6)}})
        assert report.has_anomalies
        [anomaly] = report.anomalies
        assert (anomaly.kind, anomaly.metric, anomaly.field) == ("band", "improvement", "ciudad")
        assert anomaly.z == pytest.approx(z_against_band(95, 100, (0.2, 0.6)))
        assert anomaly.z > 7
        assert "bogota" not in anomaly.message.casefold()

    def test_default_bands_apply_to_camel_case_fields(self) -> None:
        """The Colombian bands match stored camelCase names."""
        assert "nivel_educativo" in COLOMBIAN_BANDS
        report = quality_report(items(0, 200, field="nivelEducativo"))
        assert [(a.field, a.metric) for a in report.anomalies] == [
            ("nivelEducativo", "improvement")
        ]

    def test_small_deviation_is_not_an_anomaly(self) -> None:
        """A rate just outside its band on few values stays under the threshold."""
        report = quality_report(items(7, 3), bands={"ciudad": {"improvement": (0.2, 0.6)}})
        assert not report.has_anomalies
        assert report.field("ciudad").z["improvement"] > 0

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

    def test_idempotence_probe_catches_double_dots(self) -> None:
        """A post-processor that adds a dot every time is caught directly."""
        registry = default_registry.derive()

        def add_dot(value: str) -> str:
            # The seed's bug: abbreviate without looking whether the dot is already there.
            return value.replace("Cra", "Cra.")

        registry.register("direccion", add_dot, replace=True)
        rows = [item(str(i), f"CRA {i}", f"Cra. {i}", field="direccion") for i in range(30)]
        rows += [item("ok", "Calle 1", "Calle 1", field="direccion")]
        report = quality_report(rows, registry=registry, bands={})
        probe = report.field("direccion").idempotence
        assert (probe.checked, probe.changed) == (31, 30)
        assert ("Cra. 0", "Cra.. 0") in probe.examples
        assert report.anomalies[0].kind == "idempotence"
        assert report.anomalies[0].message == (
            "direccion: 30 of 31 normalized values change when the post-processors are applied again"
        )

    def test_idempotence_probe_samples_reproducibly(self) -> None:
        """The probe checks at most idempotence_sample values, the same ones for a seed."""
        rows = items(100, 0)
        first = quality_report(rows, idempotence_sample=10, bands={})
        second = quality_report(rows, idempotence_sample=10, bands={})
        assert first.field("ciudad").idempotence.checked == 10
        assert first.field("ciudad").idempotence == second.field("ciudad").idempotence

    def test_raising_post_processor_is_reported(self) -> None:
        """A post-processor that raises on a stored value counts as a probe failure."""
        registry = default_registry.derive()

        def broken(value: str) -> str:
            raise RuntimeError("boom")

        registry.register("ciudad", broken, replace=True)
        report = quality_report(items(2, 0), registry=registry, bands={})
        assert report.field("ciudad").idempotence.changed == 2

    def test_anomalies_sorted_idempotence_first(self) -> None:
        """Idempotence failures come first, then the largest |z|."""
        registry = default_registry.derive()
        registry.register("ciudad", lambda value: value + ".", replace=True)
        report = quality_report(
            items(95, 5), registry=registry, bands={"ciudad": {"coverage": (0.0, 0.5)}}
        )
        assert [a.kind for a in report.anomalies] == ["idempotence", "band"]


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


class TestOutput:
    def test_json_round_trip(self) -> None:
        """to_json and from_json give back the same report."""
        report = quality_report(items(3, 2), sample_rate=1.0)
        assert QualityReport.from_json(report.to_json()) == report
        assert json.loads(report.to_json())["fields"][0]["coverage"]["n"] == 5

    def test_html_is_well_formed_with_an_svg_per_field(self, sample_store: MemoryLeadStore) -> None:
        """The page parses with balanced tags and holds one chart per field."""
        report = quality_report(sample_store)
        page = report.to_html()
        checker = parse(page)
        assert checker.errors == []
        assert checker.stack == []
        assert checker.tags.count("svg") == len(report.fields) == 7
        assert page.startswith("<!DOCTYPE html>")

    def test_html_is_self_contained(self, sample_store: MemoryLeadStore) -> None:
        """No script, no external stylesheet, font or image: nothing is fetched at view time."""
        page = quality_report(sample_store).to_html()
        tags = parse(page).tags
        assert "script" not in tags
        assert "link" not in tags
        assert "img" not in tags
        assert "@import" not in page
        assert "url(" not in page
        assert "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")
        assert "https://" not in page

    def test_values_are_escaped(self) -> None:
        """A value with markup appears as text, never as a tag."""
        rows = [item("1", CANARY, CANARY.upper()), item("2", "x", CANARY)]
        page = quality_report(rows, sample_rate=1.0, bands={}).to_html()
        checker = parse(page)
        assert "script" not in checker.tags
        assert CANARY not in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
        assert any(CANARY in text for text in checker.text)

    def test_field_names_are_escaped(self) -> None:
        """A hostile field name cannot inject markup either."""
        page = quality_report([item("1", "a", "b", field='x"><b>')], bands={}).to_html()
        assert "<b>" not in page
        assert parse(page).errors == []

    def test_no_values_leaves_canaries_out(self) -> None:
        """include_values=False keeps every value out of the HTML and the JSON."""
        registry = default_registry.derive()
        registry.register("ciudad", lambda value: value + "!", replace=True)
        rows = [item(str(i), f"CANARY-ORIG-{i}", f"canary-norm-{i}") for i in range(50)]
        for report in (
            quality_report(rows, sample_rate=1.0, include_values=False, registry=registry),
            quality_report(rows, sample_rate=1.0, registry=registry).without_values(),
        ):
            assert report.has_anomalies
            for text in (report.to_html(), report.to_json()):
                assert "canary" not in text.casefold()
            assert report.sample == []

    def test_values_included_by_default(self) -> None:
        """By default the sample and the mappings carry the values the user asked for."""
        rows = [item(str(i), f"CANARY-ORIG-{i}", f"canary-norm-{i}") for i in range(50)]
        page = quality_report(rows, sample_rate=1.0).to_html()
        assert "CANARY-ORIG-1" in page
        assert "canary-norm-1" in page

    def test_anomalies_listed_first(self) -> None:
        """The anomaly list comes before the figures."""
        page = quality_report(items(95, 5), bands={"ciudad": {"improvement": (0.2, 0.6)}}).to_html()
        assert page.index('class="bad"') < page.index("<h2>Overview</h2>")

    def test_repr_is_short(self) -> None:
        """repr names counts, never values."""
        report = quality_report(items(3, 2), sample_rate=1.0)
        assert repr(report) == "QualityReport(records=5, fields=1, anomalies=0)"
        assert report._repr_html_() == report.to_html()

    def test_store_object_is_scanned(self) -> None:
        """A LeadStore is read through scan()."""
        store = MemoryLeadStore()
        store.put(items(2, 1))
        assert quality_report(store).records == 3
