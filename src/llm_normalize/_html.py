"""Small HTML helpers for the rich displays of `llm_normalize.notebook` (`_repr_html_`).

Everything a value can put in a page goes through `text` (HTML-escaped), and every style is
inline, because Jupyter strips `<style>` blocks from untrusted notebooks but keeps `style=`.
No dependency: these helpers build strings.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from typing import Final

__all__ = ["CHANGED", "ERROR", "badge", "cell", "muted", "table", "text"]

CHANGED: Final = "background:#fff3bf;"
"""The background of a value that normalization changed."""

ERROR: Final = "background:#ffe3e3;"
"""The background of a row that could not be normalized."""

_TABLE: Final = "border-collapse:collapse;font-size:0.9em;text-align:left;"
_CELL: Final = "border:1px solid #ddd;padding:2px 6px;vertical-align:top;text-align:left;"
_HEAD: Final = _CELL + "background:#f3f3f3;font-weight:600;"
_MUTED: Final = "color:#888;"
_BADGE_COLOURS: Final = {
    "not_confident": "#f59f00",
    "guard_rejected": "#e03131",
    "model_failed": "#e03131",
    "not_sent": "#7048e8",
    "unsupported_type": "#e03131",
}


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
