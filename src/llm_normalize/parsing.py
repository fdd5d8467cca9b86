"""Read a model's answer into per-item values and per-item errors, trusting none of it.

`ResponseParser.parse` takes a `ModelResponse` and the ids the request asked about and
returns a `ParsedAnswer`: the value of each id that was answered well, and a PII-free reason
for each id that was not, so that one bad item fails alone.

What is accepted, first match wins:

1. the forced tool's input, ``{"items": [...]}`` (an ``items`` array that the model wrote
   as a JSON string is decoded too);
2. otherwise the text: the first JSON object holding an ``items`` array, found anywhere in
   the first 200,000 characters, so bare JSON, JSON in markdown fences (even nested or
   repeated fences) and JSON with prose before or after it all work.

Per item (validated with the pydantic model `llm_normalize.prompt.AnswerItem`):

- an id the request did not ask about, or an entry without a readable id, counts in
  `ParsedAnswer.unknown_ids` and is otherwise ignored; an integer id is read as its digits;
- an id answered twice fails as ``"duplicate"`` (all its answers are dropped);
- an id not answered fails as ``"missing"``;
- a ``null`` value fails as ``"null"`` (the model declined);
- any other non-string value (a number, a list, ...) fails as ``"invalid"``;
- extra keys are ignored. A value is only ever a string: whether it is acceptable
  (injected text, a renamed city) is the guard's business, not the parser's.

An answer cut off at ``max_tokens`` raises `TruncatedResponseError` and is never repaired into
plausible values; an answer with no readable JSON object raises `ResponseParseError`.
Messages and reasons never quote the answer, which may echo personal data.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from pydantic import ValidationError

from llm_normalize.backends.base import ModelResponse
from llm_normalize.exceptions import ResponseParseError
from llm_normalize.prompt import AnswerItem

__all__ = [
    "MAX_ANSWER_CHARS",
    "ParsedAnswer",
    "ResponseParser",
    "TruncatedResponseError",
]

MAX_ANSWER_CHARS: Final = 200_000
"""Characters of answer text read; anything beyond is ignored."""

# Decoding is attempted at most this many times per answer, so that text full of braces
# cannot make parsing quadratic.
_MAX_DECODE_ATTEMPTS: Final = 256

_DECODER = json.JSONDecoder()


class TruncatedResponseError(ResponseParseError):
    """The answer stopped at ``max_tokens``: it is incomplete and must not be used.

    Split the batch and send the halves again instead.
    """


@dataclass(frozen=True, slots=True)
class ParsedAnswer:
    """The readable part of one answer, keyed by item id.

    Attributes:
        values: id -> the model's answer, for every id answered exactly once with a string.
        errors: id -> why there is no answer for it: ``"missing"``, ``"duplicate"``,
            ``"invalid"`` (not a string) or ``"null"``. Every requested id is in exactly one
            of `values` and `errors`.
        unknown_ids: How many answer items named an id that was not asked for (or no
            readable id at all).
    """

    values: Mapping[str, str] = field(default_factory=dict)
    errors: Mapping[str, str] = field(default_factory=dict)
    unknown_ids: int = 0


def _decode_items(value: object) -> list[Any] | None:
    """The items array of a candidate answer object, or `None` if it has none."""
    if isinstance(value, str):
        # Claude sometimes writes a nested array of a tool input as a JSON string.
        try:
            value = json.loads(value)
        except (ValueError, RecursionError):
            return None
    return value if isinstance(value, list) else None


def _items_from_text(text: str) -> list[Any] | None:
    """The items array of the first JSON object in `text` that has one."""
    text = text[:MAX_ANSWER_CHARS]
    position = text.find("{")
    attempts = 0
    while position >= 0 and attempts < _MAX_DECODE_ATTEMPTS:
        attempts += 1
        try:
            candidate, _end = _DECODER.raw_decode(text, position)
        except (ValueError, RecursionError):
            candidate = None
        if isinstance(candidate, dict) and "items" in candidate:
            items = _decode_items(candidate["items"])
            if items is not None:
                return items
        # Not an answer: look inside it too ({"answer": {"items": [...]}}) and after it.
        position = text.find("{", position + 1)
    return None


def _read_id(raw: Mapping[str, Any]) -> str | None:
    value = raw.get("id")
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


class ResponseParser:
    """Turn a `ModelResponse` into a `ParsedAnswer` (see the module docstring for the rules).

    Stateless and thread-safe.

    Examples:
        >>> from llm_normalize.backends.base import ModelResponse
        >>> answer = ResponseParser().parse(
        ...     ModelResponse(text='Sure! {"items": [{"id": "0", "value": "Medellín"}]}'),
        ...     expected_ids=["0", "1"],
        ... )
        >>> dict(answer.values), dict(answer.errors)
        ({'0': 'Medellín'}, {'1': 'missing'})
    """

    def parse(self, response: ModelResponse, expected_ids: Sequence[str]) -> ParsedAnswer:
        """Read `response` as answers to the items with `expected_ids`.

        Raises:
            TruncatedResponseError: The answer stopped at ``max_tokens``.
            ResponseParseError: Neither the tool input nor the text holds a JSON object with
                an ``items`` array.
        """
        if response.stop_reason == "max_tokens":
            raise TruncatedResponseError(
                "the answer was cut off at max_tokens; split the batch and retry",
                errors=("max_tokens",),
            )
        items = None
        if isinstance(response.tool_input, Mapping) and "items" in response.tool_input:
            items = _decode_items(response.tool_input["items"])
        if items is None:
            items = _items_from_text(response.text)
        if items is None:
            raise ResponseParseError(
                f"no JSON object with an items array in the answer "
                f"({len(response.text)} characters of text, "
                f"tool input {'present' if response.tool_input is not None else 'absent'})",
                errors=("no_items",),
            )
        return self._match(items, expected_ids)

    @staticmethod
    def _match(items: Sequence[Any], expected_ids: Sequence[str]) -> ParsedAnswer:
        expected = dict.fromkeys(expected_ids)
        # id -> its answers: the string value, or the reason it is unusable.
        answers: dict[str, list[tuple[bool, str]]] = {}
        unknown = 0
        for raw in items:
            item_id = _read_id(raw) if isinstance(raw, Mapping) else None
            if item_id is None or item_id not in expected or not isinstance(raw, Mapping):
                unknown += 1
                continue
            try:
                item = AnswerItem.model_validate({**raw, "id": item_id})
            except ValidationError:
                answers.setdefault(item_id, []).append((False, "invalid"))
                continue
            if item.value is None:
                answers.setdefault(item_id, []).append((False, "null"))
            else:
                answers.setdefault(item_id, []).append((True, item.value))
        values: dict[str, str] = {}
        errors: dict[str, str] = {}
        for item_id in expected:
            found = answers.get(item_id, [])
            if not found:
                errors[item_id] = "missing"
            elif len(found) > 1:
                errors[item_id] = "duplicate"
            elif found[0][0]:
                values[item_id] = found[0][1]
            else:
                errors[item_id] = found[0][1]
        return ParsedAnswer(values=values, errors=errors, unknown_ids=unknown)
