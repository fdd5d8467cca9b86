"""The `llm-normalize` command.

    llm-normalize normalize INPUT [-o OUTPUT] [--fields a,b] [--format jsonl|csv]
                            [--backend rules|fake|bedrock|openai] [--model-id ID] [--region R] ...
    llm-normalize import FILE --store URL [--generate-ids]
    llm-normalize run --store URL [--force-all] [--limit N] [--backend ...] [--json]
    llm-normalize rollback --store URL --prompt-version V [--cache-table NAME]
    llm-normalize export --store URL -o FILE
    llm-normalize report --store URL [-o report.html] [--json] [--check]

Exit status: 0 when every line was read, 1 when some lines were malformed (the others are
still normalized and written), 2 for a usage error (missing file, unknown field, bad option),
3 when the model cannot be used (access denied, unknown model, every call failing after its
retries): the run stops, `normalize` writes no output and `run` saves nothing undecided.
Messages name files, line numbers, fields and counts, never field values.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from llm_normalize.cli._common import (
    EXIT_BAD_LINES,
    EXIT_MODEL_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    PROG,
    UsageError,
)
from llm_normalize.cli._files import export, import_file, normalize
from llm_normalize.cli._parser import build_parser
from llm_normalize.cli._store import report, rollback, run
from llm_normalize.exceptions import LLMNormalizeError, ModelFailedError

__all__ = ["EXIT_BAD_LINES", "EXIT_MODEL_FAILED", "EXIT_OK", "EXIT_USAGE", "PROG", "main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        if args.command == "normalize":
            return normalize(args, sys.stderr)
        if args.command == "import":
            return import_file(args, sys.stderr)
        if args.command == "run":
            return run(args, sys.stderr)
        if args.command == "rollback":
            return rollback(args, sys.stderr)
        if args.command == "export":
            return export(args, sys.stderr)
        if args.command == "report":
            return report(args, sys.stderr)
    except ModelFailedError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        if exc.report is not None and args.command == "run":
            print(
                f"{PROG}: {exc.report.records_saved} leads were saved before the failure; "
                "every other lead is untouched and still due",
                file=sys.stderr,
            )
        return EXIT_MODEL_FAILED
    except (UsageError, LLMNormalizeError) as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted; the output file was not written", file=sys.stderr)
        return 130
    raise AssertionError(f"unhandled command {args.command!r}")  # pragma: no cover


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
