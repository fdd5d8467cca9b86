"""A store's quality history: the figures of its previous report, and drift against them.

`llm-normalize report` keeps the last report's figures beside a SQLite store
(`history_path`), written without any field value (`write_history`), and passes them back as
the next report's `previous`; `drift_anomalies` then compares each rate with the previous
one by a two-proportion z-test (`drift_z`).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from llm_normalize.quality.models import Anomaly, QualityReport
from llm_normalize.quality.stats import drift_z

__all__ = ["as_previous", "drift_anomalies", "history_path", "write_history"]


def as_previous(previous: QualityReport | Mapping[str, Any] | str | None) -> QualityReport | None:
    """A previous report given as the object, its JSON text or the parsed JSON."""
    if previous is None or isinstance(previous, QualityReport):
        return previous
    if isinstance(previous, str):
        return QualityReport.from_json(previous)
    return QualityReport.model_validate(previous)


def drift_anomalies(
    name: str,
    counts: Mapping[str, int],
    n: int,
    previous: QualityReport,
    z_threshold: float,
) -> list[Anomaly]:
    """The rates of a field that moved significantly since `previous`.

    Args:
        name: The field, as stored.
        counts: The successes of each rate (``"coverage"``, ``"improvement"``), out of `n`.
        n: The field's non-empty values.
        previous: The previous report; a field it does not hold cannot drift.
        z_threshold: The |z| above which a change is an anomaly.
    """
    try:
        before = previous.field(name)
    except KeyError:
        return []
    found: list[Anomaly] = []
    for metric, rate in (("coverage", before.coverage), ("improvement", before.improvement)):
        score = drift_z(counts[metric], n, rate.successes, rate.n)
        if abs(score) > z_threshold:
            now = counts[metric] / n
            found.append(
                Anomaly(
                    field=name,
                    kind="drift",
                    metric=metric,
                    observed=now,
                    expected=rate.rate,
                    z=score,
                    message=(
                        f"{name}: {metric} moved from {rate.rate:.1%} (n={rate.n}) to "
                        f"{now:.1%} (n={n}), z={score:+.1f} against the previous report"
                    ),
                )
            )
    return found


def history_path(store_url: str) -> str | None:
    """Where a store's last quality report is kept: beside a SQLite database, else nowhere."""
    if not store_url.lower().startswith("sqlite:///"):
        return None
    return store_url[len("sqlite:///") :] + ".quality.json"


def write_history(report: QualityReport, path: str | Path) -> None:
    """Keep `report` as the next report's drift baseline: its figures, never a field value."""
    Path(path).write_text(report.without_values().to_json(), encoding="utf-8")
