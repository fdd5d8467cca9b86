"""The quality report as one self-contained HTML page: inline CSS and SVG, no script.

Nothing on the page is fetched when it is viewed (no font, stylesheet, image or script), so it
opens offline and can be attached to a ticket. Every value and field name is HTML-escaped.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    # Types only: `models` imports this module to give `QualityReport` its `to_html`.
    from llm_normalize.quality.models import FieldQuality, QualityReport

__all__ = ["render_html"]

_CSS: Final = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px auto;
max-width:1180px;color:#1d2330;background:#fff;padding:0 16px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #dde}
h3{font-size:15px;margin:12px 0 6px}.muted{color:#667}
.ok{background:#e8f6ec;border:1px solid #9bd3ab;padding:8px 12px;border-radius:6px}
.bad{background:#fdecec;border:1px solid #e59a9a;padding:8px 12px;border-radius:6px}
table{border-collapse:collapse;margin:6px 0 12px;width:100%}
th,td{border:1px solid #dde;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f3f4f8}td.num{text-align:right;font-variant-numeric:tabular-nums}
tr.changed td.after{background:#fff7d6}.field{border:1px solid #dde;border-radius:8px;
padding:4px 16px 12px;margin:16px 0}svg{max-width:100%;height:auto}.flag{color:#b3261e}
"""

_W: Final = 1000
_H: Final = 215
_BAR_X: Final = 150
_BAR_W: Final = 360


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _pct(value: float) -> str:
    return f"{value:.1%}"


def _rate_rows(item: FieldQuality) -> str:
    parts: list[str] = []
    for row, (metric, rate) in enumerate(
        (("coverage", item.coverage), ("improvement", item.improvement))
    ):
        y = 30 + row * 42
        parts.append(f'<text x="0" y="{y + 14}">{_e(metric)}</text>')
        parts.append(
            f'<rect x="{_BAR_X}" y="{y}" width="{_BAR_W}" height="20" fill="#f1f2f6" stroke="#ccd"/>'
        )
        band = item.band.get(metric)
        if band is not None:
            bx = _BAR_X + band[0] * _BAR_W
            bw = max((band[1] - band[0]) * _BAR_W, 1)
            parts.append(
                f'<rect x="{bx:.1f}" y="{y - 4}" width="{bw:.1f}" height="28" fill="#2e7d32" '
                f'fill-opacity="0.15" stroke="#2e7d32" stroke-dasharray="3 2"><title>expected band '
                f"{_pct(band[0])} to {_pct(band[1])}</title></rect>"
            )
        z = item.z.get(metric, 0.0)
        colour = "#c62828" if z else "#1f5fbf"
        parts.append(
            f'<rect x="{_BAR_X}" y="{y + 4}" width="{rate.rate * _BAR_W:.1f}" height="12" '
            f'fill="{colour}"><title>{_pct(rate.rate)} ({rate.successes}/{rate.n})</title></rect>'
        )
        lo, hi = _BAR_X + rate.low * _BAR_W, _BAR_X + rate.high * _BAR_W
        parts.append(
            f'<path d="M{lo:.1f} {y + 10}H{hi:.1f}M{lo:.1f} {y + 3}V{y + 17}M{hi:.1f} {y + 3}V{y + 17}" '
            'stroke="#111" stroke-width="1.5" fill="none"/>'
        )
        ztext = ""
        if metric in item.z:
            ztext = f", z={z:+.1f} outside its band" if z else ", within its band"
        parts.append(
            f'<text x="{_BAR_X + _BAR_W + 8}" y="{y + 14}">{_pct(rate.rate)} '
            f"[{_pct(rate.low)}, {_pct(rate.high)}]{_e(ztext)}</text>"
        )
    parts.append(
        f'<text x="{_BAR_X}" y="16" class="muted" font-size="11">0%</text>'
        f'<text x="{_BAR_X + _BAR_W - 30}" y="16" font-size="11">100%</text>'
    )
    return "".join(parts)


def _distinct(item: FieldQuality, x0: int) -> str:
    top = max(item.distinct_before, item.distinct_after, 1)
    parts = [f'<text x="{x0}" y="16">distinct values</text>']
    for row, (label, count, colour) in enumerate(
        (("before", item.distinct_before, "#8d6e63"), ("after", item.distinct_after, "#1f5fbf"))
    ):
        y = 30 + row * 42
        width = count / top * 300
        parts.append(f'<text x="{x0}" y="{y + 14}">{label}</text>')
        parts.append(
            f'<rect x="{x0 + 50}" y="{y + 2}" width="{width:.1f}" height="16" fill="{colour}"/>'
        )
        parts.append(f'<text x="{x0 + 56 + width:.1f}" y="{y + 14}">{count}</text>')
    return "".join(parts)


def _shares(item: FieldQuality, x0: int) -> str:
    colours = {"rules": "#546e7a", "llm": "#7b1fa2", "cache": "#00897b"}
    parts = [f'<text x="{x0}" y="16">decided by</text>']
    x = float(x0)
    shares = item.source_shares()
    for name, share in shares.items():
        width = share * 400
        parts.append(
            f'<rect x="{x:.1f}" y="32" width="{width:.1f}" height="20" '
            f'fill="{colours.get(name, "#999")}"><title>{_e(name)} {_pct(share)}</title></rect>'
        )
        x += width
    for row, (name, share) in enumerate(shares.items()):
        parts.append(
            f'<rect x="{x0}" y="{62 + row * 16}" width="10" height="10" '
            f'fill="{colours.get(name, "#999")}"/><text x="{x0 + 14}" y="{71 + row * 16}" '
            f'font-size="12">{_e(name)} {_pct(share)} ({item.sources[name]})</text>'
        )
    if not shares:
        parts.append(f'<text x="{x0}" y="46" class="muted">no source recorded</text>')
    return "".join(parts)


def _svg(item: FieldQuality) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_W}" height="{_H}" '
        f'viewBox="0 0 {_W} {_H}" role="img" font-family="system-ui,sans-serif" font-size="13">'
        f"<title>{_e(item.field)}: rates with 95% intervals and expected bands, distinct "
        f"values, sources</title>{_rate_rows(item)}"
        f'<g transform="translate(0,105)">{_distinct(item, 0)}</g>'
        f'<g transform="translate(520,105)">{_shares(item, 0)}</g></svg>'
    )


def _field_section(item: FieldQuality) -> str:
    flags = ", ".join(f"{_e(name)} {count}" for name, count in item.flags.items()) or "none"
    parts = [
        f'<section class="field" id="field-{_e(item.field)}"><h2>{_e(item.field)}</h2>',
        _svg(item),
        "<p>",
        f"{item.values} values, {item.empty} empty; {item.distinct_before} distinct before, "
        f"{item.distinct_after} after; guard rejections {item.guard_rejections}; flags: {flags}; "
        f"idempotence probe: {item.idempotence.changed} of {item.idempotence.checked} changed.",
        "</p>",
    ]
    if item.idempotence.examples:
        parts.append("<h3>Values that change when normalized again</h3><table>")
        parts.append("<tr><th>stored</th><th>normalized again</th></tr>")
        parts.extend(
            f"<tr><td>{_e(a)}</td><td>{_e(b)}</td></tr>" for a, b in item.idempotence.examples
        )
        parts.append("</table>")
    if item.top_mappings:
        parts.append("<h3>Most frequent changes</h3><table>")
        parts.append("<tr><th>original</th><th>normalized</th><th>count</th></tr>")
        parts.extend(
            f"<tr><td>{_e(m.original)}</td><td>{_e(m.normalized)}</td>"
            f'<td class="num">{m.count}</td></tr>'
            for m in item.top_mappings
        )
        parts.append("</table>")
    parts.append("</section>")
    return "".join(parts)


def render_html(report: QualityReport) -> str:
    """One self-contained HTML page: no script, no network, inline CSS and SVG charts."""
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<title>llm_normalize quality report</title>",
        f"<style>{_CSS}</style></head><body>",
        "<h1>Normalization quality report</h1>",
        f'<p class="muted">{report.records} records read, {report.records_normalized} normalized, '
        f"{report.records_failed} failed; made {_e(report.created_at.isoformat(timespec='seconds'))} "
        f"by llm_normalize {_e(report.library_version)}; intervals are 95% Wilson score intervals; "
        f"anomaly threshold |z| &gt; {report.z_threshold:g}.</p>",
        *_anomalies(report),
        *_overview(report),
        *(_field_section(item) for item in report.fields),
        *_sample(report),
        "</body></html>",
    ]
    return "\n".join(parts)


def _anomalies(report: QualityReport) -> list[str]:
    parts = ["<h2>Anomalies</h2>"]
    if report.anomalies:
        parts.append(f'<div class="bad"><strong>{len(report.anomalies)} anomalies</strong><ul>')
        parts.extend(f"<li>{_e(a.message)}</li>" for a in report.anomalies)
        parts.append("</ul></div>")
    else:
        parts.append('<div class="ok">No anomaly: every rate is within its band.</div>')
    return parts


def _overview(report: QualityReport) -> list[str]:
    parts = [
        "<h2>Overview</h2><table><tr><th>field</th><th>coverage</th>",
        "<th>improvement</th><th>distinct before → after</th><th>empty</th>",
        "<th>guard rejections</th><th>idempotence</th></tr>",
    ]
    for item in report.fields:
        parts.append(
            f'<tr><td><a href="#field-{_e(item.field)}">{_e(item.field)}</a></td>'
            f'<td class="num">{_pct(item.coverage.rate)} [{_pct(item.coverage.low)}, {_pct(item.coverage.high)}]</td>'
            f'<td class="num">{_pct(item.improvement.rate)} [{_pct(item.improvement.low)}, {_pct(item.improvement.high)}]</td>'
            f'<td class="num">{item.distinct_before} → {item.distinct_after}</td>'
            f'<td class="num">{item.empty}</td><td class="num">{item.guard_rejections}</td>'
            f'<td class="num">{item.idempotence.changed}/{item.idempotence.checked}</td></tr>'
        )
    parts.append("</table>")
    return parts


def _sample(report: QualityReport) -> list[str]:
    parts = ["<h2>Spot-check sample</h2>"]
    if not report.include_values:
        parts.append('<p class="muted">Values were left out of this report.</p>')
        return parts
    parts.append(
        f'<p class="muted">{len(report.sample)} leads, sampled at {_pct(report.sample_rate)} '
        f"with seed {report.seed}; changed values are highlighted.</p>"
    )
    if report.sample:
        parts.append(
            "<table><tr><th>lead</th><th>field</th><th>original</th><th>normalized</th>"
            "<th>source</th><th>flags</th></tr>"
        )
        for spot in report.sample:
            for value in spot.values:
                changed = ' class="changed"' if value.original != value.normalized else ""
                parts.append(
                    f"<tr{changed}><td>{_e(spot.id)}</td><td>{_e(value.field)}</td>"
                    f"<td>{_e(value.original or '')}</td>"
                    f'<td class="after">{_e(value.normalized or "")}</td>'
                    f"<td>{_e(value.source or '')}</td>"
                    f'<td class="flag">{_e(" ".join(value.flags))}</td></tr>'
                )
        parts.append("</table>")
    return parts
