"""Standard output: bytes for CSV, and a quiet end when the reader closes the pipe."""

from __future__ import annotations

import errno
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import BinaryIO, Final, Protocol

__all__ = ["EXIT_BROKEN_PIPE", "TextSink", "quiet_broken_pipe", "stdout_sink"]

EXIT_BROKEN_PIPE: Final = 141
"""The exit status after a closed pipe: 128 + SIGPIPE, what a shell reports for `yes | head`."""


class TextSink(Protocol):
    """Where text goes: a text file, standard output, or its bytes underneath."""

    def write(self, text: str, /) -> object:
        """Write `text`."""


class _Utf8Bytes:
    """Text written as UTF-8 to a binary stream, line ends untouched."""

    def __init__(self, buffer: BinaryIO) -> None:
        self._buffer = buffer

    def write(self, text: str, /) -> int:
        self._buffer.write(text.encode("utf-8"))
        return len(text)


@contextmanager
def stdout_sink() -> Iterator[TextSink]:
    """Standard output as UTF-8 with line ends as given: the bytes a file would get.

    Writes to the binary buffer under `sys.stdout`, whatever the console's encoding, without
    the text layer's newline translation (which on Windows would turn CSV's CRLF into CR CR
    LF). A stdout with no buffer underneath (a notebook's) gets the text itself.
    """
    stdout = sys.stdout
    buffer: BinaryIO | None = getattr(stdout, "buffer", None)
    if buffer is None:
        yield stdout
        return
    stdout.flush()  # what was printed before comes first
    yield _Utf8Bytes(buffer)
    buffer.flush()


def _point_stdout_at_devnull() -> None:
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # no descriptor: nothing will flush to it
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
    finally:
        os.close(devnull)


@contextmanager
def quiet_broken_pipe() -> Iterator[None]:
    """End quietly, with exit status 141, when the reader of standard output goes away.

    In ``llm-normalize normalize x.jsonl | head -1``, once ``head`` exits the next write to
    standard output fails with `BrokenPipeError` (or an `OSError` with ``errno.EPIPE``). Wrap
    the code that writes to standard output in this: standard output is flushed before
    leaving, and on a closed pipe it is pointed at ``os.devnull``, as the Python documentation
    on SIGPIPE advises, so the interpreter's own last flush fails no more, and
    ``SystemExit(141)`` is raised: 128 + SIGPIPE, the status ``set -o pipefail`` shells see for
    any other tool the pipe stopped. No traceback, nothing on standard error. Other errors pass
    through unchanged.

    Raises:
        SystemExit: With status `EXIT_BROKEN_PIPE` (141), when the pipe was closed.
    """
    try:
        yield
        if sys.stdout is not None:
            sys.stdout.flush()
    except OSError as exc:
        if not isinstance(exc, BrokenPipeError) and exc.errno != errno.EPIPE:
            raise
        _point_stdout_at_devnull()
        raise SystemExit(EXIT_BROKEN_PIPE) from None
