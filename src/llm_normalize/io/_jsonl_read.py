r"""JSONL, one object a line, and JSON arrays of objects: only what can be stored is a `Row`.

Beyond JSON syntax, a record is refused (a `BadLine`, and reading goes on) when it holds
NaN or Infinity (no JSON export or DynamoDB can store them), a lone surrogate such as
``"\ud800"`` (no UTF-8 can encode it), or more than `MAX_DEPTH` levels of nesting (which
would exhaust the stack of the code that walks it).

A file whose first non-blank character is ``[`` is read as one JSON array (a ``.json``
export): each element is a record, and its number from 1 is its "line". The stdlib cannot
stream an array, so such a file is loaded whole; JSONL is read a line at a time.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Generator, Iterator
from typing import Any, Final, NoReturn

from llm_normalize.io._encoding import HINT, describe, lenient
from llm_normalize.io._rows import BadLine, Row

__all__ = ["MAX_DEPTH", "read_jsonl"]

MAX_DEPTH: Final = 64
"""The deepest nesting of objects and arrays a record may have, the record itself counting one."""

_NAN: Final = "not valid JSON: NaN/Infinity are not JSON"
_SURROGATE_ESCAPE: Final = "contains an invalid Unicode escape (lone surrogate)"
_DEEP: Final = f"nested deeper than {MAX_DEPTH} levels"
_TYPES: Final[dict[type, str]] = {
    list: "an array",
    str: "a string",
    bool: "a boolean",
    type(None): "null",
}

_SURROGATES: Final = re.compile("[\ud800-\udfff]")
# A string (closed or not) or one structural character, to count depth outside strings.
_TOKENS: Final = re.compile(r'"(?:[^"\\]|\\.)*"?|[\[\]{},]', re.DOTALL)
_SPACE: Final = re.compile(r"[ \t\n\r]*")

Numbered = Iterator[tuple[int, bytes]]


class _Constant(ValueError):
    """NaN, Infinity or -Infinity, which Python's json accepts and JSON does not."""


def _reject(name: str) -> NoReturn:
    raise _Constant(name)


_DECODER: Final = json.JSONDecoder(parse_constant=_reject)
_SYNTAX: Final = json.JSONDecoder()  # to tell where a value ends, whatever it holds


def read_jsonl(lines: Iterator[bytes], codec: str) -> Generator[Row | BadLine, None, None]:
    """The records of JSONL `lines` decoded with `codec`, or of one JSON array."""
    numbered: Numbered = enumerate(lines, start=1)
    for number, raw in numbered:
        probe = lenient(raw, codec).strip()
        if not probe:
            continue
        if probe.startswith("["):
            yield from _array_or_lines(number, raw, numbered, codec)
            return
        yield _line(number, raw, codec)
        break
    yield from _lines(numbered, codec)


def _lines(numbered: Numbered, codec: str) -> Iterator[Row | BadLine]:
    for number, raw in numbered:
        try:
            text = raw.decode(codec)
        except UnicodeDecodeError as exc:
            yield BadLine(number, describe(codec, exc.start))
            continue
        if text and not text.isspace():
            yield _parse_line(number, text)


def _line(number: int, raw: bytes, codec: str) -> Row | BadLine:
    try:
        return _parse_line(number, raw.decode(codec))
    except UnicodeDecodeError as exc:
        return BadLine(number, describe(codec, exc.start))


def _parse_line(number: int, text: str) -> Row | BadLine:
    if _too_deep(text):
        return BadLine(number, _DEEP)  # before parsing: json would recurse that deep
    try:
        value = _DECODER.decode(text)
    except _Constant:
        return BadLine(number, _NAN)
    except json.JSONDecodeError as exc:
        # The decoder's message names a position, never the text around it.
        return BadLine(number, f"not valid JSON ({exc.msg} at column {exc.colno})")
    except RecursionError:  # pragma: no cover - _too_deep answers first
        return BadLine(number, _DEEP)
    return _checked(number, value, text)


def _array_or_lines(
    number: int, raw: bytes, numbered: Numbered, codec: str
) -> Iterator[Row | BadLine]:
    """A file starting with '[': one JSON array, unless it is JSONL whose first line is one.

    That is when its first line is a whole value and more lines follow.
    """
    text = lenient(raw, codec)
    if _continues(text):
        rest = b"".join(line for _, line in numbered)
        yield from _array(text + lenient(rest, codec))
        return
    following = list(_through_next_value(numbered, codec))
    if not following:
        yield from _array(text)
        return
    yield _line(number, raw, codec)
    yield from _lines(itertools.chain(following, numbered), codec)


def _continues(text: str) -> bool:
    """Whether `text` is the start of a JSON value that goes on after it."""
    stripped = text.strip()
    if _too_deep(stripped):
        return False
    try:
        _SYNTAX.raw_decode(stripped)
    except json.JSONDecodeError as exc:
        return exc.pos >= len(stripped)
    except RecursionError:  # pragma: no cover - _too_deep answers first
        return False
    return False


def _through_next_value(numbered: Numbered, codec: str) -> Iterator[tuple[int, bytes]]:
    """The lines up to and including the next that is not blank; nothing if there is none."""
    held: list[tuple[int, bytes]] = []
    for item in numbered:
        held.append(item)
        if lenient(item[1], codec).strip():
            yield from held
            return


def _array(text: str) -> Iterator[Row | BadLine]:
    """The elements of the JSON array `text`, each numbered from 1 as its line."""
    at = _skip_space(text, text.index("[") + 1)
    if text.startswith("]", at):
        yield from _after_array(text, at + 1, 1)
        return
    number = 0
    while True:
        number += 1
        end, item = _element(text, at, number)
        yield item
        if end is None:
            return
        at = _skip_space(text, end)
        if text.startswith(",", at):
            at = _skip_space(text, at + 1)
        elif text.startswith("]", at):
            yield from _after_array(text, at + 1, number + 1)
            return
        else:
            problem = "not valid JSON (expected ',' or ']' after an element); the rest is not read"
            yield BadLine(number + 1, problem)
            return


def _skip_space(text: str, at: int) -> int:
    space = _SPACE.match(text, at)
    return space.end() if space else at


def _after_array(text: str, at: int, number: int) -> Iterator[BadLine]:
    if text[at:].strip():
        yield BadLine(number, "not valid JSON (text after the end of the array); it is not read")


def _element(text: str, at: int, number: int) -> tuple[int | None, Row | BadLine]:
    """The element at `at`, and where it ends (None if no end can be found)."""
    try:
        value, end = _DECODER.raw_decode(text, at)
    except _Constant:
        problem = _NAN
    except json.JSONDecodeError as exc:
        problem = f"not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})"
    except RecursionError:
        problem = _DEEP
    else:
        raw = text[at:end]
        if not raw.isascii() and _SURROGATES.search(raw):
            return end, BadLine(number, f"not UTF-8; {HINT}")  # bytes that `lenient` escaped
        if _too_deep(raw):
            return end, BadLine(number, _DEEP)
        return end, _checked(number, value, raw)
    return _value_end(text, at), BadLine(number, problem)


def _checked(number: int, value: Any, raw: str) -> Row | BadLine:
    """`value`, parsed from `raw`, as a record, or why it cannot be one."""
    if not isinstance(value, dict):
        return BadLine(number, f"expected a JSON object, got {_TYPES.get(type(value), 'a number')}")
    # Only an escape can put a surrogate in the value: a decoded line holds none.
    if ("\\ud" in raw or "\\uD" in raw) and _has_surrogate(value):
        return BadLine(number, _SURROGATE_ESCAPE)
    return Row(number, value)


def _too_deep(text: str) -> bool:
    """Whether `text` nests deeper than MAX_DEPTH, counting brackets outside strings only."""
    if text.count("[") + text.count("{") <= MAX_DEPTH:
        return False  # the usual case, at C speed
    depth = 0
    for token in _TOKENS.finditer(text):
        kind = token.group()
        if kind in ("[", "{"):
            depth += 1
            if depth > MAX_DEPTH:
                return True
        elif kind in ("]", "}"):
            depth -= 1
    return False


def _has_surrogate(value: Any) -> bool:
    """Whether any string in `value`, keys included, holds a lone surrogate."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if not item.isascii() and _SURROGATES.search(item):
                return True
        elif isinstance(item, dict):
            stack.extend(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def _value_end(text: str, at: int) -> int | None:
    """Where the array element starting at `at` ends: at the next ',' or ']' outside it."""
    depth = 0
    for token in _TOKENS.finditer(text, at):
        kind = token.group()
        if kind in ("[", "{"):
            depth += 1
        elif kind in ("]", "}"):
            if depth == 0:
                return token.start()
            depth -= 1
        elif kind == "," and depth == 0:
            return token.start()
    return None
