"""llm_normalize.quality.html: one well-formed, self-contained, escaped page."""

from llm_normalize.quality import quality_report
from llm_normalize.stores.memory import MemoryLeadStore
from quality.helpers import CANARY, item, items, parse


class TestPage:
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

    def test_anomalies_listed_first(self) -> None:
        """The anomaly list comes before the figures."""
        page = quality_report(items(95, 5), bands={"ciudad": {"improvement": (0.2, 0.6)}}).to_html()
        assert page.index('class="bad"') < page.index("<h2>Overview</h2>")
