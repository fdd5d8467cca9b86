"""Leads for the benchmarks at any size: the sample, then copies of it that are not repeats.

Cycling ``examples/leads.jsonl`` as it is would flatter the library: from the second copy on,
every value the rules are unsure of is a repeat, answered by the dedupe and the cache, so a
100k-lead run would ask the model no more than a 2k-lead one. Real addresses are nearly all
distinct, one per household, while cities, education levels, companies and occupations repeat.
So copy ``k`` (``k >= 1``) of the sample is the sample with:

- every number in ``direccion`` increased by ``k`` (``CRA 71 # 54-22`` becomes
  ``CRA 73 # 56-24`` in copy 2), and an address without numbers ending in ``Casa k``
  (``VEREDA LA PALMA FINCA VILLA MARÍA Casa 2``): each copy's addresses are new values, and
  the ones the rules were unsure of stay mostly unsure;
- ``leadId`` suffixed with ``-k``;
- the other fields unchanged: they repeat across copies as they would in real data.

The model's work then grows with the number of leads (about 6.4 doubtful addresses per 100
leads, as in the sample), not only with the sample's distinct values.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Final

SAMPLE: Final = Path(__file__).resolve().parents[1] / "examples" / "leads.jsonl"

_NUMBER = re.compile(r"\d+")

Lead = dict[str, Any]


def load_sample(path: Path = SAMPLE) -> list[Lead]:
    """The leads of a JSON-lines file."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def _copy(lead: Lead, k: int) -> Lead:
    if not k:
        return lead
    out = dict(lead)
    if isinstance(out.get("leadId"), str):
        out["leadId"] = f"{out['leadId']}-{k}"
    address = out.get("direccion")
    if isinstance(address, str) and address.strip():
        if _NUMBER.search(address):
            out["direccion"] = _NUMBER.sub(lambda m: str(int(m.group()) + k), address)
        else:
            out["direccion"] = f"{address.rstrip()} Casa {k}"
    return out


def iter_scaled(sample: Sequence[Lead], n: int) -> Iterator[Lead]:
    """The first `n` leads of the sample followed by its copies (see the module docstring)."""
    for i in range(n):
        k, index = divmod(i, len(sample))
        yield _copy(sample[index], k)


def scaled_leads(sample: Sequence[Lead], n: int) -> list[Lead]:
    """`iter_scaled` as a list."""
    return list(iter_scaled(sample, n))
