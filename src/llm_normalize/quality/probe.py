"""The idempotence probe: re-apply the post-processors to stored values; none should change.

A normalized value that changes when normalized again is a bug in a post-processor (the
seed's "double dots": ``Cra.`` becoming ``Cra..``), caught directly rather than by its rates.
"""

from __future__ import annotations

import random
from collections.abc import Collection
from typing import Final

from llm_normalize.postprocessors.registry import PostProcessorRegistry
from llm_normalize.quality.models import Anomaly, IdempotenceProbe

__all__ = ["idempotence_anomaly", "idempotence_probe"]

_MAX_EXAMPLES: Final = 20


def idempotence_probe(
    name: str,
    values: Collection[str],
    registry: PostProcessorRegistry,
    *,
    size: int,
    seed: int,
    include_values: bool,
) -> IdempotenceProbe:
    """Re-apply the field's post-processors to (a seeded sample of `size` of) its values.

    A post-processor that raises counts as a change: it is a failure to report too.
    """
    chosen = sorted(values)
    if size < len(chosen):
        chosen = random.Random(f"{seed}:{name}").sample(chosen, size)
    changed = 0
    examples: list[tuple[str, str]] = []
    for value in chosen:
        try:
            again = registry.apply(name, value)
        except Exception:  # a user's post-processor that raises is also a failure to report
            again = "<raised>"
        if again != value:
            changed += 1
            if include_values and len(examples) < _MAX_EXAMPLES:
                examples.append((value, str(again)))
    return IdempotenceProbe(checked=len(chosen), changed=changed, examples=examples)


def idempotence_anomaly(name: str, probe: IdempotenceProbe) -> Anomaly | None:
    """The anomaly of a probe that found values changing, if it did."""
    if not probe.changed:
        return None
    return Anomaly(
        field=name,
        kind="idempotence",
        metric="idempotence",
        observed=probe.changed / probe.checked,
        expected=0.0,
        z=float(probe.changed),
        message=(
            f"{name}: {probe.changed} of {probe.checked} normalized values "
            "change when the post-processors are applied again"
        ),
    )
