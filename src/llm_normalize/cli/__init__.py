"""The `llm-normalize` command.

    llm-normalize normalize INPUT|- [-o OUTPUT|-] [--fields a,b] [--map 'Columna=campo']
                            [--format jsonl|csv] [--delimiter ;] [--encoding cp1252] [--excel]
                            [--backend rules|fake|bedrock|openai] [--model-id ID] ...
                            [--cache URL|none] [-q]
    llm-normalize import FILE --store URL [--generate-ids] [--map 'Columna=campo']
    llm-normalize run --store URL [--force-all] [--limit N] [--backend ...] [--cache URL|none]
                      [--json] [-q]
    llm-normalize backfill --store URL [--batch-inference --bucket B --role-arn ARN [--wait]
                           [--abandon]] [--force-all] [--limit N] [--backend ...] [--cache ...]
    llm-normalize rollback --store URL --prompt-version V [--cache URL|none]
    llm-normalize export --store URL -o FILE|- [--excel]
    llm-normalize report --store URL [-o report.html] [--json] [--check]
    llm-normalize plan --store dynamodb://TABLE --queue URL [--segments N] [--max-leads N]
                       [--ids-per-message N] [--force]

Exit status: 0 when every line was read, 1 when some lines were malformed (the others are
still normalized and written), 2 for a usage error (missing file or store, unknown field, no
column for any field, bad option), 3 when the model cannot be used (access denied, unknown
model, every call failing after its retries): the run stops, `normalize` writes no output
and `run` saves nothing undecided; 130 after Ctrl-C, 141 when standard output was closed
(``| head``), 143 after SIGTERM (no temporary file is left behind).
Messages name files, line numbers, columns, fields and counts, never field values.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Final, TextIO

from llm_normalize.cli._backfill import backfill
from llm_normalize.cli._common import (
    EXIT_BAD_LINES,
    EXIT_MODEL_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    PROG,
    UsageError,
)
from llm_normalize.cli._files import export, normalize
from llm_normalize.cli._import import import_file
from llm_normalize.cli._parser import build_parser
from llm_normalize.cli._plan import plan
from llm_normalize.cli._store import report, rollback, run
from llm_normalize.exceptions import LLMNormalizeError, ModelFailedError
from llm_normalize.io import cleanup_on_signals, quiet_broken_pipe

__all__ = ["EXIT_BAD_LINES", "EXIT_MODEL_FAILED", "EXIT_OK", "EXIT_USAGE", "PROG", "main"]


_COMMANDS: Final[Mapping[str, Callable[[argparse.Namespace, TextIO], int]]] = {
    "normalize": normalize,
    "import": import_file,
    "run": run,
    "rollback": rollback,
    "export": export,
    "report": report,
    "plan": plan,
    "backfill": backfill,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status.

    A closed standard output (``| head``) ends quietly with status 141, SIGTERM and SIGHUP
    remove any file being written and end with 143 and 129, Ctrl-C with 130.
    """
    args = build_parser().parse_args(argv)
    with _warnings_on_stderr(), cleanup_on_signals():
        try:
            with quiet_broken_pipe():
                return _COMMANDS[args.command](args, sys.stderr)
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
            print(f"{PROG}: interrupted; {_left_behind(args)}", file=sys.stderr)
            return 130


def _left_behind(args: argparse.Namespace) -> str:
    """What an interrupted command leaves, in words that fit it."""
    output = getattr(args, "output", None)
    if args.command == "normalize" and output in (None, "-"):
        return "what reached standard output is incomplete"
    if args.command in ("normalize", "export"):
        return f"{output} was not written (nothing half-written is left)"
    if args.command == "import":
        return "the leads imported so far stay in the store; importing the file again is safe"
    if args.command == "run":
        return "the leads saved so far keep their results; the others are untouched and still due"
    if args.command == "report":
        return "no report was written"
    if args.command == "backfill":
        return (
            "the leads saved so far keep their results; a batch job submitted is recorded in "
            "the store (run the command again to collect it), the others are untouched and due"
        )
    if args.command == "plan":
        return "the messages sent so far stay queued; plan again (a FIFO queue drops repeats)"
    return "the store may be partly changed; run the command again"


@contextmanager
def _warnings_on_stderr() -> Iterator[None]:
    """The library's warnings on standard error, prefixed, for the length of a command."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setLevel(logging.WARNING)
    handler.setFormatter(logging.Formatter(f"{PROG}: %(levelname)s: %(message)s"))
    package = logging.getLogger("llm_normalize")
    package.addHandler(handler)
    try:
        yield
    finally:
        package.removeHandler(handler)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
