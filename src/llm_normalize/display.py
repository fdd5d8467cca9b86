"""The HTML the package shows: records, reports, and the small pieces they are built from.

- `record_html`, `records_html` and `report_html` render `NormalizedRecord`s and a `RunReport`
  as HTML tables (before -> after per field, changed values highlighted, flags visible);
  `NormalizedRecord` and `RunReport` use them for their `_repr_html_`, and `Html` shows any
  of them in Jupyter.
- `text`, `badge`, `muted`, `cell` and `table` are the pieces, for other displays
  (`llm_normalize.notebook.frame_diff_html`, the quality report's page).

Everything a value can put in a page goes through `text` (HTML-escaped), and every style is
inline, because Jupyter strips `<style>` blocks from untrusted notebooks but keeps `style=`.
This module builds strings and imports nothing of the package at run time: it reads the
record and report types only for type checking, so any layer may render through it.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from llm_normalize.records import FieldResult, NormalizedRecord
    from llm_normalize.report import RunReport

__all__ = [
    "CHANGED",
    "ERROR",
    "Html",
    "badge",
    "cell",
    "muted",
    "needs_review",
    "record_html",
    "records_html",
    "records_table",
    "report_html",
    "table",
    "text",
]

CHANGED: Final = "background:#fff3bf;"
"""The background of a value that normalization changed."""

ERROR: Final = "background:#ffe3e3;"
"""The background of a row that could not be normalized."""

_TABLE: Final = "border-collapse:collapse;font-size:0.9em;text-align:left;"
_CELL: Final = "border:1px solid #ddd;padding:2px 6px;vertical-align:top;text-align:left;"
_HEAD: Final = _CELL + "background:#f3f3f3;font-weight:600;"
_MUTED: Final = "color:#888;"
# Keyed by the review flags of `llm_normalize.records` (not imported: this module is a leaf).
_BADGE_COLOURS: Final = {
    "not_confident": "#f59f00",
    "guard_rejected": "#e03131",
    "model_failed": "#e03131",
    "not_sent": "#7048e8",
    "unsupported_type": "#e03131",
}


class Html:
    """Show an HTML string as rich output in Jupyter (and as a short repr elsewhere).

    Examples:
        >>> Html("<b>hello</b>")
        Html(<12 characters>)
    """

    def __init__(self, html: str) -> None:
        self.html = html

    def __repr__(self) -> str:
        return f"Html(<{len(self.html)} characters>)"

    def _repr_html_(self) -> str:
        return self.html


# -- pieces ---------------------------------------------------------------------------------


def text(value: object) -> str:
    """Render one value, HTML-escaped: `None` as a muted dash, `""` as a muted `""`.

    Example:
        >>> text("<b>")
        '&lt;b&gt;'
    """
    if value is None:
        return f'<span style="{_MUTED}">&mdash;</span>'
    if value == "":
        return f'<span style="{_MUTED}">""</span>'
    return html.escape(str(value), quote=True)


def badge(label: str, colour: str | None = None) -> str:
    """A small coloured tag, e.g. for a review flag."""
    colour = colour or _BADGE_COLOURS.get(label, "#495057")
    return (
        f'<span style="background:{colour};color:#fff;border-radius:3px;padding:0 4px;'
        f'margin-left:3px;font-size:0.8em;white-space:nowrap;">{html.escape(label)}</span>'
    )


def muted(content: str) -> str:
    """Wrap already-rendered HTML in a muted, smaller span."""
    return f'<span style="{_MUTED}font-size:0.8em;">{content}</span>'


def cell(content: str, style: str = "", *, header: bool = False) -> str:
    """One table cell around already-rendered HTML."""
    tag = "th" if header else "td"
    return f'<{tag} style="{(_HEAD if header else _CELL) + style}">{content}</{tag}>'


def table(
    headers: Sequence[str],
    rows: Iterable[Sequence[str]],
    *,
    caption: str | None = None,
    footer: str | None = None,
    row_styles: Sequence[str] | None = None,
) -> str:
    """A whole table: `headers` are escaped, `rows` are already-rendered `cell`s."""
    parts = [f'<table style="{_TABLE}">']
    if caption:
        parts.append(f'<caption style="text-align:left;font-weight:600;">{caption}</caption>')
    parts.append("<thead><tr>")
    parts.extend(cell(html.escape(h), header=True) for h in headers)
    parts.append("</tr></thead><tbody>")
    for i, row in enumerate(rows):
        style = row_styles[i] if row_styles is not None and i < len(row_styles) else ""
        parts.append(f'<tr style="{style}">' if style else "<tr>")
        parts.extend(row)
        parts.append("</tr>")
    parts.append("</tbody></table>")
    if footer:
        parts.append(f'<div style="{_MUTED}font-size:0.85em;">{footer}</div>')
    return "".join(parts)


# -- records --------------------------------------------------------------------------------


def needs_review(record: NormalizedRecord) -> bool:
    """Whether normalization changed, flagged or failed the record."""
    return bool(record.error or record.changed or record.flags)


def records_html(
    records: Iterable[NormalizedRecord],
    fields: Sequence[str] | None = None,
    *,
    limit: int | None = 50,
    changed_only: bool = False,
) -> str:
    """Render records as an HTML table: one row per record, one column per field.

    A changed value shows as ``before -> after`` on a highlighted background, a value decided
    by the model or the cache names its source, and review flags show as badges. Every value
    is HTML-escaped.

    Args:
        records: The records (e.g. `Normalizer.normalize`'s answer).
        fields: The columns, in order (default: every field of the records).
        limit: Show at most this many rows (`None`: all); a footer says how many were left out.
        changed_only: Show only the records that normalization changed, flagged or failed.
    """
    chosen = [r for r in records if needs_review(r)] if changed_only else list(records)
    names = list(fields) if fields is not None else _field_names(chosen)
    shown = chosen if limit is None else chosen[:limit]
    what = "changed or flagged records" if changed_only else "records"
    footer = f"{len(shown)} of {len(chosen)} {what}"
    return records_table(shown, names, footer)


def records_table(shown: Sequence[NormalizedRecord], names: Sequence[str], footer: str) -> str:
    """The table of `records_html`: the records in `shown`, the fields in `names`, a footer."""
    rows: list[list[str]] = []
    styles: list[str] = []
    for record in shown:
        row = [cell(text(record.id))]
        if record.error is not None:
            row.append(cell(badge("error") + " " + text(record.error)))
            row.extend(cell("") for _ in names[1:])
            styles.append(ERROR)
        else:
            row.extend(_field_cell(record.original.get(n), record.fields.get(n)) for n in names)
            styles.append("")
        rows.append(row)
    return table(["id", *names], rows, footer=footer, row_styles=styles)


def _field_cell(before: object, result: FieldResult | None) -> str:
    """One field of one record: before -> after when changed, the source, the flags."""
    if result is None:
        return cell(text(before) if before is not None else "")
    changed = result.value is not None and result.value != before
    if changed:
        content = (
            f'<del style="color:#888;">{text(before)}</del> &rarr; <b>{text(result.value)}</b>'
        )
    else:
        content = text(result.value if result.value is not None else before)
    if result.source != "rules":
        content += " " + muted(text(result.source))
    content += "".join(badge(flag) for flag in result.flags)
    return cell(content, CHANGED if changed else "")


def _field_names(records: Iterable[NormalizedRecord]) -> list[str]:
    seen: dict[str, None] = {}
    for record in records:
        seen.update(dict.fromkeys(record.fields))
    return list(seen)


def record_html(record: NormalizedRecord) -> str:
    """Render one record as an HTML table: one row per field, before and after side by side."""
    if record.error is not None:
        return table(
            ["id", "error"],
            [[cell(text(record.id)), cell(text(record.error))]],
            row_styles=[ERROR],
        )
    rows: list[list[str]] = []
    styles: list[str] = []
    for name, result in record.fields.items():
        before = record.original.get(name)
        changed = result.value is not None and result.value != before
        rows.append(
            [
                cell(text(name)),
                cell(text(before)),
                cell(text(result.value), CHANGED if changed else ""),
                cell(text(result.source)),
                cell(
                    "".join(badge(flag) for flag in result.flags)
                    + (" " + muted(text(result.reason)) if result.reason else "")
                ),
            ]
        )
        styles.append("")
    return table(
        ["field", "before", "after", "source", "flags / reason"],
        rows,
        caption=f"record {text(record.id)}",
        row_styles=styles,
    )


# -- run reports ----------------------------------------------------------------------------


def report_html(report: RunReport) -> str:
    """Render a `RunReport` as an HTML table of its main figures (it holds no field value)."""
    if not report.enabled:
        figures = [("disabled", "normalization is disabled in the configuration; nothing was done")]
    else:
        figures = _run_figures(report)
    rows = [[cell(text(label)), cell(text(value))] for label, value in figures]
    return table(["figure", "value"], rows, caption="normalization run")


def _run_figures(report: RunReport) -> list[tuple[str, str]]:
    """The (label, value) rows of an enabled run's report."""
    cost = "unknown" if report.estimated_cost_usd is None else f"${report.estimated_cost_usd:.4f}"
    figures = [
        (
            "records",
            f"{report.records_in} in, {report.records_normalized} normalized, "
            f"{report.records_failed} failed",
        ),
        (
            "fields",
            f"{report.fields_normalized} normalized, {report.fields_changed} changed, "
            f"{report.not_confident} to review",
        ),
        ("decided by", _counts(report.values_by_source)),
        ("to review, by field", _counts(report.not_confident_by_field)),
        (
            "model",
            f"{report.model_id or 'none'}: {report.model_calls} calls "
            f"({report.retries} retries, {report.throttled} throttled), "
            f"{report.values_sent_to_model} values sent, {report.cache_hits} cache hits",
        ),
        ("tokens", f"{report.input_tokens} in, {report.output_tokens} out, est. cost {cost}"),
        ("duration", f"{report.duration_s:.2f} s"),
    ]
    if report.records_saved or report.records_skipped:
        figures.append(("store", f"{report.records_saved} saved, {report.records_skipped} skipped"))
    if report.guard_rejections:
        figures.append(("guard rejections", _counts(report.guard_rejections)))
    if report.errors_by_kind:
        figures.append(("errors", _counts(report.errors_by_kind)))
    if report.stopped_early:
        figures.append(
            (
                "stopped early",
                f"{report.stopped_early}: {report.values_not_sent} values left to the rules",
            )
        )
    return figures


def _counts(counts: Mapping[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "none"
