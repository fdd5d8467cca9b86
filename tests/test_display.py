"""llm_normalize.display: records and run reports as HTML, every value escaped."""

import ast
from pathlib import Path
from typing import Any

import llm_normalize.display
from llm_normalize.display import Html, record_html, records_html, report_html
from llm_normalize.records import FieldResult, NormalizedRecord
from llm_normalize.report import RunReport


def _record(**fields: tuple[Any, FieldResult]) -> NormalizedRecord:
    return NormalizedRecord(
        id="r1",
        original={name: before for name, (before, _) in fields.items()},
        fields={name: result for name, (_, result) in fields.items()},
    )


class TestHtml:
    def test_changed_values_highlighted(self) -> None:
        """A changed value shows as before -> after on the highlight colour."""
        record = _record(ciudad=("bogota", FieldResult("Bogotá D.C.", "rules", True)))
        html = records_html([record])
        assert "<del" in html
        assert "bogota</del> &rarr; <b>Bogotá D.C.</b>" in html
        assert "#fff3bf" in html

    def test_unchanged_not_highlighted(self) -> None:
        """An unchanged value is shown once, without highlight."""
        record = _record(ciudad=("Cali", FieldResult("Cali", "rules", True)))
        html = records_html([record])
        assert "&rarr;" not in html
        assert "#fff3bf" not in html

    def test_values_escaped(self) -> None:
        """Markup in values and ids is escaped, never rendered."""
        evil = "<script>alert('x')</script>"
        record = NormalizedRecord(
            id="<b>id</b>",
            original={"nombres": evil},
            fields={"nombres": FieldResult("<i>x</i>", "rules", True)},
        )
        for html in (records_html([record]), record_html(record)):
            assert "<script>" not in html
            assert "<i>x</i>" not in html
            assert "<b>id</b>" not in html
            assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in html

    def test_flags_and_source_visible(self) -> None:
        """Flags show as badges; a source other than the rules is named."""
        record = _record(
            ocupacionActual=(
                "xyz",
                FieldResult("Xyz", "llm", False, reason="unknown", flags=("guard_rejected",)),
            )
        )
        html = records_html([record])
        assert "guard_rejected</span>" in html
        assert "llm" in html
        single = record_html(record)
        assert "guard_rejected" in single
        assert "unknown" in single

    def test_limit_and_changed_only(self) -> None:
        """limit caps the rows and the footer says how many; changed_only keeps changes."""
        same = _record(ciudad=("Cali", FieldResult("Cali", "rules", True)))
        changed = _record(ciudad=("cali", FieldResult("Cali", "rules", True)))
        html = records_html([same, changed, changed], limit=2)
        assert html.count("<tr>") == 1 + 2
        assert "2 of 3 records" in html
        html = records_html([same, changed], changed_only=True)
        assert "1 of 1 changed or flagged records" in html

    def test_error_record(self) -> None:
        """A record that failed shows its error on a red row."""
        failed = NormalizedRecord(id="#3", original={}, error="expected a mapping, got list")
        assert "expected a mapping, got list" in records_html([failed], ["ciudad"])
        assert "#ffe3e3" in record_html(failed)

    def test_missing_values_shown_as_dash(self) -> None:
        """A None before or after is a muted dash, not the text 'None'."""
        record = _record(ciudad=(None, FieldResult(None, "rules", True, reason="empty")))
        html = record_html(record)
        assert "None" not in html
        assert "&mdash;" in html

    def test_report(self) -> None:
        """A report renders its figures as a table."""
        report = RunReport(
            records_in=10,
            records_normalized=9,
            records_failed=1,
            fields_changed=4,
            values_by_source={"rules": 60, "llm": 3},
            guard_rejections={"too_long": 2},
            model_id="anthropic.claude-3-haiku-20240307-v1:0",
        )
        html = report_html(report)
        assert "10 in, 9 normalized, 1 failed" in html
        assert "llm 3, rules 60" in html
        assert "too_long 2" in html
        assert "<table" in html

    def test_disabled_report(self) -> None:
        """A disabled run says so."""
        assert "disabled" in report_html(RunReport(enabled=False))

    def test_html_view(self) -> None:
        """Html shows its markup in Jupyter and keeps a short repr."""
        view = Html(report_html(RunReport()))
        assert view._repr_html_().startswith("<table")
        assert repr(view).startswith("Html(<")
        assert len(repr(view)) < 40


class TestReprs:
    def test_record_repr_html(self) -> None:
        """A NormalizedRecord shows in Jupyter as its record_html."""
        record = _record(ciudad=("bogota", FieldResult("Bogotá D.C.", "rules", True)))
        assert record._repr_html_() == record_html(record)

    def test_run_report_repr_html(self) -> None:
        """A RunReport shows in Jupyter as its report_html."""
        report = RunReport(records_in=3, values_by_source={"rules": 3})
        assert report._repr_html_() == report_html(report)


def test_display_is_a_leaf() -> None:
    """display imports nothing of the package at run time: only types, under TYPE_CHECKING."""
    tree = ast.parse(Path(llm_normalize.display.__file__).read_text(encoding="utf-8"))
    runtime: list[str] = []
    for node in tree.body:
        if isinstance(node, ast.If) and getattr(node.test, "id", "") == "TYPE_CHECKING":
            continue
        for child in ast.walk(node):
            if isinstance(child, ast.ImportFrom) and child.module:
                runtime.append(child.module)
            elif isinstance(child, ast.Import):
                runtime.extend(alias.name for alias in child.names)
    assert [name for name in runtime if name.startswith("llm_normalize")] == []
