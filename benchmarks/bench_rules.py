"""How much work the rules take off the model, measured against seed-style processing.

The seed sends every field of every lead to the model, ten leads per call. With rules first
and dedupe, the model would see only the distinct (field, value) pairs the rules were not
confident about. This benchmark measures, on the same input in the same run:

- model-bound values: seed-style (all values) vs rules-first (distinct, not confident);
- estimated data tokens for those values (about 1 token per 3.3 characters of Spanish
  JSON-ish text; an estimate, not a tokenizer count; the authoritative count is Bedrock's
  usage block, which the model layer will record);
- model calls at the seed's batch size;
- the rules' own throughput (records per second), for scale.

Usage: python benchmarks/bench_rules.py [FILE]  (default: examples/leads.jsonl)
"""

from __future__ import annotations

import json
import math
import sys
import time
from collections.abc import Iterable
from pathlib import Path

from llm_normalize import NormalizationConfig, Normalizer

CHARS_PER_TOKEN = 3.3
# Per item, the JSON wrapper around a value: {"id": "12", "field": "ciudad", "value": "..."}
ITEM_OVERHEAD_CHARS = 40


def main(path: Path) -> None:
    leads = [
        json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()
    ]
    config = NormalizationConfig()
    fields = config.fields_to_normalize

    start = time.perf_counter()
    results = Normalizer(config=config).normalize(leads)
    elapsed = time.perf_counter() - start

    seed_values = [
        (name, lead[name])
        for lead in leads
        for name in fields
        if isinstance(lead.get(name), str) and lead[name]
    ]
    doubtful = {
        (name, str(record.original[name]))
        for record in results
        for name, result in record.fields.items()
        if not result.confident and isinstance(record.original.get(name), str)
    }

    def tokens(pairs: Iterable[tuple[str, str]]) -> int:
        chars = sum(len(value) + len(name) + ITEM_OVERHEAD_CHARS for name, value in pairs)
        return round(chars / CHARS_PER_TOKEN)

    seed_calls = math.ceil(len(leads) / config.batch_size)
    ours_calls = math.ceil(len(doubtful) / config.batch_size)
    seed_tokens, ours_tokens = tokens(seed_values), tokens(doubtful)

    print(f"input: {path} ({len(leads)} leads, {len(fields)} fields)")
    print(
        f"rules throughput: {len(leads) / elapsed:,.0f} leads/s ({elapsed * 1000:.0f} ms, cold memo)"
    )
    print(f"{'':28}{'seed-style':>12}{'rules-first':>13}{'ratio':>8}")
    rows = [
        ("model-bound values", len(seed_values), len(doubtful)),
        ("model calls (batch 10)", seed_calls, ours_calls),
        ("est. data tokens", seed_tokens, ours_tokens),
    ]
    for label, seed, ours in rows:
        ratio = ours / seed if seed else 0.0
        print(f"{label:28}{seed:>12,}{ours:>13,}{ratio:>8.3f}")


if __name__ == "__main__":
    default = Path(__file__).resolve().parents[1] / "examples" / "leads.jsonl"
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else default)
