"""Normalize the sample leads with a model on your own server, so no personal data leaves it.

Any server speaking the OpenAI chat-completions API works: Ollama, vLLM, llama.cpp's server,
LM Studio (or OpenAI itself, with ``OPENAI_API_KEY`` set and no ``--base-url``). Needs the
``openai`` extra: ``pip install 'llm-normalize[openai]'``. For example, with Ollama::

    ollama pull llama3.1:8b
    python examples/local_model.py --base-url http://127.0.0.1:11434/v1 --model llama3.1:8b

The normalized leads go to standard output as JSON lines; the run's summary (counts only,
never a field value) to standard error.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from llm_normalize import Normalizer
from llm_normalize.backends import OpenAIBackend
from llm_normalize.backends.openai import AnswerMode
from llm_normalize.pricing import free_prices

SAMPLE = Path(__file__).resolve().parent / "leads.jsonl"


def main(argv: Sequence[str] | None = None) -> int:
    """Read the arguments, normalize the first sample leads, print them and the summary."""
    parser = argparse.ArgumentParser(description="Normalize sample leads with your own model.")
    parser.add_argument("--base-url", help="the server's /v1 URL (default: OpenAI's)")
    parser.add_argument("--model", required=True, help="the model's name on the server")
    parser.add_argument(
        "--answer-mode", choices=("tool", "json_schema", "json"), default="tool", help="(tool)"
    )
    parser.add_argument("--leads", type=int, default=50, help="how many sample leads (50)")
    args = parser.parse_args(argv)

    # "json_schema" is a way of the OpenAI API to ask for the structured answer, like "tool".
    structured: AnswerMode = "json_schema" if args.answer_mode == "json_schema" else "tool"
    backend = OpenAIBackend(args.model, base_url=args.base_url, answer_mode=structured)
    # A model on your own server costs nothing per token; OpenAI's prices are built in.
    prices = free_prices(args.model) if args.base_url else None
    # A model that refuses the structured way is asked once for JSON in text, then kept so.
    answer_mode = "json" if args.answer_mode == "json" else "tool"
    normalizer = Normalizer(backend, prices=prices, answer_mode=answer_mode)

    with SAMPLE.open(encoding="utf-8") as lines:
        leads = [json.loads(line) for _, line in zip(range(args.leads), lines, strict=False)]
    for record in normalizer.normalize(leads):
        print(
            json.dumps({**record.original, "normalizedData": record.normalized}, ensure_ascii=False)
        )
    report = normalizer.last_report
    if report is not None:
        print(report.summary(), file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
