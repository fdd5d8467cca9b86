"""Owner-only files written atomically, and what a termination signal does to one being written.

A write goes to a temporary file beside its target, made 0600 before the first byte, and is
moved in place only when complete. An exception removes the temporary file. So do SIGTERM
(``kill``, a CI timeout, a container stop) and SIGHUP (a closed terminal), whose default
action would end the process at once, leaving the temporary file and its personal data behind:

- `cleanup_on_signals` installs a handler for both signals in place of their *default* action
  only: an ignored signal (as under ``nohup``) stays ignored, and a handler the application set
  stays in charge (whatever it raises takes the exception path);
- the handler removes every temporary file still being written, from any thread, puts the
  default action back (a second signal ends the process at once), and raises `Terminated`:
  a `SystemExit` whose status is 128 + the signal's number (143 for SIGTERM, 129 for SIGHUP),
  what a shell reports for a process the signal killed. ``finally`` blocks run on the way out.

Python runs signal handlers in the main thread, and only the main thread may install them:
a write from another thread installs nothing. Its temporary file is still removed on SIGTERM
while the main thread is inside `cleanup_on_signals` (wrap the whole run in it), and otherwise
only on the exception path.
"""

from __future__ import annotations

import os
import signal
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from types import FrameType
from typing import IO, Final

__all__ = [
    "PRIVATE_FILE_MODE",
    "Terminated",
    "atomic_file",
    "atomic_writer",
    "cleanup_on_signals",
    "file_target",
]

PRIVATE_FILE_MODE: Final = 0o600
"""The mode of every file written here: read and write for its owner only."""

_SIGNALS: Final = tuple(
    getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name)
)

# The temporary files being written, by any thread. No lock: the handler runs in the main
# thread between two bytecodes, possibly while that thread holds any lock; set.add, discard
# and the copy in `list()` are each atomic.
_live: set[str] = set()


class Terminated(SystemExit):
    """SIGTERM or SIGHUP arrived while a file was being written; its temporary file is gone.

    A `SystemExit` with status 128 + the signal's number (143 for SIGTERM, 129 for SIGHUP):
    uncaught, the process ends with the status a shell reports for a process the signal killed.

    Attributes:
        signum: The signal that arrived.
    """

    def __init__(self, signum: int) -> None:
        super().__init__(128 + signum)
        self.signum = signum


def file_target(path: str | os.PathLike[str] | None) -> Path | None:
    """`path` as a `Path`, or ``None`` when it means standard output (``None`` or ``-``)."""
    return None if path is None or os.fspath(path) == "-" else Path(path)


def _on_signal(signum: int, frame: FrameType | None) -> None:
    signal.signal(signum, signal.SIG_DFL)  # a second signal ends the process at once
    for path in list(_live):
        with suppress(OSError):
            os.unlink(path)
        _live.discard(path)
    raise Terminated(signum)


def _install() -> list[int]:
    if threading.current_thread() is not threading.main_thread():
        return []
    installed = []
    for signum in _SIGNALS:
        # Only in place of the default action: an ignored signal or the application's own
        # handler is left alone (nesting lands here too: the outer guard's handler is in place).
        if signal.getsignal(signum) is not signal.SIG_DFL:
            continue
        try:
            signal.signal(signum, _on_signal)
        except ValueError:  # not the main interpreter
            continue
        installed.append(signum)
    return installed


@contextmanager
def cleanup_on_signals() -> Iterator[None]:
    """On SIGTERM or SIGHUP, remove the temporary files being written and raise `Terminated`.

    Every writer of `llm_normalize.io` enters this around its write; enter it yourself, in the
    main thread, around a run that writes from other threads. The handlers are installed from
    the main thread only, in place of the default action only, and restored on exit; nested
    uses are free. See the module docstring.
    """
    installed = _install()
    try:
        yield
    finally:
        for signum in installed:
            if signal.getsignal(signum) is _on_signal:
                # A generator closed by the garbage collector may end here in another thread,
                # which may not install handlers; ours then stays, which is harmless.
                with suppress(ValueError):
                    signal.signal(signum, signal.SIG_DFL)


@contextmanager
def atomic_file(path: str | os.PathLike[str]) -> Iterator[IO[str]]:
    """Write UTF-8 text to a 0600 temporary file beside `path`, moved in place on success.

    The text stream writes line ends as given (``newline=""``). On an exception, SIGTERM or
    SIGHUP, the temporary file is removed and `path` is left as it was.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    with cleanup_on_signals():
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
        _live.add(tmp)
        try:
            # mkstemp creates 0600 files already; say so explicitly, before any data is
            # written, rather than rely on it.
            if hasattr(os, "fchmod"):  # not on Windows, whose files have no such mode bits
                os.fchmod(fd, PRIVATE_FILE_MODE)
            with os.fdopen(fd, "w", encoding="utf-8", newline="") as stream:
                yield stream
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        finally:
            _live.discard(tmp)


@contextmanager
def atomic_writer(path: str | os.PathLike[str] | None) -> Iterator[IO[str]]:
    """`atomic_file`, or standard output itself for ``None`` or ``-``."""
    target = file_target(path)
    if target is None:
        yield sys.stdout
        return
    with atomic_file(target) as stream:
        yield stream
