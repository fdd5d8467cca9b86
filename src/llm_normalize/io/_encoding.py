"""A file's encoding, decided from its first megabyte, and its physical lines, read as they come.

Valid UTF-8 is never decoded as anything else. A byte-order mark decides first (UTF-8, or
UTF-16 as Excel's "Unicode text" writes it). Without one, a file is UTF-8 unless the sample
has lines that are not ASCII and none of them is UTF-8: then it is Windows-1252, what Excel
saves in Colombia, and only for CSV (JSON is UTF-8 by definition); a line of such a file that
is valid UTF-8 is still read as UTF-8. A line that the encoding cannot decode becomes a bad
line on its own, with its byte offset; nothing is replaced silently.

The file is read in chunks and split into lines with their line ends kept (CSV cells may
hold line breaks), so memory stays flat however long the file is.
"""

from __future__ import annotations

import codecs
import io
import itertools
import operator
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import BinaryIO, Final

from llm_normalize.exceptions import ConfigurationError

__all__ = ["HINT", "SAMPLE_BYTES", "Opened", "describe", "lenient", "open_lines"]

SAMPLE_BYTES: Final = 1 << 20
"""How much of a file decides its encoding (and, for CSV, its delimiter)."""

HINT: Final = "hint: --encoding cp1252 if the whole file is Windows-1252"

_CHUNK: Final = 1 << 16
_UTF16: Final = {"utf-16-le": b"\n\x00", "utf-16-be": b"\x00\n"}
_BOMS: Final = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_NAMES: Final = {"utf-8": "UTF-8", "utf-16-le": "UTF-16", "utf-16-be": "UTF-16"}
_ASCII: Final = "\r\n\t ,;|\"'sep=0123456789abcdefghijklmnopqrstuvwxyz{}[]:"
_SAMPLE_LINES: Final = 1000


@dataclass(frozen=True, slots=True)
class Opened:
    """A binary stream opened for records: its codec, its first lines and all its lines.

    Attributes:
        codec: Python's name of the encoding the lines are decoded with.
        decode: Decode one line, or raise `UnicodeDecodeError`. In a file detected as
            Windows-1252, a line that is valid UTF-8 is decoded as UTF-8, so it stays exact.
        sample: The first complete lines of the first `SAMPLE_BYTES`, raw, to guess a dialect.
        complete: Whether the sample is the whole file.
        lines: Every physical line of the file, raw, its line end kept, the BOM dropped.
    """

    codec: str
    decode: Callable[[bytes], str]
    sample: list[bytes]
    complete: bool
    lines: Iterator[bytes]


def open_lines(stream: BinaryIO, encoding: str | None, *, legacy: bool) -> Opened:
    """Read the sample of `stream`, decide its codec and split it into lines.

    Args:
        stream: A binary stream; only read forward, so pipes and standard input work.
        encoding: The caller's encoding, which overrides any detection.
        legacy: Whether a sample that is not UTF-8 may be read as Windows-1252 (CSV).

    Raises:
        ConfigurationError: `encoding` is not a text encoding Python knows, or cannot be split
            into lines (UTF-32, EBCDIC).
    """
    head = _read_head(stream)
    complete = len(head) < SAMPLE_BYTES
    codec, head = _choose(head, encoding, legacy=legacy, complete=complete)
    newline = _UTF16.get(codec, b"\n")
    if newline == b"\n" and b"\n" not in head and b"\r" in head:
        newline = b"\r"  # old Mac line ends, as Excel for Mac once wrote them
    unit = len(newline)
    sample = list(itertools.islice(_split_lines(head, io.BytesIO(), newline, unit), _SAMPLE_LINES))
    if sample and not complete and not sample[-1].endswith(newline):
        sample.pop()  # cut by the sample's end
    if newline == b"\n":
        lines = _lf_lines(head, stream)
    else:
        lines = _split_lines(head, stream, newline, unit)
    legacy_detected = encoding is None and codec == "cp1252"
    decode = _utf8_else_cp1252 if legacy_detected else operator.methodcaller("decode", codec)
    return Opened(codec, decode, sample, complete, lines)


def describe(codec: str, byte: int | None, line: int | None = None) -> str:
    """What is wrong with a line `codec` cannot decode, at 0-based `byte` of physical `line`."""
    where = [] if line is None else [f"line {line}"]
    where += [] if byte is None else [f"byte {byte + 1}"]
    problem = f"not {_NAMES.get(codec, codec)}" + (f" ({', '.join(where)})" if where else "")
    return f"{problem}; {HINT}" if codec == "utf-8" else problem


def lenient(raw: bytes, codec: str) -> str:
    """Decode `raw` whatever it holds: each undecodable byte becomes a lone surrogate."""
    try:
        return raw.decode(codec, "surrogateescape")
    except UnicodeDecodeError:  # UTF-16 cannot escape bytes below 128
        return raw.decode(codec, "replace")


def _utf8_else_cp1252(raw: bytes) -> str:
    # A mixed file keeps its UTF-8 lines exact; a Windows-1252 line is almost never valid UTF-8.
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("cp1252")


def _read_head(stream: BinaryIO) -> bytes:
    parts: list[bytes] = []
    size = 0
    while size < SAMPLE_BYTES:
        part = stream.read(SAMPLE_BYTES - size)
        if not part:
            break
        parts.append(part)
        size += len(part)
    return b"".join(parts)


def _choose(
    head: bytes, encoding: str | None, *, legacy: bool, complete: bool
) -> tuple[str, bytes]:
    """The codec to read with, and the sample without its byte-order mark."""
    codec = None if encoding is None else _lookup(encoding)
    for bom, name in _BOMS:
        if head.startswith(bom) and (codec is None or name.startswith(codec)):
            return name, head[len(bom) :]
    if codec is not None:
        return ("utf-16-le" if codec == "utf-16" else codec), head
    if legacy and not _is_utf8(head, complete=complete):
        return "cp1252", head
    return "utf-8", head


def _lookup(encoding: str) -> str:
    try:
        codec = codecs.lookup(encoding).name
        codec = "utf-8" if codec == "utf-8-sig" else codec
        if codec in ("utf-16", *_UTF16):
            return codec
        ascii_compatible = _ASCII.encode(codec) == _ASCII.encode()
    except LookupError:  # an unknown name, or a codec of bytes to bytes such as base64
        raise ConfigurationError(f"unknown text encoding {encoding!r}") from None
    if not ascii_compatible:
        raise ConfigurationError(f"encoding {encoding!r} is not supported for reading records")
    return codec


def _is_utf8(head: bytes, *, complete: bool) -> bool:
    """Whether the sample is UTF-8: it is, unless it has non-ASCII lines and none is UTF-8."""
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=complete)
    except UnicodeDecodeError:
        pass
    else:
        return True
    lines = head.split(b"\n")
    if not complete:
        lines.pop()  # it may end in the middle of a character
    utf8 = other = 0
    for line in lines:
        if line.isascii():
            continue
        try:
            line.decode("utf-8")
        except UnicodeDecodeError:
            other += 1
        else:
            utf8 += 1
    # A mix keeps UTF-8: its lines stay exact, and the others are bad lines with a hint.
    return utf8 > 0 or other == 0


def _lf_lines(head: bytes, stream: BinaryIO) -> Iterator[bytes]:
    """The lines of `head` then of `stream`, split on LF by the streams' own C code."""
    for line in io.BytesIO(head):
        yield line if line.endswith(b"\n") else line + stream.readline()
    yield from stream


def _split_lines(head: bytes, stream: BinaryIO, newline: bytes, unit: int) -> Iterator[bytes]:
    """The lines of `head` then of `stream`, ending in `newline` found at a multiple of `unit`."""
    buffer, size = head, _CHUNK
    while True:
        start = search = 0
        while (found := buffer.find(newline, search)) >= 0:
            search = found + 1
            if (found - start) % unit:
                continue  # in UTF-16, the two halves of two characters
            search = found + len(newline)
            yield buffer[start:search]
            start = search
        chunk = stream.read(size)
        if not chunk:
            if start < len(buffer):
                yield buffer[start:]
            return
        rest = buffer[start:]
        # A long line makes the reads grow with it, so joining its pieces stays linear.
        size = max(_CHUNK, len(rest))
        buffer = rest + chunk
