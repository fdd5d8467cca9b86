"""Seed-style processing against the default pipeline, on the same leads and the same fake model.

Both runs use one `FakeBackend` setup: the same simulated latency per call and the same
service rate limit, priced as Claude 3 Haiku. Seed-style is the seed's Lambda: every field of
10 leads per call, one call at a time, a fixed 500 ms sleep between calls, no dedupe, no
cache. The default pipeline sends only what the rules are unsure of, deduplicated, in
concurrent calls under an adaptive rate limit.

Tokens are the FakeBackend's estimates (characters / 3.3), the same estimator for both runs,
so their ratio is meaningful even though the absolute numbers are not Bedrock's.

Usage: python benchmarks/bench_pipeline.py [--leads N] [--latency S] [--rps R] [--markdown]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from seed_style import SeedStyleReport, seed_style_run

from llm_normalize import NormalizationConfig, Normalizer, RunReport
from llm_normalize.backends.fake import FakeBackend

HAIKU = "anthropic.claude-3-haiku-20240307-v1:0"
SAMPLE = Path(__file__).resolve().parents[1] / "examples" / "leads.jsonl"


def run(
    leads: list[dict[str, object]], *, seed_style: bool, latency: float, rps: float
) -> tuple[RunReport | SeedStyleReport, float]:
    backend = FakeBackend(latency_s=latency, requests_per_second=rps, model_id=HAIKU)
    start = time.perf_counter()
    if seed_style:
        report: RunReport | SeedStyleReport = seed_style_run(leads, backend, batch_size=10)
    else:
        _, report = Normalizer(backend, NormalizationConfig(batch_size=10)).normalize_with_report(
            leads
        )
    return report, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--file", type=Path, default=SAMPLE)
    parser.add_argument("--leads", type=int, default=2000, help="leads to use (default: all 2000)")
    parser.add_argument("--latency", type=float, default=0.25, help="simulated seconds per call")
    parser.add_argument("--rps", type=float, default=10.0, help="the service's requests per second")
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    args = parser.parse_args()

    lines = args.file.read_text(encoding="utf-8").splitlines()
    leads = [json.loads(line) for line in lines[: args.leads] if line.strip()]
    seed, seed_wall = run(leads, seed_style=True, latency=args.latency, rps=args.rps)
    ours, ours_wall = run(leads, seed_style=False, latency=args.latency, rps=args.rps)
    n = len(leads)

    rows = [
        (
            "model calls",
            f"{seed.model_calls}",
            f"{ours.model_calls}",
            ours.model_calls / max(seed.model_calls, 1),
        ),
        (
            "values sent to the model",
            f"{seed.values_sent_to_model}",
            f"{ours.values_sent_to_model}",
            ours.values_sent_to_model / max(seed.values_sent_to_model, 1),
        ),
        (
            "input tokens per lead",
            f"{seed.input_tokens / n:.1f}",
            f"{ours.input_tokens / n:.1f}",
            ours.input_tokens / max(seed.input_tokens, 1),
        ),
        (
            "output tokens per lead",
            f"{seed.output_tokens / n:.1f}",
            f"{ours.output_tokens / n:.1f}",
            ours.output_tokens / max(seed.output_tokens, 1),
        ),
        (
            "est. cost (Claude 3 Haiku)",
            f"${seed.estimated_cost_usd or 0:.4f}",
            f"${ours.estimated_cost_usd or 0:.4f}",
            (ours.estimated_cost_usd or 0) / max(seed.estimated_cost_usd or 1e-12, 1e-12),
        ),
        ("wall time", f"{seed_wall:.1f} s", f"{ours_wall:.1f} s", ours_wall / seed_wall),
    ]
    print(
        f"{n} leads from {args.file.name}; simulated latency {args.latency} s per call, service limit {args.rps} requests/s"
    )
    if args.markdown:
        print("\n| | seed-style | llm_normalize | ratio |\n|---|---:|---:|---:|")
        for label, a, b, ratio in rows:
            print(f"| {label} | {a} | {b} | {ratio:.3f} |")
    else:
        print(f"{'':28}{'seed-style':>14}{'llm_normalize':>16}{'ratio':>9}")
        for label, a, b, ratio in rows:
            print(f"{label:28}{a:>14}{b:>16}{ratio:>9.3f}")
    print(
        f"speed-up: {seed_wall / ours_wall:.1f}x; input tokens per lead: {100 * ours.input_tokens / max(seed.input_tokens, 1):.1f}% of seed-style"
    )


if __name__ == "__main__":
    main()
